// paxos/policies/quorum_static.hpp: the stock static quorum systems.
//
//   majority<N>                    both phases: more than half of N
//   flexible<N, Q1, Q2>            phase 1: any Q1 nodes, phase 2: any Q2 nodes
//   grid<Rows, Cols>               phase 1: a node of every row, phase 2: a full row
//   weighted<weights<W...>, T1, T2> phase k: total weight of the set >= Tk
//
// Each is an empty class whose parameters are template arguments, so a wrong
// configuration is a compile error: every class static_asserts its own
// constraints with a sentence naming it, and the intersection of its phase-1
// and phase-2 quorums, by a closed form (proves_intersection) where the
// structure gives one. Nodes at or above node_count() never count toward a
// quorum. Each policy's predicates are monotone, which the intersection
// search of quorum_system.hpp relies on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "../assert.hpp"
#include "../core/vocabulary.hpp"
#include "quorum_system.hpp"

namespace paxos::inline v0 {

// ---------------------------------------------------------------------------
// majority<N>: the classic rule of Paxos Made Simple. A quorum is N / 2 + 1
// nodes in integer arithmetic (for N = 5: 3; for N = 4: 3). Two such sets
// hold 2 * (N / 2 + 1) > N nodes between them, so they share one.
template <std::size_t N>
class majority {
    static_assert(N >= 1, "majority<N>: N must be at least 1 node");
    static_assert(N <= node_set::capacity,
                  "majority<N>: N must be at most 64 nodes (a node_set holds 64)");

public:
    static constexpr std::size_t quorum_size = N / 2 + 1;

    static constexpr std::size_t node_count() noexcept { return N; }
    static constexpr bool is_phase1_quorum(node_set s) noexcept { return counts(s); }
    static constexpr bool is_phase2_quorum(node_set s) noexcept { return counts(s); }
    static consteval bool proves_intersection() { return 2 * quorum_size > N; }

private:
    static constexpr bool counts(node_set s) noexcept {
        return (s & node_set::first(N)).has_at_least(quorum_size);
    }
};

// ---------------------------------------------------------------------------
// flexible<N, Q1, Q2>: Flexible Paxos with count thresholds. Any Q1 nodes
// form a phase-1 quorum, any Q2 nodes a phase-2 quorum; Q1 + Q2 > N makes
// every pair share a node, and is also necessary (take Q1 nodes and the
// N - Q1 others). A small Q2 speeds up every command of a stable leader; the
// price is a larger Q1 at leader change.
template <std::size_t N, std::size_t Q1, std::size_t Q2>
class flexible {
    static_assert(N >= 1, "flexible<N, Q1, Q2>: N must be at least 1 node");
    static_assert(N <= node_set::capacity,
                  "flexible<N, Q1, Q2>: N must be at most 64 nodes (a node_set holds 64)");
    static_assert(Q1 >= 1 && Q1 <= N,
                  "flexible<N, Q1, Q2>: Q1 must be between 1 and N, or phase 1 has no quorum "
                  "(Q1 > N) or an empty one (Q1 = 0)");
    static_assert(Q2 >= 1 && Q2 <= N,
                  "flexible<N, Q1, Q2>: Q2 must be between 1 and N, or phase 2 has no quorum "
                  "(Q2 > N) or an empty one (Q2 = 0)");
    static_assert(Q1 + Q2 > N,
                  "flexible<N, Q1, Q2>: Q1 + Q2 must exceed N, or a phase-1 quorum and a "
                  "phase-2 quorum can miss each other and two values can be chosen");

public:
    static constexpr std::size_t phase1_size = Q1;
    static constexpr std::size_t phase2_size = Q2;

    static constexpr std::size_t node_count() noexcept { return N; }
    static constexpr bool is_phase1_quorum(node_set s) noexcept {
        return (s & node_set::first(N)).has_at_least(Q1);
    }
    static constexpr bool is_phase2_quorum(node_set s) noexcept {
        return (s & node_set::first(N)).has_at_least(Q2);
    }
    static consteval bool proves_intersection() { return Q1 + Q2 > N; }
};

// ---------------------------------------------------------------------------
// grid<Rows, Cols>: node r * Cols + c sits in row r, column c.
//   phase 2: every node of some row      (Cols nodes)
//   phase 1: some node of every row      (Rows nodes)
// A phase-1 quorum has a node in the very row a phase-2 quorum fills, so they
// always meet. Phase 2 runs for every command and phase 1 only at leader
// change, so the cheap side goes to phase 2 (Flexible Paxos, section 4): a
// tall, narrow grid (Rows > Cols) commits with few acks. The trade: phase 2
// needs one whole row alive, phase 1 needs every row to have a live node.
template <std::size_t Rows, std::size_t Cols>
class grid {
    static_assert(Rows >= 1, "grid<Rows, Cols>: Rows must be at least 1");
    static_assert(Cols >= 1, "grid<Rows, Cols>: Cols must be at least 1");
    static_assert(Rows * Cols <= node_set::capacity,
                  "grid<Rows, Cols>: Rows * Cols must be at most 64 nodes (a node_set holds 64)");

public:
    static constexpr std::size_t rows = Rows;
    static constexpr std::size_t cols = Cols;

    static constexpr std::size_t node_count() noexcept { return Rows * Cols; }
    static constexpr node_set row(std::size_t r) noexcept {
        PAXOS_ASSERT(r < Rows);
        return node_set{node_set::first(Cols).mask() << (r * Cols)};
    }
    static constexpr bool is_phase1_quorum(node_set s) noexcept {
        for (std::size_t r = 0; r < Rows; ++r) {
            if (!s.intersects(row(r))) return false;
        }
        return true;
    }
    static constexpr bool is_phase2_quorum(node_set s) noexcept {
        for (std::size_t r = 0; r < Rows; ++r) {
            if ((s & row(r)) == row(r)) return true;
        }
        return false;
    }
    static consteval bool proves_intersection() { return true; }
};

// ---------------------------------------------------------------------------
// weighted<weights<W0, W1, ...>, T1, T2>: node i carries weight Wi; a set is
// a phase-k quorum when its weights add up to at least Tk. T1 + T2 > total
// weight proves intersection at once (closed form). Otherwise the exact test
// asks whether some subset sum x has T1 <= x <= total - T2 (then that subset
// and its complement are disjoint quorums), by a subset-sum table: linear in
// the node count and the total weight, for any node count, up to a total
// weight of weight_search_total_max. Uneven weights let a strong site carry
// more of a quorum, or zero weights keep a node out of every quorum.

template <std::uint32_t... W>
struct weights {
    static constexpr std::size_t count = sizeof...(W);
    static constexpr std::uint64_t total = (std::uint64_t{0} + ... + W);
};

namespace detail {

template <class>
inline constexpr bool dependent_false = false;

// Node count up to which a compile-time proof enumerates a weighted system
// too heavy for the subset-sum table (run time uses
// quorum_enumeration_nodes_max).
inline constexpr std::size_t weighted_proof_nodes_max = 12;

// Largest total weight the exact subset-sum search handles: its table is a
// bit set of sums 0 .. 4095, 512 bytes.
inline constexpr std::uint64_t weight_search_total_max = 4095;

using weight_array = std::array<std::uint32_t, node_set::capacity>;

// The weights in a fixed array; a list longer than 64 is cut here and
// reported by the policy's static_assert.
template <std::uint32_t... W>
constexpr weight_array make_weight_array() noexcept {
    const std::array<std::uint32_t, sizeof...(W)> given{W...};
    weight_array out{};
    for (std::size_t i = 0; i < given.size() && i < out.size(); ++i) out[i] = given[i];
    return out;
}

constexpr std::uint64_t weight_of(const weight_array& w, std::size_t count, node_set s) noexcept {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (s.contains(node_id{static_cast<std::uint16_t>(i)})) sum += w[i];
    }
    return sum;
}

// The set of sums reachable by subsets of a prefix of the nodes.
class subset_sums {
public:
    static constexpr std::size_t word_count = (weight_search_total_max + 1) / 64;

    constexpr subset_sums(const weight_array& w, std::size_t prefix) noexcept {
        std::uint64_t total = 0;
        for (std::size_t i = 0; i < prefix; ++i) total += w[i];
        PAXOS_ASSERT(total <= weight_search_total_max);
        // Only the words that can hold a reachable sum are touched, so small
        // weights cost one word per node.
        words_used_ = static_cast<std::size_t>(total / 64) + 1;
        words_[0] = 1;  // the empty set sums to 0
        for (std::size_t i = 0; i < prefix; ++i) add(w[i]);
    }
    constexpr bool contains(std::uint64_t sum) const noexcept {
        PAXOS_ASSERT(sum <= weight_search_total_max);
        return ((words_[sum / 64] >> (sum % 64)) & 1u) != 0;
    }

private:
    // sums := sums | (sums + w), a shift of the bit set by w. Words are done
    // from the top down so each reads sources not yet updated.
    constexpr void add(std::uint64_t w) noexcept {
        if (w == 0) return;
        const std::size_t word_shift = static_cast<std::size_t>(w / 64);
        const unsigned bit_shift = static_cast<unsigned>(w % 64);
        for (std::size_t i = words_used_; i-- > word_shift;) {
            const std::size_t from = i - word_shift;
            std::uint64_t moved = words_[from] << bit_shift;
            if (bit_shift != 0 && from > 0) moved |= words_[from - 1] >> (64 - bit_shift);
            words_[i] |= moved;
        }
    }

    std::array<std::uint64_t, word_count> words_{};
    std::size_t words_used_ = 1;
};

enum class weighted_verdict : std::uint8_t { intersect, disjoint, too_large };

struct weighted_search {
    weighted_verdict verdict = weighted_verdict::intersect;
    quorum_counterexample counterexample{};
};

// Requires 1 <= t1, t2 <= total weight. Picks, from the top node down, the
// nodes of a subset with sum `target`: node i is needed exactly when the
// nodes below it cannot make the remainder alone.
constexpr node_set subset_with_sum(const weight_array& w, std::size_t count,
                                   std::uint64_t target) noexcept {
    node_set chosen;
    for (std::size_t i = count; i-- > 0;) {
        if (subset_sums(w, i).contains(target)) continue;
        PAXOS_ASSERT(w[i] <= target);
        chosen.insert(node_id{static_cast<std::uint16_t>(i)});
        target -= w[i];
    }
    PAXOS_ASSERT(target == 0);
    return chosen;
}

// Beyond weight_search_total_max the search enumerates all 2^count sets, if
// count <= enumeration_nodes_max (smaller at compile time, where steps are
// scarce, than at run time).
constexpr weighted_search search_weighted(const weight_array& w, std::size_t count,
                                          std::uint64_t t1, std::uint64_t t2,
                                          std::size_t enumeration_nodes_max) noexcept {
    const std::uint64_t total = weight_of(w, count, node_set::first(count));
    PAXOS_ASSERT(t1 >= 1 && t1 <= total);
    PAXOS_ASSERT(t2 >= 1 && t2 <= total);
    if (t1 + t2 > total) return {};
    if (total > weight_search_total_max) {
        if (count > enumeration_nodes_max) return {weighted_verdict::too_large, {}};
        for (std::uint64_t mask = 0; mask < (std::uint64_t{1} << count); ++mask) {
            const std::uint64_t sum = weight_of(w, count, node_set{mask});
            if (sum >= t1 && total - sum >= t2) {
                const node_set s{mask};
                return {weighted_verdict::disjoint, {s, s.complement(count)}};
            }
        }
        return {};
    }
    const subset_sums sums(w, count);
    for (std::uint64_t x = t1; x <= total - t2; ++x) {
        if (!sums.contains(x)) continue;
        const node_set s = subset_with_sum(w, count, x);
        return {weighted_verdict::disjoint, {s, s.complement(count)}};
    }
    return {};
}

}  // namespace detail

template <class Weights, std::uint64_t T1, std::uint64_t T2>
class weighted {
    static_assert(detail::dependent_false<Weights>,
                  "weighted<Weights, T1, T2>: Weights must be paxos::weights<w0, w1, ...>, "
                  "one weight per node, e.g. weighted<weights<2, 1, 1>, 3, 2>");
};

template <std::uint32_t... W, std::uint64_t T1, std::uint64_t T2>
class weighted<weights<W...>, T1, T2> {
    static constexpr std::size_t n_ = sizeof...(W);
    static constexpr std::uint64_t total_ = weights<W...>::total;
    static constexpr detail::weight_array weights_ = detail::make_weight_array<W...>();

    static_assert(n_ >= 1, "weighted<weights<W...>, T1, T2>: give at least one node weight");
    static_assert(n_ <= node_set::capacity,
                  "weighted<weights<W...>, T1, T2>: at most 64 node weights "
                  "(a node_set holds 64)");
    static_assert(T1 >= 1 && T1 <= total_,
                  "weighted<weights<W...>, T1, T2>: T1 must be between 1 and the total weight, "
                  "or phase 1 has no quorum or an empty one");
    static_assert(T2 >= 1 && T2 <= total_,
                  "weighted<weights<W...>, T1, T2>: T2 must be between 1 and the total weight, "
                  "or phase 2 has no quorum or an empty one");

    static constexpr bool well_formed_ =
        n_ >= 1 && n_ <= node_set::capacity && T1 >= 1 && T1 <= total_ && T2 >= 1 && T2 <= total_;

    // Evaluated only when well formed: the search asserts its preconditions.
    static constexpr detail::weighted_verdict verdict_ =
        well_formed_
            ? detail::search_weighted(weights_, n_, T1, T2, detail::weighted_proof_nodes_max)
                  .verdict
            : detail::weighted_verdict::intersect;

    static_assert(verdict_ != detail::weighted_verdict::too_large,
                  "weighted<weights<W...>, T1, T2>: T1 + T2 does not exceed the total weight, "
                  "and the weights are too large (total above 4095 with more than 12 nodes) to "
                  "search for disjoint quorums; make T1 + T2 exceed the total weight");
    static_assert(verdict_ != detail::weighted_verdict::disjoint,
                  "weighted<weights<W...>, T1, T2>: some phase-1 quorum (weight >= T1) and "
                  "phase-2 quorum (weight >= T2) share no node, so two values can be chosen; "
                  "make T1 + T2 exceed the total weight");

public:
    static constexpr std::uint64_t phase1_threshold = T1;
    static constexpr std::uint64_t phase2_threshold = T2;
    static constexpr std::uint64_t total_weight = total_;

    static constexpr std::size_t node_count() noexcept { return n_; }
    static constexpr std::uint32_t weight(node_id n) noexcept {
        PAXOS_ASSERT(n.value < n_);
        return weights_[n.value];
    }
    static constexpr std::uint64_t weight_of(node_set s) noexcept {
        return detail::weight_of(weights_, n_, s);
    }
    static constexpr bool is_phase1_quorum(node_set s) noexcept { return weight_of(s) >= T1; }
    static constexpr bool is_phase2_quorum(node_set s) noexcept { return weight_of(s) >= T2; }
    static consteval bool proves_intersection() { return T1 + T2 > total_; }
    constexpr std::optional<quorum_counterexample> find_counterexample() const noexcept {
        const detail::weighted_search found =
            detail::search_weighted(weights_, n_, T1, T2, detail::weighted_proof_nodes_max);
        if (found.verdict != detail::weighted_verdict::disjoint) return std::nullopt;
        return found.counterexample;
    }
};

}  // namespace paxos::inline v0
