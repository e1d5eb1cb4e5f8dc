// tests/crash/test_wal_read.cpp: posix_wal::read_chosen, the catch-up read
// of chosen entries from the segment files: during a life and after
// recovery, across rotation, after compaction (compacted below the
// snapshot), gaps and re-learned duplicates, the visitor's stop, the index's
// size, a record damaged on disk after it was written (corrupt, never
// garbage), and at every crash point of a recorded workload: what recovery
// replays is what the index serves.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <paxos/storage/posix_wal.hpp>

#include "fault_file_system.hpp"
#include "temp_dir.hpp"
#include "workload.hpp"

namespace {

using crash::record_kind;
using crash::status;
using paxos::slot_id;
using paxos::storage::read_stop;
using wal_type = paxos::storage::posix_wal<crash::config>;
using fault_wal = paxos::storage::posix_wal<crash::config, crash::fault_file_system>;

using entry = std::pair<std::uint64_t, std::vector<int>>;

std::vector<int> chosen_values(std::uint64_t slot) { return crash::vote_values(slot, 7); }

// One synced batch: a vote and a chosen entry for each slot of [first, end).
crash::step chosen_batch(std::uint64_t first, std::uint64_t end) {
    crash::step s;
    for (std::uint64_t slot = first; slot < end; ++slot) {
        s.votes.push_back({record_kind::vote, slot, 7, chosen_values(slot)});
        s.chosen.push_back({record_kind::chosen, slot, 0, chosen_values(slot)});
    }
    s.sync = true;
    return s;
}

std::vector<entry> expected(std::uint64_t first, std::uint64_t end) {
    std::vector<entry> out;
    for (std::uint64_t slot = first; slot < end; ++slot)
        out.emplace_back(slot, chosen_values(slot));
    return out;
}

template <class Wal>
paxos::storage::chosen_read read_all(Wal& wal, std::uint64_t from, std::vector<entry>& got,
                                     std::size_t max = 1'000'000) {
    return wal.read_chosen(slot_id{from}, max, [&](slot_id s, std::span<const int> v) {
        got.emplace_back(s.value, std::vector<int>(v.begin(), v.end()));
    });
}

template <class Wal>
void fill(Wal& wal, std::uint64_t first, std::uint64_t end, std::uint64_t per_batch = 4) {
    for (std::uint64_t s = first; s < end; s += per_batch) {
        REQUIRE(crash::apply_step(wal, chosen_batch(s, std::min(end, s + per_batch))) ==
                status::ok);
    }
}

}  // namespace

TEST_CASE("read_chosen serves this life's entries in slot order across segment rotation") {
    crash::temp_dir tmp;
    wal_type wal(tmp.path(), {.segment_bytes = 512});
    paxos::storage::null_visitor<crash::ballot, int> none;
    REQUIRE(wal.recover(none) == status::ok);
    std::vector<entry> got;
    auto r = read_all(wal, 0, got);
    CHECK(r.code == status::ok);
    CHECK(r.stop == read_stop::end);
    CHECK(r.entries == 0);

    fill(wal, 0, 120);
    CHECK(wal.segment_count() > 5);
    CHECK(wal.chosen_end() == slot_id{120});
    // In pieces of 25, as a leader answering a learner chunk by chunk.
    std::uint64_t next = 0;
    for (int call = 0; call < 10 && next < 120; ++call) {
        r = read_all(wal, next, got, 25);
        REQUIRE(r.code == status::ok);
        CHECK(r.entries == 25 - (next + 25 > 120 ? next + 25 - 120 : 0));
        next = r.next.value;
    }
    CHECK(next == 120);
    CHECK(got == expected(0, 120));
    r = read_all(wal, 120, got);
    CHECK(r.stop == read_stop::end);
    CHECK(r.next == slot_id{120});

    got.clear();
    r = read_all(wal, 37, got, 1'000);  // from the middle of a segment to the end
    CHECK(r.stop == read_stop::end);
    CHECK(r.next == slot_id{120});
    CHECK(got == expected(37, 120));

    got.clear();  // the visitor stops it
    r = wal.read_chosen(slot_id{10}, 100, [&](slot_id s, std::span<const int> v) {
        got.emplace_back(s.value, std::vector<int>(v.begin(), v.end()));
        return s.value < 12;
    });
    CHECK(r.stop == read_stop::limit);
    CHECK(r.entries == 3);
    CHECK(r.next == slot_id{13});
    CHECK(got == expected(10, 13));
}

TEST_CASE("read_chosen after recovery, then across the boundary with this life's entries") {
    crash::temp_dir tmp;
    const paxos::storage::wal_options opts{.segment_bytes = 700};
    {
        wal_type wal(tmp.path(), opts);
        paxos::storage::null_visitor<crash::ballot, int> none;
        REQUIRE(wal.recover(none) == status::ok);
        fill(wal, 0, 60, 3);
    }
    wal_type wal(tmp.path(), opts);
    crash::recorder rec;
    REQUIRE(wal.recover(rec) == status::ok);
    std::vector<entry> got;
    auto r = read_all(wal, 0, got);
    CHECK(r.code == status::ok);
    CHECK(r.stop == read_stop::end);
    CHECK(got == expected(0, 60));
    fill(wal, 60, 90, 5);
    got.clear();
    r = read_all(wal, 50, got);
    CHECK(r.stop == read_stop::end);
    CHECK(got == expected(50, 90));
}

TEST_CASE("below the log's snapshot read_chosen says compacted, at it it serves") {
    crash::temp_dir tmp;
    const paxos::storage::wal_options opts{.segment_bytes = 512};
    std::size_t before = 0;
    {
        wal_type wal(tmp.path(), opts);
        paxos::storage::null_visitor<crash::ballot, int> none;
        REQUIRE(wal.recover(none) == status::ok);
        fill(wal, 0, 100);
        before = wal.segment_count();
        const std::size_t extents_before = wal.index_extents();
        REQUIRE(wal.snapshot(slot_id{70}) == status::ok);
        CHECK(wal.segment_count() < before);  // whole segments below 70 deleted
        CHECK(wal.index_extents() < extents_before);
        std::vector<entry> got;
        auto r = read_all(wal, 69, got);
        CHECK(r.code == status::ok);
        CHECK(r.stop == read_stop::compacted);
        CHECK(r.entries == 0);
        CHECK(r.next == slot_id{69});
        r = read_all(wal, 0, got);
        CHECK(r.stop == read_stop::compacted);
        r = read_all(wal, 70, got);
        CHECK(r.stop == read_stop::end);
        CHECK(got == expected(70, 100));
    }
    wal_type wal(tmp.path(), opts);
    crash::recorder rec;
    REQUIRE(wal.recover(rec) == status::ok);
    CHECK(wal.snapshot_slot() == slot_id{70});
    std::vector<entry> got;
    CHECK(read_all(wal, 10, got).stop == read_stop::compacted);
    const auto r = read_all(wal, 70, got);
    CHECK(r.stop == read_stop::end);
    CHECK(got == expected(70, 100));
}

TEST_CASE("a gap stops the read, and a slot written twice is served once") {
    crash::temp_dir tmp;
    wal_type wal(tmp.path(), {.segment_bytes = 4096});
    paxos::storage::null_visitor<crash::ballot, int> none;
    REQUIRE(wal.recover(none) == status::ok);
    fill(wal, 0, 10);
    // A restart that re-learned 6..9, then went on: duplicates, in a new run.
    fill(wal, 6, 14);
    // A restart past slots the state machine's snapshot held: 14..19 never
    // reach this log.
    fill(wal, 20, 25);
    std::vector<entry> got;
    auto r = read_all(wal, 0, got);
    CHECK(r.code == status::ok);
    CHECK(r.stop == read_stop::gap);
    CHECK(r.next == slot_id{14});
    CHECK(got == expected(0, 14));
    got.clear();
    r = read_all(wal, 16, got);
    CHECK(r.stop == read_stop::gap);
    CHECK(r.entries == 0);
    r = read_all(wal, 20, got);
    CHECK(r.stop == read_stop::end);
    CHECK(r.next == slot_id{25});
    CHECK(got == expected(20, 25));
}

TEST_CASE("the index stays small: about one extent per stride of log") {
    crash::temp_dir tmp;
    const paxos::storage::wal_options opts{.segment_bytes = 64 << 10, .index_stride_bytes = 1024};
    wal_type wal(tmp.path(), opts);
    paxos::storage::null_visitor<crash::ballot, int> none;
    REQUIRE(wal.recover(none) == status::ok);
    fill(wal, 0, 2000, 8);
    std::uint64_t bytes = 0;
    for (const auto& e : std::filesystem::directory_iterator(tmp.path())) bytes += e.file_size();
    const std::size_t extents = wal.index_extents();
    CHECK(extents >= bytes / 1024 / 2);
    CHECK(extents <= bytes / 1024 + wal.segment_count() + 1);
    std::vector<entry> got;
    const auto r = read_all(wal, 1234, got, 10);
    CHECK(r.stop == read_stop::limit);
    CHECK(got == expected(1234, 1244));
}

TEST_CASE("a chosen record damaged on disk after it was written is corrupt, never handed out") {
    crash::temp_dir tmp;
    const paxos::storage::wal_options opts{.segment_bytes = 1024};
    {
        wal_type wal(tmp.path(), opts);
        paxos::storage::null_visitor<crash::ballot, int> none;
        REQUIRE(wal.recover(none) == status::ok);
        fill(wal, 0, 40);
    }
    wal_type wal(tmp.path(), opts);
    crash::recorder rec;
    REQUIRE(wal.recover(rec) == status::ok);
    // Find slot 5's chosen record in the first segment, then flip one bit of
    // its payload behind the log's back (a disk that decays).
    const std::string segment = tmp.path() + "/" + wal_type::segment_name(0);
    std::vector<char> bytes;
    {
        std::ifstream in(segment, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::optional<std::size_t> at;
    for (std::size_t pos = 0; pos + wal_type::header_bytes <= bytes.size() && !at;) {
        const auto u8 = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
        const std::size_t length = u8(pos + 8) | (std::size_t{u8(pos + 9)} << 8);
        if (u8(pos + 12) == static_cast<unsigned char>(record_kind::chosen) &&
            u8(pos + wal_type::header_bytes) == 5) {
            at = pos;
        }
        if (!at) pos += wal_type::header_bytes + length;
    }
    REQUIRE(at.has_value());
    {
        std::fstream f(segment, std::ios::binary | std::ios::in | std::ios::out);
        f.seekp(static_cast<std::streamoff>(*at + wal_type::header_bytes + 8));
        const char c = static_cast<char>(bytes[*at + wal_type::header_bytes + 8] ^ 0x04);
        f.write(&c, 1);
    }
    std::vector<entry> got;
    const auto r = read_all(wal, 2, got);
    CHECK(r.code == status::corrupt);
    CHECK(got == expected(2, 5));  // what came before the damage, nothing of it
    CHECK(r.next == slot_id{5});
    CHECK(std::string(wal.last_error().file_name()) == segment);
    CHECK(wal.last_error().offset == *at);
    // Fail-stop, as the next recovery would refuse the same log.
    CHECK(wal.failed());
    CHECK(crash::apply_step(wal, chosen_batch(40, 41)) == status::corrupt);
    CHECK(read_all(wal, 30, got).code == status::corrupt);
}

TEST_CASE("at every crash point, read_chosen serves exactly the chosen run recovery replayed") {
    // A workload with snapshots, small segments (rotation and compaction),
    // chosen entries written unsynced as the replica writes them.
    const auto steps = crash::make_workload(13, 90);
    const paxos::storage::wal_options opts{.segment_bytes = 600, .index_stride_bytes = 128};
    crash::fault_disk disk;
    {
        fault_wal wal("/wal", opts, crash::fault_file_system{&disk});
        paxos::storage::null_visitor<crash::ballot, int> none;
        REQUIRE(wal.recover(none) == status::ok);
        for (const auto& s : steps) {
            REQUIRE(crash::apply_step(wal, s) == status::ok);
            // During the life: everything from the snapshot on is served.
            std::vector<entry> got;
            REQUIRE(read_all(wal, wal.snapshot_slot().value, got).stop == read_stop::end);
        }
    }
    std::size_t checked = 0;
    for (std::size_t k = 0; k <= disk.ops().size(); ++k) {
        crash::fault_disk image(disk.crash(k, crash::crash_mode::lost).files);
        fault_wal wal("/wal", opts, crash::fault_file_system{&image});
        crash::recorder rec;
        REQUIRE(wal.recover(rec) == status::ok);
        // The contiguous run of chosen entries from the snapshot, first copies.
        std::vector<entry> want;
        std::uint64_t next = rec.snapshot;
        for (const auto& r : rec.records) {
            if (r.kind == record_kind::chosen && r.slot == next) {
                want.emplace_back(r.slot, r.values);
                ++next;
            }
        }
        std::vector<entry> got;
        const auto r = read_all(wal, rec.snapshot, got);
        REQUIRE(r.code == status::ok);
        CHECK(got == want);
        CHECK(r.next == slot_id{next});
        if (rec.snapshot > 0) {
            CHECK(read_all(wal, rec.snapshot - 1, got).stop == read_stop::compacted);
        }
        ++checked;
    }
    CHECK(checked > 200);
}
