// tests/jepsen/test_fault_proxy.cpp: paxos_fault_proxy as a process between
// a client socket and an echo server, all on 127.0.0.1 (label jepsen-proxy).
// Each fault is checked by what the echo server saw: bytes in pass mode, none
// while partitioned (held, then delivered on heal), one direction only, and
// delayed bytes in order and no sooner than the delay. Timing is only ever
// asserted as a lower bound; waits for things that must happen are bounded
// and generous. The proxy is started and stopped by its PID.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

int listen_loopback(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t size = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size) == 0);
    port = ntohs(a.sin_port);
    return fd;
}

// An echo server on its own thread: every byte it reads is recorded with
// the time it arrived, and sent back.
class echo_server {
public:
    struct arrival {
        clock_type::time_point at;
        std::string bytes;
    };

    echo_server() : listen_fd_(listen_loopback(port_)), thread_([this] { run(); }) {}
    ~echo_server() {
        stop_ = true;
        thread_.join();
        ::close(listen_fd_);
    }
    echo_server(const echo_server&) = delete;
    echo_server& operator=(const echo_server&) = delete;

    std::uint16_t port() const { return port_; }
    std::string received() {
        const std::lock_guard lock(mutex_);
        std::string all;
        for (const arrival& a : arrivals_) all += a.bytes;
        return all;
    }
    std::vector<arrival> arrivals() {
        const std::lock_guard lock(mutex_);
        return arrivals_;
    }
    int accepted() const { return accepted_; }

    // Waits (bounded) until the bytes received so far have `size` bytes.
    bool wait_received(std::size_t size, std::chrono::milliseconds limit = 5s) {
        const auto deadline = clock_type::now() + limit;
        while (clock_type::now() < deadline) {
            if (received().size() >= size) return true;
            std::this_thread::sleep_for(2ms);
        }
        return received().size() >= size;
    }

private:
    void run() {
        std::vector<int> conns;
        while (!stop_) {
            std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
            for (const int c : conns) fds.push_back({c, POLLIN, 0});
            if (::poll(fds.data(), fds.size(), 5) <= 0) continue;
            for (std::size_t i = 1; i < fds.size(); ++i) {
                if (fds[i].revents == 0) continue;
                char buf[4096];
                const ::ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
                if (n <= 0) {
                    ::close(fds[i].fd);
                    std::erase(conns, fds[i].fd);
                    continue;
                }
                {
                    const std::lock_guard lock(mutex_);
                    arrivals_.push_back({clock_type::now(), std::string(buf, n)});
                }
                (void)::send(fds[i].fd, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
            }
            if ((fds[0].revents & POLLIN) != 0) {
                const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
                if (c >= 0) {
                    conns.push_back(c);
                    ++accepted_;
                }
            }
        }
        for (const int c : conns) ::close(c);
    }

    std::uint16_t port_ = 0;
    int listen_fd_;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::mutex mutex_;
    std::vector<arrival> arrivals_;
    std::thread thread_;
};

// paxos_fault_proxy as a child: commands on its stdin, answers on its
// stdout, stopped by PID (quit, then SIGKILL if it has not exited in 3 s).
class proxy_process {
public:
    explicit proxy_process(std::vector<std::string> args) {
        int in[2];
        int out[2];
        REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
        REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[0], 0);
        posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        args.insert(args.begin(), PAXOS_FAULT_PROXY_PATH);
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        const int r = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(in[0]);
        ::close(out[1]);
        to_ = in[1];
        from_ = out[0];
        REQUIRE(r == 0);
    }
    ~proxy_process() {
        if (pid_ > 0) {
            if (to_ >= 0) (void)::write(to_, "quit\n", 5);
            if (wait_exit(3s) < 0) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, nullptr, 0);
            }
        }
        if (to_ >= 0) ::close(to_);
        ::close(from_);
    }
    proxy_process(const proxy_process&) = delete;
    proxy_process& operator=(const proxy_process&) = delete;

    // One line from its stdout, waiting at most `limit`; "" on timeout or EOF.
    std::string line(std::chrono::milliseconds limit = 5s) {
        const auto deadline = clock_type::now() + limit;
        for (std::size_t nl = buffer_.find('\n'); nl == std::string::npos;
             nl = buffer_.find('\n')) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
            if (left.count() <= 0) return {};
            pollfd p{from_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
            char buf[256];
            const ::ssize_t n = ::read(from_, buf, sizeof buf);
            if (n <= 0) return {};
            buffer_.append(buf, static_cast<std::size_t>(n));
        }
        const std::size_t nl = buffer_.find('\n');
        std::string l = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return l;
    }
    // Sends a command and returns its answer (the fault is on when it comes).
    std::string command(const std::string& c) {
        const std::string text = c + "\n";
        REQUIRE(::write(to_, text.data(), text.size()) == static_cast<::ssize_t>(text.size()));
        return line();
    }
    void close_stdin() {
        ::close(to_);
        to_ = -1;
    }
    // Exit status once it exits within `limit`, else -1.
    int wait_exit(std::chrono::milliseconds limit) {
        const auto deadline = clock_type::now() + limit;
        for (int round = 0; round < 100'000; ++round) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
            }
            if (clock_type::now() > deadline) break;
            std::this_thread::sleep_for(2ms);
        }
        return -1;
    }

private:
    pid_t pid_ = -1;
    int to_ = -1;
    int from_ = -1;
    std::string buffer_;
};

// A proxy in front of an echo server; port() is where clients connect.
struct proxied_echo {
    echo_server echo;
    proxy_process proxy;
    std::uint16_t port = 0;

    explicit proxied_echo(std::vector<std::string> extra = {})
        : proxy([&] {
              std::vector<std::string> args{"--listen", "127.0.0.1:0", "--target",
                                            "127.0.0.1:" + std::to_string(echo.port())};
              args.insert(args.end(), extra.begin(), extra.end());
              return args;
          }()) {
        const std::string first = proxy.line();
        REQUIRE(first.starts_with("listening 127.0.0.1:"));
        port = static_cast<std::uint16_t>(std::stoi(first.substr(first.rfind(':') + 1)));
        REQUIRE(port != 0);
    }
};

class client {
public:
    explicit client(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~client() { ::close(fd_); }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    void send(const std::string& s) {
        REQUIRE(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<::ssize_t>(s.size()));
    }
    // Reads until `size` bytes arrived or `limit` passed; what arrived.
    std::string receive(std::size_t size, std::chrono::milliseconds limit) {
        std::string got;
        const auto deadline = clock_type::now() + limit;
        while (got.size() < size) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
            if (left.count() <= 0) break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
            char buf[4096];
            const ::ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        return got;
    }
    int fd() const { return fd_; }
    // Whether the proxy closed this connection within `limit`.
    bool closed_within(std::chrono::milliseconds limit) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return false;
        char b = 0;
        const ::ssize_t n = ::recv(fd_, &b, 1, MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno == ECONNRESET);
    }

private:
    int fd_ = -1;
};

}  // namespace

TEST_CASE("fault proxy: pass forwards both ways and partition holds every byte until healed") {
    proxied_echo p;
    client c(p.port);
    c.send("hello");
    REQUIRE(p.echo.wait_received(5));
    CHECK(p.echo.received() == "hello");
    CHECK(c.receive(5, 5s) == "hello");

    CHECK(p.proxy.command("partition") == "ok partition");
    c.send("held");
    client late(p.port);  // accepted by the proxy, not dialled on while partitioned
    late.send("late");
    std::this_thread::sleep_for(300ms);
    CHECK(p.echo.received() == "hello");  // nothing crossed
    CHECK(p.echo.accepted() == 1);
    CHECK(c.receive(1, 100ms).empty());

    CHECK(p.proxy.command("pass") == "ok pass");
    REQUIRE(p.echo.wait_received(13));
    CHECK(p.echo.accepted() == 2);
    CHECK(c.receive(4, 5s) == "held");
    CHECK(late.receive(4, 5s) == "late");
    CHECK(p.proxy.command("status").starts_with("ok mode=pass connections=2"));
}

TEST_CASE("fault proxy: one-way faults hold one direction only") {
    proxied_echo p;
    client c(p.port);
    CHECK(p.proxy.command("oneway down") == "ok oneway down");
    c.send("ping");
    REQUIRE(p.echo.wait_received(4));    // up still flows
    CHECK(c.receive(1, 300ms).empty());  // the echo is held
    CHECK(p.proxy.command("oneway up") == "ok oneway up");
    CHECK(c.receive(4, 5s) == "ping");  // down flows again: the held echo arrives
    c.send("more");
    std::this_thread::sleep_for(300ms);
    CHECK(p.echo.received() == "ping");  // up is held now
    CHECK(p.proxy.command("pass") == "ok pass");
    REQUIRE(p.echo.wait_received(8));
    CHECK(c.receive(4, 5s) == "more");
}

TEST_CASE("fault proxy: delay keeps order and holds each byte at least the delay") {
    proxied_echo p;
    client c(p.port);
    constexpr int delay_ms = 150;
    CHECK(p.proxy.command("delay 150 60") == "ok delay 150 60");
    std::string sent;
    std::vector<std::pair<std::size_t, clock_type::time_point>> sends;  // end offset, time
    for (int i = 0; i < 10; ++i) {
        // Built in steps: g++ 12 at -O3 warns falsely (-Wrestrict) on "m" + to_string(i).
        std::string m = "m";
        m += std::to_string(i);
        m += ';';
        sends.emplace_back(sent.size() + m.size(), clock_type::now());
        c.send(m);
        sent += m;
        std::this_thread::sleep_for(15ms);
    }
    REQUIRE(p.echo.wait_received(sent.size()));
    CHECK(p.echo.received() == sent);  // every byte, in order
    // Each message's last byte arrived no sooner than delay_ms after it was sent.
    const std::vector<echo_server::arrival> arrivals = p.echo.arrivals();
    for (const auto& [end, at] : sends) {
        std::size_t offset = 0;
        for (const echo_server::arrival& a : arrivals) {
            offset += a.bytes.size();
            if (offset >= end) {
                CHECK(a.at - at >= std::chrono::milliseconds(delay_ms));
                break;
            }
        }
    }
    // The echo comes back delayed too, in order.
    CHECK(c.receive(sent.size(), 10s) == sent);
    CHECK(clock_type::now() - sends.front().second >= std::chrono::milliseconds(2 * delay_ms));
}

TEST_CASE("fault proxy: close loses every connection and new ones still work") {
    proxied_echo p;
    client a(p.port);
    client b(p.port);
    a.send("a");
    b.send("b");
    REQUIRE(a.receive(1, 5s) == "a");
    REQUIRE(b.receive(1, 5s) == "b");
    CHECK(p.proxy.command("close") == "ok close 2");
    CHECK(a.closed_within(5s));
    CHECK(b.closed_within(5s));
    client again(p.port);
    again.send("again");
    CHECK(again.receive(5, 5s) == "again");
}

TEST_CASE("fault proxy: loopback only, bad commands answered, gone with its stdin") {
    {
        proxy_process bad({"--listen", "0", "--target", "10.0.0.1:80"});
        CHECK(bad.wait_exit(5s) == 2);
    }
    {
        proxy_process bad({"--listen", "0.0.0.0:0", "--target", "1"});
        CHECK(bad.wait_exit(5s) == 2);
    }
    proxied_echo p;
    CHECK(p.proxy.command("frobnicate").starts_with("error unknown command"));
    CHECK(p.proxy.command("delay x").starts_with("error"));
    CHECK(p.proxy.command("oneway sideways").starts_with("error"));
    p.proxy.close_stdin();
    CHECK(p.proxy.wait_exit(5s) == 0);
}

TEST_CASE("fault proxy: a stream larger than its queues passes whole and in order") {
    // 64 KiB queues and a 2 MiB stream under delay: the proxy must stop
    // reading when a queue is full (backpressure) and lose nothing.
    proxied_echo p({"--queue-bytes", "65536"});
    client c(p.port);
    CHECK(p.proxy.command("delay 1 2") == "ok delay 1 2");
    constexpr std::size_t total = 2 << 20;
    const auto pattern = [](std::size_t i) { return static_cast<char>((i * 7 + i / 251) & 0xff); };
    REQUIRE(::fcntl(c.fd(), F_SETFL, O_NONBLOCK) == 0);
    std::size_t sent = 0;
    std::size_t received = 0;
    bool intact = true;
    const auto deadline = clock_type::now() + 20s;
    while (received < total && clock_type::now() < deadline) {
        pollfd pf{c.fd(), static_cast<short>(POLLIN | (sent < total ? POLLOUT : 0)), 0};
        if (::poll(&pf, 1, 100) <= 0) continue;
        if ((pf.revents & POLLOUT) != 0) {
            char buf[16 * 1024];
            const std::size_t n = std::min(sizeof buf, total - sent);
            for (std::size_t i = 0; i < n; ++i) buf[i] = pattern(sent + i);
            const ::ssize_t w = ::send(c.fd(), buf, n, MSG_NOSIGNAL);
            if (w > 0) sent += static_cast<std::size_t>(w);
        }
        if ((pf.revents & POLLIN) != 0) {
            char buf[16 * 1024];
            const ::ssize_t r = ::recv(c.fd(), buf, sizeof buf, 0);
            REQUIRE(r > 0);
            for (::ssize_t i = 0; i < r; ++i) {
                intact = intact && buf[i] == pattern(received + static_cast<std::size_t>(i));
            }
            received += static_cast<std::size_t>(r);
        }
    }
    CHECK(received == total);
    CHECK(intact);
}
