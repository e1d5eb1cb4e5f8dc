// tests/node/node_bench.cpp: the node driver's figures on loopback with
// fsync: three processes of examples/counter, each with its POSIX log in
// DIR, and closed-loop clients (1, then 64 outstanding commands: one thread
// per client, one command at a time each). Beside them, the raw fdatasync
// rate of a 64-byte append in DIR, measured in the same run.
//
//   paxos_node_bench [--dir DIR] [--seconds S]   (default: a new dir under /tmp, removed after)
//
// Prints one line per row of the README's table.
#include <paxos/node/client.hpp>
#include <paxos/node/process.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

struct command {
    std::uint64_t client = 0, seq = 0;
    std::int64_t amount = 0;
    std::uint64_t is_registration = 0;
};

using clock_type = std::chrono::steady_clock;

int listen_any(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const auto any = paxos::net::peer_address::loopback(0);
    if (fd < 0 || ::bind(fd, any.socket_address(), any.size()) != 0 || ::listen(fd, 128) != 0) {
        std::perror("listen");
        std::exit(1);
    }
    sockaddr_in local{};
    socklen_t size = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size);
    port = ntohs(local.sin_port);
    return fd;
}

double raw_fdatasync_per_second(const std::string& dir, double seconds) {
    const std::string path = dir + "/raw-sync.bin";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return 0;
    std::array<char, 64> bytes{};
    std::uint64_t syncs = 0;
    const auto start = clock_type::now();
    const auto until = start + std::chrono::duration<double>(seconds);
    while (clock_type::now() < until) {
        if (::write(fd, bytes.data(), bytes.size()) != 64 || ::fdatasync(fd) != 0) break;
        ++syncs;
    }
    const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    ::close(fd);
    ::unlink(path.c_str());
    return static_cast<double>(syncs) / elapsed;
}

struct result_row {
    std::size_t outstanding = 0;
    double commits_per_second = 0;
    double p50_ms = 0, p99_ms = 0;
    std::size_t commits = 0, failures = 0;
};

result_row run_clients(const std::vector<paxos::net::peer_address>& nodes, std::size_t outstanding,
                       double seconds) {
    std::vector<std::vector<double>> latencies(outstanding);
    std::atomic<std::size_t> failures{0};
    std::atomic<bool> go{false};
    std::atomic<std::size_t> ready{0};
    std::vector<std::thread> threads;
    clock_type::time_point until{};
    for (std::size_t t = 0; t < outstanding; ++t) {
        threads.emplace_back([&, t] {
            paxos::node::client_options o;
            o.nodes = nodes;
            o.seed = 1000 + t;
            paxos::node::client<command> c(o);
            c.register_client(7000 + t + outstanding * 1000, [](paxos::sm::request_id id) {
                return command{id.client.value, 0, 0, 1};
            });
            ++ready;
            while (!go.load()) std::this_thread::yield();
            auto& mine = latencies[t];
            mine.reserve(100000);
            while (clock_type::now() < until) {
                const auto start = clock_type::now();
                const auto r = c.call([](paxos::sm::request_id id) {
                    return command{id.client.value, id.seq, 1, 0};
                });
                if (!r.answered()) {
                    ++failures;
                    continue;
                }
                mine.push_back(
                    std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
            }
        });
    }
    while (ready.load() < outstanding) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto start = clock_type::now();
    until = start + std::chrono::duration_cast<clock_type::duration>(
                        std::chrono::duration<double>(seconds));
    go.store(true);
    for (auto& th : threads) th.join();
    const double elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
    std::vector<double> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    result_row row;
    row.outstanding = outstanding;
    row.commits = all.size();
    row.failures = failures.load();
    row.commits_per_second = static_cast<double>(all.size()) / elapsed;
    if (!all.empty()) {
        row.p50_ms = all[all.size() / 2];
        row.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
    }
    return row;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    bool own_dir = false;
    double seconds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::string(argv[i]) == "--dir") dir = argv[i + 1];
        if (std::string(argv[i]) == "--seconds") seconds = std::atof(argv[i + 1]);
    }
    if (dir.empty()) {
        std::string pattern = "/tmp/paxos-node-bench-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) return 1;
        dir = pattern;
        own_dir = true;
    }
    std::filesystem::create_directories(dir);
    std::array<int, 3> peer_fd{}, client_fd{};
    std::array<std::uint16_t, 3> peer_port{}, client_port{};
    std::vector<paxos::net::peer_address> clients;
    {
        std::ofstream peers(dir + "/peers.conf");
        std::ofstream cl(dir + "/clients.conf");
        for (std::size_t i = 0; i < 3; ++i) {
            peer_fd[i] = listen_any(peer_port[i]);
            client_fd[i] = listen_any(client_port[i]);
            peers << i << " 127.0.0.1:" << peer_port[i] << "\n";
            cl << i << " 127.0.0.1:" << client_port[i] << "\n";
            clients.push_back(paxos::net::peer_address::loopback(client_port[i]));
        }
    }
    std::array<pid_t, 3> pids{};
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string id = std::to_string(i), data = dir + "/n" + id;
        const std::string pf = std::to_string(peer_fd[i]), cf = std::to_string(client_fd[i]);
        const std::string peers = dir + "/peers.conf", cl = dir + "/clients.conf";
        const std::string log = dir + "/node" + id + ".log";
        pids[i] = ::fork();
        if (pids[i] == 0) {
            ::fcntl(peer_fd[i], F_SETFD, 0);
            ::fcntl(client_fd[i], F_SETFD, 0);
            const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            ::dup2(out, 1);
            ::dup2(out, 2);
            const char* args[] = {
                PAXOS_COUNTER_BINARY, "node",      "--id",        id.c_str(), "--peers",
                peers.c_str(),        "--clients", cl.c_str(),    "--dir",    data.c_str(),
                "--peer-fd",          pf.c_str(),  "--client-fd", cf.c_str(), nullptr};
            ::execv(args[0], const_cast<char* const*>(args));
            ::_exit(127);
        }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double raw_before = raw_fdatasync_per_second(dir, 2);
    std::vector<result_row> rows;
    for (const std::size_t outstanding : {std::size_t{1}, std::size_t{64}})
        rows.push_back(run_clients(clients, outstanding, seconds));
    const double raw_after = raw_fdatasync_per_second(dir, 2);
    for (const pid_t p : pids) ::kill(p, SIGTERM);
    for (const pid_t p : pids) ::waitpid(p, nullptr, 0);

    std::printf("raw fdatasync (64-byte append) in %s: %.0f/s before, %.0f/s after\n", dir.c_str(),
                raw_before, raw_after);
    std::printf("outstanding  commits/s  p50 ms  p99 ms  commits  failed  commits per raw sync\n");
    const double raw = (raw_before + raw_after) / 2;
    for (const auto& r : rows) {
        std::printf("%11zu  %9.0f  %6.2f  %6.2f  %7zu  %6zu  %.2f\n", r.outstanding,
                    r.commits_per_second, r.p50_ms, r.p99_ms, r.commits, r.failures,
                    raw > 0 ? r.commits_per_second / raw : 0.0);
    }
    for (std::size_t i = 0; i < 3; ++i) {
        std::ifstream in(dir + "/node" + std::to_string(i) + ".log");
        std::string line;
        while (std::getline(in, line)) std::printf("  node log: %s\n", line.c_str());
    }
    if (own_dir) std::filesystem::remove_all(dir);
}
