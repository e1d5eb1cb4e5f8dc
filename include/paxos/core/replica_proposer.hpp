// paxos/core/replica_proposer.hpp: the replica's proposer: its role changes
// (candidate, leader, follower), the phase-1 tally's handlers (phase1.hpp)
// and the phase-2 pipeline's (phase2.hpp), and retransmission.
//
// Part of replica.hpp, which includes it; included alone it brings the class.
#pragma once

#include <optional>
#include <span>

#include "../detail/algorithm.hpp"
#include "replica.hpp"

namespace paxos::inline v0 {

template <class Config>
result replica<Config>::tick() {
    const input_guard guard{*this};
    if (!has_outbox_room()) return {reason::outbox_full, p_.leader};
    result r{reason::ok, p_.leader};
    if (lease_.enabled()) lease_.tick();
    if (p_.current == role::candidate && l_.chosen_end > p1_.from) {
        // Our Phase 1 asked from a slot that has since been chosen (we
        // were behind and caught up meanwhile): its promises can no longer
        // complete, so stop re-sending it and let the policy decide.
        p_.current = role::follower;
        if (leader_policy_.on_preempted(context()) == leader_action::start_phase1 && !decided()) {
            r = become_candidate();
        }
    }
    switch (leader_policy_.on_tick(context())) {
        case leader_action::start_phase1:
            if (p_.current != role::leader && !decided()) r = probe_or_campaign();
            break;
        case leader_action::heartbeat:
            if (p_.current == role::leader) broadcast(message_kind::heartbeat, p_.ballot);
            break;
        case leader_action::none: break;
    }
    if (p_.current == role::leader && options_.check_quorum &&
        ++p_.heard_elapsed >= options_.check_quorum_ticks) {
        check_quorum();
    }
    if (p_.current == role::leader && p_.transfer_to != node_id::none() &&
        ++p_.transfer_elapsed >= options_.check_quorum_ticks) {
        p_.transfer_to = node_id::none();  // the target did not take over: lead on
        flush_pending();
    }
    if (++p_.retransmit_elapsed >= options_.retransmit_ticks) {
        p_.retransmit_elapsed = 0;
        if (p_.current != role::follower) {
            retransmit();
        } else if (wants_outcome()) {
            // A learner that voted (or promised, in a single decree) but
            // never heard the outcome asks everyone: the announcement may
            // have been lost and no leader may be left to repeat it.
            broadcast(message_kind::learn_request, a_.promised, l_.chosen_end);
        }
    }
    if (p_.current == role::follower) {
        std::uint32_t& quiet = l_.quiet_ticks;
        if (quiet < ~std::uint32_t{0}) ++quiet;
        if (quiet % quiet_ticks_max() == 0 && quiet < ~std::uint32_t{0}) {
            // Anti-entropy: a follower that has heard no leader for a long
            // while (none may be left: leader-free policies elect one only
            // for new work) asks whether it missed chosen slots. Peers
            // that know no more stay silent.
            broadcast(message_kind::learn_request, a_.promised, l_.chosen_end);
        }
    }
    if (l_.asked_ticks < ~std::uint32_t{0}) ++l_.asked_ticks;
    if constexpr (snapshot_chunk_bytes != 0) {
        if (x_.tick(options_.retransmit_ticks)) note_output();
    }
    return r;
}

// Phase 1 with a ballot above every one seen. Self-promise: the ballot is
// durable in this batch before the prepare leaves, so after a restart
// next_above(promised) never reuses it.
template <class Config>
result replica<Config>::become_candidate() {
    const ballot_type floor = detail::max(a_.promised, p_.highest_seen);
    const std::optional<ballot_type> next = ballot_type::next_above(floor, options_.self);
    if (!next) return {reason::ballot_exhausted, p_.leader};
    PAXOS_ASSERT(*next > floor);
    // Our own promise counts toward our Phase 1: not while we owe a lease
    // to another leader, or wait one out after a restart (core/lease.hpp).
    const ballot_type handed_over = std::exchange(p_.handed_over, ballot_type{});
    if (!lease_.allows_promise(options_.self, handed_over)) return {reason::lease_held, p_.leader};
    p_.campaign_handed_over = handed_over;
    p_.current = role::candidate;
    p_.probing = false;
    p_.ballot = *next;
    a_.raise_promise(p_.ballot);
    if (a_.promised_dirty) note_output();
    p_.leader = node_id::none();
    p2_.template stop<false>(lose_tag());
    p_.retransmit_elapsed = 0;
    p1_.template begin<rules::votes_count_in_one_ballot>(w_, l_.chosen_end, options_.self);
    send_prepare();
    if (quorum_.is_phase1_quorum(p1_.promised_by)) become_leader();
    return {reason::ok, p_.leader};
}

// Phase 1 is complete. Every slot from p1_.from up to the highest slot
// anyone reported is re-proposed in our ballot, even where a value was
// already accepted: only a phase-2 quorum in one ballot makes a value
// chosen, and older votes cannot be added to ours (PMS §2.2, P2c).
template <class Config>
void replica<Config>::become_leader() {
    PAXOS_ASSERT(p_.current == role::candidate);
    PAXOS_ASSERT(p_.ballot == a_.promised);
    p_.current = role::leader;
    p_.leader = options_.self;
    p_.heard = node_set{};
    p_.heard_elapsed = 0;
    p2_.proposer_unfinished = false;
    rd_.lead(w_.end);  // reads wait until what Phase 1 recovered is chosen
    lease_.end();      // none until a round of this ballot is answered
    leader_policy_.on_elected();
    // Announce the new leader at once so followers redirect clients and
    // reset their election timers before the first command arrives.
    broadcast(message_kind::heartbeat, p_.ballot);
    // Re-propose every open slot: the adopted value, or a no-op in a gap.
    const slot_id end = w_.end;
    for (slot_id s = p1_.from; s < end; s = s.next()) {
        slot_type& rec = w_.at(s);
        if (rec.chosen) continue;
        batch_type values = rec.spare;
        if constexpr (!rules::leader_adopts_votes) values.clear();
        propose_slot(s, values.view());
        if (p_.current != role::leader) return;
    }
    p2_.next_slot = detail::max(w_.end, l_.chosen_end);
    flush_pending();
}

// A proposer stops being one: its ballot is beaten or a newer leader's
// choice reached it, whose ballot it may not know. Returns what the
// leader policy wants next; the caller's input acts on it when done.
template <class Config>
leader_action replica<Config>::step_down() {
    PAXOS_ASSERT(p_.current != role::follower);
    p_.current = role::follower;
    p_.transfer_to = node_id::none();
    // No read is served any more, so the grant we gave ourselves is moot.
    lease_.end();
    if (lease_.holder == options_.self) lease_.granted = 0;
    if (rd_.count != 0) {
        rd_.drop_all();  // a newer leader may have chosen writes they would miss
        note_output();
    }
    p2_.template stop<leader_type::followers_propose>(lose_tag());
    // Slots we proposed and did not see chosen are our unfinished work:
    // a leader-free policy may retry for them at once.
    if (l_.chosen_end < w_.end) p2_.proposer_unfinished = true;
    return leader_policy_.on_preempted(context());
}

// Steps down if `higher` beats our ballot. A retry always goes through
// Phase 1 with a new, higher ballot (seed "edge case 1": skipping Phase 1
// on retry can overwrite a chosen value).
template <class Config>
leader_action replica<Config>::preempted_by(ballot_type higher) {
    if (p_.current == role::follower || !(higher > p_.ballot)) return leader_action::none;
    return step_down();
}

template <class Config>
auto replica<Config>::on_promise(const message_type& m) -> handled {
    if (p_.current != role::candidate || m.ballot != p_.ballot) return {reason::ignored};
    if (const reason r = p1_.admit(m); r != reason::ok) return {r};
    reason r = reason::ok;
    std::size_t at_value = 0;
    for (const report_type& v : m.votes) {
        const auto values = m.values.subspan(at_value, v.value_count);
        at_value += v.value_count;
        if (!w_.make_room(v.slot, l_.applied_end)) {
            // Cannot hold this vote, so this promise cannot be counted.
            p1_.tainted.insert(m.from);
            r = reason::slot_out_of_window;
            continue;
        }
        slot_type& rec = w_.at(v.slot);
        w_.use(v.slot);
        if (v.chosen) {
            if (!rec.chosen) mark_chosen(v.slot, rec, values, ballot_type{});
        } else {
            phase1_type::adopt(rec, v.ballot, values);
        }
    }
    if (p1_.count(m.from) && p_.current == role::candidate &&
        quorum_.is_phase1_quorum(p1_.promised_by)) {
        become_leader();
    }
    return {r};
}

// Chosen only when one phase-2 quorum accepted in the same ballot: votes
// are collected per slot for p_.ballot alone and reset on every proposal.
template <class Config>
auto replica<Config>::on_accepted(const message_type& m) -> handled {
    const bool ours = !rules::votes_count_in_one_ballot || m.ballot == p_.ballot;
    if (p_.current != role::leader || !ours) return {reason::ignored};
    p_.heard.insert(m.from);  // check-quorum: it follows us
    if (!w_.holds(m.slot)) return {reason::ignored};
    slot_type& rec = w_.at(m.slot);
    if (!rec.proposed || rec.chosen) return {reason::ignored};
    rec.votes.insert(m.from);
    if (quorum_.is_phase2_quorum(rec.votes)) on_quorum_accepted(m.slot, rec);
    return {};
}

// A leader or candidate that sees a higher ballot steps down at once.
template <class Config>
auto replica<Config>::on_reject(const message_type& m) -> handled {
    if (p_.current == role::follower || !(m.ballot > p_.ballot)) return {reason::ignored};
    if (m.ballot.owner() != options_.self) p_.leader = m.ballot.owner();
    return {reason::ok, preempted_by(m.ballot)};
}

template <class Config>
void replica<Config>::seal_open_batch() {
    PAXOS_ASSERT(p2_.open && p_.current == role::leader);
    // Proposed straight from the open batch: propose_slot copies it once,
    // into our vote (nothing it calls touches the open batch).
    p2_.open = false;
    propose_slot(p2_.open_slot, p2_.open_batch.view(), p2_.open_tags.view());
    p2_.open_batch.clear();
    p2_.open_tags.clear();
}

// Moves commands queued while not leader into a slot of their own.
template <class Config>
void replica<Config>::flush_pending() {
    if (p2_.pending.empty() || p_.current != role::leader || decided()) return;
    if (p_.transfer_to != node_id::none()) return;  // handing over
    if (p2_.open) seal_open_batch();
    if (p2_.open_next(w_, l_.applied_end) != reason::ok) return;
    note_output();
    p2_.open_batch = p2_.pending;
    p2_.open_tags = p2_.pending_tags;
    p2_.pending.clear();
    p2_.pending_tags.clear();
    seal_open_batch();
}

// Phase 2a for one slot: vote for it ourselves and ask everyone else at
// once. Our vote is written while the accepts travel and counts only at
// advance(), once durable (count_own_vote): a chosen notice that counted
// it earlier could leave, and a crash then forget the vote, leaving the
// value chosen by a quorum that no longer holds it.
template <class Config>
void replica<Config>::propose_slot(slot_id s, std::span<const value_type> values,
                                   std::span<const proposal_tag> tags) {
    slot_type& rec = w_.at(s);
    // A leader that learns of a choice in a slot it reserved or has yet
    // to use steps down first (on_chosen: a newer leader made it), so
    // only quorums that miss each other (a split brain) could get here.
    PAXOS_ASSERT(!rec.chosen);
    rec.proposed = true;
    rec.sent_this_round = true;
    if constexpr (rules::votes_count_in_one_ballot) rec.votes.clear();
    before_vote(rec, values);                 // a re-proposal over a proposal of ours
    a_.cast_vote(s, rec, p_.ballot, values);  // p_.ballot == promise here
    if (!tags.empty()) {
        // New commands go to a fresh slot; their tags wait for its outcome.
        PAXOS_ASSERT(rec.own == own_proposal::none && tags.size() == values.size());
        rec.tags.assign(tags);
        rec.own = own_proposal::pending;
    }
    note_output();
    w_.use(s);
    if constexpr (!rules::own_vote_counts_when_durable) {
        rec.votes.insert(options_.self);
        if (quorum_.is_phase2_quorum(rec.votes)) {
            on_quorum_accepted(s, rec);
            return;
        }
    }
    // Our vote alone is a phase-2 quorum (flexible, Q2 = 1): the chosen
    // message, once it is durable, carries the value; no accept is needed.
    if (self_is_phase2_quorum_) return;
    // A follower makes room for slot s only over slots it has applied, and it
    // applies what it learned from one message only after that message: if
    // no earlier accept or heartbeat of ours announced a chosen_end within a
    // window of s, one goes first (at most once per window: it announces
    // everything chosen, and our own window ends within W of that).
    if (s.value >= p_.announced.value + window_slots) broadcast(message_kind::heartbeat, p_.ballot);
    if (message_type* a = broadcast(message_kind::accept, p_.ballot, s)) {
        put_values(*a, rec.values.view());
    }
}

// advance(): a vote of ours, handed out for persisting in the batch just
// acknowledged, is durable and counts if it is still our proposal.
template <class Config>
void replica<Config>::count_own_vote(const record_type& r) {
    if (p_.current != role::leader || r.ballot != p_.ballot) return;
    slot_type& rec = w_.at(r.slot);
    if (!rec.proposed || rec.chosen || rec.accepted_ballot != p_.ballot) return;
    rec.votes.insert(options_.self);
    if (quorum_.is_phase2_quorum(rec.votes)) on_quorum_accepted(r.slot, rec);
}

template <class Config>
void replica<Config>::on_quorum_accepted(slot_id s, slot_type& rec) {
    mark_chosen_as_voted(s, rec, p_.ballot);
    // Under a stable leader, followers that voted learn it from the chosen_end
    // of our next accept or heartbeat (learn_from_leader), so no message per
    // slot is needed. Where no accept went out (our vote alone chose the
    // slot), in a single decree (one slot, no next accept) and with
    // proposers that run without a leader (whose followers campaign sooner
    // the longer they wait), the value travels now.
    if (!self_is_phase2_quorum_ && !single_decree && !leader_type::followers_propose) return;
    if (message_type* c = broadcast(message_kind::chosen, p_.ballot, s)) {
        c->accepted_ballot = p_.ballot;  // chosen in our ballot
        put_values(*c, rec.values.view());
    }
}

// The network may lose anything, so a proposer repeats itself: a
// candidate its prepare, a leader the accepts of unchosen slots and a
// heartbeat. Acceptors answer repeats idempotently; duplicate votes do
// not count twice (votes are a node set).
template <class Config>
void replica<Config>::retransmit() {
    if (p_.current == role::candidate) {
        send_prepare();
        return;
    }
    // A slot proposed since the last round has had less than one interval
    // to be answered: repeating it now only doubles the traffic of a
    // pipeline whose round trip is near the interval (wide-area links).
    std::size_t sent = 0;
    for (slot_id s = l_.chosen_end; s < w_.end && sent + 1 < messages_per_input_max; s = s.next()) {
        if (!w_.holds(s)) break;
        slot_type& rec = w_.at(s);
        if (!rec.proposed || rec.chosen) continue;
        if (rec.sent_this_round) {
            rec.sent_this_round = false;
            continue;
        }
        if (message_type* a = broadcast(message_kind::accept, p_.ballot, s)) {
            put_values(*a, rec.values.view());
        }
        ++sent;
    }
    broadcast(message_kind::heartbeat, p_.ballot);
}

template <class Config>
inline bool replica<Config>::has_work() const noexcept {
    if (!p2_.pending.empty()) return true;
    if (l_.chosen_end >= w_.end) return false;
    return p2_.proposer_unfinished || l_.quiet_ticks >= 2 * options_.retransmit_ticks;
}

template <class Config>
inline void replica<Config>::hear_leader(node_id from) {
    p_.leader = from;
    p_.probing = false;
    l_.quiet_ticks = 0;
    leader_policy_.on_leader_heard();
}

}  // namespace paxos::inline v0
