// paxos/storage/posix_wal.hpp: a crash-safe write-ahead log on POSIX files,
// a durable_store (durable_state.hpp) for a real replica.
//
// Layout. A directory of segment files `wal-<first record number, 16 hex>.log`.
// A segment is a sequence of records, each
//
//   offset size  field
//        0    4  magic 0x4C575850 ("PXWL")
//        4    4  CRC-32C of bytes 8 .. end of payload
//        8    4  payload length in bytes
//       12    1  record_kind (durable_state.hpp)
//       13    1  format version (1)
//       14    2  reserved, 0
//       16    8  record number: consecutive across the whole log
//       24    8  synced_end: how many bytes of this segment were durable
//                when the record was written
//       32       payload:  promise  ballot
//                          vote     slot u64, ballot, count u32, values
//                          chosen   slot u64, count u32, values
//                          snapshot slot u64
//
// Integers are little-endian. Ballots and values are encoded by the same
// customization points as the wire codec, paxos::wire::ballot_codec<B> and
// paxos::wire::value_codec<V> (wire/value_codec.hpp): integers little-endian,
// other trivially copyable types byte for byte (read back only on a machine
// of the same byte order and layout), anything else through the
// specialization a user writes once for both the wire and the disk. A value
// the codec refuses to encode stops the log (io_error): it cannot be made
// durable, so nothing that depends on it may be sent.
//
// Writing. persist() encodes the whole ready batch into one buffer and writes
// it with one write; when the batch needs it, one fdatasync follows (group
// commit). A segment is rotated at a batch boundary once it holds
// segment_bytes: the old segment is synced first, so every segment but the
// last is whole and durable; the new file's directory entry is fsynced before
// anything is written into it, and the new segment opens with the highest
// promise and the latest snapshot, so older segments can be deleted without
// losing either. snapshot(slot) appends a snapshot record, syncs, then deletes
// the oldest segments whose every vote and chosen slot lies below the slot
// (one directory fsync per deletion, so a crash leaves a contiguous suffix).
//
// Segment size and compaction. Compaction deletes whole segments, never part
// of one, and never the active one: after snapshot(s) the log still holds
// every segment that has a vote or chosen entry at or above s, plus the
// active segment, so it shrinks in steps of segment_bytes. The default is
// 1 MiB: a slot of one small command costs about 110 bytes (its vote and its
// chosen record), so a segment fills after roughly 10,000 slots, and a small
// deployment that snapshots every few thousand commands sees its first
// segment deleted after about that many, instead of after about 600,000
// with the 64 MiB this log used to default to. A rotation costs at most one
// fdatasync of the old segment's unsynced tail, a create, one directory
// fsync and two head records: two syncs per MiB written, which for batches
// of up to 5 KiB is at most one percent more syncs. Raise segment_bytes for
// bulk logs (fewer files; a recovery reads the same bytes either way), lower
// it to compact in finer steps.
//
// The application's snapshot and snapshot(s). The state machine's snapshot
// (snapshot_store.hpp, or the application's own file) must be durable, data
// and directory entry, BEFORE snapshot(s) is called: snapshot(s) records
// the marker and deletes segments, after which slots below s exist only in
// that snapshot. The other order loses them if the process dies in between.
// A crash after the snapshot is durable but before the marker is harmless:
// the log still holds everything, and snapshot_recovery.hpp records the
// marker at the next start.
//
// Reading chosen entries back. read_chosen(from, n, visitor) serves catch-up
// to a lagging peer from the segment files, after recover() and for entries
// persisted in this life alike, so the driver keeps no second copy of the
// applied log. It visits (slot, values) in slot order from `from`, stopping
// at the first slot the log does not hold, after n entries, or when the
// visitor returns false, and says why (read_stop); below snapshot_slot() it
// reads nothing and says `compacted` (send the snapshot instead). Values are
// decoded by the same codec as recovery; every record read is checked again
// (checksum, kind, length), and one that fails is status::corrupt naming the
// file and offset, never handed out. A failed read is io_error. Both are
// fail-stop, like a failed write: the next recovery would refuse the same
// damage, so the operator learns of it now rather than at the next restart.
//
// The index behind it is small and in memory: an ordered map of extents,
// each a run of consecutive chosen slots in one segment whose records start
// within index_stride_bytes (default 64 KiB) of the extent's first record.
// Recovery builds it from the scan it already does, persist() extends it,
// snapshot() drops what lies below the snapshot. A slot written twice (a
// restart that re-learned it) is indexed once: chosen values never differ.
// Costs: memory, one entry (about 80 bytes) per index_stride_bytes of
// retained log that holds chosen records, plus one per segment and per
// restart; per call, one map lookup and one pread of at most
// index_stride_bytes plus one record per extent it touches, so a call reads
// about the bytes of the entries it returns plus at most one stride before
// the first, never the whole log.
//
// The promise is a checksummed record in the log, not a separate file. A
// promise whose write was torn is the torn tail: recovery drops it and the
// previous promise stands. That is safe because persist() had not returned
// (the promise was never synced), so the driver sent nothing that depends on
// it: no acceptor answered on the strength of a promise it may forget.
//
// Recovery (recover()) reads every segment twice: first to validate the whole
// log without calling the visitor, then to replay it. It distinguishes a crash
// from damage as follows. Let the first record that fails (short, bad magic,
// bad checksum, out of sequence) start at offset p.
//   * In a segment other than the last: the segment was synced whole before
//     its successor was created, so this is corruption: status::corrupt.
//   * In the last segment, recovery looks for valid records after p (at every
//     byte offset). If one of them has synced_end > p, then the bytes at p had
//     been synced before that record was written: corruption in the middle of
//     the log, status::corrupt. Otherwise the damage lies in writes that were
//     never synced, whatever order the disk persisted their pages in (a torn
//     record, a zero-filled or preallocated tail, a later page that reached
//     the disk before an earlier one): the tail from p on is truncated, the
//     truncation is synced, and the log continues from there.
//   * A record whose checksum holds but whose contents make no sense (unknown
//     kind, wrong length, unknown version) is corrupt wherever it is.
// A corrupt log is left untouched, and last_error() names the file and the
// offset of the damaged record. The limit of any single-copy log applies:
// damage to records synced by the very last sync, with nothing written after
// them, cannot be told from a torn write and is truncated too.
//
// Preallocation (wal_options::preallocate). Appending to a file changes its
// size, so every fdatasync of an append must also make the new size (and
// any newly allocated block) durable: a journal commit on ext4 with a
// journal or XFS, a synchronous inode write on ext4 without one. With
// preallocate, a new segment is zero-filled to segment_bytes and synced
// before its directory entry is, and records then overwrite the zeros, so a
// steady-state fdatasync flushes the data pages and the disk cache only
// (PostgreSQL's wal_init_zero does the same). Zeros rather than fallocate():
// a write into a fallocated (unwritten) extent converts it, which is again
// a metadata change, and zeros go through the File layer the crash tests
// replace. Recovery needs no new rule: the zeros after the last record are
// a zero-filled tail like any other (below), and a segment is rotated only
// once its records fill segment_bytes, so every segment but the last is
// still whole records to its end. Recovery truncates the tail and fills the
// last segment with zeros again before it syncs it.
//
// Recovery also syncs the last segment and the directory once before it
// replays: the previous process may have died with its writes still in the
// page cache, and nothing may be built on a record that could still vanish.
//
// Replay order: on_snapshot(latest snapshot) first (the state below it is the
// base everything else builds on), then every promise, and every vote and
// chosen entry at or above the snapshot slot, oldest first.
//
// Fail-stop. Any failed write, sync, truncate, create or delete sets the log
// to io_error for good: every later call returns io_error, even if the disk
// would succeed again, because a failed fsync may have dropped dirty pages
// that no retry can bring back. last_error() says which call failed on which
// file, with its errno.
//
// Linux/POSIX, header-only. Not thread-safe (one replica, one log). The
// buffers here allocate; the replica core still does not.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "../assert.hpp"
#include "../detail/crc32c.hpp"
#include "../wire/bytes.hpp"
#include "../wire/value_codec.hpp"
#include "durable_state.hpp"
#include "file_io.hpp"

namespace paxos::inline v0::storage {

// ---- options and errors ----------------------------------------------------------

struct wal_options {
    // A segment is closed and a new one started once it holds this many
    // bytes (checked between batches, so a segment may exceed it by one
    // batch). Compaction deletes whole segments: see the header comment for
    // why the default is 1 MiB.
    std::uint64_t segment_bytes = std::uint64_t{1} << 20;
    // read_chosen's index keeps one entry per this many bytes of log, and a
    // call reads at most this much (plus one record) before its first entry.
    std::uint64_t index_stride_bytes = std::uint64_t{64} << 10;
    // One fdatasync per record instead of one per batch. For measuring what
    // group commit buys; never faster, never safer.
    bool sync_each_record = false;
    // Zero-fill each new segment to segment_bytes (and sync it) before the
    // first record, so that records overwrite allocated blocks instead of
    // growing the file: an fdatasync then flushes data only, with no size or
    // allocation change to commit (header comment: "Preallocation"). Costs
    // one write of segment_bytes and one more fdatasync per segment, and the
    // segment's full size on disk from its creation.
    bool preallocate = false;
};

// What went wrong, for the operator. `file` is a fixed buffer so the error
// can be read after the log is gone and costs no allocation to keep.
struct wal_error {
    status code = status::ok;
    const char* what = "";         // a fixed description, e.g. "fdatasync failed"
    int system_error = 0;          // errno of the failed call (io_error), else 0
    std::uint64_t offset = 0;      // corrupt: first byte of the damaged record in `file`
    std::array<char, 256> file{};  // NUL-terminated, cut short if longer

    const char* file_name() const noexcept { return file.data(); }
};

// Why read_chosen() stopped.
enum class read_stop : std::uint8_t {
    limit,      // it visited entries_max entries, or the visitor returned false: resume at next
    end,        // next is one past the highest chosen slot the log holds: nothing more yet
    gap,        // the log holds chosen slots above next, but not next (the state machine's
                // snapshot covers it, or the replica restarted past it): send a snapshot
    compacted,  // from is below snapshot_slot(): those slots exist only in the snapshot
};

constexpr const char* to_string(read_stop s) noexcept {
    switch (s) {
        case read_stop::limit: return "limit reached";
        case read_stop::end: return "end of the log";
        case read_stop::gap: return "slot missing from the log";
        case read_stop::compacted: return "slot below the log's snapshot";
    }
    return "unknown read_stop";
}

// What one read_chosen() call did. With code != ok, `stop` is meaningless and
// `next`/`entries` say how far it got before the failure.
struct chosen_read {
    status code = status::ok;  // io_error or corrupt: see last_error(); the log has stopped
    read_stop stop = read_stop::end;
    slot_id next{};           // the first slot not visited
    std::size_t entries = 0;  // how many were visited
};

// ---- the log ---------------------------------------------------------------------

template <class Config, class File = posix_file_system>
class posix_wal {
    static_assert(file_system<File>,
                  "posix_wal<Config, File>: File must model paxos::storage::file_system "
                  "(see file_io.hpp)");

public:
    using replica_type = replica<Config>;
    using ballot_type = typename Config::ballot;
    using value_type = typename Config::value_type;
    using ready_type = typename replica_type::ready_type;
    using ballot_codec = wire::ballot_codec<ballot_type>;
    using value_codec = wire::value_codec<value_type>;

    static constexpr std::size_t header_bytes = 32;
    static constexpr std::uint32_t record_magic = 0x4C575850u;  // "PXWL" little-endian
    static constexpr std::uint8_t format_version = 1;
    static constexpr std::size_t batch_values_max = Config::batch_values_max;
    static constexpr std::size_t payload_bytes_max =
        8 + ballot_codec::encoded_size_max + 4 + batch_values_max * value_codec::encoded_size_max;

    // No I/O here: call recover() before anything else, also on an empty or
    // missing directory (it is created).
    explicit posix_wal(std::string directory, wal_options options = {}, File files = File{})
        : directory_(std::move(directory)), options_(options), files_(std::move(files)) {
        PAXOS_ASSERT(!directory_.empty());
        PAXOS_ASSERT(options_.segment_bytes > 0);
        PAXOS_ASSERT(options_.index_stride_bytes > 0);
    }
    ~posix_wal() {
        close_reader();
        close_active();
    }
    posix_wal(const posix_wal&) = delete;
    posix_wal& operator=(const posix_wal&) = delete;

    // Validates the whole log, truncates a torn tail, then replays every
    // durable record into `visitor` (see the header comment for the order).
    // Returns corrupt, calling the visitor not at all, if a damaged record
    // lies in the middle of the log.
    template <class Visitor>
    status recover(Visitor& visitor) {
        if (stopped_ != status::ok) return stopped_;
        close_reader();
        close_active();
        segments_.clear();
        clear_index();
        recovered_ = false;
        promised_ = ballot_type{};
        snapshot_ = slot_id{};
        next_lsn_ = 0;
        if (const status st = open_directory(); st != status::ok) return st;
        if (const status st = validate_all(); st != status::ok) return st;
        if (const status st = reopen_last(); st != status::ok) return st;
        prune_index();
        if (!segments_.empty() && snapshot_.value > 0) visitor.on_snapshot(snapshot_);
        for (const segment& seg : segments_) {
            if (const status st = replay(seg, visitor); st != status::ok) return st;
        }
        recovered_ = true;
        return status::ok;
    }

    // Writes the batch's promise (if changed), votes and chosen entries in
    // one write, then, if rd.sync_needed, one fdatasync.
    status persist(const ready_type& rd) {
        if (stopped_ != status::ok) return stopped_;
        PAXOS_ASSERT(recovered_);  // recover() first, also on a fresh directory
        if (!rd.promised_changed && rd.accepted.empty() && rd.chosen.empty()) {
            return status::ok;
        }
        buffer_.clear();
        record_ends_.clear();
        if (const status st = prepare_segment(); st != status::ok) return st;
        bool encoded = !rd.promised_changed || append_promise(rd.promised);
        for (const auto& vote : rd.accepted) {
            encoded = encoded && append_vote(vote.slot, vote.ballot, vote.values);
        }
        for (const auto& entry : rd.chosen) {
            encoded = encoded && append_chosen(entry.slot, entry.values);
        }
        if (!encoded) return refuse_encoding();
        return write_buffer(rd.sync_needed);
    }

    // Records that state through slot-1 is saved elsewhere (synced), then
    // deletes the segments that hold nothing at or above `slot`.
    status snapshot(slot_id slot) {
        if (stopped_ != status::ok) return stopped_;
        PAXOS_ASSERT(recovered_);
        if (slot <= snapshot_) return status::ok;  // nothing new to record
        buffer_.clear();
        record_ends_.clear();
        if (const status st = prepare_segment(); st != status::ok) return st;
        if (!append_snapshot(slot)) return refuse_encoding();
        if (const status st = write_buffer(true); st != status::ok) return st;
        snapshot_ = slot;
        prune_index();
        return compact();
    }

    // Visits the chosen entries the log holds from `from` on, in slot order:
    // visitor(slot_id, std::span<const value_type>), returning void or bool
    // (false: stop after this entry). Stops at the first slot the log does not
    // hold or after entries_max entries; the result says which, and where to
    // resume. Reads the segment files through the index (header comment:
    // "Reading chosen entries back"); the span is valid during the call only.
    template <class Visitor>
    chosen_read read_chosen(slot_id from, std::size_t entries_max, Visitor&& visitor) {
        chosen_read out;
        out.next = from;
        if (stopped_ != status::ok) {
            out.code = stopped_;
            return out;
        }
        PAXOS_ASSERT(recovered_);
        if (from < snapshot_) {
            out.stop = read_stop::compacted;
            return out;
        }
        while (out.entries < entries_max) {
            const auto it = find_extent(out.next);
            if (it == index_.end()) {
                out.stop = out.next.value >= index_end_ ? read_stop::end : read_stop::gap;
                return out;
            }
            bool more = true;
            out.code = read_extent(it->second, entries_max, visitor, out, more);
            if (out.code != status::ok || !more) break;
        }
        out.stop = read_stop::limit;
        return out;
    }

    // ---- observers ----------------------------------------------------------------

    const wal_error& last_error() const noexcept { return error_; }
    bool failed() const noexcept { return stopped_ != status::ok; }
    std::uint64_t data_syncs() const noexcept { return data_syncs_; }
    std::uint64_t directory_syncs() const noexcept { return directory_syncs_; }
    std::size_t segment_count() const noexcept { return segments_.size(); }
    std::uint64_t next_record_number() const noexcept { return next_lsn_; }
    slot_id snapshot_slot() const noexcept { return snapshot_; }
    // One past the highest chosen slot the log holds (0: none).
    slot_id chosen_end() const noexcept { return slot_id{index_end_}; }
    // Extents in read_chosen's index (see the header comment for its cost).
    std::size_t index_extents() const noexcept { return index_.size(); }
    const std::string& directory() const noexcept { return directory_; }
    File& files() noexcept { return files_; }

    static std::string segment_name(std::uint64_t first_lsn) {
        std::array<char, 32> name{};
        std::snprintf(name.data(), name.size(), "wal-%016llx.log",
                      static_cast<unsigned long long>(first_lsn));
        return name.data();
    }

private:
    using handle = typename File::handle;

    struct segment {
        std::uint64_t first_lsn = 0;
        std::uint64_t slot_end = 0;  // 1 + the highest vote or chosen slot in it
        std::uint64_t valid_bytes = 0;
    };

    // Chosen slots [first, end_slot) of read_chosen's index (the map key is
    // `first`): their records lie in this order in one segment, the first at
    // `offset`, each starting less than index_stride_bytes after it. Extents
    // never overlap, so the one holding a slot is found by one lookup.
    struct extent {
        std::uint64_t segment_lsn = 0;
        std::uint64_t offset = 0;
        std::uint64_t end_slot = 0;
    };
    using extent_map = std::map<std::uint64_t, extent>;

    // One decoded record header (fields of the table in the header comment).
    struct header {
        std::uint32_t length = 0;
        std::uint8_t kind = 0;
        std::uint8_t version = 0;
        std::uint16_t reserved = 0;
        std::uint64_t lsn = 0;
        std::uint64_t synced_end = 0;
    };

    // One decoded payload.
    struct decoded {
        slot_id slot{};
        ballot_type ballot{};
        fixed_vector<value_type, batch_values_max> values{};
    };

    // ---- failures -----------------------------------------------------------------

    status fail(status code, const char* what, const std::string& file, int system_error,
                std::uint64_t offset = 0) {
        PAXOS_ASSERT(code != status::ok);
        error_.code = code;
        error_.what = what;
        error_.system_error = system_error;
        error_.offset = offset;
        error_.file.fill('\0');
        const std::size_t n = std::min(file.size(), error_.file.size() - 1);
        std::memcpy(error_.file.data(), file.data(), n);
        stopped_ = code;
        return code;
    }

    std::string path_of(std::uint64_t first_lsn) const {
        return directory_ + "/" + segment_name(first_lsn);
    }

    void close_active() {
        if (active_ != File::invalid_handle) files_.close(active_);
        active_ = File::invalid_handle;
    }

    void close_reader() {
        if (reader_ != File::invalid_handle) files_.close(reader_);
        reader_ = File::invalid_handle;
    }

    // ---- encoding -----------------------------------------------------------------

    status refuse_encoding() {
        return fail(status::io_error, "the value or ballot codec refused to encode a record",
                    directory_, 0);
    }

    // Appends one record: the header, then the payload `fill` writes. The
    // checksum covers everything after itself; the magic stays outside it so
    // a scan can look for record starts cheaply.
    template <class Fill>
    bool append_record(record_kind kind, Fill&& fill) {
        const std::size_t at = buffer_.size();
        buffer_.resize(at + header_bytes + payload_bytes_max);
        wire::writer payload(
            std::span<std::byte>(buffer_.data() + at + header_bytes, payload_bytes_max));
        if (!fill(payload) || payload.overflowed()) {
            buffer_.resize(at);
            return false;
        }
        buffer_.resize(at + header_bytes + payload.size());
        wire::writer h(std::span<std::byte>(buffer_.data() + at, header_bytes));
        h.put_u32(record_magic);
        h.put_u32(0);  // the checksum, sealed below
        h.put_u32(static_cast<std::uint32_t>(payload.size()));
        h.put_u8(static_cast<std::uint8_t>(kind));
        h.put_u8(format_version);
        h.put_u16(0);
        h.put_u64(next_lsn_++);
        h.put_u64(active_synced_);
        PAXOS_ASSERT(h.size() == header_bytes);
        seal(at, buffer_.size());
        record_ends_.push_back(buffer_.size());
        return true;
    }

    // Writes the checksum of the record at [from, to) of the buffer.
    void seal(std::size_t from, std::size_t to) {
        const std::uint32_t crc = paxos::detail::crc32c(
            std::span<const std::byte>(buffer_.data() + from + 8, to - from - 8));
        wire::writer(std::span<std::byte>(buffer_.data() + from + 4, 4)).put_u32(crc);
    }

    // Rewrites synced_end of the record at [from, to) to what is durable
    // now, and its checksum to match (one sync per record).
    void reseal(std::size_t from, std::size_t to) {
        wire::writer(std::span<std::byte>(buffer_.data() + from + 24, 8)).put_u64(active_synced_);
        seal(from, to);
    }

    static bool put_values(wire::writer& w, std::span<const value_type> values) {
        PAXOS_ASSERT(values.size() <= batch_values_max);
        w.put_u32(static_cast<std::uint32_t>(values.size()));
        for (const value_type& v : values) {
            if (!value_codec::encode(v, w)) return false;
        }
        return true;
    }

    bool append_promise(ballot_type b) {
        if (b > promised_) promised_ = b;
        return append_record(record_kind::promise,
                             [&](wire::writer& w) { return ballot_codec::encode(b, w); });
    }

    bool append_vote(slot_id s, ballot_type b, std::span<const value_type> values) {
        note_slot(s);
        return append_record(record_kind::vote, [&](wire::writer& w) {
            w.put_u64(s.value);
            return ballot_codec::encode(b, w) && put_values(w, values);
        });
    }

    bool append_chosen(slot_id s, std::span<const value_type> values) {
        note_slot(s);
        index_chosen(segments_.back().first_lsn, active_size_ + buffer_.size(), s);
        return append_record(record_kind::chosen, [&](wire::writer& w) {
            w.put_u64(s.value);
            return put_values(w, values);
        });
    }

    bool append_snapshot(slot_id s) {
        return append_record(record_kind::snapshot, [&](wire::writer& w) {
            w.put_u64(s.value);
            return true;
        });
    }

    void note_slot(slot_id s) {
        PAXOS_ASSERT(!segments_.empty());
        segment& seg = segments_.back();
        seg.slot_end = std::max(seg.slot_end, s.value + 1);
    }

    // ---- writing ------------------------------------------------------------------

    status sync_active() {
        if (const int e = files_.sync_data(active_); e != 0) {
            return fail(status::io_error, "fdatasync failed", path_of(segments_.back().first_lsn),
                        e);
        }
        ++data_syncs_;
        active_synced_ = active_size_;
        return status::ok;
    }

    status sync_directory() {
        if (const int e = files_.sync_directory(directory_.c_str()); e != 0) {
            return fail(status::io_error, "fsync of the directory failed", directory_, e);
        }
        ++directory_syncs_;
        return status::ok;
    }

    // Makes sure a segment with room is open, rotating if the active one is
    // full. A new segment opens with the promise and the snapshot, so that
    // deleting every older segment loses neither.
    status prepare_segment() {
        if (active_ != File::invalid_handle && active_size_ < options_.segment_bytes) {
            return status::ok;
        }
        if (active_ != File::invalid_handle) {
            // Every segment but the last is whole and durable (recovery relies on it).
            if (active_synced_ < active_size_) {
                if (const status st = sync_active(); st != status::ok) return st;
            }
            close_active();
        }
        const std::string path = path_of(next_lsn_);
        if (const int e = files_.create(path.c_str(), active_); e != 0) {
            active_ = File::invalid_handle;
            return fail(status::io_error, "creating a segment failed", path, e);
        }
        segments_.push_back(segment{next_lsn_, 0, 0});
        active_size_ = 0;
        active_synced_ = 0;
        if (options_.preallocate) {
            // Zeros first, then their sync, then the name: once the segment
            // is reachable its size and blocks are durable.
            if (const status st = fill_zeros(0, options_.segment_bytes); st != status::ok) {
                return st;
            }
            if (const status st = sync_active(); st != status::ok) return st;
        }
        if (const status st = sync_directory(); st != status::ok) return st;
        if (!promised_.is_zero() && !append_promise(promised_)) return refuse_encoding();
        if (snapshot_.value > 0 && !append_snapshot(snapshot_)) return refuse_encoding();
        return status::ok;
    }

    // Writes zeros over [from, to) of the active segment (preallocation);
    // active_size_, where the next record goes, does not move.
    status fill_zeros(std::uint64_t from, std::uint64_t to) {
        static constexpr std::array<std::byte, 64 * 1024> zeros{};
        PAXOS_ASSERT(from <= to);
        PAXOS_ASSERT(active_ != File::invalid_handle);
        for (std::uint64_t at = from; at < to;) {
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), to - at));
            const std::span<const std::byte> bytes(zeros.data(), n);
            if (const int e = files_.write_at(active_, at, bytes); e != 0) {
                return fail(status::io_error, "preallocating a segment failed",
                            path_of(segments_.back().first_lsn), e, at);
            }
            at += n;
        }
        return status::ok;
    }

    status write_part(std::size_t from, std::size_t to) {
        const std::span<const std::byte> bytes(buffer_.data() + from, to - from);
        if (const int e = files_.write_at(active_, active_size_, bytes); e != 0) {
            return fail(status::io_error, "write failed", path_of(segments_.back().first_lsn), e,
                        active_size_);
        }
        active_size_ += bytes.size();
        segments_.back().valid_bytes = active_size_;
        return status::ok;
    }

    status write_buffer(bool sync) {
        if (buffer_.empty()) return status::ok;
        if (!sync || !options_.sync_each_record) {
            if (const status st = write_part(0, buffer_.size()); st != status::ok) return st;
            return sync ? sync_active() : status::ok;
        }
        std::size_t from = 0;
        for (const std::size_t to : record_ends_) {
            reseal(from, to);  // the records before this one are durable now
            if (const status st = write_part(from, to); st != status::ok) return st;
            if (const status st = sync_active(); st != status::ok) return st;
            from = to;
        }
        return status::ok;
    }

    // Deletes the oldest segments while nothing in them is needed: every
    // vote and chosen slot below the snapshot, and never the active one.
    status compact() {
        while (segments_.size() > 1 && segments_.front().slot_end <= snapshot_.value) {
            const std::string path = path_of(segments_.front().first_lsn);
            if (reader_lsn_ == segments_.front().first_lsn) close_reader();
            if (const int e = files_.remove(path.c_str()); e != 0) {
                return fail(status::io_error, "deleting a segment failed", path, e);
            }
            segments_.erase(segments_.begin());
            // One directory sync per deletion: a crash then leaves the
            // newest segments, never a log with a hole in the middle.
            if (const status st = sync_directory(); st != status::ok) return st;
        }
        return status::ok;
    }

    // ---- recovery -----------------------------------------------------------------

    status open_directory() {
        bool created = false;
        if (const int e = files_.make_directory(directory_.c_str(), created); e != 0) {
            return fail(status::io_error, "creating the log directory failed", directory_, e);
        }
        if (created) {
            const std::size_t cut = directory_.find_last_of('/');
            const std::string parent = cut == std::string::npos ? std::string(".")
                                       : cut == 0               ? std::string("/")
                                                                : directory_.substr(0, cut);
            if (const int e = files_.sync_directory(parent.c_str()); e != 0) {
                return fail(status::io_error, "fsync of the parent directory failed", parent, e);
            }
            ++directory_syncs_;
        }
        std::vector<std::string> names;
        if (const int e = files_.list_directory(directory_.c_str(), names); e != 0) {
            return fail(status::io_error, "listing the log directory failed", directory_, e);
        }
        for (const std::string& name : names) {
            std::uint64_t lsn = 0;
            if (parse_segment_name(name, lsn)) segments_.push_back(segment{lsn, 0, 0});
        }
        std::sort(segments_.begin(), segments_.end(),
                  [](const segment& a, const segment& b) { return a.first_lsn < b.first_lsn; });
        return status::ok;
    }

    static bool parse_segment_name(std::string_view name, std::uint64_t& lsn) {
        if (name.size() != 24 || name.substr(0, 4) != "wal-" || name.substr(20) != ".log") {
            return false;
        }
        return parse_hex16(name.substr(4, 16), lsn);
    }

    status read_segment(const segment& seg, std::vector<std::byte>& out) {
        const std::string path = path_of(seg.first_lsn);
        handle h = File::invalid_handle;
        if (const int e = files_.open_existing(path.c_str(), h); e != 0) {
            return fail(status::io_error, "opening a segment failed", path, e);
        }
        std::uint64_t size = 0;
        int e = files_.file_size(h, size);
        if (e == 0) {
            out.resize(static_cast<std::size_t>(size));
            e = files_.read_at(h, 0, out);
        }
        files_.close(h);
        if (e != 0) return fail(status::io_error, "reading a segment failed", path, e);
        return status::ok;
    }

    // Checks framing only: room, magic, length bound, checksum.
    bool frame_at(std::span<const std::byte> data, std::size_t pos, header& h) const {
        if (data.size() - pos < header_bytes) return false;
        wire::reader r(data.subspan(pos, header_bytes));
        std::uint32_t magic = 0;
        std::uint32_t crc = 0;
        if (!r.get_u32(magic) || magic != record_magic) return false;
        if (!r.get_u32(crc) || !r.get_u32(h.length)) return false;
        if (h.length > payload_bytes_max) return false;
        if (data.size() - pos - header_bytes < h.length) return false;
        if (paxos::detail::crc32c(data.subspan(pos + 8, header_bytes - 8 + h.length)) != crc) {
            return false;
        }
        return r.get_u8(h.kind) && r.get_u8(h.version) && r.get_u16(h.reserved) &&
               r.get_u64(h.lsn) && r.get_u64(h.synced_end);
    }

    // Decodes a framed record's payload; false if it is not one this build
    // writes (unknown kind, too many values, bytes left over or missing).
    static bool decode(const header& h, std::span<const std::byte> payload, decoded& out) {
        wire::reader r(payload);
        bool ok = false;
        out.values.clear();
        switch (static_cast<record_kind>(h.kind)) {
            case record_kind::promise: ok = ballot_codec::decode(r, out.ballot); break;
            case record_kind::snapshot: ok = r.get_u64(out.slot.value); break;
            case record_kind::vote:
                ok = r.get_u64(out.slot.value) && ballot_codec::decode(r, out.ballot) &&
                     get_values(r, out.values);
                break;
            case record_kind::chosen:
                ok = r.get_u64(out.slot.value) && get_values(r, out.values);
                break;
        }
        return ok && !r.overrun() && r.remaining() == 0;
    }

    static bool get_values(wire::reader& r, fixed_vector<value_type, batch_values_max>& out) {
        std::uint32_t n = 0;
        if (!r.get_u32(n) || n > batch_values_max) return false;
        for (std::uint32_t i = 0; i < n; ++i) {
            value_type v{};
            if (!value_codec::decode(r, v)) return false;
            out.push_back(v);
        }
        return true;
    }

    // Scans one segment's bytes. On return seg.valid_bytes is the length of
    // its prefix of whole records; a status other than ok is corruption.
    status scan(segment& seg, std::span<const std::byte> data, bool last) {
        const std::string path = path_of(seg.first_lsn);
        std::size_t pos = 0;
        header h;
        decoded d;
        while (pos < data.size()) {
            if (!frame_at(data, pos, h) || h.lsn != next_lsn_ || h.synced_end > pos) break;
            if (h.version != format_version || h.reserved != 0 ||
                !decode(h, data.subspan(pos + header_bytes, h.length), d)) {
                return fail(status::corrupt,
                            "a record with a valid checksum has an unknown kind, version or "
                            "length (written by another version, or a bug)",
                            path, 0, pos);
            }
            note_record(seg, h, d);
            if (static_cast<record_kind>(h.kind) == record_kind::chosen) {
                index_chosen(seg.first_lsn, pos, d.slot);
            }
            ++next_lsn_;
            pos += header_bytes + h.length;
        }
        seg.valid_bytes = pos;
        if (pos == data.size()) return status::ok;
        if (!last) {
            return fail(status::corrupt,
                        "damaged record in a segment that was synced whole (not the last one)",
                        path, 0, pos);
        }
        // Evidence that the damage was synced: a later record written after it.
        // Only a byte equal to the magic's first can start one, so a long
        // zero-filled tail (preallocation) is skipped at memchr's pace.
        for (std::size_t q = pos + 1; q < data.size();) {
            const void* next = std::memchr(data.data() + q, record_magic & 0xFFu, data.size() - q);
            if (next == nullptr) break;
            q = static_cast<std::size_t>(static_cast<const std::byte*>(next) - data.data());
            if (!frame_at(data, q, h)) {
                ++q;
                continue;
            }
            if (h.synced_end > pos) {
                return fail(status::corrupt,
                            "damaged record followed by records written after it was synced", path,
                            0, pos);
            }
            q += header_bytes + h.length;
        }
        return status::ok;  // a torn tail: reopen_last() truncates it
    }

    void note_record(segment& seg, const header& h, const decoded& d) {
        switch (static_cast<record_kind>(h.kind)) {
            case record_kind::promise:
                if (d.ballot > promised_) promised_ = d.ballot;
                break;
            case record_kind::snapshot:
                if (d.slot > snapshot_) snapshot_ = d.slot;
                break;
            case record_kind::vote:
            case record_kind::chosen:
                seg.slot_end = std::max(seg.slot_end, d.slot.value + 1);
                break;
        }
    }

    status validate_all() {
        std::vector<std::byte> data;
        for (std::size_t i = 0; i < segments_.size(); ++i) {
            segment& seg = segments_[i];
            if (i == 0) next_lsn_ = seg.first_lsn;
            if (seg.first_lsn != next_lsn_) {
                return fail(status::corrupt,
                            "records are missing between this segment and the one before it",
                            path_of(seg.first_lsn), 0, 0);
            }
            if (const status st = read_segment(seg, data); st != status::ok) return st;
            if (const status st = scan(seg, data, i + 1 == segments_.size()); st != status::ok) {
                return st;
            }
            last_file_bytes_ = data.size();
        }
        return status::ok;
    }

    // Opens the last segment for appending: truncates its torn tail, then
    // syncs it and the directory, so that everything replayed is durable.
    status reopen_last() {
        if (segments_.empty()) return status::ok;
        const segment& seg = segments_.back();
        const std::string path = path_of(seg.first_lsn);
        if (const int e = files_.open_existing(path.c_str(), active_); e != 0) {
            active_ = File::invalid_handle;
            return fail(status::io_error, "opening the last segment failed", path, e);
        }
        if (seg.valid_bytes < last_file_bytes_) {
            if (const int e = files_.truncate(active_, seg.valid_bytes); e != 0) {
                return fail(status::io_error, "truncating the torn tail failed", path, e,
                            seg.valid_bytes);
            }
        }
        active_size_ = seg.valid_bytes;
        if (options_.preallocate && seg.valid_bytes < options_.segment_bytes) {
            const status st = fill_zeros(seg.valid_bytes, options_.segment_bytes);
            if (st != status::ok) return st;
        }
        if (const status st = sync_active(); st != status::ok) return st;
        return sync_directory();
    }

    template <class Visitor>
    status replay(const segment& seg, Visitor& visitor) {
        std::vector<std::byte> data;
        if (const status st = read_segment(seg, data); st != status::ok) return st;
        if (data.size() < seg.valid_bytes) {
            return fail(status::corrupt, "a segment shrank during recovery", path_of(seg.first_lsn),
                        0, data.size());
        }
        std::size_t pos = 0;
        header h;
        decoded d;
        while (pos < seg.valid_bytes) {
            if (!frame_at(data, pos, h) ||
                !decode(h, std::span<const std::byte>(data).subspan(pos + header_bytes, h.length),
                        d)) {
                return fail(status::corrupt, "a segment changed during recovery",
                            path_of(seg.first_lsn), 0, pos);
            }
            switch (static_cast<record_kind>(h.kind)) {
                case record_kind::promise: visitor.on_promise(d.ballot); break;
                case record_kind::snapshot: break;  // the latest was replayed first
                case record_kind::vote:
                    if (d.slot >= snapshot_) visitor.on_vote(d.slot, d.ballot, d.values.view());
                    break;
                case record_kind::chosen:
                    if (d.slot >= snapshot_) visitor.on_chosen(d.slot, d.values.view());
                    break;
            }
            pos += header_bytes + h.length;
        }
        return status::ok;
    }

    // ---- the chosen-entry index and read_chosen -------------------------------------

    void clear_index() {
        index_.clear();
        open_extent_ = index_.end();
        index_end_ = 0;
    }

    typename extent_map::iterator find_extent(slot_id s) {
        auto it = index_.upper_bound(s.value);
        if (it == index_.begin()) return index_.end();
        --it;
        return it->second.end_slot > s.value ? it : index_.end();
    }

    // Called for every chosen record, in log order, with where it starts.
    void index_chosen(std::uint64_t segment_lsn, std::uint64_t offset, slot_id s) {
        if (s < snapshot_) return;  // never served: read_chosen says compacted
        if (s.value < index_end_ && find_extent(s) != index_.end()) return;  // a re-learned copy
        index_end_ = std::max(index_end_, s.value + 1);
        if (open_extent_ != index_.end()) {
            extent& e = open_extent_->second;
            PAXOS_ASSERT(e.segment_lsn != segment_lsn || offset > e.offset);
            if (e.segment_lsn == segment_lsn && e.end_slot == s.value &&
                offset - e.offset < options_.index_stride_bytes) {
                ++e.end_slot;
                return;
            }
        }
        open_extent_ = index_.emplace(s.value, extent{segment_lsn, offset, s.value + 1}).first;
    }

    // Drops the extents wholly below the snapshot, which include every
    // extent of every segment compact() may delete (their slot_end is at most
    // the snapshot). Extents never overlap, so key order is end order.
    void prune_index() {
        while (!index_.empty() && index_.begin()->second.end_slot <= snapshot_.value) {
            if (open_extent_ == index_.begin()) open_extent_ = index_.end();
            index_.erase(index_.begin());
        }
    }

    const segment* find_segment(std::uint64_t lsn) const {
        const auto it =
            std::lower_bound(segments_.begin(), segments_.end(), lsn,
                             [](const segment& seg, std::uint64_t v) { return seg.first_lsn < v; });
        return it != segments_.end() && it->first_lsn == lsn ? &*it : nullptr;
    }

    // The active segment is read through its own handle; one other segment's
    // handle is kept open, since catch-up reads tend to come in a row.
    status reader_for(const segment& seg, handle& h) {
        if (&seg == &segments_.back() && active_ != File::invalid_handle) {
            h = active_;
            return status::ok;
        }
        if (reader_ == File::invalid_handle || reader_lsn_ != seg.first_lsn) {
            close_reader();
            const std::string path = path_of(seg.first_lsn);
            if (const int e = files_.open_existing(path.c_str(), reader_); e != 0) {
                reader_ = File::invalid_handle;
                return fail(status::io_error, "opening a segment to read it failed", path, e);
            }
            reader_lsn_ = seg.first_lsn;
        }
        h = reader_;
        return status::ok;
    }

    // Reads one extent's records with one pread and visits those from
    // out.next on. Every record on the way is checked again: the disk may
    // have changed it since it was written or recovered.
    template <class Visitor>
    status read_extent(const extent& e, std::size_t entries_max, Visitor& visitor, chosen_read& out,
                       bool& more) {
        const segment* seg = find_segment(e.segment_lsn);
        PAXOS_ASSERT(seg != nullptr);  // compaction drops a segment's extents before it
        const std::uint64_t reach = options_.index_stride_bytes + header_bytes + payload_bytes_max;
        const std::uint64_t end = std::min(seg->valid_bytes, e.offset + reach);
        PAXOS_ASSERT(e.offset < end);
        handle h = File::invalid_handle;
        if (const status st = reader_for(*seg, h); st != status::ok) return st;
        read_buffer_.resize(static_cast<std::size_t>(end - e.offset));
        if (const int err = files_.read_at(h, e.offset, read_buffer_); err != 0) {
            return fail(status::io_error, "reading a segment failed", path_of(seg->first_lsn), err,
                        e.offset);
        }
        const std::span<const std::byte> data(read_buffer_);
        std::size_t pos = 0;
        header hd;
        decoded d;
        while (out.next.value < e.end_slot) {
            if (pos >= data.size() || !frame_at(data, pos, hd) || hd.version != format_version ||
                !decode(hd, data.subspan(pos + header_bytes, hd.length), d)) {
                return fail(status::corrupt,
                            "a chosen record failed its checks when read back for catch-up",
                            path_of(seg->first_lsn), 0, e.offset + pos);
            }
            if (static_cast<record_kind>(hd.kind) == record_kind::chosen && d.slot == out.next) {
                const std::span<const value_type> values = d.values.view();
                bool keep_going = true;
                if constexpr (std::is_void_v<std::invoke_result_t<Visitor&, slot_id,
                                                                  std::span<const value_type>>>) {
                    visitor(d.slot, values);
                } else {
                    keep_going = static_cast<bool>(visitor(d.slot, values));
                }
                ++out.entries;
                out.next = out.next.next();
                if (!keep_going || out.entries >= entries_max) {
                    more = false;
                    return status::ok;
                }
            }
            pos += header_bytes + hd.length;
        }
        return status::ok;
    }

    std::string directory_;
    wal_options options_;
    File files_;

    status stopped_ = status::ok;  // io_error or corrupt: sticky
    bool recovered_ = false;
    wal_error error_{};

    std::vector<segment> segments_;  // oldest first; the last one is active
    handle active_ = File::invalid_handle;
    std::uint64_t active_size_ = 0;      // bytes written to the active segment
    std::uint64_t active_synced_ = 0;    // of which durable
    std::uint64_t last_file_bytes_ = 0;  // size of the last segment file at recovery
    std::uint64_t next_lsn_ = 0;
    ballot_type promised_{};  // the highest promise record in the log
    slot_id snapshot_{};

    std::uint64_t data_syncs_ = 0;
    std::uint64_t directory_syncs_ = 0;

    std::vector<std::byte> buffer_;         // the batch being encoded
    std::vector<std::size_t> record_ends_;  // end of each record in buffer_

    extent_map index_;                                          // read_chosen's index
    typename extent_map::iterator open_extent_ = index_.end();  // the one persist() extends
    std::uint64_t index_end_ = 0;           // 1 + the highest chosen slot indexed
    handle reader_ = File::invalid_handle;  // an open non-active segment
    std::uint64_t reader_lsn_ = 0;
    std::vector<std::byte> read_buffer_;
};

}  // namespace paxos::inline v0::storage
