// paxos/storage/durable_state.hpp: what a replica asks storage to make
// durable, and what storage hands back after a restart.
//
// The contract between the core and any store (the POSIX write-ahead log,
// the simulator's in-memory store, or one a user writes):
//
//   persist(ready)  Record, in this order, the ready batch's promise (when it
//                   changed), its votes, and its chosen entries; then, when
//                   ready.sync_needed, make everything durable with one sync
//                   (group commit). The promise and the votes are what safety
//                   needs; chosen entries are optional and never need a sync
//                   of their own (core/ready.hpp), but a store that keeps
//                   them lets recover() rebuild the state machine. Only after persist() returns ok
//                   may the batch's messages be sent. An I/O error is fail-stop: the store returns
//                   io_error from then on, for every call, and the replica must not send or
//                   acknowledge anything more (an fsync that failed once cannot be retried into
//                   success: the kernel may have dropped the dirty pages).
//   snapshot(slot)  Record that the state machine's state through slot-1 is
//                   saved elsewhere; records below it are no longer needed
//                   and the store may reclaim them. Call it only once that
//                   snapshot is durable (snapshot_store.hpp's commit()
//                   returned): after it, slots below `slot` may exist only
//                   in the snapshot.
//   recover(v)      Replay the newest snapshot marker first, then every other
//                   durable record, oldest first, into visitor v:
//                   v.on_promise(ballot), v.on_vote(slot, ballot, values),
//                   v.on_chosen(slot, values), v.on_snapshot(slot). A store
//                   never returns a record that was not durable, and refuses
//                   (corrupt) rather than silently skipping a damaged record
//                   that later records depend on.
//
// replica_recovery<Config> is the visitor a driver usually wants: it keeps the
// highest promise, the newest vote per slot inside the window, and the chosen
// prefix, and turns them into the replica's restore() argument. Chosen entries
// are also passed to a state-machine callback so the driver can rebuild its
// state (or its catch-up log) from the same scan.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../core/replica.hpp"

namespace paxos::inline v0::storage {

// The kinds of record a store keeps. Values are part of the on-disk format:
// never renumber.
enum class record_kind : std::uint8_t {
    promise = 1,   // ballot
    vote = 2,      // slot, ballot, values
    chosen = 3,    // slot, values
    snapshot = 4,  // slot: state through slot-1 is saved elsewhere
};

enum class status : std::uint8_t {
    ok,
    io_error,  // a write or sync failed; fail-stop, nothing after it is acknowledged
    corrupt,   // a damaged record in the middle of the log; recovery refuses to start
};

constexpr const char* to_string(status s) noexcept {
    switch (s) {
        case status::ok: return "ok";
        case status::io_error: return "I/O error (fail-stop)";
        case status::corrupt: return "corrupt record in the middle of the log";
    }
    return "unknown storage status";
}

// ---- the store concept -------------------------------------------------------------

// A visitor that ignores everything: the concept's probe for recover().
template <class Ballot, class Value>
struct null_visitor {
    void on_promise(Ballot) noexcept {}
    void on_vote(slot_id, Ballot, std::span<const Value>) noexcept {}
    void on_chosen(slot_id, std::span<const Value>) noexcept {}
    void on_snapshot(slot_id) noexcept {}
};

template <class S, class Config>
concept durable_store =
    requires(S& s, const typename replica<Config>::ready_type& rd,
             null_visitor<typename Config::ballot, typename Config::value_type>& v, slot_id slot) {
    { s.persist(rd) } -> std::same_as<status>;
    { s.snapshot(slot) } -> std::same_as<status>;
    { s.recover(v) } -> std::same_as<status>;
};

// ---- recovery into a replica ----------------------------------------------------------

// Collects what restore() needs while a store replays its records.
//
// Votes are kept in a ring of window_slots entries keyed by slot. That is
// enough: an acceptor only votes inside its window, and its window moves past
// a slot only after that slot is chosen and applied, whose chosen record was
// persisted before any vote that needed the room. So when a vote for slot s
// is replayed, every slot at or below s - window_slots is already known
// chosen, and its vote is moot.
template <class Config>
class replica_recovery {
public:
    using replica_type = replica<Config>;
    using ballot_type = typename Config::ballot;
    using value_type = typename Config::value_type;
    using batch_type = typename replica_type::batch_type;
    using record_type = typename replica_type::record_type;
    static constexpr std::size_t window_slots = Config::window_slots;

    void on_promise(ballot_type b) noexcept {
        if (b > promised_) promised_ = b;
    }
    void on_vote(slot_id s, ballot_type b, std::span<const value_type> values) {
        PAXOS_ASSERT(values.size() <= Config::batch_values_max);
        if (b > promised_) promised_ = b;  // a vote is also a promise (accept raises it)
        entry& e = votes_[s.value & (window_slots - 1)];
        e.used = true;
        e.slot = s;
        e.ballot = b;
        e.values.assign(values);
    }
    void on_chosen(slot_id s, std::span<const value_type>) noexcept {
        if (s == chosen_end_) chosen_end_ = s.next();
        if (s >= chosen_seen_end_) chosen_seen_end_ = s.next();
    }
    void on_snapshot(slot_id s) noexcept {
        if (s > snapshot_) snapshot_ = s;
        if (chosen_end_ < s) chosen_end_ = s;
    }

    // The first slot the state machine has not applied, if it applied every
    // chosen entry it was handed (the snapshot, then the chosen prefix).
    slot_id first_unapplied() const noexcept { return chosen_end_; }
    slot_id snapshot_slot() const noexcept { return snapshot_; }
    ballot_type promised() const noexcept { return promised_; }

    // The restore() argument for a state machine that has applied every slot
    // below `first_unapplied`. Views point into this object: keep it alive
    // until restore() returns.
    typename replica_type::recovery recovery(slot_id first_unapplied) {
        records_.clear();
        for (const entry& e : votes_) {
            if (!e.used || e.slot < first_unapplied) continue;
            records_.push_back(record_type{e.slot, e.ballot, e.values.view()});
        }
        typename replica_type::recovery r{};
        r.promised = promised_;
        r.first_unapplied = first_unapplied;
        r.accepted = records_.view();
        return r;
    }
    typename replica_type::recovery recovery() { return recovery(chosen_end_); }

private:
    struct entry {
        bool used = false;
        slot_id slot{};
        ballot_type ballot{};
        batch_type values{};
    };

    ballot_type promised_{};
    std::array<entry, window_slots> votes_{};
    fixed_vector<record_type, window_slots> records_{};
    slot_id chosen_end_{};
    slot_id chosen_seen_end_{};
    slot_id snapshot_{};
};

// Replays `store` into a replica_recovery and forwards the contiguous prefix
// of chosen entries to `apply(slot, values)` (the driver's state machine), in
// slot order.
template <class Config, class Store, class Apply>
status recover_into(Store& store, replica_recovery<Config>& out, Apply&& apply) {
    struct forwarding {
        replica_recovery<Config>& out;
        Apply& apply;
        void on_promise(typename Config::ballot b) { out.on_promise(b); }
        void on_vote(slot_id s, typename Config::ballot b,
                     std::span<const typename Config::value_type> v) {
            out.on_vote(s, b, v);
        }
        void on_chosen(slot_id s, std::span<const typename Config::value_type> v) {
            // Only the contiguous prefix is applied: a chosen record after a
            // gap (its predecessor was never synced) is learned again later.
            const bool extends_prefix = s == out.first_unapplied();
            out.on_chosen(s, v);
            if (extends_prefix) apply(s, v);
        }
        void on_snapshot(slot_id s) { out.on_snapshot(s); }
    } visitor{out, apply};
    return store.recover(visitor);
}

}  // namespace paxos::inline v0::storage
