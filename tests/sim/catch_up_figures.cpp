// paxos_catch_up: how long, and how many bytes, it takes to bring back a
// replica that is far behind, in the deterministic simulator, with and without
// compaction; and whether the cluster keeps committing meanwhile.
//
//   paxos_catch_up [--behind 100000] [--state-bytes 1048576] [--every 10000]
//
// Three replicas of multi_paxos<command, 3, 64, 16> on sim/harness.hpp, a
// network of 500 us one way plus 1 Gbit/s per link (each message takes its
// encoded size, paxos::wire's codec, on its link, one after another), and a
// sync that takes no time (the figure is about the network). A client keeps
// the leader's window full of 16-command batches. Node 2 is cut off while the
// leader chooses `--behind` slots, then the link heals and the clock runs
// until node 2 has applied everything the leader had chosen when it healed.
// Two runs: catch-up from the log alone (every node keeps its whole log), and
// with compaction (every node snapshots a state of `--state-bytes` every
// `--every` slots and compacts its log to the snapshot before, keeping that
// tail), where node 2 must install the leader's snapshot and then take the
// log after it. Printed per run: the
// simulated time to catch up, the bytes sent to node 2 (chunks and chosen
// messages), and the leader's commits per second in the time before the heal
// and during the catch-up.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <string_view>
#include <vector>

#include <paxos/paxos.hpp>
#include <paxos/sim/harness.hpp>
#include <paxos/wire/codec.hpp>

namespace {

using paxos::sim::time_us;
using command = std::uint64_t;
using config = paxos::multi_paxos<command, 3, 64, 16>;
using replica_type = paxos::replica<config>;
using message_type = replica_type::message_type;
using message_buffer = replica_type::message_buffer;
using ready_type = replica_type::ready_type;
using codec = paxos::wire::message_codec<message_buffer>;

struct settings {
    std::uint64_t behind = 100'000;
    std::size_t state_bytes = 1 << 20;
    std::uint64_t every = 10'000;
};

struct figures {
    time_us catch_up_us = 0;
    std::uint64_t chunk_bytes = 0;   // encoded snapshot_chunk messages to node 2
    std::uint64_t chosen_bytes = 0;  // encoded chosen messages to node 2 (the log)
    std::uint64_t other_bytes = 0;
    std::uint64_t installs = 0;
    double commits_before = 0;  // slots per second at the leader, before the heal
    double commits_during = 0;  // and during the catch-up
    bool ok = false;
};

class run {
public:
    using harness_type = paxos::sim::harness<config, run>;
    friend harness_type;

    run(const settings& s, bool compaction)
        : settings_(s), compaction_(compaction), cluster_(*this, 3, options()) {
        for (std::size_t i = 0; i < 3; ++i) {
            replica_type::options o{};
            o.self = paxos::node_id{static_cast<std::uint16_t>(i)};
            o.seed = 17 + i;
            cluster_[i].replica = std::make_unique<replica_type>(o);
            log_.emplace_back();
        }
    }

    figures go() {
        figures f;
        cut_ = true;
        (void)cluster_.replica_at(0).campaign();
        cluster_.drain(0);
        // Until the leader has chosen `behind` slots with node 2 cut off.
        time_us mark_at = 0;
        std::uint64_t mark_slots = 0;
        // Bounded in simulated time: a minute is far more than the leader needs.
        while (applied(0) < settings_.behind && now_ < 60'000'000) {
            step();
            if (mark_at == 0 && applied(0) >= settings_.behind / 2) {
                mark_at = now_;
                mark_slots = applied(0);
            }
        }
        const time_us healed = now_;
        const std::uint64_t target = applied(0);
        f.commits_before = rate(applied(0) - mark_slots, healed - mark_at);
        cut_ = false;
        counting_ = true;
        while (applied(2) < target && now_ - healed < 600'000'000) step();
        f.ok = applied(2) >= target;
        f.catch_up_us = now_ - healed;
        f.commits_during = rate(applied(0) - target, f.catch_up_us);
        f.chunk_bytes = chunk_bytes_;
        f.chosen_bytes = chosen_bytes_;
        f.other_bytes = other_bytes_;
        f.installs = cluster_[2].snapshots_installed;
        return f;
    }

private:
    static paxos::sim::harness_options options() {
        paxos::sim::harness_options o{};
        o.instant_sync = true;
        return o;
    }

    static double rate(std::uint64_t slots, time_us us) {
        return us == 0 ? 0 : static_cast<double>(slots) * 1e6 / static_cast<double>(us);
    }

    std::uint64_t applied(std::size_t i) const { return base_[i] + log_[i].size(); }

    // One event: the next delivery, or the next tick of every node.
    void step() {
        const time_us tick_at = next_tick_;
        if (!queue_.empty() && queue_.top().at <= tick_at) {
            const delivery d = queue_.top();
            queue_.pop();
            now_ = d.at;
            (void)cluster_.replica_at(d.to).step(d.message);
            cluster_.drain(d.to);
        } else {
            now_ = tick_at;
            next_tick_ += 1'000;
            for (std::size_t i = 0; i < 3; ++i) {
                (void)cluster_.replica_at(i).tick();
                cluster_.drain(i);
            }
        }
        propose();
    }

    // The client: the leader's window full of 16-command batches.
    void propose() {
        replica_type& r = cluster_.replica_at(0);
        if (!r.is_leader()) return;
        for (int k = 0; k < 64 * 16; ++k) {
            if (!r.propose(++command_).ok()) break;
        }
        cluster_.drain(0);
    }

    // ---- the harness's driver hooks --------------------------------------------

    void transmit(std::size_t from, std::size_t to, const message_buffer& m) {
        if (cut_ && (from == 2 || to == 2)) return;
        std::array<std::byte, codec::encoded_size_max> buffer{};
        const auto enc = codec::encode(m.view(), buffer, paxos::wire::cluster_id{1});
        const std::size_t size = enc.ok() ? enc.size : 64;
        if (counting_ && to == 2) {
            if (m.kind == paxos::message_kind::snapshot_chunk) {
                chunk_bytes_ += size;
            } else if (m.kind == paxos::message_kind::chosen) {
                chosen_bytes_ += size;
            } else {
                other_bytes_ += size;
            }
        }
        // 1 Gbit/s: 125 bytes a microsecond, one message after another per link.
        time_us& free = link_free_[from * 3 + to];
        const time_us start = std::max(free, now_);
        free = start + size / 125 + 1;
        queue_.push(delivery{free + 500, sequence_++, to, m});
    }

    void before_send(std::size_t, const message_type&) {}
    void apply(std::size_t i, const paxos::chosen_entry<command>& e) {
        if (e.slot.value == applied(i)) log_[i].push_back(e.values.size());
    }
    void durable(std::size_t, const ready_type&) {}
    void serve_catch_up(std::size_t self, const paxos::catch_up_request& c) {
        replica_type& r = cluster_.replica_at(self);
        const std::uint64_t end = std::min<std::uint64_t>(r.window_base().value, applied(self));
        std::vector<command> values;
        for (std::uint64_t s = std::max(c.from.value, base_[self]);
             s < end && s < c.from.value + config::window_slots; ++s) {
            // The commands themselves do not matter here, only their count.
            values.assign(log_[self][s - base_[self]], s);
            cluster_.fan_out(self, r.chosen_message_for(c.peer, paxos::slot_id{s}, values));
        }
    }
    time_us sync_done_at(std::size_t) { return now_; }
    void storage_failed(std::size_t) { std::abort(); }
    void replayed(std::size_t, const message_buffer&) {}

    // Between batches: a snapshot of the state every `every` slots.
    void drained(std::size_t i) {
        if (!compaction_ || cluster_[i].busy()) return;
        const std::uint64_t end = applied(i);
        if (end < cluster_[i].saved.offer.slot.value + settings_.every) return;
        if (cluster_.replica_at(i).applied_end().value != end) return;
        std::vector<std::byte> state(settings_.state_bytes, std::byte{0x5A});
        for (int b = 0; b < 8; ++b) state[static_cast<std::size_t>(b)] = std::byte(end >> (8 * b));
        // The log keeps a tail back to the snapshot before (etcd keeps
        // SnapshotCatchUpEntries after its snapshot for the same reason).
        const paxos::slot_id tail = cluster_[i].saved.offer.slot;
        if (!cluster_.save_snapshot(i, paxos::slot_id{end}, std::move(state), tail).ok()) return;
        if (tail.value > base_[i]) {
            log_[i].erase(log_[i].begin(),
                          log_[i].begin() + static_cast<std::ptrdiff_t>(tail.value - base_[i]));
            base_[i] = tail.value;
        }
    }

    void snapshot_installed(std::size_t i, const paxos::sim::sim_snapshot& s) {
        base_[i] = s.offer.slot.value;
        log_[i].clear();
    }

    struct delivery {
        time_us at = 0;
        std::uint64_t sequence = 0;
        std::size_t to = 0;
        message_buffer message{};
    };
    struct later {
        bool operator()(const delivery& a, const delivery& b) const noexcept {
            return a.at != b.at ? a.at > b.at : a.sequence > b.sequence;
        }
    };

    settings settings_;
    bool compaction_;
    harness_type cluster_;
    std::vector<std::vector<std::size_t>> log_;  // per node: commands per applied slot from base_
    std::uint64_t base_[3] = {};
    std::priority_queue<delivery, std::vector<delivery>, later> queue_;
    time_us link_free_[9] = {};
    time_us now_ = 0;
    time_us next_tick_ = 1'000;
    std::uint64_t sequence_ = 0;
    command command_ = 0;
    bool cut_ = false;
    bool counting_ = false;
    std::uint64_t chunk_bytes_ = 0;
    std::uint64_t chosen_bytes_ = 0;
    std::uint64_t other_bytes_ = 0;
};

void print(const char* name, const figures& f) {
    std::printf(
        "%-22s %s catch-up %9.3f ms, %11llu bytes to node 2 (%llu in snapshot chunks, "
        "%llu in chosen slots, %llu other), %llu install(s); leader commits %.0f slots/s "
        "before, %.0f during\n",
        name, f.ok ? "   " : "DID NOT", static_cast<double>(f.catch_up_us) / 1000.0,
        static_cast<unsigned long long>(f.chunk_bytes + f.chosen_bytes + f.other_bytes),
        static_cast<unsigned long long>(f.chunk_bytes),
        static_cast<unsigned long long>(f.chosen_bytes),
        static_cast<unsigned long long>(f.other_bytes), static_cast<unsigned long long>(f.installs),
        f.commits_before, f.commits_during);
}

}  // namespace

int main(int argc, char** argv) {
    settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        const std::uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
        if (arg == "--behind") {
            s.behind = v;
        } else if (arg == "--state-bytes") {
            s.state_bytes = v;
        } else if (arg == "--every") {
            s.every = v;
        } else {
            std::fprintf(stderr,
                         "usage: paxos_catch_up [--behind N] [--state-bytes N] [--every N]\n");
            return 2;
        }
    }
    if (s.behind == 0 || s.state_bytes < 8 || s.every == 0) return 2;
    std::printf(
        "node 2 behind by %llu slots of 16 commands; snapshots of %zu bytes every %llu "
        "slots\n",
        static_cast<unsigned long long>(s.behind), s.state_bytes,
        static_cast<unsigned long long>(s.every));
    const figures log_only = run(s, false).go();
    print("from the log", log_only);
    const figures snapshot = run(s, true).go();
    print("snapshot, then the log", snapshot);
    return log_only.ok && snapshot.ok ? 0 : 1;
}
