// paxos/node/client.hpp: a blocking client for the node driver's client port
// (node/client_protocol.hpp): register, then send commands one at a time,
// each retried until it is answered.
//
// The decisions are sm::client_session's (client_session.hpp): sequence
// numbers (a retry reuses its number, so the session table runs it once),
// following not_leader hints, capped exponential backoff with seeded jitter,
// and dropping a command whose session was evicted (its outcome is unknown).
// This class does the I/O: one TCP connection per node, opened on first use
// and again after an error, a poll() per attempt bounded by
// attempt_timeout_ms, and an overall bound per call (give_up_ms).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>

#include "../net/address_table.hpp"
#include "../sm/client_session.hpp"
#include "../wire/value_codec.hpp"
#include "client_protocol.hpp"

namespace paxos::inline v0::node {

struct client_options {
    std::vector<net::peer_address> nodes;  // client port of node i at index i
    std::uint32_t attempt_timeout_ms = 1000;
    std::uint32_t give_up_ms = 20000;  // per call
    std::uint32_t retry_delay_ms_min = 5;
    std::uint32_t retry_delay_ms_max = 200;
    std::uint64_t seed = 1;  // give each client its own
};

struct call_outcome {
    answer_status status = answer_status::timed_out;
    node_id from = node_id::none();  // the node that answered
    sm::request_id request{};
    std::array<std::byte, 256> reply{};  // the state machine's reply, cut at 256 bytes
    std::size_t reply_size = 0;
    std::uint32_t attempts = 0;

    bool answered() const noexcept {
        return status == answer_status::executed || status == answer_status::duplicate;
    }
    std::span<const std::byte> reply_bytes() const noexcept {
        return std::span(reply).first(reply_size);
    }
};

template <class Value>
class client {
public:
    using value_codec = wire::value_codec<Value>;

    explicit client(client_options options)
        : options_(std::move(options)),
          session_(sm::client_options{static_cast<std::uint16_t>(options_.nodes.size()), node_id{0},
                                      options_.retry_delay_ms_min, options_.retry_delay_ms_max,
                                      options_.seed}),
          links_(options_.nodes.size()) {
        PAXOS_ASSERT(!options_.nodes.empty());
        for (link& l : links_) l.in.resize(4096 + value_codec::encoded_size_max);
    }
    ~client() {
        for (link& l : links_) disconnect(l);
    }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    sm::client_session& session() noexcept { return session_; }

    // Registers a session. make(request_id) builds the registration command
    // for request {nonce, 0}; the node answers with the new id.
    template <class Make>
    call_outcome register_client(std::uint64_t nonce, Make&& make) {
        const sm::request_id id{sm::client_id{nonce}, 0};
        call_outcome out = retry(make(id), id);
        if (out.status == answer_status::executed && out.reply_size == 8) {
            std::uint64_t issued = 0;
            for (std::size_t i = 0; i < 8; ++i)
                issued |= std::uint64_t{static_cast<std::uint8_t>(out.reply[i])} << (8 * i);
            session_.on_registered(sm::client_id{issued});
        }
        return out;
    }

    // Numbers a new command, builds it with make(request_id), and sends it
    // until it is answered, the session is lost, or give_up_ms passes.
    template <class Make>
    call_outcome call(Make&& make) {
        call_outcome out;
        if (session_.begin() != sm::begin_status::ok) {
            out.status = answer_status::session_unknown;
            return out;
        }
        const sm::request_id id = session_.current();
        out = retry(make(id), id);
        if (out.answered()) {
            session_.on_reply(out.from);
        } else if (out.status == answer_status::session_evicted ||
                   out.status == answer_status::session_unknown) {
            (void)session_.on_session_lost();
        }
        return out;
    }

    // One attempt to one node, for tests that send a request again on
    // purpose (a duplicate must be answered from the session table).
    call_outcome send_once(node_id to, const Value& v, sm::request_id id) {
        call_outcome out;
        out.request = id;
        attempt(to, v, id, out);
        return out;
    }

private:
    struct link {
        int fd = -1;
        std::vector<std::byte> in;
        std::size_t in_size = 0;
    };
    using clock = std::chrono::steady_clock;

    call_outcome retry(const Value& v, sm::request_id id) {
        call_outcome out;
        out.request = id;
        const auto give_up = clock::now() + std::chrono::milliseconds(options_.give_up_ms);
        while (clock::now() < give_up) {
            const node_id to = session_.target();
            attempt(to, v, id, out);
            std::uint32_t delay = 0;
            switch (out.status) {
                case answer_status::executed:
                case answer_status::duplicate:
                case answer_status::stale:
                case answer_status::session_unknown:
                case answer_status::session_evicted:
                case answer_status::malformed: return out;
                case answer_status::not_leader: delay = session_.on_not_leader(out.from); break;
                case answer_status::busy:
                case answer_status::not_chosen:
                case answer_status::timed_out:
                case answer_status::stopped: delay = session_.on_timeout(); break;
            }
            if (delay > 0) ::poll(nullptr, 0, static_cast<int>(delay));
        }
        out.status = answer_status::timed_out;
        return out;
    }

    // Sends v to `to` and waits for the reply to `id`. On not_leader,
    // out.from is the hint; otherwise the node that answered.
    void attempt(node_id to, const Value& v, sm::request_id id, call_outcome& out) {
        ++out.attempts;
        out.status = answer_status::timed_out;
        out.from = to;
        link& l = links_[to.value];
        if (l.fd < 0 && !connect(l, options_.nodes[to.value])) return;
        std::array<std::byte, length_prefix_bytes + value_codec::encoded_size_max> frame{};
        wire::writer w{std::span<std::byte>(frame).subspan(length_prefix_bytes)};
        if (!value_codec::encode(v, w)) {
            out.status = answer_status::malformed;
            return;
        }
        wire::writer prefix(frame);
        prefix.put_u32(static_cast<std::uint32_t>(w.size()));
        if (!send_all(l, std::span(frame).first(length_prefix_bytes + w.size()))) return;
        const auto deadline = clock::now() + std::chrono::milliseconds(options_.attempt_timeout_ms);
        while (l.fd >= 0) {
            reply_view r;
            if (next_reply(l, r)) {
                if (r.request != id && r.status != answer_status::malformed) continue;  // old
                out.status = r.status;
                out.from = r.status == answer_status::not_leader ? r.leader : to;
                out.reply_size = std::min(r.reply.size(), out.reply.size());
                std::memcpy(out.reply.data(), r.reply.data(), out.reply_size);
                return;
            }
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
            if (left.count() <= 0) return;  // timed out: the connection stays for later
            pollfd p{l.fd, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            const ssize_t n = ::recv(l.fd, l.in.data() + l.in_size, l.in.size() - l.in_size, 0);
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                disconnect(l);
                return;
            }
            l.in_size += static_cast<std::size_t>(n);
        }
    }

    // Takes one whole reply out of l.in, if there is one.
    bool next_reply(link& l, reply_view& r) {
        if (l.in_size < length_prefix_bytes) return false;
        const std::uint32_t length = peek_length(l.in);
        if (length < reply_header_bytes || length > l.in.size() - length_prefix_bytes) {
            disconnect(l);  // not a node's client port
            return false;
        }
        if (l.in_size < length_prefix_bytes + length) return false;
        const bool ok = read_reply(std::span(l.in).subspan(length_prefix_bytes, length), r);
        // Copy the reply out before the buffer moves.
        scratch_size_ = std::min<std::size_t>(r.reply.size(), scratch_.size());
        if (ok) std::memcpy(scratch_.data(), r.reply.data(), scratch_size_);
        r.reply = std::span(scratch_).first(scratch_size_);
        const std::size_t used = length_prefix_bytes + length;
        std::memmove(l.in.data(), l.in.data() + used, l.in_size - used);
        l.in_size -= used;
        if (!ok) {
            disconnect(l);
            return false;
        }
        return true;
    }

    bool connect(link& l, const net::peer_address& address) {
        const int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) return false;
        if (::connect(fd, address.socket_address(), address.size()) != 0 && errno != EINPROGRESS) {
            ::close(fd);
            return false;
        }
        pollfd p{fd, POLLOUT, 0};
        int error = 0;
        socklen_t size = sizeof error;
        if (::poll(&p, 1, static_cast<int>(options_.attempt_timeout_ms)) != 1 ||
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0 || error != 0) {
            ::close(fd);
            return false;
        }
        const int one = 1;
        (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        l.fd = fd;
        l.in_size = 0;
        return true;
    }

    bool send_all(link& l, std::span<const std::byte> bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::send(l.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EAGAIN) {
                pollfd p{l.fd, POLLOUT, 0};
                if (::poll(&p, 1, static_cast<int>(options_.attempt_timeout_ms)) == 1) continue;
            }
            if (n <= 0) {
                disconnect(l);
                return false;
            }
            bytes = bytes.subspan(static_cast<std::size_t>(n));
        }
        return true;
    }

    static void disconnect(link& l) noexcept {
        if (l.fd >= 0) ::close(l.fd);
        l.fd = -1;
        l.in_size = 0;
    }

    client_options options_;
    sm::client_session session_;
    std::vector<link> links_;
    std::array<std::byte, 256> scratch_{};
    std::size_t scratch_size_ = 0;
};

}  // namespace paxos::inline v0::node
