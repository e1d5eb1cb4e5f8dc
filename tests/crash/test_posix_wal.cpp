// tests/crash/test_posix_wal.cpp: the write-ahead log on real files: the
// store contract, round trips, a torn or zero-filled tail, mid-log damage
// named by file and offset, rotation and compaction, and recovery into a
// replica.
#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <paxos/storage/posix_wal.hpp>

#include "fault_file_system.hpp"
#include "temp_dir.hpp"
#include "workload.hpp"

namespace {

using crash::logical_record;
using crash::record_kind;
using crash::status;
using wal_type = paxos::storage::posix_wal<crash::config>;

static_assert(paxos::storage::durable_store<wal_type, crash::config>);
static_assert(paxos::storage::durable_store<
              paxos::storage::posix_wal<crash::config, crash::fault_file_system>, crash::config>);

// A batch with one vote for `slot` (and nothing else).
crash::step one_vote(std::uint64_t slot, std::uint64_t ballot_raw = 3) {
    crash::step s;
    s.votes.push_back({record_kind::vote, slot, ballot_raw, crash::vote_values(slot, ballot_raw)});
    s.sync = true;
    return s;
}

std::vector<logical_record> expected_records(const std::vector<crash::step>& steps) {
    std::vector<logical_record> out;
    for (const auto& s : steps) {
        for (const auto& r : s.records()) {
            if (r.kind != record_kind::snapshot) out.push_back(r);
        }
    }
    return out;
}

crash::recorder recover_dir(const std::string& dir, status expect = status::ok,
                            paxos::storage::wal_options opts = {}) {
    wal_type wal(dir, opts);
    crash::recorder got;
    REQUIRE(wal.recover(got) == expect);
    return got;
}

std::uintmax_t size_of(const std::string& path) { return std::filesystem::file_size(path); }

}  // namespace

TEST_CASE("the on-disk record layout: magic, little-endian fields, checksum") {
    crash::temp_dir tmp;
    {
        wal_type wal(tmp.path());
        crash::recorder none;
        REQUIRE(wal.recover(none) == status::ok);
        REQUIRE(crash::apply_step(wal, one_vote(0x0102, 0x0A0B)) == status::ok);
    }
    std::ifstream in(tmp.path() + "/" + wal_type::segment_name(0), std::ios::binary);
    const std::vector<unsigned char> b((std::istreambuf_iterator<char>(in)),
                                       std::istreambuf_iterator<char>());
    const std::size_t values = (0x0102 + 0x0A0B) % 4;
    REQUIRE(b.size() == wal_type::header_bytes + 8 + 8 + 4 + 4 * values);
    CHECK(std::string(b.begin(), b.begin() + 4) == "PXWL");
    CHECK(b[8] == 8 + 8 + 4 + 4 * values);  // payload length, low byte first
    CHECK(b[12] == static_cast<unsigned char>(record_kind::vote));
    CHECK(b[13] == wal_type::format_version);
    CHECK(b[16] == 0);     // record number 0
    CHECK(b[24] == 0);     // nothing of the segment was synced before it
    CHECK(b[32] == 0x02);  // slot 0x0102, little-endian
    CHECK(b[33] == 0x01);
    CHECK(b[40] == 0x0B);  // ballot 0x0A0B (its raw value), little-endian
    CHECK(b[41] == 0x0A);
    CHECK(b[48] == values);
    std::vector<std::byte> covered;
    for (std::size_t i = 8; i < b.size(); ++i) covered.push_back(static_cast<std::byte>(b[i]));
    const std::uint32_t crc = paxos::detail::crc32c(covered);
    CHECK(b[4] == (crc & 0xFFu));
    CHECK(b[7] == (crc >> 24));
}

TEST_CASE("a log replays every record it synced, in order, across restarts") {
    crash::temp_dir tmp;
    const std::string dir = tmp.sub("wal");  // created by recover()
    const auto steps = crash::make_workload(3, 40);
    std::vector<crash::step> no_snapshots;
    for (const auto& s : steps) {
        if (!s.is_snapshot) no_snapshots.push_back(s);
    }
    {
        wal_type wal(dir);
        crash::recorder none;
        REQUIRE(wal.recover(none) == status::ok);
        CHECK(none.records.empty());
        for (std::size_t i = 0; i < no_snapshots.size() / 2; ++i) {
            REQUIRE(crash::apply_step(wal, no_snapshots[i]) == status::ok);
        }
    }
    {
        wal_type wal(dir);  // a second life appends to the same segment
        crash::recorder got;
        REQUIRE(wal.recover(got) == status::ok);
        for (std::size_t i = no_snapshots.size() / 2; i < no_snapshots.size(); ++i) {
            REQUIRE(crash::apply_step(wal, no_snapshots[i]) == status::ok);
        }
        CHECK(wal.segment_count() == 1);
    }
    const crash::recorder got = recover_dir(dir);
    CHECK(got.records == expected_records(no_snapshots));
    CHECK(got.snapshot_calls == 0);
}

TEST_CASE("group commit: one fdatasync per batch that needs one") {
    crash::temp_dir tmp;
    wal_type wal(tmp.path());
    paxos::storage::null_visitor<crash::ballot, int> none;
    REQUIRE(wal.recover(none) == status::ok);
    const std::uint64_t syncs_at_start = wal.data_syncs();
    crash::step batch;  // a promise and four votes: one write, one sync
    batch.promise_changed = true;
    batch.promise = 6;
    for (std::uint64_t s = 0; s < 4; ++s) batch.votes.push_back(one_vote(s, 6).votes.front());
    batch.sync = true;
    REQUIRE(crash::apply_step(wal, batch) == status::ok);
    CHECK(wal.data_syncs() == syncs_at_start + 1);
    crash::step chosen_only;  // chosen entries need no sync (ready().sync_needed is false)
    chosen_only.chosen.push_back({record_kind::chosen, 0, 0, crash::vote_values(0, 6)});
    REQUIRE(crash::apply_step(wal, chosen_only) == status::ok);
    CHECK(wal.data_syncs() == syncs_at_start + 1);

    crash::temp_dir tmp2;
    paxos::storage::wal_options each;
    each.sync_each_record = true;
    wal_type slow(tmp2.path(), each);
    REQUIRE(slow.recover(none) == status::ok);
    const std::uint64_t slow_start = slow.data_syncs();
    REQUIRE(crash::apply_step(slow, batch) == status::ok);
    CHECK(slow.data_syncs() == slow_start + 5);
}

TEST_CASE("a torn tail is truncated, durably, and the log continues after it") {
    crash::temp_dir tmp;
    std::vector<crash::step> steps{one_vote(0), one_vote(1), one_vote(2)};
    {
        wal_type wal(tmp.path());
        crash::recorder none;
        REQUIRE(wal.recover(none) == status::ok);
        for (const auto& s : steps) REQUIRE(crash::apply_step(wal, s) == status::ok);
    }
    const std::string segment = tmp.path() + "/" + wal_type::segment_name(0);
    const std::uintmax_t whole = size_of(segment);
    {
        // Half of a copy of the first record: a write the crash cut short.
        std::ifstream in(segment, std::ios::binary);
        std::vector<char> head(40);
        in.read(head.data(), 40);
        std::ofstream out(segment, std::ios::binary | std::ios::app);
        out.write(head.data(), 40);
    }
    REQUIRE(size_of(segment) == whole + 40);
    CHECK(recover_dir(tmp.path()).records == expected_records(steps));
    CHECK(size_of(segment) == whole);  // truncated

    {
        wal_type wal(tmp.path());
        crash::recorder got;
        REQUIRE(wal.recover(got) == status::ok);
        steps.push_back(one_vote(3));
        REQUIRE(crash::apply_step(wal, steps.back()) == status::ok);
    }
    CHECK(recover_dir(tmp.path()).records == expected_records(steps));
}

TEST_CASE("a zero-filled tail (preallocated, or a size update without its data) is a torn tail") {
    crash::temp_dir tmp;
    const std::vector<crash::step> steps{one_vote(0), one_vote(1)};
    {
        wal_type wal(tmp.path());
        crash::recorder none;
        REQUIRE(wal.recover(none) == status::ok);
        for (const auto& s : steps) REQUIRE(crash::apply_step(wal, s) == status::ok);
    }
    const std::string segment = tmp.path() + "/" + wal_type::segment_name(0);
    const std::uintmax_t whole = size_of(segment);
    std::filesystem::resize_file(segment, whole + 4096);
    CHECK(recover_dir(tmp.path()).records == expected_records(steps));
    CHECK(size_of(segment) == whole);
}

TEST_CASE("damage in the middle of the log is refused, naming the file and the offset") {
    crash::temp_dir tmp;
    const std::vector<crash::step> steps{one_vote(0), one_vote(1), one_vote(2)};
    std::vector<std::uintmax_t> ends;
    const std::string segment = tmp.path() + "/" + wal_type::segment_name(0);
    {
        wal_type wal(tmp.path());
        crash::recorder none;
        REQUIRE(wal.recover(none) == status::ok);
        for (const auto& s : steps) {
            REQUIRE(crash::apply_step(wal, s) == status::ok);
            ends.push_back(size_of(segment));
        }
    }
    {
        // One bit of the second record's payload.
        std::fstream f(segment, std::ios::binary | std::ios::in | std::ios::out);
        const auto at = static_cast<std::streamoff>(ends[0] + wal_type::header_bytes + 2);
        f.seekg(at);
        char c = 0;
        f.read(&c, 1);
        c = static_cast<char>(c ^ 0x10);
        f.seekp(at);
        f.write(&c, 1);
    }
    wal_type wal(tmp.path());
    crash::recorder got;
    CHECK(wal.recover(got) == status::corrupt);
    CHECK(got.records.empty());  // nothing replayed from a log that is refused
    CHECK(std::string(wal.last_error().file_name()) == segment);
    CHECK(wal.last_error().offset == ends[0]);
    CHECK(wal.last_error().code == status::corrupt);
    CHECK(size_of(segment) == ends[2]);  // left untouched for the operator
    // A refused log stays refused.
    CHECK(crash::apply_step(wal, one_vote(3)) == status::corrupt);
    CHECK(wal.recover(got) == status::corrupt);
}

TEST_CASE("a missing segment in the middle is refused") {
    crash::temp_dir tmp;
    paxos::storage::wal_options small;
    small.segment_bytes = 16;  // every batch opens a new segment
    {
        wal_type wal(tmp.path(), small);
        crash::recorder none;
        REQUIRE(wal.recover(none) == status::ok);
        for (std::uint64_t s = 0; s < 4; ++s) {
            REQUIRE(crash::apply_step(wal, one_vote(s)) == status::ok);
        }
        REQUIRE(wal.segment_count() == 4);
    }
    std::filesystem::remove(tmp.path() + "/" + wal_type::segment_name(1));
    wal_type wal(tmp.path(), small);
    crash::recorder got;
    CHECK(wal.recover(got) == status::corrupt);
    CHECK(std::string(wal.last_error().file_name()) ==
          tmp.path() + "/" + wal_type::segment_name(2));
}

TEST_CASE("rotation and compaction keep the promise, the snapshot and every vote above it") {
    crash::temp_dir tmp;
    paxos::storage::wal_options small;
    small.segment_bytes = 512;
    const auto steps = crash::make_workload(9, 120);
    std::size_t most_segments = 0;
    std::uint64_t last_snapshot = 0;
    std::uint64_t highest_promise = 0;
    {
        wal_type wal(tmp.path(), small);
        crash::recorder none;
        REQUIRE(wal.recover(none) == status::ok);
        for (const auto& s : steps) {
            REQUIRE(crash::apply_step(wal, s) == status::ok);
            most_segments = std::max(most_segments, wal.segment_count());
            if (s.is_snapshot) last_snapshot = s.snapshot_slot;
            if (s.promise_changed) highest_promise = std::max(highest_promise, s.promise);
        }
        CHECK(wal.snapshot_slot().value == last_snapshot);
    }
    CHECK(last_snapshot > 0);
    CHECK(most_segments > 3);
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(tmp.path())) ++files;
    CHECK(files < most_segments);  // compaction deleted some

    const crash::recorder got = recover_dir(tmp.path(), status::ok, small);
    CHECK(got.snapshot == last_snapshot);
    CHECK(got.snapshot_calls == 1);
    std::uint64_t promise_seen = 0;
    for (const auto& r : got.records) {
        if (r.kind == record_kind::promise) promise_seen = std::max(promise_seen, r.ballot_raw);
    }
    CHECK(promise_seen == highest_promise);
    // Every vote and chosen entry at or above the snapshot is there, in order.
    std::vector<logical_record> expected;
    for (const auto& r : expected_records(steps)) {
        if (r.kind != record_kind::promise && r.slot >= last_snapshot) expected.push_back(r);
    }
    CHECK(got.slotted() == expected);
}

TEST_CASE("recover_into rebuilds a replica that keeps its promise and votes") {
    crash::temp_dir tmp;
    crash::step batch;
    batch.promise_changed = true;
    batch.promise = crash::ballot::first(paxos::node_id{1}).raw() + 30;
    batch.votes.push_back({record_kind::vote, 0, 4, crash::vote_values(0, 4)});
    batch.votes.push_back({record_kind::vote, 1, 4, crash::vote_values(1, 4)});
    batch.chosen.push_back({record_kind::chosen, 0, 0, crash::vote_values(0, 4)});
    batch.sync = true;
    {
        wal_type wal(tmp.path());
        crash::recorder none;
        REQUIRE(wal.recover(none) == status::ok);
        REQUIRE(crash::apply_step(wal, batch) == status::ok);
    }
    wal_type wal(tmp.path());
    paxos::storage::replica_recovery<crash::config> rec;
    std::vector<std::uint64_t> applied;
    REQUIRE(paxos::storage::recover_into(wal, rec, [&](paxos::slot_id s, std::span<const int>) {
                applied.push_back(s.value);
            }) == status::ok);
    CHECK(applied == std::vector<std::uint64_t>{0});
    CHECK(rec.first_unapplied() == paxos::slot_id{1});
    crash::replica_type r(crash::replica_type::options{.self = paxos::node_id{0}});
    REQUIRE(r.restore(rec.recovery()).ok());
    CHECK(r.promised().raw() == batch.promise);
    const auto vote = r.vote(paxos::slot_id{1});
    REQUIRE(vote.has_value());
    CHECK(vote->first.raw() == 4);
}

namespace {

struct command {
    std::uint32_t client = 0;
    std::uint16_t size = 0;
    std::array<char, 10> text{};
    friend bool operator==(const command&, const command&) = default;
};

using command_config =
    paxos::config<command, paxos::pair_ballot, paxos::majority<3>, paxos::stable_leader, 3, 16, 4>;

struct command_recorder {
    std::vector<std::pair<std::uint64_t, std::vector<command>>> votes;
    paxos::pair_ballot promise{};
    void on_promise(paxos::pair_ballot b) { promise = b; }
    void on_vote(paxos::slot_id s, paxos::pair_ballot, std::span<const command> v) {
        votes.emplace_back(s.value, std::vector<command>(v.begin(), v.end()));
    }
    void on_chosen(paxos::slot_id, std::span<const command>) {}
    void on_snapshot(paxos::slot_id) {}
};

}  // namespace

TEST_CASE("a struct value type and pair ballots round-trip byte for byte") {
    using cmd_wal = paxos::storage::posix_wal<command_config>;
    using cmd_replica = paxos::replica<command_config>;
    crash::temp_dir tmp;
    const std::array<command, 2> values{command{7, 3, {'a', 'b', 'c'}}, command{9, 1, {'z'}}};
    const auto b = paxos::pair_ballot::from_parts(5, paxos::node_id{2});
    const std::array<cmd_replica::record_type, 1> votes{
        cmd_replica::record_type{paxos::slot_id{4}, b, values}};
    cmd_replica::ready_type rd{};
    rd.promised = b;
    rd.promised_changed = true;
    rd.accepted = votes;
    rd.sync_needed = true;
    {
        cmd_wal wal(tmp.path());
        paxos::storage::null_visitor<paxos::pair_ballot, command> none;
        REQUIRE(wal.recover(none) == status::ok);
        REQUIRE(wal.persist(rd) == status::ok);
    }
    cmd_wal wal(tmp.path());
    command_recorder got;
    REQUIRE(wal.recover(got) == status::ok);
    CHECK(got.promise == b);
    REQUIRE(got.votes.size() == 1);
    CHECK(got.votes[0].first == 4);
    CHECK(got.votes[0].second == std::vector<command>(values.begin(), values.end()));
}

TEST_CASE("preallocated segments: records overwrite zeros, recovery keeps them whole") {
    crash::temp_dir tmp;
    paxos::storage::wal_options opts;
    opts.segment_bytes = 4096;
    opts.preallocate = true;
    const std::string segment = tmp.path() + "/" + wal_type::segment_name(0);
    std::vector<crash::step> steps{one_vote(0), one_vote(1), one_vote(2)};
    {
        wal_type wal(tmp.path(), opts);
        crash::recorder none;
        REQUIRE(wal.recover(none) == status::ok);
        const std::uint64_t syncs = wal.data_syncs();
        REQUIRE(crash::apply_step(wal, steps[0]) == status::ok);
        CHECK(wal.data_syncs() == syncs + 2);  // the zeros, then the batch
        CHECK(size_of(segment) == 4096);       // full size from the start
        REQUIRE(crash::apply_step(wal, steps[1]) == status::ok);
        REQUIRE(crash::apply_step(wal, steps[2]) == status::ok);
        CHECK(wal.data_syncs() == syncs + 4);  // one per batch after that
        CHECK(size_of(segment) == 4096);       // no append grew it
    }
    {
        // A torn copy of the first record inside the zeros: a cut write.
        std::fstream f(segment, std::ios::binary | std::ios::in | std::ios::out);
        std::vector<char> head(40);
        f.read(head.data(), 40);
        f.seekp(3000);
        f.write(head.data(), 40);
    }
    {
        wal_type wal(tmp.path(), opts);
        crash::recorder got;
        REQUIRE(wal.recover(got) == status::ok);
        CHECK(got.records == expected_records(steps));
        CHECK(size_of(segment) == 4096);  // the tail truncated, then zero-filled again
        steps.push_back(one_vote(3));
        REQUIRE(crash::apply_step(wal, steps.back()) == status::ok);
        for (std::uint64_t s = 4; s < 200; ++s) {  // rotates: 4 KiB holds about 60 votes
            steps.push_back(one_vote(s));
            REQUIRE(crash::apply_step(wal, steps.back()) == status::ok);
        }
        CHECK(wal.segment_count() >= 3);
    }
    CHECK(recover_dir(tmp.path(), status::ok, opts).records == expected_records(steps));
    // Read without preallocation, the same directory recovers the same records.
    CHECK(recover_dir(tmp.path()).records == expected_records(steps));
}
