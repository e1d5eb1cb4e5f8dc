// paxos/node/client_protocol.hpp: the frames between a client and a node's
// client port (node/driver.hpp serves them, node/client.hpp sends them).
//
// A stream of length-prefixed frames, every integer little-endian:
//
//   request  u32 length, then one command encoded by wire::value_codec<V>
//            (the same codec as the peer messages and the log). The command
//            itself names its request: the state machine's request_of(v),
//            the (client id, sequence number) of sm/sessions.hpp.
//   reply    u32 length, then u8 answer_status, u16 leader hint (node id,
//            0xFFFE when unknown), u64 client id, u64 sequence number, and
//            the state machine's reply bytes (the rest of the frame).
//
// A request longer than the node's bound, or one the value codec refuses, is
// answered `malformed` and the connection is closed: a stream cannot be
// resynchronised after a bad length, and nothing of the request is trusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "../core/vocabulary.hpp"
#include "../sm/client_session.hpp"
#include "../wire/bytes.hpp"

namespace paxos::inline v0::node {

enum class answer_status : std::uint8_t {
    executed = 0,         // chosen and executed now; the reply is the state machine's
    duplicate = 1,        // chosen before: answered from the session table, not run again
    stale = 2,            // older than the client's last command; nothing done
    session_unknown = 3,  // no such session: register first
    session_evicted = 4,  // the session was evicted: the outcome of the command is unknown
    not_leader = 5,       // try the node named by the leader hint
    busy = 6,             // no room now (window, waiting proposals): retry later
    timed_out = 7,        // not seen chosen within the node's answer timeout: retry
    malformed = 8,        // the request was not understood; the connection is closed
    stopped = 9,          // the node stopped (a storage error): try another node
    not_chosen = 10,      // never chosen and never will be (the leader changed first): retry
};

constexpr const char* to_string(answer_status s) noexcept {
    switch (s) {
        case answer_status::executed: return "executed";
        case answer_status::duplicate: return "duplicate (answered from the session table)";
        case answer_status::stale: return "stale (older than the client's last command)";
        case answer_status::session_unknown: return "no such session: register first";
        case answer_status::session_evicted: return "session evicted: outcome unknown";
        case answer_status::not_leader: return "not the leader";
        case answer_status::busy: return "busy: retry later";
        case answer_status::timed_out: return "not chosen in time: retry";
        case answer_status::malformed: return "malformed request";
        case answer_status::stopped: return "node stopped";
        case answer_status::not_chosen: return "not chosen (the leader changed): retry";
    }
    return "unknown answer status";
}

// What a decision of the session table (sm/sessions.hpp) tells the client.
constexpr answer_status answer_of(sm::decision d) noexcept {
    switch (d) {
        case sm::decision::execute: return answer_status::executed;
        case sm::decision::duplicate: return answer_status::duplicate;
        case sm::decision::stale: return answer_status::stale;
        case sm::decision::session_unknown: return answer_status::session_unknown;
        case sm::decision::session_evicted: return answer_status::session_evicted;
    }
    return answer_status::malformed;
}

// What submit() did with a proposal.
enum class submit_status : std::uint8_t {
    taken,       // proposed; the answer comes later
    not_leader,  // leader() names the leader when known
    busy,        // no room (waiting proposals, window): retry later
    stopped,     // the driver stopped on an error
};

constexpr answer_status answer_of(submit_status s) noexcept {
    switch (s) {
        case submit_status::taken: break;
        case submit_status::not_leader: return answer_status::not_leader;
        case submit_status::busy: return answer_status::busy;
        case submit_status::stopped: return answer_status::stopped;
    }
    return answer_status::malformed;  // taken is not an answer
}

inline constexpr std::size_t length_prefix_bytes = 4;
inline constexpr std::size_t reply_header_bytes = 1 + 2 + 8 + 8;

struct reply_view {
    answer_status status = answer_status::malformed;
    node_id leader = node_id::none();
    sm::request_id request{};
    std::span<const std::byte> reply{};
};

// Reads a frame's length prefix (the body's length).
inline std::uint32_t peek_length(std::span<const std::byte> bytes) noexcept {
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < length_prefix_bytes; ++i)
        n |= std::uint32_t{static_cast<std::uint8_t>(bytes[i])} << (8 * i);
    return n;
}

// Writes a reply frame into `out`; returns its size, 0 if it does not fit.
inline std::size_t write_reply(std::span<std::byte> out, const reply_view& r) noexcept {
    const std::size_t total = length_prefix_bytes + reply_header_bytes + r.reply.size();
    if (out.size() < total) return 0;
    wire::writer w(out);
    w.put_u32(static_cast<std::uint32_t>(total - length_prefix_bytes));
    w.put_u8(static_cast<std::uint8_t>(r.status));
    w.put_u16(r.leader.value);
    w.put_u64(r.request.client.value);
    w.put_u64(r.request.seq);
    w.put_bytes(r.reply);
    return w.overflowed() ? 0 : total;
}

// Reads a reply body (after its length prefix). False if it is not one.
inline bool read_reply(std::span<const std::byte> body, reply_view& out) noexcept {
    wire::reader in(body);
    std::uint8_t status = 0;
    std::uint16_t leader = 0;
    std::uint64_t client = 0;
    std::uint64_t seq = 0;
    if (!in.get_u8(status) || !in.get_u16(leader) || !in.get_u64(client) || !in.get_u64(seq))
        return false;
    if (status > static_cast<std::uint8_t>(answer_status::not_chosen)) return false;
    out.status = static_cast<answer_status>(status);
    out.leader = node_id{leader};
    out.request = sm::request_id{sm::client_id{client}, seq};
    out.reply = body.subspan(reply_header_bytes);
    return true;
}

}  // namespace paxos::inline v0::node
