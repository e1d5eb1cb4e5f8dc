// paxos/sim/harness.hpp: the one driver of a cluster of real replicas that
// every simulation builds on (the simulator, the quorum tool, the livelock
// experiment, the unit tests' cluster, the scenario runner, the fuzzer).
//
// It owns, per node, the replica, its memory store (storage/memory_store.hpp,
// which loses unsynced writes on a crash), the inbox of a node that is busy
// with its disk, and the ticks it owes; and it runs the ready contract of
// core/ready.hpp on each batch, the same way for every caller:
//
//   1. send_now leaves at once (each message checked against what is durable);
//   2. the durable part is written to the store's page cache; if the batch
//      needs a sync, the node is busy until the caller says the sync is done
//      (synced()), and takes no input meanwhile: messages wait in its inbox
//      and ticks are owed, both handed over, in order, once it is free; a
//      crash meanwhile loses the unsynced batch;
//   3. after the sync: the batch is reported durable, send_after_sync leaves,
//      catch-up requests are served, and advance() acknowledges the batch;
//   4. chosen entries are applied either with send_now or after the sync
//      (apply_point): both are allowed by ready.hpp, and each caller keeps the
//      one its figures were measured with.
//
// A message to node_id::broadcast() goes to every node of the batch's `peers`.
//
// harness_options choose the rest: whether batches are written to the store
// (a caller that never restarts a node from it may only model the cost), a
// sync that finishes at once (for callers with no clock), and a planted driver
// fault for the checkers' own tests (send_after_sync sent before the batch is
// durable).
//
// What differs between callers (the network, the clock, what a sync costs,
// which checks run, what "apply" means) comes from the Driver, a plain class
// with these members (private ones too, if it befriends the harness), called
// synchronously:
//
//   void transmit(std::size_t from, std::size_t to, const message_buffer& m);
//   void before_send(std::size_t from, const message_type& m);  // check it, trace it
//   void apply(std::size_t node, const chosen_entry<value_type>& e);
//   void durable(std::size_t node, const ready_type& rd);       // (2) is on disk
//   void serve_catch_up(std::size_t node, const catch_up_request& c);
//   time_us sync_done_at(std::size_t node);     // a sync starts now (unless instant)
//   void storage_failed(std::size_t node);                      // fail-stop
//   void replayed(std::size_t node, const message_buffer& m);   // from the inbox
//   void drained(std::size_t node);                             // after each drain
//
// and, optionally (detected with `requires`, as `dropped` is):
//
//   void dropped(std::size_t node, std::span<const dropped_proposal> tags);
//   void reads(std::size_t node, std::span<const read_ready> confirmed,
//              std::span<const read_tag> dropped);  // serve them: called once
//                                                   // the batch's chosen are applied
//   void before_compaction(std::size_t node);  // the store's records are about
//   void after_compaction(std::size_t node);   //   to be, and were, compacted
//   void snapshot_installed(std::size_t node, const sim_snapshot& s);  // load it
//
// Snapshots (configs with a snapshot transfer, core/snapshot_transfer.hpp):
// each node has a snapshot store beside its memory store, modelled here as
// the node driver uses the real one (node/driver.hpp). The driver saves its
// state machine with save_snapshot(); the harness offers it, writes the log's
// snapshot marker, then compacts the replica. It serves the chunks a batch
// asks for from the saved snapshot, appends the chunks it receives to the
// store's receive, and after advance() installs a complete one, then writes
// the marker. A crash keeps a completed receive (it was committed) and a
// prefix of a partial one; a restart resumes the partial one, and restores
// from the newest snapshot and the log after it.
//
// No virtual calls: the harness is a template over the driver, as the core is
// over its policies (TigerBeetle's ReplicaType(StateMachine, MessageBus,
// Storage) makes the same choice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "../assert.hpp"
#include "../core/replica.hpp"
#include "../detail/crc32c.hpp"
#include "../storage/durable_state.hpp"
#include "../storage/memory_store.hpp"
#include "network.hpp"

namespace paxos::inline v0::sim {

// When a batch's chosen entries reach the state machine (see ready.hpp:
// "at any time before advance()").
enum class apply_point : std::uint8_t {
    with_send_now,  // at once, while the batch's sync is under way
    after_sync,     // with send_after_sync, once the batch is durable
};

struct harness_options {
    apply_point apply = apply_point::with_send_now;
    // Write each batch to the node's store. Off for a caller that models only
    // the cost of a disk and never restarts a node from it (the quorum tool).
    bool persist = true;
    // A sync finishes at once, inside drain(): for a caller with no clock
    // (the unit cluster, the scenario runner, the fuzzer, the livelock duel).
    // Otherwise the node is busy until the caller calls synced().
    bool instant_sync = false;
    // Planted driver fault, for the checkers' own tests: these nodes send each
    // batch's send_after_sync with its send_now, before the batch is durable.
    node_set sends_before_persist{};
    // Planted driver fault, for the checkers' own tests: the log's marker is
    // written one slot past the snapshot saved, so the log releases a slot
    // the state machine never applied (it is in neither the snapshot nor
    // the log a restart replays).
    bool marker_past_snapshot = false;
    // Planted driver fault, for the read checker's own test: confirmed reads
    // are served before the batch's chosen entries are applied, so a read
    // may miss the slots below its read index.
    bool reads_before_apply = false;
    // A node that was busy takes the ticks it owes before the messages that
    // waited: what a driver of leases must do (core/lease.hpp), whose clock
    // may lag real time by one tick at most. Otherwise messages come first.
    bool ticks_first = false;
};

// A snapshot in a node's snapshot store: what it is, and its bytes.
struct sim_snapshot {
    snapshot_offer offer{};
    std::vector<std::byte> bytes;

    bool empty() const noexcept { return offer.slot.value == 0; }
};

template <class Config>
struct harness_node {
    using replica_type = paxos::replica<Config>;
    using message_buffer = typename replica_type::message_buffer;
    using ready_type = typename replica_type::ready_type;
    using store_type = storage::memory_store<Config>;

    std::unique_ptr<replica_type> replica;
    store_type store;
    bool up = true;
    // The batch whose sync is under way: the node takes no input until it is
    // done; what arrives meanwhile waits in the inbox, and ticks are owed.
    const ready_type* syncing = nullptr;
    time_us sync_done = 0;
    std::deque<message_buffer> inbox;
    std::uint32_t ticks_owed = 0;
    bool campaign_owed = false;  // campaign() asked while busy: run once synced
    node_set peers{};            // the fan-out of the node's last batch

    // The snapshot store (configs with a snapshot transfer): the newest
    // durable snapshot, and a receive under way (its bytes so far).
    sim_snapshot saved;
    sim_snapshot previous;  // kept readable for transfers still sending it
    sim_snapshot receiving;
    bool install_due = false;  // `receiving` is complete and committed
    node_set abort_to{};       // transfers whose chunks could not be read
    std::uint64_t snapshot_chunks_sent = 0;
    std::uint64_t snapshot_bytes_sent = 0;
    std::uint64_t snapshots_installed = 0;

    bool busy() const noexcept { return syncing != nullptr; }
};

template <class Config, class Driver>
class harness {
public:
    using replica_type = paxos::replica<Config>;
    using message_type = typename replica_type::message_type;
    using message_buffer = typename replica_type::message_buffer;
    using ready_type = typename replica_type::ready_type;
    using node_type = harness_node<Config>;
    using store_type = typename node_type::store_type;
    using crash_mode = typename store_type::crash_mode;

    harness(Driver& driver, std::size_t nodes, harness_options options = {})
        : driver_(&driver), options_(options), nodes_(nodes) {
        PAXOS_ASSERT(nodes >= 1);
        PAXOS_ASSERT(nodes <= Config::max_nodes);
        for (std::size_t i = 0; i < nodes; ++i) {
            nodes_[i].peers = node_set::first(nodes);
            nodes_[i].peers.erase(id(i));
        }
    }

    std::size_t size() const noexcept { return nodes_.size(); }
    node_type& operator[](std::size_t i) noexcept { return nodes_[i]; }
    const node_type& operator[](std::size_t i) const noexcept { return nodes_[i]; }
    replica_type& replica_at(std::size_t i) noexcept { return *nodes_[i].replica; }
    harness_options& options() noexcept { return options_; }

    static node_id id(std::size_t i) noexcept { return node_id{static_cast<std::uint16_t>(i)}; }

    // ---- inputs that wait while the node is busy ----------------------------------

    // True when node i is busy with its disk and `m` was queued for later.
    bool hold_if_busy(std::size_t i, const message_buffer& m) {
        node_type& n = nodes_[i];
        if (!n.busy()) return false;
        n.inbox.push_back(m);
        return true;
    }

    // True when node i is busy and owes the tick instead of taking it now.
    bool owe_tick_if_busy(std::size_t i) {
        node_type& n = nodes_[i];
        if (!n.busy()) return false;
        ++n.ticks_owed;
        return true;
    }

    // True when node i is busy and owes a campaign() instead of starting it
    // now (no input may reach a replica whose batch is outstanding).
    bool owe_campaign_if_busy(std::size_t i) {
        node_type& n = nodes_[i];
        if (!n.busy()) return false;
        n.campaign_owed = true;
        return true;
    }

    // ---- the ready contract ------------------------------------------------------

    // Hands out node i's batches until it has none, or one needs a sync.
    void drain(std::size_t i) {
        node_type& n = nodes_[i];
        while (n.up && !n.busy() && n.replica->has_ready()) {
            const ready_type& rd = n.replica->ready();
            n.peers = rd.peers;
            for (const message_type& m : rd.send_now) send_checked(i, m);
            if (sends_early(i)) {
                for (const message_type& m : rd.send_after_sync) send_checked(i, m);
            }
            if (options_.apply == apply_point::with_send_now) {
                if (options_.reads_before_apply) serve_reads(i, rd);
                for (const auto& e : rd.chosen) driver_->apply(i, e);
                if (!options_.reads_before_apply) serve_reads(i, rd);
            }
            if (options_.persist && n.store.write(rd) != storage::status::ok) {
                // Fail-stop: the process dies rather than send what it could
                // not make durable.
                driver_->storage_failed(i);
                return;
            }
            if (rd.sync_needed && !options_.instant_sync) {
                n.syncing = &rd;
                n.sync_done = driver_->sync_done_at(i);
                break;
            }
            if (rd.sync_needed && options_.persist && n.store.sync() != storage::status::ok) {
                driver_->storage_failed(i);
                return;
            }
            finish(i, rd);
        }
        driver_->drained(i);
    }

    // Node i's sync is done: the rest of its batch, then the input that
    // waited, until a new sync starts.
    void synced(std::size_t i) {
        node_type& n = nodes_[i];
        PAXOS_ASSERT(n.busy());
        const ready_type& rd = *n.syncing;
        n.syncing = nullptr;
        if (options_.persist && n.store.sync() != storage::status::ok) {
            driver_->storage_failed(i);
            return;
        }
        finish(i, rd);
        drain(i);
        while (n.up && !n.busy() && (n.ticks_owed > 0 || !n.inbox.empty() || n.campaign_owed)) {
            if (n.campaign_owed) {
                n.campaign_owed = false;
                (void)n.replica->campaign();
            } else if (options_.ticks_first && n.ticks_owed > 0) {
                --n.ticks_owed;
                (void)n.replica->tick();
            } else if (!n.inbox.empty()) {
                const message_buffer m = std::move(n.inbox.front());
                n.inbox.pop_front();
                driver_->replayed(i, m);
                (void)n.replica->step(m);
            } else {
                --n.ticks_owed;
                (void)n.replica->tick();
            }
            drain(i);
        }
    }

    // The batch's durable part is done (or needed no sync).
    void finish(std::size_t i, const ready_type& rd) {
        node_type& n = nodes_[i];
        driver_->durable(i, rd);
        if (!sends_early(i)) {
            for (const message_type& m : rd.send_after_sync) send_checked(i, m);
        }
        if (options_.apply == apply_point::after_sync) {
            if (options_.reads_before_apply) serve_reads(i, rd);
            for (const auto& e : rd.chosen) driver_->apply(i, e);
            if (!options_.reads_before_apply) serve_reads(i, rd);
        }
        for (const auto& c : rd.catch_up) driver_->serve_catch_up(i, c);
        if constexpr (requires { driver_->dropped(i, rd.dropped); })
            driver_->dropped(i, rd.dropped);
        if constexpr (transfers) {
            for (const auto& c : rd.snapshot_chunks) send_chunk(i, c);
            for (const auto& c : rd.snapshot_received) receive_chunk(i, c);
        }
        n.replica->advance(rd);
        if constexpr (transfers) after_advance(i);
    }

    // The batch's confirmed and dropped reads, to the driver if it serves them.
    void serve_reads(std::size_t i, const ready_type& rd) {
        if constexpr (requires { driver_->reads(i, rd.reads, rd.reads_dropped); }) {
            if (!rd.reads.empty() || !rd.reads_dropped.empty()) {
                driver_->reads(i, rd.reads, rd.reads_dropped);
            }
        }
    }

    // ---- snapshots (configs with a snapshot transfer) ---------------------------------

    static constexpr bool transfers = replica_type::snapshot_chunk_bytes != 0;

    // Node i's state machine saved its state through slot - 1 as `bytes`:
    // the snapshot is durable, so the replica offers it, the log records its
    // marker (and drops what it covers), and the replica compacts to it.
    // Only between batches (not while the node is busy).
    result save_snapshot(std::size_t i, slot_id slot, std::vector<std::byte> bytes) {
        return save_snapshot(i, slot, std::move(bytes), slot);
    }

    // The same, compacting only to `compact_to` (at most `slot`; the slot of
    // an older snapshot the store still keeps): the log keeps a tail, so a
    // peer a little behind, or one that installs a snapshot while a newer one
    // is taken, catches up from the log (node/driver.hpp does the same).
    result save_snapshot(std::size_t i, slot_id slot, std::vector<std::byte> bytes,
                         slot_id compact_to) {
        static_assert(transfers, "save_snapshot: the config has no snapshot transfer");
        node_type& n = nodes_[i];
        PAXOS_ASSERT(n.up && !n.busy());
        const snapshot_offer offer{slot, bytes.size(), detail::crc32c(bytes)};
        const result offered = n.replica->offer_snapshot(offer);
        if (!offered.ok()) return offered;
        n.previous = std::move(n.saved);
        n.saved = sim_snapshot{offer, std::move(bytes)};
        PAXOS_ASSERT(compact_to <= slot);
        if (compact_to.value == 0) return offered;
        if (!mark_snapshot(i, options_.marker_past_snapshot ? compact_to.next() : compact_to)) {
            return {reason::ignored};
        }
        return n.replica->compact(compact_to);
    }

    // One message from node `from`, fanned out: a broadcast to every peer of
    // the node's last batch, in id order; anything else to its addressee.
    void fan_out(std::size_t from, const message_type& m) {
        const node_type& n = nodes_[from];
        for (std::size_t to = 0; to < nodes_.size(); ++to) {
            const bool addressed =
                m.to == node_id::broadcast() ? n.peers.contains(id(to)) : m.to.value == to;
            if (!addressed) continue;
            message_buffer copy(m);
            copy.to = id(to);
            driver_->transmit(from, to, copy);
        }
    }

    // ---- crash and restart ---------------------------------------------------------

    // The process dies: the batch under way, the inbox and the owed ticks die
    // with it, and the store keeps what `mode` says of its unsynced writes.
    void crash(std::size_t i, crash_mode mode, std::uint64_t seed) {
        node_type& n = nodes_[i];
        n.up = false;
        n.syncing = nullptr;
        n.inbox.clear();
        n.ticks_owed = 0;
        n.campaign_owed = false;
        n.store.crash(mode, seed);
        if constexpr (transfers) {
            n.abort_to = node_set{};
            if (n.install_due) {
                // Committed before the crash: the store's newest snapshot.
                n.previous = std::move(n.saved);
                n.saved = std::move(n.receiving);
                n.receiving = sim_snapshot{};
                n.install_due = false;
            } else if (!n.receiving.empty()) {
                // Appended but not synced: a prefix of it reached the disk.
                prng rng(seed ^ 0x5A5A5A5Au);
                n.receiving.bytes.resize(rng.below(n.receiving.bytes.size() + 1));
            }
        }
    }

    // A fresh process on node i's store: `fresh` is the new replica; `replay`
    // sees each chosen slot the store kept, in order (the state machine's
    // rebuild). Returns why it failed, or ok.
    template <class Replay>
    result restart(std::size_t i, std::unique_ptr<replica_type> fresh, Replay&& replay,
                   storage::status* store_status = nullptr) {
        node_type& n = nodes_[i];
        n.replica = std::move(fresh);
        if (!mark_newest_snapshot(i)) return {reason::ignored};
        storage::replica_recovery<Config> recovered;
        const storage::status st = storage::recover_into(
            n.store, recovered,
            [&](slot_id s, std::span<const typename Config::value_type> v) { replay(s, v); });
        if (store_status) *store_status = st;
        if (st != storage::status::ok) return {reason::ignored};
        // The snapshot (if any), then the chosen prefix after it.
        const result res = n.replica->restore(recovered.recovery(recovered.first_unapplied()));
        if (!res.ok()) return res;
        n.up = true;
        promised_at_restart_ = recovered.promised();
        resume_snapshots(i);
        return res;
    }

    // A fresh process on node i's store whose state machine is durable on its
    // own and has applied every slot below `applied_end`: nothing is replayed.
    result restart_at(std::size_t i, std::unique_ptr<replica_type> fresh, slot_id applied_end,
                      storage::status* store_status = nullptr) {
        node_type& n = nodes_[i];
        n.replica = std::move(fresh);
        if (!mark_newest_snapshot(i)) return {reason::ignored};
        storage::replica_recovery<Config> recovered;
        const storage::status st = n.store.recover(recovered);
        if (store_status) *store_status = st;
        const result res = n.replica->restore(recovered.recovery(applied_end));
        promised_at_restart_ = recovered.promised();
        if (res.ok()) {
            n.up = true;
            resume_snapshots(i);
        }
        return res;
    }

    // After restore(): the replica offers the newest snapshot and compacts
    // to it, and resumes a receive the store kept. restart() and
    // restart_at() call it; a caller that restores a replica itself does.
    void resume_snapshots(std::size_t i) {
        if constexpr (transfers) {
            node_type& n = nodes_[i];
            if (!n.saved.empty()) {
                (void)n.replica->offer_snapshot(n.saved.offer);
                (void)n.replica->compact(n.saved.offer.slot);
            }
            if (!n.receiving.empty() && n.receiving.offer.slot > n.saved.offer.slot) {
                n.replica->resume_snapshot_receive(n.receiving.offer, n.receiving.bytes.size());
            } else {
                n.receiving = sim_snapshot{};
            }
        }
    }

    // The promise the last restart() recovered (for the caller's trace).
    const typename Config::ballot& promised_at_restart() const noexcept {
        return promised_at_restart_;
    }

private:
    // The log's snapshot marker for `slot` (the snapshot is durable): the
    // store drops what it covers. False if the store failed (fail-stop).
    bool mark_snapshot(std::size_t i, slot_id slot) {
        node_type& n = nodes_[i];
        if (!options_.persist) return true;
        if constexpr (requires { driver_->before_compaction(i); }) driver_->before_compaction(i);
        const storage::status st = n.store.snapshot(slot);
        if constexpr (requires { driver_->after_compaction(i); }) driver_->after_compaction(i);
        if (st != storage::status::ok) {
            driver_->storage_failed(i);
            return false;
        }
        return true;
    }

    // At a restart: a snapshot committed after the log's last marker (a
    // crash came between an install's commit and its marker) gets its
    // marker first, so recovery starts from the newest snapshot.
    bool mark_newest_snapshot(std::size_t i) {
        if constexpr (transfers) {
            node_type& n = nodes_[i];
            if (!n.saved.empty() && n.store.snapshot_slot() < n.saved.offer.slot) {
                return mark_snapshot(i, n.saved.offer.slot);
            }
        }
        return true;
    }

    // The sender's side: the bytes a batch asks for, from the saved snapshot.
    void send_chunk(std::size_t i, const snapshot_chunk_request& c) {
        node_type& n = nodes_[i];
        // The store keeps the snapshot before the newest too (as
        // storage/snapshot_store.hpp does), so a transfer that began before a
        // newer one was saved goes on.
        const sim_snapshot& from = n.saved.offer == c.snapshot ? n.saved : n.previous;
        if (from.offer != c.snapshot || c.offset + c.length > from.bytes.size()) {
            n.abort_to.insert(c.to);  // retired: this transfer cannot go on
            return;
        }
        const std::span<const std::byte> bytes(from.bytes.data() + c.offset, c.length);
        send_checked(i, n.replica->snapshot_chunk_for(c, bytes));
        ++n.snapshot_chunks_sent;
        n.snapshot_bytes_sent += c.length;
    }

    // The receiver's side: append in order; the last chunk commits it, to be
    // installed after advance().
    void receive_chunk(std::size_t i, const received_chunk& c) {
        node_type& n = nodes_[i];
        if (n.receiving.offer != c.snapshot) n.receiving = sim_snapshot{c.snapshot, {}};
        if (n.receiving.bytes.size() != c.offset) {
            n.receiving = sim_snapshot{};  // the store and the replica disagree: start over
            return;
        }
        n.receiving.bytes.insert(n.receiving.bytes.end(), c.bytes.begin(), c.bytes.end());
        if (!c.last()) return;
        if (detail::crc32c(n.receiving.bytes) != c.snapshot.crc) {
            n.receiving = sim_snapshot{};  // not what was declared: refused
            return;
        }
        n.install_due = true;
    }

    // Inputs the batch asked for, which may only follow advance(); then a
    // complete snapshot is installed: the replica moves, the state machine
    // loads it, and only then does the log record its marker.
    void after_advance(std::size_t i) {
        node_type& n = nodes_[i];
        for (std::uint16_t id = 0; id < nodes_.size() && !n.abort_to.empty(); ++id) {
            if (n.abort_to.contains(node_id{id})) n.replica->abort_snapshot(node_id{id});
        }
        n.abort_to = node_set{};
        if (!n.install_due) return;
        const snapshot_offer s = n.receiving.offer;
        if (!(n.replica->chosen_end() < s.slot)) {  // caught up meanwhile: not needed
            n.install_due = false;
            n.receiving = sim_snapshot{};
            return;
        }
        const result r = n.replica->install_snapshot(s);
        if (r.code == reason::outbox_full) return;  // again after the next batch
        n.install_due = false;
        if (!r.ok()) {
            n.receiving = sim_snapshot{};
            return;
        }
        n.previous = std::move(n.saved);
        n.saved = std::move(n.receiving);
        n.receiving = sim_snapshot{};
        ++n.snapshots_installed;
        if constexpr (requires { driver_->snapshot_installed(i, n.saved); })
            driver_->snapshot_installed(i, n.saved);
        (void)mark_snapshot(i, s.slot);
    }

    bool sends_early(std::size_t i) const noexcept {
        return options_.sends_before_persist.contains(id(i));
    }

    void send_checked(std::size_t from, const message_type& m) {
        driver_->before_send(from, m);
        fan_out(from, m);
    }

    Driver* driver_;
    harness_options options_;
    std::vector<node_type> nodes_;
    typename Config::ballot promised_at_restart_{};
};

}  // namespace paxos::inline v0::sim
