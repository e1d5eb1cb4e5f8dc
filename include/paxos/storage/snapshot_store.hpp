// paxos/storage/snapshot_store.hpp: the state machine's snapshots on disk,
// beside the write-ahead log (posix_wal.hpp).
//
// The application's state machine builds a snapshot ("my state through slot
// s - 1"); the bytes are its own and nothing here interprets them. The store
// keeps them safely: no snapshot half written is ever used, a damaged one is
// refused with its file and the offset of the damage, and the one before it
// stays usable.
//
// Write path, and the order the log depends on:
//   begin(s)          a temporary file snap-<s>.part, with a provisional header
//   append(bytes)...  any number of times, any sizes (so also a snapshot
//                     arriving from a peer in chunks: begin_receive)
//   commit()          writes the last chunk and the final header, fdatasyncs
//                     the file, renames it to snap-<s>.snap, fsyncs the
//                     directory, and only then returns ok
//   wal.snapshot(s)   only after commit() returned ok: the log's marker lets
//                     it delete segments below s, after which those slots
//                     exist only in this file (snapshot_recovery.hpp has
//                     compact_log(), which takes the slot from the store).
// A crash anywhere before the directory fsync leaves the previous snapshot
// newest (the .part file is removed at the next open()); a crash after it
// and before the marker leaves the new snapshot and a log that still holds
// everything, and recover_with_snapshot() records the marker then.
// abort() removes the temporary file.
//
// File format (integers little-endian):
//
//   offset size  field
//        0    4  magic 0x4E535850 ("PXSN")
//        4    1  format version (1)
//        5    1  state: 1 complete, 2 being built here, 3 being received
//        6    2  reserved, 0
//        8    8  slot s: the content is the state through slot s - 1
//       16    8  content length in bytes (0 while being built)
//       24    4  CRC-32C of the content (0 while being built)
//       28    4  chunk_bytes: the content's chunk size
//       32   28  reserved, 0
//       60    4  CRC-32C of bytes 0 .. 59
//       64       chunks: for each chunk of chunk_bytes (the last one
//                shorter), its CRC-32C (4 bytes), then its bytes
//
// A complete file is exactly 64 + length + 4 * chunk count bytes. The chunk
// CRC is the plain CRC-32C of the chunk's bytes, the same checksum a transfer
// chunk carries: with the same chunk_bytes on every node (and as the transfer
// chunk size), a sender ships read_chunk()'s bytes with the CRC stored on its
// disk, so disk damage on the sender is caught at the receiver too.
//
// Reading. read(slot, offset, out) and read_chunk(slot, index, out) serve a
// snapshot by offset (loading it, or serving a transfer). Every chunk a read
// touches is checked against its CRC; one that fails is `corrupt`, naming the
// file and the chunk's offset, and that snapshot is refused from then on (as
// the next open() would refuse it); the others stay usable.
//
// Recovery. open() syncs the directory (the last process may have died
// before its last rename was durable), then looks at every snap-*.snap,
// newest slot first, and takes the first that is whole: header, exact
// size, every chunk's CRC and the content CRC. Each one refused on the way
// is listed in refused() with its file, the offset of the damage and why
// (a short file: its size; a bad header: 0, or its size if it ends inside the
// header; a bad chunk: the chunk's offset), and is left untouched for the
// operator. Snapshots older than the one taken are checked by header and
// size only (reading them all would multiply start-up time; their chunks are
// checked whenever they are read). Every .part file is a leftover of a crash
// and is removed, except the newest receive above the newest snapshot: see
// resuming, below.
//
// Resuming a receive. begin_receive(s, length, crc) is begin() for a
// snapshot whose sender declared its length and CRC. Its .part file survives
// a restart: open() keeps its longest prefix of whole chunks whose CRCs hold
// (partial() says how many bytes), and begin_receive() with the same slot,
// length and CRC resumes after them: ask the sender for bytes from
// written_bytes(). No sync is needed for that: a chunk is trusted by its
// CRC, and one torn or lost by the crash is simply asked for again. Another
// identity (another snapshot, or the same slot from a sender that encoded
// it differently) starts from zero. commit() of a receive checks the length
// and CRC the sender declared (`mismatch` otherwise, and the file is
// removed). A snapshot built here (begin) is not resumable: after a restart
// the state machine that was writing it is gone.
//
// Retention. After a commit, the newest `keep` complete snapshots stay
// (default 2, so a transfer serving the previous one survives one new
// snapshot); older ones, and refused files older than the oldest kept one,
// are deleted only once the new snapshot's name is durable, then the
// directory is synced. open() applies the same rule.
//
// Errors are values (snapshot_status). I/O errors are fail-stop, as in the
// log: every later call returns io_error and last_error() names the call, the
// file and errno. Programmer errors (append without begin, two writes at
// once) are PAXOS_ASSERT. Linux/POSIX, header-only, not thread-safe; it
// allocates (paths, one chunk buffer), unlike the replica core.
#pragma once

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../assert.hpp"
#include "../core/types.hpp"
#include "../detail/crc32c.hpp"
#include "../wire/bytes.hpp"
#include "file_io.hpp"

namespace paxos::inline v0::storage {

enum class snapshot_status : std::uint8_t {
    ok,
    io_error,   // a read, write, sync, rename or delete failed; fail-stop
    corrupt,    // a chunk failed its CRC when read; that snapshot is refused from now on
    not_found,  // no usable complete snapshot of that slot (never written, refused or deleted)
    stale,      // begin: the slot is not above the newest complete snapshot
    mismatch,   // a receive's bytes differ from its declared length or CRC, or a read
                // offset lies past the end
};

constexpr const char* to_string(snapshot_status s) noexcept {
    switch (s) {
        case snapshot_status::ok: return "ok";
        case snapshot_status::io_error: return "I/O error (fail-stop)";
        case snapshot_status::corrupt: return "snapshot chunk failed its checksum";
        case snapshot_status::not_found: return "no such snapshot";
        case snapshot_status::stale: return "not newer than the newest snapshot";
        case snapshot_status::mismatch: return "length or checksum differs from the declared one";
    }
    return "unknown snapshot status";
}

struct snapshot_options {
    std::size_t keep = 2;                  // complete snapshots kept after a commit (>= 1)
    std::uint32_t chunk_bytes = 64 << 10;  // chunk (and chunk CRC) size of new snapshots
};

// One complete snapshot.
struct snapshot_info {
    slot_id slot{};  // the state through slot - 1
    std::uint64_t size_bytes = 0;
    std::uint32_t crc = 0;  // CRC-32C of the content
    std::uint32_t chunk_bytes = 0;

    std::uint64_t chunk_count() const noexcept {
        return chunk_bytes == 0 ? 0 : (size_bytes + chunk_bytes - 1) / chunk_bytes;
    }
    friend bool operator==(const snapshot_info&, const snapshot_info&) = default;
};

// A snapshot file that was refused, for the operator.
struct refused_snapshot {
    std::string file;          // its path
    std::uint64_t offset = 0;  // first damaged byte found (a chunk's first byte, for a chunk)
    const char* what = "";
};

// A receive open() found unfinished: begin_receive(slot, size_bytes, crc)
// resumes it after received_bytes.
struct partial_snapshot {
    slot_id slot{};
    std::uint64_t size_bytes = 0;
    std::uint32_t crc = 0;
    std::uint64_t received_bytes = 0;
};

// What a read returned: `bytes` bytes and, from read_chunk, the chunk's
// CRC-32C as stored on disk (checked against the bytes), to send with it.
struct snapshot_read {
    snapshot_status code = snapshot_status::ok;
    std::size_t bytes = 0;
    std::uint32_t crc = 0;  // read_chunk only
};

struct snapshot_error {
    snapshot_status code = snapshot_status::ok;
    const char* what = "";
    int system_error = 0;          // errno of the failed call (io_error)
    std::uint64_t offset = 0;      // corrupt: the damaged chunk's offset in `file`
    std::array<char, 256> file{};  // NUL-terminated, cut short if longer

    const char* file_name() const noexcept { return file.data(); }
};

template <class File = posix_file_system>
class snapshot_store {
    static_assert(snapshot_file_system<File>,
                  "snapshot_store<File>: File must model paxos::storage::snapshot_file_system "
                  "(file_system plus int rename(const char* from, const char* to); file_io.hpp)");

public:
    static constexpr std::size_t header_bytes = 64;
    static constexpr std::size_t chunk_crc_bytes = 4;
    static constexpr std::uint32_t magic = 0x4E535850u;  // "PXSN" little-endian
    static constexpr std::uint8_t format_version = 1;
    static constexpr std::uint8_t state_complete = 1;
    static constexpr std::uint8_t state_building = 2;
    static constexpr std::uint8_t state_receiving = 3;

    // No I/O here: call open() first, also on a missing directory (created).
    explicit snapshot_store(std::string directory, snapshot_options options = {},
                            File files = File{})
        : directory_(std::move(directory)), options_(options), files_(std::move(files)) {
        PAXOS_ASSERT(!directory_.empty());
        PAXOS_ASSERT(options_.keep >= 1);
        PAXOS_ASSERT(options_.chunk_bytes > 0);
    }
    ~snapshot_store() { close_all(); }
    snapshot_store(const snapshot_store&) = delete;
    snapshot_store& operator=(const snapshot_store&) = delete;

    // Finds the newest complete, valid snapshot, lists the refused ones,
    // removes leftovers of a crash, keeps a resumable receive (header
    // comment: Recovery). ok even if some files were refused: see refused().
    snapshot_status open() {
        if (stopped_ != snapshot_status::ok) return stopped_;
        close_all();
        infos_.clear();
        readers_.clear();
        refused_.clear();
        partial_.reset();
        opened_ = false;
        std::vector<std::uint64_t> complete;
        std::vector<std::uint64_t> parts;
        if (const snapshot_status st = list(complete, parts); st != snapshot_status::ok) return st;
        std::sort(complete.rbegin(), complete.rend());
        for (const std::uint64_t slot : complete) {
            if (const snapshot_status st = consider(slot); st != snapshot_status::ok) return st;
        }
        if (const snapshot_status st = sort_out_parts(parts); st != snapshot_status::ok) return st;
        if (const snapshot_status st = retire(); st != snapshot_status::ok) return st;
        opened_ = true;
        return snapshot_status::ok;
    }

    // ---- what is there ---------------------------------------------------------

    std::optional<snapshot_info> newest() const {
        if (infos_.empty()) return std::nullopt;
        return infos_.front();
    }
    std::span<const snapshot_info> snapshots() const noexcept { return infos_; }  // newest first
    std::span<const refused_snapshot> refused() const noexcept { return refused_; }
    const std::optional<partial_snapshot>& partial() const noexcept { return partial_; }
    const snapshot_error& last_error() const noexcept { return error_; }
    bool failed() const noexcept { return stopped_ != snapshot_status::ok; }
    const std::string& directory() const noexcept { return directory_; }
    File& files() noexcept { return files_; }
    std::uint64_t data_syncs() const noexcept { return data_syncs_; }
    std::uint64_t directory_syncs() const noexcept { return directory_syncs_; }

    static std::string file_name(slot_id slot, bool complete) {
        std::array<char, 40> name{};
        std::snprintf(name.data(), name.size(), "snap-%016llx.%s",
                      static_cast<unsigned long long>(slot.value), complete ? "snap" : "part");
        return name.data();
    }
    std::string path_of(slot_id slot, bool complete) const {
        return directory_ + "/" + file_name(slot, complete);
    }

    // ---- reading ---------------------------------------------------------------

    // Up to out.size() bytes of snapshot `slot` from `offset` (fewer only at
    // the end; none at the end). Every chunk touched is checked.
    snapshot_read read(slot_id slot, std::uint64_t offset, std::span<std::byte> out) {
        if (stopped_ != snapshot_status::ok) return {stopped_, 0, 0};
        PAXOS_ASSERT(opened_);
        const std::size_t i = find(slot);
        if (i == infos_.size()) return {snapshot_status::not_found, 0, 0};
        const snapshot_info info = infos_[i];
        if (offset > info.size_bytes) return {snapshot_status::mismatch, 0, 0};
        const std::uint64_t n = std::min<std::uint64_t>(out.size(), info.size_bytes - offset);
        std::uint64_t done = 0;
        while (done < n) {
            const std::uint64_t at = offset + done;
            const std::uint64_t index = at / info.chunk_bytes;
            std::span<const std::byte> chunk;
            if (const snapshot_status st = load_chunk(i, index, chunk); st != snapshot_status::ok) {
                return {st, 0, 0};
            }
            const std::uint64_t skip = at - index * info.chunk_bytes;
            const std::uint64_t take = std::min<std::uint64_t>(chunk.size() - skip, n - done);
            std::memcpy(out.data() + done, chunk.data() + skip, static_cast<std::size_t>(take));
            done += take;
        }
        return {snapshot_status::ok, static_cast<std::size_t>(n), 0};
    }

    // Chunk `index` of snapshot `slot` (out must hold it: chunk_bytes, or
    // less for the last one), and its stored CRC: what a transfer sends.
    snapshot_read read_chunk(slot_id slot, std::uint64_t index, std::span<std::byte> out) {
        if (stopped_ != snapshot_status::ok) return {stopped_, 0, 0};
        PAXOS_ASSERT(opened_);
        const std::size_t i = find(slot);
        if (i == infos_.size()) return {snapshot_status::not_found, 0, 0};
        if (index >= infos_[i].chunk_count()) return {snapshot_status::mismatch, 0, 0};
        PAXOS_ASSERT(out.size() >= chunk_length(infos_[i], index));
        std::span<const std::byte> chunk;
        if (const snapshot_status st = load_chunk(i, index, chunk); st != snapshot_status::ok) {
            return {st, 0, 0};
        }
        std::memcpy(out.data(), chunk.data(), chunk.size());
        return {snapshot_status::ok, chunk.size(), chunk_crc_};
    }

    // ---- writing ---------------------------------------------------------------

    bool writing() const noexcept { return writer_.active; }
    // Bytes appended so far: where a transfer continues.
    std::uint64_t written_bytes() const noexcept { return writer_.written; }

    // Starts a snapshot of the state through slot - 1, built here.
    snapshot_status begin(slot_id slot) { return start(slot, state_building, 0, 0); }

    // Starts (or resumes, see the header comment) a snapshot received from a
    // peer that declared its length and CRC.
    snapshot_status begin_receive(slot_id slot, std::uint64_t size_bytes, std::uint32_t crc) {
        if (stopped_ != snapshot_status::ok) return stopped_;
        PAXOS_ASSERT(opened_);
        PAXOS_ASSERT(!writer_.active);  // one snapshot written at a time
        if (!infos_.empty() && slot <= infos_.front().slot) return snapshot_status::stale;
        if (partial_ && partial_->slot == slot && partial_->size_bytes == size_bytes &&
            partial_->crc == crc) {
            return resume();
        }
        return start(slot, state_receiving, size_bytes, crc);
    }

    snapshot_status append(std::span<const std::byte> bytes) {
        if (stopped_ != snapshot_status::ok) return stopped_;
        PAXOS_ASSERT(writer_.active);
        if (writer_.receiving && bytes.size() > writer_.declared_size - writer_.written) {
            return snapshot_status::mismatch;  // more than the sender said: nothing written
        }
        writer_.crc = paxos::detail::crc32c(bytes, writer_.crc);
        writer_.written += bytes.size();
        frames_.clear();
        while (!bytes.empty()) {
            const std::size_t room = writer_.chunk_bytes - writer_.pending.size();
            const std::size_t take = std::min(room, bytes.size());
            writer_.pending.insert(writer_.pending.end(), bytes.begin(), bytes.begin() + take);
            bytes = bytes.subspan(take);
            if (writer_.pending.size() == writer_.chunk_bytes) frame_pending();
            // Bounded memory for one large append: write every MiB or so.
            if (frames_.size() >= frames_bytes_max) {
                if (const snapshot_status st = write_frames(); st != snapshot_status::ok) {
                    return st;
                }
            }
        }
        return write_frames();
    }

    // Makes the snapshot durable under its final name (header comment: Write
    // path); only after ok may the log's marker be recorded.
    snapshot_status commit() {
        if (stopped_ != snapshot_status::ok) return stopped_;
        PAXOS_ASSERT(writer_.active);
        if (writer_.receiving &&
            (writer_.written != writer_.declared_size || writer_.crc != writer_.declared_crc)) {
            const snapshot_status st = discard_writer();
            return st != snapshot_status::ok ? st : snapshot_status::mismatch;
        }
        frames_.clear();
        if (!writer_.pending.empty()) frame_pending();
        if (const snapshot_status st = write_frames(); st != snapshot_status::ok) return st;
        const snapshot_info info{writer_.slot, writer_.written, writer_.crc, writer_.chunk_bytes};
        const std::string part = path_of(info.slot, false);
        const std::string final_path = path_of(info.slot, true);
        std::array<std::byte, header_bytes> h{};
        encode_header(h, state_complete, info);
        if (const int e = files_.write_at(writer_.h, 0, h); e != 0) {
            return fail("writing the snapshot header failed", part, e);
        }
        if (const int e = files_.sync_data(writer_.h); e != 0) {
            return fail("fdatasync of the snapshot failed", part, e);
        }
        ++data_syncs_;
        files_.close(writer_.h);
        writer_ = {};
        if (const int e = files_.rename(part.c_str(), final_path.c_str()); e != 0) {
            return fail("renaming the snapshot to its final name failed", part, e);
        }
        if (const snapshot_status st = sync_directory(); st != snapshot_status::ok) return st;
        // Durable from here on: only now may older snapshots go.
        std::erase_if(refused_, [&](const refused_snapshot& r) { return r.file == final_path; });
        infos_.insert(infos_.begin(), info);
        readers_.insert(readers_.begin(), File::invalid_handle);
        return retire();
    }

    // Ends the write in progress, or drops the receive open() kept, and
    // removes its temporary file.
    snapshot_status abort() {
        if (stopped_ != snapshot_status::ok) return stopped_;
        if (writer_.active) return discard_writer();
        if (partial_) {
            const std::string part = path_of(partial_->slot, false);
            partial_.reset();
            if (const int e = files_.remove(part.c_str()); e != 0 && e != ENOENT) {
                return fail("removing a temporary snapshot file failed", part, e);
            }
        }
        return snapshot_status::ok;
    }

private:
    using handle = typename File::handle;

    static constexpr std::size_t frames_bytes_max = std::size_t{1} << 20;

    struct header_fields {
        std::uint8_t state = 0;
        snapshot_info info{};
    };

    struct write_state {
        bool active = false;
        bool receiving = false;
        slot_id slot{};
        std::uint64_t declared_size = 0;
        std::uint32_t declared_crc = 0;
        std::uint32_t chunk_bytes = 0;
        handle h = File::invalid_handle;
        std::uint64_t written = 0;       // content bytes appended (framed or pending)
        std::uint64_t file_offset = 0;   // where the next frame goes
        std::uint32_t crc = 0;           // of the content so far
        std::vector<std::byte> pending;  // the chunk being filled
    };

    // ---- failures and small helpers ----------------------------------------------

    snapshot_status fail(const char* what, const std::string& file, int system_error) {
        set_error(snapshot_status::io_error, what, file, system_error, 0);
        stopped_ = snapshot_status::io_error;
        return stopped_;
    }

    void set_error(snapshot_status code, const char* what, const std::string& file,
                   int system_error, std::uint64_t offset) {
        error_.code = code;
        error_.what = what;
        error_.system_error = system_error;
        error_.offset = offset;
        error_.file.fill('\0');
        const std::size_t n = std::min(file.size(), error_.file.size() - 1);
        std::memcpy(error_.file.data(), file.data(), n);
    }

    snapshot_status sync_directory() {
        if (const int e = files_.sync_directory(directory_.c_str()); e != 0) {
            return fail("fsync of the snapshot directory failed", directory_, e);
        }
        ++directory_syncs_;
        return snapshot_status::ok;
    }

    void close_all() {
        for (handle& h : readers_) {
            if (h != File::invalid_handle) files_.close(h);
            h = File::invalid_handle;
        }
        if (writer_.h != File::invalid_handle) files_.close(writer_.h);
        writer_ = {};
    }

    std::size_t find(slot_id slot) const {
        for (std::size_t i = 0; i < infos_.size(); ++i) {
            if (infos_[i].slot == slot) return i;
        }
        return infos_.size();
    }

    static std::uint64_t frame_offset(const snapshot_info& info, std::uint64_t index) {
        return header_bytes + index * (chunk_crc_bytes + std::uint64_t{info.chunk_bytes});
    }
    static std::uint64_t chunk_length(const snapshot_info& info, std::uint64_t index) {
        return std::min<std::uint64_t>(info.chunk_bytes,
                                       info.size_bytes - index * info.chunk_bytes);
    }
    static std::uint64_t file_bytes(const snapshot_info& info) {
        return header_bytes + info.size_bytes + chunk_crc_bytes * info.chunk_count();
    }

    // ---- the header ----------------------------------------------------------------

    static void encode_header(std::span<std::byte, header_bytes> out, std::uint8_t state,
                              const snapshot_info& info) {
        wire::writer w(out);
        w.put_u32(magic);
        w.put_u8(format_version);
        w.put_u8(state);
        w.put_u16(0);
        w.put_u64(info.slot.value);
        w.put_u64(info.size_bytes);
        w.put_u32(info.crc);
        w.put_u32(info.chunk_bytes);
        for (int i = 0; i < 28; ++i) w.put_u8(0);
        PAXOS_ASSERT(w.size() == header_bytes - 4);
        w.put_u32(paxos::detail::crc32c(std::span<const std::byte>(out).first(header_bytes - 4)));
    }

    // False, with `what`, if the header is not one this build writes.
    static bool decode_header(std::span<const std::byte> in, header_fields& out,
                              const char*& what) {
        wire::reader r(in);
        std::uint32_t m = 0;
        std::uint8_t version = 0;
        std::uint16_t reserved = 0;
        std::uint32_t crc = 0;
        bool ok = r.get_u32(m) && r.get_u8(version) && r.get_u8(out.state) && r.get_u16(reserved) &&
                  r.get_u64(out.info.slot.value) && r.get_u64(out.info.size_bytes) &&
                  r.get_u32(out.info.crc) && r.get_u32(out.info.chunk_bytes);
        for (int i = 0; i < 28 && ok; ++i) {
            std::uint8_t zero = 0;
            ok = r.get_u8(zero) && zero == 0;
        }
        ok = ok && r.get_u32(crc);
        what = "the header is damaged (bad checksum, magic or version)";
        if (!ok || m != magic || version != format_version || reserved != 0) return false;
        if (crc != paxos::detail::crc32c(in.first(header_bytes - 4))) return false;
        what = "the header makes no sense (state, chunk size)";
        return out.info.chunk_bytes > 0 && out.state >= state_complete &&
               out.state <= state_receiving;
    }

    // ---- open() --------------------------------------------------------------------

    static bool parse_name(std::string_view name, std::uint64_t& slot, bool& complete) {
        if (name.size() != 26 || name.substr(0, 5) != "snap-" || name[21] != '.') return false;
        const std::string_view ext = name.substr(22);
        if (ext != "snap" && ext != "part") return false;
        complete = ext == "snap";
        return parse_hex16(name.substr(5, 16), slot);
    }

    snapshot_status list(std::vector<std::uint64_t>& complete, std::vector<std::uint64_t>& parts) {
        bool created = false;
        if (const int e = files_.make_directory(directory_.c_str(), created); e != 0) {
            return fail("creating the snapshot directory failed", directory_, e);
        }
        if (created) {
            const std::size_t cut = directory_.find_last_of('/');
            const std::string parent = cut == std::string::npos ? std::string(".")
                                       : cut == 0               ? std::string("/")
                                                                : directory_.substr(0, cut);
            if (const int e = files_.sync_directory(parent.c_str()); e != 0) {
                return fail("fsync of the parent directory failed", parent, e);
            }
            ++directory_syncs_;
        }
        std::vector<std::string> names;
        if (const int e = files_.list_directory(directory_.c_str(), names); e != 0) {
            return fail("listing the snapshot directory failed", directory_, e);
        }
        for (const std::string& name : names) {
            std::uint64_t slot = 0;
            bool is_complete = false;
            if (!parse_name(name, slot, is_complete)) continue;
            (is_complete ? complete : parts).push_back(slot);
        }
        // Names the last process created or renamed may still be in the page
        // cache only: make them durable before anything is built on them or
        // deleted because of them.
        return sync_directory();
    }

    // Opens and sizes a file; a failure is an I/O error.
    snapshot_status open_sized(const std::string& path, handle& h, std::uint64_t& size) {
        if (const int e = files_.open_existing(path.c_str(), h); e != 0) {
            h = File::invalid_handle;
            return fail("opening a snapshot file failed", path, e);
        }
        if (const int e = files_.file_size(h, size); e != 0) {
            files_.close(h);
            h = File::invalid_handle;
            return fail("reading a snapshot file's size failed", path, e);
        }
        return snapshot_status::ok;
    }

    void refuse(const std::string& path, std::uint64_t offset, const char* what) {
        refused_.push_back(refused_snapshot{path, offset, what});
    }

    // Checks one complete file: fully if no valid snapshot was taken yet,
    // else by header and size. Adds it to infos_ or refused_.
    snapshot_status consider(std::uint64_t slot_value) {
        const slot_id slot{slot_value};
        const std::string path = path_of(slot, true);
        handle h = File::invalid_handle;
        std::uint64_t size = 0;
        if (const snapshot_status st = open_sized(path, h, size); st != snapshot_status::ok) {
            return st;
        }
        const char* what = "";
        std::uint64_t damage = 0;
        header_fields hf;
        snapshot_status st = check_header(h, path, size, hf, what, damage);
        if (st == snapshot_status::ok && what[0] == '\0' && hf.info.slot != slot) {
            what = "the header names another slot than the file name";
        }
        if (st == snapshot_status::ok && what[0] == '\0' && hf.state != state_complete) {
            what = "the header is not marked complete";
        }
        if (st == snapshot_status::ok && what[0] == '\0' && infos_.empty()) {
            st = check_chunks(h, path, hf.info, what, damage);
        }
        if (st != snapshot_status::ok) {
            files_.close(h);
            return st;
        }
        if (what[0] != '\0') {
            files_.close(h);
            refuse(path, damage, what);
            return snapshot_status::ok;
        }
        infos_.push_back(hf.info);
        readers_.push_back(h);
        return snapshot_status::ok;
    }

    // Header and exact size; `what` stays empty if both hold.
    snapshot_status check_header(handle h, const std::string& path, std::uint64_t size,
                                 header_fields& hf, const char*& what, std::uint64_t& damage) {
        if (size < header_bytes) {
            what = "the file ends inside the header";
            damage = size;
            return snapshot_status::ok;
        }
        std::array<std::byte, header_bytes> raw{};
        if (const int e = files_.read_at(h, 0, raw); e != 0) {
            return fail("reading a snapshot header failed", path, e);
        }
        if (!decode_header(raw, hf, what)) {
            damage = 0;
            return snapshot_status::ok;
        }
        what = "";
        if (hf.state == state_complete && size != file_bytes(hf.info)) {
            what = size < file_bytes(hf.info) ? "the file ends before its last chunk (torn)"
                                              : "bytes after the last chunk";
            damage = std::min(size, file_bytes(hf.info));
        }
        return snapshot_status::ok;
    }

    // Every chunk's CRC, then the content CRC.
    snapshot_status check_chunks(handle h, const std::string& path, const snapshot_info& info,
                                 const char*& what, std::uint64_t& damage) {
        std::uint32_t crc = 0;
        for (std::uint64_t i = 0; i < info.chunk_count(); ++i) {
            bool valid = false;
            if (const snapshot_status st = read_frame(h, path, info, i, valid);
                st != snapshot_status::ok) {
                return st;
            }
            if (!valid) {
                what = "a chunk failed its checksum";
                damage = frame_offset(info, i);
                return snapshot_status::ok;
            }
            crc = paxos::detail::crc32c(frame_view(info, i), crc);
        }
        if (crc != info.crc) {
            what = "the content's checksum differs from the header's";
            damage = 24;
        }
        return snapshot_status::ok;
    }

    // Reads chunk `index` (its CRC and bytes) into frame_; valid: the CRC holds.
    snapshot_status read_frame(handle h, const std::string& path, const snapshot_info& info,
                               std::uint64_t index, bool& valid) {
        const std::uint64_t length = chunk_length(info, index);
        frame_.resize(static_cast<std::size_t>(chunk_crc_bytes + length));
        if (const int e = files_.read_at(h, frame_offset(info, index), frame_); e != 0) {
            return fail("reading a snapshot chunk failed", path, e);
        }
        std::uint32_t stored = 0;
        wire::reader r(std::span<const std::byte>(frame_).first(chunk_crc_bytes));
        valid = r.get_u32(stored) && stored == paxos::detail::crc32c(frame_view(info, index));
        chunk_crc_ = stored;
        return snapshot_status::ok;
    }

    std::span<const std::byte> frame_view(const snapshot_info& info, std::uint64_t index) const {
        return std::span<const std::byte>(frame_).subspan(
            chunk_crc_bytes, static_cast<std::size_t>(chunk_length(info, index)));
    }

    // A read's chunk, checked; a bad one refuses the snapshot from now on.
    snapshot_status load_chunk(std::size_t i, std::uint64_t index,
                               std::span<const std::byte>& chunk) {
        const snapshot_info info = infos_[i];
        const std::string path = path_of(info.slot, true);
        if (readers_[i] == File::invalid_handle) {
            if (const int e = files_.open_existing(path.c_str(), readers_[i]); e != 0) {
                readers_[i] = File::invalid_handle;
                return fail("opening a snapshot file failed", path, e);
            }
        }
        bool valid = false;
        if (const snapshot_status st = read_frame(readers_[i], path, info, index, valid);
            st != snapshot_status::ok) {
            return st;
        }
        if (!valid) {
            set_error(snapshot_status::corrupt, "a chunk failed its checksum when read", path, 0,
                      frame_offset(info, index));
            refuse(path, frame_offset(info, index), "a chunk failed its checksum when read");
            files_.close(readers_[i]);
            infos_.erase(infos_.begin() + static_cast<std::ptrdiff_t>(i));
            readers_.erase(readers_.begin() + static_cast<std::ptrdiff_t>(i));
            return snapshot_status::corrupt;
        }
        chunk = frame_view(info, index);
        return snapshot_status::ok;
    }

    // Removes every .part but the newest receive above the newest snapshot,
    // whose prefix of whole chunks becomes partial().
    snapshot_status sort_out_parts(std::vector<std::uint64_t>& parts) {
        std::sort(parts.rbegin(), parts.rend());
        const std::uint64_t newest_slot = infos_.empty() ? 0 : infos_.front().slot.value;
        bool removed = false;
        for (const std::uint64_t slot : parts) {
            const std::string path = path_of(slot_id{slot}, false);
            bool keep = false;
            if (!partial_ && (infos_.empty() || slot > newest_slot)) {
                if (const snapshot_status st = examine_part(slot_id{slot}, path, keep);
                    st != snapshot_status::ok) {
                    return st;
                }
            }
            if (keep) continue;
            if (const int e = files_.remove(path.c_str()); e != 0) {
                return fail("removing a temporary snapshot file failed", path, e);
            }
            removed = true;
        }
        return removed ? sync_directory() : snapshot_status::ok;
    }

    snapshot_status examine_part(slot_id slot, const std::string& path, bool& keep) {
        handle h = File::invalid_handle;
        std::uint64_t size = 0;
        if (const snapshot_status st = open_sized(path, h, size); st != snapshot_status::ok) {
            return st;
        }
        const char* what = "";
        std::uint64_t damage = 0;
        header_fields hf;
        snapshot_status st = check_header(h, path, size, hf, what, damage);
        // Only a receive is resumable; one whose header already says complete
        // crashed within its commit and starts over (a rare, cheap case).
        keep = st == snapshot_status::ok && what[0] == '\0' && hf.info.slot == slot &&
               hf.state == state_receiving;
        partial_snapshot p{slot, hf.info.size_bytes, hf.info.crc, 0};
        std::uint32_t crc = 0;
        for (std::uint64_t i = 0; keep && i < hf.info.chunk_count(); ++i) {
            if (frame_offset(hf.info, i) + chunk_crc_bytes + chunk_length(hf.info, i) > size) break;
            bool valid = false;
            st = read_frame(h, path, hf.info, i, valid);
            if (st != snapshot_status::ok || !valid) break;
            crc = paxos::detail::crc32c(frame_view(hf.info, i), crc);
            p.received_bytes += chunk_length(hf.info, i);
        }
        files_.close(h);
        if (st != snapshot_status::ok) return st;
        if (keep) {
            partial_ = p;
            partial_chunk_bytes_ = hf.info.chunk_bytes;
            partial_crc_ = crc;
        }
        return snapshot_status::ok;
    }

    // Deletes complete snapshots beyond the newest `keep`, and refused files
    // older than the oldest one kept; then syncs the directory.
    snapshot_status retire() {
        if (infos_.size() <= options_.keep && refused_.empty()) return snapshot_status::ok;
        bool removed = false;
        while (infos_.size() > options_.keep) {
            const std::string path = path_of(infos_.back().slot, true);
            if (readers_.back() != File::invalid_handle) files_.close(readers_.back());
            infos_.pop_back();
            readers_.pop_back();
            if (const int e = files_.remove(path.c_str()); e != 0) {
                return fail("deleting an old snapshot failed", path, e);
            }
            removed = true;
        }
        if (infos_.size() == options_.keep) {
            const std::string oldest_kept = path_of(infos_.back().slot, true);
            for (std::size_t i = 0; i < refused_.size();) {
                // Fixed-width hex names: name order is slot order.
                if (refused_[i].file >= oldest_kept) {
                    ++i;
                    continue;
                }
                if (const int e = files_.remove(refused_[i].file.c_str()); e != 0 && e != ENOENT) {
                    return fail("deleting a refused snapshot failed", refused_[i].file, e);
                }
                refused_.erase(refused_.begin() + static_cast<std::ptrdiff_t>(i));
                removed = true;
            }
        }
        return removed ? sync_directory() : snapshot_status::ok;
    }

    // ---- writing -------------------------------------------------------------------

    snapshot_status start(slot_id slot, std::uint8_t state, std::uint64_t size, std::uint32_t crc) {
        if (stopped_ != snapshot_status::ok) return stopped_;
        PAXOS_ASSERT(opened_);
        PAXOS_ASSERT(!writer_.active);  // one snapshot written at a time
        if (!infos_.empty() && slot <= infos_.front().slot) return snapshot_status::stale;
        if (const snapshot_status st = abort(); st != snapshot_status::ok) return st;  // a partial
        const std::string part = path_of(slot, false);
        if (const int e = files_.remove(part.c_str()); e != 0 && e != ENOENT) {
            return fail("removing a temporary snapshot file failed", part, e);
        }
        handle h = File::invalid_handle;
        if (const int e = files_.create(part.c_str(), h); e != 0) {
            return fail("creating a temporary snapshot file failed", part, e);
        }
        writer_ = {};
        writer_.active = true;
        writer_.receiving = state == state_receiving;
        writer_.slot = slot;
        writer_.declared_size = size;
        writer_.declared_crc = crc;
        writer_.chunk_bytes = options_.chunk_bytes;
        writer_.h = h;
        writer_.file_offset = header_bytes;
        std::array<std::byte, header_bytes> raw{};
        encode_header(raw, state, snapshot_info{slot, size, crc, writer_.chunk_bytes});
        if (const int e = files_.write_at(h, 0, raw); e != 0) {
            return fail("writing a snapshot header failed", part, e);
        }
        return snapshot_status::ok;
    }

    // Continues the receive open() kept: cut to its whole chunks, then append.
    snapshot_status resume() {
        PAXOS_ASSERT(opened_);
        const partial_snapshot p = *partial_;
        partial_.reset();
        const std::string part = path_of(p.slot, false);
        handle h = File::invalid_handle;
        if (const int e = files_.open_existing(part.c_str(), h); e != 0) {
            return fail("opening a temporary snapshot file failed", part, e);
        }
        writer_ = {};
        writer_.active = true;
        writer_.receiving = true;
        writer_.slot = p.slot;
        writer_.declared_size = p.size_bytes;
        writer_.declared_crc = p.crc;
        writer_.chunk_bytes = partial_chunk_bytes_;
        writer_.h = h;
        writer_.written = p.received_bytes;
        writer_.crc = partial_crc_;
        const snapshot_info shape{p.slot, p.size_bytes, p.crc, partial_chunk_bytes_};
        const std::uint64_t chunks = (p.received_bytes + shape.chunk_bytes - 1) / shape.chunk_bytes;
        writer_.file_offset = header_bytes + chunks * chunk_crc_bytes + p.received_bytes;
        // Whole chunks only, the last one short only if it ends the content.
        PAXOS_ASSERT(p.received_bytes == chunks * shape.chunk_bytes ||
                     p.received_bytes == p.size_bytes);
        if (const int e = files_.truncate(h, writer_.file_offset); e != 0) {
            return fail("truncating a partial snapshot failed", part, e);
        }
        return snapshot_status::ok;
    }

    // Moves the pending chunk, with its CRC in front, to frames_.
    void frame_pending() {
        std::array<std::byte, chunk_crc_bytes> crc{};
        wire::writer(std::span<std::byte>(crc)).put_u32(paxos::detail::crc32c(writer_.pending));
        frames_.insert(frames_.end(), crc.begin(), crc.end());
        frames_.insert(frames_.end(), writer_.pending.begin(), writer_.pending.end());
        writer_.pending.clear();
    }

    snapshot_status write_frames() {
        if (frames_.empty()) return snapshot_status::ok;
        if (const int e = files_.write_at(writer_.h, writer_.file_offset, frames_); e != 0) {
            return fail("writing a snapshot chunk failed", path_of(writer_.slot, false), e);
        }
        writer_.file_offset += frames_.size();
        frames_.clear();
        return snapshot_status::ok;
    }

    snapshot_status discard_writer() {
        const std::string part = path_of(writer_.slot, false);
        files_.close(writer_.h);
        writer_ = {};
        // Not synced: a .part that comes back after a crash is removed by open().
        if (const int e = files_.remove(part.c_str()); e != 0 && e != ENOENT) {
            return fail("removing a temporary snapshot file failed", part, e);
        }
        return snapshot_status::ok;
    }

    std::string directory_;
    snapshot_options options_;
    File files_;

    snapshot_status stopped_ = snapshot_status::ok;  // io_error: sticky
    bool opened_ = false;
    snapshot_error error_{};

    std::vector<snapshot_info> infos_;  // complete and usable, newest first
    std::vector<handle> readers_;       // one per infos_ entry, opened on first read
    std::vector<refused_snapshot> refused_;
    std::optional<partial_snapshot> partial_;
    std::uint32_t partial_chunk_bytes_ = 0;
    std::uint32_t partial_crc_ = 0;  // CRC of partial_'s received bytes

    write_state writer_;
    std::vector<std::byte> frames_;  // chunks to write, each with its CRC in front
    std::vector<std::byte> frame_;   // one chunk read back
    std::uint32_t chunk_crc_ = 0;    // the stored CRC of frame_

    std::uint64_t data_syncs_ = 0;
    std::uint64_t directory_syncs_ = 0;
};

}  // namespace paxos::inline v0::storage
