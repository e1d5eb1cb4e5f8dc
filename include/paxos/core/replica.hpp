// paxos/core/replica.hpp: one Paxos replica as a pure state machine.
//
// A replica plays all three roles of "Paxos Made Simple": acceptor, proposer
// and learner. It does no I/O, reads no clock, starts no thread and never
// allocates; every buffer is a member sized by the Config. Inputs:
//
//   propose(value)  a client command      step(message)  a message from a peer
//   tick()          one unit of time      campaign()     start Phase 1 now
//   read(tag)       a linearizable read at the leader (core/reads.hpp)
//
// Each input returns a result (ok, or why not). Outputs accumulate in one
// ready batch (core/ready.hpp): messages in two send groups, durable state,
// chosen entries. The driver calls ready(), persists, sends, applies, advance().
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
// This class is the coordinator. Each role's state is a unit of its own:
// the slot window (slot_window.hpp), the acceptor (acceptor.hpp), a
// candidate's tally (phase1.hpp), a leader's pipeline (phase2.hpp), the
// learner (learner.hpp), the outbox (outbox.hpp), the proposer's own state
// (proposer.hpp), reads (reads.hpp) and the lease (lease.hpp); the input
// checks are in validate.hpp and the safety rules in rules.hpp. The
// handlers are defined out of the class, one file per role (replica_*.hpp,
// included at the end). Handlers below apply one
// rule each to those units; the role changes only through become_candidate,
// become_leader and step_down, and a leader policy that asks to retry Phase 1
// when preempted is answered by the input that preempted us, after its
// handler has finished (see step()).
//
// Invariants, asserted as a whole after every input and every advance() in
// builds without NDEBUG or with PAXOS_CHECK_INVARIANTS defined (the cheap
// ones at their sites always), in every config:
//   * the promise never decreases; every vote's ballot <= the promise.
//   * base <= applied_end <= chosen_end <= end <= base + window, and
//     chosen_end <= slot_id::limit.
//   * every slot below chosen_end in the window is chosen.
//   * a leader's ballot equals the promise (a higher promise makes it step
//     down); a candidate's is at most the promise.
//   * a slot, once chosen, keeps its value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>  // also declares std::hash, for fingerprint(): <functional> costs 10k lines
#include <span>
#include <utility>

#include "../assert.hpp"
#include "../config.hpp"
#include "../detail/algorithm.hpp"
#include "../policies/leader.hpp"
#include "acceptor.hpp"
#include "fixed_vector.hpp"
#include "learner.hpp"
#include "lease.hpp"
#include "limits.hpp"
#include "message.hpp"
#include "outbox.hpp"
#include "phase1.hpp"
#include "phase2.hpp"
#include "proposer.hpp"
#include "reads.hpp"
#include "ready.hpp"
#include "replica_options.hpp"
#include "rules.hpp"
#include "slot_window.hpp"
#include "snapshot_transfer.hpp"
#include "state_hash.hpp"
#include "types.hpp"
#include "validate.hpp"
#include "vocabulary.hpp"

namespace paxos::inline v0 {

template <class Config>
class replica {
    static_assert(check_config<Config>());

public:
    using config_type = Config;
    using value_type = typename Config::value_type;
    using ballot_type = typename Config::ballot;
    using quorum_type = typename Config::quorum;
    using leader_type = typename Config::leader;
    using rules = typename rules_of<Config>::type;

    using limits = replica_limits<Config>;
    static constexpr std::size_t window_slots = limits::window_slots;
    static constexpr std::size_t batch_values_max = limits::batch_values_max;
    static constexpr std::size_t outbox_messages_max = limits::outbox_messages_max;
    static constexpr bool single_decree = Config::single_decree;
    static constexpr std::size_t promise_values_max = limits::promise_values_max;
    static constexpr std::size_t promise_parts_max = limits::promise_parts_max;
    static constexpr std::size_t body_values_max = limits::body_values_max;
    static constexpr std::size_t messages_per_input_max = limits::messages_per_input_max;
    static constexpr std::size_t values_per_input_max = limits::values_per_input_max;
    static constexpr std::size_t votes_per_input_max = limits::votes_per_input_max;
    static constexpr std::size_t snapshot_chunk_bytes = limits::snapshot_chunk_bytes;
    static constexpr std::size_t reads_max = limits::reads_max;
    // Tags dropped (ready_batch::dropped), each at most once: one input can
    // drop every tag held (a window of batches, the open batch and the
    // pending one), and there is room for two inputs' worth, as in the outbox.
    static constexpr std::size_t dropped_per_input_max = (window_slots + 2) * batch_values_max;
    static constexpr std::size_t dropped_capacity = 2 * dropped_per_input_max;

    using batch_type = fixed_vector<value_type, batch_values_max>;
    using message_type = basic_message<ballot_type, value_type>;
    using message_buffer = basic_message_buffer<ballot_type, value_type, body_values_max,
                                                window_slots, snapshot_chunk_bytes>;
    using report_type = vote_report<ballot_type>;
    using record_type = accepted_record<ballot_type, value_type>;
    using chosen_type = chosen_entry<value_type>;
    using ready_type = ready_batch<ballot_type, value_type, message_type>;

    // Set at construction (replica_options.hpp).
    using options = replica_options<typename leader_type::options>;

    using recovery = replica_recovery<ballot_type, record_type>;

    explicit replica(const options& opts, quorum_type quorum = quorum_type{});

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
    result restore(const recovery& r);

    // ---- inputs -------------------------------------------------------------------

    // A client command. At the leader it joins the open batch of the next
    // slot (sent at the latest by ready(), or at once when the batch is full).
    // With a leader-free policy a follower queues it and may start Phase 1 to
    // become the proposer; with stable_leader a follower answers not_leader.
    // `ok` means the command was taken, not that it is chosen. `tag` (any
    // number the caller picks, say a client's request id) comes back exactly
    // once: in the chosen entry that carries the command, or in a ready
    // batch's `dropped` when it was not chosen or cannot be known to be
    // (ready.hpp). A refused command was not taken, and its tag never comes
    // back.
    result propose(const value_type& value, proposal_tag tag = 0) {
        // The common case at a busy leader: the command joins the open batch
        // and queues nothing (the batch is not full yet), so it needs no
        // room in the outbox.
        if (p_.current == role::leader && p2_.open &&
            p2_.open_batch.size() + 1 < batch_values_max && !decided()) {
            const input_guard guard{*this};
            p2_.open_batch.push_back(value);
            p2_.open_tags.push_back(tag);
            return {reason::ok, p_.leader};
        }
        const input_guard guard{*this};
        if (!has_outbox_room()) return {reason::outbox_full, p_.leader};
        if (decided()) return {reason::already_chosen, p_.leader};
        if (p_.current == role::leader) {
            // Handing over: no open batch, so the fast path above is not taken.
            if (p_.transfer_to != node_id::none()) return {reason::not_leader, p_.transfer_to};
            if (!p2_.open) {
                const reason r = p2_.open_next(w_, l_.applied_end);
                if (r != reason::ok) return {r, p_.leader};
                note_output();
            }
            p2_.open_batch.push_back(value);
            p2_.open_tags.push_back(tag);
            if (p2_.open_batch.full()) seal_open_batch();
            return {reason::ok, p_.leader};
        }
        if constexpr (!leader_type::followers_propose) {
            return {reason::not_leader, p_.leader};
        } else {
            if (p2_.pending.full()) return {reason::proposal_queue_full, p_.leader};
            p2_.pending.push_back(value);
            p2_.pending_tags.push_back(tag);
            if (leader_policy_.on_propose(context()) == leader_action::start_phase1) {
                return become_candidate();
            }
            return {reason::ok, p_.leader};
        }
    }

    // A message from a peer. One entry point: validate once, remember the
    // highest ballot seen (so our next ballot beats it, without a durable write
    // per message), then hand the message to the handler of its kind. Each
    // handler applies the rule of its role and queues its answers.
    // Defined without `inline` (replica_inputs.hpp), so that a unit that declares
    // the replica an explicit instantiation elsewhere compiles none of it.
    result step(const message_type& m);

    // One unit of logical time. The leader policy decides whether to start
    // Phase 1 or heartbeat; the core adds its own timer for lost messages:
    // proposers re-send, and learners with a vote whose outcome they never
    // heard ask for it.
    result tick();

    // Starts Phase 1 now with a ballot above every one seen, whatever the
    // leader policy would do (etcd's Campaign). A no-op for a leader.
    result campaign() {
        const input_guard guard{*this};
        if (!has_outbox_room()) return {reason::outbox_full, p_.leader};
        if (p_.current == role::leader) return {reason::ok, p_.leader};
        if (decided()) return {reason::already_chosen, p_.leader};
        return become_candidate();
    }

    // A linearizable read (core/reads.hpp), at the leader: `ok` queues it,
    // and `tag` comes back exactly once, in a ready batch's `reads` with the
    // slot to serve it at once a phase-2 quorum has confirmed that no newer
    // leader exists, or in `reads_dropped` if this replica stops leading
    // first. Refused (never coming back): not_leader, naming the leader or
    // the transfer's target when known; read_queue_full when reads_max are
    // held (hand out a batch first). The round that confirms it is a
    // heartbeat sent with this batch, shared by every read queued before it.
    result read(read_tag tag);
    std::size_t reads_waiting() const noexcept { return rd_.count; }
    // The leader lease (options::lease_ticks): ticks left of the lease this
    // leader holds (0: none, reads take a round), and, at any replica, ticks
    // left of the grant it gave (during which it promises only the holder).
    std::uint32_t lease_ticks_left() const noexcept { return lease_.held; }
    std::uint32_t lease_granted_ticks_left() const noexcept { return lease_.granted; }

    // Leadership transfer: the leader stops taking commands (not_leader,
    // naming `to`), proposes its open batch, and tells `to` to start Phase 1
    // at once (past the probe and the others' stickiness: a prepare is
    // promised whatever they heard). `to` wins with a ballot above ours and
    // we step down as usual; if it has not within one check-quorum period,
    // the transfer is dropped and we take commands again. Pick a `to` that
    // is caught up: its Phase 1 starts from what it knows chosen.
    result transfer_leadership(node_id to);
    node_id transferring_to() const noexcept { return p_.transfer_to; }

    // ---- compaction and snapshots (core/snapshot_transfer.hpp) --------------------

    // The driver holds `s`, a complete and durable snapshot of its state
    // machine through s.slot - 1 (at most applied_end), and will send its
    // bytes to peers that need them. Replaces an older offer; a transfer
    // under way keeps the snapshot it started with. Refused: not_applied
    // beyond applied_end, stale_snapshot below the current offer, malformed
    // for slot 0 or no bytes (a snapshot holds at least one).
    result offer_snapshot(const snapshot_offer& s);

    // The driver's log no longer holds slots below `s` (it compacted them
    // into the offered snapshot): a peer that needs one is sent the
    // snapshot instead. Votes at slots >= s, and the promise, are the
    // replica's and are never dropped. Refused: not_applied beyond
    // applied_end, no_snapshot above the offered snapshot's slot (a peer
    // behind could then never catch up: braft#494). Never moves back.
    result compact(slot_id s);

    // Starts (or keeps going) a transfer of the offered snapshot to `to`:
    // for a driver that cannot serve a catch_up request from its log.
    result send_snapshot(node_id to);
    // Drops the transfer to `to` (its snapshot became unreadable here).
    void abort_snapshot(node_id to) noexcept;

    // After a restart, before the first chunk: the driver's store kept
    // `bytes` bytes of a receive of `s` (storage::snapshot_store::partial),
    // and a transfer of that snapshot resumes after them.
    void resume_snapshot_receive(const snapshot_offer& s, std::uint64_t bytes) noexcept {
        x_.resume = s;
        x_.resume_bytes = bytes;
    }

    // The driver's state machine now holds `s` (received, durable, loaded):
    // the replica's applied point moves to s.slot without a restart.
    // Installing is learning, never voting: the promise and every vote at
    // slots >= s.slot stay, and slots below are released (our own commands
    // there come back in `dropped` as unknown). A proposer steps down first
    // (a peer got further than it). Becomes the offered snapshot and the
    // compaction point. Refused with stale_snapshot when this replica
    // already knows every slot below s.slot chosen (nothing changes).
    result install_snapshot(const snapshot_offer& s);

    // The message that carries chunk `c`, an entry of ready.snapshot_chunks:
    // its bytes, as read from the snapshot store, with their CRC-32C. Between
    // ready() and advance(); the message (whose body the replica holds)
    // stays valid until advance(), and `bytes` must too.
    message_type snapshot_chunk_for(const snapshot_chunk_request& c,
                                    std::span<const std::byte> bytes);

    slot_id log_start() const noexcept { return x_.log_start; }
    const snapshot_offer& offered_snapshot() const noexcept { return x_.offered; }
    bool sending_snapshot(node_id to) const noexcept {
        return to.value < Config::max_nodes && x_.out[to.value].active;
    }
    bool receiving_snapshot() const noexcept { return x_.in.active; }

    // ---- outputs ------------------------------------------------------------------

    bool has_ready() const noexcept {
        // A flag, set wherever the state ready() hands out changes
        // (note_output): this runs after every input and every advance(),
        // and usually finds nothing. Debug builds check it against the state.
        if constexpr (check_invariants_enabled) PAXOS_ASSERT(output_ || !output_in_state());
        return output_;
    }

    // Collects the batch. Views stay valid until advance(ready()). Sealing the
    // open batch here is what makes batching free: every command proposed
    // since the last ready() shares one slot, one accept and one fsync.
    // ready() and advance() are inlined into the driver's loop on purpose:
    // once per batch, and GCC otherwise outlines them and the small helpers
    // they call (about 150 instructions per command, scripts/
    // instructions_per_command.sh).
    [[gnu::always_inline]] const ready_type& ready();

    // The batch handed out by the last ready(), not yet acknowledged, with
    // views into this object: for a driver that copied the replica while a
    // sync was under way (the exhaustive explorer). A copy's records and
    // chosen entries still view the original's slots; they are pointed back
    // at this object's own.
    const ready_type& outstanding() noexcept;
    bool has_outstanding() const noexcept { return o_.outstanding; }

    // Acknowledges a batch: its durable part is persisted, its messages sent,
    // its chosen entries applied.
    [[gnu::always_inline]] void advance(const ready_type& done);

    // ---- observers ----------------------------------------------------------------

    node_id self() const noexcept { return options_.self; }
    std::size_t node_count() const noexcept { return node_count_; }
    role current_role() const noexcept { return p_.current; }
    bool is_leader() const noexcept { return p_.current == role::leader; }
    node_id leader() const noexcept { return p_.leader; }
    ballot_type promised() const noexcept { return a_.promised; }
    ballot_type ballot() const noexcept { return p_.ballot; }  // our latest own ballot
    slot_id chosen_end() const noexcept { return l_.chosen_end; }
    slot_id applied_end() const noexcept { return l_.applied_end; }
    slot_id window_base() const noexcept { return w_.base; }
    const quorum_type& quorum() const noexcept { return quorum_; }
    const leader_type& leader_policy() const noexcept { return leader_policy_; }
    std::size_t pending_count() const noexcept { return p2_.pending.size(); }

    // Hands every member of the state that decides this replica's future
    // behaviour to `v`, unit by unit (state_hash.hpp: a member added to a
    // unit and not visited does not compile). Between inputs; a batch
    // outstanding (a sync under way) is part of the state.
    template <class Visitor>
    void visit_state(Visitor& v) const {
        visit_units(v, p_, w_, a_, p1_, p2_, l_, o_, node_count_);
        visit_snapshot_unit(v, x_);
        visit_read_unit(v, rd_, p_.current == role::leader, node_count_);
        visit_lease_unit(v, lease_);
        if constexpr (requires { leader_policy_.fingerprint(); }) v(leader_policy_.fingerprint());
    }

    // A 64-bit hash of visit_state(). Two replicas with equal fingerprints
    // behave alike on equal inputs, with overwhelming probability: the
    // exhaustive explorer uses it to visit each state once.
    std::uint64_t fingerprint() const noexcept {
        state_hasher<ballot_type, value_type> h;
        visit_state(h);
        return h.value;
    }

    // A chosen message that teaches peer `to` the value of slot `s`, for a
    // driver that serves catch-up from its own log: a ready batch's catch_up
    // lists the peers that asked for slots below the window, and the driver
    // sends these for the slots it has applied (before or after advance()).
    message_type chosen_message_for(node_id to, slot_id s,
                                    std::span<const value_type> values) const;

    // The vote this replica holds for slot s, if s is in its window.
    std::optional<std::pair<ballot_type, std::span<const value_type>>> vote(slot_id s) const;

private:
    using window_type = slot_window<ballot_type, batch_type, window_slots>;
    using slot_type = typename window_type::record;
    using acceptor_type = acceptor_state<rules, ballot_type, batch_type, window_slots>;
    using phase1_type = phase1_tally<ballot_type, batch_type, window_slots, Config::max_nodes>;
    using phase2_type = phase2_pipeline<ballot_type, batch_type, window_slots>;
    using learner_type = learner_state<ballot_type, batch_type, window_slots, Config::max_nodes>;
    using checks_type = input_checks<ballot_type, value_type, batch_values_max, promise_values_max,
                                     window_slots, promise_parts_max, snapshot_chunk_bytes>;
    using snapshot_type = snapshot_transfers<Config::max_nodes, snapshot_chunk_bytes>;
    using reads_type = read_queue<(reads_max > 0 ? reads_max : 1), Config::max_nodes>;
    using lease_type = lease_state<ballot_type>;
    using outbox_type = outbox<ballot_type, value_type, outbox_messages_max,
                               2 * values_per_input_max, 2 * votes_per_input_max,
                               messages_per_input_max, values_per_input_max, votes_per_input_max>;

    // The proposer's own state, and the role that decides which units act.
    using proposer_type = proposer_state<ballot_type>;
    // The batch being collected or handed out.
    struct output_state {
        outbox_type box{};
        fixed_vector<record_type, window_slots> records{};
        fixed_vector<chosen_type, window_slots> chosen{};
        bool outstanding = false;
        fixed_vector<dropped_proposal, dropped_capacity> dropped{};
    };

    void drop_tag(proposal_tag t, proposal_fate fate);
    void drop_own(slot_type& rec, proposal_fate fate);
    void before_vote(slot_type& rec, std::span<const value_type> values);
    static void settle_own_as_voted(slot_type& rec) noexcept;
    void settle_own(slot_type& rec, std::span<const value_type> values);

    // What a handler did, and what the leader policy asked for if the
    // message preempted us (step() acts on it once the handler is done).
    struct handled {
        reason code = reason::ok;
        leader_action then = leader_action::none;
    };

    // Basic Paxos decides once; after that every proposal is moot.
    bool decided() const noexcept { return single_decree && l_.chosen_end.value > 0; }

    // True for a learner that has seen a ballot at work but not its outcome:
    // it holds a vote for a slot not known chosen (or, in a single decree, it
    // promised but knows no decision).
    bool wants_outcome() const noexcept;

    // Work a leader-free proposer should campaign for: commands of its own,
    // or slots someone started and nobody finished -- but only once no leader
    // has been heard for a while: a live leader is finishing them, and
    // preempting it would only restart the duel.
    bool has_work() const noexcept;

    leader_context context() const noexcept { return leader_context{p_.current, has_work()}; }
    std::uint32_t quiet_ticks_max() const noexcept { return 8 * options_.retransmit_ticks; }

    // ---- input bookkeeping ----------------------------------------------------------

    // Every input opens with this: no batch may be outstanding, and when the
    // input returns the invariant chain must hold. (That it queued no more
    // than has_outbox_room() asked for, the outbox asserts as it queues.)
    struct input_guard {
        const replica& r;
        explicit input_guard(replica& of) noexcept : r(of) {
            PAXOS_ASSERT(!of.o_.outstanding);  // advance() the last ready() first
            of.p_.fresh = false;
        }
        ~input_guard() { r.check_invariants(); }
    };

#if !defined(NDEBUG) || defined(PAXOS_CHECK_INVARIANTS)
    static constexpr bool check_invariants_enabled = true;
#else
    static constexpr bool check_invariants_enabled = false;
#endif

    void check_invariants() const noexcept;

    bool output_in_state() const noexcept;
    // Called wherever one of those may have become true.
    void note_output() noexcept { output_ = true; }

    [[gnu::always_inline]] bool has_outbox_room() noexcept;

    const ready_type& point_views() noexcept;

    template <message_kind K>
    result step_as(const message_type& m);

    // ---- messages ---------------------------------------------------------------------

    message_header<ballot_type> header(node_id to, message_kind kind, ballot_type b,
                                       slot_id s) const noexcept;
    message_type& emit(node_id to, message_kind kind, ballot_type b, slot_id s);
    message_type& send(node_id to, message_kind kind, ballot_type b, slot_id s = slot_id{});
    message_type* broadcast(message_kind kind, ballot_type b, slot_id s = slot_id{});
    void send_prepare();
    void put_values(message_type& m, std::span<const value_type> values) {
        m.values = o_.box.put_values(values);
    }
    void send_reject(const message_type& m) {
        send(m.from, message_kind::reject, a_.promised, m.slot);
    }
    void send_chosen(node_id to, slot_id s, const slot_type& rec, ballot_type b);
    void send_chosen_from(node_id to, slot_id from, slot_id until);
    void serve_below_window(node_id to, slot_id from);
    void ask_to_learn(node_id from);
    void keep_learning();

    // ---- handlers, by role (replica_acceptor.hpp, replica_proposer.hpp,
    // replica_learner.hpp) ---------------------------------------------------------
    result become_candidate();
    void become_leader();
    leader_action step_down();
    leader_action preempted_by(ballot_type higher);
    void hear_leader(node_id from);
    handled on_prepare(const message_type& m);
    handled on_accept(const message_type& m);
    handled on_promise(const message_type& m);
    handled on_accepted(const message_type& m);
    handled on_reject(const message_type& m);
    void seal_open_batch();
    void flush_pending();
    void propose_slot(slot_id s, std::span<const value_type> values,
                      std::span<const proposal_tag> tags = {});
    // For phase2_pipeline::stop: each command it cannot keep is lost.
    auto lose_tag() {
        return [this](proposal_tag t) { drop_tag(t, proposal_fate::lost); };
    }
    void count_own_vote(const record_type& r);
    void on_quorum_accepted(slot_id s, slot_type& rec);
    void retransmit();
    void mark_chosen(slot_id s, slot_type& rec, std::span<const value_type> values, ballot_type in);
    void mark_chosen_as_voted(slot_id s, slot_type& rec, ballot_type in);
    void after_chosen(slot_id chosen_end_before);
    handled on_chosen(const message_type& m, node_id owner);
    bool contradicts_chosen(const message_type& m) const;
    void learn_from_leader(const message_type& m);
    handled on_heartbeat(const message_type& m);
    handled on_heartbeat_reply(const message_type& m);
    void confirm_reads();
    void renew_lease();
    void check_quorum();
    result probe_or_campaign();
    result start_probe();
    handled on_probe(const message_type& m);
    handled on_probe_reply(const message_type& m);
    handled on_transfer(const message_type& m);
    handled on_learn_request(const message_type& m);
    handled on_snapshot_chunk(const message_type& m);
    handled on_snapshot_ack(const message_type& m);
    void send_snapshot_ack(node_id to, slot_id s, const snapshot_offer& of, std::uint64_t held,
                           bool resend);
    void snapshot_advance();
    void release_below(slot_id s);

    // ---- state ---------------------------------------------------------------------
    // Fixed-size members only: the replica never allocates after construction.

    // Set at construction, never changed.
    options options_;
    quorum_type quorum_;
    leader_type leader_policy_;  // has state of its own, hashed through fingerprint()
    std::size_t node_count_ = 0;
    checks_type checks_;
    node_set peers_{};                    // every member but ourselves: a broadcast's fan-out
    bool self_is_phase2_quorum_ = false;  // our vote alone chooses (flexible, Q2 = 1)

    // The units, each owning its state (visit_state() hands all of it out).
    proposer_type p_{};
    window_type w_{};
    acceptor_type a_{};
    phase1_type p1_{};
    phase2_type p2_{};
    learner_type l_{};
    output_state o_{};
    snapshot_type x_{};
    reads_type rd_{};
    lease_type lease_{};
    ready_type ready_{};  // views into o_ and l_, refreshed by point_views()
    // Whether ready() has anything to hand out (has_ready). Derived from the
    // units' state (output_in_state), so not part of visit_state().
    bool output_ = false;
};

}  // namespace paxos::inline v0

// The handlers of each role, defined out of the class.
#include "replica_acceptor.hpp"
#include "replica_inputs.hpp"
#include "replica_leadership.hpp"
#include "replica_learner.hpp"
#include "replica_outputs.hpp"
#include "replica_proposer.hpp"
#include "replica_snapshot.hpp"
