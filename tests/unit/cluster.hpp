// tests/unit/cluster.hpp: a small synchronous cluster of N in-process
// replicas whose messages the tests deliver by hand, for the unit tests.
//
// The replicas are driven by paxos::sim::harness (sim/harness.hpp), the one
// driver of the ready contract every simulation shares, with a sync that
// finishes at once: send_now leaves, the batch is written and synced to the
// node's memory store, send_after_sync leaves, the chosen entries are
// applied, catch-up is served from the applied log, and advance() follows.
// Every message is checked against what the store has synced when it leaves
// (sim/checkers.hpp's durable_view: persist-before-send, and a durable
// promise that never goes down); the tests check agreement across the logs.
// Storage and logs use std containers reserved up front; set `tracking` to
// false for the zero-allocation test, which then only counts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <paxos/paxos.hpp>
#include <paxos/sim/checkers.hpp>
#include <paxos/sim/harness.hpp>
#include <paxos/storage/memory_store.hpp>

namespace paxos_test {

template <class Config>
class cluster {
public:
    using replica_type = paxos::replica<Config>;
    using message_type = typename replica_type::message_type;
    using message_buffer = typename replica_type::message_buffer;
    using ready_type = typename replica_type::ready_type;
    using value_type = typename Config::value_type;
    using ballot_type = typename Config::ballot;
    using record_type = typename replica_type::record_type;
    using quorum_type = typename Config::quorum;
    using harness_type = paxos::sim::harness<Config, cluster>;
    friend harness_type;
    using store_type = paxos::storage::memory_store<Config>;
    using crash_mode = typename store_type::crash_mode;

    struct envelope {
        paxos::node_id to;
        message_buffer message;
    };

    struct applied_entry {
        std::uint64_t slot = 0;
        std::vector<value_type> values;
    };

    explicit cluster(std::size_t n, std::uint64_t seed = 1,
                     typename Config::leader::options leader_options = {},
                     quorum_type quorum = quorum_type{})
        : n_(n),
          seed_(seed),
          leader_options_(leader_options),
          quorum_(quorum),
          harness_(*this, n, harness_options()) {
        for (std::size_t i = 0; i < n; ++i) harness_[i].replica = make_replica(i);
        synced_.resize(n);
        logs_.resize(n);
        applied_count_.assign(n, 0);
        reads_served_.assign(n, 0);
        in_flight_.reserve(1 << 13);
    }

    std::size_t size() const { return n_; }
    replica_type& node(std::size_t i) { return harness_.replica_at(i); }
    const std::vector<applied_entry>& log(std::size_t i) const { return logs_[i]; }
    const store_type& store(std::size_t i) const { return harness_[i].store; }
    std::vector<envelope>& in_flight() { return in_flight_; }
    std::uint64_t applied_count(std::size_t i) const { return applied_count_[i]; }
    // Reads node i confirmed and served (each after applying its slot).
    std::uint64_t reads_served(std::size_t i) const { return reads_served_[i]; }

    bool tracking = true;             // keep storage and logs (allocates)
    bool plant_skip_persist = false;  // planted fault: send before persisting
    std::string violation;            // first checker failure, if any
    std::uint64_t messages_delivered = 0;

    // Drops messages for which this returns true (partitions, loss).
    std::function<bool(std::size_t from, std::size_t to, const message_type&)> drop;

    // Hands out every ready batch of node i (sim/harness.hpp).
    void drain(std::size_t i) {
        paxos::sim::harness_options& o = harness_.options();
        o.persist = tracking;
        o.sends_before_persist =
            plant_skip_persist ? paxos::node_set::first(n_) : paxos::node_set{};
        harness_.drain(i);
    }
    void drain_all() {
        for (std::size_t i = 0; i < n_; ++i) {
            if (harness_[i].up) drain(i);
        }
    }

    // Delivers the in-flight message at `index`; returns the step result.
    paxos::result deliver(std::size_t index) {
        envelope e = in_flight_[index];
        in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(index));
        const std::size_t to = e.to.value;
        if (!harness_[to].up) return {paxos::reason::ignored};
        ++messages_delivered;
        const paxos::result res = node(to).step(e.message);
        drain(to);
        return res;
    }
    // Delivers messages in FIFO order until none are left (or `max` delivered).
    std::size_t deliver_all(std::size_t max = 1'000'000) {
        std::size_t count = 0;
        while (!in_flight_.empty() && count < max) {
            (void)deliver(0);
            ++count;
        }
        return count;
    }

    // The adversary of the seed's dueling-proposers schedule: Phase-1 traffic
    // (prepare, promise, reject) always overtakes Phase-2 traffic, so a new
    // prepare lands before the accepts of the ballot it preempts.
    std::size_t deliver_phase1_first(std::size_t max) {
        std::size_t count = 0;
        while (!in_flight_.empty() && count < max) {
            std::size_t pick = 0;
            for (std::size_t k = 0; k < in_flight_.size(); ++k) {
                const auto kind = in_flight_[k].message.kind;
                if (kind == paxos::message_kind::prepare || kind == paxos::message_kind::promise ||
                    kind == paxos::message_kind::reject) {
                    pick = k;
                    break;
                }
            }
            (void)deliver(pick);
            ++count;
        }
        return count;
    }

    void tick_all() {
        for (std::size_t i = 0; i < n_; ++i) {
            if (!harness_[i].up) continue;
            (void)node(i).tick();
            drain(i);
        }
    }

    // Ticks and delivers until `done()` or `rounds` ticks have passed.
    template <class Done>
    bool run_until(Done done, std::size_t rounds = 2000) {
        for (std::size_t t = 0; t < rounds; ++t) {
            deliver_all();
            if (done()) return true;
            tick_all();
        }
        deliver_all();
        return done();
    }

    // Ticks and delivers until every live node has applied as much as the
    // furthest one: followers learn a chosen slot from the leader's next
    // accept or heartbeat, so a test that stops proposing ticks for them.
    bool settle(std::size_t rounds = 200) {
        return run_until(
            [&] {
                std::uint64_t most = 0;
                for (std::size_t i = 0; i < n_; ++i) most = std::max(most, applied_count_[i]);
                for (std::size_t i = 0; i < n_; ++i) {
                    if (harness_[i].up && applied_count_[i] != most) return false;
                }
                return true;
            },
            rounds);
    }

    paxos::result propose(std::size_t i, const value_type& v) {
        const paxos::result res = node(i).propose(v);
        drain(i);
        return res;
    }
    paxos::result read(std::size_t i, paxos::read_tag tag) {
        const paxos::result res = node(i).read(tag);
        drain(i);
        return res;
    }
    paxos::result campaign(std::size_t i) {
        const paxos::result res = node(i).campaign();
        drain(i);
        return res;
    }
    paxos::result transfer(std::size_t i, std::size_t to) {
        const paxos::result res =
            node(i).transfer_leadership(paxos::node_id{static_cast<std::uint16_t>(to)});
        drain(i);
        return res;
    }

    // Every replica made from now on, and every one now (call before any
    // input), runs the leader lease (replica::options::lease_ticks).
    void use_lease(std::uint32_t ticks) {
        lease_ticks_ = ticks;
        for (std::size_t i = 0; i < n_; ++i) harness_[i].replica = make_replica(i);
    }

    // Crash: the node stops; messages to it are lost; writes it never synced
    // are lost, or partly kept, as `mode` says (all three are what a real page
    // cache may do).
    void crash(std::size_t i, crash_mode mode = crash_mode::lose_unsynced, std::uint64_t seed = 0) {
        harness_.crash(i, mode, seed);
    }

    // Restart from the durable store only, as a fresh process would. The
    // cluster's applied log stands for the state machine, which is durable.
    void restart(std::size_t i) {
        paxos::storage::status st = paxos::storage::status::ok;
        const paxos::result res =
            harness_.restart_at(i, make_replica(i, seed_ + 7919 * (++restarts_)),
                                paxos::slot_id{applied_count_[i]}, &st);
        if (st != paxos::storage::status::ok) note("store refused to recover");
        if (!res.ok()) note("restore refused: " + std::string(paxos::to_string(res.code)));
        synced_[i].reset();
        absorb_synced(i);
        harness_[i].up = true;
    }

    bool is_down(std::size_t i) const { return !harness_[i].up; }

    // Starts a new, empty instance on the same nodes, in place: no allocation
    // (Basic Paxos decides one value per instance).
    void reset() {
        for (std::size_t i = 0; i < n_; ++i) {
            typename replica_type::options opts{};
            opts.self = paxos::node_id{static_cast<std::uint16_t>(i)};
            opts.seed = seed_ * 1000003 + i + 7 * (++restarts_);
            opts.leader = leader_options_;
            node(i) = replica_type(opts, quorum_);
            applied_count_[i] = 0;
            harness_[i].up = true;
        }
        in_flight_.clear();
    }

    // Agreement: every pair of applied logs agrees on every slot both have.
    bool logs_agree() const {
        for (std::size_t a = 0; a < n_; ++a) {
            for (std::size_t b = a + 1; b < n_; ++b) {
                const std::size_t common = std::min(logs_[a].size(), logs_[b].size());
                for (std::size_t k = 0; k < common; ++k) {
                    if (logs_[a][k].values != logs_[b][k].values) return false;
                }
            }
        }
        return true;
    }

    // For the checker's own test: plant a conflicting entry in one log.
    void plant_conflicting_entry(std::size_t i, std::size_t k, const value_type& v) {
        logs_[i][k].values = {v};
    }

    std::size_t chosen_everywhere() const {
        std::size_t least = SIZE_MAX;
        for (std::size_t i = 0; i < n_; ++i) {
            least = std::min<std::size_t>(least, applied_count_[i]);
        }
        return least;
    }

private:
    static paxos::sim::harness_options harness_options() {
        paxos::sim::harness_options o{};
        o.apply = paxos::sim::apply_point::after_sync;
        o.instant_sync = true;
        return o;
    }

    std::unique_ptr<replica_type> make_replica(std::size_t i, std::uint64_t seed = 0) {
        typename replica_type::options opts{};
        opts.self = paxos::node_id{static_cast<std::uint16_t>(i)};
        opts.seed = (seed ? seed : seed_) * 1000003 + i;
        opts.leader = leader_options_;
        opts.lease_ticks = lease_ticks_;
        return std::make_unique<replica_type>(opts, quorum_);
    }

    // ---- the harness's driver hooks ----------------------------------------------

    // Persist-before-send, checked from outside the replica: every promise,
    // accepted, prepare and accept must be backed by what is already synced.
    void before_send(std::size_t i, const message_type& m) {
        if (!tracking) return;
        synced_[i].check_backed(checks_, 0, i, m);
        take_violation();
    }

    void durable(std::size_t i, const ready_type&) {
        if (tracking) absorb_synced(i);
    }

    void transmit(std::size_t from, std::size_t to, const message_buffer& m) {
        if (drop && drop(from, to, m)) return;
        in_flight_.push_back(envelope{paxos::node_id{static_cast<std::uint16_t>(to)}, m});
    }

    void apply(std::size_t i, const paxos::chosen_entry<value_type>& e) {
        if (e.slot.value != applied_count_[i]) note("chosen entries out of order");
        ++applied_count_[i];
        if (!tracking) return;
        logs_[i].push_back(
            applied_entry{e.slot.value, std::vector<value_type>(e.values.begin(), e.values.end())});
    }

    // Serves confirmed reads: the batch's chosen entries are applied by now.
    void reads(std::size_t i, std::span<const paxos::read_ready> confirmed,
               std::span<const paxos::read_tag>) {
        for (const paxos::read_ready& r : confirmed) {
            if (r.slot.value > applied_count_[i]) note("a read served before its slot was applied");
        }
        reads_served_[i] += confirmed.size();
    }

    // The driver's half of catch-up: slots the replica released from its
    // window are served from the applied log (the state machine's storage).
    void serve_catch_up(std::size_t self, const paxos::catch_up_request& c) {
        if (!tracking) return;
        const std::uint64_t end =
            std::min<std::uint64_t>(node(self).window_base().value, logs_[self].size());
        for (std::uint64_t s = c.from.value; s < end && s < c.from.value + Config::window_slots;
             ++s) {
            const auto& values = logs_[self][s].values;
            harness_.fan_out(self,
                             node(self).chosen_message_for(c.peer, paxos::slot_id{s},
                                                           std::span<const value_type>(values)));
        }
    }

    void storage_failed(std::size_t) { note("store failed"); }
    paxos::sim::time_us sync_done_at(std::size_t) { return 0; }
    void replayed(std::size_t, const message_buffer&) {}
    void drained(std::size_t) {}

    void absorb_synced(std::size_t i) {
        synced_[i].absorb(checks_, 0, i, harness_[i].store.synced());
        take_violation();
    }

    void take_violation() {
        const auto& v = checks_.first_violation();
        if (v && violation.empty())
            violation = std::string(paxos::sim::to_string(v->kind)) + ": " + v->what;
    }

    void note(std::string what) {
        if (violation.empty()) violation = std::move(what);
    }

    std::size_t n_;
    std::uint64_t seed_;
    std::uint32_t lease_ticks_ = 0;  // use_lease
    typename Config::leader::options leader_options_;
    quorum_type quorum_;
    harness_type harness_;
    std::vector<paxos::sim::durable_view<ballot_type>> synced_;  // what each store synced
    paxos::sim::checkers checks_;
    std::vector<std::vector<applied_entry>> logs_;
    std::vector<std::uint64_t> applied_count_;
    std::vector<std::uint64_t> reads_served_;
    std::vector<envelope> in_flight_;
    std::uint64_t restarts_ = 0;
};

}  // namespace paxos_test
