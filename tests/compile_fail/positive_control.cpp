// expect-success
// Everything the failing cases get wrong, done right: if this stops
// compiling, the harness (include path, flags) is broken, not the cases.
#include <paxos/policies/ballot.hpp>
#include <paxos/policies/quorum.hpp>

#include <cstddef>

struct two_of_three {
    constexpr std::size_t node_count() const noexcept { return 3; }
    constexpr bool is_phase1_quorum(paxos::node_set s) const noexcept {
        return (s & paxos::node_set::first(3)).size() >= 2;
    }
    constexpr bool is_phase2_quorum(paxos::node_set s) const noexcept {
        return (s & paxos::node_set::first(3)).size() >= 2;
    }
};

static_assert(paxos::check_ballot_policy<paxos::counter_ballot<7>>());
static_assert(paxos::check_ballot_policy<paxos::pair_ballot>());
static_assert(paxos::check_quorum_system<paxos::majority<5>>());
static_assert(paxos::check_quorum_system<paxos::flexible<5, 4, 2>>());
static_assert(paxos::check_quorum_system<paxos::grid<8, 8>>());
static_assert(paxos::check_quorum_system<paxos::weighted<paxos::weights<3, 1, 1, 1>, 4, 3>>());
static_assert(paxos::check_quorum_system<two_of_three>());
static_assert(paxos::check_quorum_system<paxos::runtime_threshold>());
static_assert(paxos::check_quorum_system<paxos::runtime_weighted>());
