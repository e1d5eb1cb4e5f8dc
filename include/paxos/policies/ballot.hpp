// paxos/policies/ballot.hpp: the ballot policy concept and two stock ballots.
//
// A ballot (Lamport's "proposal number", Paxos Made Simple section 2.2) orders
// every attempt to choose a value. Safety needs two things of it: ballots of
// different nodes never collide (so a promise names exactly one proposer),
// and a node can always step strictly above any ballot it has seen (so a
// retry after rejection outranks what rejected it). This header states those
// needs as a concept, checks a user's policy with fix-it messages, and
// provides two encodings:
//
//   counter_ballot<MaxNodes>  one uint64: counter * MaxNodes + node id
//   pair_ballot               the pair (round uint64, node uint16), compared
//                             lexicographically
//
// Invariants every ballot policy B must keep (checked on samples at compile
// time by check_ballot_policy, and exhaustively on small spaces by the tests):
//   - B{} is the zero ballot: is_zero(), and below every ballot any node issues;
//   - first(n) is the lowest ballot owned by n, and first(n) > B{};
//   - next_above(seen, n) is the smallest ballot owned by n that is > seen,
//     or std::nullopt when none is left. Exhaustion is an operating error the
//     caller reports; it never wraps, since a wrapped ballot would fall below
//     promises already given and undo them.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

#include "../assert.hpp"
#include "../core/vocabulary.hpp"

namespace paxos::inline v0 {

// ---------------------------------------------------------------------------
// The concept, one requirement per concept so each can be named in an error.

template <class B>
concept ballot_is_regular = std::regular<B>;

template <class B>
concept ballot_is_ordered = std::totally_ordered<B>;

// Ballots are copied into messages and durable records byte for byte.
template <class B>
concept ballot_is_trivially_copyable = std::is_trivially_copyable_v<B>;

// max_nodes must be a constant expression: configurations compare it with
// their own node count in a static_assert.
template <class B>
concept ballot_has_max_nodes = requires {
    { B::max_nodes } -> std::convertible_to<std::size_t>;
    typename std::integral_constant<std::size_t, B::max_nodes>;
};

// clang-format 14 would write `{ e } noexcept -> C` as `{ e }` and `noexcept->C`.
// clang-format off
template <class B>
concept ballot_has_first = requires(node_id n) {
    { B::first(n) } noexcept -> std::same_as<B>;
};

template <class B>
concept ballot_has_next_above = requires(const B& seen, node_id n) {
    { B::next_above(seen, n) } noexcept -> std::same_as<std::optional<B>>;
};

template <class B>
concept ballot_has_owner = requires(const B& b) {
    { b.owner() } noexcept -> std::same_as<node_id>;
};

template <class B>
concept ballot_has_is_zero = requires(const B& b) {
    { b.is_zero() } noexcept -> std::same_as<bool>;
};
// clang-format on

// first() and the ordering must be usable in constant expressions, so that
// the laws below can be checked while compiling.
template <class B>
concept ballot_is_constexpr = ballot_has_first<B> && ballot_is_ordered<B> && requires {
    typename std::bool_constant<(B{} < B::first(node_id{0}))>;
};

template <class B>
concept ballot_policy =
    ballot_is_regular<B> && ballot_is_ordered<B> && ballot_is_trivially_copyable<B> &&
    ballot_has_max_nodes<B> && ballot_has_first<B> && ballot_has_next_above<B> &&
    ballot_has_owner<B> && ballot_has_is_zero<B> && ballot_is_constexpr<B>;

namespace detail {

// The laws of the header comment, checked on a few nodes: 0, 1 and the last
// one (the edges of an encoding are where off-by-ones live).
template <class B>
constexpr bool ballot_sample_node(std::size_t i, node_id& out) noexcept {
    const std::size_t last = static_cast<std::size_t>(B::max_nodes) - 1;
    const std::size_t picks[3] = {0, 1, last};
    if (picks[i] > last) return false;
    out = node_id{static_cast<std::uint16_t>(picks[i])};
    return true;
}

template <class B>
constexpr bool ballot_zero_is_lowest() noexcept {
    if (!B{}.is_zero()) return false;
    for (std::size_t i = 0; i < 3; ++i) {
        node_id n;
        if (!ballot_sample_node<B>(i, n)) continue;
        if (!(B{} < B::first(n)) || B::first(n).is_zero()) return false;
    }
    return true;
}

template <class B>
constexpr bool ballot_first_is_owned() noexcept {
    for (std::size_t i = 0; i < 3; ++i) {
        node_id n;
        if (!ballot_sample_node<B>(i, n)) continue;
        if (B::first(n).owner() != n) return false;
        const std::optional<B> above_zero = B::next_above(B{}, n);
        if (!above_zero || !(*above_zero == B::first(n))) return false;
    }
    return true;
}

template <class B>
constexpr bool ballot_next_above_climbs() noexcept {
    for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            node_id seen_owner;
            node_id self;
            if (!ballot_sample_node<B>(i, seen_owner)) continue;
            if (!ballot_sample_node<B>(j, self)) continue;
            const B seen = B::first(seen_owner);
            const std::optional<B> next = B::next_above(seen, self);
            if (!next || !(seen < *next) || next->owner() != self) return false;
        }
    }
    return true;
}

}  // namespace detail

// Checks B one requirement at a time, so the first error names the member
// that is missing and shows how to declare it. Use as
//   static_assert(paxos::check_ballot_policy<B>());
template <class B>
constexpr bool check_ballot_policy() {
    static_assert(ballot_is_regular<B>,
                  "ballot policy: B must be std::regular (default-constructible, copyable, "
                  "with `friend constexpr bool operator==(B, B) = default;`)");
    static_assert(ballot_is_ordered<B>,
                  "ballot policy: B must be totally ordered; write "
                  "`friend constexpr auto operator<=>(B, B) = default;`");
    static_assert(ballot_is_trivially_copyable<B>,
                  "ballot policy: B must be trivially copyable (plain data members, no "
                  "user-written copy or destructor): ballots are stored and sent as bytes");
    static_assert(ballot_has_max_nodes<B>,
                  "ballot policy: missing `static constexpr std::size_t max_nodes = ...;` "
                  "(node ids 0 .. max_nodes-1 must fit the encoding)");
    static_assert(ballot_has_first<B>,
                  "ballot policy: missing `static constexpr B first(paxos::node_id self) "
                  "noexcept` returning the lowest ballot owned by `self`");
    static_assert(ballot_has_next_above<B>,
                  "ballot policy: missing `static constexpr std::optional<B> next_above(B seen, "
                  "paxos::node_id self) noexcept` returning the smallest ballot of `self` "
                  "above `seen`, or std::nullopt when the ballot space is exhausted");
    static_assert(ballot_has_owner<B>,
                  "ballot policy: missing `constexpr paxos::node_id owner() const noexcept` "
                  "returning the node that issued the ballot");
    static_assert(ballot_has_is_zero<B>,
                  "ballot policy: missing `constexpr bool is_zero() const noexcept` (true "
                  "only for the value-initialized ballot B{})");
    if constexpr (ballot_policy<B>) {
        static_assert(B::max_nodes >= 1, "ballot policy: max_nodes must be at least 1");
        static_assert(detail::ballot_zero_is_lowest<B>(),
                      "ballot policy: B{} must be the zero ballot (is_zero() true) and lie "
                      "strictly below first(n) for every node n");
        static_assert(detail::ballot_first_is_owned<B>(),
                      "ballot policy: first(n) must be owned by n and equal next_above(B{}, n)");
        static_assert(detail::ballot_next_above_climbs<B>(),
                      "ballot policy: next_above(seen, n) must be owned by n and strictly "
                      "greater than `seen`, for ballots of lower, equal and higher nodes");
    } else if constexpr (ballot_has_first<B> && ballot_is_ordered<B>) {
        static_assert(ballot_is_constexpr<B>,
                      "ballot policy: first() and the comparison operators must be constexpr, "
                      "so the ballot laws can be checked at compile time");
    }
    return true;
}

// ---------------------------------------------------------------------------
// counter_ballot: the classic single-integer encoding
//   raw = counter * MaxNodes + node
// Raw 0 (counter 0, node 0) is the zero ballot; nodes issue ballots from
// counter 1 on, so first(n) = MaxNodes + n. MaxNodes need not be a power of
// two. Retries cost one counter step, so a 64-bit raw lasts for
// 2^64 / MaxNodes ballots: far beyond any deployment, and still checked.
template <std::size_t MaxNodes>
class counter_ballot {
    static_assert(MaxNodes >= 1, "counter_ballot<MaxNodes>: MaxNodes must be at least 1");
    static_assert(MaxNodes <= 65534,
                  "counter_ballot<MaxNodes>: MaxNodes must be at most 65534, because "
                  "node ids are 16 bits and 0xFFFE / 0xFFFF are reserved (none, broadcast)");

    static constexpr std::uint64_t width_ = MaxNodes;

public:
    static constexpr std::size_t max_nodes = MaxNodes;

    constexpr counter_ballot() = default;

    // Any raw value is a ballot; raws below MaxNodes other than 0 are never
    // issued but still order correctly (a decoded message may carry one).
    static constexpr counter_ballot from_raw(std::uint64_t raw) noexcept {
        counter_ballot b;
        b.raw_ = raw;
        return b;
    }

    static constexpr counter_ballot first(node_id self) noexcept {
        PAXOS_ASSERT(self.value < MaxNodes);
        return from_raw(width_ + self.value);
    }

    static constexpr std::optional<counter_ballot> next_above(counter_ballot seen,
                                                              node_id self) noexcept {
        PAXOS_ASSERT(self.value < MaxNodes);
        const std::uint64_t seen_counter = seen.raw_ / width_;
        const std::uint64_t seen_node = seen.raw_ % width_;
        // Same counter if self ranks above the owner of `seen`, else the next
        // counter; never counter 0 (only the zero ballot lives there).
        std::uint64_t counter = seen_counter;
        if (self.value <= seen_node) {
            if (counter == std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
            ++counter;
        }
        if (counter == 0) counter = 1;
        // counter * width + self must fit 64 bits: checked by division, since
        // the product itself would already have wrapped.
        const std::uint64_t counter_max =
            (std::numeric_limits<std::uint64_t>::max() - self.value) / width_;
        if (counter > counter_max) return std::nullopt;
        const counter_ballot next = from_raw(counter * width_ + self.value);
        PAXOS_ASSERT(seen < next);
        return next;
    }

    constexpr std::uint64_t raw() const noexcept { return raw_; }
    constexpr std::uint64_t counter() const noexcept { return raw_ / width_; }
    constexpr node_id node() const noexcept {
        return node_id{static_cast<std::uint16_t>(raw_ % width_)};
    }
    constexpr node_id owner() const noexcept { return node(); }
    constexpr bool is_zero() const noexcept { return raw_ == 0; }

    friend constexpr bool operator==(counter_ballot, counter_ballot) = default;
    friend constexpr auto operator<=>(counter_ballot, counter_ballot) = default;

private:
    std::uint64_t raw_ = 0;
};

// ---------------------------------------------------------------------------
// pair_ballot: (round, node) compared lexicographically. Wider than
// counter_ballot (16 bytes with padding) but the round is readable as is and
// every node id below 65534 fits without choosing a MaxNodes up front.
class pair_ballot {
public:
    static constexpr std::size_t max_nodes = 65534;

    constexpr pair_ballot() = default;

    static constexpr pair_ballot from_parts(std::uint64_t round, node_id node) noexcept {
        pair_ballot b;
        b.round_ = round;
        b.node_ = node.value;
        return b;
    }

    static constexpr pair_ballot first(node_id self) noexcept {
        PAXOS_ASSERT(self.value < max_nodes);
        return from_parts(1, self);
    }

    static constexpr std::optional<pair_ballot> next_above(pair_ballot seen,
                                                           node_id self) noexcept {
        PAXOS_ASSERT(self.value < max_nodes);
        // Round 0 holds only the zero ballot (and foreign junk): start at 1.
        if (seen.round_ == 0) return first(self);
        if (self.value > seen.node_) return from_parts(seen.round_, self);
        if (seen.round_ == std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
        return from_parts(seen.round_ + 1, self);
    }

    constexpr std::uint64_t round() const noexcept { return round_; }
    constexpr node_id node() const noexcept { return node_id{node_}; }
    constexpr node_id owner() const noexcept { return node(); }
    constexpr bool is_zero() const noexcept { return round_ == 0 && node_ == 0; }

    // Member order is the comparison order: round first, then node.
    friend constexpr bool operator==(pair_ballot, pair_ballot) = default;
    friend constexpr auto operator<=>(pair_ballot, pair_ballot) = default;

private:
    std::uint64_t round_ = 0;
    std::uint16_t node_ = 0;
};

// A ballot as one 64-bit number, for hashing states and printing traces (the
// simulator, the explorer, replica::fingerprint). Not an ordering across
// policies: raw() where the policy has it, else round and node packed.
template <class B>
constexpr std::uint64_t ballot_bits(const B& b) noexcept {
    if constexpr (requires {
                      { b.raw() } -> std::convertible_to<std::uint64_t>;
                  }) {
        return b.raw();
    } else if constexpr (requires {
                             b.round();
                             b.node();
                         }) {
        return (static_cast<std::uint64_t>(b.round()) << 16) ^ b.node().value;
    } else {
        static_assert(sizeof(B) == 0,
                      "ballot_bits: give the ballot policy `std::uint64_t raw() const` (or "
                      "round() and node()) so states and traces can name it");
        return 0;
    }
}

}  // namespace paxos::inline v0
