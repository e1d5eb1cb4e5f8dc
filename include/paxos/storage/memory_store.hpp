// paxos/storage/memory_store.hpp: an in-memory durable store that models
// crashes, for tests and the simulator.
//
// Writes land in a pending list (the page cache); sync() moves them to the
// synced list (the disk). crash() throws away what was not synced, or, to
// model the worse things disks do, keeps only a prefix of it or a random
// subset of it. An injected I/O error makes the store fail-stop, as the POSIX
// write-ahead log is. Unlike the core, this layer may allocate.
#pragma once

#include <cstdint>
#include <vector>

#include "../policies/random.hpp"
#include "durable_state.hpp"

namespace paxos::inline v0::storage {

template <class Config>
class memory_store {
public:
    using replica_type = replica<Config>;
    using ballot_type = typename Config::ballot;
    using value_type = typename Config::value_type;
    using batch_type = typename replica_type::batch_type;
    using ready_type = typename replica_type::ready_type;

    struct record {
        record_kind kind = record_kind::promise;
        slot_id slot{};
        ballot_type ballot{};
        batch_type values{};
    };

    // What a crash does to writes that were not synced.
    enum class crash_mode : std::uint8_t {
        lose_unsynced,  // all of them are gone
        keep_prefix,    // a random prefix of them reached the disk
        keep_any,       // a random subset reached the disk, in any order, except
                        // that the chosen entries are a log: a vote written after
                        // a chosen entry the crash lost is lost too
    };

    // persist() is write() then, when the batch needs it, sync(). A driver
    // that models a sync taking time calls the two apart.
    status persist(const ready_type& rd) {
        const status st = write(rd);
        if (st != status::ok) return st;
        return rd.sync_needed ? sync() : status::ok;
    }

    // Records the batch in the page cache: durable only at the next sync().
    status write(const ready_type& rd) {
        if (failed_) return status::io_error;
        if (rd.promised_changed) {
            pending_.push_back(record{record_kind::promise, slot_id{}, rd.promised, {}});
        }
        for (const auto& vote : rd.accepted) {
            record r{record_kind::vote, vote.slot, vote.ballot, {}};
            r.values.assign(vote.values);
            pending_.push_back(r);
        }
        for (const auto& entry : rd.chosen) {
            record r{record_kind::chosen, entry.slot, ballot_type{}, {}};
            r.values.assign(entry.values);
            pending_.push_back(r);
        }
        return status::ok;
    }

    status snapshot(slot_id s) {
        if (failed_) return status::io_error;
        pending_.push_back(record{record_kind::snapshot, s, ballot_type{}, {}});
        const status st = sync();
        if (st == status::ok) compact(s);
        return st;
    }

    status sync() {
        if (failed_) return status::io_error;
        if (fail_next_sync_) {
            // The sync failed: whether any of the pending writes reached the
            // disk is unknown, so the store stops for good (fail-stop).
            failed_ = true;
            return status::io_error;
        }
        synced_.insert(synced_.end(), pending_.begin(), pending_.end());
        pending_.clear();
        ++syncs_;
        return status::ok;
    }

    template <class Visitor>
    status recover(Visitor& v) const {
        for (const record& r : synced_) {
            switch (r.kind) {
                case record_kind::promise: v.on_promise(r.ballot); break;
                case record_kind::vote: v.on_vote(r.slot, r.ballot, r.values.view()); break;
                case record_kind::chosen: v.on_chosen(r.slot, r.values.view()); break;
                case record_kind::snapshot: v.on_snapshot(r.slot); break;
            }
        }
        return status::ok;
    }

    // The process dies. Unsynced writes are lost, or partly kept (mode).
    void crash(crash_mode mode = crash_mode::lose_unsynced, std::uint64_t seed = 0) {
        prng rng(seed);
        switch (mode) {
            case crash_mode::lose_unsynced: break;
            case crash_mode::keep_prefix: {
                const std::size_t kept = rng.below(pending_.size() + 1);
                synced_.insert(synced_.end(), pending_.begin(),
                               pending_.begin() + static_cast<std::ptrdiff_t>(kept));
                break;
            }
            case crash_mode::keep_any: {
                // The state machine's log and the votes share one sequence
                // (as in the write-ahead log, whose recovery stops at the
                // first record lost): keeping a vote past a lost chosen
                // entry would leave a vote further from the first
                // unapplied slot than any window, which no real log can
                // produce and restore() rightly refuses.
                bool chosen_lost = false;
                for (const record& r : pending_) {
                    const bool keep = rng.below(2) == 0;
                    if (r.kind == record_kind::chosen && !keep) chosen_lost = true;
                    if (keep && !(chosen_lost && r.kind == record_kind::vote)) synced_.push_back(r);
                }
                break;
            }
        }
        pending_.clear();
        fail_next_sync_ = false;
        failed_ = false;  // a new process opens the store again
    }

    // Fault injection: the next sync fails, and the store goes fail-stop.
    void fail_next_sync() noexcept { fail_next_sync_ = true; }
    bool failed() const noexcept { return failed_; }

    std::uint64_t syncs() const noexcept { return syncs_; }
    // The newest snapshot marker synced (0: none).
    slot_id snapshot_slot() const noexcept {
        slot_id newest{};
        for (const record& r : synced_) {
            if (r.kind == record_kind::snapshot && r.slot > newest) newest = r.slot;
        }
        return newest;
    }
    const std::vector<record>& synced() const noexcept { return synced_; }
    const std::vector<record>& pending() const noexcept { return pending_; }

private:
    // Records below a snapshot are no longer needed, except the newest
    // promise (a promise has no slot and must never be forgotten).
    // The compacted log reads: the newest promise, the snapshot marker, then
    // the records above the snapshot in their original order -- the order
    // recover() promises (snapshot first).
    void compact(slot_id below) {
        ballot_type promised{};
        std::vector<record> kept;
        for (const record& r : synced_) {
            if (r.kind == record_kind::promise) {
                if (r.ballot > promised) promised = r.ballot;
                continue;
            }
            if (r.kind == record_kind::snapshot || r.slot < below) continue;
            kept.push_back(r);
        }
        synced_.clear();
        if (!promised.is_zero()) {
            synced_.push_back(record{record_kind::promise, slot_id{}, promised, {}});
        }
        synced_.push_back(record{record_kind::snapshot, below, ballot_type{}, {}});
        synced_.insert(synced_.end(), kept.begin(), kept.end());
    }

    std::vector<record> synced_;
    std::vector<record> pending_;
    std::uint64_t syncs_ = 0;
    bool fail_next_sync_ = false;
    bool failed_ = false;
};

}  // namespace paxos::inline v0::storage
