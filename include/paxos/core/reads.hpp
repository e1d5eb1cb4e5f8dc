// paxos/core/reads.hpp: linearizable reads that do not write the log (read
// index), the leader's queue of them.
//
// replica::read(tag) at a leader queues the read. It is confirmed once
//   (a) a phase-2 quorum, the leader counted, has answered in the leader's
//       ballot a heartbeat round sent after the read was queued (the round
//       travels in the heartbeat's slot field and comes back in the
//       heartbeat_reply's), and
//   (b) every slot the leader recovered in its Phase 1 is chosen;
// the ready batch then lists it in `reads` with `slot`, the leader's
// chosen_end at that moment: the driver serves it from its state machine
// once that has applied every slot below `slot`, which the chosen entries
// of the same batch reach. Many reads share one round: every read queued
// before a round's heartbeat leaves the replica (at ready()) is answered by
// it, and reads queued while a round is in flight share the next one, sent
// when that one is answered (one round in flight: under load, one round
// serves every read that arrived during the last). A leader that steps
// down hands every read it holds back in `reads_dropped`: the client
// retries at the new leader.
//
// Why a read sees every write acknowledged before it was queued (at time t),
// in slot s, chosen in ballot b, the leader's ballot being ours:
//   * b < ours: a phase-2 quorum voted for it in b, so it meets our Phase 1's
//     quorum, and our Phase 1 either knew s chosen or was told the vote: s
//     lies below the recovered end, chosen by (b) before the read's slot.
//   * b = ours: we counted that quorum ourselves, so s < chosen_end at t.
//   * b > ours cannot be: b's leader finished Phase 1 before t, with a
//     phase-1 quorum promising b. Our round's phase-2 quorum answered after
//     t, and the two quorums share an acceptor (Q1 + Q2 > N, proved at
//     compile time, config.hpp); having promised b, it rejects a heartbeat
//     of our lower ballot instead of answering it (promises never go down,
//     and one a crash forgot was never reported).
// So the state machine through `slot` holds every such write, and a read
// queued after another was served sees at least as much (what the first
// saw was chosen before the second was queued). Nothing here assumes
// anything about clocks; the price is one round trip to a phase-2 quorum
// per batch of reads. A heartbeat_reply vouches for nothing on disk.
//
// Duplicate tags are the caller's business: each read() comes back exactly
// once, and a reply to a round sent before a read was queued never confirms
// it (etcd#20418: after a pause, an old confirmation answered a new read
// that reused its context).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "fixed_vector.hpp"
#include "types.hpp"
#include "vocabulary.hpp"

namespace paxos::inline v0 {

// The tag a caller gives a read (replica::read), handed back once.
using read_tag = std::uint64_t;

// A confirmed read: serve it once the state machine has applied every slot
// below `slot` (the chosen entries of the batch that lists it reach that far).
struct read_ready {
    read_tag tag{};
    slot_id slot{};
};

template <std::size_t Capacity, std::size_t MaxNodes>
struct read_queue {
    static_assert(Capacity >= 1);

    struct waiting {
        read_tag tag{};
        std::uint64_t round = 0;  // the first round that can confirm it
    };

    // Reads queued, oldest first, in a ring.
    std::array<waiting, Capacity> ring{};
    std::size_t head = 0;
    std::size_t count = 0;
    // The last round a heartbeat carried, and whether that heartbeat is
    // still in the batch being collected (so a read queued now shares it).
    std::uint64_t round = 0;
    bool round_queued = false;
    // The highest round each node answered in our ballot (as leader).
    std::array<std::uint64_t, MaxNodes> answered{};
    // Every slot below it must be chosen before a read is confirmed: the
    // end of what our Phase 1 recovered.
    slot_id recovered_end{};
    // Handed out with the batch; cleared by advance().
    fixed_vector<read_ready, Capacity> confirmed{};
    fixed_vector<read_tag, Capacity> dropped{};

    // Each read is queued, confirmed or dropped, so all three share the bound.
    bool has_room() const noexcept { return count + confirmed.size() + dropped.size() < Capacity; }
    const waiting& front() const noexcept { return ring[head]; }
    void push(read_tag tag) noexcept {
        ring[(head + count) % Capacity] = waiting{tag, round_queued ? round : round + 1};
        ++count;
    }
    void pop() noexcept {
        head = (head + 1) % Capacity;
        --count;
    }

    // A round has left and not yet confirmed the oldest read, which waits on it.
    bool round_in_flight() const noexcept { return count != 0 && front().round <= round; }
    // The newest read waits for a round not yet sent.
    bool wants_round() const noexcept {
        return count != 0 && ring[(head + count - 1) % Capacity].round > round;
    }

    // The round a heartbeat sent now carries: a new one while reads wait
    // for one, else 0 (nothing to confirm; a follower without check-quorum
    // need not answer it).
    std::uint64_t next_heartbeat_round() noexcept { return count == 0 ? 0 : next_round(); }
    // A round whatever waits (the leader lease renews with every heartbeat).
    std::uint64_t next_round() noexcept {
        round_queued = true;
        return ++round;
    }

    // `from` answered round r in our ballot. False for a round never sent.
    bool answer(node_id from, std::uint64_t r) noexcept {
        if (r > round || from.value >= MaxNodes) return false;
        if (r > answered[from.value]) answered[from.value] = r;
        return true;
    }
    // Who has answered round r or a later one, with `self`.
    node_set answered_since(std::uint64_t r, node_id self, std::size_t node_count) const noexcept {
        node_set s{};
        s.insert(self);
        for (std::size_t i = 0; i < node_count; ++i) {
            if (answered[i] >= r) s.insert(node_id{static_cast<std::uint16_t>(i)});
        }
        return s;
    }

    // A new leadership: no answer of an older ballot counts.
    void lead(slot_id recovered) noexcept {
        answered = {};
        recovered_end = recovered;
    }
    // Every read waiting is handed back.
    void drop_all() noexcept {
        for (; count != 0; pop()) dropped.push_back(front().tag);
    }
    void handed_back() noexcept {
        confirmed.clear();
        dropped.clear();
    }
};

}  // namespace paxos::inline v0
