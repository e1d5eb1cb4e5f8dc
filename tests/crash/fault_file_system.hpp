// tests/crash/fault_file_system.hpp: an in-memory file layer for posix_wal
// that records every mutating call and rebuilds the disk as a crash at any
// point of the recording would leave it.
//
// The model of a disk (POSIX, as ext4 and friends behave):
//   * write and truncate change the file at once for the running process
//     (the page cache) but are durable only after sync_data of that file;
//   * create, remove and rename change the directory, durable only after
//     sync_directory of that directory; a file's data belongs to the file,
//     not its name, so data synced under one name is there under the other;
//   * a journaling file system commits directory changes in the order they
//     were made, so a crash may also keep a prefix of the unsynced ones
//     (`dir_ops_kept`): a rename can be durable before its directory fsync;
//   * a crash keeps the durable state, and of what was not yet durable,
//     depending on the crash mode: nothing (lost), the last write cut at a
//     byte boundary (torn), or a random subset of 512-byte sectors with the
//     file size either updated or not (reordered: a later sector can reach
//     the disk before an earlier one, and a size update without its data
//     reads back as zeros).
// Damage that is not a crash (a flipped bit, a zero-filled range) is applied
// by the test to a crash image; `writers` says which write put each durable
// byte there, so the test knows what recovery must conclude.
//
// Fault injection: fail the n-th sync_data or write_at call with EIO. The
// calls after it succeed again, which is what shows that the log's
// fail-stop is its own and not the disk's.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <paxos/policies/random.hpp>
#include <paxos/storage/file_io.hpp>

namespace crash {

using bytes = std::vector<std::byte>;
using image = std::map<std::string, bytes>;  // path -> contents of every file that exists

enum class op_kind : std::uint8_t { create, write, truncate, sync, remove, sync_dir, rename };

struct disk_op {
    op_kind kind = op_kind::write;
    std::string path;          // rename: the old name
    std::uint64_t offset = 0;  // write: where; truncate: the new size
    bytes data;                // write: what
    std::string to;            // rename: the new name
};

// A crash image with, for every byte, the index of the write op that put it
// there (-1: it was there before the recording started).
struct crash_image {
    image files;
    std::map<std::string, std::vector<std::int64_t>> writers;
};

// "No limit" for the number of bytes of a write that land.
inline constexpr std::size_t whole = std::numeric_limits<std::size_t>::max();

enum class crash_mode : std::uint8_t { lost, torn, reordered };

class fault_disk {
public:
    fault_disk() = default;
    // A disk whose every file is durable: what a machine reboots into.
    explicit fault_disk(const image& start) : start_(start), live_(start) {
        for (const auto& [path, content] : start) dirs_.insert(parent_of(path));
    }

    // ---- fault injection and observation -------------------------------------------
    std::int64_t fail_sync_call = -1;   // fail the sync_data call with this index
    std::int64_t fail_write_call = -1;  // fail the write_at call with this index
    std::int64_t fail_rename_call = -1;
    std::int64_t sync_calls = 0;
    std::int64_t write_calls = 0;
    std::int64_t rename_calls = 0;

    const std::vector<disk_op>& ops() const noexcept { return ops_; }
    const image& live() const noexcept { return live_; }

    // ---- the operations (called through fault_file_system) -------------------------

    int make_directory(const std::string& path, bool& created) {
        created = dirs_.insert(path).second;
        return 0;
    }
    int list_directory(const std::string& dir, std::vector<std::string>& names) const {
        names.clear();
        const std::string prefix = dir + "/";
        for (const auto& [path, content] : live_) {
            if (path.compare(0, prefix.size(), prefix) == 0 &&
                path.find('/', prefix.size()) == std::string::npos) {
                names.push_back(path.substr(prefix.size()));
            }
        }
        return 0;
    }
    int create(const std::string& path, int& out) {
        if (live_.count(path) != 0) return EEXIST;
        live_[path] = {};
        ops_.push_back(disk_op{op_kind::create, path, 0, {}, {}});
        return open_handle(path, out);
    }
    int open_existing(const std::string& path, int& out) {
        if (live_.count(path) == 0) return ENOENT;
        return open_handle(path, out);
    }
    int file_size(int h, std::uint64_t& size) const {
        size = live_.at(handles_.at(static_cast<std::size_t>(h))).size();
        return 0;
    }
    int read_at(int h, std::uint64_t offset, std::span<std::byte> out) const {
        const bytes& f = live_.at(handles_.at(static_cast<std::size_t>(h)));
        if (offset + out.size() > f.size()) return EIO;
        for (std::size_t i = 0; i < out.size(); ++i) out[i] = f[offset + i];
        return 0;
    }
    int write_at(int h, std::uint64_t offset, std::span<const std::byte> in) {
        if (write_calls++ == fail_write_call) return EIO;
        const std::string& path = handles_.at(static_cast<std::size_t>(h));
        bytes& f = live_.at(path);
        if (f.size() < offset + in.size()) f.resize(offset + in.size());
        for (std::size_t i = 0; i < in.size(); ++i) f[offset + i] = in[i];
        ops_.push_back(disk_op{op_kind::write, path, offset, bytes(in.begin(), in.end()), {}});
        return 0;
    }
    int sync_data(int h) {
        if (sync_calls++ == fail_sync_call) return EIO;
        ops_.push_back(disk_op{op_kind::sync, handles_.at(static_cast<std::size_t>(h)), 0, {}, {}});
        return 0;
    }
    int truncate(int h, std::uint64_t size) {
        const std::string& path = handles_.at(static_cast<std::size_t>(h));
        live_.at(path).resize(size);
        ops_.push_back(disk_op{op_kind::truncate, path, size, {}, {}});
        return 0;
    }
    int remove(const std::string& path) {
        if (live_.erase(path) == 0) return ENOENT;
        ops_.push_back(disk_op{op_kind::remove, path, 0, {}, {}});
        return 0;
    }
    int rename(const std::string& from, const std::string& to) {
        if (rename_calls++ == fail_rename_call) return EIO;
        const auto it = live_.find(from);
        if (it == live_.end()) return ENOENT;
        bytes content = std::move(it->second);
        live_.erase(it);
        live_[to] = std::move(content);
        for (std::string& h : handles_) {
            if (h == from) h = to;
        }
        ops_.push_back(disk_op{op_kind::rename, from, 0, {}, to});
        return 0;
    }
    int sync_directory(const std::string& path) {
        ops_.push_back(disk_op{op_kind::sync_dir, path, 0, {}, {}});
        return 0;
    }

    // ---- crash images ----------------------------------------------------------------

    // The disk after a crash once the first `done` ops completed. torn: the
    // last of those ops must be a write, and only `torn_bytes` of it land.
    // dir_ops_kept: how many of the unsynced directory changes (oldest
    // first) reached the disk anyway.
    crash_image crash(std::size_t done, crash_mode mode, std::uint64_t seed = 0,
                      std::size_t torn_bytes = 0, std::size_t dir_ops_kept = 0) const {
        model m = replay(done);
        for (std::size_t i = 0; i < std::min(dir_ops_kept, m.dir_pending.size()); ++i) {
            apply_dir_op(m, m.dir_pending[i]);
        }
        const std::int64_t torn_inode =
            mode == crash_mode::torn && done > 0 ? m.op_inode[done - 1] : -1;
        crash_image out;
        paxos::prng rng(seed);
        for (const auto& [path, inode] : m.durable_names) {
            file_model& f = m.inodes[inode];
            bytes content = f.durable;
            std::vector<std::int64_t> writer = f.writer;
            if (static_cast<std::int64_t>(inode) == torn_inode) {
                for (std::size_t i = 0; i < f.pending.size(); ++i) {
                    const bool last = i + 1 == f.pending.size();
                    apply(ops_[f.pending[i]], f.pending[i], content, writer,
                          last ? torn_bytes : whole);
                }
            } else if (mode == crash_mode::reordered && !f.pending.empty()) {
                reorder(f, rng, content, writer);
            }
            out.files[path] = std::move(content);
            out.writers[path] = std::move(writer);
        }
        return out;
    }

    // How many directory changes are unsynced after the first `done` ops.
    std::size_t unsynced_dir_ops(std::size_t done) const { return replay(done).dir_pending.size(); }

private:
    struct file_model {
        bytes durable;
        std::vector<std::int64_t> writer;
        std::vector<std::size_t> pending;  // op indexes not yet synced
    };
    // Files are inodes; names map to them, as the process sees them (live)
    // and as a crash would leave them (durable).
    struct model {
        std::map<std::size_t, file_model> inodes;
        std::map<std::string, std::size_t> live_names;
        std::map<std::string, std::size_t> durable_names;
        std::vector<std::size_t> dir_pending;  // creates, removes, renames not yet synced
        std::vector<std::int64_t> op_inode;    // per op: the inode it touched (-1: none)
    };

    static std::string parent_of(const std::string& path) {
        const std::size_t cut = path.find_last_of('/');
        return cut == std::string::npos ? std::string(".") : path.substr(0, cut);
    }

    int open_handle(const std::string& path, int& out) {
        handles_.push_back(path);
        out = static_cast<int>(handles_.size() - 1);
        return 0;
    }

    // Applies a write (at most `limit` bytes of it) or a truncate.
    static void apply(const disk_op& op, std::size_t index, bytes& content,
                      std::vector<std::int64_t>& writer, std::size_t limit) {
        if (op.kind == op_kind::truncate) {
            content.resize(op.offset);
            writer.resize(op.offset);
            return;
        }
        const std::size_t n = std::min(limit, op.data.size());
        if (content.size() < op.offset + n) {
            content.resize(op.offset + n);
            writer.resize(op.offset + n, -1);
        }
        for (std::size_t i = 0; i < n; ++i) {
            content[op.offset + i] = op.data[i];
            writer[op.offset + i] = static_cast<std::int64_t>(index);
        }
    }

    model replay(std::size_t done) const {
        model m;
        std::size_t next_inode = 0;
        for (const auto& [path, content] : start_) {
            file_model& f = m.inodes[next_inode];
            f.durable = content;
            f.writer.assign(content.size(), -1);
            m.live_names[path] = next_inode;
            m.durable_names[path] = next_inode;
            ++next_inode;
        }
        m.op_inode.assign(done, -1);
        for (std::size_t i = 0; i < done; ++i) {
            const disk_op& op = ops_[i];
            const auto live = m.live_names.find(op.path);
            const std::size_t inode = live == m.live_names.end() ? next_inode : live->second;
            switch (op.kind) {
                case op_kind::create:
                    m.inodes[next_inode] = file_model{};
                    m.live_names[op.path] = next_inode++;
                    m.dir_pending.push_back(i);
                    break;
                case op_kind::write:
                case op_kind::truncate: m.inodes.at(inode).pending.push_back(i); break;
                case op_kind::sync: {
                    file_model& f = m.inodes.at(inode);
                    for (const std::size_t p : f.pending) {
                        apply(ops_[p], p, f.durable, f.writer, whole);
                    }
                    f.pending.clear();
                    break;
                }
                case op_kind::remove:
                    m.live_names.erase(op.path);
                    m.dir_pending.push_back(i);
                    break;
                case op_kind::rename:
                    m.live_names.erase(op.path);
                    m.live_names[op.to] = inode;
                    m.dir_pending.push_back(i);
                    break;
                case op_kind::sync_dir: {
                    std::vector<std::size_t> still;
                    for (const std::size_t p : m.dir_pending) {
                        if (parent_of(ops_[p].path) == op.path) {
                            apply_dir_op(m, p);
                        } else {
                            still.push_back(p);
                        }
                    }
                    m.dir_pending = std::move(still);
                    break;
                }
            }
            if (op.kind == op_kind::create) {
                m.op_inode[i] = static_cast<std::int64_t>(m.live_names.at(op.path));
            } else if (op.kind != op_kind::sync_dir) {
                m.op_inode[i] = static_cast<std::int64_t>(inode);
            }
        }
        return m;
    }

    void apply_dir_op(model& m, std::size_t p) const {
        const disk_op& op = ops_[p];
        const std::size_t inode = static_cast<std::size_t>(m.op_inode[p]);
        switch (op.kind) {
            case op_kind::create: m.durable_names[op.path] = inode; break;
            case op_kind::remove: m.durable_names.erase(op.path); break;
            case op_kind::rename:
                m.durable_names.erase(op.path);
                m.durable_names[op.to] = inode;
                break;
            default: break;
        }
    }

    // Some sectors of the unsynced writes reached the disk, in no order; the
    // size may or may not have been updated.
    void reorder(const file_model& f, paxos::prng& rng, bytes& content,
                 std::vector<std::int64_t>& writer) const {
        // The page-cache view: every pending op applied.
        bytes cached = f.durable;
        std::vector<std::int64_t> cached_writer = f.writer;
        for (const std::size_t p : f.pending) apply(ops_[p], p, cached, cached_writer, whole);
        const std::size_t size = rng.below(2) == 0 ? f.durable.size() : cached.size();
        constexpr std::size_t sector = 512;
        content.assign(size, std::byte{0});
        writer.assign(size, -1);
        for (std::size_t start = 0; start < size; start += sector) {
            const bool take_cached = rng.below(2) == 0;
            for (std::size_t i = start; i < std::min(size, start + sector); ++i) {
                if (take_cached && i < cached.size()) {
                    content[i] = cached[i];
                    writer[i] = cached_writer[i];
                } else if (!take_cached && i < f.durable.size()) {
                    content[i] = f.durable[i];
                    writer[i] = f.writer[i];
                }
            }
        }
    }

    image start_;
    image live_;
    std::set<std::string> dirs_;
    std::vector<std::string> handles_;
    std::vector<disk_op> ops_;
};

// The File layer posix_wal is instantiated with: a pointer to a fault_disk.
struct fault_file_system {
    using handle = int;
    static constexpr handle invalid_handle = -1;

    fault_disk* disk = nullptr;

    int make_directory(const char* path, bool& created) {
        return disk->make_directory(path, created);
    }
    int list_directory(const char* path, std::vector<std::string>& names) {
        return disk->list_directory(path, names);
    }
    int create(const char* path, handle& out) { return disk->create(path, out); }
    int open_existing(const char* path, handle& out) { return disk->open_existing(path, out); }
    int file_size(handle h, std::uint64_t& size) { return disk->file_size(h, size); }
    int read_at(handle h, std::uint64_t offset, std::span<std::byte> out) {
        return disk->read_at(h, offset, out);
    }
    int write_at(handle h, std::uint64_t offset, std::span<const std::byte> in) {
        return disk->write_at(h, offset, in);
    }
    int sync_data(handle h) { return disk->sync_data(h); }
    int truncate(handle h, std::uint64_t size) { return disk->truncate(h, size); }
    void close(handle) {}
    int remove(const char* path) { return disk->remove(path); }
    int rename(const char* from, const char* to) { return disk->rename(from, to); }
    int sync_directory(const char* path) { return disk->sync_directory(path); }
};

static_assert(paxos::storage::snapshot_file_system<fault_file_system>);

}  // namespace crash
