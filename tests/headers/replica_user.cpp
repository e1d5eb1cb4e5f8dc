// tests/headers/replica_user.cpp: a user's translation unit that drives
// replica<multi_paxos<int, 3>> without instantiating it (README, "Compile
// time"): the explicit instantiation declaration below says that one other
// unit (replica_instance.cpp) holds the class's member functions.
//
// The program runs three replicas, one ready batch at a time, until node 0
// leads and command 7 is chosen and handed out at all three; it exits 0 only
// then. scripts/compile_cost.sh times this unit with and without
// PAXOS_TEST_EXTERN; the `headers` label builds it with, links it to the
// instance unit, runs it, and checks that this object defines none of the
// replica's member functions.
#include <paxos/paxos.hpp>

#include <optional>

#if defined(PAXOS_TEST_EXTERN)
extern template class paxos::replica<paxos::multi_paxos<int, 3>>;
#endif

using replica = paxos::replica<paxos::multi_paxos<int, 3>>;

int main() {
    static std::optional<replica> nodes[3];
    for (std::uint16_t i = 0; i < 3; ++i)
        nodes[i].emplace(replica::options{.self = paxos::node_id{i}});
    if (!nodes[0]->campaign().ok()) return 2;
    bool proposed = false;
    int chosen_at = 0;  // one bit per node that was handed command 7
    // Each pass hands out every node's batch once; the messages in it are
    // stepped at once (their bodies are valid until that node's advance()),
    // and the durable part counts as synced.
    for (int pass = 0; pass < 64 && chosen_at != 7; ++pass) {
        if (!proposed && nodes[0]->is_leader()) proposed = nodes[0]->propose(7).ok();
        for (int i = 0; i < 3; ++i) {
            replica& r = *nodes[i];
            if (!r.has_ready()) continue;
            const auto& rd = r.ready();
            const auto deliver = [&](const replica::message_type& m) {
                for (int to = 0; to < 3; ++to) {
                    const bool addressed =
                        m.to == paxos::node_id::broadcast() ? to != i : m.to.value == to;
                    if (addressed) (void)nodes[to]->step(m);
                }
            };
            for (const auto& m : rd.send_now) deliver(m);
            for (const auto& m : rd.send_after_sync) deliver(m);
            for (const auto& e : rd.chosen) {
                for (const int v : e.values) chosen_at |= v == 7 ? 1 << i : 0;
            }
            r.advance(rd);
        }
        // A follower learns a chosen slot from the leader's next message.
        if (proposed && chosen_at == 1) (void)nodes[0]->tick();
    }
    return chosen_at == 7 ? 0 : 1;
}
