// Three replicas of a replicated log in one process: the README's quick start.
#include <paxos/paxos.hpp>

#include <cstdio>
#include <deque>
#include <vector>

using replica = paxos::replica<paxos::multi_paxos<int, 3>>;  // command type, cluster size

int main() {
    std::vector<replica> nodes;
    for (std::uint16_t id = 0; id < 3; ++id)
        nodes.emplace_back(replica::options{.self = paxos::node_id{id}});
    std::deque<replica::message_type> network;

    auto drain = [&](replica& r) {  // the ready loop, after every input
        while (r.has_ready()) {
            const auto& rd = r.ready();
            // 1. write rd.promised and rd.accepted to disk; fsync if rd.sync_needed
            for (const auto& m : rd.messages) network.push_back(m);  // 2. then send
            for (const auto& e : rd.chosen)                          // 3. apply
                for (int v : e.values) std::printf("node %d applies %d\n", r.self().value, v);
            r.advance(rd);
        }
    };
    auto deliver = [&] {  // a perfect network; a broadcast goes to every other node
        for (; !network.empty(); network.pop_front()) {
            const auto m = network.front();
            for (auto& r : nodes) {
                if (m.to != r.self() && (m.to != paxos::node_id::broadcast() || m.from == r.self()))
                    continue;
                (void)r.step(m);  // a refused message returns why; none is fatal
                drain(r);
            }
        }
    };

    (void)nodes[0].campaign();  // or let tick() hold an election
    drain(nodes[0]);
    deliver();
    for (int command = 1; command <= 3; ++command) {
        if (const auto res = nodes[0].propose(command); !res.ok()) return 1;
        drain(nodes[0]);
        deliver();
    }
    return nodes[2].applied_end().value == 3 ? 0 : 1;
}
