// paxos/core/replica_inputs.hpp: construction, the checks and dispatch of
// every message (step_as), and the invariant chain asserted after every
// input (replica.hpp's header comment).
//
// Part of replica.hpp, which includes it; included alone it brings the class.
#pragma once

#include <cstdint>

#include "../detail/algorithm.hpp"
#include "replica.hpp"

namespace paxos::inline v0 {

template <class Config>
replica<Config>::replica(const options& opts, quorum_type quorum)
    : options_(opts),
      quorum_(quorum),
      leader_policy_(opts.leader, opts.seed),
      node_count_(quorum_.node_count()),
      checks_{opts.self, node_count_} {
    PAXOS_ASSERT(node_count_ >= 1);
    PAXOS_ASSERT(node_count_ <= Config::max_nodes);
    PAXOS_ASSERT(options_.self.value < node_count_);
    PAXOS_ASSERT(options_.retransmit_ticks >= 1);
    PAXOS_ASSERT(options_.snapshot_chunks_in_flight >= 1);
    for (std::size_t i = 0; i < node_count_; ++i) {
        if (i != options_.self.value) peers_.insert(node_id{static_cast<std::uint16_t>(i)});
    }
    node_set self{};
    self.insert(options_.self);
    self_is_phase2_quorum_ = quorum_.is_phase2_quorum(self);
    ready_.peers = peers_;  // fixed for life
    if (options_.probe_sticky_ticks == 0) {
        options_.probe_sticky_ticks = 8 * options_.retransmit_ticks;
        if constexpr (requires { opts.leader.election_ticks_min; }) {
            options_.probe_sticky_ticks = opts.leader.election_ticks_min;
        }
    }
    if (options_.check_quorum_ticks == 0) {
        options_.check_quorum_ticks = 8 * options_.retransmit_ticks;
        if constexpr (requires { opts.leader.election_ticks_max; }) {
            options_.check_quorum_ticks =
                detail::max<std::uint32_t>(opts.leader.election_ticks_max, 1);
        }
    }
    if (options_.lease_ticks != 0) {
        PAXOS_ASSERT(reads_max != 0);  // a single decree has no reads to serve
        lease_.grant_ticks = options_.lease_ticks;
        lease_.leader_ticks =
            rules::lease_allows_for_drift
                ? leader_lease_ticks(options_.lease_ticks, options_.lease_drift_permille)
                : options_.lease_ticks;
        PAXOS_ASSERT(lease_.leader_ticks >= 1);  // lease_ticks too short for its drift
        if constexpr (rules::lease_waits_out_restart) lease_.wait_out();
    }
}

template <class Config>
inline void replica<Config>::check_invariants() const noexcept {
    if constexpr (check_invariants_enabled) {
        PAXOS_ASSERT(w_.base <= l_.applied_end);
        PAXOS_ASSERT(l_.applied_end <= l_.chosen_end);
        PAXOS_ASSERT(l_.chosen_end <= w_.end);
        PAXOS_ASSERT(w_.end.value - w_.base.value <= window_slots);
        PAXOS_ASSERT(l_.chosen_end.value <= slot_id::limit);
        PAXOS_ASSERT(!p2_.open || p_.current == role::leader);
        if (p_.current == role::leader) PAXOS_ASSERT(p_.ballot == a_.promised);
        if (p_.current != role::follower) PAXOS_ASSERT(p_.ballot <= a_.promised);
        for (slot_id s = w_.base; s < w_.end; s = s.next()) {
            const slot_type& rec = w_.at(s);
            if (s < l_.chosen_end) PAXOS_ASSERT(rec.chosen);
            PAXOS_ASSERT(rec.accepted_ballot <= a_.promised);
            PAXOS_ASSERT(!rec.chosen_aside || (rec.chosen && rec.durable_dirty) || o_.outstanding);
        }
    }
}

// What has_ready() reports, read from the units' state: a message
// queued, a vote or promise to persist, a catch-up request, a chosen
// slot to hand out, or a leader's open batch to seal.
template <class Config>
inline bool replica<Config>::output_in_state() const noexcept {
    return (o_.box.size() | a_.dirty_slots.size() | l_.catch_up.size() | o_.dropped.size() |
            x_.received.size() | rd_.confirmed.size() | rd_.dropped.size() |
            std::size_t{a_.promised_dirty}) != 0 ||
           l_.chosen_end > l_.applied_end || (p2_.open && p_.current == role::leader) ||
           x_.wants_chunk(options_.snapshot_chunks_in_flight);
}

template <class Config>
result replica<Config>::step(const message_type& m) {
    switch (m.kind) {
        case message_kind::prepare: return step_as<message_kind::prepare>(m);
        case message_kind::promise: return step_as<message_kind::promise>(m);
        case message_kind::accept: return step_as<message_kind::accept>(m);
        case message_kind::accepted: return step_as<message_kind::accepted>(m);
        case message_kind::reject: return step_as<message_kind::reject>(m);
        case message_kind::chosen: return step_as<message_kind::chosen>(m);
        case message_kind::heartbeat: return step_as<message_kind::heartbeat>(m);
        case message_kind::learn_request: return step_as<message_kind::learn_request>(m);
        case message_kind::snapshot_chunk: return step_as<message_kind::snapshot_chunk>(m);
        case message_kind::snapshot_ack: return step_as<message_kind::snapshot_ack>(m);
        case message_kind::heartbeat_reply: return step_as<message_kind::heartbeat_reply>(m);
        case message_kind::probe: return step_as<message_kind::probe>(m);
        case message_kind::probe_reply: return step_as<message_kind::probe_reply>(m);
        case message_kind::transfer: return step_as<message_kind::transfer>(m);
    }
    const input_guard guard{*this};
    return {reason::malformed, p_.leader};
}

// step() for a message of kind K: the checks and the handler are chosen
// at compile time, so the hot kinds (accept, accepted) pay only for the
// checks that apply to them.
template <class Config>
template <message_kind K>
inline result replica<Config>::step_as(const message_type& m) {
    const input_guard guard{*this};
    node_id owner = node_id::none();  // of m.ballot; none for a zero ballot
    if (const reason r = checks_.template message_as<K>(m, owner); r != reason::ok) {
        return {r, p_.leader};
    }
    if (!has_outbox_room()) return {reason::outbox_full, p_.leader};
    // Agreement before anything changes: crash-fault Paxos never chooses
    // two values for a slot, so a contradiction means a broken peer or two
    // clusters mixed on one network. Say so, and trust nothing of it.
    if constexpr (K == message_kind::chosen || K == message_kind::promise) {
        if (contradicts_chosen(m)) return {reason::contradicts_chosen, p_.leader};
    }
    // No zero test: highest_seen starts at zero, so zero never exceeds it.
    // A probe's ballot is one nobody has used, and its reply echoes it:
    // neither says a ballot is at work.
    if constexpr (K != message_kind::probe && K != message_kind::probe_reply) {
        if (m.ballot > p_.highest_seen) p_.highest_seen = m.ballot;
    }
    handled h{};
    if constexpr (K == message_kind::prepare) h = on_prepare(m);
    if constexpr (K == message_kind::promise) h = on_promise(m);
    if constexpr (K == message_kind::accept) h = on_accept(m);
    if constexpr (K == message_kind::accepted) h = on_accepted(m);
    if constexpr (K == message_kind::reject) h = on_reject(m);
    if constexpr (K == message_kind::chosen) h = on_chosen(m, owner);
    if constexpr (K == message_kind::heartbeat) h = on_heartbeat(m);
    if constexpr (K == message_kind::learn_request) h = on_learn_request(m);
    if constexpr (K == message_kind::snapshot_chunk) h = on_snapshot_chunk(m);
    if constexpr (K == message_kind::snapshot_ack) h = on_snapshot_ack(m);
    if constexpr (K == message_kind::heartbeat_reply) h = on_heartbeat_reply(m);
    if constexpr (K == message_kind::probe) h = on_probe(m);
    if constexpr (K == message_kind::probe_reply) h = on_probe_reply(m);
    if constexpr (K == message_kind::transfer) h = on_transfer(m);
    // A retry the policy asked for when the message preempted us starts
    // only now, after its handler is done: a Phase 1 started mid-handler
    // would report our votes before the vote this very message casts, and
    // then cast a vote below the promise it just made (found by the
    // exhaustive explorer). Handlers cannot start Phase 1; they say so.
    if (h.then == leader_action::start_phase1 && p_.current == role::follower && !decided()) {
        (void)become_candidate();
    }
    return {h.code, p_.leader};
}

}  // namespace paxos::inline v0
