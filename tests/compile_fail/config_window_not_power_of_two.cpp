// expect: config: window_slots must be a power of two
// A window of 12 slots: the slot ring is indexed by slot & (window_slots - 1).
#include <paxos/paxos.hpp>

using bad =
    paxos::config<int, paxos::counter_ballot<3>, paxos::majority<3>, paxos::stable_leader, 3, 12>;
paxos::replica<bad> r({});
