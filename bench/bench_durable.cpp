// bench/bench_durable.cpp: committing through the real write-ahead log.
//
// Three in-process replicas, each with its own posix_wal directory, and the
// README's driver: a batch's send_now leaves at once, its durable part is
// persisted by the replica's own sync worker (a thread that lives as long as
// the cluster, as a machine's disk would), and only then do send_after_sync
// and advance() follow. A replica whose sync is under way takes no input;
// the others go on, and the driver finishes whichever sync ends first. A
// commit needs the leader's vote and one follower's (a majority of three),
// so the leader's next command goes out as soon as it has applied the last
// one, whether or not the third replica is still syncing. So the leader's
// sync overlaps its followers'. Measured side by side in one run:
//
//   raw_fdatasync/overwrite:0    a 64-byte append + fdatasync, in a loop
//   raw_fdatasync/overwrite:1    the same, overwriting a zero-filled, synced
//                                file (what a preallocated log does)
//   durable_commit/group_commit  one fdatasync per ready batch; the driver
//                                steps every message that has arrived before
//                                it drains a replica, so one sync covers
//                                several slots' votes
//   durable_commit/sync_each     the same driver, one fdatasync per record
//
// `commands` is how many commands the leader is given per round (the
// replica packs up to 8 into one slot); `preallocate` is
// wal_options::preallocate. Counters:
//   commits/s            commands applied at the leader, wall clock
//   fsyncs/commit        data and directory syncs of all three logs
//   raw_syncs/s          the disk's rate for the log's kind of write (append,
//                        or overwrite with preallocate), measured for 0.1 s
//                        just before and just after the run, averaged
//   commits/raw_sync     commits/s / raw_syncs/s: the figure to quote
//   commits/raw_append   the same against the append rate
//   raw_rounds3/s        rounds of three threads each writing and syncing a
//                        file of its own, all three done before the next
//                        round (same kind, same times): what three replicas'
//                        syncs cost together on this disk
//   commits/raw_round3   commits/s / raw_rounds3/s (1: the disk's ceiling)
//   critical_syncs/slot  per chosen slot: 1 if the sync of the leader's vote
//                        and that of the follower whose accepted completed
//                        the quorum overlapped in time, 2 if one followed
//                        the other
//   accept_early         share of slots whose accept left before the
//                        leader's own sync ended (1 is the contract)
//   accepted_late        share of followers' accepted that left after their
//                        sync ended (must be 1)
//
// Run from the release preset:
//   cmake --preset release && cmake --build --preset release --target bench_durable
//   ./build/release/bench/bench_durable --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true      (one line)
// Logs go to a directory made under $TMPDIR (or /tmp) and removed at exit;
// PAXOS_BENCH_DIRS=a:b:c puts replica i's log under the i-th directory (for
// example three file systems on devices of their own; README, "Durable
// storage"), the raw syncs under the first.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <paxos/paxos.hpp>
#include <paxos/storage/posix_wal.hpp>

namespace {

// The directory every benchmark writes under; removed at exit.
class bench_root {
public:
    explicit bench_root(const std::string& base) {
        std::string pattern = base + "/paxos_bench_XXXXXX";
        std::vector<char> buf(pattern.begin(), pattern.end());
        buf.push_back('\0');
        if (::mkdtemp(buf.data()) == nullptr) std::abort();
        path_ = buf.data();
    }
    ~bench_root() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    bench_root(const bench_root&) = delete;
    bench_root& operator=(const bench_root&) = delete;

    // A fresh, empty subdirectory path (not created).
    std::string fresh(const char* name) {
        const std::string p = path_ + "/" + name + "_" + std::to_string(next_++);
        return p;
    }

private:
    std::string path_;
    int next_ = 0;
};

// Where the logs go: $PAXOS_BENCH_DIRS, up to three directories separated by
// ':' (replica i writes under the (i mod n)-th, the raw syncs under the
// first), or else $TMPDIR, or /tmp.
std::vector<std::unique_ptr<bench_root>>& roots() {
    static std::vector<std::unique_ptr<bench_root>> r = [] {
        std::vector<std::unique_ptr<bench_root>> out;
        const char* list = std::getenv("PAXOS_BENCH_DIRS");
        std::string dirs = list != nullptr ? list : "";
        for (std::size_t at = 0; at < dirs.size() && out.size() < 3;) {
            const std::size_t cut = std::min(dirs.find(':', at), dirs.size());
            if (cut > at) out.push_back(std::make_unique<bench_root>(dirs.substr(at, cut - at)));
            at = cut + 1;
        }
        if (out.empty()) {
            const char* base = std::getenv("TMPDIR");
            out.push_back(
                std::make_unique<bench_root>(base != nullptr && *base != '\0' ? base : "/tmp"));
        }
        return out;
    }();
    return r;
}

// How the raw reference writes: appending (the file grows at every sync), or
// overwriting zeros written and synced beforehand (what a preallocated log does).
enum class write_kind { append, overwrite };

constexpr std::uint64_t raw_file_bytes = std::uint64_t{4} << 20;

// A file for raw syncs; overwrite: zero-filled and synced first.
int open_raw(const std::string& path, write_kind kind) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || kind == write_kind::append) return fd;
    const std::vector<char> zeros(1 << 20, 0);
    for (std::uint64_t at = 0; at < raw_file_bytes; at += zeros.size()) {
        if (::pwrite(fd, zeros.data(), zeros.size(), static_cast<off_t>(at)) !=
            static_cast<ssize_t>(zeros.size())) {
            ::close(fd);
            return -1;
        }
    }
    if (::fdatasync(fd) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// One 64-byte write and one fdatasync. Returns false on an I/O error.
bool write_and_sync(int fd, std::uint64_t& offset, write_kind kind) {
    std::array<char, 64> line{};
    line.fill('x');
    if (kind == write_kind::overwrite && offset + line.size() > raw_file_bytes) offset = 0;
    if (::pwrite(fd, line.data(), line.size(), static_cast<off_t>(offset)) !=
        static_cast<ssize_t>(line.size())) {
        return false;
    }
    offset += line.size();
    return ::fdatasync(fd) == 0;
}

// The disk's sync rate for one kind of write, measured now, in the first
// log directory, for about `seconds` (at most 2,000 syncs).
double raw_syncs_per_second(write_kind kind, double seconds) {
    const std::string path = roots().front()->fresh("raw_rate");
    const int fd = open_raw(path, kind);
    if (fd < 0) return 0.0;
    std::uint64_t offset = 0;
    int n = 0;
    const auto start = std::chrono::steady_clock::now();
    auto elapsed = std::chrono::duration<double>(0);
    while (n < 2000 && elapsed.count() < seconds) {
        if (!write_and_sync(fd, offset, kind)) break;
        ++n;
        elapsed = std::chrono::steady_clock::now() - start;
    }
    ::close(fd);
    ::unlink(path.c_str());
    return n > 0 ? n / elapsed.count() : 0.0;
}

// The rate of rounds in which three threads, each with a file of its own
// where that replica's log goes, write and fdatasync once and all finish:
// what three replicas' concurrent syncs cost when they share this disk, the
// ceiling of a serial commit here (one such round per commit at best).
double raw_rounds_per_second(write_kind kind, double seconds) {
    constexpr int threads = 3;
    std::array<int, threads> fds{};
    std::array<std::string, threads> paths{};
    bool ok = true;
    for (int t = 0; t < threads; ++t) {
        paths[t] = roots()[static_cast<std::size_t>(t) % roots().size()]->fresh("raw_round");
        fds[t] = open_raw(paths[t], kind);
        ok = ok && fds[t] >= 0;
    }
    std::atomic<int> round{0};
    std::atomic<int> done{0};
    std::atomic<bool> failed{false};
    int rounds = 0;
    if (ok) {
        std::array<std::thread, threads> workers;
        for (int t = 0; t < threads; ++t) {
            workers[t] = std::thread([&, t] {
                std::uint64_t offset = 0;
                for (int r = 1;; ++r) {
                    int seen = round.load();
                    while (seen >= 0 && seen < r) {
                        round.wait(seen);
                        seen = round.load();
                    }
                    if (seen < 0) return;
                    if (!write_and_sync(fds[t], offset, kind)) failed = true;
                    done.fetch_add(1);
                    done.notify_all();
                }
            });
        }
        const auto start = std::chrono::steady_clock::now();
        auto elapsed = std::chrono::duration<double>(0);
        while (rounds < 2000 && elapsed.count() < seconds && !failed) {
            ++rounds;
            round.store(rounds);
            round.notify_all();
            for (int d = done.load(); d < rounds * threads; d = done.load()) done.wait(d);
            elapsed = std::chrono::steady_clock::now() - start;
        }
        round.store(-1);
        round.notify_all();
        for (std::thread& w : workers) w.join();
        if (failed || elapsed.count() <= 0) rounds = 0;
        seconds = elapsed.count();
    }
    for (int t = 0; t < threads; ++t) {
        if (fds[t] >= 0) ::close(fds[t]);
        ::unlink(paths[t].c_str());
    }
    return rounds > 0 ? rounds / seconds : 0.0;
}

// state.range(0): 0 append, 1 overwrite.
void raw_fdatasync(benchmark::State& state) {
    const write_kind kind = state.range(0) != 0 ? write_kind::overwrite : write_kind::append;
    const std::string path = roots().front()->fresh("raw");
    const int fd = open_raw(path, kind);
    if (fd < 0) {
        state.SkipWithError("cannot create the sync test file");
        return;
    }
    std::uint64_t offset = 0;
    std::int64_t syncs = 0;
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        if (!write_and_sync(fd, offset, kind)) {
            state.SkipWithError("write or fdatasync failed");
            break;
        }
        ++syncs;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ::close(fd);
    ::unlink(path.c_str());
    state.counters["syncs/s"] = seconds > 0 ? static_cast<double>(syncs) / seconds : 0.0;
}

// When one slot's syncs ran, for the critical-path counters.
struct slot_times {
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr std::uint16_t nodes = 3;
    std::array<time_point, nodes> sync_start{};  // the batch holding this slot's vote
    std::array<time_point, nodes> sync_end{};
    time_point accept_sent{};               // the leader's accept left
    std::uint16_t quorum_follower = nodes;  // whose accepted reached the leader first
};

// What the driver saw of the contract, per committed slot.
struct path_counters {
    std::uint64_t slots = 0;
    std::uint64_t critical_syncs = 0;     // 1 if the leader's and the quorum follower's overlap
    std::uint64_t accept_before_own = 0;  // the accept left before the leader's sync ended
    std::uint64_t accepted_after_sync = 0;
    std::uint64_t accepted_sent = 0;
};

// Three replicas, each persisting through its own log on a thread of its
// own (a machine's own disk), before it sends what depends on it.
template <class Config>
class durable_cluster {
public:
    using replica = paxos::replica<Config>;
    using wal = paxos::storage::posix_wal<Config>;
    using message = typename replica::message_type;
    using message_buffer = typename replica::message_buffer;
    using ready_type = typename replica::ready_type;
    using clock = std::chrono::steady_clock;
    static constexpr std::uint16_t nodes = 3;

    durable_cluster(const std::vector<std::string>& dirs, paxos::storage::wal_options opts) {
        for (std::uint16_t id = 0; id < nodes; ++id) {
            typename replica::options o{};
            o.self = paxos::node_id{id};
            replicas_[id] = std::make_unique<replica>(o);
            logs_[id] = std::make_unique<wal>(dirs[id % dirs.size()], opts);
            paxos::storage::null_visitor<typename Config::ballot, typename Config::value_type> none;
            ok_ = ok_ && logs_[id]->recover(none) == paxos::storage::status::ok;
        }
        for (std::uint16_t id = 0; id < nodes; ++id) {
            workers_[id] = std::thread([this, id] { work(id); });
        }
        ok_ = ok_ && replicas_[0]->campaign().ok() && quiet() && replicas_[0]->is_leader();
    }

    ~durable_cluster() {
        {
            const std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        for (auto& cv : work_cv_) cv.notify_one();
        for (std::thread& t : workers_) t.join();
    }
    durable_cluster(const durable_cluster&) = delete;
    durable_cluster& operator=(const durable_cluster&) = delete;

    bool ok() const noexcept { return ok_; }

    // Gives the leader `count` commands and runs until the leader has applied
    // them: a commit needs the leader's vote and one follower's, so the
    // third replica may still be syncing when the next command arrives, as
    // on separate machines.
    bool commit(std::uint64_t count) {
        const std::uint64_t target = applied_[0] + count;
        for (std::uint64_t i = 0; i < count; ++i) {
            for (;;) {
                if (!run_until([&] { return !busy_[0]; })) return false;
                if (replicas_[0]->propose(static_cast<int>(i)).ok()) break;
                if (!run_until([&] { return false; }, true)) return false;  // full: drain a bit
            }
        }
        return run_until([&] { return applied_[0] >= target; });
    }

    // Runs until no replica has work, nothing is in flight and no sync is under way.
    bool quiet() {
        return run_until([] { return false; });
    }

    std::uint64_t applied_at_leader() const noexcept { return applied_[0]; }
    std::uint64_t syncs() const noexcept {
        std::uint64_t n = 0;
        for (const auto& log : logs_) n += log->data_syncs() + log->directory_syncs();
        return n;
    }
    const path_counters& path() const noexcept { return path_; }

private:
    // The worker of one replica: persists each batch handed to it, one at a time.
    void work(std::uint16_t id) {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            work_cv_[id].wait(lock, [&] { return stop_ || job_[id] != nullptr; });
            if (stop_) return;
            const ready_type& rd = *job_[id];
            lock.unlock();
            const auto began = clock::now();
            const bool persisted = logs_[id]->persist(rd) == paxos::storage::status::ok;
            const auto ended = clock::now();
            lock.lock();
            job_[id] = nullptr;
            done_[id] = true;
            persisted_[id] = persisted;
            began_[id] = began;
            ended_[id] = ended;
            done_cv_.notify_one();
        }
    }

    slot_times& times(paxos::slot_id s) {
        if (times_.size() <= s.value) times_.resize(s.value + 1024);
        return times_[s.value];
    }

    // Takes one ready batch of `id`: send_now is routed at once; a batch that
    // needs a sync goes to the replica's worker while the others go on.
    void start(std::uint16_t id) {
        replica& r = *replicas_[id];
        const ready_type& rd = r.ready();
        const auto now = clock::now();
        for (const message& m : rd.send_now) {
            if (id == 0 && m.kind == paxos::message_kind::accept) times(m.slot).accept_sent = now;
            route(m, id);
        }
        batch_[id] = &rd;
        busy_[id] = true;
        if (!rd.sync_needed) {
            persisted_[id] = logs_[id]->persist(rd) == paxos::storage::status::ok;
            began_[id] = ended_[id] = clock::now();
            finish(id);
            return;
        }
        const std::lock_guard<std::mutex> lock(mutex_);
        job_[id] = &rd;
        work_cv_[id].notify_one();
    }
    void finish(std::uint16_t id) {
        const ready_type& rd = *batch_[id];
        batch_[id] = nullptr;
        busy_[id] = false;
        if (!persisted_[id]) {
            ok_ = false;  // fail-stop: nothing after a failed sync leaves
            return;
        }
        if (rd.sync_needed) {
            for (const auto& v : rd.accepted) {
                times(v.slot).sync_start[id] = began_[id];
                times(v.slot).sync_end[id] = ended_[id];
            }
        }
        const auto now = clock::now();
        for (const message& m : rd.send_after_sync) {
            if (m.kind == paxos::message_kind::accepted && id != 0) {
                slot_times& t = times(m.slot);
                ++path_.accepted_sent;
                path_.accepted_after_sync += now >= t.sync_end[id] ? 1 : 0;
                if (t.quorum_follower == nodes) t.quorum_follower = id;
            }
            route(m, id);
        }
        for (const auto& e : rd.chosen) {
            applied_[id] += e.values.size();
            if (id == 0) count_path(times(e.slot));
        }
        replicas_[id]->advance(rd);
    }
    void count_path(const slot_times& t) {
        const std::uint16_t f = t.quorum_follower;
        if (f == nodes) return;  // chosen without a follower's accepted in this run
        ++path_.slots;
        const bool overlap = t.sync_start[f] < t.sync_end[0] && t.sync_start[0] < t.sync_end[f];
        path_.critical_syncs += overlap ? 1 : 2;
        path_.accept_before_own += t.accept_sent < t.sync_end[0] ? 1 : 0;
    }
    void route(const message& m, std::uint16_t from) {
        for (std::uint16_t to = 0; to < nodes; ++to) {
            const bool addressed =
                m.to == paxos::node_id::broadcast() ? to != from : m.to.value == to;
            if (!addressed) continue;
            inbox_[to].emplace_back(m);
            inbox_[to].back().to = paxos::node_id{to};
        }
    }
    // Finishes every batch whose sync is done; with `wait`, first waits for one.
    bool reap(bool wait) {
        std::array<bool, nodes> done{};
        {
            std::unique_lock<std::mutex> lock(mutex_);
            if (wait) {
                done_cv_.wait(lock, [&] { return done_[0] || done_[1] || done_[2]; });
            }
            for (std::uint16_t id = 0; id < nodes; ++id) {
                done[id] = done_[id];
                done_[id] = false;
            }
        }
        bool any = false;
        for (std::uint16_t id = 0; id < nodes; ++id) {
            if (!done[id]) continue;
            finish(id);
            any = true;
        }
        return any;
    }
    // Runs the cluster until `until()` holds (true) or it is quiet (true,
    // unless `once`: then after one wait for a sync). A replica that is not
    // syncing steps what has arrived for it and starts its next batch; when
    // nothing can move, the driver waits for whichever sync ends first.
    template <class Until>
    bool run_until(Until until, bool once = false) {
        for (int guard = 0; guard < 1'000'000 && ok_; ++guard) {
            if (until()) return true;
            bool moved = reap(false);
            for (std::uint16_t id = 0; id < nodes; ++id) {
                if (busy_[id]) continue;
                replica& r = *replicas_[id];
                while (!inbox_[id].empty()) {
                    const paxos::result res = r.step(inbox_[id].front());
                    if (res.code == paxos::reason::outbox_full) break;  // drain first
                    inbox_[id].pop_front();
                    moved = true;
                }
                if (r.has_ready()) {
                    start(id);
                    moved = true;
                }
            }
            if (moved) continue;
            if (!busy_[0] && !busy_[1] && !busy_[2]) return ok_;
            reap(true);
            if (once) return ok_;
        }
        return false;
    }

    std::array<std::unique_ptr<replica>, nodes> replicas_{};
    std::array<std::unique_ptr<wal>, nodes> logs_{};
    std::array<std::uint64_t, nodes> applied_{};
    std::array<std::deque<message_buffer>, nodes> inbox_{};
    std::array<const ready_type*, nodes> batch_{};  // a batch out, its sync under way
    std::array<bool, nodes> busy_{};
    std::vector<slot_times> times_;
    path_counters path_{};
    bool ok_ = true;

    // Shared with the workers, under mutex_.
    std::mutex mutex_;
    std::array<std::condition_variable, nodes> work_cv_{};
    std::condition_variable done_cv_;
    std::array<const ready_type*, nodes> job_{};
    std::array<bool, nodes> done_{};
    std::array<bool, nodes> persisted_{};
    std::array<clock::time_point, nodes> began_{};
    std::array<clock::time_point, nodes> ended_{};
    bool stop_ = false;
    std::array<std::thread, nodes> workers_{};
};

// state.range(0): commands per round; range(1): preallocate (0 or 1).
void durable_commit(benchmark::State& state, bool sync_each) {
    using config = paxos::multi_paxos<int, 3, 64, 8>;
    const auto commands = static_cast<std::uint64_t>(state.range(0));
    const bool preallocate = state.range(1) != 0;
    const write_kind kind = preallocate ? write_kind::overwrite : write_kind::append;
    paxos::storage::wal_options opts;
    opts.sync_each_record = sync_each;
    opts.preallocate = preallocate;
    std::vector<std::string> dirs;
    for (std::uint16_t id = 0; id < 3; ++id) {
        dirs.push_back(roots()[id % roots().size()]->fresh("node"));
    }
    // The raw rates of both kinds, measured before and after the run, so a
    // ratio compares with the disk as it was during the run.
    double raw = raw_syncs_per_second(kind, 0.1);
    double raw_append = raw_syncs_per_second(write_kind::append, 0.1);
    double raw_rounds = raw_rounds_per_second(kind, 0.1);
    std::optional<durable_cluster<config>> cluster;
    cluster.emplace(dirs, opts);
    if (!cluster->ok()) {
        state.SkipWithError("could not start the cluster (I/O error)");
        return;
    }
    const std::uint64_t applied_start = cluster->applied_at_leader();
    const std::uint64_t syncs_start = cluster->syncs();
    const path_counters path_start = cluster->path();
    // Wall-clock time, measured here: the work is waiting for the disk, which
    // CPU time would not see.
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        if (!cluster->commit(commands)) {
            state.SkipWithError("persist failed (I/O error)");
            return;
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto commits = static_cast<double>(cluster->applied_at_leader() - applied_start);
    const auto syncs = static_cast<double>(cluster->syncs() - syncs_start);
    path_counters p = cluster->path();
    if (!cluster->quiet()) state.SkipWithError("persist failed (I/O error)");
    cluster.reset();
    raw = (raw + raw_syncs_per_second(kind, 0.1)) / 2;
    raw_append = (raw_append + raw_syncs_per_second(write_kind::append, 0.1)) / 2;
    raw_rounds = (raw_rounds + raw_rounds_per_second(kind, 0.1)) / 2;
    p.slots -= path_start.slots;
    p.critical_syncs -= path_start.critical_syncs;
    p.accept_before_own -= path_start.accept_before_own;
    p.accepted_sent -= path_start.accepted_sent;
    p.accepted_after_sync -= path_start.accepted_after_sync;
    const auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    const double commits_per_second = ratio(commits, seconds);
    state.SetItemsProcessed(static_cast<std::int64_t>(commits));
    state.counters["commits/s"] = commits_per_second;
    state.counters["fsyncs/commit"] = ratio(syncs, commits);
    state.counters["raw_syncs/s"] = raw;
    state.counters["commits/raw_sync"] = ratio(commits_per_second, raw);
    state.counters["commits/raw_append"] = ratio(commits_per_second, raw_append);
    state.counters["raw_rounds3/s"] = raw_rounds;
    state.counters["commits/raw_round3"] = ratio(commits_per_second, raw_rounds);
    // Per slot chosen at the leader: 1 when the quorum follower's sync of
    // its vote overlapped the leader's own, 2 when one followed the other.
    state.counters["critical_syncs/slot"] =
        ratio(static_cast<double>(p.critical_syncs), static_cast<double>(p.slots));
    // Must be 1: the leader's accept left before its own sync ended, and
    // every follower's accepted after its sync.
    state.counters["accept_early"] =
        ratio(static_cast<double>(p.accept_before_own), static_cast<double>(p.slots));
    state.counters["accepted_late"] =
        ratio(static_cast<double>(p.accepted_after_sync), static_cast<double>(p.accepted_sent));
}

void group_commit(benchmark::State& s) { durable_commit(s, false); }
void sync_each(benchmark::State& s) { durable_commit(s, true); }

BENCHMARK(raw_fdatasync)->ArgName("overwrite")->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(group_commit)
    ->Name("durable_commit/group_commit")
    ->ArgNames({"commands", "preallocate"})
    ->ArgsProduct({{1, 32}, {0, 1}})
    ->UseRealTime();
BENCHMARK(sync_each)
    ->Name("durable_commit/sync_each")
    ->ArgNames({"commands", "preallocate"})
    ->ArgsProduct({{1, 32}, {0, 1}})
    ->UseRealTime();

}  // namespace
