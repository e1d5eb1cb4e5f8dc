// paxos/core/types.hpp: slot numbers, the reasons an input is refused, and the
// result every input returns.
//
// Every input of the replica (propose, step, tick, campaign) returns a
// [[nodiscard]] result: `ok`, or the reason the input was refused or changed
// nothing. An operating error is never an assertion and never silently lost:
// the caller learns what happened and can retry, redirect or drop.
#pragma once

#include <compare>
#include <cstdint>

#include "vocabulary.hpp"

namespace paxos::inline v0 {

// The position of a command in the replicated log. Slots start at 0 and stay
// below slot_id::limit (2^63): a slot at or above it is refused wherever it
// enters (a message, a recovery) and a leader that reaches it stops with
// slot_exhausted, as one that runs out of ballots does. The bound leaves room
// for `slot + window` without wrapping, and 2^63 slots outlast any
// deployment (292 years at a billion slots a second).
struct slot_id {
    std::uint64_t value = 0;

    static constexpr std::uint64_t limit = std::uint64_t{1} << 63;

    constexpr slot_id() = default;
    constexpr explicit slot_id(std::uint64_t v) noexcept : value(v) {}

    constexpr slot_id next() const noexcept { return slot_id{value + 1}; }

    friend constexpr bool operator==(slot_id, slot_id) = default;
    friend constexpr auto operator<=>(slot_id, slot_id) = default;
};

enum class reason : std::uint8_t {
    ok,
    not_leader,           // propose at a non-leader; result::leader names it when known
    window_full,          // no free slot: apply chosen entries (advance) and retry
    proposal_queue_full,  // a proposer's queue of not-yet-slotted commands is full
    already_chosen,       // single-decree instance: a value is already chosen
    stale_ballot,         // the message's ballot is below our promise; a reject was sent
    unknown_sender,       // sender id outside the cluster, or ourselves
    wrong_destination,    // the message is addressed to another node
    slot_out_of_window,   // the slot is beyond the window; it will be retried or learned
    slot_compacted,       // the slot is below our window: the peer needs a snapshot
    malformed,            // fields inconsistent with the message kind; nothing was trusted
    outbox_full,          // drain ready() and advance() first; the input was not consumed
    ballot_exhausted,     // no ballot of ours is above the highest seen; fatal for proposing
    ignored,              // well-formed but moot (an answer to a ballot we left behind)
    slot_exhausted,       // the slot would reach slot_id::limit; fatal for proposing
    contradicts_chosen,   // a chosen value differs from ours: a safety violation or two
                          // clusters mixed (alert: nothing was changed)
    bad_recovery,         // restore(): the recovered state is inconsistent; nothing changed
    stale_snapshot,       // the snapshot is not newer than what this replica has applied
    bad_checksum,         // a snapshot chunk's bytes fail their CRC-32C; nothing was taken
    no_snapshot,          // compact() below no offered snapshot, or none offered to send
    not_applied,          // the slot is beyond what this replica has applied
    read_queue_full,      // the leader holds reads_max reads: hand out a batch (advance) first
    lease_held,           // a prepare or probe refused: a leader lease granted here still runs
};

constexpr const char* to_string(reason r) noexcept {
    switch (r) {
        case reason::ok: return "ok";
        case reason::not_leader: return "not leader";
        case reason::window_full: return "window full";
        case reason::proposal_queue_full: return "proposal queue full";
        case reason::already_chosen: return "already chosen";
        case reason::stale_ballot: return "stale ballot";
        case reason::unknown_sender: return "unknown sender";
        case reason::wrong_destination: return "wrong destination";
        case reason::slot_out_of_window: return "slot out of window";
        case reason::slot_compacted: return "slot compacted";
        case reason::malformed: return "malformed message";
        case reason::outbox_full: return "outbox full";
        case reason::ballot_exhausted: return "ballot space exhausted";
        case reason::ignored: return "ignored";
        case reason::slot_exhausted: return "slot space exhausted";
        case reason::contradicts_chosen: return "contradicts a chosen value";
        case reason::bad_recovery: return "inconsistent recovery";
        case reason::stale_snapshot: return "stale snapshot";
        case reason::bad_checksum: return "bad checksum";
        case reason::no_snapshot: return "no snapshot offered";
        case reason::not_applied: return "not applied";
        case reason::read_queue_full: return "read queue full";
        case reason::lease_held: return "lease held";
    }
    return "unknown reason";
}

// What an input did. `leader` is the leader this replica knows of (or
// node_id::none()), so a not_leader answer can redirect the client.
struct [[nodiscard]] result {
    reason code = reason::ok;
    node_id leader = node_id::none();

    constexpr bool ok() const noexcept { return code == reason::ok; }
    friend constexpr bool operator==(const result& r, reason c) noexcept { return r.code == c; }
};

}  // namespace paxos::inline v0
