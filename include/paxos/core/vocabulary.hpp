// paxos/core/vocabulary.hpp: the words every part of the library shares:
// node identities, sets of nodes, and a replica's role.
//
// A node_id names one replica of the cluster, numbered 0 .. n-1. A node_set
// is a set of them held in one 64-bit word, so a quorum test is a popcount or
// a mask compare and never allocates. Clusters are therefore limited to 64
// nodes (node_set::capacity); configurations static_assert that bound.
#pragma once

#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>

namespace paxos::inline v0 {

// A replica's identity. A strong type, so it cannot be swapped with a slot or
// a count by mistake.
struct node_id {
    std::uint16_t value = 0;

    constexpr node_id() = default;
    constexpr explicit node_id(std::uint16_t v) noexcept : value(v) {}

    // The "send to every peer" destination of a message (see core/message.hpp).
    static constexpr node_id broadcast() noexcept { return node_id{0xFFFF}; }
    // "No node": the leader hint when no leader is known.
    static constexpr node_id none() noexcept { return node_id{0xFFFE}; }

    friend constexpr bool operator==(node_id, node_id) = default;
    friend constexpr auto operator<=>(node_id, node_id) = default;
};

// A set of node ids below 64, as a bit mask (bit i is node i).
class node_set {
public:
    static constexpr std::size_t capacity = 64;

    constexpr node_set() = default;
    constexpr explicit node_set(std::uint64_t mask) noexcept : mask_(mask) {}

    // The set {0, 1, ..., count-1}: every node of a cluster of `count`.
    static constexpr node_set first(std::size_t count) noexcept {
        return node_set{count >= capacity ? ~std::uint64_t{0} : (std::uint64_t{1} << count) - 1};
    }

    constexpr bool contains(node_id n) const noexcept {
        return n.value < capacity && ((mask_ >> n.value) & 1u) != 0;
    }
    constexpr void insert(node_id n) noexcept {
        if (n.value < capacity) mask_ |= std::uint64_t{1} << n.value;
    }
    constexpr void erase(node_id n) noexcept {
        if (n.value < capacity) mask_ &= ~(std::uint64_t{1} << n.value);
    }
    constexpr void clear() noexcept { mask_ = 0; }

    // Without a POPCNT target (-mpopcnt), std::popcount is a call into
    // libgcc (~40 instructions per quorum test); the bit-parallel count is a
    // dozen inline ones.
    constexpr std::size_t size() const noexcept {
#if defined(__POPCNT__)
        return static_cast<std::size_t>(std::popcount(mask_));
#else
        std::uint64_t x = mask_ - ((mask_ >> 1) & 0x5555555555555555ull);
        x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
        x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
        return static_cast<std::size_t>((x * 0x0101010101010101ull) >> 56);
#endif
    }
    // size() >= count, for a quorum test. A small count clears the lowest
    // member count - 1 times and looks for one more: with a compile-time
    // count (a static quorum) that unrolls to a few instructions, where the
    // count above is a dozen.
    constexpr bool has_at_least(std::size_t count) const noexcept {
#if !defined(__POPCNT__)
        if (count <= 6) {
            std::uint64_t m = mask_;
            for (std::size_t i = 1; i < count; ++i) m &= m - 1;
            return count == 0 || m != 0;
        }
#endif
        return size() >= count;
    }
    constexpr bool empty() const noexcept { return mask_ == 0; }
    constexpr std::uint64_t mask() const noexcept { return mask_; }

    // The nodes of a cluster of `count` that are not in this set.
    constexpr node_set complement(std::size_t count) const noexcept {
        return node_set{~mask_ & first(count).mask_};
    }
    constexpr bool intersects(node_set other) const noexcept { return (mask_ & other.mask_) != 0; }

    friend constexpr node_set operator|(node_set a, node_set b) noexcept {
        return node_set{a.mask_ | b.mask_};
    }
    friend constexpr node_set operator&(node_set a, node_set b) noexcept {
        return node_set{a.mask_ & b.mask_};
    }
    friend constexpr bool operator==(node_set, node_set) = default;

private:
    std::uint64_t mask_ = 0;
};

// The replica's role, as a leader policy sees it.
enum class role : std::uint8_t {
    follower,   // acceptor and learner only
    candidate,  // running Phase 1 with its own ballot
    leader,     // Phase 1 done; runs Phase 2 per slot
};

}  // namespace paxos::inline v0
