// paxos/core/fixed_vector.hpp: a vector with inline, compile-time capacity.
//
// The core never allocates (see README.md): every buffer is a member sized by the
// config. fixed_vector<T, N> keeps room for N T inline and a count, so it is a
// plain value that copies like a struct. Pushing past capacity is a
// programmer error (PAXOS_ASSERT); callers check full() first.
//
// Constructing and copying cost what is live, not what is reserved.
// - A small buffer (up to 128 bytes) holds N constructed T, value-initialized
//   once and copied whole: a few register moves, no loop, and usable in
//   constant expressions.
// - A large one (a batch of 64 commands of 128 bytes is 8 KB) is raw room:
//   only the elements in [0, size()) exist. Constructing it runs no
//   constructor of T (not even the default member initializers a command
//   type may have), a copy copies size() elements, and truncating destroys
//   the elements it drops. Messages and slots carry a full batch's room but
//   usually hold one command or none; initializing or copying that room was
//   most of the cost of a commit (bench/bench_end_to_end) and of a message
//   copy. The room is a union member, whose elements begin their lifetime by
//   placement new, so this path is not usable in constant expressions (C++20
//   cannot change an inactive union member's elements at compile time).
#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>

#include "../assert.hpp"

namespace paxos::inline v0 {

namespace detail {

template <class T, std::size_t Capacity>
inline constexpr bool copy_whole_buffer = sizeof(T) * Capacity <= 128;

// Small: N value-initialized T, trivially copied when T is.
template <class T, std::size_t Capacity, bool Small = copy_whole_buffer<T, Capacity>>
struct fixed_storage {
    std::array<T, Capacity> items{};
    std::size_t size = 0;

    constexpr T* data() noexcept { return items.data(); }
    constexpr const T* data() const noexcept { return items.data(); }
    constexpr void push(const T& value) { items[size++] = value; }
    constexpr T& grow() noexcept { return items[size++]; }
    constexpr void truncate(std::size_t count) noexcept { size = count; }
    constexpr void assign(const T* values, std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) items[i] = values[i];
        size = count;
    }
};

// The room of a large buffer: storage for Capacity T, none of them
// constructed by this class. The owner constructs [0, size) and, for a T
// with a destructor, this class destroys them.
template <class T, std::size_t Capacity, bool = std::is_trivially_destructible_v<T>>
struct raw_room {
    union {
        T items[Capacity];
    };
    std::size_t size = 0;

    raw_room() noexcept {}  // user-provided: the union stays without a live member
    raw_room(const raw_room&) = delete;
    raw_room& operator=(const raw_room&) = delete;
    // Trivially destructible T: nothing to run, and the room stays trivially
    // destructible, so a message holding it does too.
    void destroy_from(std::size_t count) noexcept { size = count; }
};

template <class T, std::size_t Capacity>
struct raw_room<T, Capacity, false> {
    union {
        T items[Capacity];
    };
    std::size_t size = 0;

    raw_room() noexcept {}
    raw_room(const raw_room&) = delete;
    raw_room& operator=(const raw_room&) = delete;
    ~raw_room() { destroy_from(0); }
    void destroy_from(std::size_t count) noexcept {
        for (std::size_t i = count; i < size; ++i) items[i].~T();
        size = count;
    }
};

template <class T, std::size_t Capacity>
struct fixed_storage<T, Capacity, false> : raw_room<T, Capacity> {
    using raw_room<T, Capacity>::items;
    using raw_room<T, Capacity>::size;

    fixed_storage() noexcept = default;
    fixed_storage(const fixed_storage& other) : raw_room<T, Capacity>() {
        if constexpr (std::is_trivially_copyable_v<T>) {
            // memcpy creates the T it copies (they are implicit-lifetime).
            if (other.size > 0) std::memcpy(items, other.items, other.size * sizeof(T));
            size = other.size;
        } else {
            for (; size < other.size; ++size)
                ::new (static_cast<void*>(items + size)) T(other.items[size]);
        }
    }
    fixed_storage& operator=(const fixed_storage& other) {
        if (this != &other) assign(other.items, other.size);
        return *this;
    }
    ~fixed_storage() = default;

    T* data() noexcept { return items; }
    const T* data() const noexcept { return items; }
    void push(const T& value) {
        ::new (static_cast<void*>(items + size)) T(value);
        ++size;
    }
    // Default-initialization (`new T`, not `new T()`): value-initializing
    // would zero the whole element first, and an element may itself hold a
    // large fixed_vector.
    T& grow() {
        T* p = ::new (static_cast<void*>(items + size)) T;
        ++size;
        return *p;
    }
    void truncate(std::size_t count) noexcept { this->destroy_from(count); }
    // `values` may point into this buffer (v.assign(v.view())).
    void assign(const T* values, std::size_t count) {
        if constexpr (std::is_trivially_copyable_v<T>) {
            if (count > 0 && values != items) std::memmove(items, values, count * sizeof(T));
            size = count;
        } else {
            const std::size_t kept = count < size ? count : size;
            for (std::size_t i = 0; i < kept; ++i) items[i] = values[i];
            for (; size < count; ++size) ::new (static_cast<void*>(items + size)) T(values[size]);
            this->destroy_from(count);
        }
    }
};

}  // namespace detail

template <class T, std::size_t Capacity>
class fixed_vector {
    static_assert(Capacity > 0, "fixed_vector: capacity must be at least 1");

public:
    using value_type = T;
    static constexpr std::size_t capacity() noexcept { return Capacity; }

    // User-provided, so that a value-initialized enclosing message does not
    // zero the room of a large buffer before this runs.
    constexpr fixed_vector() noexcept(std::is_nothrow_default_constructible_v<T>) {}

    constexpr std::size_t size() const noexcept { return s_.size; }
    constexpr bool empty() const noexcept { return s_.size == 0; }
    constexpr bool full() const noexcept { return s_.size == Capacity; }

    constexpr void push_back(const T& value) noexcept(nothrow_copy) {
        PAXOS_ASSERT(s_.size < Capacity);
        s_.push(value);
    }
    // Grows by one and returns the new last element for the caller to assign
    // in place, with no temporary to copy in. Its value is unspecified (a
    // small buffer's slot keeps what it last held; a large one's is
    // default-initialized): assign every field.
    constexpr T& grow() noexcept(std::is_nothrow_default_constructible_v<T>) {
        PAXOS_ASSERT(s_.size < Capacity);
        return s_.grow();
    }
    constexpr void clear() noexcept { s_.truncate(0); }
    // Shrinks to `count` elements (count <= size()).
    constexpr void truncate(std::size_t count) noexcept {
        PAXOS_ASSERT(count <= s_.size);
        s_.truncate(count);
    }
    // Appends a copy of `values`, which must fit and must not point into
    // this vector.
    constexpr void append(std::span<const T> values) noexcept(nothrow_copy) {
        PAXOS_ASSERT(values.size() <= Capacity - s_.size);
        for (const T& v : values) s_.push(v);
    }
    // Replaces the contents with a copy of `values` (values.size() <= capacity).
    constexpr void assign(std::span<const T> values) {
        PAXOS_ASSERT(values.size() <= Capacity);
        s_.assign(values.data(), values.size());
    }

    constexpr T& operator[](std::size_t i) noexcept {
        PAXOS_ASSERT(i < s_.size);
        return s_.data()[i];
    }
    constexpr const T& operator[](std::size_t i) const noexcept {
        PAXOS_ASSERT(i < s_.size);
        return s_.data()[i];
    }
    constexpr T& back() noexcept {
        PAXOS_ASSERT(s_.size > 0);
        return s_.data()[s_.size - 1];
    }

    constexpr T* begin() noexcept { return s_.data(); }
    constexpr T* end() noexcept { return s_.data() + s_.size; }
    constexpr const T* begin() const noexcept { return s_.data(); }
    constexpr const T* end() const noexcept { return s_.data() + s_.size; }
    constexpr std::span<const T> view() const noexcept { return {s_.data(), s_.size}; }

    // Equal when the live elements are equal; the unused tail does not count.
    friend constexpr bool operator==(const fixed_vector& a, const fixed_vector& b) {
        if (a.s_.size != b.s_.size) return false;
        for (std::size_t i = 0; i < a.s_.size; ++i) {
            if (!(a.s_.data()[i] == b.s_.data()[i])) return false;
        }
        return true;
    }

private:
    // A small buffer assigns into its array; a large one copy-constructs.
    static constexpr bool nothrow_copy =
        std::is_nothrow_copy_constructible_v<T> && std::is_nothrow_copy_assignable_v<T>;

    detail::fixed_storage<T, Capacity> s_{};
};

}  // namespace paxos::inline v0
