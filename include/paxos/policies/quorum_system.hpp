// paxos/policies/quorum_system.hpp: the quorum system concept and the
// intersection proof.
//
// Paxos is safe because every phase-1 quorum meets every phase-2 quorum: the
// proposer of a higher ballot then hears, from some acceptor in the overlap,
// of any value a lower ballot may have chosen (Paxos Made Simple 2.2; Howard,
// Malkhi and Spiegelman, "Flexible Paxos", 2016, which shows this is the only
// intersection needed). This header states what a quorum system provides,
// and checks the intersection:
//
//   - check_quorum_system<Q>() static_asserts each requirement with a fix-it
//     message, and for a static quorum system also proves the intersection.
//   - quorums_intersect<Q>() is that proof as a consteval predicate.
//   - find_quorum_counterexample(q) returns two disjoint quorums, or nullopt;
//     usable at run time and in constant expressions.
//
// The search rests on one identity. With monotone predicates (a superset of
// a quorum is a quorum), a phase-1 quorum A and a phase-2 quorum B are
// disjoint exactly when B fits in the complement of A, so
//     every phase-1 quorum meets every phase-2 quorum
//   <=> no set S has is_phase1_quorum(S) && is_phase2_quorum(complement(S)).
// That is one pass over 2^n sets instead of a pass over pairs. Monotonicity is
// a precondition of the concept; quorums_are_monotone(q) tests it.
//
// A *static* quorum system is an empty class (so all its values are equal and
// a proof about Q{} covers every value the replica may hold) whose
// node_count() is a constant expression. Its intersection is proved while
// compiling: first by the policy's closed form, a static member
//     static consteval bool proves_intersection();   // true = proved
// then by the policy's own exact search, a member
//     constexpr std::optional<quorum_counterexample> find_counterexample() const;
// and only then by enumerating all 2^n node sets, for n <= quorum_proof_nodes_max.
//
// Compile-time budget of that enumeration, measured with default compiler
// limits on a user type whose predicates test a count against n / 2 + 1
// (every set is visited, as for any system that does intersect):
//
//   predicate                        g++ 12 (-fconstexpr-ops-limit 2^25)
//                                    clang 14 (-fconstexpr-steps 2^20)
//   popcount of the set              g++: n = 16 in 0.8 s
//                                    clang: n = 14 in 0.9 s, n = 15 fails
//   loop over the n members          g++: n = 14 in 0.9 s, n = 15 fails
//                                    clang: n = 13 in 1.3 s, n = 14 fails
//
// So quorum_proof_nodes_max is 14 by default (define
// PAXOS_QUORUM_PROOF_NODES_MAX to change it, up to 24); beyond it the check
// fails with a sentence asking for a closed form or a run-time quorum system.
// Below it, a costly predicate can still hit the compiler's own limit; then
// raise the limit, add proves_intersection(), or go run time. For a user
// type with n <= quorum_monotone_nodes_max = 10 the check also verifies
// monotonicity (n * 2^n tests), on which the identity rests.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "../assert.hpp"
#include "../core/vocabulary.hpp"

namespace paxos::inline v0 {

// Two quorums with no node in common: the witness that a configuration can
// choose two different values.
struct quorum_counterexample {
    node_set phase1;
    node_set phase2;

    friend constexpr bool operator==(const quorum_counterexample&,
                                     const quorum_counterexample&) = default;
};

// ---------------------------------------------------------------------------
// The concept, one requirement per concept so each can be named in an error.

template <class Q>
concept quorum_has_node_count = requires(const Q& q) {
    { q.node_count() } -> std::convertible_to<std::size_t>;
};

template <class Q>
concept quorum_has_phase1 = requires(const Q& q, node_set s) {
    { q.is_phase1_quorum(s) } -> std::same_as<bool>;
};

template <class Q>
concept quorum_has_phase2 = requires(const Q& q, node_set s) {
    { q.is_phase2_quorum(s) } -> std::same_as<bool>;
};

// The replica holds its quorum system by value.
template <class Q>
concept quorum_is_copyable = std::copyable<Q>;

template <class Q>
concept quorum_system = quorum_has_node_count<Q> && quorum_has_phase1<Q> && quorum_has_phase2<Q> &&
    quorum_is_copyable<Q>;

template <class Q>
concept static_quorum_system =
    quorum_system<Q> && std::is_empty_v<Q> && std::default_initializable<Q> && requires {
    typename std::integral_constant<std::size_t, Q{}.node_count()>;
};

// A policy's closed-form proof: true means "proved"; false means "this form
// does not decide it", and the exact search runs.
template <class Q>
concept quorum_has_closed_form = requires {
    {std::bool_constant<Q::proves_intersection()>{}};
};

// A policy's own exact counterexample search (cheaper than 2^n sets).
template <class Q>
concept quorum_has_search = requires(const Q& q) {
    { q.find_counterexample() } -> std::same_as<std::optional<quorum_counterexample>>;
};

// Largest cluster enumerate_quorum_counterexample accepts (2^24 sets at run
// time is well under a second), the largest a proof at
// compile time enumerates (see the budget in the header comment); and the
// largest user type whose monotonicity the compile-time check verifies.
inline constexpr std::size_t quorum_enumeration_nodes_max = 24;
#ifdef PAXOS_QUORUM_PROOF_NODES_MAX
inline constexpr std::size_t quorum_proof_nodes_max = PAXOS_QUORUM_PROOF_NODES_MAX;
#else
inline constexpr std::size_t quorum_proof_nodes_max = 14;
#endif
static_assert(quorum_proof_nodes_max <= quorum_enumeration_nodes_max,
              "PAXOS_QUORUM_PROOF_NODES_MAX must be at most 24");
inline constexpr std::size_t quorum_monotone_nodes_max = 10;

// ---------------------------------------------------------------------------
// The searches.

// Brute force over all 2^n node sets, whatever the policy offers. The first
// counterexample in order of the phase-1 set's bit mask is returned.
template <quorum_system Q>
constexpr std::optional<quorum_counterexample> enumerate_quorum_counterexample(
    const Q& q) noexcept {
    const std::size_t n = q.node_count();
    PAXOS_ASSERT(n <= quorum_enumeration_nodes_max);
    const std::uint64_t set_count = std::uint64_t{1} << n;
    for (std::uint64_t mask = 0; mask < set_count; ++mask) {
        const node_set phase1{mask};
        if (!q.is_phase1_quorum(phase1)) continue;
        const node_set phase2 = phase1.complement(n);
        if (q.is_phase2_quorum(phase2)) return quorum_counterexample{phase1, phase2};
    }
    return std::nullopt;
}

// The policy's own exact search if it has one, else enumeration.
template <quorum_system Q>
constexpr std::optional<quorum_counterexample> find_quorum_counterexample(const Q& q) noexcept {
    if constexpr (quorum_has_search<Q>) {
        return q.find_counterexample();
    } else {
        return enumerate_quorum_counterexample(q);
    }
}

// True when adding any one node to any quorum keeps it a quorum, in both
// phases: the precondition of the search above. n * 2^n tests, n <= 24.
template <quorum_system Q>
constexpr bool quorums_are_monotone(const Q& q) noexcept {
    const std::size_t n = q.node_count();
    PAXOS_ASSERT(n <= quorum_enumeration_nodes_max);
    const std::uint64_t set_count = std::uint64_t{1} << n;
    for (std::uint64_t mask = 0; mask < set_count; ++mask) {
        const node_set s{mask};
        const bool phase1 = q.is_phase1_quorum(s);
        const bool phase2 = q.is_phase2_quorum(s);
        if (!phase1 && !phase2) continue;
        for (std::size_t i = 0; i < n; ++i) {
            const node_set grown = s | node_set{std::uint64_t{1} << i};
            if (phase1 && !q.is_phase1_quorum(grown)) return false;
            if (phase2 && !q.is_phase2_quorum(grown)) return false;
        }
    }
    return true;
}

// ---------------------------------------------------------------------------
// The compile-time proof.

enum class quorum_proof_kind : std::uint8_t {
    closed_form,  // the policy's proves_intersection() returned true
    searched,     // an exact search found no disjoint pair
    disjoint,     // a disjoint pair exists: `counterexample`
    too_large,    // no closed form, no own search, and n > quorum_proof_nodes_max
};

struct quorum_proof {
    quorum_proof_kind kind = quorum_proof_kind::too_large;
    quorum_counterexample counterexample{};
};

template <static_quorum_system Q>
consteval quorum_proof prove_quorum_intersection() {
    if constexpr (quorum_has_closed_form<Q>) {
        if constexpr (Q::proves_intersection()) return {quorum_proof_kind::closed_form, {}};
    }
    constexpr Q q{};
    std::optional<quorum_counterexample> found;
    if constexpr (quorum_has_search<Q>) {
        found = q.find_counterexample();
    } else if constexpr (q.node_count() <= quorum_proof_nodes_max) {
        found = enumerate_quorum_counterexample(q);
    } else {
        return {quorum_proof_kind::too_large, {}};
    }
    if (found) return {quorum_proof_kind::disjoint, *found};
    return {quorum_proof_kind::searched, {}};
}

template <static_quorum_system Q>
consteval bool quorums_intersect() {
    const quorum_proof_kind kind = prove_quorum_intersection<Q>().kind;
    return kind == quorum_proof_kind::closed_form || kind == quorum_proof_kind::searched;
}

namespace detail {

// Instantiated only when a proof found two disjoint quorums; the compiler
// prints the template arguments, which are the two node sets as bit masks
// (bit i is node i), next to the message.
template <std::uint64_t Phase1Mask, std::uint64_t Phase2Mask>
struct disjoint_quorums_found {
    static_assert((Phase1Mask & Phase2Mask) != 0,
                  "quorum system: a phase-1 quorum and a phase-2 quorum have no node in "
                  "common, so two different values can be chosen; the two node sets are "
                  "the bit masks in disjoint_quorums_found<Phase1Mask, Phase2Mask>");
    static constexpr bool value = (Phase1Mask & Phase2Mask) != 0;
};

template <class Q>
constexpr bool check_static_quorum_system() {
    constexpr std::size_t n = Q{}.node_count();
    static_assert(n >= 1, "quorum system: node_count() must be at least 1");
    static_assert(n <= node_set::capacity,
                  "quorum system: node_count() must be at most 64 (node_set holds 64 nodes)");
    if constexpr (n >= 1 && n <= node_set::capacity) {
        constexpr quorum_proof proof = prove_quorum_intersection<Q>();
        static_assert(proof.kind != quorum_proof_kind::too_large,
                      "quorum system: too many nodes to enumerate its quorums at compile "
                      "time (more than quorum_proof_nodes_max, 14 by default); give it "
                      "`static consteval bool proves_intersection()` (a closed-form "
                      "proof), or use a run-time quorum system checked at start-up "
                      "(paxos::runtime_threshold, paxos::runtime_weighted)");
        if constexpr (proof.kind == quorum_proof_kind::searched && !quorum_has_search<Q> &&
                      n <= quorum_monotone_nodes_max) {
            static_assert(quorums_are_monotone(Q{}),
                          "quorum system: quorums must be monotone: a set that holds a "
                          "quorum plus one more node must still be a quorum, in both "
                          "phases (the intersection proof and the vote counting rely on it)");
        }
        if constexpr (proof.kind == quorum_proof_kind::disjoint) {
            return disjoint_quorums_found<proof.counterexample.phase1.mask(),
                                          proof.counterexample.phase2.mask()>::value;
        }
    }
    return true;
}

}  // namespace detail

// Checks Q one requirement at a time, so the first error names the member
// that is missing and shows how to declare it; for a static quorum system it
// then proves the intersection. Use as
//   static_assert(paxos::check_quorum_system<Q>());
template <class Q>
constexpr bool check_quorum_system() {
    static_assert(quorum_has_node_count<Q>,
                  "quorum system: missing `constexpr std::size_t node_count() const noexcept` "
                  "returning the number of nodes (at most 64)");
    static_assert(quorum_has_phase1<Q>,
                  "quorum system: missing `constexpr bool is_phase1_quorum(paxos::node_set s) "
                  "const noexcept` (true when s holds a phase-1, i.e. prepare/promise, quorum)");
    static_assert(quorum_has_phase2<Q>,
                  "quorum system: missing `constexpr bool is_phase2_quorum(paxos::node_set s) "
                  "const noexcept` (true when s holds a phase-2, i.e. accept, quorum)");
    static_assert(quorum_is_copyable<Q>,
                  "quorum system: Q must be copyable; the replica holds it by value");
    if constexpr (static_quorum_system<Q>) {
        return detail::check_static_quorum_system<Q>();
    } else {
        return true;
    }
}

}  // namespace paxos::inline v0
