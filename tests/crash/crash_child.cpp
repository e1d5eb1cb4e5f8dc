// tests/crash/crash_child.cpp: the process the SIGKILL test kills.
//
//   paxos_crash_child <directory> <segment_bytes> <seed>
//
// Recovers the log in <directory>, then writes batches of votes for
// consecutive slots forever (with a snapshot every 64 slots, so compaction
// runs too). After each persist() returns ok, it reports the batch's last
// slot to its parent: 8 bytes, little-endian, on standard output. Whatever
// it reported must survive the SIGKILL that ends it.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <paxos/storage/posix_wal.hpp>

#include "workload.hpp"

namespace {

struct next_slot_finder {
    std::uint64_t next = 0;
    void on_promise(crash::ballot) {}
    void on_vote(paxos::slot_id s, crash::ballot, std::span<const int>) {
        next = std::max(next, s.value + 1);
    }
    void on_chosen(paxos::slot_id, std::span<const int>) {}
    void on_snapshot(paxos::slot_id s) { next = std::max(next, s.value); }
};

bool report(std::uint64_t slot) {
    std::array<unsigned char, 8> out{};
    for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(slot >> (8 * i));
    return ::write(STDOUT_FILENO, out.data(), out.size()) == 8;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s <directory> <segment_bytes> <seed>\n", argv[0]);
        return 2;
    }
    paxos::storage::wal_options opts;
    opts.segment_bytes = std::strtoull(argv[2], nullptr, 10);
    paxos::prng rng(std::strtoull(argv[3], nullptr, 10));
    paxos::storage::posix_wal<crash::config> wal(argv[1], opts);
    next_slot_finder found;
    if (const auto st = wal.recover(found); st != crash::status::ok) {
        std::fprintf(stderr, "crash_child: recovery: %s: %s (%s, offset %llu)\n",
                     paxos::storage::to_string(st), wal.last_error().what,
                     wal.last_error().file_name(),
                     static_cast<unsigned long long>(wal.last_error().offset));
        return 3;
    }
    // A new life takes a higher promise, as a restarted acceptor may.
    const std::uint64_t promise = 3 * (found.next + 1);
    for (std::uint64_t slot = found.next;;) {
        crash::step s;
        if (slot == found.next) {
            s.promise_changed = true;
            s.promise = promise;
        }
        const std::uint64_t votes = 1 + rng.below(4);
        for (std::uint64_t v = 0; v < votes; ++v, ++slot) {
            s.votes.push_back(
                {crash::record_kind::vote, slot, promise, crash::vote_values(slot, promise)});
        }
        s.sync = true;
        if (crash::apply_step(wal, s) != crash::status::ok) return 4;
        if (!report(slot - 1)) return 5;
        if (slot % 64 < votes && slot > 32) {
            if (wal.snapshot(paxos::slot_id{slot - 32}) != crash::status::ok) return 6;
        }
    }
}
