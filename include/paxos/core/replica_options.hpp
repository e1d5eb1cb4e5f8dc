// paxos/core/replica_options.hpp: what a replica is configured with at
// construction, and what a restarted one recovers from its durable storage.
#pragma once

#include <cstdint>
#include <span>

#include "types.hpp"
#include "vocabulary.hpp"

namespace paxos::inline v0 {

template <class LeaderOptions>
struct replica_options {
    node_id self{};
    std::uint64_t seed = 0;  // for the leader policy's randomness
    LeaderOptions leader{};
    // A candidate re-sends prepare, and a leader re-sends accepts for
    // unchosen slots and a heartbeat, every this many ticks (lost messages).
    std::uint32_t retransmit_ticks = 4;
    // Check-quorum: a leader that has not heard, within this many ticks,
    // from a phase-2 quorum (accepted or heartbeat_reply in its ballot)
    // steps down: it cannot commit, and a read or lease it served could
    // be stale. 0: the leader policy's longest election timeout
    // (election_ticks_max) if it has one, else 8 retransmit rounds.
    // Followers answer every heartbeat (heartbeat_reply) when it is on.
    bool check_quorum = true;
    std::uint32_t check_quorum_ticks = 0;
    // The probe (PreVote, for Paxos), for a stable-leader policy: a
    // follower whose election timer fires first asks whether a phase-1
    // quorum would promise the ballot it would use; only with a quorum
    // of grants does it raise (and persist) a ballot and start Phase 1.
    // Nothing durable changes on either side, and no timer is reset. A
    // replica grants unless it leads, or heard its leader within
    // probe_sticky_ticks (0: the policy's election_ticks_min, else 8
    // retransmit rounds), or has promised a ballot as high.
    bool probe = true;
    std::uint32_t probe_sticky_ticks = 0;
    // The leader lease (core/lease.hpp), off at 0: an acceptor that
    // answers a heartbeat round promises nobody else for lease_ticks of
    // its ticks, and the leader serves reads with no round while what
    // is left of that grant, by its own ticks, allows. lease_drift_permille
    // bounds how much faster one replica's ticks may come than
    // another's (thousandths). Every replica of a cluster must use the
    // same values. With leases on, a replica promises nobody, itself
    // included, for lease_ticks ticks after it starts (a grant is not
    // durable). lease_ticks must leave the leader at least one tick:
    // leader_lease_ticks(lease_ticks, lease_drift_permille) >= 1.
    std::uint32_t lease_ticks = 0;
    std::uint32_t lease_drift_permille = 100;
    // Snapshot chunks a transfer may have sent and not seen acknowledged
    // (core/snapshot_transfer.hpp): the transfer's share of the link.
    std::uint32_t snapshot_chunks_in_flight = 4;
};

// What a restarted replica recovers from its durable storage.
template <class Ballot, class Record>
struct replica_recovery {
    Ballot promised{};
    slot_id first_unapplied{};           // the state machine has applied every slot below
    std::span<const Record> accepted{};  // in the order they were persisted
};

}  // namespace paxos::inline v0
