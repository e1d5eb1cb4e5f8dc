// tests/crash/test_sigkill.cpp: 200 real SIGKILLs of a process writing the
// log under load (tests/crash/crash_child.cpp), each followed by recovery.
//
// The child reports each batch's last slot on a pipe after persist()
// returned. The parent kills it at a random moment (after a random number of
// reports, or a random few hundred microseconds after it started, which
// often lands in the child's own recovery), reads what was reported before
// the kill, recovers the directory itself and checks: every reported slot is
// back (or below the snapshot), the votes form one run of consecutive slots
// from the snapshot on, and every vote's values are exactly what was
// written. The next child continues in the same directory, so the log sees
// 200 restarts, torn tails and truncations, segment rotations and
// compactions (small segments).
#include <doctest/doctest.h>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <paxos/storage/posix_wal.hpp>

#include "temp_dir.hpp"
#include "workload.hpp"

extern char** environ;

namespace {

struct child {
    pid_t pid = -1;
    int out = -1;  // read end of the child's stdout
};

child spawn_child(const std::string& dir, std::uint64_t seed) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    REQUIRE(posix_spawn_file_actions_init(&actions) == 0);
    REQUIRE(posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO) == 0);
    REQUIRE(posix_spawn_file_actions_addclose(&actions, fds[0]) == 0);
    REQUIRE(posix_spawn_file_actions_addclose(&actions, fds[1]) == 0);
    const std::string seed_text = std::to_string(seed);
    std::string program = PAXOS_CRASH_CHILD;
    std::string dir_arg = dir;
    std::string segment_arg = "4096";
    std::string seed_arg = seed_text;
    char* argv[] = {program.data(), dir_arg.data(), segment_arg.data(), seed_arg.data(), nullptr};
    child c;
    const int err = posix_spawn(&c.pid, program.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    REQUIRE_MESSAGE(err == 0, "cannot start " << program);
    c.out = fds[0];
    return c;
}

// Reads whole 8-byte reports; returns false at end of file. Waits at most
// `timeout_ms` for data.
bool read_report(int fd, std::vector<unsigned char>& pending, std::vector<std::uint64_t>& slots,
                 int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    REQUIRE_MESSAGE(ready > 0, "the child stopped reporting (crashed or hung)");
    unsigned char buf[512];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    pending.insert(pending.end(), buf, buf + n);
    while (pending.size() >= 8) {
        std::uint64_t slot = 0;
        for (std::size_t i = 0; i < 8; ++i) slot |= std::uint64_t{pending[i]} << (8 * i);
        slots.push_back(slot);
        pending.erase(pending.begin(), pending.begin() + 8);
    }
    return true;
}

}  // namespace

TEST_CASE("200 SIGKILLs under load: every reported batch is recovered") {
    crash::temp_dir tmp;
    const std::string dir = tmp.sub("wal");
    paxos::prng rng(2024);
    std::uint64_t max_reported = 0;
    bool any_reported = false;
    std::size_t kills = 0;
    std::size_t reports = 0;
    std::size_t killed_before_first_report = 0;
    std::size_t recovered_votes = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int round = 0; round < 200; ++round) {
        child c = spawn_child(dir, rng.next());
        std::vector<unsigned char> pending;
        std::vector<std::uint64_t> slots;
        if (rng.below(4) == 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(rng.below(3000)));
        } else {
            const std::size_t wanted = 1 + rng.below(30);
            while (slots.size() < wanted) {
                REQUIRE(read_report(c.out, pending, slots, 20'000));
            }
        }
        REQUIRE(::kill(c.pid, SIGKILL) == 0);
        ++kills;
        while (read_report(c.out, pending, slots, 20'000)) {
        }
        ::close(c.out);
        int wstatus = 0;
        REQUIRE(::waitpid(c.pid, &wstatus, 0) == c.pid);
        // Killed by us, not dead of its own accord (a failed recovery exits).
        REQUIRE_MESSAGE(WIFSIGNALED(wstatus), "child exit status " << WEXITSTATUS(wstatus));
        CHECK(WTERMSIG(wstatus) == SIGKILL);
        if (slots.empty()) ++killed_before_first_report;
        reports += slots.size();
        for (const std::uint64_t s : slots) {
            CHECK((!any_reported || s > max_reported));  // each life continues the log
            max_reported = s;
            any_reported = true;
        }

        paxos::storage::posix_wal<crash::config> wal(dir, {.segment_bytes = 4096});
        crash::recorder got;
        REQUIRE_MESSAGE(wal.recover(got) == crash::status::ok,
                        wal.last_error().what << " " << wal.last_error().file_name() << "+"
                                              << wal.last_error().offset);
        std::uint64_t expected_slot = got.snapshot;
        for (const auto& r : got.records) {
            if (r.kind != crash::record_kind::vote) continue;
            REQUIRE(r.slot == expected_slot);  // consecutive, from the snapshot on
            REQUIRE(r.values == crash::vote_values(r.slot, r.ballot_raw));
            ++expected_slot;
            ++recovered_votes;
        }
        if (any_reported) {
            REQUIRE_MESSAGE(expected_slot > max_reported,
                            "round " << round << ": slot " << max_reported
                                     << " was reported durable but not recovered");
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "SIGKILL: %zu kills (%zu before the first report), %zu batches reported, "
        "%zu votes checked after recoveries, last slot %llu, %.1f s\n",
        kills, killed_before_first_report, reports, recovered_votes,
        static_cast<unsigned long long>(max_reported), seconds);
    CHECK(kills == 200);
    CHECK(reports > 200);
}
