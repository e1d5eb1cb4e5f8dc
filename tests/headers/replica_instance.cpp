// tests/headers/replica_instance.cpp: the one unit that instantiates
// replica<multi_paxos<int, 3>> for replica_user.cpp (README, "Compile time").
#include <paxos/paxos.hpp>

template class paxos::replica<paxos::multi_paxos<int, 3>>;
