// tests/crash/test_crash_points.cpp: a crash at every write and sync boundary
// of a recorded workload, in five modes, each followed by a recovery that is
// checked against what was written and what was synced.
//
// Modes: unsynced writes lost; the last write torn at each byte boundary of
// its last record (and a few earlier ones); unsynced sectors persisted in any
// order with or without the size update; one bit flipped in the durable
// image; a range of the durable image zero-filled. A check (check_recovery)
// demands:
//   * every record covered by a completed sync, or acknowledged by a call
//     that returned after one, is replayed (unless it lies below the
//     replayed snapshot, where the log may have dropped it);
//   * every replayed record was written whole (exact match with a record of
//     the workload), votes and chosen entries in the order they were
//     written, with no hole (a prefix of the log);
//   * crash modes never yield corrupt; damage that a later record proves was
//     synced yields corrupt, naming the damaged file and an offset inside
//     the damaged write, and the visitor is not called at all.
// With preallocated segments (wal_options::preallocate) the same modes run
// again; damage to zeros no record holds yet must change nothing. With
// damage, a record whose segment the log had deleted is not demanded: a
// damaged last snapshot record reads as a torn write and recovery falls back
// to an older snapshot, but compaction had already acted on the newer one.
// After each lost-mode recovery, the recovered log takes one more batch, and
// a second crash and recovery must return the old records plus the new one
// (the truncation was made durable before appending).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include <paxos/storage/posix_wal.hpp>

#include "fault_file_system.hpp"
#include "workload.hpp"

namespace {

using crash::bytes;
using crash::crash_image;
using crash::crash_mode;
using crash::fault_disk;
using crash::fault_file_system;
using crash::logical_record;
using crash::op_kind;
using crash::record_kind;
using crash::status;
using wal_type = paxos::storage::posix_wal<crash::config, fault_file_system>;

constexpr const char* wal_dir = "/wal";

// Where one record of the workload went.
struct written_record {
    logical_record record;
    std::size_t write_op = 0;  // index of the write op that carried it
    std::size_t step = 0;      // the call that wrote it
    // Ops recorded when the first syncing call at or after `step` returned:
    // from that crash point on, the record was acknowledged as durable.
    std::size_t acknowledged_at = SIZE_MAX;
};

struct recorded_run {
    fault_disk disk;
    std::vector<written_record> written;
    std::vector<std::size_t> first_sync_after;  // per op: index of the next sync of that file
};

bool all_zero(const bytes& data) {
    return std::all_of(data.begin(), data.end(), [](std::byte b) { return b == std::byte{0}; });
}

recorded_run record(const std::vector<crash::step>& steps, paxos::storage::wal_options opts) {
    recorded_run run;
    {
        wal_type wal(wal_dir, opts, fault_file_system{&run.disk});
        paxos::storage::null_visitor<crash::ballot, int> none;
        REQUIRE(wal.recover(none) == status::ok);
        std::size_t step_index = 0;
        for (const crash::step& s : steps) {
            const std::size_t before = run.disk.ops().size();
            REQUIRE(crash::apply_step(wal, s) == status::ok);
            std::vector<std::size_t> writes;
            for (std::size_t i = before; i < run.disk.ops().size(); ++i) {
                const auto& op = run.disk.ops()[i];
                // A write of zeros only is preallocation, never a record.
                if (op.kind == op_kind::write && !all_zero(op.data)) writes.push_back(i);
            }
            const auto recs = s.records();
            REQUIRE(!writes.empty());
            // One write per call (group commit), or one per record at the end
            // (sync_each_record; rotation's head records come first).
            REQUIRE((writes.size() == 1 || writes.size() >= recs.size()));
            for (std::size_t r = 0; r < recs.size(); ++r) {
                const std::size_t w =
                    writes.size() == 1 ? writes[0] : writes[writes.size() - recs.size() + r];
                run.written.push_back({recs[r], w, step_index, SIZE_MAX});
            }
            if (s.is_snapshot || s.sync) {
                for (auto& w : run.written) {
                    if (w.acknowledged_at == SIZE_MAX) w.acknowledged_at = run.disk.ops().size();
                }
            }
            ++step_index;
        }
    }
    const auto& ops = run.disk.ops();
    run.first_sync_after.assign(ops.size(), SIZE_MAX);
    for (std::size_t i = 0; i < ops.size(); ++i) {
        for (std::size_t j = i + 1; j < ops.size(); ++j) {
            if (ops[j].kind == op_kind::sync && ops[j].path == ops[i].path) {
                run.first_sync_after[i] = j;
                break;
            }
        }
    }
    return run;
}

struct damage {
    std::string path;
    std::uint64_t offset = 0;    // first changed byte
    std::size_t write_op = 0;    // the write that had put it there
    bool proven_synced = false;  // a later durable write was made after its sync
    bool unused = false;         // in zeros of a preallocated segment that no record holds yet
};

struct counters {
    std::size_t crash_points = 0;
    std::size_t recoveries = 0;
    std::size_t corrupt_expected = 0;
    std::map<std::string, std::size_t> per_mode;
};

struct recovery_result {
    status st = status::ok;
    crash::recorder got;
    paxos::storage::wal_error error;
};

recovery_result recover_image(fault_disk& disk, paxos::storage::wal_options opts,
                              std::optional<wal_type>& keep) {
    recovery_result r;
    keep.emplace(wal_dir, opts, fault_file_system{&disk});
    r.st = keep->recover(r.got);
    r.error = keep->last_error();
    return r;
}

// The checks of the header comment, for a crash after the first `k` ops.
void check_recovery(const recorded_run& run, std::size_t k, const recovery_result& r,
                    const damage* d, const crash::image& files) {
    const auto& ops = run.disk.ops();
    // Acknowledged (its persist or a later one returned after a sync) or
    // synced (the disk saw a sync of it complete).
    const auto synced = [&](const written_record& w) {
        return w.acknowledged_at <= k || run.first_sync_after[w.write_op] < k;
    };
    // Records a correct log must return: synced, and not after the damage.
    const auto required = [&](const written_record& w) {
        return synced(w) && (d == nullptr || w.write_op < d->write_op);
    };
    if (d == nullptr) {
        REQUIRE_MESSAGE(r.st == status::ok, "crash point " << k << ": " << r.error.what);
    } else if (d->proven_synced) {
        REQUIRE_MESSAGE(r.st == status::corrupt, "crash point " << k << ": damage at " << d->path
                                                                << "+" << d->offset
                                                                << " not reported");
    }
    if (r.st == status::corrupt) {
        REQUIRE(d != nullptr);
        CHECK(std::string(r.error.file_name()) == d->path);
        CHECK(r.error.offset >= ops[d->write_op].offset);
        CHECK(r.error.offset <= d->offset);
        CHECK(r.got.records.empty());  // refused before replaying anything
        CHECK(r.got.snapshot_calls == 0);
        return;
    }
    REQUIRE(r.st == status::ok);

    // The snapshot: one the workload wrote, and not older than a synced one.
    std::uint64_t snapshot_required = 0;
    std::set<std::uint64_t> snapshots_written{0};
    std::set<std::uint64_t> promises_written;
    std::uint64_t promise_required = 0;
    std::map<std::tuple<record_kind, std::uint64_t, std::uint64_t>, std::size_t> index_of;
    for (std::size_t j = 0; j < run.written.size(); ++j) {
        const written_record& w = run.written[j];
        if (w.write_op >= k) continue;
        if (w.record.kind == record_kind::snapshot) {
            snapshots_written.insert(w.record.slot);
            if (required(w)) snapshot_required = std::max(snapshot_required, w.record.slot);
        } else if (w.record.kind == record_kind::promise) {
            promises_written.insert(w.record.ballot_raw);
            if (required(w)) promise_required = std::max(promise_required, w.record.ballot_raw);
        } else {
            index_of[{w.record.kind, w.record.slot, w.record.ballot_raw}] = j;
        }
    }
    CHECK(snapshots_written.count(r.got.snapshot) == 1);
    CHECK(r.got.snapshot >= snapshot_required);

    std::uint64_t promise_seen = 0;
    std::optional<std::size_t> last_index;
    std::set<std::size_t> returned;
    for (const logical_record& rec : r.got.records) {
        if (rec.kind == record_kind::promise) {
            REQUIRE_MESSAGE(promises_written.count(rec.ballot_raw) == 1,
                            "crash point " << k << ": a promise never written");
            promise_seen = std::max(promise_seen, rec.ballot_raw);
            continue;
        }
        const auto it = index_of.find({rec.kind, rec.slot, rec.ballot_raw});
        REQUIRE_MESSAGE(it != index_of.end(),
                        "crash point " << k << ": slot " << rec.slot << " was never written");
        REQUIRE(run.written[it->second].record == rec);  // whole, not garbage
        REQUIRE(rec.slot >= r.got.snapshot);
        if (last_index) REQUIRE(it->second > *last_index);  // log order
        last_index = it->second;
        returned.insert(it->second);
    }
    CHECK(promise_seen >= promise_required);
    for (std::size_t j = 0; j < run.written.size(); ++j) {
        const written_record& w = run.written[j];
        const record_kind kind = w.record.kind;
        if (kind == record_kind::promise || kind == record_kind::snapshot) continue;
        if (w.record.slot < r.got.snapshot) continue;
        // A damaged last snapshot record reads as a torn write, so recovery
        // falls back to an older snapshot; the segments the damaged one let
        // compaction delete are gone all the same (the limit of any
        // single-copy log: README, "Durable storage").
        if (d != nullptr && files.count(ops[w.write_op].path) == 0) continue;
        const bool before_last = last_index && j < *last_index;
        if (required(w) || before_last) {
            REQUIRE_MESSAGE(returned.count(j) == 1,
                            "crash point " << k << ": record " << j << " (slot " << w.record.slot
                                           << ") missing"
                                           << std::string(before_last ? " in the middle" : ""));
        }
    }
}

// Recovery of a recovered log after one more batch and another crash.
void check_continue(fault_disk& disk, paxos::storage::wal_options opts, wal_type& wal,
                    const crash::recorder& before, std::size_t k, counters& count) {
    crash::step extra;
    extra.promise_changed = false;
    const std::uint64_t slot = 1'000'000 + k;
    extra.votes.push_back({record_kind::vote, slot, 3, crash::vote_values(slot, 3)});
    extra.sync = true;
    REQUIRE(crash::apply_step(wal, extra) == status::ok);
    fault_disk again(disk.crash(disk.ops().size(), crash_mode::lost).files);
    std::optional<wal_type> keep;
    const recovery_result r = recover_image(again, opts, keep);
    ++count.recoveries;
    ++count.per_mode["recovered, appended, crashed again"];
    REQUIRE(r.st == status::ok);
    auto expected = before.slotted();
    expected.push_back(extra.votes.front());
    CHECK(r.got.slotted() == expected);
    CHECK(r.got.snapshot == before.snapshot);
}

// Flips one bit or zero-fills one range inside the bytes of one write.
std::optional<damage> plant_damage(const recorded_run& run, std::size_t k, crash_image& img,
                                   paxos::prng& rng, bool flip) {
    std::vector<std::string> candidates;
    for (const auto& [path, content] : img.files) {
        if (!content.empty()) candidates.push_back(path);
    }
    if (candidates.empty()) return std::nullopt;
    const std::string path = candidates[rng.below(candidates.size())];
    bytes& content = img.files[path];
    const auto& writer = img.writers[path];
    std::size_t p = rng.below(content.size());
    const std::int64_t w = writer[p];
    REQUIRE(w >= 0);
    damage d{path, p, static_cast<std::size_t>(w), false, false};
    // Preallocation's zeros (a write of zeros only: a record never is one).
    d.unused = all_zero(run.disk.ops()[static_cast<std::size_t>(w)].data);
    if (flip) {
        content[p] ^= static_cast<std::byte>(1u << rng.below(8));
    } else {
        const std::size_t len = 1 + rng.below(48);
        std::optional<std::size_t> first_changed;
        for (std::size_t i = p; i < std::min(content.size(), p + len) && writer[i] == w; ++i) {
            if (content[i] != std::byte{0} && !first_changed) first_changed = i;
            content[i] = std::byte{0};
        }
        if (!first_changed) return std::nullopt;  // the range was zero already
        d.offset = *first_changed;
    }
    const std::size_t sync_after = run.first_sync_after[d.write_op];
    REQUIRE(sync_after < k);  // it is in the durable image, so it was synced
    for (const auto& [file, writers] : img.writers) {
        for (const std::int64_t x : writers) {
            if (x > static_cast<std::int64_t>(sync_after)) d.proven_synced = true;
        }
    }
    return d;
}

void run_one(const recorded_run& run, std::size_t k, crash_image img, const damage* d,
             paxos::storage::wal_options opts, const char* mode, counters& count,
             bool continue_after = false) {
    fault_disk disk(img.files);
    std::optional<wal_type> keep;
    const recovery_result r = recover_image(disk, opts, keep);
    ++count.recoveries;
    ++count.per_mode[mode];
    INFO("crash mode: " << std::string(mode));
    if (d != nullptr && d->proven_synced) ++count.corrupt_expected;
    check_recovery(run, k, r, d, img.files);
    if (continue_after && r.st == status::ok) check_continue(disk, opts, *keep, r.got, k, count);
}

counters crash_everywhere(const std::vector<crash::step>& steps, paxos::storage::wal_options opts,
                          std::uint64_t seed) {
    const recorded_run run = record(steps, opts);
    const auto& ops = run.disk.ops();
    counters count;
    paxos::prng rng(seed);
    for (std::size_t k = 0; k <= ops.size(); ++k) {
        ++count.crash_points;
        run_one(run, k, run.disk.crash(k, crash_mode::lost), nullptr, opts, "unsynced writes lost",
                count, true);
        for (std::uint64_t s = 0; s < 2; ++s) {
            run_one(run, k, run.disk.crash(k, crash_mode::reordered, rng.next()), nullptr, opts,
                    "unsynced sectors reordered", count);
        }
        if (k > 0 && ops[k - 1].kind == op_kind::write) {
            // Every byte boundary of the last record (records here are under
            // 96 bytes), and a few boundaries before it.
            const std::size_t len = ops[k - 1].data.size();
            const std::size_t tail = len > 96 ? len - 96 : 0;
            for (std::size_t b = tail; b < len; ++b) {
                run_one(run, k, run.disk.crash(k, crash_mode::torn, 0, b), nullptr, opts,
                        "last write torn", count);
            }
            for (int i = 0; i < 4 && tail > 0; ++i) {
                run_one(run, k, run.disk.crash(k, crash_mode::torn, 0, rng.below(tail)), nullptr,
                        opts, "last write torn", count);
            }
        }
        for (int i = 0; i < 3; ++i) {
            const bool flip = i < 2;
            crash_image img = run.disk.crash(k, crash_mode::lost);
            const std::optional<damage> d = plant_damage(run, k, img, rng, flip);
            if (!d) continue;
            // Damage to space no record holds yet must change nothing.
            const char* mode = d->unused ? "preallocated zeros damaged"
                               : flip    ? "one bit flipped"
                                         : "range zero-filled";
            run_one(run, k, img, d->unused ? nullptr : &*d, opts, mode, count);
        }
    }
    return count;
}

void report(const char* name, const counters& c) {
    std::printf(
        "%s: %zu crash points, %zu recoveries checked, %zu with damage proven "
        "synced (corrupt required)\n",
        name, c.crash_points, c.recoveries, c.corrupt_expected);
    for (const auto& [mode, n] : c.per_mode) std::printf("    %-36s %zu\n", mode.c_str(), n);
}

}  // namespace

TEST_CASE("crash at every write and sync boundary, group commit, small segments") {
    paxos::storage::wal_options opts;
    opts.segment_bytes = 1024;  // rotation and compaction happen many times
    const counters c = crash_everywhere(crash::make_workload(7, 72), opts, 11);
    report("group commit", c);
    CHECK(c.crash_points >= 150);
    CHECK(c.recoveries >= 500);
    CHECK(c.corrupt_expected >= 50);
    CHECK(c.per_mode.size() == 6);
}

TEST_CASE("crash at every write and sync boundary, one sync per record") {
    paxos::storage::wal_options opts;
    opts.segment_bytes = 2048;
    opts.sync_each_record = true;
    const counters c = crash_everywhere(crash::make_workload(21, 30), opts, 5);
    report("sync per record", c);
    CHECK(c.recoveries >= 500);
    CHECK(c.corrupt_expected >= 20);
}

TEST_CASE("a rotation first syncs what the old segment holds unsynced") {
    // Every call opens a new segment (tiny segments), and every other call
    // writes chosen entries without a sync: each rotation leaves an unsynced
    // tail behind unless it syncs it.
    std::vector<crash::step> steps;
    for (std::uint64_t slot = 0; slot < 12; ++slot) {
        crash::step vote;
        vote.votes.push_back({record_kind::vote, slot, 3, crash::vote_values(slot, 3)});
        vote.sync = true;
        steps.push_back(vote);
        crash::step chosen;
        chosen.chosen.push_back({record_kind::chosen, slot, 0, crash::vote_values(slot, 3)});
        steps.push_back(chosen);
    }
    paxos::storage::wal_options opts;
    opts.segment_bytes = 16;
    const counters c = crash_everywhere(steps, opts, 3);
    report("rotation after unsynced writes", c);
    CHECK(c.recoveries >= 500);
}

TEST_CASE("crash at every write and sync boundary, preallocated segments") {
    // Records overwrite zeros instead of growing the file; rotations,
    // compaction and every crash mode as in the first case.
    paxos::storage::wal_options opts;
    opts.segment_bytes = 1024;
    opts.preallocate = true;
    const counters c = crash_everywhere(crash::make_workload(7, 72), opts, 11);
    report("preallocated", c);
    CHECK(c.crash_points >= 150);
    CHECK(c.recoveries >= 500);
    CHECK(c.corrupt_expected >= 50);
    CHECK(c.per_mode.count("preallocated zeros damaged") == 1);
}

TEST_CASE("crash at every write and sync boundary, preallocated, one sync per record") {
    paxos::storage::wal_options opts;
    opts.segment_bytes = 2048;
    opts.sync_each_record = true;
    opts.preallocate = true;
    const counters c = crash_everywhere(crash::make_workload(21, 30), opts, 5);
    report("preallocated, sync per record", c);
    CHECK(c.recoveries >= 500);
    CHECK(c.corrupt_expected >= 20);
}
