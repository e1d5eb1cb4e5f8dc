// expect: grid<Rows, Cols>: Rows \* Cols must be at most 64 nodes
#include <paxos/policies/quorum.hpp>

static_assert(paxos::check_quorum_system<paxos::grid<9, 8>>());
