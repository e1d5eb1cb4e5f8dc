// expect: weighted<weights<W...>, T1, T2>: some phase-1 quorum .* share no node
// Total weight 6; thresholds 3 and 3 let {0} (weight 3) and {1, 2, 3} miss
// each other.
#include <paxos/policies/quorum.hpp>

using unsafe = paxos::weighted<paxos::weights<3, 1, 1, 1>, 3, 3>;
static_assert(paxos::check_quorum_system<unsafe>());
