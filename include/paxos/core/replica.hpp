// paxos/core/replica.hpp: one Paxos replica as a pure state machine.
//
// A replica plays all three roles of "Paxos Made Simple": acceptor, proposer
// and learner. It does no I/O, reads no clock, starts no thread and never
// allocates; every buffer is a member sized by the Config. Inputs:
//
//   propose(value)  a client command      step(message)  a message from a peer
//   tick()          one unit of time      campaign()     start Phase 1 now
//
// Each input returns a result (ok, or why not). Outputs accumulate in one
// ready batch (core/ready.hpp): durable state, then messages, then chosen
// entries. The driver calls ready(), persists, sends, applies, advance().
//
// Protocol (Multi-Paxos, Lamport "Paxos Made Simple" §3):
//   * Phase 1 runs once for every slot from the first one this replica does not
//     know to be chosen; each acceptor answers with its votes for those slots.
//   * With a phase-1 quorum the proposer becomes leader, re-proposes in each
//     open slot the value of the highest-ballot vote reported (value
//     adoption), fills gaps with no-ops, and then runs only Phase 2 per slot,
//     pipelining up to the window and batching several commands per slot.
//   * A slot is chosen when a phase-2 quorum accepted it in the leader's
//     ballot; the leader then tells every replica (chosen), so learners
//     advance. A learner that falls behind asks for what it missed.
//
// Invariants asserted below (check_invariants(), as a whole, after every
// input and every advance() in builds without NDEBUG or with
// PAXOS_CHECK_INVARIANTS defined; the cheap ones at their sites always):
//   * promised_ never decreases; every vote's ballot <= promised_.
//   * base_ <= applied_end_ <= chosen_end_ <= end_ <= base_ + window, and
//     chosen_end_ <= slot_id::limit.
//   * every slot below chosen_end_ in the window is chosen.
//   * a leader's ballot equals promised_ (a higher promise makes it step down).
//   * a slot, once chosen, keeps its value.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>  // also declares std::hash, for fingerprint(): <functional> costs 10k lines
#include <span>
#include <utility>

#include "../assert.hpp"
#include "../config.hpp"
#include "../detail/planted.hpp"
#include "../policies/leader.hpp"
#include "../policies/node_set.hpp"
#include "fixed_vector.hpp"
#include "message.hpp"
#include "outbox.hpp"
#include "ready.hpp"
#include "types.hpp"

namespace paxos {

template <class Config>
class replica {
    static_assert(check_config<Config>());

    // Test-only planted mistakes (detail/planted.hpp); `none` in every normal
    // build, where each `if constexpr (planted(...))` branch is discarded.
    using bug = detail::planted_bug;
    static constexpr bug planted_ = detail::planted_in<Config>();
    static constexpr bool planted(bug b) noexcept { return planted_ == b; }
    // Invariants a planted mistake breaks on purpose are left to the outside
    // checkers in that build, so the test shows which checker catches it.
    static constexpr bool strict = planted_ == bug::none;

public:
    using config_type = Config;
    using value_type = typename Config::value_type;
    using ballot_type = typename Config::ballot;
    using quorum_type = typename Config::quorum;
    using leader_type = typename Config::leader;

    static constexpr std::size_t window_slots = Config::window_slots;
    static constexpr std::size_t batch_values_max = Config::batch_values_max;
    static constexpr std::size_t outbox_messages_max = Config::outbox_messages_max;
    static constexpr bool single_decree = Config::single_decree;

    // The most values one promise carries; a promise with more votes'
    // values continues in further parts (core/message.hpp).
    static constexpr std::size_t promise_values_max = promise_values_max_of<Config>();
    static_assert(promise_values_max >= batch_values_max,
                  "config: promise_values_max must hold at least one batch");
    // Parts are filled greedily, so each but the last holds more than
    // promise_values_max - batch_values_max values, and each holds a slot.
    static constexpr std::size_t promise_parts_max = [] {
        if (promise_values_max >= window_slots * batch_values_max) return std::size_t{1};
        const std::size_t greedy =
            window_slots * batch_values_max / (promise_values_max - batch_values_max + 1) + 1;
        return greedy < window_slots ? greedy : window_slots;
    }();
    static_assert(promise_parts_max <= 64,
                  "config: promise_values_max too small: a promise would need more than 64 parts "
                  "(window_slots * batch_values_max / promise_values_max)");
    // The largest body any message of this config has.
    static constexpr std::size_t body_values_max = promise_values_max;

    using batch_type = fixed_vector<value_type, batch_values_max>;
    using message_type = basic_message<ballot_type, value_type>;
    using message_buffer =
        basic_message_buffer<ballot_type, value_type, body_values_max, window_slots>;
    using report_type = vote_report<ballot_type>;
    using record_type = accepted_record<ballot_type, value_type>;
    using chosen_type = chosen_entry<value_type>;
    using ready_type = ready_batch<ballot_type, value_type, message_type>;

    // The most one input can add to the outbox. The worst input is a higher
    // prepare at a leader whose policy retries at once and whose phase-1
    // quorum is itself alone: a promise in up to P parts with every vote
    // (W votes, W * B values), then its new prepare and heartbeat (2), an
    // accept per re-proposed slot (W messages, W * B values), and the open
    // and pending batches (2 messages, 2B values). An input is refused
    // (outbox_full) unless this much room is free, so no input is ever
    // half-applied; every input asserts on return that it kept to the bound.
    static constexpr std::size_t messages_per_input_max = window_slots + promise_parts_max + 5;
    static constexpr std::size_t values_per_input_max =
        2 * window_slots * batch_values_max + 2 * batch_values_max;
    static constexpr std::size_t votes_per_input_max = window_slots;
    static_assert(outbox_messages_max >= 2 * messages_per_input_max,
                  "config: outbox_messages_max must be at least "
                  "2 * (window_slots + promise parts + 5)");

    struct options {
        node_id self{};
        std::uint64_t seed = 0;  // for the leader policy's randomness
        typename leader_type::options leader{};
        // A candidate re-sends prepare, and a leader re-sends accepts for
        // unchosen slots and a heartbeat, every this many ticks (lost messages).
        std::uint32_t retransmit_ticks = 4;
    };

    // What a restarted replica recovers from its durable storage.
    struct recovery {
        ballot_type promised{};
        slot_id first_unapplied{};                // the state machine has applied every slot below
        std::span<const record_type> accepted{};  // in the order they were persisted
    };

    explicit replica(const options& opts, quorum_type quorum = quorum_type{})
        : options_(opts),
          quorum_(quorum),
          leader_policy_(opts.leader, opts.seed),
          node_count_(quorum_.node_count()) {
        PAXOS_ASSERT(node_count_ >= 1);
        PAXOS_ASSERT(node_count_ <= Config::max_nodes);
        PAXOS_ASSERT(options_.self.value < node_count_);
        PAXOS_ASSERT(options_.retransmit_ticks >= 1);
        for (std::size_t i = 0; i < node_count_; ++i) {
            if (i != options_.self.value) peers_.insert(node_id{static_cast<std::uint16_t>(i)});
        }
        node_set self{};
        self.insert(options_.self);
        self_is_phase2_quorum_ = quorum_.is_phase2_quorum(self);
    }

    // Restores the durable state of an earlier life. Call before any input.
    // Refused, with nothing changed, when the recovered state cannot be
    // trusted or held: slot_out_of_window if a vote lies beyond the window
    // that starts at first_unapplied (never drop a vote silently), malformed
    // for a vote with more values than a batch holds, bad_recovery for a slot
    // at or above slot_id::limit, a ballot owned by no node of the cluster, a
    // vote with a zero ballot, or two votes for one slot whose ballots go down
    // (votes only move up, so the store replayed them out of order).
    //
    // The promise restored is the highest of `promised` and every vote's
    // ballot: an accept is also a promise, and a store that writes the vote and
    // the promise as separate records may have crashed between the two.
    result restore(const recovery& r) {
        PAXOS_ASSERT(fresh_);
        if (const reason why = check_recovery(r); why != reason::ok) return {why, leader_};
        promised_ = r.promised;
        for (const record_type& rec : r.accepted) promised_ = std::max(promised_, rec.ballot);
        // Planted: the ballot lived only in memory, so a restarted node bids
        // (and promises) from scratch and reuses ballots it already used.
        if constexpr (planted(bug::ballot_reused_after_restart)) promised_ = ballot_type{};
        durable_promised_ = promised_;
        base_ = applied_end_ = chosen_end_ = end_ = next_slot_ = r.first_unapplied;
        for (const record_type& rec : r.accepted) {
            if (rec.slot < base_) continue;  // applied, so chosen: the vote is moot
            if constexpr (strict) PAXOS_ASSERT(rec.ballot <= promised_);
            slot_state& st = at(rec.slot);
            st.accepted_ballot = rec.ballot;
            st.values.assign(rec.values);
            end_ = std::max(end_, rec.slot.next());
        }
        // A restarted replica asks its peers what it missed on its first tick.
        quiet_ticks_ = quiet_ticks_max() - 1;
        fresh_ = false;
        check_invariants();
        return {};
    }

    // ---- inputs -------------------------------------------------------------------

    // A client command. At the leader it joins the open batch of the next
    // slot (sent at the latest by ready(), or at once when the batch is full).
    // With a leader-free policy a follower queues it and may start Phase 1 to
    // become the proposer; with stable_leader a follower answers not_leader.
    // `ok` means the command was taken, not that it is chosen: watch the
    // chosen entries of later ready batches.
    result propose(const value_type& value) {
        begin_input();
        const input_guard guard{*this};
        if (!has_outbox_room()) return {reason::outbox_full, leader_};
        if (single_decree && chosen_end_.value > 0) return {reason::already_chosen, leader_};
        if (role_ == role::leader) return propose_as_leader(value);
        if constexpr (!leader_type::followers_propose) {
            return {reason::not_leader, leader_};
        } else {
            if (pending_.full()) return {reason::proposal_queue_full, leader_};
            pending_.push_back(value);
            if (leader_policy_.on_propose(context()) == leader_action::start_phase1) {
                return start_phase1();
            }
            return {reason::ok, leader_};
        }
    }

    // A message from a peer. One entry point: validate once, remember the
    // highest ballot seen (so our next ballot beats it, without a durable write
    // per message), then hand the message to the handler of its kind. Each
    // handler applies the rule of its role and queues its answers.
    result step(const message_type& m) {
        begin_input();
        const input_guard guard{*this};
        node_id owner = node_id::none();  // of m.ballot; none for a zero ballot
        if (const reason r = validate(m, owner); r != reason::ok) return {r, leader_};
        if (!has_outbox_room()) return {reason::outbox_full, leader_};
        // Agreement before anything changes: crash-fault Paxos never chooses
        // two values for a slot, so a contradiction means a broken peer or two
        // clusters mixed on one network. Say so, and trust nothing of it.
        if (contradicts_chosen(m)) return {reason::contradicts_chosen, leader_};
        // No zero test: highest_seen_ starts at zero, so zero never exceeds it.
        if (m.ballot > highest_seen_) highest_seen_ = m.ballot;
        result r{reason::malformed, leader_};
        switch (m.kind) {
            case message_kind::prepare: r = on_prepare(m); break;
            case message_kind::promise: r = on_promise(m); break;
            case message_kind::accept: r = on_accept(m); break;
            case message_kind::accepted: r = on_accepted(m); break;
            case message_kind::reject: r = on_reject(m); break;
            case message_kind::chosen: r = on_chosen(m, owner); break;
            case message_kind::heartbeat: r = on_heartbeat(m); break;
            case message_kind::learn_request: r = on_learn_request(m); break;
        }
        // A retry the policy asked for when we were preempted starts only now,
        // after the message is fully handled: a Phase 1 started mid-handler
        // would report our votes before the vote this very message casts, and
        // then cast a vote below the promise it just made (found by the
        // exhaustive explorer).
        if (retry_phase1_) {
            retry_phase1_ = false;
            if (role_ == role::follower && !decided()) (void)start_phase1();
        }
        r.leader = leader_;
        return r;
    }

    // One unit of logical time. The leader policy decides whether to start
    // Phase 1 or heartbeat; the core adds its own timer for lost messages:
    // proposers re-send, and learners with a vote whose outcome they never
    // heard ask for it.
    result tick() {
        begin_input();
        const input_guard guard{*this};
        if (!has_outbox_room()) return {reason::outbox_full, leader_};
        result r{reason::ok, leader_};
        if (role_ == role::candidate && chosen_end_ > phase1_from_) {
            // Our Phase 1 asked from a slot that has since been chosen (we
            // were behind and caught up meanwhile): its promises can no longer
            // complete, so stop re-sending it and let the policy decide.
            role_ = role::follower;
            if (leader_policy_.on_preempted(context()) == leader_action::start_phase1 &&
                !decided()) {
                r = start_phase1();
            }
        }
        switch (leader_policy_.on_tick(context())) {
            case leader_action::start_phase1:
                if (role_ != role::leader && !decided()) r = start_phase1();
                break;
            case leader_action::heartbeat:
                if (role_ == role::leader) broadcast(message_kind::heartbeat, ballot_);
                break;
            case leader_action::none: break;
        }
        if (++retransmit_elapsed_ >= options_.retransmit_ticks) {
            retransmit_elapsed_ = 0;
            if (role_ != role::follower) {
                retransmit();
            } else if (wants_outcome()) {
                // A learner that voted (or promised, in a single decree) but
                // never heard the outcome asks everyone: the announcement may
                // have been lost and no leader may be left to repeat it.
                broadcast(message_kind::learn_request, promised_, chosen_end_);
            }
        }
        if (role_ == role::follower) {
            if (quiet_ticks_ < ~std::uint32_t{0}) ++quiet_ticks_;
            if (quiet_ticks_ % quiet_ticks_max() == 0 && quiet_ticks_ < ~std::uint32_t{0}) {
                // Anti-entropy: a follower that has heard no leader for a long
                // while (none may be left: leader-free policies elect one only
                // for new work) asks whether it missed chosen slots. Peers
                // that know no more stay silent.
                broadcast(message_kind::learn_request, promised_, chosen_end_);
            }
        }
        return r;
    }

    // Starts Phase 1 now with a ballot above every one seen, whatever the
    // leader policy would do (etcd's Campaign). A no-op for a leader.
    result campaign() {
        begin_input();
        const input_guard guard{*this};
        if (!has_outbox_room()) return {reason::outbox_full, leader_};
        if (role_ == role::leader) return {reason::ok, leader_};
        if (decided()) return {reason::already_chosen, leader_};
        return start_phase1();
    }

    // ---- outputs ------------------------------------------------------------------

    bool has_ready() const noexcept {
        // One test for both buffers and the promise: this runs at least once
        // per input, and usually finds nothing.
        return (outbox_.size() | dirty_slots_.size() | catch_up_.size() |
                std::size_t{promised_dirty_}) != 0 ||
               chosen_end_ > applied_end_ || (open_ && role_ == role::leader);
    }

    // Collects the batch. Views stay valid until advance(ready()). Sealing the
    // open batch here is what makes batching free: every command proposed
    // since the last ready() shares one slot, one accept and one fsync.
    const ready_type& ready() {
        PAXOS_ASSERT(!ready_outstanding_);
        fresh_ = false;
        if (open_ && role_ == role::leader) seal_open_batch();
        // records_ and chosen_out_ are empty here: advance() cleared them.
        for (const slot_id s : dirty_slots_) {
            slot_state& st = at(s);
            PAXOS_ASSERT(st.durable_dirty);
            st.durable_dirty = false;
            records_.push_back(record_type{s, st.accepted_ballot, st.values.view()});
        }
        dirty_slots_.clear();
        for (slot_id s = applied_end_; s < chosen_end_; s = s.next()) {
            chosen_out_.push_back(chosen_type{s, chosen_values(at(s)).view()});
        }
        // Field by field: no temporary batch to build and copy.
        ready_.promised = promised_;
        ready_.promised_changed = promised_dirty_;
        ready_.sync_needed = promised_dirty_ || !records_.empty();
        outbox_.seal();
        ready_.peers = peers_;
        handed_end_ = chosen_end_;
        ready_outstanding_ = true;
        return point_views();
    }

    // The batch handed out by the last ready(), not yet acknowledged, with
    // views into this object: for a driver that copied the replica while a
    // sync was under way (the exhaustive explorer). A copy's records and
    // chosen entries still view the original's slots; they are pointed back
    // at this object's own.
    const ready_type& outstanding() noexcept {
        PAXOS_ASSERT(ready_outstanding_);
        for (record_type& rec : records_) rec.values = at(rec.slot).values.view();
        for (chosen_type& c : chosen_out_) c.values = chosen_values(at(c.slot)).view();
        return point_views();
    }
    bool has_outstanding() const noexcept { return ready_outstanding_; }

private:
    const ready_type& point_views() noexcept {
        ready_.accepted = records_.view();
        ready_.send_now = outbox_.now();
        ready_.send_after_sync = outbox_.after_sync();
        ready_.chosen = chosen_out_.view();
        ready_.catch_up = catch_up_.view();
        return ready_;
    }

public:
    // Acknowledges a batch: its durable part is persisted, its messages sent,
    // its chosen entries applied.
    void advance(const ready_type& done) {
        PAXOS_ASSERT(ready_outstanding_);
        PAXOS_ASSERT(&done == &ready_);
        ready_outstanding_ = false;
        if (ready_.promised_changed) durable_promised_ = ready_.promised;
        promised_dirty_ = false;
        outbox_.clear();
        // The votes as cast are on disk now; a slot chosen with another value
        // while its vote waited takes the chosen value back (see mark_chosen).
        for (std::size_t i = 0; chosen_aside_count_ > 0 && i < records_.size(); ++i) {
            slot_state& st = at(records_[i].slot);
            if (!st.chosen_aside) continue;
            st.values = st.adopt_values;
            st.adopt_values.clear();
            st.chosen_aside = false;
            --chosen_aside_count_;
        }
        PAXOS_ASSERT(chosen_aside_count_ == 0);
        // Our own votes are durable now, and only now count (see ready.hpp).
        if (role_ == role::leader) {
            for (const record_type& rec : records_) count_own_vote(rec);
        }
        records_.clear();
        chosen_out_.clear();
        catch_up_.clear();
        PAXOS_ASSERT(handed_end_ <= chosen_end_);
        applied_end_ = handed_end_;
        flush_pending();
        check_invariants();
    }

    // ---- observers ----------------------------------------------------------------

    node_id self() const noexcept { return options_.self; }
    std::size_t node_count() const noexcept { return node_count_; }
    role current_role() const noexcept { return role_; }
    bool is_leader() const noexcept { return role_ == role::leader; }
    node_id leader() const noexcept { return leader_; }
    ballot_type promised() const noexcept { return promised_; }
    ballot_type ballot() const noexcept { return ballot_; }  // our latest own ballot
    slot_id chosen_end() const noexcept { return chosen_end_; }
    slot_id applied_end() const noexcept { return applied_end_; }
    slot_id window_base() const noexcept { return base_; }
    const quorum_type& quorum() const noexcept { return quorum_; }
    const leader_type& leader_policy() const noexcept { return leader_policy_; }
    std::size_t pending_count() const noexcept { return pending_.size(); }

    // A 64-bit fingerprint of everything that decides this replica's future
    // behaviour (roles, ballots, window, votes, pending commands, leader
    // policy state when the policy exposes fingerprint()). Two replicas with
    // equal fingerprints behave alike on equal inputs, with overwhelming
    // probability: the exhaustive explorer uses it to visit each state once.
    // Call it between inputs; a batch outstanding (a sync under way) is part
    // of the state.
    std::uint64_t fingerprint() const noexcept {
        fingerprint_hasher h;
        h.add(ready_outstanding_);
        if (ready_outstanding_) {
            h.add(handed_end_.value);
            for (const record_type& rec : records_) {
                h.add(rec.slot.value);
                h.add_ballot(rec.ballot);
            }
            for (const message_type& m : outbox_.after_sync()) {
                h.add(static_cast<std::uint64_t>(m.kind));
                h.add(m.to.value);
                h.add_ballot(m.ballot);
                h.add(m.slot.value);
                h.add(m.chosen_end.value);
                h.add_values(m.values);
                h.add(m.votes.size());
            }
        }
        h.add(static_cast<std::uint64_t>(role_));
        h.add_ballot(promised_);
        h.add(promised_dirty_);
        h.add_ballot(durable_promised_);
        h.add_ballot(ballot_);
        h.add_ballot(highest_seen_);
        h.add(leader_.value);
        h.add(base_.value);
        h.add(applied_end_.value);
        h.add(chosen_end_.value);
        h.add(end_.value);
        h.add(next_slot_.value);
        h.add(open_);
        h.add(open_slot_.value);
        h.add_values(open_batch_.view());
        h.add_values(pending_.view());
        h.add(phase1_from_.value);
        h.add(promised_by_.mask());
        h.add(tainted_.mask());
        for (std::size_t i = 0; i < node_count_; ++i) {
            h.add(parts_seen_[i]);
            h.add(parts_expected_[i]);
        }
        h.add(retransmit_elapsed_);
        h.add(quiet_ticks_);
        h.add(announced_chosen_end_.value);
        h.add(proposer_unfinished_);
        for (slot_id s = base_; s < end_; s = s.next()) {
            const slot_state& st = at(s);
            h.add(s.value);
            h.add_ballot(st.accepted_ballot);
            h.add_values(st.values.view());
            h.add(st.chosen);
            h.add_ballot(st.chosen_ballot);
            h.add(st.chosen_aside);
            h.add(st.durable_dirty);
            h.add(st.proposed);
            h.add(st.sent_this_round);
            h.add(st.votes.mask());
            h.add_ballot(st.adopt_ballot);
            h.add_values(st.adopt_values.view());
        }
        if constexpr (requires { leader_policy_.fingerprint(); }) {
            h.add(leader_policy_.fingerprint());
        }
        return h.value;
    }

    // A chosen message that teaches peer `to` the value of slot `s`, for a
    // driver that serves catch-up from its own log: a ready batch's catch_up
    // lists the peers that asked for slots below the window, and the driver
    // sends these for the slots it has applied (before or after advance()).
    message_type chosen_message_for(node_id to, slot_id s,
                                    std::span<const value_type> values) const {
        PAXOS_ASSERT(values.size() <= batch_values_max);
        PAXOS_ASSERT(to != options_.self && to.value < node_count_);
        PAXOS_ASSERT(s < applied_end_);  // only what is chosen and applied here
        message_type c;
        set_header(c, to, message_kind::chosen, ballot_type{}, s);
        c.values = values;
        return c;
    }

    // The vote this replica holds for slot s, if s is in its window.
    std::optional<std::pair<ballot_type, std::span<const value_type>>> vote(slot_id s) const {
        if (!in_window(s)) return std::nullopt;
        const slot_state& st = at(s);
        if (st.accepted_ballot.is_zero()) return std::nullopt;
        return std::pair{st.accepted_ballot, st.values.view()};
    }

private:
    // FNV-1a over fields, not over object bytes: padding is not part of the
    // state. Values are hashed through std::hash when it exists, else as the
    // bytes of trivially copyable values.
    struct fingerprint_hasher {
        std::uint64_t value = 0xCBF29CE484222325ull;

        void add(std::uint64_t x) noexcept {
            for (int b = 0; b < 8; ++b) {
                value ^= (x >> (8 * b)) & 0xFF;
                value *= 0x100000001B3ull;
            }
        }
        void add_ballot(const ballot_type& b) noexcept { add(ballot_bits(b)); }
        void add_values(std::span<const value_type> values) noexcept {
            add(values.size());
            for (const value_type& v : values) {
                if constexpr (requires { std::hash<value_type>{}(v); }) {
                    add(std::hash<value_type>{}(v));
                } else {
                    static_assert(std::is_trivially_copyable_v<value_type>,
                                  "fingerprint(): give value_type a std::hash specialization");
                    unsigned char bytes[sizeof(value_type)];
                    std::memcpy(bytes, &v, sizeof bytes);
                    for (unsigned char c : bytes) add(c);
                }
            }
        }
    };

    // Everything one replica knows about one slot of its window, for all three
    // roles at once: a slot is a small record, and keeping the roles' fields
    // together means one index computation per message.
    struct slot_state {
        // Acceptor: the vote (zero ballot = none). Once the slot is chosen,
        // `values` holds the chosen value.
        ballot_type accepted_ballot{};
        batch_type values{};
        bool chosen = false;
        bool durable_dirty = false;  // the vote changed since the last ready()
        // Learner: the ballot the value was chosen in, when known (zero if not).
        ballot_type chosen_ballot{};
        // The slot was chosen with a value other than our vote before that
        // vote was handed out for persisting: `values` keeps the vote as cast
        // until advance(), and the chosen value waits in `adopt_values`
        // (unused once a slot is chosen). A durable record is always the vote
        // this acceptor cast, never a mix of its ballot and another value.
        bool chosen_aside = false;
        // Proposer (leader): votes for our proposal in ballot_.
        bool proposed = false;
        bool sent_this_round = false;  // proposed since the last retransmit round
        node_set votes{};
        // Candidate: the highest-ballot vote reported in Phase 1.
        ballot_type adopt_ballot{};
        batch_type adopt_values{};
    };

    // A slot as it starts. Default-initialized, not value-initialized: `{}` on a
    // class without a user-provided constructor zero-fills all of it first,
    // which for two batches of large commands is kilobytes per slot.
    static slot_state fresh_slot() {
        slot_state st;
        return st;
    }

    // The chosen value of a chosen slot (see slot_state::chosen_aside).
    static const batch_type& chosen_values(const slot_state& st) noexcept {
        PAXOS_ASSERT(st.chosen);
        return st.chosen_aside ? st.adopt_values : st.values;
    }
    static bool same_values(std::span<const value_type> a, std::span<const value_type> b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

    // ---- window -------------------------------------------------------------------

    // One unsigned comparison: below base_ the difference wraps to a huge value.
    bool in_window(slot_id s) const noexcept { return s.value - base_.value < window_slots; }
    slot_state& at(slot_id s) noexcept {
        PAXOS_ASSERT(in_window(s));
        return slots_[s.value & (window_slots - 1)];
    }
    const slot_state& at(slot_id s) const noexcept {
        PAXOS_ASSERT(in_window(s));
        return slots_[s.value & (window_slots - 1)];
    }

    // Slides the window forward over applied slots until `s` fits. Only slots
    // that are chosen and applied are released, and only when room is needed,
    // so a lagging peer can still learn them as long as possible.
    bool make_room(slot_id s) noexcept {
        if (in_window(s)) return true;  // the common case: no slide
        return slide_to(s);
    }
    // make_room() for a slot beyond the window: slides at least once.
    bool slide_to(slot_id s) noexcept {
        if (s < base_ || s.value >= slot_id::limit) return false;
        do {
            if (!(base_ < applied_end_)) return false;
            slot_state& released = at(base_);
            PAXOS_ASSERT(released.chosen);
            PAXOS_ASSERT(!released.durable_dirty);
            PAXOS_ASSERT(!released.chosen_aside);
            released = fresh_slot();
            base_ = base_.next();
        } while (!in_window(s));
        return true;
    }

    // Basic Paxos decides once; after that every proposal is moot.
    bool decided() const noexcept { return single_decree && chosen_end_.value > 0; }

    // True for a learner that has seen a ballot at work but not its outcome:
    // it holds a vote for a slot not known chosen (or, in a single decree, it
    // promised but knows no decision).
    bool wants_outcome() const noexcept {
        if (chosen_end_ < end_) return true;
        return single_decree && !decided() && !promised_.is_zero();
    }

    // Work a leader-free proposer should campaign for: commands of its own,
    // or slots someone started and nobody finished -- but only once no leader
    // has been heard for a while: a live leader is finishing them, and
    // preempting it would only restart the duel.
    bool has_work() const noexcept {
        if (!pending_.empty()) return true;
        if (chosen_end_ >= end_) return false;
        return proposer_unfinished_ || quiet_ticks_ >= 2 * options_.retransmit_ticks;
    }

    leader_context context() const noexcept { return leader_context{role_, has_work()}; }

    // ---- outbox -------------------------------------------------------------------

    // Checks, when an input returns, that it queued no more messages than
    // the room has_outbox_room() asked for, and (see the header) that the
    // invariant chain holds.
    struct input_guard {
        const replica& r;
        std::size_t messages_free;
        std::size_t values_free;
        std::size_t votes_free;
        explicit input_guard(const replica& of) noexcept
            : r(of),
              messages_free(of.outbox_.messages_free()),
              values_free(of.outbox_.values_free()),
              votes_free(of.outbox_.votes_free()) {}
        ~input_guard() {
            PAXOS_ASSERT(messages_free - r.outbox_.messages_free() <= messages_per_input_max);
            PAXOS_ASSERT(values_free - r.outbox_.values_free() <= values_per_input_max);
            PAXOS_ASSERT(votes_free - r.outbox_.votes_free() <= votes_per_input_max);
            r.check_invariants();
        }
    };

#if !defined(NDEBUG) || defined(PAXOS_CHECK_INVARIANTS)
    static constexpr bool check_invariants_enabled = true;
#else
    static constexpr bool check_invariants_enabled = false;
#endif

    void check_invariants() const noexcept {
        if constexpr (check_invariants_enabled) {
            PAXOS_ASSERT(base_ <= applied_end_);
            PAXOS_ASSERT(applied_end_ <= chosen_end_);
            PAXOS_ASSERT(chosen_end_ <= end_);
            PAXOS_ASSERT(end_.value - base_.value <= window_slots);
            PAXOS_ASSERT(chosen_end_.value <= slot_id::limit);
            PAXOS_ASSERT(!open_ || role_ == role::leader);
            if constexpr (strict) {
                if (role_ == role::leader) PAXOS_ASSERT(ballot_ == promised_);
                if (role_ != role::follower) PAXOS_ASSERT(ballot_ <= promised_);
            }
            for (slot_id s = base_; s < end_; s = s.next()) {
                const slot_state& st = at(s);
                if (s < chosen_end_) PAXOS_ASSERT(st.chosen);
                if constexpr (strict) PAXOS_ASSERT(st.accepted_ballot <= promised_);
                PAXOS_ASSERT(!st.chosen_aside || (st.chosen && st.durable_dirty) ||
                             ready_outstanding_);
            }
        }
    }

    void begin_input() noexcept {
        PAXOS_ASSERT(!ready_outstanding_);  // advance() the last ready() first
        fresh_ = false;
    }
    bool has_outbox_room() const noexcept {
        return outbox_.messages_free() >= messages_per_input_max &&
               outbox_.values_free() >= values_per_input_max &&
               outbox_.votes_free() >= votes_per_input_max;
    }
    // The header every message of ours carries.
    void set_header(message_type& m, node_id to, message_kind kind, ballot_type b,
                    slot_id s) const noexcept {
        m.kind = kind;
        m.from = options_.self;
        m.to = to;
        m.ballot = b;
        m.slot = s;
        m.chosen_end = chosen_end_;
    }
    // Which group a message of ours joins: it leaves at once unless what it
    // vouches for (backed_by) is still to be synced. A vote is always cast in
    // the batch that answers it, so accepted always waits.
    send_group group_of(message_kind kind, ballot_type b) const noexcept {
        switch (backing_of(kind)) {
            case durable_backing::none: return send_group::now;
            case durable_backing::vote: return send_group::after_sync;
            case durable_backing::promise: break;
        }
        // Planted: a candidate's prepare leaves before its raised promise is on disk.
        if constexpr (planted(bug::prepare_before_durable)) {
            if (kind == message_kind::prepare) return send_group::now;
        }
        return b <= durable_promised_ ? send_group::now : send_group::after_sync;
    }
    // Messages are built in place in the outbox and returned for the caller
    // to fill in: no copy of a finished message.
    message_type& emit(node_id to, message_kind kind, ballot_type b, slot_id s) {
        message_type& m = outbox_.add(group_of(kind, b));
        set_header(m, to, kind, b, s);
        return m;
    }
    // A body's values, copied into the outbox's arena.
    void put_values(message_type& m, std::span<const value_type> values) {
        m.values = outbox_.put_values(values);
    }
    message_type& send(node_id to, message_kind kind, ballot_type b, slot_id s = slot_id{}) {
        PAXOS_ASSERT(to != options_.self);
        return emit(to, kind, b, s);
    }
    // Null in a cluster of one: there is nobody to tell.
    message_type* broadcast(message_kind kind, ballot_type b, slot_id s = slot_id{}) {
        if (node_count_ == 1) return nullptr;
        return &emit(node_id::broadcast(), kind, b, s);
    }

    // ---- validation: nothing in a message is trusted before this -------------------
    //
    // Checks only what the message claims about itself and the cluster (kind,
    // sender, destination, who owns which ballot, internal consistency); the
    // handlers then check it against our state. A malformed message changes
    // nothing: an unchecked `from` would index arrays, and an unchecked ballot
    // owner would let a node speak for another's ballot.

    bool owned_by_cluster(ballot_type b) const noexcept {
        return b.is_zero() || b.owner().value < node_count_;
    }

    // Sets `owner` to the owner of m.ballot (none for a zero ballot) once it
    // is checked, so handlers need not compute it again. The generic checks
    // follow the kind's row of message_kinds (core/message.hpp).
    reason validate(const message_type& m, node_id& owner) const noexcept {
        if (!is_message_kind(static_cast<std::uint8_t>(m.kind))) return reason::malformed;
        const message_kind_info& k = info(m.kind);
        if (m.from.value >= node_count_ || m.from == options_.self) {
            return reason::unknown_sender;
        }
        if (m.to != options_.self && m.to != node_id::broadcast()) {
            return reason::wrong_destination;
        }
        // No slot in use reaches the limit, so no slot arithmetic can wrap.
        // (A prepare, promise or learn_request may name the limit itself as
        // the first slot asked: everything below it is chosen.)
        if (m.slot.value > slot_id::limit || m.chosen_end.value > slot_id::limit) {
            return reason::malformed;
        }
        if (m.slot.value == slot_id::limit && k.one_slot) return reason::malformed;
        // A body only where the kind has one, and never more than it holds.
        if (!k.has_values && !m.values.empty()) return reason::malformed;
        if (!k.has_votes && !m.votes.empty()) return reason::malformed;
        if (m.values.size() > (k.has_votes ? promise_values_max : batch_values_max)) {
            return reason::malformed;
        }
        if (!k.accepted_ballot && !m.accepted_ballot.is_zero()) return reason::malformed;
        if (!k.has_votes && (m.part != 0 || m.parts != 1)) return reason::malformed;
        // The ballot's owner is computed once (a division for counter ballots).
        const bool zero = m.ballot.is_zero();
        owner = zero ? node_id::none() : m.ballot.owner();
        if ((!zero && owner.value >= node_count_) || !owned_by_cluster(m.accepted_ballot)) {
            return reason::malformed;
        }
        switch (k.ballot) {
            case ballot_rule::sender:  // a proposer speaks only with its own ballot
                if (zero || owner != m.from) return reason::malformed;
                break;
            case ballot_rule::receiver:  // answers to one of our ballots
                if (zero || owner != options_.self) return reason::malformed;
                break;
            case ballot_rule::nonzero:
                if (zero) return reason::malformed;
                break;
            case ballot_rule::any: break;
        }
        // A leader announcing its own choice chose it in its ballot.
        if (m.kind == message_kind::chosen && !zero && m.accepted_ballot != m.ballot) {
            return reason::malformed;
        }
        if (k.has_votes) return validate_votes(m);
        return reason::ok;
    }

    // A promise's votes: slots from the first one asked, strictly increasing,
    // each owned by the cluster, each vote's values in the body, and (unless
    // only chosen is reported) a vote below the promise it travels with.
    reason validate_votes(const message_type& m) const noexcept {
        if (m.parts == 0 || m.parts > promise_parts_max || m.part >= m.parts) {
            return reason::malformed;
        }
        if (m.votes.size() > window_slots) return reason::malformed;
        std::size_t values = 0;
        slot_id after = m.slot;
        for (std::size_t i = 0; i < m.votes.size(); ++i) {
            const report_type& v = m.votes[i];
            if (v.slot < after || v.slot.value >= slot_id::limit) return reason::malformed;
            after = v.slot.next();
            if (!owned_by_cluster(v.ballot)) return reason::malformed;
            if (v.value_count > batch_values_max) return reason::malformed;
            values += v.value_count;
            if (!v.chosen && v.ballot.is_zero()) return reason::malformed;
            // A reported vote predates the promise it travels with. (An
            // implementation whose accepts do not raise the promise has no
            // such cross-check: the planted bug drops it too.)
            if constexpr (!planted(bug::accept_keeps_promise)) {
                if (!v.ballot.is_zero() && !(v.ballot < m.ballot)) return reason::malformed;
            }
        }
        if (values != m.values.size()) return reason::malformed;
        return reason::ok;
    }

    // restore()'s checks, before anything changes. Every slot is below the
    // limit, so the window arithmetic that follows cannot wrap.
    reason check_recovery(const recovery& r) const noexcept {
        if (r.first_unapplied.value > slot_id::limit) return reason::bad_recovery;
        if (!owned_by_cluster(r.promised)) return reason::bad_recovery;
        for (std::size_t i = 0; i < r.accepted.size(); ++i) {
            const record_type& rec = r.accepted[i];
            if (rec.slot.value >= slot_id::limit) return reason::bad_recovery;
            if (rec.ballot.is_zero() || !owned_by_cluster(rec.ballot)) {
                return reason::bad_recovery;
            }
            if (rec.values.size() > batch_values_max) return reason::malformed;
            if (rec.slot >= r.first_unapplied &&
                rec.slot.value - r.first_unapplied.value >= window_slots) {
                return reason::slot_out_of_window;
            }
            // A later record for the same slot replaces an earlier one, and
            // only with a ballot at least as high. Quadratic in the records,
            // once per life; a store's replica_recovery hands back at most
            // one per slot of the window.
            for (std::size_t j = 0; j < i; ++j) {
                const record_type& prev = r.accepted[j];
                if (prev.slot == rec.slot && rec.ballot < prev.ballot) {
                    return reason::bad_recovery;
                }
            }
        }
        return reason::ok;
    }

    // ---- acceptor -----------------------------------------------------------------

    void raise_promise(ballot_type b) noexcept {
        PAXOS_ASSERT(b >= promised_);  // the promise never goes down
        if (b == promised_) return;
        promised_ = b;
        if constexpr (!planted(bug::promise_before_durable)) promised_dirty_ = true;
    }

    // Paxos Made Simple §2.2 (P1a): promise on prepare(n) only if n exceeds every
    // ballot promised so far. `>=` would let two proposers that share a ballot
    // both pass Phase 1 (seed: "promise number vs accept number").
    result on_prepare(const message_type& m) {
        bool fresh = m.ballot > promised_;
        if constexpr (planted(bug::promise_on_equal_ballot)) fresh = !(m.ballot < promised_);
        if (!fresh) {
            send_reject(m);
            return {reason::stale_ballot, leader_};
        }
        if (m.slot < base_) {
            // Our votes below base_ are gone (chosen, applied and released):
            // we cannot report them, so we must not promise. The candidate is
            // behind: teach it what the window still holds, and the driver
            // serves the rest from its log (slot_compacted, as for learners).
            send_chosen_from(m.from, base_);
            ask_catch_up(m.from, m.slot);
            return {reason::slot_compacted, leader_};
        }
        raise_promise(m.ballot);
        leader_ = node_id::none();         // an election is under way
        leader_policy_.on_leader_heard();  // a live proposer: don't start a rival one
        send_promise(m.from, m.ballot, m.slot);
        preempted_by(m.ballot);
        return {};
    }

    // One promise with every vote we hold from `from` on, and every slot we
    // know chosen there, in parts of at most promise_values_max values. Each
    // part starts at its first reported slot (the first at `from`), so the
    // parts cover consecutive slot ranges.
    void send_promise(node_id to, ballot_type b, slot_id from) {
        message_type* part = &send(to, message_kind::promise, b, from);
        std::array<message_type*, promise_parts_max> parts{};
        std::size_t count = 0;
        std::size_t values_at = outbox_.values_mark();
        std::size_t votes_at = outbox_.votes_mark();
        const auto close_part = [&] {
            part->values = outbox_.values_since(values_at);
            part->votes = outbox_.votes_since(votes_at);
            parts[count++] = part;
        };
        for (slot_id s = from; s < end_; s = s.next()) {
            if (!in_window(s)) continue;
            const slot_state& st = at(s);
            if (st.accepted_ballot.is_zero() && !st.chosen) continue;
            const batch_type& values = st.chosen ? chosen_values(st) : st.values;
            if (outbox_.values_mark() - values_at + values.size() > promise_values_max) {
                close_part();
                part = &send(to, message_kind::promise, b, s);
                values_at = outbox_.values_mark();
                votes_at = outbox_.votes_mark();
            }
            outbox_.put_vote(report_type{s, st.accepted_ballot,
                                         static_cast<std::uint32_t>(values.size()), st.chosen});
            (void)outbox_.put_values(values.view());
        }
        close_part();
        for (std::size_t i = 0; i < count; ++i) {
            parts[i]->part = static_cast<std::uint8_t>(i);
            parts[i]->parts = static_cast<std::uint8_t>(count);
        }
    }

    // Paxos Made Simple §2.2 (P1a): accept(n, v) if n is not below the promise.
    // Accepting n also promises n: the promise is raised so an older proposer's
    // later prepare cannot slip under a vote already cast.
    result on_accept(const message_type& m) {
        if (m.ballot < promised_) {
            send_reject(m);
            return {reason::stale_ballot, leader_};
        }
        if constexpr (!planted(bug::accept_keeps_promise)) raise_promise(m.ballot);
        preempted_by(m.ballot);
        hear_leader(m.from);
        if (m.slot < base_) {
            // Applied and released here: the leader is behind; teach it.
            ask_catch_up(m.from, m.slot);
            return {reason::slot_compacted, leader_};
        }
        if (!make_room(m.slot)) return {reason::slot_out_of_window, leader_};
        slot_state& st = at(m.slot);
        if (st.chosen) {
            // Nothing to vote on: teach the proposer what was chosen instead.
            send_chosen(m.from, m.slot, st, ballot_type{});
            return {reason::ignored, leader_};
        }
        cast_vote(m.slot, st, m.ballot, m.values);
        end_ = std::max(end_, m.slot.next());
        send(m.from, message_kind::accepted, m.ballot, m.slot);
        return {};
    }

    // `st` is at(s), looked up once by the caller.
    void cast_vote(slot_id s, slot_state& st, ballot_type b, std::span<const value_type> values) {
        if constexpr (strict) {
            PAXOS_ASSERT(b <= promised_);
            PAXOS_ASSERT(st.accepted_ballot <= b);  // votes only move to higher ballots
        }
        st.accepted_ballot = b;
        st.values.assign(values);
        if (!st.durable_dirty) dirty_slots_.push_back(s);  // once per slot per batch
        st.durable_dirty = true;
    }

    void send_reject(const message_type& m) {
        send(m.from, message_kind::reject, promised_, m.slot);
    }

    // ---- proposer: Phase 1 ----------------------------------------------------------

    result start_phase1() {
        const ballot_type floor = std::max(promised_, highest_seen_);
        const std::optional<ballot_type> next = ballot_type::next_above(floor, options_.self);
        if (!next) return {reason::ballot_exhausted, leader_};
        PAXOS_ASSERT(*next > floor);
        role_ = role::candidate;
        ballot_ = *next;
        // Self-promise: the ballot is durable in this batch before the prepare
        // leaves, so after a restart next_above(promised) never reuses it.
        raise_promise(ballot_);
        leader_ = node_id::none();
        open_ = false;
        open_batch_.clear();
        retransmit_elapsed_ = 0;
        phase1_from_ = chosen_end_;
        promised_by_.clear();
        tainted_.clear();
        parts_seen_.fill(0);
        parts_expected_.fill(0);
        for (slot_id s = base_; s.value < base_.value + window_slots; s = s.next()) {
            slot_state& st = at(s);
            st.proposed = false;
            if constexpr (!planted(bug::votes_across_ballots)) st.votes.clear();
            st.adopt_ballot = ballot_type{};
            if (!st.chosen_aside) st.adopt_values.clear();  // holds a chosen value
        }
        // Our own acceptor's answer, without a message.
        for (slot_id s = phase1_from_; s < end_; s = s.next()) {
            slot_state& st = at(s);
            if (!st.chosen && !st.accepted_ballot.is_zero()) {
                st.adopt_ballot = st.accepted_ballot;
                st.adopt_values = st.values;
            }
        }
        broadcast(message_kind::prepare, ballot_, phase1_from_);
        promised_by_.insert(options_.self);
        if (quorum_.is_phase1_quorum(promised_by_)) become_leader();
        return {reason::ok, leader_};
    }

    // Phase 1b: a promise, in one part or a few, in any order, possibly
    // duplicated. A peer counts toward the phase-1 quorum only once all its
    // parts are in: a promise missing a vote could hide a value that was
    // already chosen.
    result on_promise(const message_type& m) {
        if (role_ != role::candidate || m.ballot != ballot_) return {reason::ignored, leader_};
        if (m.part == 0 ? m.slot != phase1_from_ : m.slot < phase1_from_) {
            return {reason::malformed, leader_};
        }
        const std::size_t peer = m.from.value;
        if (parts_expected_[peer] != 0 && parts_expected_[peer] != m.parts) {
            return {reason::malformed, leader_};  // two parts disagree on how many there are
        }
        const std::uint64_t bit = std::uint64_t{1} << m.part;
        if ((parts_seen_[peer] & bit) != 0) return {reason::ignored, leader_};  // duplicate
        parts_expected_[peer] = m.parts;
        parts_seen_[peer] |= bit;
        reason r = reason::ok;
        std::size_t at_value = 0;
        for (const report_type& v : m.votes) {
            const auto values = m.values.subspan(at_value, v.value_count);
            at_value += v.value_count;
            if (!make_room(v.slot)) {
                // Cannot hold this vote, so this promise cannot be counted.
                tainted_.insert(m.from);
                r = reason::slot_out_of_window;
                continue;
            }
            slot_state& st = at(v.slot);
            end_ = std::max(end_, v.slot.next());
            if (v.chosen) {
                if (!st.chosen) mark_chosen(v.slot, st, values, ballot_type{});
            } else if (!st.chosen && v.ballot > st.adopt_ballot) {
                // (A chosen slot needs no adoption, and its adopt_values may hold
                // the chosen value: see slot_state::chosen_aside.)
                // Value adoption (P2c): keep the vote of the highest ballot.
                st.adopt_ballot = v.ballot;
                st.adopt_values.assign(values);
            }
        }
        count_promise(m.from);
        return {r, leader_};
    }

    // A peer's promise counts once all its parts are in.
    void count_promise(node_id from) {
        const std::size_t want = parts_expected_[from.value];
        const std::uint64_t all = want >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << want) - 1;
        if (want == 0 || parts_seen_[from.value] != all) return;
        if (tainted_.contains(from)) return;
        promised_by_.insert(from);
        if (role_ == role::candidate && quorum_.is_phase1_quorum(promised_by_)) {
            become_leader();
        }
    }

    // Phase 1 is complete. Every slot from phase1_from_ up to the highest slot
    // anyone reported is re-proposed in our ballot, even where a value was
    // already accepted: only a phase-2 quorum in one ballot makes a value
    // chosen, and older votes cannot be added to ours (PMS §2.2, P2c).
    void become_leader() {
        PAXOS_ASSERT(role_ == role::candidate);
        if constexpr (strict) PAXOS_ASSERT(ballot_ == promised_);
        role_ = role::leader;
        leader_ = options_.self;
        proposer_unfinished_ = false;
        leader_policy_.on_elected();
        // Announce the new leader at once so followers redirect clients and
        // reset their election timers before the first command arrives.
        broadcast(message_kind::heartbeat, ballot_);
        // Re-propose every open slot: the adopted value, or a no-op in a gap.
        const slot_id end = end_;
        for (slot_id s = phase1_from_; s < end; s = s.next()) {
            slot_state& st = at(s);
            if (st.chosen) continue;
            batch_type values = st.adopt_values;
            if constexpr (planted(bug::leader_skips_adoption)) values.clear();
            propose_slot(s, values.view());
            if (role_ != role::leader) return;
        }
        next_slot_ = std::max(end_, chosen_end_);
        flush_pending();
    }

    // ---- proposer: Phase 2 ----------------------------------------------------------

    // Slots are reserved when a batch opens, so the window bound is checked
    // once per slot, not per command.
    result propose_as_leader(const value_type& value) {
        if (!open_) {
            if (next_slot_.value >= slot_id::limit) return {reason::slot_exhausted, leader_};
            if (!make_room(next_slot_)) return {reason::window_full, leader_};
            open_ = true;
            open_slot_ = next_slot_;
            next_slot_ = next_slot_.next();
            end_ = std::max(end_, next_slot_);
        }
        open_batch_.push_back(value);
        if (open_batch_.full()) seal_open_batch();
        return {reason::ok, leader_};
    }

    void seal_open_batch() {
        PAXOS_ASSERT(open_ && role_ == role::leader);
        open_ = false;
        const batch_type values = open_batch_;
        open_batch_.clear();
        propose_slot(open_slot_, values.view());
    }

    // Moves commands queued while not leader into a slot of their own.
    void flush_pending() {
        if (pending_.empty() || role_ != role::leader || decided()) return;  // commonest first
        if (open_) seal_open_batch();
        if (!make_room(next_slot_)) return;
        open_ = true;
        open_slot_ = next_slot_;
        next_slot_ = next_slot_.next();
        end_ = std::max(end_, next_slot_);
        open_batch_ = pending_;
        pending_.clear();
        seal_open_batch();
    }

    // Phase 2a for one slot: vote for it ourselves and ask everyone else at
    // once. Our vote is written while the accepts travel and counts only at
    // advance(), once durable (count_own_vote): a chosen notice that counted
    // it earlier could leave, and a crash then forget the vote, leaving the
    // value chosen by a quorum that no longer holds it.
    void propose_slot(slot_id s, std::span<const value_type> values) {
        slot_state& st = at(s);
        if (st.chosen) {
            // Only a planted split brain gets here. A leader that learns of a
            // choice in a slot it reserved or has yet to use steps down first
            // (on_chosen: that choice was made by a newer leader).
            PAXOS_ASSERT(!strict);
            return;
        }
        st.proposed = true;
        st.sent_this_round = true;
        if constexpr (!planted(bug::votes_across_ballots)) st.votes.clear();
        // The leader's own acceptor votes first; ballot_ == promised_ here.
        cast_vote(s, st, ballot_, values);
        end_ = std::max(end_, s.next());
        // Planted: the leader counts its own vote before it is durable.
        if constexpr (planted(bug::own_vote_before_durable)) {
            st.votes.insert(options_.self);
            if (quorum_.is_phase2_quorum(st.votes)) {
                on_quorum_accepted(s, st);
                return;
            }
        }
        // Our vote alone is a phase-2 quorum (flexible, Q2 = 1): the chosen
        // message, once it is durable, carries the value; no accept is needed.
        if (self_is_phase2_quorum_) return;
        if (message_type* a = broadcast(message_kind::accept, ballot_, s))
            put_values(*a, st.values.view());
    }

    // advance(): a vote of ours, handed out for persisting in the batch just
    // acknowledged, is durable and counts if it is still our proposal.
    void count_own_vote(const record_type& rec) {
        if (role_ != role::leader || rec.ballot != ballot_) return;
        slot_state& st = at(rec.slot);
        if (!st.proposed || st.chosen || st.accepted_ballot != ballot_) return;
        st.votes.insert(options_.self);
        if (quorum_.is_phase2_quorum(st.votes)) on_quorum_accepted(rec.slot, st);
    }

    // Chosen only when one phase-2 quorum accepted in the same ballot: votes
    // are collected per slot for ballot_ alone and reset on every proposal.
    result on_accepted(const message_type& m) {
        bool ours = m.ballot == ballot_;
        if constexpr (planted(bug::votes_across_ballots)) ours = true;  // any of our ballots
        if (role_ != role::leader || !ours) return {reason::ignored, leader_};
        if (!in_window(m.slot)) return {reason::ignored, leader_};
        slot_state& st = at(m.slot);
        if (!st.proposed || st.chosen) return {reason::ignored, leader_};
        st.votes.insert(m.from);
        if (quorum_.is_phase2_quorum(st.votes)) on_quorum_accepted(m.slot, st);
        return {};
    }

    void on_quorum_accepted(slot_id s, slot_state& st) {
        mark_chosen(s, st, st.values.view(), ballot_);
        if (message_type* c = broadcast(message_kind::chosen, ballot_, s)) {
            c->accepted_ballot = ballot_;  // chosen in our ballot
            put_values(*c, st.values.view());
        }
    }

    // A leader or candidate that sees a higher ballot steps down at once; a
    // retry always goes through Phase 1 with a new, higher ballot (seed "edge
    // case 1": skipping Phase 1 on retry can overwrite a chosen value).
    result on_reject(const message_type& m) {
        if (role_ == role::follower || !(m.ballot > ballot_)) return {reason::ignored, leader_};
        if (m.ballot.owner() != options_.self) leader_ = m.ballot.owner();
        preempted_by(m.ballot);
        return {reason::ok, leader_};
    }

    // Steps down if `higher` beats our ballot, and lets the leader policy
    // decide whether to run Phase 1 again at once. A retry that finds the
    // ballot space exhausted leaves us a follower; campaign() and propose()
    // then report ballot_exhausted.
    void preempted_by(ballot_type higher) {
        if (role_ == role::follower || !(higher > ballot_)) return;
        step_down();
    }

    // A proposer stops being one: its ballot is beaten (preempted_by) or a
    // newer leader's choice reached it (on_chosen) whose ballot it may not know.
    void step_down() {
        PAXOS_ASSERT(role_ != role::follower);
        role_ = role::follower;
        if constexpr (leader_type::followers_propose) {
            // Keep the commands that never reached a slot; they go out again
            // when this replica next leads.
            if (open_) {
                for (const value_type& v : open_batch_) {
                    if (!pending_.full()) pending_.push_back(v);
                }
            }
        }
        // Slots we proposed and did not see chosen are our unfinished work:
        // a leader-free policy may retry for them at once.
        if (chosen_end_ < end_) proposer_unfinished_ = true;
        open_ = false;
        open_batch_.clear();
        if (leader_policy_.on_preempted(context()) == leader_action::start_phase1) {
            retry_phase1_ = true;  // after the current message (see step())
        }
    }

    // ---- learner ------------------------------------------------------------------

    // Learner: record a chosen value and advance chosen_end_ over the
    // contiguous prefix. Slots may be learned out of order; they are handed
    // to the state machine only in order, without gaps. `in` is the ballot the
    // value was chosen in, or zero when the teller did not know it.
    // `st` is at(s). `values` may be st.values itself (the leader's own
    // proposal): assign() then copies each element onto itself.
    void mark_chosen(slot_id s, slot_state& st, std::span<const value_type> values,
                     ballot_type in) {
        PAXOS_ASSERT(!st.chosen);
        PAXOS_ASSERT(!st.chosen_aside);
        st.chosen = true;
        st.chosen_ballot = in;
        if (st.durable_dirty && !same_values(st.values.view(), values)) {
            // Our vote for another value is still to be handed out: the record
            // must name the vote as cast, so the chosen value waits aside.
            st.adopt_values.assign(values);
            st.chosen_aside = true;
            ++chosen_aside_count_;
        } else {
            // Our vote is on disk (or agrees): the chosen value replaces it in
            // memory; any later report of this slot is flagged chosen.
            st.values.assign(values);
        }
        end_ = std::max(end_, s.next());
        while (in_window(chosen_end_) && at(chosen_end_).chosen) chosen_end_ = chosen_end_.next();
        if (chosen_end_ >= end_) proposer_unfinished_ = false;
        if (decided()) pending_.clear();
    }

    // `b` is the leader's ballot when the leader announces its own choice, and
    // zero when any replica repeats a chosen value (which says nothing about
    // who leads). Either way the message says which ballot chose the value,
    // when we know it, so a stale leader that hears it learns it was deposed.
    void send_chosen(node_id to, slot_id s, const slot_state& st, ballot_type b) {
        message_type& c = send(to, message_kind::chosen, b, s);
        c.accepted_ballot = st.chosen_ballot;
        put_values(c, chosen_values(st).view());
    }

    // A chosen value, announced by the leader that got it chosen (carrying its
    // ballot, which also tells us who leads) or repeated by any replica for a
    // learner that asked (zero ballot). Both carry, in accepted_ballot, the
    // ballot the value was chosen in when the sender knows it.
    // `owner` is m.ballot's, from validate(): none for a zero ballot.
    result on_chosen(const message_type& m, node_id owner) {
        if (owner == m.from && m.ballot >= promised_) {
            preempted_by(m.ballot);
            hear_leader(m.from);
        }
        // A value chosen in a ballot above ours: a newer leader has completed
        // both phases, so we no longer lead (and our next ballot must beat it).
        if (m.accepted_ballot > highest_seen_) highest_seen_ = m.accepted_ballot;
        if (role_ != role::follower && m.accepted_ballot > ballot_) {
            preempted_by(m.accepted_ballot);
            leader_ = m.accepted_ballot.owner();
        }
        if (m.slot < base_) return {reason::ignored, leader_};
        if (!make_room(m.slot)) return {reason::slot_out_of_window, leader_};
        slot_state& st = at(m.slot);
        if (st.chosen) {
            if (st.chosen_ballot.is_zero()) st.chosen_ballot = m.accepted_ballot;
            return {reason::ignored, leader_};
        }
        if (role_ == role::leader && superseded_at(st, m.values)) {
            // Chosen where we have proposed nothing (a slot we reserved or
            // have yet to use) or something else: another proposer with a
            // higher ballot completed Phase 1 past us (our Phase 1 would have
            // adopted any value chosen below our ballot). We do not lead any
            // more; stepping down keeps us from proposing into a chosen slot.
            step_down();
            leader_ = m.accepted_ballot.is_zero() ? node_id::none() : m.accepted_ballot.owner();
        }
        mark_chosen(m.slot, st, m.values, m.accepted_ballot);
        return {};
    }

    // A chosen message, or a promise's report of a chosen slot, whose value
    // differs from the one we know chosen there.
    bool contradicts_chosen(const message_type& m) const {
        if (m.kind == message_kind::chosen) return contradicts_chosen_at(m.slot, m.values);
        if (m.kind != message_kind::promise) return false;
        std::size_t at_value = 0;
        for (const report_type& v : m.votes) {
            const auto values = m.values.subspan(at_value, v.value_count);
            at_value += v.value_count;
            if (v.chosen && contradicts_chosen_at(v.slot, values)) return true;
        }
        return false;
    }
    bool contradicts_chosen_at(slot_id s, std::span<const value_type> values) const {
        if (!in_window(s) || !at(s).chosen) return false;
        return !same_values(chosen_values(at(s)).view(), values);
    }

    // For a leader learning that slot `st` is chosen with `values`.
    static bool superseded_at(const slot_state& st, std::span<const value_type> values) {
        return !st.proposed || !same_values(st.values.view(), values);
    }

    // A leader is alive. A heartbeat does not raise the promise (it is not a
    // prepare, and a durable write per heartbeat would cost an fsync), but it
    // does reveal how far the leader's log is chosen, so a lagging learner
    // asks for the rest.
    result on_heartbeat(const message_type& m) {
        if (m.ballot < promised_) {
            // A deposed leader: tell it, so it steps down.
            send_reject(m);
            return {reason::stale_ballot, leader_};
        }
        preempted_by(m.ballot);
        hear_leader(m.from);
        // Ask only for slots an earlier heartbeat already announced: the chosen
        // messages for newer ones left just before this heartbeat and may
        // still be on their way (asking at once re-sent each slot about three
        // times per commit on wide-area links, measured by paxos_quorums).
        if (m.chosen_end > chosen_end_ && announced_chosen_end_ > chosen_end_) {
            send(m.from, message_kind::learn_request, promised_, chosen_end_);
        }
        // A slot is chosen for good, whoever announced it: keep the furthest.
        announced_chosen_end_ = std::max(announced_chosen_end_, m.chosen_end);
        return {};
    }

    // A learner asks for chosen slots from m.slot on. We send what our window
    // still holds; slots below it were applied and released, so the batch's
    // catch_up asks the driver to serve those from its own log or a snapshot
    // (see chosen_message_for), and the result says slot_compacted.
    result on_learn_request(const message_type& m) {
        send_chosen_from(m.from, std::max(m.slot, base_));
        if (m.slot < base_) {
            ask_catch_up(m.from, m.slot);
            return {reason::slot_compacted, leader_};
        }
        return {};
    }

    // The batch tells the driver what to serve from below the window.
    void ask_catch_up(node_id peer, slot_id from) {
        PAXOS_ASSERT(from < base_);
        for (catch_up_request& c : catch_up_) {
            if (c.peer != peer) continue;
            c.from = std::min(c.from, from);
            return;
        }
        catch_up_.push_back(catch_up_request{peer, from, base_});
    }

    // Chosen messages to `to` for every chosen slot we hold from `from` on.
    void send_chosen_from(node_id to, slot_id from) {
        PAXOS_ASSERT(from >= base_);
        for (slot_id s = from; s < chosen_end_; s = s.next()) {
            send_chosen(to, s, at(s), ballot_type{});
        }
    }

    void hear_leader(node_id from) {
        leader_ = from;
        quiet_ticks_ = 0;
        leader_policy_.on_leader_heard();
    }

    std::uint32_t quiet_ticks_max() const noexcept { return 8 * options_.retransmit_ticks; }

    // The network may lose anything, so a proposer repeats itself: a
    // candidate its prepare, a leader the accepts of unchosen slots and a
    // heartbeat. Acceptors answer repeats idempotently; duplicate votes do
    // not count twice (votes are a node set).
    void retransmit() {
        if (role_ == role::candidate) {
            broadcast(message_kind::prepare, ballot_, phase1_from_);
            return;
        }
        // A slot proposed since the last round has had less than one interval
        // to be answered: repeating it now only doubles the traffic of a
        // pipeline whose round trip is near the interval (wide-area links).
        std::size_t sent = 0;
        for (slot_id s = chosen_end_; s < end_ && sent + 1 < messages_per_input_max; s = s.next()) {
            if (!in_window(s)) break;
            slot_state& st = at(s);
            if (!st.proposed || st.chosen) continue;
            if (st.sent_this_round) {
                st.sent_this_round = false;
                continue;
            }
            message_type* a = broadcast(message_kind::accept, ballot_, s);
            if (a) put_values(*a, st.values.view());
            ++sent;
        }
        broadcast(message_kind::heartbeat, ballot_);
    }

    // ---- state ---------------------------------------------------------------------
    // Fixed-size members only: the replica never allocates after construction.

    options options_;
    quorum_type quorum_;
    leader_type leader_policy_;
    std::size_t node_count_ = 0;

    role role_ = role::follower;
    ballot_type promised_{};
    bool promised_dirty_ = false;
    ballot_type durable_promised_{};  // the promise as of the last acknowledged batch
    ballot_type ballot_{};            // our latest own ballot
    ballot_type highest_seen_{};      // highest ballot in any message
    node_id leader_ = node_id::none();

    std::array<slot_state, window_slots> slots_{};
    slot_id base_{};         // lowest slot held
    slot_id applied_end_{};  // first slot not yet handed out for applying
    slot_id chosen_end_{};   // first slot not known chosen
    slot_id end_{};          // one past the highest slot in use
    fixed_vector<slot_id, window_slots> dirty_slots_{};  // votes not yet in a ready()

    slot_id next_slot_{};  // leader: next slot to fill
    bool open_ = false;    // leader: open_slot_ is collecting a batch
    slot_id open_slot_{};
    batch_type open_batch_{};
    batch_type pending_{};  // commands taken while not leader

    // Phase 1 bookkeeping of a candidate: which peers' promises are complete,
    // which were spoiled (a vote we could not hold), and per peer which parts
    // of its promise arrived, of how many.
    slot_id phase1_from_{};
    node_set promised_by_{};
    node_set tainted_{};
    std::array<std::uint64_t, Config::max_nodes> parts_seen_{};     // promise parts in, a bit each
    std::array<std::uint8_t, Config::max_nodes> parts_expected_{};  // 0 until one part is in
    std::uint32_t retransmit_elapsed_ = 0;
    std::uint32_t quiet_ticks_ = 0;     // follower: ticks since a leader was last heard
    slot_id announced_chosen_end_{};    // furthest chosen_end heartbeats announced
    bool proposer_unfinished_ = false;  // stepped down with our own slots unchosen
    bool retry_phase1_ = false;         // preempted; the policy wants Phase 1 again

    // Outputs of the current batch; ready() hands out views of these.
    outbox<ballot_type, value_type, outbox_messages_max, 2 * values_per_input_max,
           2 * votes_per_input_max>
        outbox_{};
    fixed_vector<record_type, window_slots> records_{};
    fixed_vector<chosen_type, window_slots> chosen_out_{};
    fixed_vector<catch_up_request, Config::max_nodes> catch_up_{};
    slot_id handed_end_{};                // chosen_end_ when the outstanding batch was collected
    std::size_t chosen_aside_count_ = 0;  // slots with slot_state::chosen_aside set
    node_set peers_{};                    // every member but ourselves: a broadcast's fan-out
    bool self_is_phase2_quorum_ = false;  // our vote alone chooses (flexible, Q2 = 1)
    ready_type ready_{};
    bool ready_outstanding_ = false;
    bool fresh_ = true;
};

}  // namespace paxos
