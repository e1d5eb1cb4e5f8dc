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
                for (const auto& e : rd.chosen) driver_->apply(i, e);
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
            for (const auto& e : rd.chosen) driver_->apply(i, e);
        }
        for (const auto& c : rd.catch_up) driver_->serve_catch_up(i, c);
        if constexpr (requires { driver_->dropped(i, rd.dropped); })
            driver_->dropped(i, rd.dropped);
        n.replica->advance(rd);
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
    }

    // A fresh process on node i's store: `fresh` is the new replica; `replay`
    // sees each chosen slot the store kept, in order (the state machine's
    // rebuild). Returns why it failed, or ok.
    template <class Replay>
    result restart(std::size_t i, std::unique_ptr<replica_type> fresh, Replay&& replay,
                   storage::status* store_status = nullptr) {
        node_type& n = nodes_[i];
        n.replica = std::move(fresh);
        storage::replica_recovery<Config> recovered;
        std::uint64_t replayed = 0;
        const storage::status st = storage::recover_into(
            n.store, recovered, [&](slot_id s, std::span<const typename Config::value_type> v) {
                replay(s, v);
                ++replayed;
            });
        if (store_status) *store_status = st;
        if (st != storage::status::ok) return {reason::ignored};
        const result res = n.replica->restore(recovered.recovery(slot_id{replayed}));
        if (!res.ok()) return res;
        n.up = true;
        promised_at_restart_ = recovered.promised();
        return res;
    }

    // A fresh process on node i's store whose state machine is durable on its
    // own and has applied every slot below `applied_end`: nothing is replayed.
    result restart_at(std::size_t i, std::unique_ptr<replica_type> fresh, slot_id applied_end,
                      storage::status* store_status = nullptr) {
        node_type& n = nodes_[i];
        n.replica = std::move(fresh);
        storage::replica_recovery<Config> recovered;
        const storage::status st = n.store.recover(recovered);
        if (store_status) *store_status = st;
        const result res = n.replica->restore(recovered.recovery(applied_end));
        promised_at_restart_ = recovered.promised();
        if (res.ok()) n.up = true;
        return res;
    }

    // The promise the last restart() recovered (for the caller's trace).
    const typename Config::ballot& promised_at_restart() const noexcept {
        return promised_at_restart_;
    }

private:
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
