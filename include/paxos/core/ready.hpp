// paxos/core/ready.hpp: the batch of outputs a replica hands to its driver.
//
// In the spirit of etcd/raft's Ready. ready() collects the batch; the driver
// does the duties below, then calls advance(). No input may be given to the
// replica between ready() and advance(): a node whose sync is under way takes
// no input (queue what arrives and give it after advance()).
//
//   send_now         Send at once: before, during or after the write of (1).
//                    Each of these vouches for nothing that is still to be
//                    synced (backed_by() in core/message.hpp holds for it
//                    against the durable state before this batch): a
//                    leader's accepts and heartbeats once its ballot is
//                    durable, chosen notices, learn requests, and rejects
//                    that report an already durable promise. This is what
//                    lets a leader's sync overlap its followers' (the Raft
//                    thesis §10.2.1; etcd's Messages vs MsgsAfterAppend).
//   1. durable       Persist `promised` (when promised_changed) and every
//                    record of `accepted` (the newest vote per slot), then
//                    fsync once if sync_needed. Group commit: one sync for
//                    the whole batch.
//   send_after_sync  Send only after (1) is durable: promises, accepted,
//                    rejects reporting a promise raised in this batch, a
//                    candidate's prepare, and the accepts of a leader whose
//                    ballot was raised in this batch (a quorum of one). A
//                    promise or an accepted that leaves before the vote
//                    behind it is on disk can be forgotten by a crash, and
//                    then two values can be chosen (seed "what the papers
//                    leave unspecified": the fsync bug). A prepare that
//                    leaves before its raised promise is durable lets a
//                    restarted candidate reuse the ballot, and one ballot
//                    then carries two values.
//   chosen           Apply to the state machine, in slot order, at any time
//                    before advance(). An entry with no values is a no-op
//                    that filled a gap.
//   dropped          Tags of commands propose() took that will not come back
//                    in a chosen entry here (lost or unknown; see
//                    proposal_fate). Answer their clients at any time.
//   reads            Linearizable reads (replica::read) now confirmed:
//                    serve each from the state machine once it has applied
//                    every slot below its `slot`; the chosen entries of this
//                    batch reach that far, so apply them first. Any time
//                    before or after advance() (core/reads.hpp).
//   reads_dropped    Tags of reads this replica will not confirm (it is no
//                    longer the leader): answer their clients with a
//                    redirect, at any time.
//   catch_up         Peers that asked for slots this replica has released
//                    from its window, but not compacted: serve them from
//                    your log (replica::chosen_message_for). They need
//                    nothing durable. A store that cannot, starts a
//                    snapshot transfer instead (replica::send_snapshot).
//   snapshot_chunks  Read these byte ranges of your offered snapshots and
//                    send each as a chunk (replica::snapshot_chunk_for), at
//                    any time before advance(). Peers asked for slots below
//                    the compaction point (core/snapshot_transfer.hpp).
//   snapshot_received  At most one chunk of a snapshot a peer is sending us,
//                    checked and in order: append it to that snapshot's
//                    receive (begin it first when offset is 0, or resumed);
//                    with the last one, make the snapshot durable, and after
//                    advance() load it and call install_snapshot(). Its
//                    bytes are the replica's until advance(), which acks
//                    them to the sender.
//
// Chosen entries need not be persisted, and sync_needed does not cover them:
// a chosen value survives in the durable votes of a phase-2 quorum, since a
// replica counts a vote (its own included) only once it is durable. A store
// may record them all the same, without a sync of their own, to rebuild the
// state machine or serve catch-up after a restart (the POSIX write-ahead log
// does). storage/durable_state.hpp and the README say the same.
//
// The leader's own vote is written in (1) while its accepts are already on
// their way, and counts toward a phase-2 quorum only at advance(), which
// says that (1) is durable. advance() may therefore choose slots and queue
// their chosen notices: drain until has_ready() is false.
//
// Views point into the replica's own fixed buffers and stay valid until
// advance(). A message to node_id::broadcast() goes to every node of `peers`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "message.hpp"
#include "reads.hpp"
#include "types.hpp"

namespace paxos::inline v0 {

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

// A snapshot a driver holds complete and durable, which the replica may
// offer to peers (replica::offer_snapshot) or has installed. Named by slot,
// size and CRC-32C together (core/message.hpp's snapshot_position).
struct snapshot_offer {
    slot_id slot{};  // the state through slot - 1
    std::uint64_t size_bytes = 0;
    std::uint32_t crc = 0;  // CRC-32C of the whole snapshot

    friend constexpr bool operator==(const snapshot_offer&, const snapshot_offer&) = default;
};

// "Read `length` bytes of `snapshot` from `offset`, and send them to `to`":
// replica::snapshot_chunk_for builds the message around them.
struct snapshot_chunk_request {
    node_id to{};
    snapshot_offer snapshot{};
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
};

// A chunk of a snapshot that `from` is sending us, checked (its CRC, its
// place) and in order: bytes [offset, offset + bytes.size()) of `snapshot`.
struct received_chunk {
    node_id from{};
    snapshot_offer snapshot{};
    std::uint64_t offset = 0;
    std::span<const std::byte> bytes{};

    bool first() const noexcept { return offset == 0; }
    bool last() const noexcept { return offset + bytes.size() == snapshot.size_bytes; }
};

// The tag a caller gives a command it proposes (replica::propose), handed
// back when the command's fate is known: in the chosen entry that carries it,
// or in ready_batch::dropped. The replica never looks inside it.
using proposal_tag = std::uint64_t;

// A slot whose value is chosen, ready to apply.
template <class Value>
struct chosen_entry {
    slot_id slot{};
    std::span<const Value> values{};  // empty: a no-op
    // When these are the commands this replica proposed in the slot: their
    // tags, tags[i] for values[i]. Empty otherwise (another proposer's
    // commands, a no-op, or a learner).
    std::span<const proposal_tag> tags{};

    bool is_noop() const noexcept { return values.empty(); }
};

// What became of a command this replica took that is not among its chosen
// entries.
enum class proposal_fate : std::uint8_t {
    // Never chosen: it never left this replica (the leader stepped down
    // with it still in its open batch), or its slot was chosen with other
    // commands. Retrying it cannot execute it twice.
    lost,
    // Cannot be known here: another leader overwrote this replica's vote
    // for it with other commands, yet a later leader may still adopt it
    // from an acceptor that kept the older vote. Treat it as a timeout: a
    // retry must be idempotent (sm/sessions.hpp).
    unknown,
};

struct dropped_proposal {
    proposal_tag tag{};
    proposal_fate fate{};
};

template <class Ballot, class Value, class Message>
struct ready_batch {
    // Messages that may leave at once.
    std::span<const Message> send_now{};
    // 1. Durable state.
    Ballot promised{};
    bool promised_changed = false;
    std::span<const accepted_record<Ballot, Value>> accepted{};
    bool sync_needed = false;
    // Messages to send once (1) is durable.
    std::span<const Message> send_after_sync{};
    // Newly chosen entries, in slot order, with no gaps.
    std::span<const chosen_entry<Value>> chosen{};
    // Peers that asked for slots this replica no longer holds.
    std::span<const catch_up_request> catch_up{};
    // Snapshot bytes to read and send, and at most one chunk received.
    std::span<const snapshot_chunk_request> snapshot_chunks{};
    std::span<const received_chunk> snapshot_received{};
    // Commands taken by propose() whose fate became known in this batch,
    // other than being chosen (those come back in `chosen`). Every tag
    // comes back exactly once, here or there, unless the process stops.
    std::span<const dropped_proposal> dropped{};
    // Reads confirmed, and reads handed back unconfirmed (core/reads.hpp).
    std::span<const read_ready> reads{};
    std::span<const read_tag> reads_dropped{};
    // Who a message to node_id::broadcast() goes to: every other member.
    node_set peers{};
};

}  // namespace paxos::inline v0
