// tests/jepsen/proxy.hpp: a TCP fault proxy for the Jepsen-style tests of
// paxos_kv (tracker issue 14). It listens on 127.0.0.1:listen_port and
// forwards every connection to 127.0.0.1:target_port, one thread, poll(2);
// faults change at run time. The executable fault_proxy.cpp puts a line
// protocol on stdin in front of it; a test can also drive the class itself.
//
// Faults (one at a time; each command replaces the previous fault):
//   pass             forward both ways at once
//   partition        hold everything: read nothing from either side and write
//                    nothing queued; connections stay open and new ones are
//                    accepted but not dialled on. After `pass`, what the
//                    kernel and the proxy held flows on, as after an iptables
//                    DROP shorter than TCP's retransmission give-up: a
//                    partition is a stall, never a cut stream. (Use `close`
//                    for connections that are lost.)
//   oneway up|down   hold one direction only: up is client to target, down
//                    is target to client
//   delay MS [J]     forward each chunk no sooner than MS ms after it was
//                    read, plus a uniform jitter in [0, J] ms; order within a
//                    connection is kept (a chunk never overtakes the one
//                    before it), so jitter only stretches gaps
//   close            close every current connection now (both ends), keeping
//                    the fault; the whole-connection loss of a crashed link
//
// Bounds: each direction of a connection queues at most queue_bytes_max
// bytes; beyond that the proxy stops reading that side (TCP backpressure,
// never loss). At most connections_max connections; more wait in the
// listen backlog. Only loopback addresses are accepted, for both ends and
// for every accepted peer, so a test can never send traffic off the machine.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace paxos_jepsen {

// "PORT" or "A.B.C.D:PORT" with A.B.C.D in 127.0.0.0/8; false otherwise.
inline bool parse_loopback(std::string_view text, sockaddr_in& out) {
    std::string host = "127.0.0.1";
    std::string_view port = text;
    if (const std::size_t colon = text.rfind(':'); colon != std::string_view::npos) {
        host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
    }
    if (port.empty() || port.size() > 5) return false;
    std::uint32_t p = 0;
    for (const char c : port) {
        if (c < '0' || c > '9') return false;
        p = p * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (p > 65535) return false;
    out = sockaddr_in{};
    out.sin_family = AF_INET;
    out.sin_port = htons(static_cast<std::uint16_t>(p));
    if (::inet_pton(AF_INET, host.c_str(), &out.sin_addr) != 1) return false;
    return (ntohl(out.sin_addr.s_addr) >> 24) == 127;
}

struct proxy_options {
    sockaddr_in listen{};  // port 0: the kernel chooses (see port())
    sockaddr_in target{};
    std::size_t queue_bytes_max = 1 << 20;  // per direction of a connection
    std::size_t connections_max = 64;
    std::uint64_t seed = 1;  // the jitter's generator
};

struct proxy_stats {
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;  // peers that were not loopback
    std::uint64_t dial_failures = 0;
    std::uint64_t closed = 0;
    std::uint64_t bytes_up = 0;  // written to the target
    std::uint64_t bytes_down = 0;
};

class fault_proxy {
public:
    using clock = std::chrono::steady_clock;

    explicit fault_proxy(const proxy_options& o) : options_(o), rng_(o.seed) {}
    ~fault_proxy() {
        for (link& l : links_) close_link(l);
        if (listen_fd_ >= 0) ::close(listen_fd_);
    }
    fault_proxy(const fault_proxy&) = delete;
    fault_proxy& operator=(const fault_proxy&) = delete;

    // Binds and listens; on failure, `error` names the call and errno.
    bool start(std::string& error) {
        const bool loopback = (ntohl(options_.listen.sin_addr.s_addr) >> 24) == 127 &&
                              (ntohl(options_.target.sin_addr.s_addr) >> 24) == 127;
        if (!loopback) {
            error = "only 127.0.0.0/8 addresses are accepted";
            return false;
        }
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        const int one = 1;
        if (listen_fd_ < 0 ||
            ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&options_.listen),
                   sizeof options_.listen) != 0 ||
            ::listen(listen_fd_, 128) != 0) {
            error = std::string("listen: ") + std::strerror(errno);
            return false;
        }
        sockaddr_in bound{};
        socklen_t size = sizeof bound;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &size);
        port_ = ntohs(bound.sin_port);
        return true;
    }

    std::uint16_t port() const { return port_; }
    const proxy_stats& stats() const { return stats_; }
    std::size_t connections() const { return links_.size(); }

    // One control command (see the header comment); returns the reply line
    // ("ok ..." or "error ..."), without a newline.
    std::string control(std::string_view line) {
        std::vector<std::string_view> w;
        for (std::size_t i = 0; i < line.size() && w.size() < 4;) {
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
            const std::size_t start = i;
            while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
            if (i > start) w.push_back(line.substr(start, i - start));
        }
        if (w.empty()) return "error empty command";
        const std::string_view cmd = w[0];
        if (cmd == "pass" && w.size() == 1) return set({}, "ok pass");
        if (cmd == "partition" && w.size() == 1) return set({true, true, 0, 0}, "ok partition");
        if (cmd == "oneway" && w.size() == 2 && (w[1] == "up" || w[1] == "down")) {
            return set({w[1] == "up", w[1] == "down", 0, 0}, "ok oneway " + std::string(w[1]));
        }
        std::uint32_t ms = 0;
        std::uint32_t jitter = 0;
        if (cmd == "delay" && (w.size() == 2 || w.size() == 3) && number(w[1], ms) &&
            (w.size() == 2 || number(w[2], jitter))) {
            return set({false, false, ms, jitter},
                       "ok delay " + std::to_string(ms) + " " + std::to_string(jitter));
        }
        if (cmd == "close" && w.size() == 1) {
            const std::size_t n = links_.size();
            for (link& l : links_) close_link(l);
            links_.clear();
            return "ok close " + std::to_string(n);
        }
        if (cmd == "status" && w.size() == 1) return status();
        return "error unknown command: " + std::string(line.substr(0, 80));
    }

    // One round: waits at most timeout_ms (less when a delayed chunk falls
    // due), accepts, dials, reads and writes. `extra_fd` (-1 for none) is
    // polled for input too; returns whether it is readable.
    bool poll_once(int timeout_ms, int extra_fd = -1) {
        std::vector<pollfd> fds;
        fds.push_back({extra_fd, POLLIN, 0});
        fds.push_back({links_.size() < options_.connections_max ? listen_fd_ : -1, POLLIN, 0});
        const clock::time_point now = clock::now();
        for (const link& l : links_) {
            // An end that has said all and been told all is left out: poll
            // would report its hang-up every round.
            const bool client_done = l.up.source_eof && l.down.shut;
            const bool upstream_done = l.down.source_eof && l.up.shut;
            fds.push_back(
                {client_done ? -1 : l.client, events(l, l.up, l.down, now, timeout_ms, false), 0});
            fds.push_back({upstream_done ? -1 : l.upstream,
                           events(l, l.down, l.up, now, timeout_ms, true), 0});
        }
        const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
        if (ready < 0) return false;
        for (std::size_t i = 0; i < links_.size(); ++i) {
            link& l = links_[i];
            service(l, fds[2 + 2 * i].revents, fds[3 + 2 * i].revents);
        }
        std::erase_if(links_, [](const link& l) { return l.client < 0; });
        if ((fds[1].revents & POLLIN) != 0) accept_one();
        return extra_fd >= 0 && (fds[0].revents & (POLLIN | POLLHUP)) != 0;
    }

private:
    struct fault_state {
        bool hold_up = false;
        bool hold_down = false;
        std::uint32_t delay_ms = 0;
        std::uint32_t jitter_ms = 0;
    };
    struct chunk {
        clock::time_point release;
        std::string bytes;
        std::size_t sent = 0;
    };
    struct direction {
        std::deque<chunk> queue;
        std::size_t queued_bytes = 0;
        bool source_eof = false;
        bool shut = false;  // the destination's write side is shut down
    };
    struct link {
        int client = -1;
        int upstream = -1;  // -1 until dialled
        bool connecting = false;
        direction up;    // client -> target
        direction down;  // target -> client
    };

    static bool number(std::string_view s, std::uint32_t& out) {
        if (s.empty() || s.size() > 6) return false;  // at most 999,999 ms
        out = 0;
        for (const char c : s) {
            if (c < '0' || c > '9') return false;
            out = out * 10 + static_cast<std::uint32_t>(c - '0');
        }
        return true;
    }

    std::string set(fault_state f, std::string reply) {
        fault_ = f;
        if (!(f.hold_up && f.hold_down)) {
            for (link& l : links_) {
                if (l.upstream < 0) dial(l);
            }
            std::erase_if(links_, [](const link& l) { return l.client < 0; });
        }
        return reply;
    }

    std::string status() const {
        const char* mode = fault_.hold_up && fault_.hold_down       ? "partition"
                           : fault_.hold_up                         ? "oneway-up"
                           : fault_.hold_down                       ? "oneway-down"
                           : fault_.delay_ms + fault_.jitter_ms > 0 ? "delay"
                                                                    : "pass";
        return "ok mode=" + std::string(mode) + " connections=" + std::to_string(links_.size()) +
               " accepted=" + std::to_string(stats_.accepted) +
               " closed=" + std::to_string(stats_.closed) +
               " bytes_up=" + std::to_string(stats_.bytes_up) +
               " bytes_down=" + std::to_string(stats_.bytes_down);
    }

    bool held(const direction& d, const link& l) const {
        return &d == &l.up ? fault_.hold_up : fault_.hold_down;
    }

    // Poll events for one end: read into `in` (what this end sends), write
    // from `out` (what this end receives). Shrinks timeout_ms to the next
    // release of a delayed chunk.
    short events(const link& l, const direction& in, const direction& out, clock::time_point now,
                 int& timeout_ms, bool upstream_end) const {
        if (upstream_end && (l.upstream < 0)) return 0;
        if (upstream_end && l.connecting) return POLLOUT;
        short e = 0;
        if (!held(in, l) && !in.source_eof && in.queued_bytes < options_.queue_bytes_max) {
            e |= POLLIN;
        }
        if (!held(out, l) && !out.queue.empty()) {
            const clock::time_point due = out.queue.front().release;
            if (due <= now) {
                e |= POLLOUT;
            } else {
                const auto wait = std::chrono::ceil<std::chrono::milliseconds>(due - now).count();
                if (timeout_ms < 0 || wait < timeout_ms) timeout_ms = static_cast<int>(wait);
            }
        }
        return e;
    }

    void accept_one() {
        sockaddr_in peer{};
        socklen_t size = sizeof peer;
        const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &size,
                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        if (peer.sin_family != AF_INET || (ntohl(peer.sin_addr.s_addr) >> 24) != 127) {
            ++stats_.refused;
            ::close(fd);
            return;
        }
        ++stats_.accepted;
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        links_.emplace_back();
        links_.back().client = fd;
        if (!(fault_.hold_up && fault_.hold_down)) dial(links_.back());
        if (links_.back().client < 0) links_.pop_back();
    }

    void dial(link& l) {
        l.upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l.upstream < 0) return fail_dial(l);
        const int one = 1;
        ::setsockopt(l.upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const int r = ::connect(l.upstream, reinterpret_cast<const sockaddr*>(&options_.target),
                                sizeof options_.target);
        if (r == 0) return;
        if (errno != EINPROGRESS) return fail_dial(l);
        l.connecting = true;
    }

    void fail_dial(link& l) {
        ++stats_.dial_failures;
        close_link(l);
    }

    void close_link(link& l) {
        if (l.client >= 0) ::close(l.client);
        if (l.upstream >= 0) ::close(l.upstream);
        if (l.client >= 0) ++stats_.closed;
        l.client = -1;
        l.upstream = -1;
    }

    void service(link& l, short client_events, short upstream_events) {
        if (l.connecting && upstream_events != 0) {
            int error = 0;
            socklen_t size = sizeof error;
            ::getsockopt(l.upstream, SOL_SOCKET, SO_ERROR, &error, &size);
            if (error != 0) return fail_dial(l);
            l.connecting = false;
            upstream_events = 0;
        }
        const clock::time_point now = clock::now();
        if (!move(l, client_events, l.client, l.up, l.down, now)) return close_link(l);
        if (l.upstream >= 0 && !l.connecting &&
            !move(l, upstream_events, l.upstream, l.down, l.up, now)) {
            return close_link(l);
        }
        // Half-closes pass through once what was queued before them is out.
        finish(l.up, l.upstream, l.connecting);
        finish(l.down, l.client, false);
        if (l.up.shut && l.down.shut) close_link(l);
    }

    static void finish(direction& d, int to, bool connecting) {
        if (d.source_eof && d.queue.empty() && !d.shut && to >= 0 && !connecting) {
            ::shutdown(to, SHUT_WR);
            d.shut = true;
        }
    }

    // Reads what `fd` sent into `in`, writes due chunks of `out` to it.
    // False when the connection is broken.
    bool move(const link& l, short ev, int fd, direction& in, direction& out,
              clock::time_point now) {
        if ((ev & POLLERR) != 0) return false;
        if ((ev & (POLLIN | POLLHUP)) != 0 && !held(in, l) && !in.source_eof) {
            char buf[64 * 1024];
            const ::ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
            if (n == 0) in.source_eof = true;
            if (n > 0) {
                const std::uint32_t extra =
                    fault_.jitter_ms == 0
                        ? 0
                        : static_cast<std::uint32_t>(rng_() % (fault_.jitter_ms + 1ull));
                const auto due = now + std::chrono::milliseconds(fault_.delay_ms + extra);
                in.queue.push_back({due, std::string(buf, static_cast<std::size_t>(n)), 0});
                in.queued_bytes += static_cast<std::size_t>(n);
            }
        } else if ((ev & POLLHUP) != 0) {
            return false;  // reset, or hung up while held: the peer is gone
        }
        if ((ev & POLLOUT) != 0) {
            // Only the head may go, so a chunk never overtakes an earlier one.
            for (int i = 0; i < 64 && !out.queue.empty() && out.queue.front().release <= now; ++i) {
                chunk& c = out.queue.front();
                const ::ssize_t n =
                    ::send(fd, c.bytes.data() + c.sent, c.bytes.size() - c.sent, MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
                if (n < 0) return false;
                c.sent += static_cast<std::size_t>(n);
                out.queued_bytes -= static_cast<std::size_t>(n);
                (&out == &l.up ? stats_.bytes_up : stats_.bytes_down) +=
                    static_cast<std::uint64_t>(n);
                if (c.sent < c.bytes.size()) break;
                out.queue.pop_front();
            }
        }
        return true;
    }

    proxy_options options_;
    std::mt19937_64 rng_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    fault_state fault_;
    std::deque<link> links_;
    proxy_stats stats_;
};

}  // namespace paxos_jepsen
