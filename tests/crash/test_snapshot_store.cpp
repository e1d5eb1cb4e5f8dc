// tests/crash/test_snapshot_store.cpp: the snapshot store, on real files
// (round trips, the file layout, reads by offset and by chunk, refusal of a
// torn, flipped or truncated file with its name and offset while the
// previous snapshot stays, retention, leftovers of a crash, receiving with a
// declared length and CRC, resuming a receive after a restart) and on the
// fault-injecting layer (a crash at every step of the write path, in every
// crash mode and with every prefix of the unsynced directory changes,
// leaves the old snapshot or the new one, never a half one; a receive
// resumes from whatever survived; fail-stop).
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <paxos/storage/snapshot_store.hpp>

#include "fault_file_system.hpp"
#include "temp_dir.hpp"

namespace {

using paxos::slot_id;
using paxos::storage::snapshot_options;
using paxos::storage::snapshot_status;
using store_type = paxos::storage::snapshot_store<>;
using fault_store = paxos::storage::snapshot_store<crash::fault_file_system>;
using bytes = std::vector<std::byte>;

bytes content(std::uint64_t seed, std::size_t n) {
    paxos::prng rng(seed);
    bytes out(n);
    for (auto& b : out) b = static_cast<std::byte>(rng.below(256));
    return out;
}

// Appends `data` in pieces of `piece` bytes, then commits.
template <class Store>
snapshot_status save(Store& store, std::uint64_t slot, const bytes& data, std::size_t piece = 77) {
    if (const auto st = store.begin(slot_id{slot}); st != snapshot_status::ok) return st;
    for (std::size_t at = 0; at < data.size(); at += piece) {
        const std::size_t n = std::min(piece, data.size() - at);
        if (const auto st = store.append(std::span(data).subspan(at, n));
            st != snapshot_status::ok) {
            return st;
        }
    }
    return store.commit();
}

// The whole content through read(), in pieces that straddle chunks.
template <class Store>
bytes load(Store& store, std::uint64_t slot, std::size_t piece = 333) {
    bytes out;
    bytes buf(piece);
    for (std::uint64_t offset = 0;; offset += piece) {
        const auto r = store.read(slot_id{slot}, offset, buf);
        REQUIRE(r.code == snapshot_status::ok);
        out.insert(out.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.bytes));
        if (r.bytes < piece) return out;
    }
}

std::string file_of(const crash::temp_dir& tmp, std::uint64_t slot) {
    return tmp.path() + "/" + store_type::file_name(slot_id{slot}, true);
}

void flip_byte(const std::string& path, std::uint64_t at) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(at));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x20);
    f.seekp(static_cast<std::streamoff>(at));
    f.write(&c, 1);
}

std::size_t files_in(const std::string& dir, const char* ext) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ext) ++n;
    }
    return n;
}

constexpr snapshot_options small_chunks{.keep = 2, .chunk_bytes = 100};

}  // namespace

TEST_CASE("snapshot round trip: layout, reads by offset and by chunk") {
    crash::temp_dir tmp;
    const bytes data = content(1, 1234);  // 12 chunks of 100 and one of 34
    {
        store_type store(tmp.path(), small_chunks);
        REQUIRE(store.open() == snapshot_status::ok);
        CHECK(!store.newest());
        REQUIRE(save(store, 40, data) == snapshot_status::ok);
        CHECK(files_in(tmp.path(), ".part") == 0);
    }
    const std::string path = file_of(tmp, 40);
    CHECK(std::filesystem::file_size(path) == 64 + 1234 + 4 * 13);
    {
        std::ifstream in(path, std::ios::binary);
        const std::vector<unsigned char> b((std::istreambuf_iterator<char>(in)),
                                           std::istreambuf_iterator<char>());
        CHECK(std::string(b.begin(), b.begin() + 4) == "PXSN");
        CHECK(b[4] == store_type::format_version);
        CHECK(b[5] == store_type::state_complete);
        CHECK(b[8] == 40);                      // the slot, little-endian
        CHECK((b[16] | (b[17] << 8)) == 1234);  // the content length
        CHECK(b[28] == 100);                    // chunk_bytes
        // The first chunk: its CRC, then its bytes.
        const std::uint32_t crc = paxos::detail::crc32c(std::span(data).first(100));
        CHECK((b[64] | (b[65] << 8) | (b[66] << 16) | (static_cast<std::uint32_t>(b[67]) << 24)) ==
              crc);
        CHECK(static_cast<std::byte>(b[68]) == data[0]);
    }
    store_type store(tmp.path(), small_chunks);
    REQUIRE(store.open() == snapshot_status::ok);
    REQUIRE(store.newest());
    CHECK(store.newest()->slot == slot_id{40});
    CHECK(store.newest()->size_bytes == 1234);
    CHECK(store.newest()->crc == paxos::detail::crc32c(data));
    CHECK(store.newest()->chunk_count() == 13);
    CHECK(store.refused().empty());
    CHECK(load(store, 40) == data);
    CHECK(load(store, 40, 1) == data);
    bytes chunk(100);
    for (std::uint64_t i = 0; i < 13; ++i) {
        const auto r = store.read_chunk(slot_id{40}, i, chunk);
        REQUIRE(r.code == snapshot_status::ok);
        CHECK(r.bytes == (i < 12 ? 100 : 34));
        const auto want = std::span(data).subspan(i * 100, r.bytes);
        CHECK(std::equal(want.begin(), want.end(), chunk.begin()));
        CHECK(r.crc == paxos::detail::crc32c(want));  // what a transfer ships with it
    }
    const auto mid = store.read(slot_id{40}, 250, chunk);
    CHECK(mid.bytes == 100);
    CHECK(std::equal(chunk.begin(), chunk.end(), data.begin() + 250));
    CHECK(store.read(slot_id{40}, 1234, chunk).bytes == 0);
    CHECK(store.read(slot_id{40}, 1235, chunk).code == snapshot_status::mismatch);
    CHECK(store.read_chunk(slot_id{40}, 13, chunk).code == snapshot_status::mismatch);
    CHECK(store.read(slot_id{41}, 0, chunk).code == snapshot_status::not_found);
    CHECK(store.begin(slot_id{40}) == snapshot_status::stale);
    CHECK(store.begin(slot_id{12}) == snapshot_status::stale);
    CHECK(save(store, 41, {}) == snapshot_status::ok);  // an empty state is a snapshot too
    CHECK(store.newest()->size_bytes == 0);
    CHECK(load(store, 41).empty());
}

TEST_CASE("a large snapshot in one append, with the default chunk size") {
    crash::temp_dir tmp;
    const bytes data = content(11, (std::size_t{3} << 20) + 5);
    {
        store_type store(tmp.path());
        REQUIRE(store.open() == snapshot_status::ok);
        REQUIRE(store.begin(slot_id{1'000'000}) == snapshot_status::ok);
        REQUIRE(store.append(data) == snapshot_status::ok);
        REQUIRE(store.commit() == snapshot_status::ok);
        CHECK(store.data_syncs() == 1);  // one fdatasync per snapshot
    }
    store_type store(tmp.path());
    REQUIRE(store.open() == snapshot_status::ok);
    CHECK(store.newest()->chunk_count() == 49);  // 48 of 64 KiB and 5 bytes
    CHECK(load(store, 1'000'000, std::size_t{1} << 20) == data);
}

TEST_CASE("a torn, flipped or truncated snapshot is refused with its file and offset") {
    const bytes older = content(2, 700);
    const bytes newer = content(3, 950);
    struct damage_case {
        const char* name;
        std::uint64_t offset;  // what refused() must say
    };
    // Offsets: header 64, then frames of 4 + 100 bytes.
    for (const auto& d :
         {damage_case{"torn: cut inside the last chunk", 64 + 9 * 104 + 10},
          damage_case{"a byte flipped in chunk 3", 64 + 3 * 104},
          damage_case{"a byte flipped in a chunk's CRC", 64 + 5 * 104},
          damage_case{"a flipped header byte", 0}, damage_case{"truncated inside the header", 30},
          damage_case{"an empty file", 0}}) {
        const std::string case_name = d.name;
        CAPTURE(case_name);
        crash::temp_dir tmp;
        {
            store_type store(tmp.path(), small_chunks);
            REQUIRE(store.open() == snapshot_status::ok);
            REQUIRE(save(store, 10, older) == snapshot_status::ok);
            REQUIRE(save(store, 20, newer) == snapshot_status::ok);
        }
        const std::string path = file_of(tmp, 20);
        const std::string& name = case_name;
        if (name.starts_with("torn") || name.starts_with("truncated") ||
            name.starts_with("an empty")) {
            std::filesystem::resize_file(path, d.offset);
        } else if (name == "a byte flipped in chunk 3") {
            flip_byte(path, d.offset + 4 + 57);
        } else if (name == "a byte flipped in a chunk's CRC") {
            flip_byte(path, d.offset + 1);
        } else {
            flip_byte(path, 17);
        }
        const auto size = std::filesystem::file_size(path);
        store_type store(tmp.path(), small_chunks);
        REQUIRE(store.open() == snapshot_status::ok);
        REQUIRE(store.refused().size() == 1);
        CHECK(store.refused()[0].file == path);
        CHECK(store.refused()[0].offset == d.offset);
        MESSAGE(std::string(store.refused()[0].what));
        REQUIRE(store.newest());
        CHECK(store.newest()->slot == slot_id{10});  // the previous one stays usable
        CHECK(load(store, 10) == older);
        CHECK(std::filesystem::file_size(path) == size);  // left for the operator
        // A later snapshot retires the refused one with the older ones.
        REQUIRE(save(store, 30, newer) == snapshot_status::ok);
        REQUIRE(save(store, 40, older) == snapshot_status::ok);
        CHECK(!std::filesystem::exists(path));
        CHECK(store.refused().empty());
    }
}

TEST_CASE("a chunk damaged after open is corrupt when read, and that snapshot is refused") {
    crash::temp_dir tmp;
    const bytes older = content(4, 500);
    {
        store_type store(tmp.path(), small_chunks);
        REQUIRE(store.open() == snapshot_status::ok);
        REQUIRE(save(store, 10, older) == snapshot_status::ok);
        REQUIRE(save(store, 20, content(5, 500)) == snapshot_status::ok);
    }
    // The older one is checked by header and size at open; its chunks when read.
    flip_byte(file_of(tmp, 10), 64 + 2 * 104 + 50);
    store_type store(tmp.path(), small_chunks);
    REQUIRE(store.open() == snapshot_status::ok);
    CHECK(store.snapshots().size() == 2);
    bytes buf(100);
    CHECK(store.read(slot_id{10}, 0, buf).code == snapshot_status::ok);
    const auto r = store.read(slot_id{10}, 150, buf);
    CHECK(r.code == snapshot_status::corrupt);
    CHECK(std::string(store.last_error().file_name()) == file_of(tmp, 10));
    CHECK(store.last_error().offset == 64 + 2 * 104);
    CHECK(!store.failed());  // not fail-stop: the other snapshot is fine
    CHECK(store.snapshots().size() == 1);
    CHECK(store.read(slot_id{10}, 0, buf).code == snapshot_status::not_found);
    REQUIRE(store.refused().size() == 1);
    CHECK(store.refused()[0].offset == 64 + 2 * 104);
    CHECK(store.read(slot_id{20}, 0, buf).code == snapshot_status::ok);
}

TEST_CASE("retention keeps the newest K, deleting older ones after the new one is durable") {
    for (const std::size_t keep : {std::size_t{1}, std::size_t{2}, std::size_t{3}}) {
        CAPTURE(keep);
        crash::temp_dir tmp;
        store_type store(tmp.path(), {.keep = keep, .chunk_bytes = 100});
        REQUIRE(store.open() == snapshot_status::ok);
        for (std::uint64_t slot = 1; slot <= 5; ++slot) {
            REQUIRE(save(store, slot * 10, content(slot, 150)) == snapshot_status::ok);
            CHECK(store.snapshots().size() == std::min<std::size_t>(slot, keep));
            CHECK(files_in(tmp.path(), ".snap") == std::min<std::size_t>(slot, keep));
            CHECK(store.snapshots()[0].slot == slot_id{slot * 10});
        }
        store_type again(tmp.path(), {.keep = keep, .chunk_bytes = 100});
        REQUIRE(again.open() == snapshot_status::ok);
        CHECK(again.snapshots().size() == keep);
        CHECK(again.snapshots().back().slot == slot_id{(6 - keep) * 10});
        CHECK(load(again, (6 - keep) * 10) == content(6 - keep, 150));
    }
    // open() applies the rule too, e.g. after a crash between commit and deletion.
    crash::temp_dir tmp;
    {
        store_type store(tmp.path(), {.keep = 3, .chunk_bytes = 100});
        REQUIRE(store.open() == snapshot_status::ok);
        for (std::uint64_t slot = 1; slot <= 3; ++slot) {
            REQUIRE(save(store, slot, content(slot, 10)) == snapshot_status::ok);
        }
    }
    store_type store(tmp.path(), {.keep = 1, .chunk_bytes = 100});
    REQUIRE(store.open() == snapshot_status::ok);
    CHECK(files_in(tmp.path(), ".snap") == 1);
    CHECK(store.newest()->slot == slot_id{3});
}

TEST_CASE("leftovers of a crash are removed at open, and abort removes the temporary file") {
    crash::temp_dir tmp;
    {
        store_type store(tmp.path(), small_chunks);
        REQUIRE(store.open() == snapshot_status::ok);
        REQUIRE(save(store, 5, content(6, 300)) == snapshot_status::ok);
        REQUIRE(store.begin(slot_id{9}) == snapshot_status::ok);
        REQUIRE(store.append(content(7, 250)) == snapshot_status::ok);
        CHECK(files_in(tmp.path(), ".part") == 1);
        REQUIRE(store.abort() == snapshot_status::ok);
        CHECK(files_in(tmp.path(), ".part") == 0);
        REQUIRE(store.begin(slot_id{9}) == snapshot_status::ok);
        REQUIRE(store.append(content(7, 250)) == snapshot_status::ok);
        // The process dies here: the store goes away mid-write.
    }
    // And some junk: a .part of an older slot, one with a garbage header, an
    // unrelated file that must be left alone.
    std::ofstream(tmp.path() + "/" + store_type::file_name(slot_id{3}, false)) << "half";
    std::ofstream(tmp.path() + "/" + store_type::file_name(slot_id{12}, false)) << "garbage";
    std::ofstream(tmp.path() + "/notes.txt") << "mine";
    CHECK(files_in(tmp.path(), ".part") == 3);
    store_type store(tmp.path(), small_chunks);
    REQUIRE(store.open() == snapshot_status::ok);
    CHECK(files_in(tmp.path(), ".part") == 0);
    CHECK(std::filesystem::exists(tmp.path() + "/notes.txt"));
    CHECK(!store.partial());  // a snapshot built here is never resumed
    CHECK(store.newest()->slot == slot_id{5});
    CHECK(load(store, 5) == content(6, 300));
}

TEST_CASE("a received snapshot is checked against its declared length and CRC") {
    crash::temp_dir tmp;
    store_type store(tmp.path(), small_chunks);
    REQUIRE(store.open() == snapshot_status::ok);
    const bytes data = content(8, 640);
    const std::uint32_t crc = paxos::detail::crc32c(data);
    // Chunks as a transfer delivers them (of another size than the store's).
    REQUIRE(store.begin_receive(slot_id{50}, data.size(), crc) == snapshot_status::ok);
    for (std::size_t at = 0; at < data.size(); at += 128) {
        REQUIRE(store.append(std::span(data).subspan(at, 128)) == snapshot_status::ok);
        CHECK(store.written_bytes() == at + 128);
    }
    CHECK(store.append(std::span(data).first(1)) == snapshot_status::mismatch);  // too much
    REQUIRE(store.commit() == snapshot_status::ok);
    CHECK(load(store, 50) == data);

    bytes bad = data;
    bad[300] ^= std::byte{1};
    REQUIRE(store.begin_receive(slot_id{60}, data.size(), crc) == snapshot_status::ok);
    REQUIRE(store.append(bad) == snapshot_status::ok);
    CHECK(store.commit() == snapshot_status::mismatch);
    CHECK(!store.writing());
    CHECK(files_in(tmp.path(), ".part") == 0);
    REQUIRE(store.begin_receive(slot_id{60}, data.size(), crc) == snapshot_status::ok);
    REQUIRE(store.append(std::span(data).first(600)) == snapshot_status::ok);
    CHECK(store.commit() == snapshot_status::mismatch);  // short
    CHECK(store.newest()->slot == slot_id{50});
    CHECK(store.begin_receive(slot_id{50}, data.size(), crc) == snapshot_status::stale);
}

TEST_CASE("a receive interrupted by a restart resumes after its whole chunks") {
    crash::temp_dir tmp;
    const bytes data = content(9, 1000);
    const std::uint32_t crc = paxos::detail::crc32c(data);
    {
        store_type store(tmp.path(), small_chunks);
        REQUIRE(store.open() == snapshot_status::ok);
        REQUIRE(store.begin_receive(slot_id{70}, data.size(), crc) == snapshot_status::ok);
        REQUIRE(store.append(std::span(data).first(450)) == snapshot_status::ok);
        // Dies: 4 whole chunks reached the file; 50 bytes were in memory.
    }
    {
        // One chunk damaged on the way: the resume point is before it.
        const std::string part = tmp.path() + "/" + store_type::file_name(slot_id{70}, false);
        flip_byte(part, 64 + 3 * 104 + 20);
        store_type store(tmp.path(), small_chunks);
        REQUIRE(store.open() == snapshot_status::ok);
        REQUIRE(store.partial());
        CHECK(store.partial()->slot == slot_id{70});
        CHECK(store.partial()->received_bytes == 300);
        REQUIRE(store.begin_receive(slot_id{70}, data.size(), crc) == snapshot_status::ok);
        CHECK(store.written_bytes() == 300);  // ask the sender for bytes from 300
        REQUIRE(store.append(std::span(data).subspan(300, 400)) == snapshot_status::ok);
        // Dies again, with 7 chunks in the file.
    }
    {
        store_type store(tmp.path(), small_chunks);
        REQUIRE(store.open() == snapshot_status::ok);
        REQUIRE(store.partial());
        CHECK(store.partial()->received_bytes == 700);
        // Another identity (a different sender's encoding) starts from zero.
        REQUIRE(store.begin_receive(slot_id{70}, data.size(), crc ^ 1) == snapshot_status::ok);
        CHECK(store.written_bytes() == 0);
        CHECK(!store.partial());
        REQUIRE(store.abort() == snapshot_status::ok);
    }
    store_type store(tmp.path(), small_chunks);
    REQUIRE(store.open() == snapshot_status::ok);
    CHECK(!store.partial());  // aborted: nothing to resume
    REQUIRE(store.begin_receive(slot_id{70}, data.size(), crc) == snapshot_status::ok);
    CHECK(store.written_bytes() == 0);
    REQUIRE(store.append(data) == snapshot_status::ok);
    REQUIRE(store.commit() == snapshot_status::ok);
    CHECK(load(store, 70) == data);
}

// ---- on the fault-injecting layer -----------------------------------------------------

namespace {

struct write_run {
    crash::fault_disk disk;
    std::size_t first_op = 0;      // ops before this are open()'s
    std::size_t committed_op = 0;  // from here on commit() had returned ok
};

// A disk holding durable snapshots `before`, then a recorded write of `slot`.
void record_write(write_run& run, const std::vector<std::uint64_t>& before, std::uint64_t slot,
                  snapshot_options opts, bool receive) {
    crash::fault_disk setup;
    {
        fault_store store("/snap", opts, crash::fault_file_system{&setup});
        REQUIRE(store.open() == snapshot_status::ok);
        for (const std::uint64_t s : before)
            REQUIRE(save(store, s, content(s, 420)) == snapshot_status::ok);
    }
    run.disk = crash::fault_disk(setup.crash(setup.ops().size(), crash::crash_mode::lost).files);
    fault_store store("/snap", opts, crash::fault_file_system{&run.disk});
    REQUIRE(store.open() == snapshot_status::ok);
    run.first_op = run.disk.ops().size();
    const bytes data = content(slot, 420);
    if (receive) {
        REQUIRE(store.begin_receive(slot_id{slot}, data.size(), paxos::detail::crc32c(data)) ==
                snapshot_status::ok);
        for (std::size_t at = 0; at < data.size(); at += 100) {
            const std::size_t n = std::min<std::size_t>(100, data.size() - at);
            REQUIRE(store.append(std::span(data).subspan(at, n)) == snapshot_status::ok);
        }
        REQUIRE(store.commit() == snapshot_status::ok);
    } else {
        REQUIRE(save(store, slot, data, 130) == snapshot_status::ok);
    }
    run.committed_op = run.disk.ops().size();
}

struct crash_counts {
    std::size_t opens = 0;
    std::size_t new_seen = 0;
    std::size_t old_seen = 0;
    std::size_t resumed = 0;
};

// Opens the store on one crash image and checks it holds the old newest
// snapshot or the new one, whole; for a receive, resumes whatever survived.
void check_image(const crash::image& img, const write_run& run, std::size_t k,
                 std::uint64_t old_slot, std::uint64_t slot, snapshot_options opts, bool receive,
                 crash_counts& count) {
    crash::fault_disk disk(img);
    fault_store store("/snap", opts, crash::fault_file_system{&disk});
    REQUIRE(store.open() == snapshot_status::ok);
    ++count.opens;
    CHECK(store.refused().empty());  // a crash alone never leaves a damaged .snap
    REQUIRE(store.newest());
    const std::uint64_t got = store.newest()->slot.value;
    REQUIRE_MESSAGE((got == old_slot || got == slot), "crash point " << k << ": slot " << got);
    if (k >= run.committed_op) REQUIRE_MESSAGE(got == slot, "crash point " << k);
    CHECK(load(store, got) == content(got, 420));
    (got == slot ? count.new_seen : count.old_seen) += 1;
    for (const auto& [path, data] : disk.live()) {
        if (!path.ends_with(".part")) continue;
        CHECK(receive);  // a local build's leftover is always removed
        REQUIRE(store.partial());
    }
    if (!receive || got == slot) return;
    // Resume the receive from what survived, and finish it.
    const bytes data = content(slot, 420);
    const std::uint32_t crc = paxos::detail::crc32c(data);
    REQUIRE(store.begin_receive(slot_id{slot}, data.size(), crc) == snapshot_status::ok);
    const std::uint64_t from = store.written_bytes();
    if (from > 0) ++count.resumed;
    CHECK((from % 100 == 0 || from == data.size()));  // whole chunks only
    REQUIRE(store.append(std::span(data).subspan(from)) == snapshot_status::ok);
    REQUIRE(store.commit() == snapshot_status::ok);
    CHECK(load(store, slot) == data);
}

crash_counts crash_write_path(const std::vector<std::uint64_t>& before, std::uint64_t slot,
                              snapshot_options opts, bool receive) {
    write_run run;
    record_write(run, before, slot, opts, receive);
    const auto& ops = run.disk.ops();
    const std::uint64_t old_slot = before.back();
    crash_counts count;
    for (std::size_t k = run.first_op; k <= ops.size(); ++k) {
        const std::size_t dir_ops = run.disk.unsynced_dir_ops(k);
        for (std::size_t kept = 0; kept <= dir_ops; ++kept) {
            using crash::crash_mode;
            check_image(run.disk.crash(k, crash_mode::lost, 0, 0, kept).files, run, k, old_slot,
                        slot, opts, receive, count);
            for (std::uint64_t seed = 0; seed < 2; ++seed) {
                check_image(run.disk.crash(k, crash_mode::reordered, seed * 31 + k, 0, kept).files,
                            run, k, old_slot, slot, opts, receive, count);
            }
            if (k > 0 && ops[k - 1].kind == crash::op_kind::write) {
                const std::size_t len = ops[k - 1].data.size();
                for (const std::size_t cut : {std::size_t{0}, std::size_t{1}, len / 2, len - 1}) {
                    check_image(run.disk.crash(k, crash_mode::torn, 0, cut, kept).files, run, k,
                                old_slot, slot, opts, receive, count);
                }
            }
        }
    }
    return count;
}

}  // namespace

TEST_CASE("a crash at every step of the write path leaves the old snapshot or the new one") {
    for (const std::size_t keep : {std::size_t{1}, std::size_t{2}}) {
        CAPTURE(keep);
        const snapshot_options opts{.keep = keep, .chunk_bytes = 100};
        const crash_counts c = crash_write_path({10, 20}, 30, opts, false);
        MESSAGE("keep " << keep << ": " << c.opens << " recoveries, old " << c.old_seen << ", new "
                        << c.new_seen);
        CHECK(c.opens > 100);
        CHECK(c.old_seen > 0);
        CHECK(c.new_seen > 0);
    }
}

TEST_CASE("a receive crashed at every step resumes from what survived, or ends complete") {
    const snapshot_options opts{.keep = 2, .chunk_bytes = 100};
    const crash_counts c = crash_write_path({10}, 30, opts, true);
    MESSAGE(c.opens << " recoveries, " << c.resumed << " resumed mid-way");
    CHECK(c.resumed > 10);
    CHECK(c.new_seen > 0);
}

TEST_CASE("damage to the new snapshot on disk falls back to the old one, naming the offset") {
    write_run run;
    const snapshot_options opts{.keep = 2, .chunk_bytes = 100};
    record_write(run, {10}, 30, opts, false);
    const crash::image durable =
        run.disk.crash(run.disk.ops().size(), crash::crash_mode::lost).files;
    const std::string path = "/snap/" + fault_store::file_name(slot_id{30}, true);
    const std::size_t size = durable.at(path).size();
    paxos::prng rng(17);
    for (int i = 0; i < 60; ++i) {
        crash::image img = durable;
        const std::size_t p = i < 4 ? static_cast<std::size_t>(i) * 20 : rng.below(size);
        img.at(path)[p] ^= static_cast<std::byte>(1u << rng.below(8));
        crash::fault_disk disk(img);
        fault_store store("/snap", opts, crash::fault_file_system{&disk});
        REQUIRE(store.open() == snapshot_status::ok);
        REQUIRE(store.refused().size() == 1);
        CHECK(store.refused()[0].file == path);
        const std::uint64_t frame = p < 64 ? 0 : 64 + (p - 64) / 104 * 104;
        CHECK(store.refused()[0].offset == frame);
        REQUIRE(store.newest());
        CHECK(store.newest()->slot == slot_id{10});
        CHECK(load(store, 10) == content(10, 420));
    }
}

TEST_CASE("snapshot store I/O errors are fail-stop") {
    for (const int which : {0, 1, 2}) {
        CAPTURE(which);
        crash::fault_disk disk;
        fault_store store("/snap", small_chunks, crash::fault_file_system{&disk});
        REQUIRE(store.open() == snapshot_status::ok);
        REQUIRE(save(store, 1, content(1, 300)) == snapshot_status::ok);
        if (which == 0) disk.fail_sync_call = disk.sync_calls;
        if (which == 1) disk.fail_write_call = disk.write_calls + 2;
        if (which == 2) disk.fail_rename_call = disk.rename_calls;
        CHECK(save(store, 2, content(2, 300)) == snapshot_status::io_error);
        CHECK(store.failed());
        CHECK(store.last_error().system_error == EIO);
        MESSAGE(std::string(store.last_error().what));
        const std::size_t ops = disk.ops().size();
        bytes buf(10);
        CHECK(store.read(slot_id{1}, 0, buf).code == snapshot_status::io_error);
        CHECK(store.begin(slot_id{3}) == snapshot_status::io_error);
        CHECK(store.open() == snapshot_status::io_error);
        CHECK(disk.ops().size() == ops);  // it did not even try
        // The previous snapshot is what a restart finds.
        crash::fault_disk after(disk.crash(disk.ops().size(), crash::crash_mode::lost).files);
        fault_store again("/snap", small_chunks, crash::fault_file_system{&after});
        REQUIRE(again.open() == snapshot_status::ok);
        CHECK(again.newest()->slot == slot_id{1});
    }
}
