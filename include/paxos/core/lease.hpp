// paxos/core/lease.hpp: the leader lease (opt in: replica::options::
// lease_ticks), which serves reads with no message at all.
//
// Every heartbeat of a leader with leases on carries a round (the read
// round of core/reads.hpp). An acceptor that answers one, in ballot b from
// leader H, grants H a lease: for lease_ticks of its own ticks from then
// it promises nobody but H (a prepare or a probe from anyone else is
// refused, reason::lease_held), unless the prepare comes from the node H
// handed over to in ballot b (transfer_leadership, below). The leader
// holds a lease while, by its own ticks, fewer than
//
//     M = floor((lease_ticks - 1) / (1 + drift)) - 1
//
// have passed since it sent a round that a phase-2 quorum, itself counted,
// has answered in its ballot; `drift` is lease_drift_permille / 1000.
//
// Why a lease read is linearizable. A write acknowledged before the read
// was chosen in some ballot b'. If b' is at most ours, the read index
// argument (core/reads.hpp) holds as it is: the lease stands in for the
// round only. A higher b' needs a phase-1 quorum that promised it, and
// that quorum shares an acceptor A with the phase-2 quorum that answered
// our round r (Q1 + Q2 > N, proved at compile time, config.hpp). A either
// promised b' before r reached it, and then it rejected r instead of
// answering it, or it received r first and refused to promise anyone else
// until lease_ticks of its ticks had passed. Sent at t, r reached A at
// t_A >= t, and A's ticks end the grant no earlier than
// t_A + (lease_ticks - 1) T_A (T_A: A's tick period; the first of those
// ticks may come at once). We serve a read while fewer than M ticks have
// passed since t, so before t + M T_L, and
//
//     M T_L <= (lease_ticks - 1) T_L / (1 + drift) - T_L
//           <= (lease_ticks - 1) T_A - T_L        when T_A >= T_L / (1 + drift).
//
// The clock assumption is that: no replica's ticks come more than `drift`
// faster than another's. The T_L to spare is for a tick the driver handles
// up to one period late (an event loop busy with a sync). So b' has not
// finished Phase 1 when we serve, and nothing the read misses was
// acknowledged.
//
// The grant is not durable (a heartbeat writes nothing): an acceptor that
// restarts, or starts for the first time with lease_ticks set, may have
// granted one it no longer knows, so it promises nobody, itself included,
// for lease_ticks ticks. A leader that starts a transfer ends its lease at
// once and takes no lease for the rest of that ballot; the target's
// prepares carry the handing-over ballot (in accepted_ballot), which lets
// acceptors holding that leader's grant promise it.
#pragma once

#include <array>
#include <cstdint>

#include "types.hpp"
#include "vocabulary.hpp"

namespace paxos::inline v0 {

// The ticks a leader's lease lasts from the send of the round that granted
// it, for an acceptor's grant of `lease_ticks` ticks and a drift bound in
// thousandths (0 when the lease would be empty: too short a grant).
constexpr std::uint32_t leader_lease_ticks(std::uint32_t lease_ticks,
                                           std::uint32_t drift_permille) noexcept {
    if (lease_ticks < 2) return 0;
    const std::uint64_t m = std::uint64_t{lease_ticks - 1} * 1000 / (1000 + drift_permille);
    return m >= 2 ? static_cast<std::uint32_t>(m - 1) : 0;
}

template <class Ballot>
struct lease_state {
    // How many recent rounds' send times are kept: an answer to an older
    // round is too late to matter next to the newer ones.
    static constexpr std::size_t rounds_kept = 16;

    // Set at construction: 0 when leases are off.
    std::uint32_t grant_ticks = 0;   // an acceptor's grant, in its ticks
    std::uint32_t leader_ticks = 0;  // M, above, in the leader's ticks

    // The leader's side: ticks left of the lease it holds (0: none), each
    // round's age in ticks, and whether the lease is forfeit for this
    // ballot (a transfer started).
    std::uint32_t held = 0;
    struct sent_round {
        std::uint64_t round = 0;
        std::uint32_t age = 0;
    };
    std::array<sent_round, rounds_kept> sent{};
    bool forfeit = false;

    // The acceptor's side: whom it granted, in which ballot, for how many
    // more ticks. A holder of none with ticks left is the wait after a
    // restart: nobody may be promised.
    node_id holder = node_id::none();
    Ballot ballot{};
    std::uint32_t granted = 0;

    bool enabled() const noexcept { return grant_ticks != 0; }

    void tick() noexcept {
        if (held != 0) --held;
        if (granted != 0) --granted;
        for (sent_round& s : sent) {
            if (s.age < leader_ticks) ++s.age;
        }
    }

    // ---- leader
    void sent_now(std::uint64_t round) noexcept { sent[round % rounds_kept] = {round, 0}; }
    // A phase-2 quorum has answered `round`: the lease runs M ticks from its send.
    void answered(std::uint64_t round) noexcept {
        const sent_round& s = sent[round % rounds_kept];
        if (forfeit || s.round != round || s.age >= leader_ticks) return;
        const std::uint32_t left = leader_ticks - s.age;
        if (left > held) held = left;
    }
    bool holds() const noexcept { return held != 0; }
    // A new leadership, or none: no lease until a round of it is answered.
    void end() noexcept {
        held = 0;
        forfeit = false;
        sent = {};
    }

    // ---- acceptor
    void grant(node_id to, Ballot b) noexcept {
        holder = to;
        ballot = b;
        granted = grant_ticks;
    }
    // After a restart, or a first start: a grant may have been forgotten.
    void wait_out() noexcept {
        holder = node_id::none();
        ballot = Ballot{};
        granted = grant_ticks;
    }
    // May we promise `to`, whose prepare names `handed_over` (the ballot
    // of the leader that transferred to it, zero if none)?
    bool allows_promise(node_id to, Ballot handed_over) const noexcept {
        if (granted == 0 || to == holder) return true;
        return holder != node_id::none() && !handed_over.is_zero() && handed_over == ballot;
    }
};

}  // namespace paxos::inline v0
