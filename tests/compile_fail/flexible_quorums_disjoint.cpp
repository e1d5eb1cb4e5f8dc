// expect: flexible<N, Q1, Q2>: Q1 \+ Q2 must exceed N
// Five nodes, phase-1 quorums of 2 and phase-2 quorums of 3: {0, 1} and
// {2, 3, 4} are disjoint, so two values could be chosen.
#include <paxos/policies/quorum.hpp>

static_assert(paxos::check_quorum_system<paxos::flexible<5, 2, 3>>());
