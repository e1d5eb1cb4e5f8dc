// expect: flexible<N, Q1, Q2>: Q1 \+ Q2 must exceed N
// The flexible_paxos alias with Q1 + Q2 == N: a phase-1 quorum of 2 and a
// phase-2 quorum of 2 out of 4 can miss each other.
#include <paxos/paxos.hpp>

paxos::replica<paxos::flexible_paxos<int, 4, 2, 2>> r({});
