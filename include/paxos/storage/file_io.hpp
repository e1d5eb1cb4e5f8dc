// paxos/storage/file_io.hpp: the file operations the write-ahead log and the
// snapshot store need, as concepts, and their POSIX implementation.
//
// The log (posix_wal.hpp) and the snapshot store (snapshot_store.hpp) never
// call the operating system themselves: they go through a File layer, so the
// crash tests can put a fault-injecting layer underneath that records every
// write and sync and rebuilds the disk as a crash would leave it
// (tests/crash/). Every operation returns 0 or an errno
// value; the layer never throws and never retries a failed sync (after a
// failed fsync the kernel may already have dropped the dirty pages, so the
// only honest answer is to stop: see durable_state.hpp, fail-stop).
//
// Semantics the log relies on (the POSIX ones):
//   write_at   writes all the bytes or fails; nothing is durable until
//              sync_data of that file returns 0.
//   sync_data  fdatasync: the file's data and size are durable.
//   create     O_CREAT|O_EXCL; the new name is durable only after
//              sync_directory of its directory (the same holds for remove).
//   rename     atomic: the new name refers to the file, replacing any file of
//              that name; after a crash, either name may be the durable one
//              until sync_directory returns. Only the snapshot store needs it
//              (snapshot_file_system), so a File layer written for the log
//              alone need not have it.
//
// Linux/POSIX only. Unlike the core, this layer allocates (paths, listings).
#pragma once

#include <cerrno>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

namespace paxos::inline v0::storage {

// The 16 lowercase hex digits a file name encodes a number with (the log's
// segments, the snapshot store's files); false for anything else.
inline bool parse_hex16(std::string_view digits, std::uint64_t& out) noexcept {
    if (digits.size() != 16) return false;
    std::uint64_t v = 0;
    for (const char c : digits) {
        std::uint64_t digit = 0;
        if (c >= '0' && c <= '9') {
            digit = static_cast<std::uint64_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            digit = static_cast<std::uint64_t>(c - 'a' + 10);
        } else {
            return false;
        }
        v = (v << 4) | digit;
    }
    out = v;
    return true;
}

template <class F>
concept file_system = requires(F& f, const char* path, typename F::handle h, std::uint64_t n,
                               std::span<std::byte> out, std::span<const std::byte> in,
                               std::vector<std::string>& names, bool& flag,
                               typename F::handle& handle_out, std::uint64_t& size_out) {
    { F::invalid_handle } -> std::convertible_to<typename F::handle>;
    { f.make_directory(path, flag) } -> std::same_as<int>;   // flag: it was created
    { f.list_directory(path, names) } -> std::same_as<int>;  // file names, no "." or ".."
    { f.create(path, handle_out) } -> std::same_as<int>;     // a new, empty file
    { f.open_existing(path, handle_out) } -> std::same_as<int>;
    { f.file_size(h, size_out) } -> std::same_as<int>;
    { f.read_at(h, n, out) } -> std::same_as<int>;  // exactly out.size() bytes
    { f.write_at(h, n, in) } -> std::same_as<int>;  // all of `in`, or an error
    { f.sync_data(h) } -> std::same_as<int>;
    { f.truncate(h, n) } -> std::same_as<int>;
    { f.close(h) } -> std::same_as<void>;
    { f.remove(path) } -> std::same_as<int>;
    { f.sync_directory(path) } -> std::same_as<int>;
};

// A file system that can also rename: what snapshot_store.hpp writes through
// (a temporary file renamed to its final name once it is durable).
template <class F>
concept snapshot_file_system = file_system<F> && requires(F& f, const char* from, const char* to) {
    { f.rename(from, to) } -> std::same_as<int>;
};

// The real thing: file descriptors, pread/pwrite, fdatasync.
struct posix_file_system {
    using handle = int;
    static constexpr handle invalid_handle = -1;

    int make_directory(const char* path, bool& created) {
        created = false;
        if (::mkdir(path, 0755) == 0) {
            created = true;
            return 0;
        }
        if (errno != EEXIST) return errno;
        struct stat st {};
        if (::stat(path, &st) != 0) return errno;
        return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    }

    int list_directory(const char* path, std::vector<std::string>& names) {
        names.clear();
        DIR* dir = ::opendir(path);
        if (dir == nullptr) return errno;
        errno = 0;
        while (const dirent* e = ::readdir(dir)) {
            const std::string name = e->d_name;
            if (name != "." && name != "..") names.push_back(name);
            errno = 0;
        }
        const int error = errno;
        ::closedir(dir);
        return error;
    }

    int create(const char* path, handle& out) {
        out = ::open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        return out < 0 ? errno : 0;
    }

    int open_existing(const char* path, handle& out) {
        out = ::open(path, O_RDWR | O_CLOEXEC);
        return out < 0 ? errno : 0;
    }

    int file_size(handle h, std::uint64_t& size) {
        struct stat st {};
        if (::fstat(h, &st) != 0) return errno;
        size = static_cast<std::uint64_t>(st.st_size);
        return 0;
    }

    int read_at(handle h, std::uint64_t offset, std::span<std::byte> out) {
        std::size_t done = 0;
        while (done < out.size()) {
            const ::ssize_t n = ::pread(h, out.data() + done, out.size() - done,
                                        static_cast<::off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno;
            if (n == 0) return EIO;  // the file is shorter than its size said
            done += static_cast<std::size_t>(n);
        }
        return 0;
    }

    // pwrite may write less than asked (a signal, a full disk): loop, and
    // report the error that stopped it. A partial write that then fails
    // leaves a torn record, which recovery truncates.
    int write_at(handle h, std::uint64_t offset, std::span<const std::byte> in) {
        std::size_t done = 0;
        while (done < in.size()) {
            const ::ssize_t n = ::pwrite(h, in.data() + done, in.size() - done,
                                         static_cast<::off_t>(offset + done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return errno;
            if (n == 0) return ENOSPC;
            done += static_cast<std::size_t>(n);
        }
        return 0;
    }

    int sync_data(handle h) { return ::fdatasync(h) == 0 ? 0 : errno; }

    int truncate(handle h, std::uint64_t size) {
        return ::ftruncate(h, static_cast<::off_t>(size)) == 0 ? 0 : errno;
    }

    void close(handle h) { (void)::close(h); }

    int remove(const char* path) { return ::unlink(path) == 0 ? 0 : errno; }

    int rename(const char* from, const char* to) { return ::rename(from, to) == 0 ? 0 : errno; }

    // A directory's entries (created, removed files) are durable only after
    // an fsync of the directory itself.
    int sync_directory(const char* path) {
        const int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return errno;
        const int error = ::fsync(fd) == 0 ? 0 : errno;
        ::close(fd);
        return error;
    }
};

static_assert(snapshot_file_system<posix_file_system>);

}  // namespace paxos::inline v0::storage
