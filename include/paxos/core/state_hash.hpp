// paxos/core/state_hash.hpp: the replica's state, member by member, for
// the exhaustive explorer's fingerprint and for any other visitor.
//
// visit_units() takes every unit apart with a structured binding, so a
// member added to a unit and not named here is a compile error ("N names
// provided for a structured binding of M members"), not a state the
// explorer silently merges with another. Members that are not state of
// their own (derived from others, or stale between batches) are named and
// skipped here, each with its reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

#include "../policies/leader.hpp"
#include "fixed_vector.hpp"
#include "message.hpp"
#include "types.hpp"
#include "vocabulary.hpp"

namespace paxos::inline v0 {

// FNV-1a over fields, not over object bytes: padding is not part of the
// state. Values are hashed through std::hash when it exists, else as the
// bytes of trivially copyable values.
template <class Ballot, class Value>
struct state_hasher {
    std::uint64_t value = 0xCBF29CE484222325ull;

    void add(std::uint64_t x) noexcept {
        for (int b = 0; b < 8; ++b) {
            value ^= (x >> (8 * b)) & 0xFF;
            value *= 0x100000001B3ull;
        }
    }
    void operator()(std::uint64_t x) noexcept { add(x); }
    void operator()(bool x) noexcept { add(x); }
    void operator()(role x) noexcept { add(static_cast<std::uint64_t>(x)); }
    void operator()(slot_id s) noexcept { add(s.value); }
    void operator()(node_id n) noexcept { add(n.value); }
    void operator()(node_set s) noexcept { add(s.mask()); }
    void operator()(const Ballot& b) noexcept { add(ballot_bits(b)); }
    void operator()(std::span<const Value> values) noexcept {
        add(values.size());
        for (const Value& v : values) {
            if constexpr (requires { std::hash<Value>{}(v); }) {
                add(std::hash<Value>{}(v));
            } else {
                static_assert(std::is_trivially_copyable_v<Value>,
                              "fingerprint(): give value_type a std::hash specialization");
                unsigned char bytes[sizeof(Value)];
                std::memcpy(bytes, &v, sizeof bytes);
                for (unsigned char c : bytes) add(c);
            }
        }
    }
    template <std::size_t N>
    void operator()(const fixed_vector<Value, N>& values) noexcept {
        (*this)(values.view());
    }
};

// Every unit of a replica, in the order replica.hpp declares them.
template <class V, class Proposer, class Window, class Acceptor, class Phase1, class Phase2,
          class Learner, class Outputs>
void visit_units(V& v, const Proposer& p, const Window& w, const Acceptor& a, const Phase1& p1,
                 const Phase2& p2, const Learner& l, const Outputs& o, std::size_t node_count) {
    // Outputs: a batch outstanding (a sync under way) is state; its send_now
    // group has left already, and its chosen entries follow from handed_end.
    const auto& [box, records, chosen_out, outstanding, dropped] = o;
    // Tags are handed back to the driver and never sent: no protocol
    // behaviour depends on them (here, in the slots and in the pipeline).
    (void)dropped;
    const auto& [applied_end, chosen_end, handed_end, announced_chosen_end, quiet_ticks,
                 chosen_aside_count, asked_until, teacher, asked_ticks, catch_up] = l;
    v(asked_until);
    v(teacher);
    v(std::uint64_t{asked_ticks});
    (void)chosen_out;
    // Derived: the count of records with chosen_aside set, visited below.
    (void)chosen_aside_count;
    // Handed out with the batch that lists it; cleared by advance().
    (void)catch_up;
    v(outstanding);
    if (outstanding) {
        v(handed_end);
        for (const auto& rec : records) {
            v(rec.slot);
            v(rec.ballot);
        }
        for (const auto& m : box.after_sync()) {
            v(static_cast<std::uint64_t>(m.kind));
            v(m.to);
            v(m.ballot);
            v(m.slot);
            v(m.chosen_end);
            v(m.values);
            v(std::uint64_t{m.votes.size()});
        }
    }

    const auto& [current, ballot, highest_seen, leader, retransmit_elapsed, announced, heard,
                 heard_elapsed, probing, probe_ballot, probe_grants, handed_over,
                 campaign_handed_over, transfer_to, transfer_elapsed, fresh] = p;
    v(handed_over);
    v(campaign_handed_over);
    v(transfer_to);
    v(std::uint64_t{transfer_elapsed});
    v(probing);
    v(probe_ballot);
    v(probe_grants);
    (void)fresh;  // only guards restore(): no input behaves differently
    v(heard);
    v(std::uint64_t{heard_elapsed});
    v(current);
    v(ballot);
    v(highest_seen);
    v(leader);
    v(std::uint64_t{retransmit_elapsed});
    v(announced);

    const auto& [promised, promised_dirty, durable_promised, dirty_slots] = a;
    // Derived: the slots whose record has durable_dirty set, visited below.
    (void)dirty_slots;
    v(promised);
    v(promised_dirty);
    v(durable_promised);

    const auto& [slots, base, end] = w;
    (void)slots;
    v(base);
    v(applied_end);
    v(chosen_end);
    v(end);

    const auto& [next_slot, open, open_slot, open_batch, pending, proposer_unfinished, open_tags,
                 pending_tags] = p2;
    (void)open_tags;
    (void)pending_tags;
    v(next_slot);
    v(open);
    v(open_slot);
    v(open_batch);
    v(pending);

    const auto& [from, promised_by, tainted, parts_seen, parts_expected] = p1;
    v(from);
    v(promised_by);
    v(tainted);
    for (std::size_t i = 0; i < node_count; ++i) {
        v(std::uint64_t{parts_seen[i]});
        v(std::uint64_t{parts_expected[i]});
    }
    v(announced_chosen_end);
    v(std::uint64_t{quiet_ticks});
    v(proposer_unfinished);

    // Slots outside [base, end) hold nothing: released slots are reset, and
    // none beyond end was ever used since.
    for (slot_id s = base; s < end; s = s.next()) {
        const auto& [accepted_ballot, values, durable_dirty, is_chosen, chosen_aside, chosen_ballot,
                     proposed, sent_this_round, votes, own, tags, adopt_ballot, spare] = w.at(s);
        (void)own;
        (void)tags;
        v(s);
        v(accepted_ballot);
        v(values);
        v(is_chosen);
        v(chosen_ballot);
        v(chosen_aside);
        v(durable_dirty);
        v(proposed);
        v(sent_this_round);
        v(votes);
        v(adopt_ballot);
        v(spare);
    }
}

// The compaction point and the snapshot transfers (snapshot_transfer.hpp).
template <class V, class Snapshots>
void visit_snapshot_unit(V& v, const Snapshots& x) {
    const auto& [log_start, offered, out, sending, in, resume, resume_bytes, chunk, received,
                 requests, parts] = x;
    (void)sending;  // derived: the active entries of `out`, visited below
    // Handed out with the batch that lists them; cleared by advance().
    (void)chunk;
    (void)requests;
    (void)parts;
    v(log_start);
    v(offered.slot);
    v(offered.size_bytes);
    v(std::uint64_t{offered.crc});
    for (const auto& o : out) {
        v(o.active);
        if (!o.active) continue;
        v(o.snapshot.slot);
        v(o.snapshot.size_bytes);
        v(std::uint64_t{o.snapshot.crc});
        v(o.next);
        v(o.acked);
        v(std::uint64_t{o.idle_ticks});
    }
    v(in.active);
    if (in.active) {
        v(in.from);
        v(in.snapshot.slot);
        v(in.snapshot.size_bytes);
        v(std::uint64_t{in.snapshot.crc});
        v(in.taken);
        v(std::uint64_t{in.idle_ticks});
    }
    v(resume.slot);
    v(resume_bytes);
    v(std::uint64_t{received.size()});
}

// The read queue (reads.hpp). Tags are handed back and never sent, so only
// the rounds the reads wait for matter; answers count only at a leader.
template <class V, class Reads>
void visit_read_unit(V& v, const Reads& rd, bool leading, std::size_t node_count) {
    const auto& [ring, head, count, round, round_queued, answered, recovered_end, confirmed,
                 dropped] = rd;
    // Handed out with the batch that lists them; cleared by advance().
    (void)confirmed;
    (void)dropped;
    (void)head;  // where the ring starts is not behaviour: its contents are
    v(std::uint64_t{count});
    for (std::size_t k = 0; k < count; ++k) v(ring[(head + k) % ring.size()].round);
    v(round);
    v(round_queued);
    v(recovered_end);
    if (leading) {
        for (std::size_t i = 0; i < node_count; ++i) v(answered[i]);
    }
}

// The leader lease (lease.hpp). Off, it is constant.
template <class V, class Lease>
void visit_lease_unit(V& v, const Lease& l) {
    const auto& [grant_ticks, leader_ticks, held, sent, forfeit, holder, ballot, granted] = l;
    if (grant_ticks == 0) return;
    (void)leader_ticks;  // set at construction
    v(std::uint64_t{held});
    for (const auto& r : sent) {
        v(r.round);
        v(std::uint64_t{r.age});
    }
    v(forfeit);
    v(holder);
    v(ballot);
    v(std::uint64_t{granted});
}

}  // namespace paxos::inline v0
