// paxos/sim/simulation.hpp: a deterministic simulation of a cluster of real
// replicas, in the manner of FoundationDB's simulator and TigerBeetle's VOPR.
//
// Everything runs in one thread on a virtual clock: the replicas (the real
// core, unchanged), their durable stores (storage::memory_store, which loses
// unsynced writes on a crash), the network (sim/network.hpp), closed-loop
// clients that retry until their command is chosen, and a nemesis that
// crashes and restarts nodes, cuts the network, isolates the leader and slows
// nodes down, and readers that issue linearizable reads (replica::read) at
// the leader. The driver of each replica is sim/harness.hpp, the README's
// ready loop shared by every simulation: persist, then send, then apply.
//
// A run has two phases. In the safety phase the nemesis and the network
// faults are on; the checkers (sim/checkers.hpp) watch every step. Then the
// run heals (every node up, no partition, no loss) and must reach liveness:
// every client command acknowledged and every replica caught up within a
// bound of simulated time. One seed gives one run, byte for byte, on every
// compiler: trace_hash() fingerprints it.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/replica.hpp"
#include "../storage/durable_state.hpp"
#include "../storage/memory_store.hpp"
#include "checkers.hpp"
#include "harness.hpp"
#include "network.hpp"

namespace paxos::inline v0::sim {

// What the nemesis may do, and how often (per nemesis step).
struct fault_profile {
    const char* name = "calm";
    time_us nemesis_interval_us = 20'000;
    std::uint32_t crash_permille = 0;      // crash a random up node
    std::uint32_t restart_permille = 0;    // restart a random down node
    std::uint32_t partition_permille = 0;  // split the cluster in two random halves
    std::uint32_t one_way_permille = 0;    // block one random link one way
    std::uint32_t isolate_leader_permille = 0;
    // Partial connectivity (OmniPaxos, EuroSys 2023), drawn in turn: quorum
    // loss (every link fails but a hub's, the hub not the leader), constrained
    // election (the same, the hub being the node furthest behind) and chained
    // (only the link between the leader and one follower fails, both ways).
    // Each pattern replaces the network's cuts; run_result says how long the
    // cluster took to commit again after each.
    std::uint32_t partial_permille = 0;
    std::uint32_t slow_permille = 0;      // make a random node slow
    std::uint32_t heal_permille = 0;      // heal partitions and slowness
    std::uint32_t loss_permille_max = 0;  // the run draws its loss rate up to this
    std::uint32_t duplicate_permille_max = 0;
    std::uint32_t hold_permille = 0;  // hold a message up to hold_us_max (network_faults)
    time_us hold_us_max = 0;
    std::uint32_t tick_skew_permille_max = 0;  // per-node tick period skew
    // Clocks as far apart as the bound allows, worst for the leader's lease:
    // the leader's ticks slow to the longest period the skew bound allows,
    // every other node's run at the nominal period (Jepsen's clock nemesis,
    // within the bound the lease assumes).
    std::uint32_t slow_leader_clock_permille = 0;
    // Every node but the leader crashes and restarts at once (a careless
    // rolling restart): what an acceptor granted before it is forgotten.
    std::uint32_t bounce_followers_permille = 0;
    bool long_tail_latency = false;
    // Compaction (configs with a snapshot transfer): every node saves its
    // state machine once it has applied this many slots past its last
    // snapshot, and compacts its log to it, so a node that falls behind, or
    // restarts with a store older than the others' logs, must install a
    // snapshot. The snapshot carries snapshot_padding_bytes beside the
    // state, so it takes several chunks.
    std::uint64_t compact_every_slots = 0;
    std::size_t snapshot_padding_bytes = 0;
};

struct run_options {
    std::size_t nodes = 3;
    std::uint64_t seed = 1;
    fault_profile faults{};
    time_us tick_us = 1'000;                // one tick of every replica, nominally
    time_us safety_phase_us = 2'000'000;    // faults on
    time_us liveness_bound_us = 3'000'000;  // after healing, everything done within this
    std::size_t clients = 3;
    std::uint64_t commands_per_client = 40;
    time_us client_think_us = 3'000;
    time_us client_retry_us = 60'000;
    // Readers: closed-loop clients of replica::read, each doing
    // reads_per_reader reads at the node it believes leads (configs with a
    // stable leader; a leader-free policy elects one only for writes). Each
    // read served is checked by the linearizable-read checker.
    std::size_t readers = 0;
    std::uint64_t reads_per_reader = 40;
    time_us reader_think_us = 2'000;
    // The leader lease (replica::options::lease_ticks, core/lease.hpp): 0
    // off. The drift bound must cover the profile's tick skew
    // (tick_skew_permille_max); run() refuses one that does not.
    std::uint32_t lease_ticks = 0;
    std::uint32_t lease_drift_permille = 300;
    // Check-quorum (replica::options::check_quorum): unset, even seeds run
    // it and odd seeds do not, so a swarm covers both.
    std::optional<bool> check_quorum;
    std::size_t trace_events = 64;  // how many recent events a failure report shows
    time_us sync_us_max = 400;      // a sync takes 1 .. this many microseconds
    // Planted driver fault, for the checker's own test: node 0 sends each
    // batch's messages before persisting it.
    bool plant_send_before_persist = false;
    // Planted fault for the proposal-tags check: the driver ignores the
    // tags a ready batch reports dropped, as if they never came back.
    bool plant_ignore_dropped_tags = false;
    // Planted fault for the state-digest check: a snapshot through slot s - 1
    // carries the state through s - 2 (the last slot is left out).
    bool plant_snapshot_misses_slot = false;
    // Planted fault (tests/planted): the log's snapshot marker goes one slot
    // past the snapshot, releasing a slot the state machine never applied.
    bool plant_marker_past_snapshot = false;
    // Planted driver fault for the linearizable-read check: confirmed reads
    // are served before the batch's chosen entries are applied.
    bool plant_read_before_apply = false;
};

struct run_result {
    bool ok = true;
    std::optional<violation> failure;
    std::uint64_t trace_hash = 0;
    std::uint64_t commands_acknowledged = 0;
    std::uint64_t slots_chosen = 0;
    std::uint64_t messages_sent = 0;
    std::uint64_t crashes = 0;
    // Leaders that learned from a repeated chosen message (zero ballot) that
    // a newer leader had chosen a slot, and stepped down (issue 15, sequence 1).
    std::uint64_t leaders_deposed_by_repeat = 0;
    std::uint64_t snapshots_taken = 0;
    std::uint64_t snapshots_installed = 0;
    std::uint64_t snapshot_bytes_sent = 0;
    // Reads answered to their reader, reads handed back by a leader that
    // stepped down, and read rounds (heartbeats carrying one) sent.
    std::uint64_t reads_served = 0;
    std::uint64_t reads_dropped = 0;
    std::uint64_t read_rounds = 0;
    // Of the reads served, those answered within the input that took them
    // (a lease, or a leader whose vote alone is a phase-2 quorum: no
    // message), and the total time from read() to the answer.
    std::uint64_t reads_at_once = 0;
    time_us read_latency_total_us = 0;
    // Per partial-connectivity pattern (quorum loss, constrained, chained):
    // how many were installed while a command waited, how many saw a commit
    // before the next nemesis change, and the longest wait for that commit.
    std::array<std::uint64_t, 3> partial_patterns{};
    std::array<std::uint64_t, 3> partial_recovered{};
    std::array<time_us, 3> partial_recovery_max_us{};
    time_us healed_at = 0;
    time_us finished_at = 0;
    std::vector<std::string> trace;  // the last events, oldest first (on failure)
};

template <class Config>
class simulation {
    static_assert(std::is_same_v<typename Config::value_type, command>,
                  "simulation: the config's value_type must be paxos::sim::command "
                  "(std::uint64_t), so the checkers can tell commands apart");

public:
    using replica_type = replica<Config>;
    using message_type = typename replica_type::message_type;
    using message_buffer = typename replica_type::message_buffer;
    using ready_type = typename replica_type::ready_type;
    using store_type = storage::memory_store<Config>;
    using ballot_type = typename Config::ballot;
    using leader_type = typename Config::leader;
    using harness_type = harness<Config, simulation>;
    friend harness_type;

    explicit simulation(const run_options& opts)
        : options_(opts),
          rng_(opts.seed),
          network_(opts.nodes),
          cluster_(*this, opts.nodes, harness_options_for(opts)) {
        PAXOS_ASSERT(opts.nodes >= 1 && opts.nodes <= Config::max_nodes);
        const fault_profile& f = opts.faults;
        network_.faults.loss_permille = draw_up_to(f.loss_permille_max);
        network_.faults.duplicate_permille = draw_up_to(f.duplicate_permille_max);
        network_.faults.hold_permille = f.hold_permille;
        network_.faults.hold_us_max = f.hold_us_max;
        if (f.long_tail_latency) {
            network_.latency = {latency_model::shape::long_tail, 300, 1'500, 50, 40'000};
        } else {
            network_.latency = {latency_model::shape::uniform, 300, rng_.between(600, 3'000)};
        }
        nodes_.resize(opts.nodes);
        for (std::size_t i = 0; i < opts.nodes; ++i) {
            node& n = nodes_[i];
            cluster_[i].replica = make_replica(i);
            const std::uint32_t skew = draw_up_to(f.tick_skew_permille_max);
            n.tick_period = opts.tick_us + opts.tick_us * skew / 1000;
            n.next_tick = rng_.between(0, opts.tick_us);
        }
        readers_.resize(reads_enabled ? opts.readers : 0);
        for (std::size_t k = 0; k < readers_.size(); ++k) {
            readers_[k].next_action = rng_.between(0, opts.reader_think_us);
            readers_[k].target = k % opts.nodes;
        }
        clients_.resize(opts.clients);
        for (std::size_t c = 0; c < opts.clients; ++c) {
            clients_[c].next_action = rng_.between(0, opts.client_think_us);
            clients_[c].target = c % opts.nodes;
        }
        next_nemesis_ = f.nemesis_interval_us;
    }

    // Runs both phases and returns what happened.
    run_result run() {
        run_result out;
        const time_us safety_end = options_.safety_phase_us;
        while (!checks_.first_violation() && step_until(safety_end)) {
        }
        if (!checks_.first_violation()) heal();
        out.healed_at = now_;
        const time_us deadline = now_ + options_.liveness_bound_us;
        while (!checks_.first_violation() && !settled() && step_until(deadline)) {
        }
        if (!checks_.first_violation() && !settled()) {
            checks_.fail(check::liveness, now_, liveness_report());
        }
        if (!checks_.first_violation()) {
            for (std::size_t i = 0; i < nodes_.size(); ++i) {
                checks_.check_durability(now_, i, nodes_[i].log, nodes_[i].base);
            }
        }
        if (!checks_.first_violation() && settled()) check_every_tag_returned();
        out.failure = checks_.first_violation();
        out.ok = !out.failure.has_value();
        out.trace_hash = hash_;
        out.commands_acknowledged = checks_.acknowledged();
        out.slots_chosen = checks_.chosen_slots();
        out.messages_sent = network_.sent();
        out.crashes = crashes_;
        out.leaders_deposed_by_repeat = deposed_by_repeat_;
        out.snapshots_taken = snapshots_taken_;
        out.reads_served = reads_served_;
        out.reads_dropped = reads_dropped_;
        out.read_rounds = read_rounds_;
        out.reads_at_once = reads_at_once_;
        out.read_latency_total_us = read_latency_total_us_;
        out.partial_patterns = partial_patterns_;
        out.partial_recovered = partial_recovered_;
        out.partial_recovery_max_us = partial_recovery_max_us_;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            out.snapshots_installed += cluster_[i].snapshots_installed;
            out.snapshot_bytes_sent += cluster_[i].snapshot_bytes_sent;
        }
        out.finished_at = now_;
        if (!out.ok) out.trace = trace_lines();
        return out;
    }

    const checkers& checks() const noexcept { return checks_; }
    std::uint64_t trace_hash() const noexcept { return hash_; }

private:
    // What the simulator keeps per node beside the harness's replica, store
    // and inbox.
    struct node {
        std::uint32_t life = 0;  // restarts so far: a tag dies with the life that took it
        time_us tick_period = 1'000;
        time_us next_tick = 0;
        // The state machine: a digest of every slot applied so far (below
        // `base` it came from a snapshot), and the applied slots from `base`
        // on, which serve catch-up.
        std::uint64_t base = 0;
        std::uint64_t digest = digest_seed;
        std::uint64_t digest_before_last = digest_seed;  // for the planted fault
        std::vector<std::vector<command>> log;
        std::uint64_t applied_end() const noexcept { return base + log.size(); }
        // What this node's store has synced, as the persist-before-send check sees it.
        durable_view<ballot_type> synced;
    };

    // Reads need a leader that stays: with a leader-free policy one exists
    // only while writes are proposed.
    static constexpr bool reads_enabled =
        replica_type::reads_max != 0 && !leader_type::followers_propose;

    struct reader {
        std::uint64_t completed = 0;
        bool waiting = false;  // a read is outstanding
        bool done = false;
        std::size_t target = 0;
        time_us next_action = 0;
        std::uint64_t floor = 0;  // what it must see (checkers::read_floor at its start)
        read_tag attempt = 0;     // the tag of its latest attempt
        bool timed_out = false;   // its node took the last attempt and never answered
    };

    struct client {
        std::uint64_t sequence = 0;  // commands issued so far
        bool waiting = false;        // a command is outstanding
        bool done = false;
        command current = 0;
        std::size_t target = 0;
        time_us next_action = 0;
        time_us sent_at = 0;
        bool timed_out = false;  // its node took the last attempt and never answered
    };

    enum class event_kind : std::uint8_t {
        deliver,
        send,
        drop,
        persist,
        apply,
        propose,
        read,
        crash,
        restart,
        partition,
        heal,
        slow,
        tick_phase1,
        install,
    };

    struct event {
        time_us at = 0;
        event_kind kind = event_kind::deliver;
        std::uint16_t node = 0;
        std::uint16_t peer = 0;
        std::uint8_t message = 0;
        std::uint64_t slot = 0;
        std::uint64_t ballot = 0;
        std::uint64_t detail = 0;
    };

    // ---- the event loop ---------------------------------------------------------

    // Runs the next event if it is due before `end`; false when none is.
    bool step_until(time_us end) {
        time_us next = end;
        int which = -1;  // 0 network, 1 tick, 2 client, 3 nemesis
        std::size_t index = 0;
        if (network_.has_next() && network_.next_time() < next) {
            next = network_.next_time();
            which = 0;
        }
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (cluster_[i].up && nodes_[i].next_tick < next) {
                next = nodes_[i].next_tick;
                which = 1;
                index = i;
            }
            if (cluster_[i].up && cluster_[i].busy() && cluster_[i].sync_done < next) {
                next = cluster_[i].sync_done;
                which = 4;
                index = i;
            }
        }
        for (std::size_t c = 0; c < clients_.size(); ++c) {
            if (!clients_[c].done && clients_[c].next_action < next) {
                next = clients_[c].next_action;
                which = 2;
                index = c;
            }
        }
        for (std::size_t k = 0; k < readers_.size(); ++k) {
            if (!readers_[k].done && readers_[k].next_action < next) {
                next = readers_[k].next_action;
                which = 5;
                index = k;
            }
        }
        if (!healed_ && next_nemesis_ < next) {
            next = next_nemesis_;
            which = 3;
        }
        if (which < 0) {
            now_ = end;
            return false;
        }
        now_ = next;
        switch (which) {
            case 0: deliver(network_.pop()); break;
            case 1: tick(index); break;
            case 2: client_action(index); break;
            case 4: synced(index); break;
            case 5: reader_action(index); break;
            default: nemesis(); break;
        }
        return true;
    }

    void deliver(const typename network<message_buffer>::delivery& d) {
        const std::size_t i = d.to.value;
        if (!cluster_[i].up) {
            record({now_, event_kind::drop, d.to.value, d.from.value, kind_of(d.message),
                    d.message.slot.value, raw(d.message.ballot), 0});
            return;
        }
        if (cluster_.hold_if_busy(i, d.message)) return;  // busy with its disk: it waits
        record({now_, event_kind::deliver, d.to.value, d.from.value, kind_of(d.message),
                d.message.slot.value, raw(d.message.ballot), 0});
        replica_type& r = cluster_.replica_at(i);
        const bool was_leader = r.is_leader();
        (void)r.step(d.message);
        if (was_leader && !r.is_leader() && d.message.kind == message_kind::chosen &&
            d.message.ballot.is_zero()) {
            ++deposed_by_repeat_;
        }
        cluster_.drain(i);
    }

    void tick(std::size_t i) {
        node& n = nodes_[i];
        n.next_tick = now_ + n.tick_period;
        if (cluster_.owe_tick_if_busy(i)) return;
        replica_type& r = cluster_.replica_at(i);
        const role before = r.current_role();
        (void)r.tick();
        if (before != role::candidate && r.current_role() == role::candidate) {
            record({now_, event_kind::tick_phase1, static_cast<std::uint16_t>(i), 0, 0, 0,
                    raw(r.ballot()), 0});
        }
        cluster_.drain(i);
    }

    void drain(std::size_t i) { cluster_.drain(i); }
    void synced(std::size_t i) { cluster_.synced(i); }

    // ---- the harness's driver hooks (sim/harness.hpp) ------------------------------
    //
    // send_now leaves at once and the chosen entries are applied; the batch
    // is written to the store's page cache; if it needs a sync, the node is
    // busy until the sync is done (sync_us_max), and a crash meanwhile loses
    // what was not synced. Only then do send_after_sync and advance() follow.

    static harness_options harness_options_for(const run_options& opts) {
        harness_options h{};
        h.apply = apply_point::with_send_now;
        if (opts.plant_send_before_persist) h.sends_before_persist.insert(node_id{0});
        h.marker_past_snapshot = opts.plant_marker_past_snapshot;
        h.reads_before_apply = opts.plant_read_before_apply;
        h.ticks_first = opts.lease_ticks != 0;
        // The lease's clock assumption must hold for the clocks simulated.
        PAXOS_ASSERT(opts.lease_ticks == 0 ||
                     opts.lease_drift_permille >= opts.faults.tick_skew_permille_max);
        return h;
    }

    time_us sync_done_at(std::size_t) { return now_ + rng_.between(1, options_.sync_us_max); }

    void storage_failed(std::size_t i) { crash(i, store_type::crash_mode::lose_unsynced); }

    void replayed(std::size_t i, const message_buffer& m) {
        record({now_, event_kind::deliver, static_cast<std::uint16_t>(i), m.from.value, kind_of(m),
                m.slot.value, raw(m.ballot), 0});
    }

    // Between batches: a node that applied compact_every_slots past its
    // last snapshot saves a new one.
    void drained(std::size_t i) {
        if constexpr (harness_type::transfers) {
            const std::uint64_t every = options_.faults.compact_every_slots;
            node& n = nodes_[i];
            if (every == 0 || !cluster_[i].up || cluster_[i].busy()) return;
            const std::uint64_t end = n.applied_end();
            if (end < cluster_[i].saved.offer.slot.value + every || end == 0) return;
            if (cluster_.replica_at(i).applied_end().value != end) return;
            std::uint64_t digest = n.digest;
            if (options_.plant_snapshot_misses_slot && !n.log.empty()) {
                digest = n.digest_before_last;
            }
            const result r = cluster_.save_snapshot(i, slot_id{end}, encode_snapshot(end, digest));
            if (!r.ok()) return;
            ++snapshots_taken_;
            n.log.erase(n.log.begin(), n.log.begin() + static_cast<std::ptrdiff_t>(end - n.base));
            n.base = end;
        } else {
            (void)i;
        }
    }

    // ---- snapshots ----------------------------------------------------------------

    static constexpr std::uint64_t digest_seed = 0xCBF29CE484222325ull;

    // The state machine's digest after applying `values` at `slot`.
    static std::uint64_t mix(std::uint64_t digest, std::uint64_t slot,
                             std::span<const command> values) {
        auto fold = [&](std::uint64_t x) {
            for (int b = 0; b < 8; ++b) {
                digest ^= (x >> (8 * b)) & 0xFF;
                digest *= 0x100000001B3ull;
            }
        };
        fold(slot);
        fold(values.size());
        for (command c : values) fold(c);
        return digest;
    }

    // A snapshot's bytes: its slot and digest, then padding that depends on
    // the digest (so a chunk from another snapshot cannot pass for one).
    std::vector<std::byte> encode_snapshot(std::uint64_t slot, std::uint64_t digest) const {
        std::vector<std::byte> out(16 + options_.faults.snapshot_padding_bytes);
        for (int b = 0; b < 8; ++b) {
            out[static_cast<std::size_t>(b)] = static_cast<std::byte>(slot >> (8 * b));
            out[static_cast<std::size_t>(8 + b)] = static_cast<std::byte>(digest >> (8 * b));
        }
        for (std::size_t k = 16; k < out.size(); ++k) {
            out[k] = static_cast<std::byte>((digest >> (8 * (k % 8))) ^ k);
        }
        return out;
    }

    // Reads a snapshot back; false if it is not one of encode_snapshot's.
    static bool decode_snapshot(const sim_snapshot& s, std::uint64_t& slot, std::uint64_t& digest) {
        if (s.bytes.size() < 16) return false;
        slot = digest = 0;
        for (int b = 0; b < 8; ++b) {
            slot |= std::to_integer<std::uint64_t>(s.bytes[static_cast<std::size_t>(b)]) << (8 * b);
            digest |= std::to_integer<std::uint64_t>(s.bytes[static_cast<std::size_t>(8 + b)])
                      << (8 * b);
        }
        for (std::size_t k = 16; k < s.bytes.size(); ++k) {
            if (s.bytes[k] != static_cast<std::byte>((digest >> (8 * (k % 8))) ^ k)) return false;
        }
        return slot == s.offer.slot.value;
    }

    // The state machine takes a snapshot's state: the harness installed it
    // on the replica (sim/harness.hpp) and will record the log's marker.
    void snapshot_installed(std::size_t i, const sim_snapshot& s) {
        std::uint64_t slot = 0;
        std::uint64_t digest = 0;
        if (!decode_snapshot(s, slot, digest)) {
            checks_.fail(check::state_digest, now_,
                         "node " + std::to_string(i) + " installed a snapshot it cannot read");
            return;
        }
        load_state(i, slot, digest);
        record({now_, event_kind::install, static_cast<std::uint16_t>(i), 0, 0, slot, 0, digest});
    }

    void load_state(std::size_t i, std::uint64_t slot, std::uint64_t digest) {
        node& n = nodes_[i];
        n.base = slot;
        n.digest = n.digest_before_last = digest;
        n.log.clear();
        checks_.on_restart(i, slot);
        checks_.on_state(now_, i, slot, digest);
    }

    // memory_store::snapshot() rewrites the synced records: the checkers
    // read all of them first, and only what is added after.
    void before_compaction(std::size_t i) { absorb_synced(i); }
    void after_compaction(std::size_t i) {
        nodes_[i].synced.skip_to(cluster_[i].store.synced().size());
    }

    // The batch is durable: the checkers read what the store synced.
    void durable(std::size_t i, const ready_type& rd) {
        record({now_, event_kind::persist, static_cast<std::uint16_t>(i), 0,
                static_cast<std::uint8_t>(rd.accepted.size()),
                cluster_.replica_at(i).chosen_end().value, raw(rd.promised),
                rd.sync_needed ? 1u : 0u});
        absorb_synced(i);
        for (const auto& v : rd.accepted) tally_.on_vote(i, v.slot.value, raw(v.ballot), v.values);
    }

    void before_send(std::size_t i, const message_type& m) {
        nodes_[i].synced.check_backed(checks_, now_, i, m);
        if (m.kind == message_kind::heartbeat && m.slot.value != 0) ++read_rounds_;
    }

    void transmit(std::size_t from, std::size_t to, const message_buffer& copy) {
        const bool delivered =
            network_.send(now_, node_id{static_cast<std::uint16_t>(from)}, copy.to, copy, rng_);
        record({now_, delivered ? event_kind::send : event_kind::drop,
                static_cast<std::uint16_t>(from), static_cast<std::uint16_t>(to), kind_of(copy),
                copy.slot.value, raw(copy.ballot), 0});
    }

    void apply(std::size_t i, const chosen_entry<command>& e) {
        const std::uint64_t slot = e.slot.value;
        const std::span<const command> values = e.values;
        node& n = nodes_[i];
        tally_.check_learned(checks_, now_, i, slot, values, cluster_.replica_at(i).quorum());
        checks_.on_applied(now_, i, slot, values);
        note_commit();
        if (slot == n.applied_end()) {
            n.log.emplace_back(values.begin(), values.end());
            n.digest_before_last = n.digest;
            n.digest = mix(n.digest, slot, values);
            checks_.on_state(now_, i, slot + 1, n.digest);
        }
        record({now_, event_kind::apply, static_cast<std::uint16_t>(i), 0,
                static_cast<std::uint8_t>(values.size()), slot, 0, values.empty() ? 0 : values[0]});
        for (command c : values) acknowledge(c, slot);
        if (!e.tags.empty()) {
            if (e.tags.size() != values.size()) {
                checks_.fail(check::proposal_tags, now_,
                             "a chosen entry's tags do not match its commands");
                return;
            }
            for (std::size_t k = 0; k < values.size(); ++k) {
                if (!take_tag(i, e.tags[k], "chosen")) return;
                if (tags_[e.tags[k]].value != values[k]) {
                    checks_.fail(
                        check::proposal_tags, now_,
                        "tag " + std::to_string(e.tags[k]) + " came back with another command");
                    return;
                }
            }
        }
    }

    // ready_batch::dropped: each tag comes back once, to the node that took it.
    void dropped(std::size_t i, std::span<const dropped_proposal> tags) {
        if (options_.plant_ignore_dropped_tags) return;
        for (const dropped_proposal& d : tags) {
            if (!take_tag(i, d.tag, "dropped")) return;
        }
    }

    // ready_batch::reads: serve each from the state machine as it is now
    // (the harness calls this once the batch's chosen entries are applied)
    // and check it; reads_dropped: the reader retries.
    void reads(std::size_t i, std::span<const read_ready> confirmed,
               std::span<const read_tag> dropped) {
        for (const read_ready& c : confirmed) {
            if (!take_read_tag(i, c.tag, "confirmed")) return;
            const read_record& rec = read_tags_[c.tag];
            reader& rd = readers_[rec.reader];
            const bool answered = rd.waiting && rd.attempt == c.tag;
            const std::uint64_t seen = nodes_[i].applied_end();
            checks_.on_read(now_, i, rec.floor, seen, answered);
            record({now_, event_kind::read, static_cast<std::uint16_t>(i), 1, 0, c.slot.value, 0,
                    seen});
            if (!answered) continue;
            ++reads_served_;
            read_latency_total_us_ += now_ - rec.at;
            if (now_ == rec.at) ++reads_at_once_;
            rd.waiting = false;
            rd.timed_out = false;
            ++rd.completed;
            rd.next_action = now_ + rng_.between(1, options_.reader_think_us);
        }
        for (const read_tag t : dropped) {
            if (!take_read_tag(i, t, "dropped")) return;
            ++reads_dropped_;
            reader& rd = readers_[read_tags_[t].reader];
            if (!rd.waiting || rd.attempt != t) continue;
            rd.timed_out = false;
            const node_id hint = cluster_.replica_at(i).leader();
            rd.target = hint.value < nodes_.size() ? hint.value : (i + 1) % nodes_.size();
            rd.next_action = now_ + options_.client_think_us;
        }
    }

    // A read's tag comes back to node i: one i took in this life, once.
    bool take_read_tag(std::size_t i, read_tag t, const char* how) {
        if (t >= read_tags_.size() || read_tags_[t].node != i ||
            read_tags_[t].life != nodes_[i].life || read_tags_[t].returned) {
            std::string what = "read ";
            what += std::to_string(t);
            what += " came back ";
            what += how;
            what += t < read_tags_.size() && read_tags_[t].returned
                        ? " a second time"
                        : " to a node that did not take it";
            checks_.fail(check::linearizable_read, now_, std::move(what));
            return false;
        }
        read_tags_[t].returned = true;
        return true;
    }

    // Slots the replica released from its window, served from the log.
    void serve_catch_up(std::size_t self, const catch_up_request& c) {
        node& n = nodes_[self];
        replica_type& r = cluster_.replica_at(self);
        const std::uint64_t from_slot = c.from.value;
        const std::uint64_t end = std::min<std::uint64_t>(r.window_base().value, n.applied_end());
        for (std::uint64_t s = std::max(from_slot, n.base);
             s < end && s < from_slot + Config::window_slots; ++s) {
            cluster_.fan_out(self, r.chosen_message_for(c.peer, slot_id{s}, n.log[s - n.base]));
        }
    }

    void absorb_synced(std::size_t i) {
        nodes_[i].synced.absorb(checks_, now_, i, cluster_[i].store.synced());
    }

    // A tag comes back to node i: it must be one i took in this life, once.
    bool take_tag(std::size_t i, proposal_tag t, const char* how) {
        if (t >= tags_.size() || tags_[t].node != i || tags_[t].life != nodes_[i].life ||
            tags_[t].returned) {
            std::string what = "tag ";
            what += std::to_string(t);
            what += " came back ";
            what += how;
            what += t < tags_.size() && tags_[t].returned ? " a second time"
                                                          : " to a node that did not take it";
            checks_.fail(check::proposal_tags, now_, std::move(what));
            return false;
        }
        tags_[t].returned = true;
        return true;
    }

    // Settled: every slot is chosen and applied everywhere, so each tag a
    // live node took in this life has come back, unless the node holds a
    // vote past the chosen log: a deposed leader's proposal in a slot no
    // later leader has reached, which a future leader may still adopt.
    // (Commands queued at a follower by a leader-free policy may also wait.)
    void check_every_tag_returned() {
        if constexpr (!leader_type::followers_propose) {
            for (std::size_t t = 0; t < tags_.size(); ++t) {
                const tag_record& r = tags_[t];
                if (r.returned || r.life != nodes_[r.node].life || !cluster_[r.node].up) continue;
                if (holds_vote_past_log(r.node)) continue;
                std::string what = "tag ";
                what += std::to_string(t);
                what += " (taken by node ";
                what += std::to_string(r.node);
                what += ") never came back";
                checks_.fail(check::proposal_tags, now_, std::move(what));
                return;
            }
        }
    }

    bool holds_vote_past_log(std::size_t i) {
        const replica_type& rep = cluster_.replica_at(i);
        for (std::size_t k = 0; k < Config::window_slots; ++k) {
            if (rep.vote(slot_id{rep.chosen_end().value + k})) return true;
        }
        return false;
    }

    // ---- crash and restart ----------------------------------------------------------

    void crash(std::size_t i, typename store_type::crash_mode mode) {
        if (!cluster_[i].up) return;
        ++crashes_;
        ++nodes_[i].life;  // the tags it held die with it
        cluster_.crash(i, mode, rng_.next());
        record({now_, event_kind::crash, static_cast<std::uint16_t>(i), 0,
                static_cast<std::uint8_t>(mode), 0, 0, 0});
    }

    void restart(std::size_t i) {
        node& n = nodes_[i];
        if (cluster_[i].up) return;
        // The newest snapshot, then the log after it.
        std::uint64_t slot = 0;
        std::uint64_t digest = digest_seed;
        if (!cluster_[i].saved.empty() && !decode_snapshot(cluster_[i].saved, slot, digest)) {
            checks_.fail(check::state_digest, now_,
                         "node " + std::to_string(i) + " cannot read its own snapshot");
            return;
        }
        load_state(i, slot, digest);
        storage::status st = storage::status::ok;
        const result res = cluster_.restart(
            i, make_replica(i),
            [&](slot_id s, std::span<const command> values) {
                checks_.on_applied(now_, i, s.value, values);
                n.log.emplace_back(values.begin(), values.end());
                n.digest_before_last = n.digest;
                n.digest = mix(n.digest, s.value, values);
                checks_.on_state(now_, i, s.value + 1, n.digest);
            },
            &st);
        if (st != storage::status::ok) {
            checks_.fail(check::durability, now_,
                         "node " + std::to_string(i) + " could not recover its store");
            return;
        }
        if (!res.ok()) {
            checks_.fail(check::durability, now_,
                         "node " + std::to_string(i) +
                             " refused its recovered state: " + to_string(res.code));
            return;
        }
        absorb_synced(i);  // what the crash kept (the view is never reset: see after_compaction)
        n.next_tick = now_ + rng_.between(1, n.tick_period);
        record({now_, event_kind::restart, static_cast<std::uint16_t>(i), 0, 0, n.applied_end(),
                raw(cluster_.promised_at_restart()), 0});
    }

    std::unique_ptr<replica_type> make_replica(std::size_t i) {
        typename replica_type::options o{};
        o.self = node_id{static_cast<std::uint16_t>(i)};
        o.seed = rng_.next();
        // Even seeds run check-quorum (the default), odd seeds without it, so
        // the swarm covers both: a stale leader then stays until a newer
        // leader's chosen slot reaches it (stale_leaders_deposed).
        o.check_quorum = options_.check_quorum.value_or((options_.seed & 1) == 0);
        if constexpr (replica_type::reads_max != 0) {
            o.lease_ticks = options_.lease_ticks;
            o.lease_drift_permille = options_.lease_drift_permille;
        }
        return std::make_unique<replica_type>(o);
    }

    // ---- clients --------------------------------------------------------------------

    void client_action(std::size_t c) {
        client& cl = clients_[c];
        if (!cl.waiting) {
            if (cl.sequence == options_.commands_per_client) {
                cl.done = true;
                return;
            }
            cl.current = (static_cast<command>(c + 1) << 32) | ++cl.sequence;
            checks_.on_proposed(cl.current);
            cl.waiting = true;
            cl.timed_out = false;
        }
        // A node that took the command and never answered may be a deposed
        // leader cut off from the rest: try the next one.
        if (cl.timed_out) cl.target = (cl.target + 1) % nodes_.size();
        cl.timed_out = false;
        // (Re)submit the outstanding command to the node we think leads.
        const auto& n = cluster_[cl.target];
        cl.next_action = now_ + options_.client_retry_us;
        if (!n.up) {
            cl.target = (cl.target + 1) % nodes_.size();
            cl.next_action = now_ + options_.client_think_us;
            return;
        }
        if (n.busy()) {  // busy with its disk: try again once it is done
            cl.next_action = n.sync_done + 1;
            return;
        }
        // Every attempt is a proposal of its own, with a tag of its own.
        const proposal_tag tag = tags_.size();
        tags_.push_back(tag_record{cl.target, nodes_[cl.target].life, cl.current, false});
        const result res = n.replica->propose(cl.current, tag);
        if (res.code != reason::ok) tags_.back().returned = true;  // not taken: never comes back
        record({now_, event_kind::propose, static_cast<std::uint16_t>(cl.target), 0,
                static_cast<std::uint8_t>(res.code), 0, 0, cl.current});
        drain(cl.target);
        switch (res.code) {
            case reason::ok: cl.timed_out = cl.waiting; break;
            case reason::already_chosen: finish_decided(cl); break;
            case reason::not_leader:
                cl.target = res.leader != node_id::none() && res.leader.value < nodes_.size()
                                ? res.leader.value
                                : (cl.target + 1) % nodes_.size();
                cl.next_action = now_ + options_.client_think_us;
                break;
            default: cl.next_action = now_ + options_.client_think_us; break;
        }
    }

    void reader_action(std::size_t k) {
        if constexpr (reads_enabled) {
            reader& rd = readers_[k];
            if (!rd.waiting) {
                if (rd.completed == options_.reads_per_reader) {
                    rd.done = true;
                    return;
                }
                rd.waiting = true;
                rd.floor = checks_.read_floor();  // fixed when the read begins
                rd.timed_out = false;
            }
            if (rd.timed_out) rd.target = (rd.target + 1) % nodes_.size();
            rd.timed_out = false;
            const auto& n = cluster_[rd.target];
            rd.next_action = now_ + options_.client_retry_us;
            if (!n.up) {
                rd.target = (rd.target + 1) % nodes_.size();
                rd.next_action = now_ + options_.client_think_us;
                return;
            }
            if (n.busy()) {
                rd.next_action = n.sync_done + 1;
                return;
            }
            // Every attempt is a read of its own (a retry after a timeout
            // keeps the floor of the read's start).
            const read_tag tag = read_tags_.size();
            read_tags_.push_back(
                read_record{rd.target, nodes_[rd.target].life, k, rd.floor, false, now_});
            rd.attempt = tag;
            const std::size_t at = rd.target;
            const result res = n.replica->read(tag);
            if (res.code != reason::ok) read_tags_.back().returned = true;
            record({now_, event_kind::read, static_cast<std::uint16_t>(at), 0,
                    static_cast<std::uint8_t>(res.code), 0, 0, rd.floor});
            if (res.code != reason::ok) {
                rd.target = res.leader != node_id::none() && res.leader.value < nodes_.size()
                                ? res.leader.value
                                : (rd.target + 1) % nodes_.size();
                rd.next_action = now_ + options_.client_think_us;
            }
            rd.timed_out = res.code == reason::ok;
            drain(at);  // may serve it at once (and clear timed_out)
        } else {
            readers_[k].done = true;
        }
    }

    // Single decree: another command won the instance; this client is done.
    void finish_decided(client& cl) {
        cl.waiting = false;
        cl.done = true;
    }

    void acknowledge(command c, std::uint64_t slot) {
        const std::size_t owner = static_cast<std::size_t>(c >> 32);
        if (owner == 0 || owner > clients_.size()) return;
        client& cl = clients_[owner - 1];
        if (!cl.waiting || cl.current != c) return;
        checks_.on_acknowledged(c, slot);
        cl.waiting = false;
        cl.next_action = now_ + rng_.between(1, options_.client_think_us);
        if constexpr (Config::single_decree) cl.done = true;
    }

    // ---- the nemesis -------------------------------------------------------------------

    void nemesis() {
        const fault_profile& f = options_.faults;
        next_nemesis_ = now_ + f.nemesis_interval_us;
        const std::size_t count = nodes_.size();
        if (roll(f.crash_permille)) {
            const std::size_t victim = rng_.below(count);
            // Keep a phase-2 quorum's worth alive most of the time; crashing
            // more is allowed, it only pauses progress.
            crash(victim, static_cast<typename store_type::crash_mode>(rng_.below(3)));
        }
        if (roll(f.restart_permille)) {
            for (std::size_t k = 0; k < count; ++k) {
                const std::size_t i = (k + rng_.below(count)) % count;
                if (!cluster_[i].up) {
                    restart(i);
                    break;
                }
            }
        }
        if (roll(f.partition_permille)) {
            pattern_ = -1;
            node_set side{};
            for (std::size_t i = 0; i < count; ++i) {
                if (rng_.below(2) == 0) side.insert(node_id{static_cast<std::uint16_t>(i)});
            }
            network_.partition(side, side.complement(count));
            record({now_, event_kind::partition, 0, 0, 0, side.mask(), 0, 0});
        }
        if (roll(f.one_way_permille)) {
            pattern_ = -1;
            const auto a = static_cast<std::uint16_t>(rng_.below(count));
            const auto b = static_cast<std::uint16_t>(rng_.below(count));
            if (a != b) network_.block(node_id{a}, node_id{b});
            record({now_, event_kind::partition, a, b, 1, 0, 0, 0});
        }
        if (roll(f.isolate_leader_permille)) {
            pattern_ = -1;
            for (std::size_t i = 0; i < count; ++i) {
                if (cluster_[i].up && cluster_[i].replica->is_leader()) {
                    network_.isolate(node_id{static_cast<std::uint16_t>(i)});
                    record({now_, event_kind::partition, static_cast<std::uint16_t>(i), 0, 2, 0, 0,
                            0});
                    break;
                }
            }
        }
        if (roll(f.bounce_followers_permille)) {
            std::size_t leader = count;
            for (std::size_t i = 0; i < count; ++i) {
                if (cluster_[i].up && cluster_[i].replica->is_leader()) leader = i;
            }
            for (std::size_t i = 0; i < count && leader != count; ++i) {
                if (i == leader || !cluster_[i].up) continue;
                crash(i, static_cast<typename store_type::crash_mode>(rng_.below(3)));
                restart(i);
            }
        }
        if (roll(f.slow_leader_clock_permille)) {
            for (std::size_t i = 0; i < count; ++i) {
                if (cluster_[i].up && cluster_[i].replica->is_leader()) {
                    for (std::size_t j = 0; j < count; ++j) {
                        nodes_[j].tick_period =
                            options_.tick_us +
                            (j == i ? options_.tick_us * f.tick_skew_permille_max / 1000 : 0);
                    }
                    record({now_, event_kind::slow, static_cast<std::uint16_t>(i), 0, 1, 0, 0, 0});
                    break;
                }
            }
        }
        if (roll(f.slow_permille)) {
            const auto i = static_cast<std::uint16_t>(rng_.below(count));
            network_.slow(node_id{i}, rng_.between(5'000, 50'000));
            record({now_, event_kind::slow, i, 0, 0, 0, 0, 0});
        }
        if (roll(f.heal_permille)) {
            pattern_ = -1;  // a pattern still waiting for its commit ends unmeasured
            network_.heal();
            network_.unslow_all();
            record({now_, event_kind::heal, 0, 0, 0, 0, 0, 0});
        }
        // After the heal: a pattern lasts until the next nemesis step at least.
        if (roll(f.partial_permille)) partial_pattern();
    }

    // One partial-connectivity pattern, in turn: see fault_profile.
    void partial_pattern() {
        const std::size_t count = nodes_.size();
        std::size_t leader = count;
        for (std::size_t i = 0; i < count; ++i) {
            if (cluster_[i].up && cluster_[i].replica->is_leader()) leader = i;
        }
        if (leader == count || count < 3) return;
        const int kind = static_cast<int>(next_pattern_++ % 3);
        network_.heal();
        auto id = [](std::size_t i) { return node_id{static_cast<std::uint16_t>(i)}; };
        if (kind == 2) {
            std::size_t other = rng_.below(count - 1);
            if (other >= leader) ++other;
            network_.block(id(leader), id(other));
            network_.block(id(other), id(leader));
        } else {
            std::size_t hub = count;
            if (kind == 0) {
                hub = rng_.below(count - 1);
                if (hub >= leader) ++hub;
            } else {
                for (std::size_t i = 0; i < count; ++i) {
                    if (i != leader &&
                        (hub == count || nodes_[i].applied_end() < nodes_[hub].applied_end())) {
                        hub = i;
                    }
                }
            }
            for (std::size_t a = 0; a < count; ++a) {
                for (std::size_t b = 0; b < count; ++b) {
                    if (a != b && a != hub && b != hub) network_.block(id(a), id(b));
                }
            }
        }
        record({now_, event_kind::partition, static_cast<std::uint16_t>(leader), 0,
                static_cast<std::uint8_t>(3 + kind), 0, 0, 0});
        // Measured only while a client waits: otherwise nothing is there to commit.
        bool waiting = false;
        for (const client& cl : clients_) waiting = waiting || (cl.waiting && !cl.done);
        pattern_ = waiting ? kind : -1;
        pattern_at_ = now_;
        pattern_slots_ = checks_.chosen_slots();
        if (waiting) ++partial_patterns_[static_cast<std::size_t>(kind)];
    }

    // A slot newly chosen: the pattern under way, if any, has recovered.
    void note_commit() {
        if (pattern_ < 0 || checks_.chosen_slots() <= pattern_slots_) return;
        const auto k = static_cast<std::size_t>(pattern_);
        ++partial_recovered_[k];
        partial_recovery_max_us_[k] = std::max(partial_recovery_max_us_[k], now_ - pattern_at_);
        pattern_ = -1;
    }

    void heal() {
        pattern_ = -1;
        healed_ = true;
        network_.heal();
        network_.unslow_all();
        network_.faults = network_faults{};
        for (std::size_t i = 0; i < nodes_.size(); ++i) restart(i);
        record({now_, event_kind::heal, 1, 0, 0, 0, 0, 0});
        if constexpr (Config::single_decree) {
            // A replica that never heard of the instance learns it only when
            // asked: a reader asks every replica once (Phase 1 reports any
            // decision).
            for (std::size_t i = 0; i < nodes_.size(); ++i) {
                // A node whose sync is under way campaigns once it is done.
                if (nodes_[i].applied_end() == 0 && !cluster_.owe_campaign_if_busy(i)) {
                    (void)cluster_[i].replica->campaign();
                    drain(i);
                }
            }
        }
    }

    // Liveness reached: every client finished and every replica has the same
    // log, at least as long as every acknowledged slot.
    bool settled() const {
        for (const client& cl : clients_) {
            if (!cl.done) return false;
        }
        for (const reader& rd : readers_) {
            if (!rd.done) return false;
        }
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (!cluster_[i].up || nodes_[i].applied_end() != nodes_[0].applied_end()) return false;
        }
        return nodes_[0].applied_end() >= checks_.chosen_slots();
    }

    std::string liveness_report() const {
        std::string s = "not settled " + std::to_string(options_.liveness_bound_us / 1000) +
                        " ms after healing:";
        std::size_t open = 0;
        for (const client& cl : clients_) open += cl.done ? 0 : 1;
        for (const reader& rd : readers_) open += rd.done ? 0 : 1;
        // Appended piece by piece: `" " + std::to_string(...)` trips a false
        // -Wrestrict in g++ 12 at -O2 and above.
        s += ' ';
        s += std::to_string(open);
        s += " client(s) still waiting; logs";
        for (const node& n : nodes_) {
            s += ' ';
            s += std::to_string(n.applied_end());
        }
        return s;
    }

    // ---- trace --------------------------------------------------------------------------

    void record(const event& e) {
        // FNV-1a over the event's fields: a fingerprint of the whole run.
        const std::uint64_t fields[] = {e.at,      static_cast<std::uint64_t>(e.kind),
                                        e.node,    e.peer,
                                        e.message, e.slot,
                                        e.ballot,  e.detail};
        for (std::uint64_t f : fields) {
            for (int b = 0; b < 8; ++b) {
                hash_ ^= (f >> (8 * b)) & 0xFF;
                hash_ *= 0x100000001B3ull;
            }
        }
        if (options_.trace_events == 0) return;
        if (recent_.size() < options_.trace_events) {
            recent_.push_back(e);
        } else {
            recent_[recent_next_] = e;
        }
        recent_next_ = (recent_next_ + 1) % options_.trace_events;
    }

    std::vector<std::string> trace_lines() const {
        std::vector<std::string> lines;
        const std::size_t count = recent_.size();
        const std::size_t start = count < options_.trace_events ? 0 : recent_next_;
        for (std::size_t k = 0; k < count; ++k)
            lines.push_back(format(recent_[(start + k) % count]));
        return lines;
    }

    static std::string format(const event& e) {
        char buf[200];
        const auto kind = static_cast<message_kind>(e.message);
        const double ms = static_cast<double>(e.at) / 1000.0;
        switch (e.kind) {
            case event_kind::send:
            case event_kind::drop:
            case event_kind::deliver:
                std::snprintf(buf, sizeof buf, "%10.3f ms  %s %u %s %u: %s slot %llu ballot %llu",
                              ms,
                              e.kind == event_kind::deliver ? "deliver"
                              : e.kind == event_kind::send  ? "send   "
                                                            : "lost   ",
                              e.kind == event_kind::deliver ? e.peer : e.node, "->",
                              e.kind == event_kind::deliver ? e.node : e.peer, to_string(kind),
                              static_cast<unsigned long long>(e.slot),
                              static_cast<unsigned long long>(e.ballot));
                break;
            case event_kind::persist:
                std::snprintf(buf, sizeof buf,
                              "%10.3f ms  persist node %u: promise %llu, %u vote(s)%s", ms, e.node,
                              static_cast<unsigned long long>(e.ballot), e.message,
                              e.detail ? ", synced" : "");
                break;
            case event_kind::apply:
                std::snprintf(buf, sizeof buf, "%10.3f ms  apply   node %u: slot %llu (%u cmd)", ms,
                              e.node, static_cast<unsigned long long>(e.slot), e.message);
                break;
            case event_kind::propose:
                std::snprintf(buf, sizeof buf, "%10.3f ms  propose node %u: command %llu -> %s", ms,
                              e.node, static_cast<unsigned long long>(e.detail),
                              to_string(static_cast<reason>(e.message)));
                break;
            case event_kind::crash:
                std::snprintf(buf, sizeof buf, "%10.3f ms  crash   node %u (unsynced writes: %s)",
                              ms, e.node,
                              e.message == 0   ? "lost"
                              : e.message == 1 ? "a prefix kept"
                                               : "some kept");
                break;
            case event_kind::restart:
                std::snprintf(buf, sizeof buf,
                              "%10.3f ms  restart node %u: promise %llu, %llu slot(s) replayed", ms,
                              e.node, static_cast<unsigned long long>(e.ballot),
                              static_cast<unsigned long long>(e.slot));
                break;
            case event_kind::partition:
                std::snprintf(buf, sizeof buf, "%10.3f ms  network %s", ms,
                              e.message == 0   ? "partitioned in two"
                              : e.message == 1 ? "link blocked one way"
                              : e.message == 2 ? "isolated the leader"
                              : e.message == 3 ? "quorum loss: only a hub's links work"
                              : e.message == 4 ? "constrained: only the furthest behind's links"
                                               : "chained: the leader's link to one node cut");
                break;
            case event_kind::heal:
                std::snprintf(buf, sizeof buf, "%10.3f ms  %s", ms,
                              e.node ? "run healed: all nodes up, no faults" : "network healed");
                break;
            case event_kind::slow:
                std::snprintf(buf, sizeof buf, "%10.3f ms  node %u %s", ms, e.node,
                              e.message ? "leads, and its clock slowed to the bound (the others' "
                                          "run at the nominal rate)"
                                        : "slowed down");
                break;
            case event_kind::read:
                if (e.peer == 0) {
                    std::snprintf(buf, sizeof buf,
                                  "%10.3f ms  read    node %u: must see through slot %lld -> %s",
                                  ms, e.node, static_cast<long long>(e.detail) - 1,
                                  to_string(static_cast<reason>(e.message)));
                } else {
                    std::snprintf(buf, sizeof buf,
                                  "%10.3f ms  read    node %u: served at index %llu, state "
                                  "through slot %lld",
                                  ms, e.node, static_cast<unsigned long long>(e.slot),
                                  static_cast<long long>(e.detail) - 1);
                }
                break;
            case event_kind::install:
                std::snprintf(buf, sizeof buf,
                              "%10.3f ms  install node %u: snapshot through slot %llu", ms, e.node,
                              static_cast<unsigned long long>(e.slot) - 1);
                break;
            case event_kind::tick_phase1:
                std::snprintf(buf, sizeof buf, "%10.3f ms  node %u starts phase 1, ballot %llu", ms,
                              e.node, static_cast<unsigned long long>(e.ballot));
                break;
        }
        return buf;
    }

    // ---- helpers --------------------------------------------------------------------------

    bool roll(std::uint32_t permille) { return permille > 0 && rng_.below(1000) < permille; }
    std::uint32_t draw_up_to(std::uint32_t max) {
        return max == 0 ? 0 : static_cast<std::uint32_t>(rng_.below(max + 1));
    }
    static std::uint8_t kind_of(const message_type& m) { return static_cast<std::uint8_t>(m.kind); }
    static std::uint64_t raw(const ballot_type& b) { return ballot_bits(b); }

    run_options options_;
    prng rng_;
    network<message_buffer> network_;
    std::vector<node> nodes_;
    harness_type cluster_;
    std::vector<client> clients_;
    // Every proposal made, by tag (its index): who took it, in which life,
    // with which command, and whether its tag has come back.
    struct tag_record {
        std::size_t node = 0;
        std::uint32_t life = 0;
        command value = 0;
        bool returned = false;
    };
    std::vector<tag_record> tags_;
    std::vector<reader> readers_;
    // Every read attempt, by tag: who took it, in which life, for which
    // reader, what it must see, and whether its tag has come back.
    struct read_record {
        std::size_t node = 0;
        std::uint32_t life = 0;
        std::size_t reader = 0;
        std::uint64_t floor = 0;
        bool returned = false;
        time_us at = 0;  // when read() took it
    };
    std::vector<read_record> read_tags_;
    std::uint64_t reads_at_once_ = 0;
    time_us read_latency_total_us_ = 0;
    std::uint64_t reads_served_ = 0;
    std::uint64_t reads_dropped_ = 0;
    std::uint64_t read_rounds_ = 0;
    checkers checks_;
    time_us now_ = 0;
    time_us next_nemesis_ = 0;
    bool healed_ = false;
    std::uint64_t crashes_ = 0;
    std::uint64_t deposed_by_repeat_ = 0;
    std::uint64_t snapshots_taken_ = 0;
    // The partial-connectivity pattern waiting for a commit (-1: none).
    int pattern_ = -1;
    time_us pattern_at_ = 0;
    std::size_t pattern_slots_ = 0;
    std::uint64_t next_pattern_ = 0;
    std::array<std::uint64_t, 3> partial_patterns_{};
    std::array<std::uint64_t, 3> partial_recovered_{};
    std::array<time_us, 3> partial_recovery_max_us_{};
    std::uint64_t hash_ = 0xCBF29CE484222325ull;
    std::vector<event> recent_;
    std::size_t recent_next_ = 0;
    vote_tally tally_;  // every vote any node made durable
};

}  // namespace paxos::inline v0::sim
