// paxos/storage/snapshot_recovery.hpp: the snapshot store and the log
// together: the order in which a snapshot is saved, and how a restart
// combines the newest complete snapshot with the log after it.
//
// Saving (the order the log's compaction depends on):
//   1. the state machine writes its state through slot s - 1 into the store:
//      begin(s), append(...), commit(): durable, data and name;
//   2. compact_log(wal, store): the log records its snapshot marker at the
//      store's newest complete snapshot and deletes the segments below it.
// compact_log takes the slot from the store rather than from the caller, so
// the marker can never name a snapshot that is not durable.
//
// Restarting (recover_with_snapshot): with S the newest complete snapshot in
// the store (0 if none) and W the log's marker,
//   * S == W, the usual case: load S, then apply the log's chosen entries
//     S, S + 1, ... as long as they are contiguous;
//   * S > W: the process died between steps 1 and 2. The log still holds
//     everything from W, so load S, apply the log's chosen entries from S on,
//     and finish step 2 (record the marker at S);
//   * S < W: the snapshot the log was compacted to is damaged or gone (the
//     store's refused() says which file and where). Slots [S, W) exist on no
//     local disk: snapshot_behind_log. The promise and the votes are intact
//     in the log, but the state machine cannot be rebuilt here: fetch a
//     snapshot at or above W from a peer (or repair the file) first.
// first_unapplied is then S extended by that contiguous run: the replica's
// restore() argument (rec.recovery(first_unapplied)).
#pragma once

#include <span>

#include "../assert.hpp"
#include "durable_state.hpp"
#include "snapshot_store.hpp"

namespace paxos::inline v0::storage {

enum class restart_status : std::uint8_t {
    ok,
    log_failed,           // the log's recover() or snapshot() failed: see its last_error()
    snapshots_failed,     // the snapshot store's open() failed (io_error): its last_error()
    load_failed,          // the load callback returned false
    snapshot_behind_log,  // the log's marker is above the newest usable snapshot
};

constexpr const char* to_string(restart_status s) noexcept {
    switch (s) {
        case restart_status::ok: return "ok";
        case restart_status::log_failed: return "the write-ahead log failed";
        case restart_status::snapshots_failed: return "the snapshot store failed";
        case restart_status::load_failed: return "loading the snapshot failed";
        case restart_status::snapshot_behind_log:
            return "the log was compacted past the newest usable snapshot";
    }
    return "unknown restart status";
}

struct restart_result {
    restart_status code = restart_status::ok;
    slot_id snapshot{};         // S: the snapshot loaded (0: none)
    slot_id log_snapshot{};     // W: the log's marker as found (before any catch-up of it)
    slot_id first_unapplied{};  // the state machine has applied every slot below this
};

// Step 2 of saving: the log's marker at the store's newest complete snapshot.
template <class Wal, class Snapshots>
status compact_log(Wal& wal, const Snapshots& snapshots) {
    const auto newest = snapshots.newest();
    PAXOS_ASSERT(newest.has_value());  // commit() a snapshot first
    return wal.snapshot(newest->slot);
}

// Opens `snapshots`, calls load(const snapshot_info&) for the newest complete
// one (it reads the bytes with snapshots.read() and returns false on
// failure), replays `wal` into `rec` while passing the chosen entries that
// extend the snapshot to apply(slot, values), and catches the log's marker up
// with the snapshot. See the header comment for the three cases.
template <class Config, class Wal, class Snapshots, class Load, class Apply>
restart_result recover_with_snapshot(Wal& wal, Snapshots& snapshots, replica_recovery<Config>& rec,
                                     Load&& load, Apply&& apply) {
    restart_result out;
    if (snapshots.open() != snapshot_status::ok) {
        out.code = restart_status::snapshots_failed;
        return out;
    }
    if (const auto newest = snapshots.newest()) {
        if (!load(*newest)) {
            out.code = restart_status::load_failed;
            return out;
        }
        out.snapshot = newest->slot;
        rec.on_snapshot(out.snapshot);  // the state machine is at S now
    }
    // Applies a chosen entry only if it extends what the state machine has:
    // after a log marker above S (the bad case) nothing fits, so nothing is
    // applied on top of a state that lacks [S, W).
    struct forwarding {
        replica_recovery<Config>& rec;
        Apply& apply;
        slot_id applied_end;
        void on_promise(typename Config::ballot b) { rec.on_promise(b); }
        void on_vote(slot_id s, typename Config::ballot b,
                     std::span<const typename Config::value_type> v) {
            rec.on_vote(s, b, v);
        }
        void on_chosen(slot_id s, std::span<const typename Config::value_type> v) {
            rec.on_chosen(s, v);
            if (s != applied_end) return;
            apply(s, v);
            applied_end = s.next();
        }
        void on_snapshot(slot_id s) { rec.on_snapshot(s); }
    } visitor{rec, apply, out.snapshot};
    if (wal.recover(visitor) != status::ok) {
        out.code = restart_status::log_failed;
        return out;
    }
    out.log_snapshot = wal.snapshot_slot();
    out.first_unapplied = visitor.applied_end;
    if (out.log_snapshot > out.snapshot) {
        out.code = restart_status::snapshot_behind_log;
        return out;
    }
    PAXOS_ASSERT(rec.first_unapplied() == visitor.applied_end);
    if (out.snapshot > out.log_snapshot && wal.snapshot(out.snapshot) != status::ok) {
        out.code = restart_status::log_failed;  // step 2 of the interrupted save
    }
    return out;
}

}  // namespace paxos::inline v0::storage
