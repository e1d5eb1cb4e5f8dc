// tests/unit/cluster.hpp: a small synchronous harness that runs N in-process
// replicas and delivers their messages, for the unit tests.
//
// The harness is the driver of README.md's responsibilities: for each ready batch it persists
// the durable part (into its own per-node storage), checks that every message
// is backed by durable state (persist-before-send), queues the messages, and
// applies the chosen entries. It also checks agreement across all applied logs.
// Storage and logs use std containers reserved up front; set `tracking` to
// false for the zero-allocation test, which then only counts.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <paxos/paxos.hpp>
#include <paxos/storage/memory_store.hpp>

namespace paxos_test {

template <class Config>
class cluster {
public:
    using replica_type = paxos::replica<Config>;
    using message_type = typename replica_type::message_type;
    using message_buffer = typename replica_type::message_buffer;
    using value_type = typename Config::value_type;
    using ballot_type = typename Config::ballot;
    using record_type = typename replica_type::record_type;
    using quorum_type = typename Config::quorum;

    struct envelope {
        paxos::node_id to;
        message_buffer message;
    };

    struct vote_record {
        ballot_type ballot{};
        std::vector<value_type> values;
    };

    using store_type = paxos::storage::memory_store<Config>;
    using crash_mode = typename store_type::crash_mode;

    // What a node has made durable: the store the replica restarts from, and
    // a plain summary of it for the persist-before-send check.
    struct storage {
        store_type store;
        ballot_type promised{};
        std::map<std::uint64_t, vote_record> votes;
        std::uint64_t syncs = 0;
    };

    struct applied_entry {
        std::uint64_t slot = 0;
        std::vector<value_type> values;
    };

    explicit cluster(std::size_t n, std::uint64_t seed = 1,
                     typename Config::leader::options leader_options = {},
                     quorum_type quorum = quorum_type{})
        : n_(n), seed_(seed), leader_options_(leader_options), quorum_(quorum) {
        replicas_.reserve(n);
        for (std::size_t i = 0; i < n; ++i) replicas_.push_back(make_replica(i));
        storage_.resize(n);
        logs_.resize(n);
        applied_count_.assign(n, 0);
        down_.assign(n, false);
        in_flight_.reserve(1 << 13);
    }

    std::size_t size() const { return n_; }
    replica_type& node(std::size_t i) { return *replicas_[i]; }
    const std::vector<applied_entry>& log(std::size_t i) const { return logs_[i]; }
    const storage& durable(std::size_t i) const { return storage_[i]; }
    std::vector<envelope>& in_flight() { return in_flight_; }
    std::uint64_t applied_count(std::size_t i) const { return applied_count_[i]; }

    bool tracking = true;             // keep storage and logs (allocates)
    bool plant_skip_persist = false;  // planted fault: send before persisting
    std::string violation;            // first checker failure, if any
    std::uint64_t messages_delivered = 0;

    // Drops messages for which this returns true (partitions, loss).
    std::function<bool(std::size_t from, std::size_t to, const message_type&)> drop;

    // Hands out every ready batch of node i: send what may leave at once,
    // persist, send the rest, apply. Each message is checked against what is
    // durable when it leaves.
    void drain(std::size_t i) {
        replica_type& r = *replicas_[i];
        while (r.has_ready()) {
            const auto& rd = r.ready();
            if (tracking) check_sends(i, rd.send_now);
            for (const message_type& m : rd.send_now) enqueue(i, m);
            if (!plant_skip_persist) persist(i, rd);
            if (tracking) check_sends(i, rd.send_after_sync);
            if (plant_skip_persist) persist(i, rd);
            for (const message_type& m : rd.send_after_sync) enqueue(i, m);
            for (const auto& e : rd.chosen) apply(i, e);
            for (const auto& c : rd.catch_up) serve_from_log(i, c.peer.value, c.from.value);
            r.advance(rd);
        }
    }
    void drain_all() {
        for (std::size_t i = 0; i < n_; ++i) {
            if (!down_[i]) drain(i);
        }
    }

    // Delivers the in-flight message at `index`; returns the step result.
    paxos::result deliver(std::size_t index) {
        envelope e = in_flight_[index];
        in_flight_.erase(in_flight_.begin() + static_cast<std::ptrdiff_t>(index));
        const std::size_t to = e.to.value;
        if (down_[to]) return {paxos::reason::ignored};
        ++messages_delivered;
        const paxos::result res = replicas_[to]->step(e.message);
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
            if (down_[i]) continue;
            (void)replicas_[i]->tick();
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

    paxos::result propose(std::size_t i, const value_type& v) {
        const paxos::result res = replicas_[i]->propose(v);
        drain(i);
        return res;
    }
    paxos::result campaign(std::size_t i) {
        const paxos::result res = replicas_[i]->campaign();
        drain(i);
        return res;
    }

    // Crash: the node stops; messages to it are lost; writes it never synced
    // are lost, or partly kept, as `mode` says (all three are what a real page
    // cache may do).
    void crash(std::size_t i, crash_mode mode = crash_mode::lose_unsynced, std::uint64_t seed = 0) {
        down_[i] = true;
        storage_[i].store.crash(mode, seed);
    }

    // Restart from the durable store only, as a fresh process would. The
    // harness's applied log stands for the state machine, which is durable.
    void restart(std::size_t i) {
        replicas_[i] = make_replica(i, seed_ + 7919 * (++restarts_));
        paxos::storage::replica_recovery<Config> recovered;
        const auto st = storage_[i].store.recover(recovered);
        if (st != paxos::storage::status::ok) note("store refused to recover");
        const paxos::result res =
            replicas_[i]->restore(recovered.recovery(paxos::slot_id{applied_count_[i]}));
        if (!res.ok()) note("restore refused: " + std::string(paxos::to_string(res.code)));
        storage_[i].promised = recovered.promised();
        down_[i] = false;
    }

    bool is_down(std::size_t i) const { return down_[i]; }

    // Starts a new, empty instance on the same nodes, in place: no allocation
    // (Basic Paxos decides one value per instance).
    void reset() {
        for (std::size_t i = 0; i < n_; ++i) {
            typename replica_type::options opts{};
            opts.self = paxos::node_id{static_cast<std::uint16_t>(i)};
            opts.seed = seed_ * 1000003 + i + 7 * (++restarts_);
            opts.leader = leader_options_;
            *replicas_[i] = replica_type(opts, quorum_);
            applied_count_[i] = 0;
            down_[i] = false;
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
    std::unique_ptr<replica_type> make_replica(std::size_t i, std::uint64_t seed = 0) {
        typename replica_type::options opts{};
        opts.self = paxos::node_id{static_cast<std::uint16_t>(i)};
        opts.seed = (seed ? seed : seed_) * 1000003 + i;
        opts.leader = leader_options_;
        return std::make_unique<replica_type>(opts, quorum_);
    }

    template <class Ready>
    void persist(std::size_t i, const Ready& rd) {
        if (!tracking) return;
        storage& s = storage_[i];
        if (s.store.persist(rd) != paxos::storage::status::ok) note("store failed");
        if (rd.promised_changed) {
            if (rd.promised < s.promised) violation = "durable promise went down";
            s.promised = rd.promised;
        }
        for (const auto& rec : rd.accepted) {
            s.votes[rec.slot.value] = vote_record{
                rec.ballot, std::vector<value_type>(rec.values.begin(), rec.values.end())};
        }
        if (rd.sync_needed) ++s.syncs;
    }

    // Persist-before-send, checked from outside the replica: every promise,
    // accepted, prepare and accept must be backed by what is already durable.
    void check_sends(std::size_t i, std::span<const message_type> messages) {
        const storage& s = storage_[i];
        for (const message_type& m : messages) {
            const auto it = s.votes.find(m.slot.value);
            const ballot_type vote = it == s.votes.end() ? ballot_type{} : it->second.ballot;
            if (!paxos::backed_by(m, s.promised, vote)) {
                note("persist-before-send: node " + std::to_string(i) + " sent " +
                     paxos::to_string(m.kind) + " before the state behind it was durable");
            }
        }
    }

    // The driver's half of catch-up: slots the replica released from its
    // window are served from the applied log (the state machine's storage).
    void serve_from_log(std::size_t self, std::size_t peer, std::uint64_t from_slot) {
        if (!tracking) return;
        const std::uint64_t end =
            std::min<std::uint64_t>(replicas_[self]->window_base().value, logs_[self].size());
        for (std::uint64_t s = from_slot; s < end && s < from_slot + Config::window_slots; ++s) {
            const auto& values = logs_[self][s].values;
            push(self, peer,
                 replicas_[self]->chosen_message_for(
                     paxos::node_id{static_cast<std::uint16_t>(peer)}, paxos::slot_id{s},
                     std::span<const value_type>(values)));
        }
    }

    void note(std::string what) {
        if (violation.empty()) violation = std::move(what);
    }

    void enqueue(std::size_t from, const message_type& m) {
        if (m.to == paxos::node_id::broadcast()) {
            for (std::size_t to = 0; to < n_; ++to) {
                if (to == from) continue;
                push(from, to, m);
            }
        } else {
            push(from, m.to.value, m);
        }
    }
    void push(std::size_t from, std::size_t to, const message_type& m) {
        if (drop && drop(from, to, m)) return;
        in_flight_.push_back(
            envelope{paxos::node_id{static_cast<std::uint16_t>(to)}, message_buffer(m)});
        in_flight_.back().message.to = in_flight_.back().to;
    }

    void apply(std::size_t i, const paxos::chosen_entry<value_type>& e) {
        if (e.slot.value != applied_count_[i]) note("chosen entries out of order");
        ++applied_count_[i];
        if (!tracking) return;
        logs_[i].push_back(
            applied_entry{e.slot.value, std::vector<value_type>(e.values.begin(), e.values.end())});
    }

    std::size_t n_;
    std::uint64_t seed_;
    typename Config::leader::options leader_options_;
    quorum_type quorum_;
    std::vector<std::unique_ptr<replica_type>> replicas_;
    std::vector<storage> storage_;
    std::vector<std::vector<applied_entry>> logs_;
    std::vector<std::uint64_t> applied_count_;
    std::vector<bool> down_;
    std::vector<envelope> in_flight_;
    std::uint64_t restarts_ = 0;
};

}  // namespace paxos_test
