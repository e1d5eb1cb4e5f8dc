// paxos/node/client_port.hpp: the node's side of the client protocol
// (node/client_protocol.hpp), for the driver's epoll loop.
//
// A listening socket and up to clients_max connections, each with an input
// buffer of one request and an output buffer of out_bytes, all allocated in
// the constructor. Every whole request is decoded with the wire's value
// codec and handed to the driver's callback with a cookie naming its
// connection; reply(cookie, ...) queues the answer, later, on that
// connection if it is still the same one (a generation number tells a
// reused slot apart). A request longer than a command can be, or one the
// codec refuses, is answered `malformed` and its connection closed after
// the reply is written. A reply that does not fit a client's output buffer
// (a client that does not read) is dropped and counted; the client retries
// on its own timeout.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../assert.hpp"
#include "../wire/bytes.hpp"
#include "../wire/value_codec.hpp"
#include "client_protocol.hpp"

namespace paxos::inline v0::node {

struct client_port_stats {
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;  // accepted and closed at once: no free connection slot
    std::uint64_t requests = 0;
    std::uint64_t requests_malformed = 0;
    std::uint64_t replies_dropped = 0;  // the client's output buffer was full
};

template <class Value>
class client_port {
public:
    using value_codec = wire::value_codec<Value>;
    static constexpr std::size_t request_bytes_max =
        length_prefix_bytes + value_codec::encoded_size_max;

    client_port(std::size_t clients_max, std::size_t out_bytes) : links_(clients_max) {
        PAXOS_ASSERT(clients_max <= 0xFFFF);  // an index is 16 bits of a cookie
        PAXOS_ASSERT(out_bytes >= length_prefix_bytes + reply_header_bytes);
        for (link& l : links_) {
            l.in.resize(request_bytes_max);
            l.out.resize(out_bytes);
        }
    }
    ~client_port() { close(); }
    client_port(const client_port&) = delete;
    client_port& operator=(const client_port&) = delete;

    // Takes `listen_fd` (a listening socket; owned from here on) and watches
    // it and every connection in `epoll_fd`, with events whose low byte is
    // `tag`. Returns nullptr, or the call that failed (errno says why).
    const char* open(int listen_fd, int epoll_fd, std::uint8_t tag) {
        PAXOS_ASSERT(listen_fd_ < 0);
        listen_fd_ = listen_fd;
        epoll_fd_ = epoll_fd;
        tag_ = tag;
        const int flags = ::fcntl(listen_fd_, F_GETFL);
        if (flags < 0 || ::fcntl(listen_fd_, F_SETFL, flags | O_NONBLOCK) != 0) return "fcntl";
        if (!watch(listen_fd_, 0, EPOLLIN)) return "epoll_ctl";
        return nullptr;
    }

    bool owns(const epoll_event& ev) const noexcept {
        return listen_fd_ >= 0 && (ev.data.u64 & 0xFF) == tag_;
    }

    // Handles one of its events: accepts, reads, writes. Each whole request
    // goes to on_request(const Value&, std::uint64_t cookie), which may call
    // reply(cookie, ...) at once or later.
    template <class OnRequest>
    void handle(const epoll_event& ev, OnRequest&& on_request) {
        PAXOS_ASSERT(owns(ev));
        const std::uint64_t slot = (ev.data.u64 >> 8) & 0xFFFF;
        if (slot == 0) return accept_all();
        link& l = links_[slot - 1];
        if ((ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) read(l, on_request);
        if (l.fd >= 0 && (ev.events & EPOLLOUT) != 0) write(l);
    }

    // Queues a reply on the connection `cookie` names; nothing if it has gone.
    void reply(std::uint64_t cookie, const reply_view& r) {
        const std::size_t index = cookie & 0xFFFF;
        const auto generation = static_cast<std::uint32_t>(cookie >> 16);
        if (index >= links_.size()) return;
        link& l = links_[index];
        if (l.fd < 0 || l.generation != generation) return;  // that client has gone
        queue(l, r);
    }

    // Writes what every connection has queued, as far as the kernel takes it.
    void flush() {
        for (link& l : links_) {
            if (l.fd >= 0 && l.out_end > l.out_begin) write(l);
        }
    }

    void close() noexcept {
        for (link& l : links_) drop(l);
        if (listen_fd_ >= 0) ::close(listen_fd_);
        listen_fd_ = -1;
    }

    const client_port_stats& stats() const noexcept { return stats_; }

private:
    struct link {
        int fd = -1;
        std::uint32_t generation = 0;
        std::vector<std::byte> in;
        std::size_t in_size = 0;
        std::vector<std::byte> out;
        std::size_t out_begin = 0;
        std::size_t out_end = 0;
        bool closing = false;  // close once the output is written
    };

    bool watch(int fd, std::size_t slot, std::uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = tag_ | (std::uint64_t{slot} << 8);
        return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
    }

    void accept_all() {
        for (;;) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;  // EAGAIN, or an error the next readiness retries
            std::size_t index = 0;
            while (index < links_.size() && links_[index].fd >= 0) ++index;
            if (index == links_.size()) {
                ++stats_.refused;
                ::close(fd);
                continue;
            }
            const int one = 1;
            (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            link& l = links_[index];
            l.fd = fd;
            ++l.generation;
            l.in_size = 0;
            l.out_begin = l.out_end = 0;
            l.closing = false;
            if (!watch(fd, index + 1, EPOLLIN | EPOLLOUT | EPOLLET)) {
                drop(l);
                continue;
            }
            ++stats_.accepted;
        }
    }

    // Edge-triggered: read until the kernel has nothing more.
    template <class OnRequest>
    void read(link& l, OnRequest& on_request) {
        while (l.fd >= 0 && !l.closing) {
            PAXOS_ASSERT(l.in_size < l.in.size());  // whole requests are taken at once
            const ssize_t n = ::recv(l.fd, l.in.data() + l.in_size, l.in.size() - l.in_size, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                drop(l);
                return;
            }
            if (n < 0) return;
            l.in_size += static_cast<std::size_t>(n);
            take_requests(l, on_request);
        }
    }

    template <class OnRequest>
    void take_requests(link& l, OnRequest& on_request) {
        std::size_t at = 0;
        while (!l.closing && l.in_size - at >= length_prefix_bytes) {
            const std::uint32_t length = peek_length(std::span(l.in).subspan(at));
            if (length > value_codec::encoded_size_max) return refuse(l);
            if (l.in_size - at < length_prefix_bytes + length) break;
            const auto body =
                std::span<const std::byte>(l.in).subspan(at + length_prefix_bytes, length);
            at += length_prefix_bytes + length;
            ++stats_.requests;
            Value v{};
            wire::reader in(body);
            if (!value_codec::decode(in, v) || in.remaining() != 0) return refuse(l);
            const auto index = static_cast<std::uint64_t>(&l - links_.data());
            on_request(static_cast<const Value&>(v), (std::uint64_t{l.generation} << 16) | index);
        }
        if (at > 0 && l.fd >= 0 && !l.closing) {
            std::memmove(l.in.data(), l.in.data() + at, l.in_size - at);
            l.in_size -= at;
        }
    }

    void refuse(link& l) {
        ++stats_.requests_malformed;
        queue(l, reply_view{answer_status::malformed, node_id::none(), {}, {}});
        l.closing = true;
        l.in_size = 0;
        write(l);
    }

    void queue(link& l, const reply_view& r) {
        const std::size_t need = length_prefix_bytes + reply_header_bytes + r.reply.size();
        if (l.out_end + need > l.out.size() && l.out_begin > 0) {
            std::memmove(l.out.data(), l.out.data() + l.out_begin, l.out_end - l.out_begin);
            l.out_end -= l.out_begin;
            l.out_begin = 0;
        }
        const std::size_t n = write_reply(std::span(l.out).subspan(l.out_end), r);
        if (n == 0) {
            ++stats_.replies_dropped;
            return;
        }
        l.out_end += n;
    }

    void write(link& l) {
        while (l.fd >= 0 && l.out_begin < l.out_end) {
            const ssize_t n =
                ::send(l.fd, l.out.data() + l.out_begin, l.out_end - l.out_begin, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
                drop(l);
                return;
            }
            l.out_begin += static_cast<std::size_t>(n);
        }
        if (l.fd >= 0 && l.out_begin == l.out_end) {
            l.out_begin = l.out_end = 0;
            if (l.closing) drop(l);
        }
    }

    void drop(link& l) noexcept {
        if (l.fd < 0) return;
        ::close(l.fd);  // also leaves the epoll set
        l.fd = -1;
        l.in_size = 0;
        l.out_begin = l.out_end = 0;
        l.closing = false;
    }

    std::vector<link> links_;
    int listen_fd_ = -1;
    int epoll_fd_ = -1;
    std::uint8_t tag_ = 0;
    client_port_stats stats_{};
};

}  // namespace paxos::inline v0::node
