// Three replicas of a replicated log in one process: the README's quick start.
#include <paxos/paxos.hpp>

#include <cstdio>
#include <vector>

using replica = paxos::replica<paxos::multi_paxos<int, 3>>;  // command type, cluster size

int main() {
    std::vector<replica> nodes;
    for (std::uint16_t id = 0; id < 3; ++id)
        nodes.emplace_back(replica::options{.self = paxos::node_id{id}});

    auto run = [&] {  // the ready loop, until no node has output
        for (bool busy = true; busy;) {
            busy = false;
            for (auto& r : nodes) {
                if (!r.has_ready()) continue;
                busy = true;
                const auto& rd = r.ready();
                auto send = [&](const auto& messages) {  // here straight from the batch into
                    for (const auto& m : messages)       // the peers (no copy, no allocation);
                        for (auto& peer : nodes)         // a broadcast goes to every other node
                            if (peer.self() != m.from &&
                                (m.to == peer.self() || m.to == paxos::node_id::broadcast()))
                                (void)peer.step(m);  // a refused message returns why; none is fatal
                };
                send(rd.send_now);  // 1. these may leave at once, even before the write
                // 2. write rd.promised and rd.accepted to disk; fsync if rd.sync_needed
                send(rd.send_after_sync);        // 3. only then send these
                for (const auto& e : rd.chosen)  // 4. apply
                    for (int v : e.values) std::printf("node %d applies %d\n", r.self().value, v);
                r.advance(rd);
            }
        }
    };

    (void)nodes[0].campaign();  // or let tick() hold an election
    run();
    for (int command = 1; command <= 3; ++command) {
        if (const auto res = nodes[0].propose(command); !res.ok()) return 1;
        run();
    }
    for (int t = 0; t < 2; ++t) {  // followers learn the last slot from the next heartbeat
        for (auto& r : nodes) (void)r.tick();
        run();
    }
    return nodes[2].applied_end().value == 3 ? 0 : 1;
}
