// paxos/core/fixed_vector.hpp: a vector with inline, compile-time capacity.
//
// The core never allocates (DESIGN.md): every buffer is a member sized by the
// config. fixed_vector<T, N> keeps N default-constructed T inline and a count,
// so it is a plain value that copies like a struct. Pushing past capacity is a
// programmer error (PAXOS_ASSERT); callers check full() first.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../assert.hpp"

namespace paxos {

template <class T, std::size_t Capacity>
class fixed_vector {
    static_assert(Capacity > 0, "fixed_vector: capacity must be at least 1");

public:
    using value_type = T;
    static constexpr std::size_t capacity() noexcept { return Capacity; }

    constexpr fixed_vector() = default;

    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr bool full() const noexcept { return size_ == Capacity; }

    constexpr void push_back(const T& value) noexcept(noexcept(std::declval<T&>() = value)) {
        PAXOS_ASSERT(size_ < Capacity);
        items_[size_++] = value;
    }
    constexpr void clear() noexcept { size_ = 0; }
    // Shrinks to `count` elements (count <= size()).
    constexpr void truncate(std::size_t count) noexcept {
        PAXOS_ASSERT(count <= size_);
        size_ = count;
    }
    // Replaces the contents with a copy of `values` (values.size() <= capacity).
    constexpr void assign(std::span<const T> values) {
        PAXOS_ASSERT(values.size() <= Capacity);
        for (std::size_t i = 0; i < values.size(); ++i) items_[i] = values[i];
        size_ = values.size();
    }

    constexpr T& operator[](std::size_t i) noexcept {
        PAXOS_ASSERT(i < size_);
        return items_[i];
    }
    constexpr const T& operator[](std::size_t i) const noexcept {
        PAXOS_ASSERT(i < size_);
        return items_[i];
    }
    constexpr T& back() noexcept {
        PAXOS_ASSERT(size_ > 0);
        return items_[size_ - 1];
    }

    constexpr T* begin() noexcept { return items_.data(); }
    constexpr T* end() noexcept { return items_.data() + size_; }
    constexpr const T* begin() const noexcept { return items_.data(); }
    constexpr const T* end() const noexcept { return items_.data() + size_; }
    constexpr std::span<const T> view() const noexcept { return {items_.data(), size_}; }

    // Equal when the live elements are equal; the unused tail does not count.
    friend constexpr bool operator==(const fixed_vector& a, const fixed_vector& b) {
        if (a.size_ != b.size_) return false;
        for (std::size_t i = 0; i < a.size_; ++i) {
            if (!(a.items_[i] == b.items_[i])) return false;
        }
        return true;
    }

private:
    std::array<T, Capacity> items_{};
    std::size_t size_ = 0;
};

}  // namespace paxos
