// tests/net/net_support.hpp: what the transport tests share.
//
// - listen_ephemeral(): a listening socket on 127.0.0.1 at a port the kernel
//   chose, so tests never collide on ports; reserve_port(): a bound socket
//   that does not listen, so connections to it are refused and no one else
//   can take the port.
// - write_frame()/read_frame(): test frames the default framer accepts,
//   carrying a sequence number and a pattern derived from it, so a receiver
//   can tell a whole frame from a cut or mixed one.
// - mesh: n transports built from one address table and started on
//   ephemeral listeners; inbox: what a node received; pump(): polls nodes
//   until a condition holds, bounded in rounds and in time.
// - raw_peer: a plain blocking socket that says whatever a test wants.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <paxos/net/tcp_transport.hpp>

namespace net_test {

using namespace std::chrono_literals;
using paxos::node_id;
using paxos::net::tcp_transport;
using paxos::net::transport_options;

inline constexpr paxos::wire::cluster_id test_cluster{0x5eed'0013'0000'0002};

struct bound_socket {
    int fd = -1;
    std::uint16_t port = 0;
};

inline bound_socket bind_loopback(bool listening) {
    bound_socket s;
    s.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(s.fd >= 0);
    const int one = 1;
    REQUIRE(::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    const paxos::net::peer_address any = paxos::net::peer_address::loopback(0);
    REQUIRE(::bind(s.fd, any.socket_address(), any.size()) == 0);
    if (listening) REQUIRE(::listen(s.fd, 64) == 0);
    sockaddr_in local{};
    socklen_t size = sizeof local;
    REQUIRE(::getsockname(s.fd, reinterpret_cast<sockaddr*>(&local), &size) == 0);
    s.port = ntohs(local.sin_port);
    REQUIRE(s.port != 0);
    return s;
}

inline bound_socket listen_ephemeral() { return bind_loopback(true); }
inline bound_socket reserve_port() { return bind_loopback(false); }

// Fills `out` with one frame of out.size() bytes: kind 1, body = seq (u32)
// then bytes derived from seq, checksummed as the codec does.
inline void write_frame(std::span<std::byte> out, std::uint32_t seq,
                        paxos::wire::cluster_id cluster = test_cluster) {
    REQUIRE(out.size() >= paxos::wire::header_size + 4);
    paxos::wire::writer w(out);
    w.put_bytes(paxos::wire::magic);
    w.put_u8(paxos::wire::format_version);
    w.put_u8(1);
    w.put_u32(static_cast<std::uint32_t>(out.size() - paxos::wire::header_size));
    w.put_u64(cluster.value);
    w.put_u32(0);
    w.put_u32(seq);
    for (std::size_t i = w.size(); i < out.size(); ++i) {
        w.put_u8(static_cast<std::uint8_t>(seq * 31 + i));
    }
    paxos::wire::writer sum(out.subspan(paxos::wire::checksum_offset, 4));
    sum.put_u32(paxos::net::frame_checksum(out));
}

inline std::vector<std::byte> make_frame(std::uint32_t seq, std::size_t size) {
    std::vector<std::byte> f(size);
    write_frame(f, seq);
    return f;
}

// Whether `frame` is exactly one frame write_frame made; its seq if so.
inline bool read_frame(std::span<const std::byte> frame, std::uint32_t& seq) {
    if (frame.size() < paxos::wire::header_size + 4) return false;
    if (paxos::net::header_framer::peek_size(frame) != frame.size()) return false;
    paxos::wire::reader r(frame.subspan(paxos::wire::checksum_offset));
    std::uint32_t checksum = 0;
    if (!r.get_u32(checksum) || !r.get_u32(seq)) return false;
    if (checksum != paxos::net::frame_checksum(frame)) return false;
    for (std::size_t i = paxos::wire::header_size + 4; i < frame.size(); ++i) {
        if (frame[i] != static_cast<std::byte>(static_cast<std::uint8_t>(seq * 31 + i))) {
            return false;
        }
    }
    return true;
}

// Options that keep the tests fast: short backoff and hello timeout.
inline transport_options fast_options() {
    transport_options o;
    o.cluster = test_cluster;
    o.backoff_min_ms = 10;
    o.backoff_max_ms = 80;
    o.hello_timeout_ms = 2000;
    return o;
}

struct received {
    std::uint16_t from;
    std::uint32_t seq;
    std::size_t size;
};

// What one node received, in order; frames that are not whole test frames
// are counted as broken.
struct inbox {
    std::vector<received> frames;
    std::size_t broken = 0;

    auto callback() {
        return [this](node_id from, std::span<const std::byte> frame) {
            std::uint32_t seq = 0;
            if (read_frame(frame, seq)) {
                frames.push_back({from.value, seq, frame.size()});
            } else {
                ++broken;
            }
        };
    }
    std::size_t count_from(std::uint16_t id) const {
        std::size_t n = 0;
        for (const received& r : frames) n += r.from == id ? 1 : 0;
        return n;
    }
    // The seqs from `id`, in arrival order.
    std::vector<std::uint32_t> seqs_from(std::uint16_t id) const {
        std::vector<std::uint32_t> out;
        for (const received& r : frames) {
            if (r.from == id) out.push_back(r.seq);
        }
        return out;
    }
};

// n transports (ids 0..n-1) on ephemeral ports, plus table entries for
// `silent` more ids whose ports are reserved and refuse connections (ids for
// raw sockets to claim without a real node behind them).
struct mesh {
    std::vector<bound_socket> listeners;
    std::vector<bound_socket> reserved;
    paxos::net::address_table table{8};
    transport_options options;
    std::vector<std::unique_ptr<tcp_transport>> nodes;
    std::vector<inbox> inboxes;

    explicit mesh(std::size_t n, transport_options o = fast_options(), std::size_t silent = 0)
        : options(o), inboxes(n) {
        for (std::size_t i = 0; i < n + silent; ++i) {
            const bound_socket s = i < n ? listen_ephemeral() : reserve_port();
            (i < n ? listeners : reserved).push_back(s);
            REQUIRE(table.add(node_id{static_cast<std::uint16_t>(i)},
                              paxos::net::peer_address::loopback(s.port)) ==
                    paxos::net::add_status::ok);
        }
        for (std::size_t i = 0; i < n; ++i) {
            nodes.push_back(
                std::make_unique<tcp_transport>(node_id{static_cast<std::uint16_t>(i)}, table, o));
            const paxos::net::net_error e = nodes.back()->start(listeners[i].fd);
            REQUIRE(e.ok());
        }
    }
    ~mesh() {
        for (const bound_socket& s : reserved) ::close(s.fd);
    }
    mesh(const mesh&) = delete;
    mesh& operator=(const mesh&) = delete;

    tcp_transport& node(std::size_t i) { return *nodes[i]; }
    std::uint16_t port(std::size_t i) const { return listeners[i].port; }

    // One poll of every live node.
    void poll_all(int timeout_ms = 1) {
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (nodes[i] && nodes[i]->running()) {
                (void)nodes[i]->poll(timeout_ms, inboxes[i].callback());
            }
        }
    }

    // Polls until done() holds; false after `limit` or 100,000 rounds.
    template <class Done>
    bool pump(Done done, std::chrono::milliseconds limit = 3000ms) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        for (int round = 0; round < 100'000; ++round) {
            if (done()) return true;
            if (std::chrono::steady_clock::now() > deadline) return false;
            poll_all();
        }
        return done();
    }

    // Every pair has its outbound connection up and its hello accepted.
    bool all_connected() {
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            for (std::size_t j = 0; j < nodes.size(); ++j) {
                if (i != j && !nodes[i]->connected(node_id{static_cast<std::uint16_t>(j)})) {
                    return false;
                }
            }
            if (nodes[i]->stats().hellos_accepted < nodes.size() - 1) return false;
        }
        return true;
    }
};

// A blocking client socket for saying things a transport must refuse.
class raw_peer {
public:
    explicit raw_peer(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        const paxos::net::peer_address to = paxos::net::peer_address::loopback(port);
        REQUIRE(::connect(fd_, to.socket_address(), to.size()) == 0);
    }
    ~raw_peer() { close(); }
    raw_peer(const raw_peer&) = delete;
    raw_peer& operator=(const raw_peer&) = delete;

    void send(std::span<const std::byte> bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ::ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            REQUIRE(n > 0);
            done += static_cast<std::size_t>(n);
        }
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    // Whether the other side has closed (EOF or reset), without blocking.
    bool closed_by_peer() {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) return false;
        std::byte b{};
        const ::ssize_t n = ::recv(fd_, &b, 1, MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno == ECONNRESET);
    }

private:
    int fd_ = -1;
};

inline std::span<const std::byte> as_bytes(const std::vector<std::byte>& v) { return v; }

}  // namespace net_test
