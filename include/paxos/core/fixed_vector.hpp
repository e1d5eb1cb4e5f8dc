// paxos/core/fixed_vector.hpp: a vector with inline, compile-time capacity.
//
// The core never allocates (DESIGN.md): every buffer is a member sized by the
// config. fixed_vector<T, N> keeps N T inline and a count, so it is a plain
// value that copies like a struct. Pushing past capacity is a programmer error
// (PAXOS_ASSERT); callers check full() first.
//
// Copies cost what is live, not what is reserved. A small buffer (up to 128
// bytes) is zero-filled once and copied whole: a few register moves, no loop.
// A large one (a batch of 64 commands of 128 bytes is 8 KB) is neither zeroed
// nor copied beyond size(): messages and slots carry a full batch's room but
// usually hold one command or none, and copying the room made memcpy and
// memset most of the cost of a commit (measured by bench/bench_end_to_end).
// Elements past size() are never read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include "../assert.hpp"

namespace paxos {

namespace detail {

template <class T, std::size_t Capacity>
inline constexpr bool copy_whole_buffer = sizeof(T) * Capacity <= 128;

// Small: value-initialized, trivially copied.
template <class T, std::size_t Capacity, bool Small = copy_whole_buffer<T, Capacity>>
struct fixed_storage {
    std::array<T, Capacity> items{};
    std::size_t size = 0;
};

// Large: the room is left as T's default initialization leaves it, and a copy
// takes the live elements only.
template <class T, std::size_t Capacity>
struct fixed_storage<T, Capacity, false> {
    std::array<T, Capacity> items;
    std::size_t size = 0;

    fixed_storage() noexcept(std::is_nothrow_default_constructible_v<T>) {}
    fixed_storage(const fixed_storage& other) : size(other.size) { copy_live(other); }
    fixed_storage& operator=(const fixed_storage& other) {
        if (this != &other) {
            copy_live(other);
            size = other.size;
        }
        return *this;
    }
    void copy_live(const fixed_storage& other) {
        if constexpr (std::is_trivially_copyable_v<T>) {
            if (other.size > 0)
                std::memcpy(items.data(), other.items.data(), other.size * sizeof(T));
        } else {
            for (std::size_t i = 0; i < other.size; ++i) items[i] = other.items[i];
        }
    }
    ~fixed_storage() = default;
};

}  // namespace detail

template <class T, std::size_t Capacity>
class fixed_vector {
    static_assert(Capacity > 0, "fixed_vector: capacity must be at least 1");

public:
    using value_type = T;
    static constexpr std::size_t capacity() noexcept { return Capacity; }

    // User-provided, so that `fixed_vector{}` and a value-initialized
    // enclosing message do not zero the room of a large buffer.
    constexpr fixed_vector() noexcept(std::is_nothrow_default_constructible_v<T>) {}

    constexpr std::size_t size() const noexcept { return s_.size; }
    constexpr bool empty() const noexcept { return s_.size == 0; }
    constexpr bool full() const noexcept { return s_.size == Capacity; }

    constexpr void push_back(const T& value) noexcept(noexcept(std::declval<T&>() = value)) {
        PAXOS_ASSERT(s_.size < Capacity);
        s_.items[s_.size++] = value;
    }
    // Grows by one and returns the new last element as its slot last held
    // it: the caller assigns it in place, with no temporary to copy in.
    constexpr T& grow() noexcept {
        PAXOS_ASSERT(s_.size < Capacity);
        return s_.items[s_.size++];
    }
    constexpr void clear() noexcept { s_.size = 0; }
    // Shrinks to `count` elements (count <= size()).
    constexpr void truncate(std::size_t count) noexcept {
        PAXOS_ASSERT(count <= s_.size);
        s_.size = count;
    }
    // Replaces the contents with a copy of `values` (values.size() <= capacity).
    constexpr void assign(std::span<const T> values) {
        PAXOS_ASSERT(values.size() <= Capacity);
        for (std::size_t i = 0; i < values.size(); ++i) s_.items[i] = values[i];
        s_.size = values.size();
    }

    constexpr T& operator[](std::size_t i) noexcept {
        PAXOS_ASSERT(i < s_.size);
        return s_.items[i];
    }
    constexpr const T& operator[](std::size_t i) const noexcept {
        PAXOS_ASSERT(i < s_.size);
        return s_.items[i];
    }
    constexpr T& back() noexcept {
        PAXOS_ASSERT(s_.size > 0);
        return s_.items[s_.size - 1];
    }

    constexpr T* begin() noexcept { return s_.items.data(); }
    constexpr T* end() noexcept { return s_.items.data() + s_.size; }
    constexpr const T* begin() const noexcept { return s_.items.data(); }
    constexpr const T* end() const noexcept { return s_.items.data() + s_.size; }
    constexpr std::span<const T> view() const noexcept { return {s_.items.data(), s_.size}; }

    // Equal when the live elements are equal; the unused tail does not count.
    friend constexpr bool operator==(const fixed_vector& a, const fixed_vector& b) {
        if (a.s_.size != b.s_.size) return false;
        for (std::size_t i = 0; i < a.s_.size; ++i) {
            if (!(a.s_.items[i] == b.s_.items[i])) return false;
        }
        return true;
    }

private:
    detail::fixed_storage<T, Capacity> s_{};
};

}  // namespace paxos
