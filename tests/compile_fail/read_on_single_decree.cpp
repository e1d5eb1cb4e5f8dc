// expect: has no reads
// Basic Paxos decides one value: there is no log to read at an index, so
// replica::read does not compile for a single-decree config.
#include <paxos/paxos.hpp>

int main() {
    paxos::replica<paxos::basic_paxos<int, 3>> r({.self = paxos::node_id{0}});
    (void)r.read(1);
}
