// expect: config: node ids do not fit the ballot
// Five nodes but a ballot encoding with room for three node ids: two nodes
// would share ballots, and ballots must be unique per node.
#include <paxos/paxos.hpp>

using bad =
    paxos::config<int, paxos::counter_ballot<3>, paxos::majority<5>, paxos::stable_leader, 5, 8>;
paxos::replica<bad> r({});
