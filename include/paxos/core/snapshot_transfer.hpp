// paxos/core/snapshot_transfer.hpp: compaction, and snapshots sent to and
// received from peers in bounded chunks.
//
// The state machine builds its snapshots and the driver stores them
// (storage/snapshot_store.hpp); the replica never holds snapshot bytes
// beyond one received chunk. What it keeps here:
//
//   * the compaction point, log_start: the driver's log holds no slot below
//     it (replica::compact), so a peer that needs one gets a snapshot, and
//     the snapshot the driver offers for that (replica::offer_snapshot);
//   * per peer, one outgoing transfer: which snapshot, how far it was asked
//     for (`next`) and how far the peer says it holds (`acked`);
//   * one incoming transfer: which snapshot, from whom, how many bytes from
//     the start have been taken, and the chunk waiting to be written.
//
// Pacing. The sender asks its driver (ready.snapshot_chunks) for at most
// `in_flight` chunks beyond what the peer acknowledged, so a transfer uses a
// bounded share of the link and never holds up commits: chunks are ordinary
// send_now messages, and the receiver's log keeps going while it receives.
// The receiver takes chunks only in order and one at a time; each is acked
// once its driver has written it (advance()).
//
// Loss and restarts. A chunk out of order (one was lost, or the sender
// restarted) is answered with a `resend` ack naming the offset the receiver
// holds, and the sender continues from there; so does a sender whose peer
// restarted with part of the snapshot on disk (resume_snapshot_receive: the
// store keeps a receive's whole chunks across a crash). A sender that hears
// nothing for retransmit_ticks asks again from the last acked offset, and
// after abort_retransmits silent rounds drops the transfer; the peer asks
// again (a learn request below our log_start) if it still needs it.
//
// Aborts. A transfer is about chosen state only, so it does not depend on
// who leads: a leader change does not stop it, and a new leader asked by
// the same peer either continues it (the same snapshot) or offers a newer
// one, which replaces it at the receiver (a higher slot wins). A receiver
// that no longer needs a snapshot (it has learned that far, or installed
// another) acks it as complete, which ends the sender's transfer. A driver
// whose snapshot became unreadable calls abort_snapshot(peer).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "../detail/algorithm.hpp"
#include "fixed_vector.hpp"
#include "ready.hpp"
#include "types.hpp"
#include "vocabulary.hpp"

namespace paxos::inline v0 {

template <std::size_t MaxNodes, std::size_t ChunkMax>
struct snapshot_transfers {
    // Chunks asked of the driver in one batch, over all peers; more follow
    // in the next batches.
    static constexpr std::size_t requests_max = 16;
    static constexpr std::uint32_t abort_retransmits = 8;

    struct outgoing {
        bool active = false;
        snapshot_offer snapshot{};
        std::uint64_t next = 0;   // bytes asked of the driver so far
        std::uint64_t acked = 0;  // bytes the peer said it holds
        std::uint32_t idle_ticks = 0;
    };
    struct incoming {
        bool active = false;
        node_id from{};
        snapshot_offer snapshot{};
        std::uint64_t taken = 0;  // bytes from the start handed to the driver
        std::uint32_t idle_ticks = 0;
    };

    slot_id log_start{};       // the driver's log holds nothing below
    snapshot_offer offered{};  // slot 0: none
    std::array<outgoing, MaxNodes> out{};
    std::size_t sending = 0;  // active entries of `out`: zero on every batch but a transfer's
    incoming in{};
    snapshot_offer resume{};  // a receive the driver's store kept across a restart
    std::uint64_t resume_bytes = 0;
    fixed_vector<std::byte, (ChunkMax == 0 ? 1 : ChunkMax)> chunk{};  // the chunk in `received`
    fixed_vector<received_chunk, 1> received{};
    fixed_vector<snapshot_chunk_request, requests_max> requests{};
    // The bodies of the chunk messages built for `requests` (snapshot_chunk_for).
    std::array<snapshot_part, requests_max> parts{};

    static bool same(const snapshot_offer& a, const snapshot_position& p, slot_id s) noexcept {
        return a.slot == s && a.size_bytes == p.size && a.crc == p.crc;
    }

    // Whether ready() would ask the driver for a chunk.
    bool wants_chunk(std::uint32_t in_flight) const noexcept {
        if (sending == 0) return false;
        for (const outgoing& o : out) {
            if (o.active && room(o, in_flight)) return true;
        }
        return false;
    }
    static bool room(const outgoing& o, std::uint32_t in_flight) noexcept {
        return o.next < o.snapshot.size_bytes &&
               o.next - o.acked < std::uint64_t{in_flight} * ChunkMax;
    }

    void start(std::size_t peer, const snapshot_offer& s) noexcept {
        outgoing& o = out[peer];
        if (o.active && o.snapshot == s) return;  // already under way: keep its progress
        if (!o.active) ++sending;
        o = outgoing{true, s, 0, 0, 0};
    }
    void stop(outgoing& o) noexcept {
        if (o.active) --sending;
        o = outgoing{};
    }

    // ready(): the chunks to read and send now.
    void collect(std::uint32_t in_flight) {
        if (sending == 0) return;
        for (std::size_t p = 0; p < out.size() && !requests.full(); ++p) {
            outgoing& o = out[p];
            while (o.active && room(o, in_flight) && !requests.full()) {
                const std::uint64_t left = o.snapshot.size_bytes - o.next;
                const auto length =
                    static_cast<std::uint32_t>(detail::min<std::uint64_t>(left, ChunkMax));
                requests.push_back(snapshot_chunk_request{node_id{static_cast<std::uint16_t>(p)},
                                                          o.snapshot, o.next, length});
                o.next += length;
            }
        }
    }

    // An ack from `peer`. True if the transfer ended or can ask for more.
    bool acked(std::size_t peer, slot_id s, const snapshot_position& p) noexcept {
        outgoing& o = out[peer];
        if (!o.active || !same(o.snapshot, p, s)) return false;
        o.idle_ticks = 0;
        if (p.offset == o.snapshot.size_bytes) {
            stop(o);  // complete, or no longer needed
            return false;
        }
        if (p.resend) {
            o.next = o.acked = p.offset;  // continue from what the peer holds
            return true;
        }
        if (p.offset <= o.acked) return false;  // an older ack, overtaken
        o.acked = p.offset;
        o.next = detail::max(o.next, o.acked);
        return true;
    }

    // One tick; true if some transfer asks again.
    bool tick(std::uint32_t retransmit_ticks) noexcept {
        bool again = false;
        for (outgoing& o : out) {
            if (!o.active) continue;
            if (++o.idle_ticks >= abort_retransmits * retransmit_ticks) {
                stop(o);  // the peer is gone; it asks again if it returns
            } else if (o.idle_ticks % retransmit_ticks == 0 && o.next > o.acked) {
                o.next = o.acked;  // lost chunks or acks: from the last acked byte
                again = true;
            }
        }
        if (in.active && in.idle_ticks < abort_retransmits * retransmit_ticks) ++in.idle_ticks;
        return again;
    }

    // A receive that made no progress for two retransmit rounds: its sender
    // would have sent again by now (it was cut off, or deposed and stopped),
    // so another sender may take over, from where the receive stands (a
    // sender waits abort_retransmits rounds before it gives up; waiting that
    // long here stalls a receiver whose sender left, scenario script
    // transfer_interrupted_by_leader_change.txt).
    bool in_idle(std::uint32_t retransmit_ticks) const noexcept {
        return in.idle_ticks >= stalled_retransmits * retransmit_ticks;
    }
    static constexpr std::uint32_t stalled_retransmits = 2;
};

}  // namespace paxos::inline v0
