// paxos/core/message.hpp: the messages replicas exchange.
//
// A message is a small fixed header, which every kind has, and a bounded
// body, which only some kinds use. The body is two views: `values` (a batch of
// commands) and `votes` (an acceptor's reported votes, whose values follow one
// another in `values`). A message the replica hands out (ready.hpp) views its
// outbox's arena; a driver that keeps a message beyond advance() copies it
// into a message_buffer (below), whose size is fixed by the config. So a
// heartbeat costs its header, and an accept its header and its batch.
//
// The table of kinds (message_kinds below) is the one description that the
// replica's validation, the wire codec and the README's table all follow:
//
//   kind           ballot                slot              body
//   prepare        sender's new ballot   first slot asked  accepted_ballot: the ballot of the
//                                                          leader that handed over to the sender
//                                                          (transfer; zero: none), whose lease ends
//   promise        ballot promised       first slot asked  votes: every vote the acceptor
//                                                          holds from slot on (and the slots
//                                                          it knows chosen), with their values
//   accept         leader's ballot       slot              values (empty = no-op)
//   accepted       leader's ballot       slot              -
//   reject         rejector's promise    slot asked about  -
//   chosen         leader's ballot, or   slot              values; accepted_ballot: the ballot
//                  zero when repeated                      the value was chosen in (zero: unknown)
//   heartbeat      leader's ballot       read round        -
//                                        (0: no read waits)
//   learn_request  requester's promise   first slot wanted -
//   snapshot_chunk zero                  snapshot slot s   bytes: part of the state through
//                                                          s - 1; snapshot: where they lie
//   snapshot_ack   zero                  snapshot slot s   snapshot: how much arrived
//   heartbeat_reply the leader's ballot  the round answered -
//   probe          the ballot the sender first slot it       -
//                  would campaign with   does not know chosen
//   probe_reply    the probe's ballot    1 granted, 0 not  accepted_ballot: the replier's promise
//   transfer       the leader's ballot   -                 - (start Phase 1 now:
//   transfer_leadership)
//
// Every message also carries `chosen_end`: the sender's first slot not known
// to be chosen, which lets a lagging learner notice that it should catch up.
// A promise whose votes hold more than the config's promise_values_max values
// continues in further promises to the same candidate: `part` of `parts`
// (at most 64), each with the votes of consecutive slots. The candidate counts
// the acceptor once every part has arrived, in whatever order.
//
// A snapshot travels in chunks (core/snapshot_transfer.hpp): each chunk says
// which snapshot it belongs to (slot, size and CRC-32C of the whole), where
// its bytes lie in it, and the CRC-32C of those bytes; each ack says how
// many bytes from the start the receiver holds. Neither vouches for a vote
// or a promise, so both carry a zero ballot.
//
// A message whose `to` is node_id::broadcast() goes to every other replica
// (ready.peers). (Paxos Made Simple §2.2-2.4 for prepare/promise/accept/
// accepted; chosen is the learner notification of §2.3; promise carries the
// votes of every open slot so Multi-Paxos runs Phase 1 once for all of them,
// §3.)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../detail/algorithm.hpp"
#include "fixed_vector.hpp"
#include "types.hpp"
#include "vocabulary.hpp"

namespace paxos::inline v0 {

enum class message_kind : std::uint8_t {
    prepare = 1,
    promise,
    accept,
    accepted,
    reject,
    chosen,
    heartbeat,
    learn_request,
    snapshot_chunk,
    snapshot_ack,
    heartbeat_reply,
    probe,
    probe_reply,
    transfer,
};

inline constexpr std::uint8_t message_kind_count = 14;

// What a message of each kind vouches for on its sender's disk when it
// leaves (persist-before-send):
//
//   promise   the message's ballot is at most the sender's durable promise:
//             prepare (a candidate's raised promise: a crash that forgot it
//             would let the ballot be reused, and a reused ballot can carry
//             two values), promise (the promise made), reject (the promise
//             reported), accept (the leader's ballot, durable since its
//             Phase 1)
//   vote      the sender has a durable vote in the message's slot at a
//             ballot at least the message's: accepted
//   none      heartbeat, heartbeat_reply, chosen, learn_request,
//             snapshot_chunk, snapshot_ack, probe, probe_reply, transfer: they report
//             what is chosen, who is alive, or ask, and a crash cannot make
//             them false (a probe's ballot is one its sender has not used)
enum class durable_backing : std::uint8_t { none, promise, vote };

// Who may own a message's ballot.
enum class ballot_rule : std::uint8_t {
    sender,    // the sender's own ballot, never zero: prepare, accept, heartbeat
    receiver,  // an answer to one of the receiver's ballots: promise, accepted,
               // heartbeat_reply
    nonzero,   // any node's ballot but not zero: reject (a promise)
    any,       // zero allowed: chosen (zero when repeated), learn_request
    zero,      // always zero: snapshot_chunk, snapshot_ack (about chosen state only)
};

// What a message of one kind carries, beyond the fields every kind has.
struct message_kind_info {
    message_kind kind;
    const char* name;
    durable_backing backing;
    ballot_rule ballot;
    bool has_slot;         // the slot field means something (a read round for heartbeats)
    bool one_slot;         // about one slot in use, so below slot_id::limit
    bool has_values;       // body: a batch of values
    bool has_votes;        // body: reported votes (promise)
    bool accepted_ballot;  // a second ballot: chosen in (chosen), promised (probe_reply),
                           // handed over by (prepare)
    bool has_position;     // snapshot: which snapshot, and where in it
    bool has_bytes;        // body: snapshot bytes (snapshot_chunk)
};

inline constexpr std::array<message_kind_info, message_kind_count> message_kinds{{
    //   kind                       name             backing                   ballot
    //   slot  one   values votes  accepted_ballot  position  bytes
    {message_kind::prepare, "prepare", durable_backing::promise, ballot_rule::sender, true, false,
     false, false, true, false, false},
    {message_kind::promise, "promise", durable_backing::promise, ballot_rule::receiver, true, false,
     true, true, false, false, false},
    {message_kind::accept, "accept", durable_backing::promise, ballot_rule::sender, true, true,
     true, false, false, false, false},
    {message_kind::accepted, "accepted", durable_backing::vote, ballot_rule::receiver, true, true,
     false, false, false, false, false},
    {message_kind::reject, "reject", durable_backing::promise, ballot_rule::nonzero, true, false,
     false, false, false, false, false},
    {message_kind::chosen, "chosen", durable_backing::none, ballot_rule::any, true, true, true,
     false, true, false, false},
    {message_kind::heartbeat, "heartbeat", durable_backing::none, ballot_rule::sender, true, false,
     false, false, false, false, false},
    {message_kind::learn_request, "learn_request", durable_backing::none, ballot_rule::any, true,
     false, false, false, false, false, false},
    {message_kind::snapshot_chunk, "snapshot_chunk", durable_backing::none, ballot_rule::zero, true,
     false, false, false, false, true, true},
    {message_kind::snapshot_ack, "snapshot_ack", durable_backing::none, ballot_rule::zero, true,
     false, false, false, false, true, false},
    {message_kind::heartbeat_reply, "heartbeat_reply", durable_backing::none, ballot_rule::receiver,
     true, false, false, false, false, false, false},
    {message_kind::probe, "probe", durable_backing::none, ballot_rule::sender, true, false, false,
     false, false, false, false},
    {message_kind::probe_reply, "probe_reply", durable_backing::none, ballot_rule::receiver, true,
     false, false, false, true, false, false},
    {message_kind::transfer, "transfer", durable_backing::none, ballot_rule::sender, false, false,
     false, false, false, false, false},
}};

constexpr bool is_message_kind(std::uint8_t k) noexcept {
    return k >= 1 && k <= message_kind_count;
}

// The row of a valid kind.
constexpr const message_kind_info& info(message_kind k) noexcept {
    return message_kinds[static_cast<std::size_t>(k) - 1];
}

constexpr const char* to_string(message_kind k) noexcept {
    return is_message_kind(static_cast<std::uint8_t>(k)) ? info(k).name : "invalid";
}

// The table is in kind order, so info() is an index.
constexpr bool kinds_in_order() noexcept {
    for (std::size_t i = 0; i < message_kinds.size(); ++i) {
        if (static_cast<std::size_t>(message_kinds[i].kind) != i + 1) return false;
    }
    return true;
}
static_assert(kinds_in_order(), "message_kinds: one row per kind, in the enum's order");

constexpr durable_backing backing_of(message_kind k) noexcept { return info(k).backing; }

// Whether a message of kind `k` may have to wait until the sender's batch is
// durable (whether it does depends on the sender's state; see ready.hpp).
constexpr bool needs_durable(message_kind k) noexcept {
    return backing_of(k) != durable_backing::none;
}

// Whether `m` may leave a node whose durable promise is `promised` and whose
// durable vote in m.slot has ballot `vote` (zero: no vote there). Every
// persist-before-send checker asks this one question.
template <class Message, class Ballot>
constexpr bool backed_by(const Message& m, const Ballot& promised, const Ballot& vote) noexcept {
    switch (backing_of(m.kind)) {
        case durable_backing::promise: return !(promised < m.ballot);
        case durable_backing::vote: return !vote.is_zero() && !(vote < m.ballot);
        case durable_backing::none: return true;
    }
    return true;
}

// One vote an acceptor reports in a promise: "I voted for `value_count`
// values in `slot` at `ballot`", or, with `chosen`, "slot is chosen with
// these values" (ballot: the vote's ballot, zero if the acceptor learned the
// value without voting for it). The values follow the previous votes' values
// in the message's `values`.
template <class Ballot>
struct vote_report {
    slot_id slot{};
    Ballot ballot{};
    std::uint32_t value_count = 0;
    bool chosen = false;

    friend constexpr bool operator==(const vote_report&, const vote_report&) = default;
};

// Which snapshot a snapshot_chunk or snapshot_ack is about, and where in it
// (zero in every other kind). A snapshot is named by its slot, size and
// CRC-32C together: two nodes may encode the same state differently.
struct snapshot_position {
    std::uint64_t offset = 0;     // chunk: its first byte; ack: bytes held from the start
    std::uint64_t size = 0;       // the whole snapshot's length in bytes
    std::uint32_t crc = 0;        // CRC-32C of the whole snapshot
    std::uint32_t chunk_crc = 0;  // chunk: CRC-32C of its bytes
    bool resend = false;          // ack: a chunk was refused; send again from offset

    friend constexpr bool operator==(const snapshot_position&, const snapshot_position&) = default;
};

// The body of the snapshot kinds: the position, and a chunk's bytes. A
// message views it through one pointer (null in every other kind), so the
// kinds that carry no snapshot, every message of the hot path, stay as small
// as they were.
struct snapshot_part : snapshot_position {
    std::span<const std::byte> bytes{};  // snapshot_chunk

    const snapshot_position& position() const noexcept { return *this; }
    friend bool operator==(const snapshot_part& a, const snapshot_part& b) {
        return a.position() == b.position() && detail::equal(a.bytes, b.bytes);
    }
};

// The fields every kind has.
template <class Ballot>
struct message_header {
    message_kind kind = message_kind::prepare;
    node_id from{};
    node_id to{};
    Ballot ballot{};
    slot_id slot{};
    slot_id chosen_end{};
    Ballot accepted_ballot{};  // chosen: the ballot the value was chosen in (zero: unknown)
    std::uint8_t part = 0;     // promise: which part of the promise this is
    std::uint8_t parts = 1;    // promise: how many parts it has

    friend constexpr bool operator==(const message_header&, const message_header&) = default;
};

// A message as the replica reads and writes it: a header and views of its
// body. What step() takes and what ready() hands out.
template <class Ballot, class Value>
struct basic_message : message_header<Ballot> {
    using ballot_type = Ballot;
    using value_type = Value;
    using report_type = vote_report<Ballot>;
    using header_type = message_header<Ballot>;

    std::span<const Value> values{};
    std::span<const report_type> votes{};
    const snapshot_part* snapshot = nullptr;  // snapshot_chunk, snapshot_ack

    const header_type& header() const noexcept { return *this; }

    friend constexpr bool operator==(const basic_message& a, const basic_message& b) {
        return a.header() == b.header() && detail::equal(a.values, b.values) &&
               detail::equal(a.votes, b.votes) &&
               (a.snapshot == nullptr ? b.snapshot == nullptr
                                      : b.snapshot != nullptr && *a.snapshot == *b.snapshot);
    }
};

// A message with room for its body: for a driver that queues messages or
// decodes them from the wire. ValuesMax, VotesMax and BytesMax bound the
// body, so a copy of the largest message a config can send always fits
// (replica<C>::message_buffer). The room is reserved, not initialized: a
// copy costs what the message holds (fixed_vector.hpp).
template <class Ballot, class Value, std::size_t ValuesMax, std::size_t VotesMax,
          std::size_t BytesMax = 0>
struct basic_message_buffer : message_header<Ballot> {
    using ballot_type = Ballot;
    using value_type = Value;
    using report_type = vote_report<Ballot>;
    using header_type = message_header<Ballot>;
    using view_type = basic_message<Ballot, Value>;
    static constexpr std::size_t values_max = ValuesMax;
    static constexpr std::size_t votes_max = VotesMax;
    static constexpr std::size_t bytes_max = BytesMax;

    fixed_vector<Value, ValuesMax> values{};
    fixed_vector<report_type, VotesMax> votes{};
    // The snapshot kinds' body (zero, and no bytes, in every other kind).
    snapshot_position snapshot{};
    fixed_vector<std::byte, (BytesMax == 0 ? 1 : BytesMax)> bytes{};  // a fixed_vector holds >= 1

    basic_message_buffer() = default;
    // Copies copy the message, never view()'s cache (a copy in a constant
    // expression may not read a mutable member).
    constexpr basic_message_buffer(const basic_message_buffer& o)
        : header_type(static_cast<const header_type&>(o)),
          values(o.values),
          votes(o.votes),
          snapshot(o.snapshot),
          bytes(o.bytes) {}
    constexpr basic_message_buffer& operator=(const basic_message_buffer& o) {
        static_cast<header_type&>(*this) = static_cast<const header_type&>(o);
        values = o.values;
        votes = o.votes;
        snapshot = o.snapshot;
        bytes = o.bytes;
        return *this;
    }
    // A copy of `m`, which must fit (fits() says whether it does).
    explicit basic_message_buffer(const view_type& m) { assign(m); }

    static constexpr bool fits(const view_type& m) noexcept {
        return m.values.size() <= ValuesMax && m.votes.size() <= VotesMax &&
               (m.snapshot == nullptr || m.snapshot->bytes.size() <= BytesMax);
    }
    void assign(const view_type& m) {
        PAXOS_ASSERT(fits(m));
        static_cast<header_type&>(*this) = m.header();
        values.assign(m.values);
        votes.assign(m.votes);
        if (m.snapshot != nullptr) {
            snapshot = m.snapshot->position();
            bytes.assign(m.snapshot->bytes);
        } else {
            snapshot = snapshot_position{};
            bytes.clear();
        }
    }

    const header_type& header() const noexcept { return *this; }
    view_type view() const noexcept {
        view_type m;
        static_cast<header_type&>(m) = header();
        m.values = values.view();
        m.votes = votes.view();
        if (is_message_kind(static_cast<std::uint8_t>(this->kind)) &&
            info(this->kind).has_position) {
            view_part_ = snapshot_part{snapshot, bytes.view()};
            m.snapshot = &view_part_;
        }
        return m;
    }
    operator view_type() const noexcept { return view(); }  // NOLINT: a buffer is its message

    friend bool operator==(const basic_message_buffer& a, const basic_message_buffer& b) {
        return a.view() == b.view();
    }

private:
    // What view() points a snapshot kind's message at: refreshed by every
    // view(), so a copied buffer never views another's bytes.
    mutable snapshot_part view_part_{};
};

}  // namespace paxos::inline v0
