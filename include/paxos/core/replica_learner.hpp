// paxos/core/replica_learner.hpp: the replica's learner handlers: chosen
// values, heartbeats and requests for missed slots, on the learner unit
// (learner.hpp).
//
// Part of replica.hpp, which includes it; included alone it brings the class.
#pragma once

#include <optional>
#include <span>

#include "../detail/algorithm.hpp"
#include "replica.hpp"

namespace paxos::inline v0 {

// `b` is the leader's ballot when the leader announces its own choice, and
// zero when any replica repeats a chosen value (which says nothing about
// who leads). Either way the message says which ballot chose the value,
// when we know it, so a stale leader that hears it learns it was deposed.
template <class Config>
void replica<Config>::send_chosen(node_id to, slot_id s, const slot_type& rec, ballot_type b) {
    message_type& c = send(to, message_kind::chosen, b, s);
    c.accepted_ballot = rec.chosen_ballot;
    put_values(c, learner_type::chosen_values(rec).view());
}

// Chosen messages to `to` for every chosen slot we hold in [from, until).
template <class Config>
void replica<Config>::send_chosen_from(node_id to, slot_id from, slot_id until) {
    PAXOS_ASSERT(from >= w_.base);
    const slot_id end = detail::min(until, l_.chosen_end);
    for (slot_id s = from; s < end; s = s.next()) {
        send_chosen(to, s, w_.at(s), ballot_type{});
    }
}

template <class Config>
void replica<Config>::mark_chosen(slot_id s, slot_type& rec, std::span<const value_type> values,
                                  ballot_type in) {
    const slot_id before = l_.chosen_end;
    settle_own(rec, values);  // before rec.values may become the chosen value
    l_.mark_chosen(w_, s, rec, values, in);
    after_chosen(before);
}

template <class Config>
void replica<Config>::mark_chosen_as_voted(slot_id s, slot_type& rec, ballot_type in) {
    const slot_id before = l_.chosen_end;
    settle_own_as_voted(rec);
    l_.mark_chosen_as_voted(w_, s, rec, in);
    after_chosen(before);
}

template <class Config>
void replica<Config>::after_chosen(slot_id chosen_end_before) {
    if (l_.chosen_end != chosen_end_before) note_output();
    // Reads wait for the slots our Phase 1 recovered (core/reads.hpp).
    if constexpr (reads_max != 0) {
        if (rd_.count != 0 && p_.current == role::leader) confirm_reads();
    }
    if (l_.chosen_end >= w_.end) p2_.proposer_unfinished = false;
    if (decided()) p2_.drop_pending(lose_tag());
}

// A chosen value, announced by the leader that got it chosen (carrying its
// ballot, which also tells us who leads) or repeated by any replica for a
// learner that asked (zero ballot). Both carry, in accepted_ballot, the
// ballot the value was chosen in when the sender knows it.
template <class Config>
auto replica<Config>::on_chosen(const message_type& m, node_id owner) -> handled {
    leader_action then = leader_action::none;
    if (owner == m.from && m.ballot >= a_.promised) {
        then = preempted_by(m.ballot);
        hear_leader(m.from);
    }
    // A value chosen in a ballot above ours: a newer leader has completed
    // both phases, so we no longer lead (and our next ballot must beat it).
    if (m.accepted_ballot > p_.highest_seen) p_.highest_seen = m.accepted_ballot;
    if (p_.current != role::follower && m.accepted_ballot > p_.ballot) {
        then = preempted_by(m.accepted_ballot);  // at most one step-down per input
        p_.leader = m.accepted_ballot.owner();
    }
    if (m.slot < w_.base) return {reason::ignored, then};
    if (!w_.make_room(m.slot, l_.applied_end)) return {reason::slot_out_of_window, then};
    slot_type& rec = w_.at(m.slot);
    if (rec.chosen) {
        if (rec.chosen_ballot.is_zero()) rec.chosen_ballot = m.accepted_ballot;
        return {reason::ignored, then};
    }
    if (p_.current == role::leader &&
        (!rec.proposed || !learner_type::same_values(rec.values.view(), m.values))) {
        // Chosen where we have proposed nothing (a slot we reserved or
        // have yet to use) or something else: another proposer with a
        // higher ballot completed Phase 1 past us (our Phase 1 would have
        // adopted any value chosen below our ballot). We do not lead any
        // more; stepping down keeps us from proposing into a chosen slot.
        then = step_down();
        p_.leader = m.accepted_ballot.is_zero() ? node_id::none() : m.accepted_ballot.owner();
    }
    mark_chosen(m.slot, rec, m.values, m.accepted_ballot);
    return {reason::ok, then};
}

// A chosen message, or a promise's report of a chosen slot, whose value
// differs from the one we know chosen there.
template <class Config>
bool replica<Config>::contradicts_chosen(const message_type& m) const {
    if (m.kind == message_kind::chosen) return l_.contradicts_at(w_, m.slot, m.values);
    if (m.kind != message_kind::promise) return false;
    std::size_t at_value = 0;
    for (const report_type& v : m.votes) {
        const auto values = m.values.subspan(at_value, v.value_count);
        at_value += v.value_count;
        if (v.chosen && l_.contradicts_at(w_, v.slot, values)) return true;
    }
    return false;
}

// A leader's accept or heartbeat says, in its header, how far the leader's
// log is chosen. Below that, a slot where we voted in the leader's ballot
// holds the value the leader proposed there, and that is the chosen value:
// one ballot proposes one value per slot, and a ballot at or above the one
// that chose a value proposes only that value (PMS §2.2, P2b). So the
// leader sends no chosen message per slot in steady state (2(N - 1)
// messages per commit, as Raft's commit index does); a slot we did not vote
// for in that ballot is asked for (on_heartbeat).
template <class Config>
void replica<Config>::learn_from_leader(const message_type& m) {
    const slot_id until = detail::min(m.chosen_end, w_.end);
    const slot_id before = l_.chosen_end;
    if (!(before < until)) return;  // the common case once caught up: one slot or none
    for (slot_id s = before; s < until; s = s.next()) {
        if (!w_.holds(s)) break;
        slot_type& rec = w_.at(s);
        if (rec.chosen || rec.accepted_ballot != m.ballot) continue;
        learner_type::set_chosen_as_voted(rec, m.ballot);  // in use: s < w_.end
        settle_own_as_voted(rec);
    }
    l_.advance_chosen_end(w_);
    after_chosen(before);
}

// A leader is alive. A heartbeat does not raise the promise (it is not a
// prepare, and a durable write per heartbeat would cost an fsync), but it
// does reveal how far the leader's log is chosen, so a lagging learner
// asks for the rest.
template <class Config>
auto replica<Config>::on_heartbeat(const message_type& m) -> handled {
    if (m.ballot < a_.promised) {
        // A deposed leader: tell it, so it steps down.
        send_reject(m);
        return {reason::stale_ballot};
    }
    const leader_action then = preempted_by(m.ballot);
    hear_leader(m.from);
    learn_from_leader(m);
    // A read round is answered whatever our check-quorum setting: the
    // leader cannot serve its reads without a phase-2 quorum of answers.
    if (options_.check_quorum || m.slot.value != 0) {
        send(m.from, message_kind::heartbeat_reply, m.ballot, m.slot);
    }
    // Answering a round with leases on grants one (core/lease.hpp).
    if (lease_.enabled() && m.slot.value != 0) lease_.grant(m.from, m.ballot);
    // Ask only for slots an earlier heartbeat already announced: the chosen
    // messages for newer ones left just before this heartbeat and may
    // still be on their way (asking at once re-sent each slot about three
    // times per commit on wide-area links, measured by paxos_quorums).
    // And not while an answer is on its way: a leader's heartbeats come at
    // its commit rate, and asking on each made a learner far behind ask
    // for (and be sent) each window dozens of times (tests/sim/
    // catch_up_figures.cpp); a lost answer is asked for again after a
    // retransmit round.
    const bool answer_due = l_.teacher != node_id::none() && l_.chosen_end < l_.asked_until &&
                            l_.asked_ticks < options_.retransmit_ticks;
    if (m.chosen_end > l_.chosen_end && l_.announced_chosen_end > l_.chosen_end && !answer_due) {
        ask_to_learn(m.from);
    }
    // A slot is chosen for good, whoever announced it: keep the furthest.
    l_.announced_chosen_end = detail::max(l_.announced_chosen_end, m.chosen_end);
    return {reason::ok, then};
}

// Asks `from` for the chosen slots from our chosen_end on: as many as our
// window can take, which is what the answer holds (on_learn_request).
template <class Config>
void replica<Config>::ask_to_learn(node_id from) {
    send(from, message_kind::learn_request, a_.promised, l_.chosen_end);
    l_.asked_until =
        slot_id{detail::min<std::uint64_t>(l_.chosen_end.value + window_slots, slot_id::limit)};
    l_.teacher = from;
    l_.asked_ticks = 0;
}

// advance(): a learner catching up that has applied all it asked for, and
// was told there is more, asks its teacher for the next window at once
// instead of waiting for a heartbeat (a replica far behind catches up at a
// window per round trip).
template <class Config>
void replica<Config>::keep_learning() {
    if (!(l_.chosen_end < l_.announced_chosen_end)) {
        l_.teacher = node_id::none();  // caught up
        return;
    }
    if (l_.chosen_end < l_.asked_until) return;  // the answer is still arriving
    ask_to_learn(l_.teacher);
}

// A learner asks for chosen slots from m.slot on: a window's worth, what it
// can hold. We send what our window still holds; slots below it were
// applied and released, so the batch asks the driver to serve those from
// its log (catch_up) or, below the compaction point, sends a snapshot
// (snapshot_chunks), and the result says slot_compacted.
template <class Config>
auto replica<Config>::on_learn_request(const message_type& m) -> handled {
    const slot_id until{detail::min<std::uint64_t>(m.slot.value + window_slots, slot_id::limit)};
    if (m.slot < w_.base) {
        serve_below_window(m.from, m.slot);
        // Below the compaction point the snapshot comes first: after
        // installing it the learner asks again from its slot.
        if (!(m.slot < x_.log_start)) send_chosen_from(m.from, w_.base, until);
        return {reason::slot_compacted};
    }
    send_chosen_from(m.from, m.slot, until);
    return {};
}

template <class Config>
inline bool replica<Config>::wants_outcome() const noexcept {
    if (l_.chosen_end < w_.end) return true;
    return single_decree && !decided() && !a_.promised.is_zero();
}

}  // namespace paxos::inline v0
