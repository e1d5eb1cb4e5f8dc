// expect: leader policy: missing .*on_preempted
// A home-made leader policy that forgot what to do when its ballot is beaten.
#include <paxos/paxos.hpp>

struct my_leader {
    struct options {};
    static constexpr bool followers_propose = false;
    my_leader(const options&, std::uint64_t) {}
    paxos::leader_action on_tick(paxos::leader_context) { return paxos::leader_action::none; }
    paxos::leader_action on_propose(paxos::leader_context) { return paxos::leader_action::none; }
    void on_elected() {}
    void on_leader_heard() {}
};

using bad = paxos::config<int, paxos::counter_ballot<3>, paxos::majority<3>, my_leader, 3, 8>;
paxos::replica<bad> r({});
