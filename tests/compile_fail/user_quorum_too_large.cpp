// expect: quorum system: too many nodes to enumerate its quorums at compile time
// 20 nodes, no closed form: 2^20 node sets is past the compile-time budget,
// so the check asks for a closed form or a run-time quorum system.
#include <paxos/policies/quorum.hpp>

#include <cstddef>

struct big_majority {
    constexpr std::size_t node_count() const noexcept { return 20; }
    constexpr bool is_phase1_quorum(paxos::node_set s) const noexcept {
        return (s & paxos::node_set::first(20)).size() >= 11;
    }
    constexpr bool is_phase2_quorum(paxos::node_set s) const noexcept {
        return (s & paxos::node_set::first(20)).size() >= 11;
    }
};

static_assert(paxos::check_quorum_system<big_majority>());
