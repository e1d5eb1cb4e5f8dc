// paxos/core/ready.hpp: the batch of outputs a replica hands to its driver.
//
// In the spirit of etcd/raft's Ready. The driver acts on the three parts in
// order, then calls advance():
//
//   1. durable   Persist `promised` (when promised_changed) and every record of
//                `accepted` (the newest vote per slot), then fsync once if
//                sync_needed. Group commit: one sync for the whole batch.
//   2. messages  Send only after (1) is durable. A promise or an accepted
//                that leaves before the vote behind it is on disk can be
//                forgotten by a crash, and then two values can be chosen
//                (seed "what the papers leave unspecified": the fsync bug).
//   3. chosen    Apply to the state machine, in slot order. An entry with no
//                values is a no-op that filled a gap. Chosen entries need not
//                be persisted for safety (a chosen value survives in the votes
//                of a quorum), and sync_needed does not cover them; a store
//                may record them all the same, without a sync, to rebuild the
//                state machine or serve catch-up after a restart (the POSIX
//                write-ahead log does).
//
// Which messages must wait for (1) is one rule, paxos::needs_durable(kind)
// and paxos::backed_by(message, ...) in core/message.hpp, which every driver
// and checker in this repository uses.
//
// Views point into the replica's own fixed buffers and stay valid until
// advance(); no input may be given to the replica between ready() and
// advance().
#pragma once

#include <cstddef>
#include <span>

#include "message.hpp"
#include "types.hpp"

namespace paxos {

// One acceptor vote to persist: "accepted `values` in `slot` at `ballot`".
// Recovery hands the same records back (see replica::restore).
template <class Ballot, class Value>
struct accepted_record {
    slot_id slot{};
    Ballot ballot{};
    std::span<const Value> values{};
};

// A peer wants chosen slots [from, to) that this replica has released from
// its window (applied, then slid past): serve them from your log with
// replica::chosen_message_for, or send a snapshot. At most one per peer per
// batch, with the lowest slot asked.
struct catch_up_request {
    node_id peer{};
    slot_id from{};
    slot_id to{};  // the window's base when asked: slots from here on were sent
};

// A slot whose value is chosen, ready to apply.
template <class Value>
struct chosen_entry {
    slot_id slot{};
    std::span<const Value> values{};  // empty: a no-op

    bool is_noop() const noexcept { return values.empty(); }
};

template <class Ballot, class Value, class Message>
struct ready_batch {
    // 1. Durable state.
    Ballot promised{};
    bool promised_changed = false;
    std::span<const accepted_record<Ballot, Value>> accepted{};
    bool sync_needed = false;
    // 2. Messages to send after (1) is durable.
    std::span<const Message> messages{};
    // 3. Newly chosen entries, in slot order, with no gaps.
    std::span<const chosen_entry<Value>> chosen{};
    // 4. Peers that asked for slots this replica no longer holds (serve them
    //    after (1) like any message; they need nothing durable).
    std::span<const catch_up_request> catch_up{};
    // Who a message to node_id::broadcast() goes to: every other member.
    node_set peers{};
};

}  // namespace paxos
