// tests/kv/kv_cluster.hpp: real paxos_kv processes for the tests of labels
// kv and jepsen. The test binds every listening socket on 127.0.0.1:0 and
// keeps it for the whole test, so a replica restarted after SIGKILL comes
// back on the same ports; each child gets only its own two sockets (as fds
// 3 and 4). Every process is stopped by its PID: SIGTERM, then SIGKILL after
// a bounded wait. Also a small blocking RESP client with timeouts, whose
// every call ends in a reply, an error reply, or "unknown" (timeout or
// connection lost: the command may or may not have run).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace kv_test {

// a + b, built in steps: g++ 12 at -O3 reports `"lit" + std::to_string(i)`
// as an overlapping memcpy (a false -Wrestrict).
inline std::string join(std::string_view a, std::string_view b, std::string_view c = {}) {
    std::string s(a);
    s += b;
    s += c;
    return s;
}

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

inline int listen_loopback(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    const int one = 1;
    (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 128) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
    // Above the descriptors a child gets (0 to 4), so dup2 never lands on one.
    const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 100);
    REQUIRE(high >= 0);
    ::close(fd);
    return high;
}

// Runs a program to its end (killed by its PID after `limit`), with its
// stdout and stderr. status: the wait status, or -1 if it had to be killed.
struct program_run {
    int status = -1;
    std::string output;
    bool ok() const { return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

inline program_run run_program(const std::vector<std::string>& args,
                               std::chrono::milliseconds limit = 20s) {
    program_run out;
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        out.output = "posix_spawn failed";
        return out;
    }
    const auto deadline = clock_type::now() + limit;
    bool eof = false;
    while (!eof && clock_type::now() < deadline) {
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, 50) == 1) {
            char buf[4096];
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n <= 0) eof = true;
            if (n > 0) out.output.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(fds[0]);
    int status = 0;
    if (!eof) ::kill(pid, SIGKILL);
    (void)::waitpid(pid, &status, 0);
    if (eof) out.status = status;
    return out;
}

inline std::string find_program(const std::string& name) {
    for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"}) {
        const std::string p = std::string(dir) + name;
        if (::access(p.c_str(), X_OK) == 0) return p;
    }
    return {};
}

// ---- a RESP client ---------------------------------------------------------------

struct reply {
    enum kind_type { value, null, error, unknown } kind = unknown;
    std::string text;  // the value, the integer as text, or the error
    bool is(std::string_view s) const { return kind == value && text == s; }
};

class resp_client {
public:
    explicit resp_client(std::uint16_t port, std::chrono::milliseconds timeout = 2000ms)
        : port_(port), timeout_(timeout) {}
    ~resp_client() { disconnect(); }
    resp_client(const resp_client&) = delete;
    resp_client& operator=(const resp_client&) = delete;

    void disconnect() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        in_.clear();
    }

    // One command; never throws. unknown: timeout or connection lost (the
    // connection is dropped, so the next call starts afresh).
    reply call(const std::vector<std::string>& args) {
        if (fd_ < 0 && !connect()) return {reply::unknown, "connect failed"};
        std::string req = "*";
        req += std::to_string(args.size());
        req += "\r\n";
        for (const std::string& a : args) {
            req += "$";
            req += std::to_string(a.size());
            req += "\r\n";
            req += a;
            req += "\r\n";
        }
        const auto deadline = clock_type::now() + timeout_;
        if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
            disconnect();
            return {reply::unknown, "send failed"};
        }
        reply r;
        if (!read_reply(r, deadline)) {
            disconnect();
            return {reply::unknown, "timeout or connection lost"};
        }
        return r;
    }

private:
    bool connect() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd_ < 0) return false;
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port_);
        const int one = 1;
        (void)::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 &&
            errno != EINPROGRESS) {
            disconnect();
            return false;
        }
        pollfd p{fd_, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (::poll(&p, 1, static_cast<int>(timeout_.count())) != 1 ||
            ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            disconnect();
            return false;
        }
        return true;
    }

    bool line(std::string& out, clock_type::time_point deadline) {
        for (int round = 0; round < 100000; ++round) {
            const std::size_t nl = in_.find("\r\n");
            if (nl != std::string::npos) {
                out = in_.substr(0, nl);
                in_.erase(0, nl + 2);
                return true;
            }
            if (!fill(deadline)) return false;
        }
        return false;
    }
    bool fill(clock_type::time_point deadline) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) != 1) return false;
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return false;
        in_.append(buf, static_cast<std::size_t>(n));
        return true;
    }
    bool read_reply(reply& r, clock_type::time_point deadline) {
        std::string head;
        if (!line(head, deadline) || head.empty()) return false;
        const std::string body = head.substr(1);
        switch (head[0]) {
            case '+':
            case ':': r = {reply::value, body}; return true;
            case '-': r = {reply::error, body}; return true;
            case '*': r = {reply::value, head}; return body == "0";
            case '$': {
                if (body == "-1") {
                    r = {reply::null, {}};
                    return true;
                }
                const std::size_t n = std::stoul(body);
                for (int round = 0; round < 100000 && in_.size() < n + 2; ++round)
                    if (!fill(deadline)) return false;
                if (in_.size() < n + 2) return false;
                r = {reply::value, in_.substr(0, n)};
                in_.erase(0, n + 2);
                return true;
            }
        }
        return false;
    }

    std::uint16_t port_;
    std::chrono::milliseconds timeout_;
    int fd_ = -1;
    std::string in_;
};

// ---- the cluster -------------------------------------------------------------------

struct cluster_options {
    std::size_t nodes = 3;
    std::string binary = PAXOS_KV_BINARY;
    std::uint64_t snapshot_every = 1000;
    std::uint32_t tick_ms = 10;  // elections after 100-200 ms: a loaded 2-core CI box stalls for 50
    // peer_address(i, j): the port node i dials to reach node j (a proxy's,
    // in the jepsen test); 0: node j's own peer port.
    std::vector<std::vector<std::uint16_t>> dial_ports{};
};

class kv_cluster {
public:
    explicit kv_cluster(const std::string& name, cluster_options o = {}) : o_(std::move(o)) {
        dir_ = std::filesystem::temp_directory_path() / join(name, "-", std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        peer_fd_.resize(o_.nodes);
        client_fd_.resize(o_.nodes);
        peer_port_.resize(o_.nodes);
        client_port_.resize(o_.nodes);
        pid_.assign(o_.nodes, -1);
        for (std::size_t i = 0; i < o_.nodes; ++i) {
            peer_fd_[i] = listen_loopback(peer_port_[i]);
            client_fd_[i] = listen_loopback(client_port_[i]);
        }
        write_conf(dir_ / "clients.conf", client_port_);
    }
    ~kv_cluster() {
        stop_all();
        for (std::size_t i = 0; i < o_.nodes; ++i) {
            ::close(peer_fd_[i]);
            ::close(client_fd_[i]);
        }
        std::error_code ec;
        if (std::getenv("PAXOS_KV_KEEP") == nullptr) std::filesystem::remove_all(dir_, ec);
    }
    kv_cluster(const kv_cluster&) = delete;
    kv_cluster& operator=(const kv_cluster&) = delete;

    std::size_t size() const { return o_.nodes; }
    std::uint16_t client_port(std::size_t i) const { return client_port_[i]; }
    std::uint16_t peer_port(std::size_t i) const { return peer_port_[i]; }
    const std::filesystem::path& dir() const { return dir_; }
    bool running(std::size_t i) const { return pid_[i] > 0; }
    pid_t pid(std::size_t i) const { return pid_[i]; }
    void set_dial_ports(std::vector<std::vector<std::uint16_t>> p) { o_.dial_ports = std::move(p); }

    void start(std::size_t i) {
        REQUIRE(pid_[i] < 0);
        std::vector<std::uint16_t> dial = peer_port_;
        if (!o_.dial_ports.empty())
            for (std::size_t j = 0; j < o_.nodes; ++j)
                if (o_.dial_ports[i][j] != 0) dial[j] = o_.dial_ports[i][j];
        const auto peers = dir_ / join("peers-", std::to_string(i), ".conf");
        write_conf(peers, dial);
        const std::string id = std::to_string(i);
        const std::string data = (dir_ / id).string();
        const std::string log = (dir_ / join(id, ".log")).string();
        const std::string tick = std::to_string(o_.tick_ms);
        const std::string snap = std::to_string(o_.snapshot_every);
        const std::string clients = (dir_ / "clients.conf").string();
        const std::string peers_s = peers.string();
        std::vector<const char*> argv{o_.binary.c_str(),
                                      "--id",
                                      id.c_str(),
                                      "--peers",
                                      peers_s.c_str(),
                                      "--clients",
                                      clients.c_str(),
                                      "--dir",
                                      data.c_str(),
                                      "--tick-ms",
                                      tick.c_str(),
                                      "--snapshot-every",
                                      snap.c_str(),
                                      "--peer-fd",
                                      "3",
                                      "--client-fd",
                                      "4",
                                      nullptr};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        posix_spawn_file_actions_adddup2(&fa, peer_fd_[i], 3);
        posix_spawn_file_actions_adddup2(&fa, client_fd_[i], 4);
        pid_t pid = -1;
        const int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr,
                                     const_cast<char* const*>(argv.data()), environ);
        posix_spawn_file_actions_destroy(&fa);
        REQUIRE(rc == 0);
        pid_[i] = pid;
    }
    void start_all() {
        for (std::size_t i = 0; i < o_.nodes; ++i) start(i);
    }

    // SIGKILL (or any signal that ends it) and reap.
    void kill(std::size_t i, int sig = SIGKILL) {
        if (pid_[i] < 0) return;
        ::kill(pid_[i], sig);
        if (sig == SIGSTOP || sig == SIGCONT) return;
        int status = 0;
        (void)::waitpid(pid_[i], &status, 0);
        pid_[i] = -1;
    }
    void pause(std::size_t i) { ::kill(pid_[i], SIGSTOP); }
    void resume(std::size_t i) { ::kill(pid_[i], SIGCONT); }

    // SIGTERM, then SIGKILL after 5 s; true if it exited 0 on SIGTERM.
    bool stop(std::size_t i) {
        if (pid_[i] < 0) return true;
        ::kill(pid_[i], SIGCONT);
        ::kill(pid_[i], SIGTERM);
        int status = 0;
        bool clean = false;
        for (int round = 0; round < 500; ++round) {
            if (::waitpid(pid_[i], &status, WNOHANG) == pid_[i]) {
                clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
                pid_[i] = -1;
                return clean;
            }
            std::this_thread::sleep_for(10ms);
        }
        kill(i, SIGKILL);
        return false;
    }
    void stop_all() {
        for (std::size_t i = 0; i < o_.nodes; ++i) (void)stop(i);
    }

    // The leader's index: each running node is asked GET; a follower
    // answers -MOVED at once, the leader with the value. Bounded in time.
    std::optional<std::size_t> leader(std::chrono::milliseconds within = 10s) {
        const auto deadline = clock_type::now() + within;
        while (clock_type::now() < deadline) {
            for (std::size_t i = 0; i < o_.nodes; ++i) {
                if (pid_[i] < 0) continue;
                resp_client c(client_port_[i], 500ms);
                const reply r = c.call({"GET", "__probe"});
                if (r.kind == reply::value || r.kind == reply::null) return i;
            }
            std::this_thread::sleep_for(20ms);
        }
        return std::nullopt;
    }

    std::string log_of(std::size_t i) const {
        std::FILE* f = std::fopen((dir_ / join(std::to_string(i), ".log")).c_str(), "r");
        std::string out;
        if (f == nullptr) return out;
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
        std::fclose(f);
        return out;
    }

private:
    static void write_conf(const std::filesystem::path& p,
                           const std::vector<std::uint16_t>& ports) {
        std::FILE* f = std::fopen(p.c_str(), "w");
        REQUIRE(f != nullptr);
        for (std::size_t i = 0; i < ports.size(); ++i)
            std::fprintf(f, "%zu 127.0.0.1:%u\n", i, unsigned{ports[i]});
        std::fclose(f);
    }

    cluster_options o_;
    std::filesystem::path dir_;
    std::vector<int> peer_fd_, client_fd_;
    std::vector<std::uint16_t> peer_port_, client_port_;
    std::vector<pid_t> pid_;
};

}  // namespace kv_test
