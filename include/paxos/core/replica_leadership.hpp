// paxos/core/replica_leadership.hpp: what keeps a leader in place and
// useful between its commands: check-quorum, the probe before Phase 1,
// leadership transfer, and the linearizable reads it serves (the read index
// of core/reads.hpp and the lease of core/lease.hpp).
//
// Part of replica.hpp, which includes it; included alone it brings the class.
#pragma once

#include <cstdint>

#include "../detail/algorithm.hpp"
#include "replica.hpp"

namespace paxos::inline v0 {

// Check-quorum (etcd's CheckQuorum, the Raft thesis §6.2): a leader that
// heard from no phase-2 quorum for a whole period cannot commit anything, so
// it stops acting as leader; its followers then time out and elect one that
// can. Without it, a leader whose incoming links fail keeps heartbeating, its
// followers never time out, and nothing commits (etcd-io/raft#266).
template <class Config>
void replica<Config>::check_quorum() {
    node_set heard = p_.heard;
    heard.insert(options_.self);
    p_.heard = node_set{};
    p_.heard_elapsed = 0;
    if (quorum_.is_phase2_quorum(heard)) return;
    (void)step_down();  // a retry would only find the same links: the policy waits
    p_.leader = node_id::none();
}

template <class Config>
result replica<Config>::transfer_leadership(node_id to) {
    const input_guard guard{*this};
    if (!has_outbox_room()) return {reason::outbox_full, p_.leader};
    if (p_.current != role::leader) return {reason::not_leader, p_.leader};
    if (to.value >= node_count_ || to == options_.self) return {reason::unknown_sender, p_.leader};
    if (p2_.open) seal_open_batch();  // what was taken is proposed, not lost
    // The lease ends now, and none is taken again in this ballot: the
    // acceptors will promise `to` whatever they granted us (core/lease.hpp).
    lease_.end();
    lease_.forfeit = true;
    p_.transfer_to = to;
    p_.transfer_elapsed = 0;
    send(to, message_kind::transfer, p_.ballot);
    return {reason::ok, to};
}

// Our leader hands over to us: Phase 1 at once, without a probe.
template <class Config>
auto replica<Config>::on_transfer(const message_type& m) -> handled {
    if (m.ballot < a_.promised || p_.current == role::leader) return {reason::ignored};
    p_.handed_over = m.ballot;                         // our prepares name it: its lease is over
    return {reason::ok, leader_action::start_phase1};  // step() starts it once we are done
}

// An election timeout: with a stable leader, probe first (options::probe).
template <class Config>
result replica<Config>::probe_or_campaign() {
    if constexpr (leader_type::followers_propose) {
        return become_candidate();  // leader-free: every proposer competes, backoff decides
    } else {
        return options_.probe ? start_probe() : become_candidate();
    }
}

// Asks every peer whether it would promise the ballot we would use, without
// using it: a node partitioned away for a while probes in vain instead of
// returning with a ballot that deposes a healthy leader, and a probe resets
// nobody's timer (a prepare from a candidate that cannot win would keep
// resetting them; see tests/scenario/testdata/one_way_links_*.txt).
template <class Config>
result replica<Config>::start_probe() {
    const ballot_type floor = detail::max(a_.promised, p_.highest_seen);
    const std::optional<ballot_type> next = ballot_type::next_above(floor, options_.self);
    if (!next) return {reason::ballot_exhausted, p_.leader};
    p_.current = role::follower;  // a candidate whose Phase 1 stalled probes again
    p_.probing = true;
    p_.probe_ballot = *next;
    p_.probe_grants = node_set{};
    p_.probe_grants.insert(options_.self);
    if (quorum_.is_phase1_quorum(p_.probe_grants)) return become_candidate();
    broadcast(message_kind::probe, *next, l_.chosen_end);
    return {reason::ok, p_.leader};
}

// A probe: grant unless a live leader is known (stickiness) or the ballot is
// no higher than our promise. Nothing changes here but the reply.
template <class Config>
auto replica<Config>::on_probe(const message_type& m) -> handled {
    const bool sticky =
        p_.current == role::leader || (p_.leader != node_id::none() && p_.leader != m.from &&
                                       l_.quiet_ticks < options_.probe_sticky_ticks);
    const bool grant =
        !sticky && a_.may_promise(m.ballot) && lease_.allows_promise(m.from, ballot_type{});
    message_type& r = send(m.from, message_kind::probe_reply, m.ballot, slot_id{grant ? 1u : 0u});
    r.accepted_ballot = a_.promised;  // so a stale prober's next ballot beats it
    return {};
}

template <class Config>
auto replica<Config>::on_probe_reply(const message_type& m) -> handled {
    if (!p_.probing || m.ballot != p_.probe_ballot || p_.current != role::follower) {
        return {reason::ignored};
    }
    if (m.accepted_ballot > p_.highest_seen) p_.highest_seen = m.accepted_ballot;
    if (m.slot.value != 1) return {};
    p_.probe_grants.insert(m.from);
    if (!quorum_.is_phase1_quorum(p_.probe_grants)) return {};
    p_.probing = false;
    return {reason::ok, leader_action::start_phase1};  // step() starts Phase 1 once we are done
}

// A follower answers our heartbeat: it still follows this ballot, and had
// promised no higher one when it answered the read round the reply echoes.
template <class Config>
auto replica<Config>::on_heartbeat_reply(const message_type& m) -> handled {
    if (p_.current != role::leader || m.ballot != p_.ballot) return {reason::ignored};
    p_.heard.insert(m.from);
    if constexpr (reads_max != 0) {
        if (m.slot.value != 0) {
            if (!rd_.answer(m.from, m.slot.value)) return {reason::ignored};  // never sent
            if (lease_.enabled()) renew_lease();
            confirm_reads();
        }
    }
    return {};
}

// Hands out the reads a phase-2 quorum has confirmed (core/reads.hpp), in
// the order they were queued: a later read needs a later round.
template <class Config>
void replica<Config>::confirm_reads() {
    if (rd_.count == 0 || l_.chosen_end < rd_.recovered_end) return;
    std::uint64_t round = 0;
    bool confirmed = false;
    while (rd_.count != 0) {
        const auto& next = rd_.front();
        if (round != next.round || round == 0) {
            round = next.round;
            confirmed =
                !rules::read_needs_quorum_round || lease_.holds() ||
                quorum_.is_phase2_quorum(rd_.answered_since(round, options_.self, node_count_));
        }
        if (!confirmed) return;
        rd_.confirmed.push_back(read_ready{next.tag, l_.chosen_end});
        rd_.pop();
        note_output();
        // The round in flight is answered: the reads queued meanwhile get theirs.
        if (!rd_.round_in_flight() && rd_.wants_round() && !rd_.round_queued &&
            !self_is_phase2_quorum_) {
            broadcast(message_kind::heartbeat, p_.ballot);
        }
    }
}

// The newest round a phase-2 quorum, ourselves counted, has answered
// renews the lease from its send (core/lease.hpp).
template <class Config>
void replica<Config>::renew_lease() {
    std::uint64_t best = 0;
    for (std::size_t i = 0; i < node_count_; ++i) {
        const std::uint64_t r = rd_.answered[i];
        if (r <= best) continue;
        if (quorum_.is_phase2_quorum(rd_.answered_since(r, options_.self, node_count_))) best = r;
    }
    if (best != 0) lease_.answered(best);
}

template <class Config>
inline result replica<Config>::read(read_tag tag) {
    static_assert(reads_max != 0,
                  "replica::read: this config has no reads (reads_max = 0; a single-decree "
                  "config reads its chosen value)");
    const input_guard guard{*this};
    if (p_.current != role::leader) return {reason::not_leader, p_.leader};
    if (p_.transfer_to != node_id::none()) return {reason::not_leader, p_.transfer_to};
    if (!rd_.has_room()) return {reason::read_queue_full, p_.leader};
    if (!has_outbox_room()) return {reason::outbox_full, p_.leader};
    rd_.push(tag);
    // One round for every read queued before it leaves (at ready()), and
    // one round in flight at a time: a read queued while an earlier round
    // is unanswered waits for the next, sent once that one is answered
    // (confirm_reads) or with the next heartbeat. A leader whose vote
    // alone is a phase-2 quorum needs none, nor one holding a lease.
    if (!rd_.round_queued && !rd_.round_in_flight() && !self_is_phase2_quorum_ && !lease_.holds()) {
        broadcast(message_kind::heartbeat, p_.ballot);
    }
    confirm_reads();
    return {reason::ok, p_.leader};
}

}  // namespace paxos::inline v0
