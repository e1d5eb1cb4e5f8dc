// expect: quorum system: a phase-1 quorum and a phase-2 quorum have no node in common
// A user static quorum system written like flexible<6, 3, 3> but without its
// static_assert: Q1 + Q2 == N, so {0, 1, 2} and {3, 4, 5} are disjoint. The
// enumeration must find that pair.
#include <paxos/policies/quorum.hpp>

#include <cstddef>

struct half_and_half {
    constexpr std::size_t node_count() const noexcept { return 6; }
    constexpr bool is_phase1_quorum(paxos::node_set s) const noexcept {
        return (s & paxos::node_set::first(6)).size() >= 3;
    }
    constexpr bool is_phase2_quorum(paxos::node_set s) const noexcept {
        return (s & paxos::node_set::first(6)).size() >= 3;
    }
};

static_assert(paxos::check_quorum_system<half_and_half>());
