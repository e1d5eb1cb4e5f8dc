// paxos/core/replica_outputs.hpp: the replica's outputs: the ready batch
// (collected by ready(), acknowledged by advance()), the messages built in
// place in the outbox, and the tags of proposals settled other than by
// being chosen (ready.hpp).
//
// Part of replica.hpp, which includes it; included alone it brings the class.
#pragma once

#include <span>

#include "../detail/algorithm.hpp"
#include "replica.hpp"

namespace paxos::inline v0 {

template <class Config>
[[gnu::always_inline]] inline auto replica<Config>::ready() -> const ready_type& {
    PAXOS_ASSERT(!o_.outstanding);
    p_.fresh = false;
    if (p2_.open && p_.current == role::leader) seal_open_batch();
    if constexpr (reads_max != 0) rd_.round_queued = false;  // its heartbeat leaves now
    // records and chosen are empty here: advance() cleared them.
    a_.hand_out(w_, o_.records);
    for (slot_id s = l_.applied_end; s < l_.chosen_end; s = s.next()) {
        const slot_type& rec = w_.at(s);
        o_.chosen.push_back(chosen_type{
            s, learner_type::chosen_values(rec).view(),
            rec.own == own_proposal::chosen ? rec.tags.view() : std::span<const proposal_tag>{}});
    }
    // Field by field: no temporary batch to build and copy.
    ready_.promised = a_.promised;
    ready_.promised_changed = a_.promised_dirty;
    ready_.sync_needed = a_.promised_dirty || !o_.records.empty();
    if constexpr (snapshot_chunk_bytes != 0) {
        if (x_.sending != 0) x_.collect(options_.snapshot_chunks_in_flight);
    }
    o_.box.seal();
    l_.handed_end = l_.chosen_end;
    o_.outstanding = true;
    return point_views();
}

template <class Config>
inline auto replica<Config>::outstanding() noexcept -> const ready_type& {
    PAXOS_ASSERT(o_.outstanding);
    for (record_type& rec : o_.records) rec.values = w_.at(rec.slot).values.view();
    for (chosen_type& c : o_.chosen) {
        const slot_type& rec = w_.at(c.slot);
        c.values = learner_type::chosen_values(rec).view();
        if (!c.tags.empty()) c.tags = rec.tags.view();
    }
    return point_views();
}

template <class Config>
[[gnu::always_inline]] inline void replica<Config>::advance(const ready_type& done) {
    PAXOS_ASSERT(o_.outstanding);
    PAXOS_ASSERT(&done == &ready_);
    o_.outstanding = false;
    output_ = false;  // what advance() itself queues sets it again
    a_.synced(ready_.promised_changed, ready_.promised);
    o_.box.clear();
    l_.take_back_aside(w_, o_.records);
    // Our own votes are durable now, and only now count (see ready.hpp).
    if (p_.current == role::leader) {
        for (const record_type& rec : o_.records) count_own_vote(rec);
    }
    o_.records.clear();
    o_.chosen.clear();
    o_.dropped.clear();
    if constexpr (reads_max != 0) rd_.handed_back();
    l_.catch_up.clear();
    if constexpr (snapshot_chunk_bytes != 0) {
        // One test on every batch but a transfer's.
        if ((x_.sending | x_.received.size()) != 0) snapshot_advance();
    }
    PAXOS_ASSERT(l_.handed_end <= l_.chosen_end);
    l_.applied_end = l_.handed_end;
    if (l_.teacher != node_id::none()) keep_learning();  // catching up only
    flush_pending();
    check_invariants();
}

template <class Config>
inline auto replica<Config>::chosen_message_for(node_id to, slot_id s,
                                                std::span<const value_type> values) const
    -> message_type {
    PAXOS_ASSERT(values.size() <= batch_values_max);
    PAXOS_ASSERT(to != options_.self && to.value < node_count_);
    PAXOS_ASSERT(s < l_.applied_end);  // only what is chosen and applied here
    message_type c;
    static_cast<message_header<ballot_type>&>(c) =
        header(to, message_kind::chosen, ballot_type{}, s);
    c.values = values;
    return c;
}

// Reports a command's tag as not chosen here.
template <class Config>
inline void replica<Config>::drop_tag(proposal_tag t, proposal_fate fate) {
    o_.dropped.push_back(dropped_proposal{t, fate});
    note_output();
}

// A slot's own proposal is settled other than by being chosen.
template <class Config>
inline void replica<Config>::drop_own(slot_type& rec, proposal_fate fate) {
    for (const proposal_tag t : rec.tags) drop_tag(t, fate);
    rec.tags.clear();
    rec.own = own_proposal::none;
}

// Our vote in rec is about to become `values`: a pending proposal of
// ours there survives only if they are the same commands.
template <class Config>
inline void replica<Config>::before_vote(slot_type& rec, std::span<const value_type> values) {
    if (rec.own == own_proposal::pending && !learner_type::same_values(rec.values.view(), values)) {
        drop_own(rec, proposal_fate::unknown);
    }
}

// rec is chosen with the value of our own vote (which a pending proposal
// of ours there is): the proposal is chosen.
template <class Config>
inline void replica<Config>::settle_own_as_voted(slot_type& rec) noexcept {
    if (rec.own == own_proposal::pending) rec.own = own_proposal::chosen;
}

// rec is chosen with `values`: our pending proposal there is chosen or lost.
template <class Config>
inline void replica<Config>::settle_own(slot_type& rec, std::span<const value_type> values) {
    if (rec.own != own_proposal::pending) return;
    if (learner_type::same_values(rec.values.view(), values)) {
        rec.own = own_proposal::chosen;
    } else {
        drop_own(rec, proposal_fate::lost);
    }
}

// Room for the most one input can queue (limits.hpp), reserved for it.
// Inlined for the same reason as ready(): once per input.
template <class Config>
[[gnu::always_inline]] inline bool replica<Config>::has_outbox_room() noexcept {
    // One test in the common case: nothing queued and nothing dropped.
    if ((o_.box.size() | o_.dropped.size()) == 0) return true;
    return o_.dropped.size() <= dropped_capacity - dropped_per_input_max && o_.box.open_input();
}

template <class Config>
inline auto replica<Config>::point_views() noexcept -> const ready_type& {
    ready_.accepted = o_.records.view();
    ready_.send_now = o_.box.now();
    ready_.send_after_sync = o_.box.after_sync();
    ready_.chosen = o_.chosen.view();
    ready_.catch_up = l_.catch_up.view();
    ready_.dropped = o_.dropped.view();
    ready_.reads = rd_.confirmed.view();
    ready_.reads_dropped = rd_.dropped.view();
    ready_.snapshot_chunks = x_.requests.view();
    ready_.snapshot_received = x_.received.view();
    return ready_;
}

// The header every message of ours carries.
template <class Config>
inline auto replica<Config>::header(node_id to, message_kind kind, ballot_type b,
                                    slot_id s) const noexcept -> message_header<ballot_type> {
    message_header<ballot_type> h;
    h.kind = kind;
    h.from = options_.self;
    h.to = to;
    h.ballot = b;
    h.slot = s;
    h.chosen_end = l_.chosen_end;
    return h;
}

// Messages are built in place in the outbox and returned for the caller
// to fill in: no copy of a finished message.
template <class Config>
[[gnu::always_inline]] inline auto replica<Config>::emit(node_id to, message_kind kind,
                                                         ballot_type b, slot_id s)
    -> message_type& {
    note_output();
    return o_.box.add(a_.group_of(kind, b), header(to, kind, b, s));
}

template <class Config>
[[gnu::always_inline]] inline auto replica<Config>::send(node_id to, message_kind kind,
                                                         ballot_type b, slot_id s)
    -> message_type& {
    PAXOS_ASSERT(to != options_.self);
    return emit(to, kind, b, s);
}

// Null in a cluster of one: there is nobody to tell.
template <class Config>
inline auto replica<Config>::broadcast(message_kind kind, ballot_type b, slot_id s)
    -> message_type* {
    if (node_count_ == 1) return nullptr;
    if (kind == message_kind::accept || kind == message_kind::heartbeat) {
        p_.announced = detail::max(p_.announced, l_.chosen_end);
    }
    // A heartbeat is a read round when reads wait for one (core/reads.hpp),
    // and every heartbeat is one with leases on: each renews the lease.
    if constexpr (reads_max != 0) {
        if (kind == message_kind::heartbeat) {
            if (lease_.enabled()) {
                s = slot_id{rd_.next_round()};
                lease_.sent_now(s.value);
                lease_.grant(options_.self, b);  // we count ourselves in its quorum
            } else {
                s = slot_id{rd_.next_heartbeat_round()};
            }
        }
    }
    return &emit(node_id::broadcast(), kind, b, s);
}

// A candidate's prepare, naming the leader that handed over to it, if any.
template <class Config>
inline void replica<Config>::send_prepare() {
    if (message_type* m = broadcast(message_kind::prepare, p_.ballot, p1_.from)) {
        m->accepted_ballot = p_.campaign_handed_over;
    }
}

}  // namespace paxos::inline v0
