// paxos/core/message.hpp: the messages replicas exchange.
//
// One plain struct for every kind, so an outbox is a fixed array and a
// message copies like a value (no heap, no virtual dispatch). Which fields
// mean something depends on `kind`; the table below is the contract that
// step() validates and the wire codec encodes.
//
//   kind           ballot                 slot                extra
//   prepare        sender's new ballot    first slot asked    -
//   promise        ballot promised        first slot asked    count: promise_entry to expect
//   promise_entry  ballot promised        reported slot       accepted_ballot, values, chosen
//   accept         leader's ballot        slot                values (empty = no-op)
//   accepted       leader's ballot        slot                -
//   reject         rejector's promise     slot asked about    -
//   chosen         leader's ballot        slot                values
//   heartbeat      leader's ballot        -                   -
//   learn_request  requester's promise    first slot wanted   -
//
// Every message also carries `chosen_end`: the sender's first slot not known
// to be chosen, which lets a lagging learner notice that it should catch up.
//
// A message whose `to` is node_id::broadcast() goes to every other replica.
// (Paxos Made Simple §2.2-2.4 for prepare/promise/accept/accepted; chosen is
// the learner notification of §2.3; promise carries accepted votes per slot
// so Multi-Paxos runs Phase 1 once for all open slots, §3.)
#pragma once

#include <cstddef>
#include <cstdint>

#include "../policies/node_set.hpp"
#include "fixed_vector.hpp"
#include "types.hpp"

namespace paxos {

enum class message_kind : std::uint8_t {
    prepare = 1,
    promise,
    promise_entry,
    accept,
    accepted,
    reject,
    chosen,
    heartbeat,
    learn_request,
};

inline constexpr std::uint8_t message_kind_count = 9;

constexpr const char* to_string(message_kind k) noexcept {
    switch (k) {
        case message_kind::prepare: return "prepare";
        case message_kind::promise: return "promise";
        case message_kind::promise_entry: return "promise_entry";
        case message_kind::accept: return "accept";
        case message_kind::accepted: return "accepted";
        case message_kind::reject: return "reject";
        case message_kind::chosen: return "chosen";
        case message_kind::heartbeat: return "heartbeat";
        case message_kind::learn_request: return "learn_request";
    }
    return "invalid";
}

// Persist-before-send, as one rule that the replica, every driver and every
// checker share: what a message of each kind vouches for on its sender's
// disk when it leaves.
//
//   promise   the message's ballot is at most the sender's durable promise:
//             prepare (a candidate's raised promise: a crash that forgot it
//             would let the ballot be reused, and a reused ballot can carry
//             two values), promise and promise_entry (the promise made),
//             reject (the promise reported), accept (the leader's ballot,
//             durable since its Phase 1)
//   vote      the sender has a durable vote in the message's slot at a
//             ballot at least the message's: accepted
//   none      heartbeat, chosen, learn_request: they report what is chosen
//             or ask, and a crash cannot make them false
enum class durable_backing : std::uint8_t { none, promise, vote };

constexpr durable_backing backing_of(message_kind k) noexcept {
    switch (k) {
        case message_kind::prepare:
        case message_kind::promise:
        case message_kind::promise_entry:
        case message_kind::reject:
        case message_kind::accept: return durable_backing::promise;
        case message_kind::accepted: return durable_backing::vote;
        case message_kind::chosen:
        case message_kind::heartbeat:
        case message_kind::learn_request: return durable_backing::none;
    }
    return durable_backing::none;
}

// Whether a message of kind `k` may leave only once the sender's batch is
// durable.
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

template <class Ballot, class Value, std::size_t BatchMax>
struct basic_message {
    using ballot_type = Ballot;
    using value_type = Value;
    using batch_type = fixed_vector<Value, BatchMax>;

    message_kind kind = message_kind::prepare;
    node_id from{};
    node_id to{};
    Ballot ballot{};
    slot_id slot{};
    slot_id chosen_end{};
    Ballot accepted_ballot{};  // promise_entry: the vote reported (zero if none)
    std::uint32_t count = 0;   // promise: number of promise_entry messages
    bool is_chosen = false;    // promise_entry: the reporter knows the slot is chosen
    batch_type values{};       // accept, chosen, promise_entry; empty means no-op

    friend bool operator==(const basic_message&, const basic_message&) = default;
};

}  // namespace paxos
