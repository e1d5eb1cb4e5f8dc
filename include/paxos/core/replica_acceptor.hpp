// paxos/core/replica_acceptor.hpp: the replica's acceptor handlers (Paxos
// Made Simple §2.2, phase 1b and 2b), on the acceptor unit (acceptor.hpp).
//
// Part of replica.hpp, which includes it; included alone it brings the class.
#pragma once

#include <optional>
#include <span>

#include "../detail/algorithm.hpp"
#include "replica.hpp"

namespace paxos::inline v0 {

template <class Config>
result replica<Config>::restore(const recovery& r) {
    PAXOS_ASSERT(p_.fresh);
    const reason why = checks_.recovery(r.promised, r.first_unapplied, r.accepted);
    if (why != reason::ok) return {why, p_.leader};
    p_.fresh = false;
    w_.base = w_.end = l_.applied_end = l_.chosen_end = p2_.next_slot = r.first_unapplied;
    // A replica that loses its promise and votes (a checker's test)
    // starts its acceptor over with neither.
    const bool keep = rules::restart_keeps_durable_state;
    ballot_type promised = keep ? r.promised : ballot_type{};
    for (const record_type& rec : r.accepted) {
        if (keep) promised = detail::max(promised, rec.ballot);
    }
    a_.promised = a_.durable_promised = promised;
    for (const record_type& rec : keep ? r.accepted : std::span<const record_type>{}) {
        if (rec.slot < w_.base) continue;  // applied, so chosen: the vote is moot
        auto& slot = w_.at(rec.slot);
        slot.accepted_ballot = rec.ballot;
        slot.values.assign(rec.values);
        w_.use(rec.slot);
    }
    // A restarted replica asks its peers what it missed on its first tick.
    l_.quiet_ticks = quiet_ticks_max() - 1;
    check_invariants();
    return {};
}

template <class Config>
auto replica<Config>::on_prepare(const message_type& m) -> handled {
    if (!a_.may_promise(m.ballot)) {
        send_reject(m);
        return {reason::stale_ballot};
    }
    // A lease we granted still runs (core/lease.hpp): no answer; the
    // candidate repeats its prepare and is promised once the lease ends.
    if (!lease_.allows_promise(m.from, m.accepted_ballot)) return {reason::lease_held};
    if (m.slot < w_.base) {
        // Our votes below base are gone (chosen, applied and released):
        // we cannot report them, so we must not promise. The candidate is
        // behind: teach it what the window still holds, and the driver
        // serves the rest from its log (catch_up, as for learners).
        const slot_id until{
            detail::min<std::uint64_t>(m.slot.value + window_slots, slot_id::limit)};
        serve_below_window(m.from, m.slot);
        if (!(m.slot < x_.log_start)) send_chosen_from(m.from, w_.base, until);
        return {reason::slot_compacted};
    }
    a_.raise_promise(m.ballot);
    if (a_.promised_dirty) note_output();
    p_.leader = node_id::none();       // an election is under way
    leader_policy_.on_leader_heard();  // a live proposer: don't start a rival one
    a_.template report_votes<promise_parts_max, promise_values_max>(
        w_, m.slot, o_.box, [&](slot_id s) -> message_type& {
            return send(m.from, message_kind::promise, m.ballot, s);
        });
    return {reason::ok, preempted_by(m.ballot)};
}

template <class Config>
auto replica<Config>::on_accept(const message_type& m) -> handled {
    if (!a_.may_accept(m.ballot)) {
        send_reject(m);
        return {reason::stale_ballot};
    }
    a_.promise_by_accepting(m.ballot);
    if (a_.promised_dirty) note_output();
    const leader_action then = preempted_by(m.ballot);
    hear_leader(m.from);
    learn_from_leader(m);
    if (m.slot < w_.base) {
        // Applied and released here: the leader is behind; teach it.
        serve_below_window(m.from, m.slot);
        return {reason::slot_compacted, then};
    }
    if (!w_.make_room(m.slot, l_.applied_end)) return {reason::slot_out_of_window, then};
    slot_type& rec = w_.at(m.slot);
    if (rec.chosen) {
        // Nothing to vote on: teach the proposer what was chosen instead.
        send_chosen(m.from, m.slot, rec, ballot_type{});
        return {reason::ignored, then};
    }
    before_vote(rec, m.values);
    a_.cast_vote(m.slot, rec, m.ballot, m.values);
    note_output();
    w_.use(m.slot);
    send(m.from, message_kind::accepted, m.ballot, m.slot);
    return {reason::ok, then};
}

template <class Config>
inline auto replica<Config>::vote(slot_id s) const
    -> std::optional<std::pair<ballot_type, std::span<const value_type>>> {
    if (!w_.holds(s)) return std::nullopt;
    const auto& rec = w_.at(s);
    if (rec.accepted_ballot.is_zero()) return std::nullopt;
    return std::pair{rec.accepted_ballot, rec.values.view()};
}

}  // namespace paxos::inline v0
