// paxos/core/proposer.hpp: the proposer's own state: the role that decides
// which units act, its ballot, the leader it follows, and the state of the
// probe, check-quorum and a leadership transfer under way. The replica
// changes the role only through become_candidate, become_leader and
// step_down (replica_proposer.hpp).
#pragma once

#include <cstdint>

#include "types.hpp"
#include "vocabulary.hpp"

namespace paxos::inline v0 {

template <class Ballot>
struct proposer_state {
    role current = role::follower;
    Ballot ballot{};        // our latest own ballot
    Ballot highest_seen{};  // highest ballot in any message
    node_id leader = node_id::none();
    std::uint32_t retransmit_elapsed = 0;
    // The furthest chosen_end our accepts and heartbeats have carried.
    slot_id announced{};
    // Check-quorum: who answered our ballot in this period, and its age.
    node_set heard{};
    std::uint32_t heard_elapsed = 0;
    // The probe: the ballot we would campaign with, and who granted it.
    bool probing = false;
    Ballot probe_ballot{};
    node_set probe_grants{};
    // A leader that handed over to us did so in this ballot (zero:
    // none): the Phase 1 it asked for names it (core/lease.hpp), as
    // does the one under way (campaign_handed_over).
    Ballot handed_over{};
    Ballot campaign_handed_over{};
    // Leadership transfer under way (transfer_leadership), and its age.
    node_id transfer_to = node_id::none();
    std::uint32_t transfer_elapsed = 0;
    bool fresh = true;  // no input yet: restore() is allowed
};

}  // namespace paxos::inline v0
