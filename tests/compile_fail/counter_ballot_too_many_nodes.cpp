// expect: counter_ballot<MaxNodes>: MaxNodes must be at most 65534
// Node ids 0xFFFE and 0xFFFF are reserved (none, broadcast).
#include <paxos/policies/ballot.hpp>

static_assert(paxos::check_ballot_policy<paxos::counter_ballot<65535>>());
