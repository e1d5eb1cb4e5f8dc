// paxos/net/tcp_transport.hpp: frames between the nodes of a cluster over
// TCP, on POSIX sockets and one epoll instance; no threads, no allocation
// after construction.
//
// What it does. send(to, frame) queues one whole frame (an encoded message,
// framing.hpp) for a peer; poll(timeout_ms, on_frame) runs epoll once,
// writes what the kernel takes, accepts and reads connections, and calls
// on_frame(from, bytes) for every complete frame that arrived. The transport
// never decodes a body: a frame is bytes whose size the Framer reads from the
// header (header_framer by default, or wire::message_codec<M>).
//
// Connections. Each node keeps one outbound connection to every peer and
// sends only on it; frames arrive on the connections the peers opened to it.
// Two one-way connections per pair avoid deciding which side's connection
// wins when both dial at once. An outbound connection is opened with a
// non-blocking connect and starts with a hello (framing.hpp) that says which
// node is speaking; the receiver refuses, counts and closes a connection
// whose hello is not intact, not of its cluster, not from a peer in its table
// or not addressed to it, or that says nothing for hello_timeout_ms. A lost or
// failed connection (refused, or not through within connect_timeout_ms) is
// retried after a capped exponential backoff (backoff.hpp): the first retry
// waits backoff_min_ms, each consecutive failure doubles the wait up to
// backoff_max_ms, and the wait starts again from the minimum only after a
// connection that stayed up for backoff_max_ms (so a peer that accepts and
// at once closes is not hammered). With a jitter seed, each wait is drawn
// from [wait/2, wait] by a deterministic generator, one stream per peer.
//
// The drop policy (the protocol tolerates loss; an unbounded queue would
// only delay the retransmission that the protocol's timers do anyway):
//   - a peer's send queue is a preallocated ring of send_queue_bytes; a
//     frame that does not fit whole is dropped (dropped_queue_full);
//   - a frame for a peer with no connection and no attempt in progress (in
//     backoff) is dropped (dropped_peer_down), and so is whatever a lost
//     connection still had queued: stale frames are not replayed on the next
//     connection. A frame cut by a lost connection is never resumed on
//     another, so a receiver sees whole frames or nothing.
//
// Bad input. A length is checked (Framer, then frame_bytes_max) as soon as a
// header has arrived, before any body byte is waited for. A stream cannot be
// resynchronised after a bad frame, so the connection is closed and the
// frame counted (frames_bad); a connection that ends inside a frame counts
// frames_truncated. Other connections are not affected.
//
// Embedding. epoll_fd() is readable whenever poll(0, ...) has work; add it to
// your own epoll set, wait at most next_timeout_ms() (the next reconnect or
// hello deadline), then call poll(0, on_frame). send() only queues: poll()
// writes at its start and end, and flush() writes without waiting.
//
// Not thread-safe: one thread drives a transport. on_frame may call send()
// and flush(), not poll() or close(); the frame's bytes are valid only during
// the call. Signals: writes use MSG_NOSIGNAL (no SIGPIPE); EINTR is retried.
// Linux only (epoll, accept4).
#pragma once

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../assert.hpp"
#include "../core/vocabulary.hpp"
#include "../wire/codec.hpp"
#include "address_table.hpp"
#include "backoff.hpp"
#include "byte_ring.hpp"
#include "framing.hpp"

namespace paxos::inline v0::net {

struct transport_options {
    wire::cluster_id cluster{};                     // sent in every hello; others are refused
    std::size_t frame_bytes_max = 64 * 1024;        // the largest frame, header included
    std::size_t send_queue_bytes = 1 << 20;         // per peer, >= frame_bytes_max
    std::size_t receive_buffer_bytes = 128 * 1024;  // per inbound connection, >= frame_bytes_max
    std::size_t inbound_connections_max = 16;       // accepted connections held at once
    std::uint32_t backoff_min_ms = 50;              // the first reconnect waits this long
    std::uint32_t backoff_max_ms = 2000;            // the cap of the doubling
    std::uint64_t jitter_seed = 0;                  // 0: no jitter
    std::uint32_t connect_timeout_ms = 2000;        // a connect not through by then has failed
    std::uint32_t hello_timeout_ms = 5000;          // an accepted connection must say hello by then
    int listen_backlog = 64;
};

// Why `o` cannot be used, or nullptr. The constructor asserts it is nullptr.
constexpr const char* check_options(const transport_options& o) noexcept {
    if (o.frame_bytes_max < hello_size) return "frame_bytes_max must be at least 24 (a hello)";
    if (o.send_queue_bytes < o.frame_bytes_max) {
        return "send_queue_bytes must hold the largest frame (>= frame_bytes_max)";
    }
    if (o.receive_buffer_bytes < o.frame_bytes_max) {
        return "receive_buffer_bytes must hold the largest frame (>= frame_bytes_max)";
    }
    if (o.inbound_connections_max < 1 || o.inbound_connections_max > 0xFFFF) {
        return "inbound_connections_max must be 1..65535";
    }
    if (o.backoff_min_ms < 1) return "backoff_min_ms must be at least 1";
    if (o.backoff_max_ms < o.backoff_min_ms) return "backoff_max_ms must be >= backoff_min_ms";
    if (o.connect_timeout_ms < 1) return "connect_timeout_ms must be at least 1";
    if (o.hello_timeout_ms < 1) return "hello_timeout_ms must be at least 1";
    if (o.listen_backlog < 1) return "listen_backlog must be at least 1";
    return nullptr;
}

// A failed system call: which one, and its errno. ok() when nothing failed.
struct [[nodiscard]] net_error {
    const char* call = nullptr;
    int error = 0;

    constexpr bool ok() const noexcept { return call == nullptr; }
};

// What send() did with a frame. Every outcome but `queued` is also counted in
// stats(), so a caller that drops the result loses nothing it could act on.
enum class send_result : std::uint8_t {
    queued,
    dropped_queue_full,  // the peer's queue has no room for the whole frame
    dropped_peer_down,   // no connection and no attempt in progress
    not_a_peer,          // not in the address table, or this node itself
    bad_frame,           // not exactly one frame the Framer accepts, or over frame_bytes_max
    not_running,         // before start() or after close()
};

constexpr const char* to_string(send_result r) noexcept {
    switch (r) {
        case send_result::queued: return "queued";
        case send_result::dropped_queue_full: return "dropped: queue full";
        case send_result::dropped_peer_down: return "dropped: peer down";
        case send_result::not_a_peer: return "not a peer";
        case send_result::bad_frame: return "bad frame";
        case send_result::not_running: return "not running";
    }
    return "unknown send result";
}

// Counters since construction. Hellos are not frames: they are counted only
// as hellos.
struct transport_stats {
    // Sending.
    std::uint64_t frames_queued = 0;       // send() took the frame
    std::uint64_t frames_sent = 0;         // written whole to a socket
    std::uint64_t bytes_sent = 0;          // frame bytes written
    std::uint64_t dropped_queue_full = 0;  // send(): no room in the peer's queue
    std::uint64_t dropped_peer_down = 0;   // send() in backoff, or discarded with a lost link
    std::uint64_t frames_refused = 0;      // send(): not_a_peer, bad_frame or not_running
    // Receiving.
    std::uint64_t frames_received = 0;   // delivered to on_frame
    std::uint64_t bytes_received = 0;    // bytes of those frames
    std::uint64_t frames_bad = 0;        // bad header or length: that connection was closed
    std::uint64_t frames_truncated = 0;  // a connection ended inside a frame
    // Outbound connections.
    std::uint64_t connect_attempts = 0;
    std::uint64_t connects = 0;          // established (the first and every later one)
    std::uint64_t reconnects = 0;        // established again to a peer reached before
    std::uint64_t connect_failures = 0;  // attempts refused, failed or timed out
    std::uint64_t connections_lost = 0;  // established connections that broke
    // Inbound connections.
    std::uint64_t accepts = 0;
    std::uint64_t inbound_refused = 0;  // accepted and closed at once: no free slot
    std::uint64_t accept_failures = 0;  // accept() or registering the socket failed
    std::uint64_t hellos_accepted = 0;
    std::uint64_t hellos_refused = 0;  // the connection was closed; see last_hello_refusal
    hello_status last_hello_refusal = hello_status::ok;
};

template <frame_sizer Framer = header_framer>
class basic_tcp_transport {
public:
    using clock = std::chrono::steady_clock;
    using framer_type = Framer;

    // Allocates every buffer; opens nothing. `self` must be in `table`; its
    // address is where start() listens.
    basic_tcp_transport(node_id self, const address_table& table,
                        const transport_options& options = {})
        : self_(self), options_(options) {
        PAXOS_ASSERT(check_options(options) == nullptr);  // check_options() says why
        const peer_address* own = table.find(self);
        PAXOS_ASSERT(own != nullptr);
        listen_address_ = *own;
        peer_index_.fill(no_index);
        peers_.reserve(table.size());
        for (const address_table::entry& e : table) {
            if (e.id == self) continue;
            PAXOS_ASSERT(e.id.value < peer_index_.size());
            peer_index_[e.id.value] = static_cast<std::uint8_t>(peers_.size());
            peers_.emplace_back(e.id, e.address, options.send_queue_bytes,
                                backoff(options.backoff_min_ms, options.backoff_max_ms,
                                        jitter_seed_for(options.jitter_seed, self, e.id)));
        }
        inbound_.reserve(options.inbound_connections_max);
        for (std::size_t i = 0; i < options.inbound_connections_max; ++i) {
            inbound_.emplace_back(options.receive_buffer_bytes);
        }
    }

    basic_tcp_transport(const basic_tcp_transport&) = delete;
    basic_tcp_transport& operator=(const basic_tcp_transport&) = delete;
    ~basic_tcp_transport() { close(); }

    // Listens on this node's address from the table (SO_REUSEADDR, so a
    // restarted node can bind again at once) and starts connecting.
    net_error start() noexcept {
        PAXOS_ASSERT(!running_);
        const int fd =
            ::socket(listen_address_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return {"socket", errno};
        const int one = 1;
        if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
            return close_failed(fd, "setsockopt(SO_REUSEADDR)");
        }
        if (::bind(fd, listen_address_.socket_address(), listen_address_.size()) != 0) {
            return close_failed(fd, "bind");
        }
        if (::listen(fd, options_.listen_backlog) != 0) return close_failed(fd, "listen");
        return start(fd);
    }

    // Starts with a socket already bound and listening (socket activation,
    // or a test that bound port 0). The transport owns it from this call on,
    // and closes it if start fails.
    net_error start(int listening_fd) noexcept {
        PAXOS_ASSERT(!running_);
        PAXOS_ASSERT(listening_fd >= 0);
        listen_fd_ = listening_fd;
        int accepting = 0;
        socklen_t length = sizeof accepting;
        if (::getsockopt(listen_fd_, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) != 0) {
            return abandon_start("getsockopt(SO_ACCEPTCONN)", errno);
        }
        if (accepting == 0) return abandon_start("listen", EINVAL);
        const int flags = ::fcntl(listen_fd_, F_GETFL);
        if (flags < 0 || ::fcntl(listen_fd_, F_SETFL, flags | O_NONBLOCK) != 0) {
            return abandon_start("fcntl(O_NONBLOCK)", errno);
        }
        sockaddr_storage local{};
        socklen_t local_size = sizeof local;
        if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&local), &local_size) != 0) {
            return abandon_start("getsockname", errno);
        }
        local_port_ = local.ss_family == AF_INET6
                          ? ntohs(reinterpret_cast<const sockaddr_in6*>(&local)->sin6_port)
                          : ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
        epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0) return abandon_start("epoll_create1", errno);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = make_tag(tag_kind::listener, 0, 0);
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
            return abandon_start("epoll_ctl", errno);
        }
        running_ = true;
        const clock::time_point now = clock::now();
        for (outbound_link& p : peers_) begin_connect(p, now);
        return {};
    }

    // Queues `frame` (exactly one whole frame) for `to`; see the drop policy
    // at the top. Never blocks, never allocates, writes nothing: poll() or
    // flush() does.
    send_result send(node_id to, std::span<const std::byte> frame) noexcept {
        if (!running_) return refuse(send_result::not_running);
        outbound_link* p = find_peer(to);
        if (p == nullptr) return refuse(send_result::not_a_peer);
        if (frame.size() < wire::header_size || frame.size() > options_.frame_bytes_max ||
            Framer::peek_size(frame) != frame.size()) {
            return refuse(send_result::bad_frame);
        }
        if (p->state != link_state::connected && p->state != link_state::connecting) {
            ++stats_.dropped_peer_down;
            return send_result::dropped_peer_down;
        }
        if (!p->queue.push(frame)) {
            ++stats_.dropped_queue_full;
            return send_result::dropped_queue_full;
        }
        ++p->queued_frames;
        ++stats_.frames_queued;
        return send_result::queued;
    }

    // Writes every queue the kernel will take now, without waiting.
    void flush() noexcept {
        if (!running_) return;
        const clock::time_point now = clock::now();
        for (outbound_link& p : peers_) write_queue(p, now);
    }

    // One loop step: flush, wait in epoll for at most timeout_ms (-1: no
    // limit) and at most until next_deadline(), handle what is ready (calling
    // on_frame(node_id from, std::span<const std::byte> frame) for each
    // complete frame), run due timers, flush again. Returns the frames
    // delivered.
    template <class OnFrame>
    std::size_t poll(int timeout_ms, OnFrame&& on_frame) {
        static_assert(std::is_invocable_v<OnFrame&, node_id, std::span<const std::byte>>,
                      "paxos::net: poll's callback must be callable as "
                      "on_frame(paxos::node_id from, std::span<const std::byte> frame)");
        PAXOS_ASSERT(running_);
        PAXOS_ASSERT(!in_callback_);  // poll() from inside on_frame
        flush();
        int ready = ::epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()),
                                 wait_ms(timeout_ms, clock::now()));
        if (ready < 0) {
            PAXOS_ASSERT(errno == EINTR);  // anything else is a bad descriptor: ours
            ready = 0;
        }
        const clock::time_point now = clock::now();
        std::size_t delivered = 0;
        for (int i = 0; i < ready; ++i) delivered += dispatch(events_[i], now, on_frame);
        run_timers(now);
        flush();
        return delivered;
    }

    // For an outside event loop (see the top): readable when poll has work.
    int epoll_fd() const noexcept { return epoll_fd_; }

    // The next reconnect, connect timeout, hello deadline or accept retry;
    // clock::time_point::max() when there is none.
    clock::time_point next_deadline() const noexcept {
        clock::time_point next = clock::time_point::max();
        for (const outbound_link& p : peers_) {
            if (p.state == link_state::backoff || p.state == link_state::connecting) {
                next = std::min(next, p.deadline);
            }
        }
        for (const inbound_link& l : inbound_) {
            if (l.fd >= 0 && !l.greeted) next = std::min(next, l.hello_deadline);
        }
        if (accept_paused_) next = std::min(next, accept_resume_at_);
        return next;
    }

    // Milliseconds from now to next_deadline(), rounded up; -1 when none:
    // what epoll_wait takes.
    int next_timeout_ms() const noexcept { return wait_ms(-1, clock::now()); }

    // Closes every socket and the epoll instance; queued frames are
    // discarded. The destructor calls it; calling it twice is fine.
    void close() noexcept {
        PAXOS_ASSERT(!in_callback_);
        for (outbound_link& p : peers_) {
            close_fd(p.fd);
            clear_link(p);
            p.state = link_state::idle;
        }
        for (inbound_link& l : inbound_) {
            close_fd(l.fd);
            reset_inbound(l);
        }
        close_fd(listen_fd_);
        close_fd(epoll_fd_);
        accept_paused_ = false;
        running_ = false;
    }

    const transport_stats& stats() const noexcept { return stats_; }
    node_id self() const noexcept { return self_; }
    bool running() const noexcept { return running_; }
    // The port start() listens on (the one the kernel chose for port 0).
    std::uint16_t local_port() const noexcept { return local_port_; }
    // Whether the outbound connection to `peer` is established.
    bool connected(node_id peer) const noexcept {
        const outbound_link* p = find_peer(peer);
        return p != nullptr && p->state == link_state::connected;
    }
    // Bytes waiting in `peer`'s send queue.
    std::size_t queued_bytes(node_id peer) const noexcept {
        const outbound_link* p = find_peer(peer);
        return p == nullptr ? 0 : p->queue.size();
    }

private:
    static constexpr std::uint8_t no_index = 0xFF;
    static constexpr std::size_t events_per_poll_max = 64;
    static constexpr std::size_t accepts_per_event_max = 16;
    static constexpr std::size_t reads_per_event_max = 8;  // then others get a turn
    static constexpr std::chrono::milliseconds accept_pause{100};

    enum class link_state : std::uint8_t { idle, connecting, connected, backoff };
    enum class tag_kind : std::uint64_t { listener = 1, outbound = 2, inbound = 3 };

    struct outbound_link {
        outbound_link(node_id i, const peer_address& a, std::size_t queue_bytes, backoff b)
            : id(i), address(a), queue(queue_bytes), retry(b) {}

        node_id id;
        peer_address address;
        byte_ring queue;                // whole frames only
        std::size_t queued_frames = 0;  // frames in `queue`, the one being written included
        std::size_t front_left = 0;     // unwritten bytes of the front frame; 0: not started
        std::array<std::byte, hello_size> hello{};
        std::size_t hello_left = 0;  // unwritten bytes of the hello, which goes first
        int fd = -1;
        std::uint32_t generation = 0;  // bumped per socket: stale epoll events are ignored
        link_state state = link_state::idle;
        bool write_armed = false;  // EPOLLOUT is in the interest set
        bool ever_connected = false;
        backoff retry;
        clock::time_point deadline{};  // backoff: the next attempt; connecting: its timeout
        clock::time_point connected_at{};
    };

    struct inbound_link {
        explicit inbound_link(std::size_t buffer_bytes)
            : buffer(std::make_unique<std::byte[]>(buffer_bytes)) {}

        std::unique_ptr<std::byte[]> buffer;
        std::size_t size = 0;  // bytes received and not yet consumed, from buffer[0]
        int fd = -1;
        std::uint32_t generation = 0;
        bool greeted = false;  // the hello was accepted; `peer` is the sender
        node_id peer = node_id::none();
        clock::time_point hello_deadline{};
    };

    // Compacts an inbound buffer past the frames delivered, also when the
    // callback throws, so no frame is delivered twice.
    struct consume_guard {
        inbound_link& link;
        std::size_t& consumed;
        bool& in_callback;
        ~consume_guard() {
            in_callback = false;
            if (consumed == 0) return;
            std::memmove(link.buffer.get(), link.buffer.get() + consumed, link.size - consumed);
            link.size -= consumed;
        }
    };

    static constexpr std::uint64_t make_tag(tag_kind kind, std::size_t index,
                                            std::uint32_t generation) noexcept {
        return (static_cast<std::uint64_t>(kind) << 56) |
               (static_cast<std::uint64_t>(index) << 32) | generation;
    }

    // One jitter stream per (node, peer), none without a seed.
    static constexpr std::uint64_t jitter_seed_for(std::uint64_t seed, node_id self,
                                                   node_id peer) noexcept {
        if (seed == 0) return 0;
        return (seed ^ (0x9E3779B97F4A7C15ull * (self.value + 1u)) ^
                (0xC2B2AE3D27D4EB4Full * (peer.value + 1u))) |
               1u;
    }

    static void close_fd(int& fd) noexcept {
        // Not retried on EINTR: on Linux the descriptor is released anyway.
        if (fd >= 0) (void)::close(fd);
        fd = -1;
    }

    net_error close_failed(int fd, const char* call) noexcept {
        const int error = errno;
        (void)::close(fd);
        return {call, error};
    }

    net_error abandon_start(const char* call, int error) noexcept {
        close();
        return {call, error};
    }

    send_result refuse(send_result r) noexcept {
        ++stats_.frames_refused;
        return r;
    }

    outbound_link* find_peer(node_id id) noexcept {
        if (id.value >= peer_index_.size() || peer_index_[id.value] == no_index) return nullptr;
        return &peers_[peer_index_[id.value]];
    }
    const outbound_link* find_peer(node_id id) const noexcept {
        if (id.value >= peer_index_.size() || peer_index_[id.value] == no_index) return nullptr;
        return &peers_[peer_index_[id.value]];
    }

    int wait_ms(int timeout_ms, clock::time_point now) const noexcept {
        const clock::time_point deadline = next_deadline();
        if (deadline == clock::time_point::max()) return timeout_ms;
        const auto until = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
        const int until_ms = static_cast<int>(
            std::clamp<decltype(until)>(until, 0, std::numeric_limits<int>::max()));
        return timeout_ms < 0 ? until_ms : std::min(timeout_ms, until_ms);
    }

    template <class OnFrame>
    std::size_t dispatch(const epoll_event& ev, clock::time_point now, OnFrame& on_frame) {
        const auto kind = static_cast<tag_kind>(ev.data.u64 >> 56);
        const auto index = static_cast<std::size_t>((ev.data.u64 >> 32) & 0xFFFFFF);
        const auto generation = static_cast<std::uint32_t>(ev.data.u64);
        switch (kind) {
            case tag_kind::listener: accept_all(now); return 0;
            case tag_kind::outbound:
                PAXOS_ASSERT(index < peers_.size());
                if (peers_[index].fd >= 0 && peers_[index].generation == generation) {
                    outbound_event(peers_[index], ev.events, now);
                }
                return 0;
            case tag_kind::inbound:
                PAXOS_ASSERT(index < inbound_.size());
                if (inbound_[index].fd >= 0 && inbound_[index].generation == generation) {
                    return read_inbound(inbound_[index], on_frame);
                }
                return 0;
        }
        PAXOS_ASSERT(false);  // only the tags above are registered
        return 0;
    }

    void run_timers(clock::time_point now) noexcept {
        for (outbound_link& p : peers_) {
            if (p.deadline > now) continue;
            if (p.state == link_state::backoff) {
                begin_connect(p, now);
            } else if (p.state == link_state::connecting) {
                connect_failed(p, now);  // connect_timeout_ms passed
            }
        }
        for (inbound_link& l : inbound_) {
            if (l.fd >= 0 && !l.greeted && l.hello_deadline <= now) {
                refuse_hello(l, hello_status::timed_out);
            }
        }
        if (accept_paused_ && accept_resume_at_ <= now) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = make_tag(tag_kind::listener, 0, 0);
            if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev) == 0) {
                accept_paused_ = false;
            } else {
                accept_resume_at_ = now + accept_pause;
            }
        }
    }

    // ---- outbound ------------------------------------------------------

    bool watch(outbound_link& p, std::uint32_t events, int op) noexcept {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = make_tag(tag_kind::outbound, static_cast<std::size_t>(&p - peers_.data()),
                               p.generation);
        return ::epoll_ctl(epoll_fd_, op, p.fd, &ev) == 0;
    }

    void begin_connect(outbound_link& p, clock::time_point now) noexcept {
        PAXOS_ASSERT(p.fd < 0);
        p.state = link_state::connecting;
        p.deadline = now + std::chrono::milliseconds(options_.connect_timeout_ms);
        ++stats_.connect_attempts;
        p.fd = ::socket(p.address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p.fd < 0) return connect_failed(p, now);
        ++p.generation;
        // Consensus messages are small and latency-bound: no Nagle delay.
        const int one = 1;
        (void)::setsockopt(p.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (::connect(p.fd, p.address.socket_address(), p.address.size()) == 0) {
            if (!watch(p, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD)) return connect_failed(p, now);
            return connected(p, now);
        }
        // EINTR: the connection goes on in the background, like EINPROGRESS.
        if (errno != EINPROGRESS && errno != EINTR) return connect_failed(p, now);
        if (!watch(p, EPOLLOUT, EPOLL_CTL_ADD)) return connect_failed(p, now);
    }

    void connected(outbound_link& p, clock::time_point now) noexcept {
        p.state = link_state::connected;
        ++stats_.connects;
        if (p.ever_connected) ++stats_.reconnects;
        p.ever_connected = true;
        p.connected_at = now;
        p.hello = encode_hello(options_.cluster, hello{self_, p.id});
        p.hello_left = hello_size;
        p.write_armed = false;
    }

    void outbound_event(outbound_link& p, std::uint32_t events, clock::time_point now) noexcept {
        if (p.state == link_state::connecting) {
            int error = 0;
            socklen_t length = sizeof error;
            if (::getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
            if (error != 0 || (events & EPOLLOUT) == 0) return connect_failed(p, now);
            if (!watch(p, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD)) return connect_failed(p, now);
            return connected(p, now);
        }
        PAXOS_ASSERT(p.state == link_state::connected);
        // The peer never writes on a connection we opened: readable means it
        // closed it, reset it, or broke the protocol. Either way it is gone.
        if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
            return connection_lost(p, now);
        }
        if ((events & EPOLLOUT) != 0) write_queue(p, now);
    }

    // Writes the hello and queued frames until done or the kernel is full.
    void write_queue(outbound_link& p, clock::time_point now) noexcept {
        if (p.state != link_state::connected) return;
        while (p.hello_left > 0 || !p.queue.empty()) {
            std::array<iovec, 3> iov{};
            std::size_t count = 0;
            if (p.hello_left > 0) {
                iov[count++] = {p.hello.data() + (hello_size - p.hello_left), p.hello_left};
            }
            for (const std::span<const std::byte> run : p.queue.runs()) {
                // sendmsg takes non-const iovecs but only reads them.
                if (!run.empty()) iov[count++] = {const_cast<std::byte*>(run.data()), run.size()};
            }
            msghdr message{};
            message.msg_iov = iov.data();
            message.msg_iovlen = count;
            const ::ssize_t n = ::sendmsg(p.fd, &message, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return connection_lost(p, now);
            if (n <= 0) return arm_write(p, true, now);  // full: wait for EPOLLOUT
            written(p, static_cast<std::size_t>(n));
        }
        arm_write(p, false, now);
    }

    // Accounts for `n` bytes the kernel took: the hello first, then frames.
    void written(outbound_link& p, std::size_t n) noexcept {
        const std::size_t from_hello = std::min(n, p.hello_left);
        p.hello_left -= from_hello;
        n -= from_hello;
        while (n > 0) {
            if (p.front_left == 0) p.front_left = front_frame_size(p);
            const std::size_t take = std::min(n, p.front_left);
            p.queue.pop(take);
            p.front_left -= take;
            n -= take;
            stats_.bytes_sent += take;
            if (p.front_left == 0) {
                PAXOS_ASSERT(p.queued_frames > 0);
                --p.queued_frames;
                ++stats_.frames_sent;
            }
        }
    }

    // The size of the frame at the front of the queue, from its own header
    // (send() checked it, so it is trusted here).
    static std::size_t front_frame_size(const outbound_link& p) noexcept {
        std::array<std::byte, wire::header_size> header{};
        p.queue.copy_out(0, header);
        const std::size_t size = Framer::peek_size(header);
        PAXOS_ASSERT(size >= wire::header_size);
        PAXOS_ASSERT(size <= p.queue.size());
        return size;
    }

    void arm_write(outbound_link& p, bool want, clock::time_point now) noexcept {
        if (p.write_armed == want) return;
        const std::uint32_t events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
        if (!watch(p, events, EPOLL_CTL_MOD)) return connection_lost(p, now);
        p.write_armed = want;
    }

    void connect_failed(outbound_link& p, clock::time_point now) noexcept {
        ++stats_.connect_failures;
        close_fd(p.fd);
        clear_link(p);
        schedule_retry(p, now);
    }

    void connection_lost(outbound_link& p, clock::time_point now) noexcept {
        ++stats_.connections_lost;
        // Only a connection that lasted earns a fast retry (see the top).
        if (now - p.connected_at >= std::chrono::milliseconds(options_.backoff_max_ms)) {
            p.retry.reset();
        }
        close_fd(p.fd);
        clear_link(p);
        schedule_retry(p, now);
    }

    // Forgets the connection's queue: frames queued for it are stale now.
    void clear_link(outbound_link& p) noexcept {
        ++p.generation;
        stats_.dropped_peer_down += p.queued_frames;
        p.queue.clear();
        p.queued_frames = 0;
        p.front_left = 0;
        p.hello_left = 0;
        p.write_armed = false;
    }

    void schedule_retry(outbound_link& p, clock::time_point now) noexcept {
        p.state = link_state::backoff;
        p.deadline = now + std::chrono::milliseconds(p.retry.next_ms());
    }

    // ---- inbound -------------------------------------------------------

    void accept_all(clock::time_point now) noexcept {
        for (std::size_t i = 0; i < accepts_per_event_max; ++i) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                const int error = errno;
                // A connection that died in the backlog, or a signal: next one.
                if (error == EINTR || error == ECONNABORTED || error == EPROTO) continue;
                if (error == EAGAIN || error == EWOULDBLOCK) return;
                ++stats_.accept_failures;
                // Out of descriptors or memory: the listener would stay
                // readable and spin the loop, so stop watching it a while.
                if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
                    pause_accepting(now);
                }
                return;
            }
            inbound_link* slot = free_inbound();
            if (slot == nullptr) {
                (void)::close(fd);
                ++stats_.inbound_refused;
                continue;
            }
            open_inbound(*slot, fd, now);
        }
    }

    void pause_accepting(clock::time_point now) noexcept {
        epoll_event ev{};
        ev.data.u64 = make_tag(tag_kind::listener, 0, 0);
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev) != 0) return;
        accept_paused_ = true;
        accept_resume_at_ = now + accept_pause;
    }

    inbound_link* free_inbound() noexcept {
        for (inbound_link& l : inbound_) {
            if (l.fd < 0) return &l;
        }
        return nullptr;
    }

    void open_inbound(inbound_link& l, int fd, clock::time_point now) noexcept {
        reset_inbound(l);
        l.fd = fd;
        l.hello_deadline = now + std::chrono::milliseconds(options_.hello_timeout_ms);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.u64 = make_tag(tag_kind::inbound, static_cast<std::size_t>(&l - inbound_.data()),
                               l.generation);
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
            ++stats_.accept_failures;
            close_inbound(l);
            return;
        }
        ++stats_.accepts;
    }

    void reset_inbound(inbound_link& l) noexcept {
        ++l.generation;
        l.size = 0;
        l.greeted = false;
        l.peer = node_id::none();
    }

    void close_inbound(inbound_link& l) noexcept {
        close_fd(l.fd);
        reset_inbound(l);
    }

    // The connection ended (EOF, reset): what was left is a cut frame or hello.
    void inbound_ended(inbound_link& l) noexcept {
        if (l.size > 0 && l.greeted) ++stats_.frames_truncated;
        if (l.size > 0 && !l.greeted) return refuse_hello(l, hello_status::incomplete);
        close_inbound(l);
    }

    void refuse_hello(inbound_link& l, hello_status why) noexcept {
        ++stats_.hellos_refused;
        stats_.last_hello_refusal = why;
        close_inbound(l);
    }

    template <class OnFrame>
    std::size_t read_inbound(inbound_link& l, OnFrame& on_frame) {
        std::size_t delivered = 0;
        for (std::size_t reads = 0; reads < reads_per_event_max && l.fd >= 0; ++reads) {
            const std::size_t room = options_.receive_buffer_bytes - l.size;
            PAXOS_ASSERT(room > 0);  // a partial frame is smaller than the buffer
            const ::ssize_t n = ::recv(l.fd, l.buffer.get() + l.size, room, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (n <= 0) {
                inbound_ended(l);
                break;
            }
            l.size += static_cast<std::size_t>(n);
            consume(l, on_frame, delivered);
        }
        return delivered;
    }

    // Takes the hello (first) and every complete frame off the front of the
    // buffer; closes the connection on anything it cannot trust.
    template <class OnFrame>
    void consume(inbound_link& l, OnFrame& on_frame, std::size_t& delivered) {
        std::size_t consumed = 0;
        if (!l.greeted && !take_hello(l, consumed)) return;
        const consume_guard guard{l, consumed, in_callback_};
        while (l.size - consumed >= wire::header_size) {
            const std::span<const std::byte> rest(l.buffer.get() + consumed, l.size - consumed);
            const std::size_t size = Framer::peek_size(rest);
            if (size < wire::header_size || size > options_.frame_bytes_max) {
                ++stats_.frames_bad;
                consumed = 0;  // nothing to compact: the connection goes
                close_inbound(l);
                return;
            }
            if (rest.size() < size) return;  // the rest of it is still on its way
            consumed += size;
            ++stats_.frames_received;
            stats_.bytes_received += size;
            ++delivered;
            in_callback_ = true;
            on_frame(l.peer, rest.first(size));
            in_callback_ = false;
        }
    }

    // Reads and judges the hello; false when it is not whole yet or the
    // connection was refused (and closed).
    bool take_hello(inbound_link& l, std::size_t& consumed) noexcept {
        hello h{};
        hello_status status =
            read_hello(std::span<const std::byte>(l.buffer.get(), l.size), options_.cluster, h);
        if (status == hello_status::incomplete) return false;
        if (status == hello_status::ok && (h.from == self_ || find_peer(h.from) == nullptr)) {
            status = hello_status::unknown_node;
        }
        if (status == hello_status::ok && h.to != self_) status = hello_status::wrong_destination;
        if (status != hello_status::ok) {
            refuse_hello(l, status);
            return false;
        }
        // A peer keeps one connection to us: a new hello means the old one
        // is dead (the peer restarted or gave up on it), so it goes.
        for (inbound_link& other : inbound_) {
            if (&other != &l && other.fd >= 0 && other.greeted && other.peer == h.from) {
                close_inbound(other);
            }
        }
        l.greeted = true;
        l.peer = h.from;
        ++stats_.hellos_accepted;
        consumed = hello_size;
        return true;
    }

    node_id self_;
    transport_options options_;
    peer_address listen_address_;
    std::array<std::uint8_t, node_set::capacity> peer_index_{};  // id -> peers_ index
    std::vector<outbound_link> peers_;                           // sized once, in the constructor
    std::vector<inbound_link> inbound_;                          // sized once, in the constructor
    std::array<epoll_event, events_per_poll_max> events_{};
    transport_stats stats_{};
    int listen_fd_ = -1;
    int epoll_fd_ = -1;
    std::uint16_t local_port_ = 0;
    bool running_ = false;
    bool in_callback_ = false;
    bool accept_paused_ = false;
    clock::time_point accept_resume_at_{};
};

using tcp_transport = basic_tcp_transport<header_framer>;

}  // namespace paxos::inline v0::net
