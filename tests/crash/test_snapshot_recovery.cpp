// tests/crash/test_snapshot_recovery.cpp: the snapshot store and the log
// together (snapshot_recovery.hpp). The order: snapshot committed, then the
// log's marker. A crash between the two, on real files, and a restart that
// combines them and finishes the marker; the bad case (the marker's snapshot
// damaged) reported as such; and a crash at every write, sync, rename and
// directory change of a workload that saves and compacts, after which the
// state machine (snapshot plus log) equals what was chosen, never less than
// what was acknowledged, and never rests on a half-written snapshot.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <paxos/detail/crc32c.hpp>
#include <paxos/storage/posix_wal.hpp>
#include <paxos/storage/snapshot_recovery.hpp>

#include "fault_file_system.hpp"
#include "temp_dir.hpp"
#include "workload.hpp"

namespace {

using crash::record_kind;
using crash::status;
using paxos::slot_id;
using paxos::storage::restart_status;
using paxos::storage::snapshot_status;
using bytes = std::vector<std::byte>;

std::vector<int> chosen_values(std::uint64_t slot) { return crash::vote_values(slot, 9); }

crash::step chosen_batch(std::uint64_t first, std::uint64_t end) {
    crash::step s;
    for (std::uint64_t slot = first; slot < end; ++slot) {
        s.votes.push_back({record_kind::vote, slot, 9, chosen_values(slot)});
        s.chosen.push_back({record_kind::chosen, slot, 0, chosen_values(slot)});
    }
    s.sync = true;
    return s;
}

// A state machine that remembers every slot's values; its snapshot is all
// of them, encoded.
struct machine {
    std::vector<std::vector<int>> slots;

    void apply(slot_id s, std::span<const int> v) {
        REQUIRE(s.value == slots.size());  // in order, no gaps, no repeats
        slots.emplace_back(v.begin(), v.end());
    }
    bytes encode() const {
        bytes out;
        const auto put = [&](std::uint32_t x) {
            for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(x >> (8 * i)));
        };
        for (const auto& v : slots) {
            put(static_cast<std::uint32_t>(v.size()));
            for (const int x : v) put(static_cast<std::uint32_t>(x));
        }
        return out;
    }
    // Reads snapshot `info` from `store` and becomes it.
    template <class Store>
    bool load(Store& store, const paxos::storage::snapshot_info& info) {
        bytes data(static_cast<std::size_t>(info.size_bytes));
        const auto r = store.read(info.slot, 0, data);
        if (r.code != snapshot_status::ok || r.bytes != data.size()) return false;
        slots.clear();
        std::size_t at = 0;
        const auto get = [&]() {
            std::uint32_t x = 0;
            for (int i = 0; i < 4; ++i) {
                x |= static_cast<std::uint32_t>(static_cast<unsigned char>(data[at++])) << (8 * i);
            }
            return x;
        };
        while (at < data.size()) {
            std::vector<int> v(get());
            for (int& x : v) x = static_cast<int>(get());
            slots.push_back(std::move(v));
        }
        return slots.size() == info.slot.value;
    }
    bool matches_chosen() const {
        for (std::size_t s = 0; s < slots.size(); ++s) {
            if (slots[s] != chosen_values(s)) return false;
        }
        return true;
    }
};

// One node's storage: the log and the snapshot store side by side.
template <class File>
struct node_storage {
    paxos::storage::posix_wal<crash::config, File> wal;
    paxos::storage::snapshot_store<File> snapshots;
    paxos::storage::replica_recovery<crash::config> rec;
    machine sm;

    node_storage(const std::string& wal_dir, const std::string& snap_dir, File files)
        : wal(wal_dir, {.segment_bytes = 400}, files),
          snapshots(snap_dir, {.keep = 2, .chunk_bytes = 64}, files) {}

    paxos::storage::restart_result restart() {
        return paxos::storage::recover_with_snapshot(
            wal, snapshots, rec,
            [&](const paxos::storage::snapshot_info& info) { return sm.load(snapshots, info); },
            [&](slot_id s, std::span<const int> v) { sm.apply(s, v); });
    }
    // Persists and applies [first, end), as a ready loop would.
    status run(std::uint64_t first, std::uint64_t end) {
        const crash::step s = chosen_batch(first, end);
        if (const status st = crash::apply_step(wal, s); st != status::ok) return st;
        for (const auto& c : s.chosen) sm.apply(slot_id{c.slot}, c.values);
        return status::ok;
    }
    // Step 1 of saving: the state machine's state, through the store.
    snapshot_status save() {
        const bytes data = sm.encode();
        if (const auto st = snapshots.begin(slot_id{sm.slots.size()}); st != snapshot_status::ok) {
            return st;
        }
        for (std::size_t at = 0; at < data.size(); at += 50) {
            const std::size_t n = std::min<std::size_t>(50, data.size() - at);
            if (const auto st = snapshots.append(std::span(data).subspan(at, n));
                st != snapshot_status::ok) {
                return st;
            }
        }
        return snapshots.commit();
    }
};

using real_node = node_storage<paxos::storage::posix_file_system>;

}  // namespace

TEST_CASE("snapshot committed, crash before the log's marker: restart combines and marks") {
    crash::temp_dir tmp;
    const std::string wal_dir = tmp.sub("wal");
    const std::string snap_dir = tmp.sub("snap");
    {
        real_node n(wal_dir, snap_dir, {});
        const auto r = n.restart();
        REQUIRE(r.code == restart_status::ok);
        CHECK(r.first_unapplied == slot_id{0});
        for (std::uint64_t s = 0; s < 30; s += 5) REQUIRE(n.run(s, s + 5) == status::ok);
        REQUIRE(n.sm.slots.size() == 30);
        for (std::uint64_t s = 30; s < 40; s += 5) REQUIRE(n.run(s, s + 5) == status::ok);
        // Step 1 done at 40 (state through 39), then the process dies before step 2.
        REQUIRE(n.save() == snapshot_status::ok);
        CHECK(n.wal.snapshot_slot() == slot_id{0});
        REQUIRE(n.run(40, 45) == status::ok);
    }
    {
        real_node n(wal_dir, snap_dir, {});
        const auto r = n.restart();
        REQUIRE(r.code == restart_status::ok);
        CHECK(r.snapshot == slot_id{40});
        CHECK(r.log_snapshot == slot_id{0});      // the marker was never written
        CHECK(r.first_unapplied == slot_id{45});  // the snapshot, then 40..44 from the log
        CHECK(n.sm.slots.size() == 45);
        CHECK(n.sm.matches_chosen());
        CHECK(n.wal.snapshot_slot() == slot_id{40});  // the restart finished step 2
        const auto read =
            n.wal.read_chosen(slot_id{39}, 100, [&](slot_id, std::span<const int>) {});
        CHECK(read.stop == paxos::storage::read_stop::compacted);
        // The replica takes it from here.
        crash::replica_type replica(crash::replica_type::options{.self = paxos::node_id{0}});
        REQUIRE(replica.restore(n.rec.recovery(r.first_unapplied)).ok());
        CHECK(replica.applied_end() == slot_id{45});
        // A normal save: commit, then compact_log.
        REQUIRE(n.run(45, 55) == status::ok);
        REQUIRE(n.save() == snapshot_status::ok);
        REQUIRE(paxos::storage::compact_log(n.wal, n.snapshots) == status::ok);
        CHECK(n.wal.snapshot_slot() == slot_id{55});
        REQUIRE(n.run(55, 60) == status::ok);
    }
    {
        real_node n(wal_dir, snap_dir, {});
        const auto r = n.restart();
        REQUIRE(r.code == restart_status::ok);
        CHECK(r.snapshot == slot_id{55});
        CHECK(r.log_snapshot == slot_id{55});
        CHECK(r.first_unapplied == slot_id{60});
        CHECK(n.sm.matches_chosen());
    }
    // The bad case: the snapshot the log was compacted to is damaged.
    const std::string newest =
        snap_dir + "/" + paxos::storage::snapshot_store<>::file_name(slot_id{55}, true);
    std::filesystem::resize_file(newest, std::filesystem::file_size(newest) - 1);
    real_node n(wal_dir, snap_dir, {});
    const auto r = n.restart();
    CHECK(r.code == restart_status::snapshot_behind_log);
    CHECK(r.snapshot == slot_id{40});  // the previous one, still usable
    CHECK(r.log_snapshot == slot_id{55});
    CHECK(r.first_unapplied == slot_id{40});  // nothing applied on top of a state lacking 40..54
    CHECK(n.sm.slots.size() == 40);
    REQUIRE(n.snapshots.refused().size() == 1);
    CHECK(n.snapshots.refused()[0].file == newest);
}

namespace {

using fault_node = node_storage<crash::fault_file_system>;

// What had been acknowledged when the workload had issued `ops` disk ops.
struct acknowledged {
    std::size_t ops = 0;
    std::uint64_t chosen_end = 0;  // a persist that synced these had returned
    std::uint64_t snapshot = 0;    // a commit of this slot had returned
};

}  // namespace

TEST_CASE("a crash at every step of save-and-compact: snapshot plus log is what was chosen") {
    crash::fault_disk disk;
    std::vector<acknowledged> acks;
    {
        fault_node n("/wal", "/snap", crash::fault_file_system{&disk});
        REQUIRE(n.restart().code == restart_status::ok);
        acknowledged a;
        for (std::uint64_t s = 0; s < 48; s += 4) {
            REQUIRE(n.run(s, s + 4) == status::ok);
            a.chosen_end = s + 4;
            a.ops = disk.ops().size();
            acks.push_back(a);
            if (s % 12 == 8) {
                REQUIRE(n.save() == snapshot_status::ok);
                a.snapshot = n.sm.slots.size();
                a.ops = disk.ops().size();
                acks.push_back(a);
                REQUIRE(paxos::storage::compact_log(n.wal, n.snapshots) == status::ok);
            }
        }
        CHECK(n.wal.snapshot_slot() == slot_id{48});
    }
    std::size_t restarts = 0;
    std::size_t from_snapshot = 0;
    std::size_t marker_caught_up = 0;
    for (std::size_t k = 0; k <= disk.ops().size(); ++k) {
        acknowledged need;
        for (const auto& a : acks) {
            if (a.ops <= k) need = a;
        }
        const std::size_t dir_ops = disk.unsynced_dir_ops(k);
        for (std::size_t kept = 0; kept <= dir_ops; ++kept) {
            for (const auto mode : {crash::crash_mode::lost, crash::crash_mode::reordered}) {
                crash::fault_disk image(disk.crash(k, mode, k, 0, kept).files);
                fault_node n("/wal", "/snap", crash::fault_file_system{&image});
                const auto r = n.restart();
                ++restarts;
                REQUIRE_MESSAGE(r.code == restart_status::ok,
                                "crash point " << k << " (" << kept << " directory changes kept): "
                                               << std::string(paxos::storage::to_string(r.code)));
                CHECK(n.snapshots.refused().empty());
                CHECK(r.snapshot.value >= need.snapshot);
                CHECK(r.first_unapplied.value >= need.chosen_end);
                CHECK(n.sm.slots.size() == r.first_unapplied.value);
                REQUIRE_MESSAGE(n.sm.matches_chosen(), "crash point " << k);
                CHECK(n.wal.snapshot_slot() == r.snapshot);
                if (r.snapshot.value > 0) ++from_snapshot;
                if (r.snapshot > r.log_snapshot) ++marker_caught_up;
            }
        }
    }
    MESSAGE(restarts << " restarts; " << from_snapshot << " loaded a snapshot, " << marker_caught_up
                     << " found it ahead of the log's marker");
    CHECK(restarts > 300);
    CHECK(from_snapshot > 100);
    CHECK(marker_caught_up > 10);
}

TEST_CASE("a crash at every step of an install: no half-received snapshot is used, votes stay") {
    // A node that applied slots 0..7 and voted in slots 30..33 (ballot 12,
    // its promise) receives a peer's snapshot through slot 29 in chunks,
    // commits it, installs it (loads it, then the log's marker), and goes
    // on learning 30..33. A crash anywhere, in every damage mode: the
    // restart uses the snapshot only once it was committed whole, never a
    // part of it; the state machine is what was chosen; and the promise and
    // the votes at or above the snapshot, once synced, are still there.
    machine peer;
    for (std::uint64_t s = 0; s < 30; ++s) peer.slots.push_back(chosen_values(s));
    const bytes image = peer.encode();
    const std::uint32_t crc = paxos::detail::crc32c(image);
    const auto voted = [](std::uint64_t slot) { return crash::vote_values(slot, 12); };

    struct mark {
        std::size_t ops = 0;
        std::uint64_t chosen_end = 0;
        bool votes = false;          // the promise and the votes at 30..33 were synced
        std::uint64_t snapshot = 0;  // the received snapshot was committed
    };
    std::vector<mark> marks;
    crash::fault_disk disk;
    {
        fault_node n("/wal", "/snap", crash::fault_file_system{&disk});
        REQUIRE(n.restart().code == restart_status::ok);
        mark m;
        for (std::uint64_t s = 0; s < 8; s += 4) {
            REQUIRE(n.run(s, s + 4) == status::ok);
            m.chosen_end = s + 4;
            m.ops = disk.ops().size();
            marks.push_back(m);
        }
        crash::step v;
        v.promise_changed = true;
        v.promise = 12;
        for (std::uint64_t slot = 30; slot < 34; ++slot) {
            v.votes.push_back({record_kind::vote, slot, 12, voted(slot)});
        }
        v.sync = true;
        REQUIRE(crash::apply_step(n.wal, v) == status::ok);
        m.votes = true;
        m.ops = disk.ops().size();
        marks.push_back(m);
        REQUIRE(n.snapshots.begin_receive(slot_id{30}, image.size(), crc) == snapshot_status::ok);
        for (std::size_t at = 0; at < image.size(); at += 40) {
            const std::size_t len = std::min<std::size_t>(40, image.size() - at);
            REQUIRE(n.snapshots.append(std::span(image).subspan(at, len)) == snapshot_status::ok);
        }
        REQUIRE(n.snapshots.commit() == snapshot_status::ok);
        m.snapshot = 30;
        m.ops = disk.ops().size();
        marks.push_back(m);
        // Install: the state machine loads it, then the log records the marker.
        REQUIRE(n.sm.load(n.snapshots, *n.snapshots.newest()));
        REQUIRE(paxos::storage::compact_log(n.wal, n.snapshots) == status::ok);
        crash::step learned;
        for (std::uint64_t slot = 30; slot < 34; ++slot) {
            learned.chosen.push_back({record_kind::chosen, slot, 0, chosen_values(slot)});
        }
        learned.sync = true;
        REQUIRE(crash::apply_step(n.wal, learned) == status::ok);
        for (const auto& c : learned.chosen) n.sm.apply(slot_id{c.slot}, c.values);
        m.chosen_end = 34;
        m.ops = disk.ops().size();
        marks.push_back(m);
    }
    std::size_t restarts = 0;
    std::size_t installed = 0;
    std::size_t resumable = 0;
    for (std::size_t k = 0; k <= disk.ops().size(); ++k) {
        mark need;
        for (const auto& m : marks) {
            if (m.ops <= k) need = m;
        }
        const std::size_t dir_ops = disk.unsynced_dir_ops(k);
        for (std::size_t kept = 0; kept <= dir_ops; ++kept) {
            for (const auto mode : {crash::crash_mode::lost, crash::crash_mode::reordered}) {
                crash::fault_disk crashed(disk.crash(k, mode, k, 0, kept).files);
                fault_node n("/wal", "/snap", crash::fault_file_system{&crashed});
                const auto r = n.restart();
                ++restarts;
                REQUIRE_MESSAGE(
                    r.code == restart_status::ok,
                    "crash point " << k << ": " << std::string(paxos::storage::to_string(r.code)));
                CHECK(n.snapshots.refused().empty());
                CHECK((r.snapshot.value == 0 || r.snapshot.value == 30));  // whole, or not at all
                CHECK(r.snapshot.value >= need.snapshot);
                CHECK(r.first_unapplied.value >= need.chosen_end);
                CHECK(n.sm.slots.size() == r.first_unapplied.value);
                REQUIRE_MESSAGE(n.sm.matches_chosen(), "crash point " << k);
                if (r.snapshot.value == 30) ++installed;
                if (n.snapshots.partial()) ++resumable;
                if (need.votes) {
                    CHECK(n.rec.promised().raw() >= 12);
                    std::size_t kept_votes = 0;
                    for (const auto& v : n.rec.recovery(r.first_unapplied).accepted) {
                        if (v.slot.value >= 30 && v.ballot.raw() == 12) {
                            const std::vector<int> want = voted(v.slot.value);
                            CHECK(std::equal(v.values.begin(), v.values.end(), want.begin(),
                                             want.end()));
                            ++kept_votes;
                        }
                    }
                    // Every vote not yet below what the state machine applied.
                    const std::uint64_t from = std::max<std::uint64_t>(30, r.first_unapplied.value);
                    CHECK(kept_votes == (from < 34 ? 34 - from : 0));
                }
            }
        }
    }
    MESSAGE(restarts << " restarts; " << installed << " found the snapshot installed or committed, "
                     << resumable << " a receive to resume");
    CHECK(restarts > 100);
    CHECK(installed > 10);
    CHECK(resumable >= 1);  // appends are not synced: a crash rarely keeps whole chunks
}
