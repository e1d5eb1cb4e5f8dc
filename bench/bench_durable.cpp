// bench/bench_durable.cpp: committing through the real write-ahead log.
//
// Three in-process replicas, each with its own posix_wal directory on the
// same disk, and the README's driver: a batch's send_now leaves at once, its
// durable part is persisted on a thread of its own (each replica syncs
// concurrently with the others, as separate machines would), and only then
// do send_after_sync and advance() follow. A replica whose sync is under way
// takes no input; the others go on. So the leader's sync overlaps its
// followers'. Measured side by side in one run:
//
//   raw_fdatasync                a 64-byte append + fdatasync, in a loop: the
//                                disk's sync rate, the unit everything else is
//                                measured in
//   durable_commit/group_commit  one fdatasync per ready batch; the driver
//                                steps every message that has arrived before
//                                it drains a replica, so one sync covers
//                                several slots' votes
//   durable_commit/sync_each     the same driver, one fdatasync per record
//
// `commands` is how many commands the leader is given per round (the
// replica packs up to 8 into one slot). Counters: commits/s (commands
// applied at the leader, wall clock), fsyncs/commit (data and directory
// syncs of all three logs), raw_syncs/s (the disk's rate, measured once per
// run in the same directory) and commits/raw_sync = commits/s / raw_syncs/s.
//
// Run from the release preset:
//   cmake --preset release && cmake --build --preset release
//   ./build/release/bench/bench_durable --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true      (one line)
// Logs go to a directory made under $TMPDIR (or /tmp) and removed at exit.
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <paxos/paxos.hpp>
#include <paxos/storage/posix_wal.hpp>

namespace {

// The directory every benchmark writes under; removed at exit.
class bench_root {
public:
    bench_root() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern =
            std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/paxos_bench_XXXXXX";
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

bench_root& root() {
    static bench_root r;
    return r;
}

// One 64-byte append and one fdatasync. Returns false on an I/O error.
bool append_and_sync(int fd, std::uint64_t& offset) {
    std::array<char, 64> line{};
    line.fill('x');
    if (::pwrite(fd, line.data(), line.size(), static_cast<off_t>(offset)) !=
        static_cast<ssize_t>(line.size())) {
        return false;
    }
    offset += line.size();
    return ::fdatasync(fd) == 0;
}

// The disk's sync rate, measured once per run in the benchmarks' directory
// (about a quarter of a second, or 400 syncs, whichever comes first).
double raw_syncs_per_second() {
    static const double rate = [] {
        const std::string path = root().fresh("raw_rate");
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return 0.0;
        std::uint64_t offset = 0;
        int n = 0;
        const auto start = std::chrono::steady_clock::now();
        auto elapsed = std::chrono::duration<double>(0);
        while (n < 400 && elapsed.count() < 0.25) {
            if (!append_and_sync(fd, offset)) break;
            ++n;
            elapsed = std::chrono::steady_clock::now() - start;
        }
        ::close(fd);
        return n > 0 ? n / elapsed.count() : 0.0;
    }();
    return rate;
}

void raw_fdatasync(benchmark::State& state) {
    const std::string path = root().fresh("raw");
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        state.SkipWithError("cannot create the sync test file");
        return;
    }
    std::uint64_t offset = 0;
    std::int64_t syncs = 0;
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        if (!append_and_sync(fd, offset)) {
            state.SkipWithError("write or fdatasync failed");
            break;
        }
        ++syncs;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ::close(fd);
    state.counters["syncs/s"] = seconds > 0 ? static_cast<double>(syncs) / seconds : 0.0;
}

// Three replicas, each persisting through its own log before it sends.
template <class Config>
class durable_cluster {
public:
    using replica = paxos::replica<Config>;
    using wal = paxos::storage::posix_wal<Config>;
    using message = typename replica::message_type;
    using message_buffer = typename replica::message_buffer;
    using ready_type = typename replica::ready_type;
    static constexpr std::uint16_t nodes = 3;

    durable_cluster(bench_root& dirs, paxos::storage::wal_options opts) {
        for (std::uint16_t id = 0; id < nodes; ++id) {
            typename replica::options o{};
            o.self = paxos::node_id{id};
            replicas_[id] = std::make_unique<replica>(o);
            logs_[id] = std::make_unique<wal>(dirs.fresh("node"), opts);
            paxos::storage::null_visitor<typename Config::ballot, typename Config::value_type> none;
            ok_ = ok_ && logs_[id]->recover(none) == paxos::storage::status::ok;
        }
        ok_ = ok_ && replicas_[0]->campaign().ok() && settle() && replicas_[0]->is_leader();
    }

    ~durable_cluster() {
        for (std::thread& t : syncing_) {
            if (t.joinable()) t.join();
        }
    }
    durable_cluster(const durable_cluster&) = delete;
    durable_cluster& operator=(const durable_cluster&) = delete;

    bool ok() const noexcept { return ok_; }

    // Gives the leader `count` commands, then runs until the cluster is quiet.
    bool commit(std::uint64_t count) {
        for (std::uint64_t i = 0; i < count; ++i) {
            while (!replicas_[0]->propose(static_cast<int>(i)).ok()) {
                if (!settle()) return false;  // window or batch full: let it drain
            }
        }
        return settle();
    }

    std::uint64_t applied_at_leader() const noexcept { return applied_[0]; }
    std::uint64_t syncs() const noexcept {
        std::uint64_t n = 0;
        for (const auto& log : logs_) n += log->data_syncs() + log->directory_syncs();
        return n;
    }

private:
    // Takes one ready batch of `id`: send_now is routed at once; a batch that
    // needs a sync is persisted on a thread while the other replicas go on.
    void start(std::uint16_t id) {
        replica& r = *replicas_[id];
        const ready_type& rd = r.ready();
        for (const message& m : rd.send_now) route(m, id);
        batch_[id] = &rd;
        if (!rd.sync_needed) {
            persisted_[id] = logs_[id]->persist(rd) == paxos::storage::status::ok;
            finish(id);
            return;
        }
        syncing_[id] = std::thread([this, id, &rd] {
            persisted_[id] = logs_[id]->persist(rd) == paxos::storage::status::ok;
        });
    }
    void finish(std::uint16_t id) {
        if (syncing_[id].joinable()) syncing_[id].join();
        const ready_type& rd = *batch_[id];
        batch_[id] = nullptr;
        if (!persisted_[id]) {
            ok_ = false;  // fail-stop: nothing after a failed sync leaves
            return;
        }
        for (const message& m : rd.send_after_sync) route(m, id);
        for (const auto& e : rd.chosen) applied_[id] += e.values.size();
        replicas_[id]->advance(rd);
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
    // Runs until every replica is quiet: a replica that is not syncing steps
    // what has arrived for it and starts its next batch; when every replica
    // with work is syncing, the driver waits for those syncs.
    bool settle() {
        for (int guard = 0; guard < 1'000'000 && ok_; ++guard) {
            bool moved = false;
            for (std::uint16_t id = 0; id < nodes; ++id) {
                if (batch_[id] != nullptr) continue;
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
            bool waited = false;
            for (std::uint16_t id = 0; id < nodes; ++id) {
                if (batch_[id] == nullptr) continue;
                finish(id);
                waited = true;
            }
            if (!waited) return ok_;
        }
        return false;
    }

    std::array<std::unique_ptr<replica>, nodes> replicas_{};
    std::array<std::unique_ptr<wal>, nodes> logs_{};
    std::array<std::uint64_t, nodes> applied_{};
    std::array<std::deque<message_buffer>, nodes> inbox_{};
    std::array<const ready_type*, nodes> batch_{};  // a batch out, its sync under way
    std::array<std::thread, nodes> syncing_{};
    std::array<bool, nodes> persisted_{};
    bool ok_ = true;
};

void durable_commit(benchmark::State& state, bool sync_each) {
    using config = paxos::multi_paxos<int, 3, 64, 8>;
    const auto commands = static_cast<std::uint64_t>(state.range(0));
    const double raw = raw_syncs_per_second();
    paxos::storage::wal_options opts;
    opts.sync_each_record = sync_each;
    durable_cluster<config> cluster(root(), opts);
    if (!cluster.ok()) {
        state.SkipWithError("could not start the cluster (I/O error)");
        return;
    }
    const std::uint64_t applied_start = cluster.applied_at_leader();
    const std::uint64_t syncs_start = cluster.syncs();
    // Wall-clock time, measured here: the work is waiting for the disk, which
    // CPU time would not see.
    const auto start = std::chrono::steady_clock::now();
    for (auto _ : state) {
        if (!cluster.commit(commands)) {
            state.SkipWithError("persist failed (I/O error)");
            return;
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto commits = static_cast<double>(cluster.applied_at_leader() - applied_start);
    const auto syncs = static_cast<double>(cluster.syncs() - syncs_start);
    const double commits_per_second = seconds > 0 ? commits / seconds : 0.0;
    state.SetItemsProcessed(static_cast<std::int64_t>(commits));
    state.counters["commits/s"] = commits_per_second;
    state.counters["fsyncs/commit"] = commits > 0 ? syncs / commits : 0.0;
    state.counters["raw_syncs/s"] = raw;
    state.counters["commits/raw_sync"] = raw > 0 ? commits_per_second / raw : 0.0;
}

void group_commit(benchmark::State& s) { durable_commit(s, false); }
void sync_each(benchmark::State& s) { durable_commit(s, true); }

BENCHMARK(raw_fdatasync)->UseRealTime();
BENCHMARK(group_commit)->Name("durable_commit/group_commit")->Arg(1)->Arg(32)->UseRealTime();
BENCHMARK(sync_each)->Name("durable_commit/sync_each")->Arg(1)->Arg(32)->UseRealTime();

}  // namespace
