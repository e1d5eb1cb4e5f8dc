// tests/kv/test_redis_cli.cpp: real Redis clients against the codec. A tiny
// single-threaded server on 127.0.0.1 (poll, one std::map, no replication)
// parses with request_buffer and answers with reply_writer; redis-cli and
// redis-benchmark (Debian's redis-tools) run as child processes, each
// stopped by its PID within a bounded wait. Skipped, saying so, when the
// tools are not installed.
#include <doctest/doctest.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kv_support.hpp"

extern char** environ;

namespace {

namespace resp = paxos_kv::resp;
using namespace std::chrono_literals;

std::string find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
    for (std::size_t start = 0; start <= dirs.size();) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        const std::string candidate = dirs.substr(start, end - start) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        start = end + 1;
    }
    return {};
}

struct connection {
    int fd = -1;
    std::unique_ptr<resp::request_buffer> in = std::make_unique<resp::request_buffer>();
    std::string out;
    bool closing = false;  // after a protocol error: flush, then close
};

class test_server {
public:
    test_server() {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        REQUIRE(listen_fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listen_fd_, 64) == 0);
        socklen_t size = sizeof a;
        REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &size) == 0);
        port_ = ntohs(a.sin_port);
    }
    ~test_server() {
        for (connection& c : conns_) ::close(c.fd);
        ::close(listen_fd_);
    }
    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;

    std::uint16_t port() const { return port_; }

    struct run {
        int status = -1;  // waitpid status; -1 if it had to be killed
        std::string output;
    };

    // Runs `argv` as a child (stdout and stderr to a pipe) and serves until it
    // exits and its output ends, at most `limit`; then SIGKILL by PID.
    run run_client(std::vector<std::string> argv, std::chrono::milliseconds limit = 10s) {
        int pipe_fds[2];
        REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
        posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
        std::vector<char*> args;
        for (std::string& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        pid_t pid = -1;
        const int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(pipe_fds[1]);
        REQUIRE(spawned == 0);

        run r;
        bool exited = false;
        bool output_done = false;
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (int round = 0; round < 1'000'000 && !(exited && output_done); ++round) {
            if (std::chrono::steady_clock::now() > deadline) break;
            serve_once(pipe_fds[0], output_done, r.output);
            if (!exited && ::waitpid(pid, &r.status, WNOHANG) == pid) exited = true;
        }
        if (!exited) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            r.status = -1;
        }
        ::close(pipe_fds[0]);
        return r;
    }

    // Serves until done() holds, at most `limit`; whether it held.
    template <class Done>
    bool serve_until(Done done, std::chrono::milliseconds limit = 5s) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        bool no_output = true;
        std::string unused;
        for (int round = 0; round < 1'000'000; ++round) {
            if (done()) return true;
            if (std::chrono::steady_clock::now() > deadline) break;
            serve_once(-1, no_output, unused);
        }
        return done();
    }

private:
    void serve_once(int output_fd, bool& output_done, std::string& output) {
        std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}, {output_fd, POLLIN, 0}};
        if (output_done || output_fd < 0) fds[1].fd = -1;
        for (const connection& c : conns_) {
            fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
        }
        if (::poll(fds.data(), fds.size(), 10) <= 0) return;
        if (fds[1].revents != 0) {
            char buf[4096];
            const ::ssize_t n = ::read(output_fd, buf, sizeof buf);
            if (n > 0) output.append(buf, static_cast<std::size_t>(n));
            if (n == 0) output_done = true;
        }
        for (std::size_t i = 0; i < conns_.size(); ++i) {
            if (fds[i + 2].revents != 0 && !service(conns_[i])) conns_[i].fd = -1;
        }
        std::erase_if(conns_, [](const connection& c) { return c.fd < 0; });
        if ((fds[0].revents & POLLIN) != 0) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0) {
                conns_.emplace_back();
                conns_.back().fd = fd;
            }
        }
    }

    // Reads what arrived, answers every whole request, writes what it can.
    // False once the connection is closed.
    bool service(connection& c) {
        if (!c.closing) {
            const std::span<char> room = c.in->writable();
            const ::ssize_t n = ::recv(c.fd, room.data(), room.size(), 0);
            if (n == 0 || (n < 0 && errno != EAGAIN)) return close(c);
            if (n > 0) c.in->commit(static_cast<std::size_t>(n));
            for (int i = 0; i < 10'000; ++i) {
                const resp::parse_status s = c.in->next();
                if (s == resp::parse_status::incomplete) break;
                if (s == resp::parse_status::error) {
                    c.out += "-ERR " + std::string(c.in->error_text()) + "\r\n";
                    c.closing = true;
                    break;
                }
                answer(c.in->args(), c.out);
            }
        }
        if (!c.out.empty()) {
            const ::ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN) return close(c);
            if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
        }
        if (c.closing && c.out.empty()) return close(c);
        return true;
    }

    static bool close(connection& c) {
        ::close(c.fd);
        return false;
    }

    void answer(std::span<const std::string_view> args, std::string& to) {
        std::vector<char> bytes(2 * resp::bulk_bytes_max);
        resp::reply_writer out(bytes);
        const resp::command_info* c = resp::resolve(args, out);
        if (c != nullptr) execute(*c, args, out);
        REQUIRE(!out.overflowed());
        to.append(out.view());
    }

    void execute(const resp::command_info& c, std::span<const std::string_view> args,
                 resp::reply_writer& out) {
        switch (c.id) {
            case resp::command::ping:
                (void)(args.size() == 2 ? out.bulk(args[1]) : out.simple("PONG"));
                return;
            case resp::command::get: {
                const auto it = data_.find(std::string(args[1]));
                (void)(it == data_.end() ? out.null_bulk() : out.bulk(it->second));
                return;
            }
            case resp::command::set: {
                resp::set_args set;
                if (!resp::parse_set(args, set, out)) return;
                const auto it = data_.find(std::string(set.key));
                if (set.compare && (it == data_.end() || it->second != set.expected)) {
                    (void)out.null_bulk();
                    return;
                }
                data_[std::string(set.key)] = std::string(set.value);
                (void)out.simple("OK");
                return;
            }
            case resp::command::del: {
                std::int64_t n = 0;
                for (std::size_t i = 1; i < args.size(); ++i) {
                    n += static_cast<std::int64_t>(data_.erase(std::string(args[i])));
                }
                (void)out.integer(n);
                return;
            }
            case resp::command::incr: {
                std::string& v = data_[std::string(args[1])];
                std::int64_t n = 0;
                const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
                if (!v.empty() && (ec != std::errc{} || end != v.data() + v.size())) {
                    (void)out.error("ERR value is not an integer or out of range");
                    return;
                }
                v = std::to_string(++n);
                (void)out.integer(n);
                return;
            }
            case resp::command::config: resp::write_config(args, out); return;
            case resp::command::command: (void)out.array(0); return;
        }
    }

    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::vector<connection> conns_;
    std::map<std::string, std::string> data_;
};

bool exited_ok(const test_server::run& r) {
    return r.status >= 0 && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
}

}  // namespace

TEST_CASE("redis-cli: ping, set, get, incr, del, compare-and-set, unknown commands") {
    const std::string cli = find_program("redis-cli");
    if (cli.empty()) {
        MESSAGE("redis-cli not found on PATH: skipped (Debian: apt-get install redis-tools)");
        return;
    }
    test_server server;
    const std::string port = std::to_string(server.port());
    const auto redis = [&](std::vector<std::string> words) {
        std::vector<std::string> argv{cli, "-h", "127.0.0.1", "-p", port};
        argv.insert(argv.end(), words.begin(), words.end());
        const test_server::run r = server.run_client(argv);
        INFO("redis-cli output: " << r.output);
        CHECK(exited_ok(r));
        return r.output;
    };
    CHECK(redis({"ping"}) == "PONG\n");
    CHECK(redis({"PING", "hello"}) == "hello\n");
    CHECK(redis({"set", "a", "b"}) == "OK\n");
    CHECK(redis({"get", "a"}) == "b\n");
    CHECK(redis({"get", "missing"}) == "\n");  // a null bulk, printed without a tty
    CHECK(redis({"set", "a", "c", "IFEQ", "b"}) == "OK\n");
    CHECK(redis({"set", "a", "d", "IFEQ", "b"}) == "\n");  // not swapped: null
    CHECK(redis({"get", "a"}) == "c\n");
    CHECK(redis({"incr", "n"}) == "1\n");
    CHECK(redis({"incr", "n"}) == "2\n");
    CHECK(redis({"del", "a", "n", "zz"}) == "2\n");
    // redis-cli prints an error reply followed by an empty line.
    CHECK(redis({"set", "a", "b", "NX"}) == "ERR syntax error\n\n");
    CHECK(redis({"flushall"}) == "ERR unknown command 'flushall', with args beginning with: \n\n");
    CHECK(redis({"get"}) == "ERR wrong number of arguments for 'get' command\n\n");
}

TEST_CASE("redis-benchmark -t set,get runs against the codec, pipelined too") {
    const std::string bench = find_program("redis-benchmark");
    if (bench.empty()) {
        MESSAGE("redis-benchmark not found on PATH: skipped (Debian: apt-get install redis-tools)");
        return;
    }
    test_server server;
    const std::string port = std::to_string(server.port());
    for (const std::string pipeline : {"1", "16"}) {
        const test_server::run r =
            server.run_client({bench, "-h", "127.0.0.1", "-p", port, "-t", "set,get", "-n", "2000",
                               "-c", "4", "-P", pipeline, "-d", "128", "-q"},
                              20s);
        INFO("redis-benchmark output: " << r.output);
        CHECK(exited_ok(r));
        CHECK(r.output.find("SET: ") != std::string::npos);
        CHECK(r.output.find("GET: ") != std::string::npos);
        CHECK(r.output.find("ERR") == std::string::npos);
    }
}

TEST_CASE("over TCP: inline and multibulk pipelined, then a protocol error closes the connection") {
    test_server server;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(server.port());
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    const std::string requests = "PING\r\nset k v\r\n" + kv_test::multibulk({"GET", "k"}) +
                                 "get nope\r\n*1\r\n!oops\r\nPING\r\n";
    REQUIRE(::send(fd, requests.data(), requests.size(), MSG_NOSIGNAL) ==
            static_cast<::ssize_t>(requests.size()));
    std::string replies;
    bool closed = false;
    CHECK(server.serve_until([&] {
        char buf[1024];
        const ::ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) replies.append(buf, static_cast<std::size_t>(n));
        closed = closed || n == 0 || (n < 0 && errno == ECONNRESET);
        return closed;
    }));
    ::close(fd);
    // The requests before the bad one are answered; the one after it is not.
    CHECK(replies ==
          "+PONG\r\n+OK\r\n$1\r\nv\r\n$-1\r\n-ERR Protocol error: expected '$', got '!'\r\n");
}
