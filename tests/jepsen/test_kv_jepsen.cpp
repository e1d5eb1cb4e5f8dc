// tests/jepsen/test_kv_jepsen.cpp: paxos_kv tested the way Jepsen tests a
// database. Three real server processes, each link between two of them
// through its own paxos_fault_proxy (six proxies, one per direction), and
// concurrent clients doing read, write and compare-and-set on a few keys
// over RESP while a nemesis kills (SIGKILL, then restart), pauses
// (SIGSTOP/SIGCONT), partitions, delays and cuts links, mostly aimed at the
// leader. An operation whose outcome is unknown (timeout, lost connection,
// "-TRYAGAIN ... outcome unknown") is recorded as unknown, never as failed.
// The history is checked per key by linearizability.hpp.
//
// The same run against each planted server (examples/CMakeLists.txt,
// paxos_kv_plant_*) must find a violation. Seconds per run: 20 for the real
// server, 15 per planted bug (up to three runs each, below);
// PAXOS_KV_JEPSEN_SECONDS=600 for a long run.
#include <doctest/doctest.h>

#include <atomic>
#include <charconv>
#include <mutex>
#include <random>
#include <thread>

#include "../kv/kv_cluster.hpp"
#include "linearizability.hpp"

namespace {

using namespace kv_test;

// One paxos_fault_proxy process, commands on its stdin, answers on stdout.
class proxy_process {
public:
    explicit proxy_process(std::uint16_t target) {
        int in[2], out[2];
        REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        const std::string t = join("127.0.0.1:", std::to_string(target));
        std::vector<const char*> argv{
            PAXOS_FAULT_PROXY_PATH, "--listen", "127.0.0.1:0", "--target", t.c_str(), nullptr};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        REQUIRE(::posix_spawn(&pid_, argv[0], &fa, nullptr, const_cast<char* const*>(argv.data()),
                              environ) == 0);
        posix_spawn_file_actions_destroy(&fa);
        ::close(in[0]);
        ::close(out[1]);
        to_ = in[1];
        from_ = out[0];
        const std::string first = read_line();
        REQUIRE(first.rfind("listening 127.0.0.1:", 0) == 0);
        port_ = static_cast<std::uint16_t>(std::stoi(first.substr(20)));
    }
    ~proxy_process() {
        ::close(to_);  // end of stdin: it exits
        ::kill(pid_, SIGTERM);
        int status = 0;
        (void)::waitpid(pid_, &status, 0);
        ::close(from_);
    }
    std::uint16_t port() const { return port_; }
    // A command, and its one-line answer (bounded wait).
    std::string command(const std::string& c) {
        const std::string line = join(c, "\n");
        if (::write(to_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return {};
        return read_line();
    }

private:
    std::string read_line() {
        std::string s;
        const auto deadline = clock_type::now() + 5s;
        while (clock_type::now() < deadline) {
            pollfd p{from_, POLLIN, 0};
            if (::poll(&p, 1, 100) != 1) continue;
            char ch = 0;
            if (::read(from_, &ch, 1) != 1) break;
            if (ch == '\n') return s;
            s += ch;
        }
        return s;
    }
    pid_t pid_ = -1;
    int to_ = -1, from_ = -1;
    std::uint16_t port_ = 0;
};

enum class fault { kill_leader, kill_any, pause_leader, partition_leader, delay_all, close_all };
const char* name_of(fault f) {
    switch (f) {
        case fault::kill_leader: return "SIGKILL leader + restart";
        case fault::kill_any: return "SIGKILL random + restart";
        case fault::pause_leader: return "SIGSTOP/SIGCONT leader";
        case fault::partition_leader: return "partition leader";
        case fault::delay_all: return "delay 30 ms on every link";
        case fault::close_all: return "close every link";
    }
    return "?";
}

struct run_result {
    std::vector<jepsen::operation> history;
    std::map<std::string, int> faults;
    jepsen::check_report report;
    std::size_t ok = 0, failed = 0, unknown = 0;
};

class jepsen_run {
public:
    jepsen_run(std::string binary, std::string name)
        : cluster_(name, {.binary = std::move(binary), .snapshot_every = 16}) {
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t j = 0; j < 3; ++j)
                if (i != j) proxies_[i][j] = std::make_unique<proxy_process>(cluster_.peer_port(j));
        std::vector<std::vector<std::uint16_t>> dial(3, std::vector<std::uint16_t>(3, 0));
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t j = 0; j < 3; ++j)
                if (i != j) dial[i][j] = proxies_[i][j]->port();
        cluster_.set_dial_ports(dial);
        cluster_.start_all();
    }

    run_result run(std::vector<fault> schedule, std::chrono::seconds length, std::uint64_t seed) {
        REQUIRE(cluster_.leader().has_value());
        start_ = clock_type::now();
        std::vector<std::thread> clients;
        for (std::uint64_t c = 0; c < 5; ++c)
            clients.emplace_back([this, c, seed] { client(c, seed); });
        std::mt19937_64 rng(seed);
        const auto end = start_ + length;
        for (std::size_t k = 0; clock_type::now() < end; ++k) {
            std::this_thread::sleep_for(400ms);
            const fault f = schedule[k % schedule.size()];
            ++result_.faults[name_of(f)];
            inject(f, rng);
        }
        heal();
        stop_.store(true);
        for (auto& t : clients) t.join();
        result_.history = history_;
        for (const auto& op : history_) {
            result_.ok += op.result == jepsen::outcome::ok;
            result_.failed += op.result == jepsen::outcome::fail;
            result_.unknown += op.result == jepsen::outcome::unknown;
        }
        result_.report = jepsen::check(history_);
        return result_;
    }

private:
    std::int64_t now_us() const {
        return std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start_)
            .count();
    }

    std::optional<std::size_t> leader() { return cluster_.leader(3s); }

    void all_links(std::size_t node, const std::string& cmd) {
        for (std::size_t j = 0; j < 3; ++j) {
            if (j == node) continue;
            proxies_[node][j]->command(cmd);
            proxies_[j][node]->command(cmd);
        }
    }
    void heal() {
        for (std::size_t i = 0; i < 3; ++i) {
            all_links(i, "pass");
            if (cluster_.running(i)) cluster_.resume(i);
            if (!cluster_.running(i)) cluster_.start(i);
        }
    }

    void inject(fault f, std::mt19937_64& rng) {
        const auto l = leader();
        const std::size_t target = f == fault::kill_any || !l ? rng() % 3 : *l;
        switch (f) {
            case fault::kill_leader:
            case fault::kill_any:
                cluster_.kill(target);
                std::this_thread::sleep_for(700ms);
                cluster_.start(target);
                break;
            case fault::pause_leader:
                cluster_.pause(target);
                std::this_thread::sleep_for(2000ms);
                cluster_.resume(target);
                break;
            case fault::partition_leader:
                all_links(target, "partition");
                std::this_thread::sleep_for(1500ms);
                all_links(target, "pass");
                break;
            case fault::delay_all:
                for (std::size_t i = 0; i < 3; ++i) all_links(i, "delay 30 10");
                std::this_thread::sleep_for(1000ms);
                for (std::size_t i = 0; i < 3; ++i) all_links(i, "pass");
                break;
            case fault::close_all:
                for (std::size_t i = 0; i < 3; ++i) all_links(i, "close");
                std::this_thread::sleep_for(300ms);
                break;
        }
    }

    static jepsen::outcome classify(const reply& r) {
        if (r.kind == reply::value || r.kind == reply::null) return jepsen::outcome::ok;
        if (r.kind == reply::unknown) return jepsen::outcome::unknown;
        // Refused before anything was proposed: definitely not executed.
        if (r.text.rfind("MOVED ", 0) == 0 || r.text.rfind("TRYAGAIN no leader", 0) == 0 ||
            r.text.rfind("TRYAGAIN paxos_kv: busy", 0) == 0)
            return jepsen::outcome::fail;
        return jepsen::outcome::unknown;  // "outcome unknown", and anything unexpected
    }

    void client(std::uint64_t id, std::uint64_t seed) {
        std::mt19937_64 rng(seed * 977 + id);
        std::size_t node = id % 3;
        auto conn = std::make_unique<resp_client>(cluster_.client_port(node), 1000ms);
        std::int64_t counter = 0;
        for (int round = 0; round < 100000 && !stop_.load(); ++round) {
            const std::string key = join("k", std::to_string(rng() % 3));
            // Clients 0 and 1 only read (and stay with their node, below): a
            // node that wrongly believes it still leads is read from often.
            const int dice = id < 2 ? 0 : static_cast<int>(rng() % 4);
            jepsen::operation op;
            op.client = id;
            op.key = key;
            std::vector<std::string> cmd;
            if (dice < 2) {
                op.kind = jepsen::op_kind::read;
                cmd = {"GET", key};
            } else {
                op.written = static_cast<std::int64_t>(id * 1'000'000 +
                                                       static_cast<std::uint64_t>(++counter));
                if (dice == 2) {
                    op.kind = jepsen::op_kind::write;
                    cmd = {"SET", key, std::to_string(*op.written)};
                } else {
                    op.kind = jepsen::op_kind::cas;
                    op.expected = last_value(key);
                    if (!op.expected) op.expected = 0;
                    cmd = {"SET", key, std::to_string(*op.written), "IFEQ",
                           std::to_string(*op.expected)};
                }
            }
            op.invoke = now_us();
            const reply r = conn->call(cmd);
            op.result = classify(r);
            op.complete = op.result == jepsen::outcome::unknown ? jepsen::never : now_us();
            if (op.result == jepsen::outcome::ok) {
                if (op.kind == jepsen::op_kind::read && r.kind == reply::value) {
                    // A reply that is not a number (a desynchronised stream)
                    // reads as -1, a value never written: a finding.
                    std::int64_t v = -1;
                    const auto [end, ec] =
                        std::from_chars(r.text.data(), r.text.data() + r.text.size(), v);
                    if (ec != std::errc{} || end != r.text.data() + r.text.size()) v = -1;
                    op.observed = v;
                }
                if (op.kind == jepsen::op_kind::cas) op.cas_swapped = r.kind == reply::value;
                if (op.kind != jepsen::op_kind::read) note_value(key, *op.written);
                if (op.kind == jepsen::op_kind::read && op.observed) note_value(key, *op.observed);
            }
            record(op);
            if (r.kind == reply::error && r.text.rfind("MOVED ", 0) == 0) {
                const auto port =
                    static_cast<std::uint16_t>(std::stoi(r.text.substr(r.text.rfind(':') + 1)));
                for (std::size_t j = 0; j < 3; ++j)
                    if (cluster_.client_port(j) == port) node = j;
                conn = std::make_unique<resp_client>(cluster_.client_port(node), 1000ms);
            } else if (op.result != jepsen::outcome::ok) {
                // Clients 0 and 1 stay with their node through timeouts, so
                // some clients are still there when a paused node resumes;
                // the others move on to find the new leader.
                if (id >= 2) node = (node + 1) % 3;
                conn = std::make_unique<resp_client>(cluster_.client_port(node), 1000ms);
                std::this_thread::sleep_for(20ms);
            }
        }
    }

    void record(const jepsen::operation& op) {
        std::lock_guard lock(mutex_);
        history_.push_back(op);
    }
    void note_value(const std::string& key, std::int64_t v) {
        std::lock_guard lock(mutex_);
        last_[key] = v;
    }
    std::optional<std::int64_t> last_value(const std::string& key) {
        std::lock_guard lock(mutex_);
        const auto it = last_.find(key);
        return it == last_.end() ? std::nullopt : std::optional<std::int64_t>(it->second);
    }

    kv_cluster cluster_;
    std::array<std::array<std::unique_ptr<proxy_process>, 3>, 3> proxies_{};
    clock_type::time_point start_{};
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<jepsen::operation> history_;
    std::map<std::string, std::int64_t> last_;
    run_result result_;
};

std::chrono::seconds seconds_or(std::chrono::seconds fallback) {
    const char* s = std::getenv("PAXOS_KV_JEPSEN_SECONDS");
    return s != nullptr ? std::chrono::seconds(std::atoi(s)) : fallback;
}

void print(const char* what, const run_result& r) {
    std::string faults;
    for (const auto& [f, n] : r.faults)
        faults += join("  ", f, ": ") + join(std::to_string(n), "\n");
    MESSAGE(std::string(what) << ": " << r.history.size() << " ops (" << r.ok << " ok, " << r.failed
                              << " failed, " << r.unknown << " unknown), verdict "
                              << std::string(jepsen::to_string(r.report.result)) << "\nfaults:\n"
                              << faults << r.report.summary());
}

const std::vector<fault> mixed{fault::kill_leader, fault::partition_leader, fault::pause_leader,
                               fault::delay_all,   fault::kill_any,         fault::close_all};

}  // namespace

TEST_CASE("jepsen: paxos_kv under kills, pauses, partitions and delays is linearizable") {
    jepsen_run run(PAXOS_KV_BINARY, "paxos-kv-jepsen");
    const run_result r = run.run(mixed, seconds_or(20s), 1);
    print("paxos_kv", r);
    CHECK(r.report.result == jepsen::verdict::linearizable);
    CHECK(r.ok > 200);
    CHECK(r.faults.size() == mixed.size());
}

// A planted bug shows only when a fault lands in its window (a write
// acknowledged early is lost only if the leader goes before a follower has
// it, and shows only if a read of that key comes before the next write), so
// one 15-second run catches each in most runs, not all: about one in ten runs
// of the early reply missed it. Each planted case gets up to three runs, each
// on a fresh cluster with its own seed, and stops at the first that catches
// it; a fault missed three times (about one in a thousand) fails.
namespace {
void caught_within_three_runs(const char* binary, const char* name, const char* what,
                              const std::vector<fault>& schedule, std::uint64_t seed) {
    bool caught = false;
    for (std::uint64_t attempt = 0; attempt < 3 && !caught; ++attempt) {
        jepsen_run run(binary, join(name, "-", std::to_string(attempt)));
        const run_result r = run.run(schedule, seconds_or(15s), seed + 100 * attempt);
        print(what, r);
        caught = r.report.result == jepsen::verdict::not_linearizable;
    }
    CHECK(caught);
}
}  // namespace

TEST_CASE("jepsen: planted bug caught: reads served from local state (stale reads)") {
    caught_within_three_runs(PAXOS_KV_PLANT_LOCAL_READ, "paxos-kv-jepsen-read",
                             "paxos_kv_plant_local_read",
                             {fault::partition_leader, fault::pause_leader}, 2);
}

TEST_CASE("jepsen: planted bug caught: writes acknowledged before they are chosen") {
    caught_within_three_runs(PAXOS_KV_PLANT_EARLY_REPLY, "paxos-kv-jepsen-early",
                             "paxos_kv_plant_early_reply",
                             {fault::partition_leader, fault::kill_leader}, 3);
}

TEST_CASE("jepsen: planted bug caught: the session table left out of the snapshot") {
    caught_within_three_runs(PAXOS_KV_PLANT_SNAPSHOT_WITHOUT_SESSIONS, "paxos-kv-jepsen-sessions",
                             "paxos_kv_plant_snapshot_without_sessions",
                             {fault::kill_leader, fault::kill_any}, 4);
}
