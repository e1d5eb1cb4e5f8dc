// paxos/sim/checkers.hpp: safety and liveness checkers, attached from outside
// the replicas.
//
// The replicas assert their own invariants; these checks look only at what an
// observer could see (what each replica applied, what it synced, what it
// sent, what clients were told), so a bug that fools a replica's own
// bookkeeping is still caught. Every check records the first violation with
// the simulated time and a sentence; the runner prints it with the trace.
//
//   agreement            no two different values applied in one slot, by any
//                        replica, ever (across crashes and restarts)
//   validity             every applied command was proposed by a client
//   order                each replica applies slots in order, without gaps,
//                        so every applied log is a prefix of one sequence
//   durability           a command acknowledged to a client is, at the end,
//                        in every replica's log at its slot
//   persist_before_send  no promise or accepted leaves a replica before the
//                        state it vouches for was synced
//   promise_regressed    a replica's durable promise (the highest ballot it
//                        promised or voted in) never goes down, across restarts
//   vote_regressed       a replica never votes below a ballot it already
//                        promised or voted in (an accept is also a promise)
//   learned_unchosen     a replica applies a value only if one phase-2 quorum
//                        voted for it in one ballot (the definition of chosen)
//   liveness             after the faults heal, every command is acknowledged
//                        and every replica has caught up, within a bound
//   state_digest         every replica's state machine, at equal applied slots,
//                        has the same digest (across snapshots installed and
//                        restarts from a snapshot)
//   linearizable_read    a read (replica::read) returns the state of a log
//                        prefix that holds every write acknowledged before the
//                        read began and all that any read answered before it
//                        began saw (log order is real-time order for writes,
//                        so this implies linearizability, and is what a read
//                        index promises)
//   restore_refused      a replica refused the state recovered from its own store
//   assertion            a PAXOS_ASSERT fired inside a replica (the explorer
//                        turns it into a reported violation)
//
// One enum serves every harness: the simulator and the quorum tool through
// sim/harness.hpp, and the explorer (tests/model/explorer.hpp), whose
// violation_kind is this type. The parts that watch one node's durable state
// from outside (durable_view) and what "chosen" means (vote_tally) are here
// too, so each is written once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../core/message.hpp"
#include "../core/vocabulary.hpp"
#include "../policies/ballot.hpp"
#include "../storage/durable_state.hpp"
#include "network.hpp"

namespace paxos::inline v0::sim {

enum class check : std::uint8_t {
    agreement,
    validity,
    order,
    durability,
    persist_before_send,
    liveness,
    promise_regressed,
    vote_regressed,
    learned_unchosen,
    restore_refused,
    assertion,
    // A proposal's tag came back twice, to the wrong node, with another
    // command, or (once the run settled) never (replica::propose).
    proposal_tags,
    state_digest,
    linearizable_read,
};

constexpr const char* to_string(check c) noexcept {
    switch (c) {
        case check::agreement: return "agreement";
        case check::validity: return "validity";
        case check::order: return "order";
        case check::durability: return "durability";
        case check::persist_before_send: return "persist-before-send";
        case check::liveness: return "liveness";
        case check::promise_regressed: return "promise-regressed";
        case check::vote_regressed: return "vote-regressed";
        case check::learned_unchosen: return "learned-unchosen";
        case check::restore_refused: return "restore-refused";
        case check::proposal_tags: return "proposal-tags";
        case check::state_digest: return "state-digest";
        case check::linearizable_read: return "linearizable-read";
        case check::assertion: return "assertion";
    }
    return "unknown";
}

struct violation {
    check kind = check::agreement;
    time_us at = 0;
    std::string what;
};

// Commands in the simulator are 64-bit ids: (client << 32) | sequence.
using command = std::uint64_t;

class checkers {
public:
    void on_proposed(command c) { proposed_.insert(c); }

    // Node `node` applies `values` at `slot` (or replays it after a restart).
    void on_applied(time_us now, std::size_t node, std::uint64_t slot,
                    std::span<const command> values) {
        if (node >= next_slot_.size()) next_slot_.resize(node + 1, 0);
        if (slot != next_slot_[node]) {
            fail(check::order, now,
                 "node " + std::to_string(node) + " applied slot " + std::to_string(slot) +
                     " but expected slot " + std::to_string(next_slot_[node]));
        }
        next_slot_[node] = slot + 1;
        const std::vector<command> got(values.begin(), values.end());
        const auto [it, inserted] = chosen_.emplace(slot, got);
        if (!inserted && it->second != got) {
            fail(check::agreement, now,
                 "slot " + std::to_string(slot) + ": node " + std::to_string(node) + " applied " +
                     describe(got) + " but another replica applied " + describe(it->second));
        }
        for (command c : got) {
            if (proposed_.count(c) == 0) {
                fail(check::validity, now,
                     "slot " + std::to_string(slot) + ": node " + std::to_string(node) +
                         " applied command " + std::to_string(c) + " that no client proposed");
            }
        }
    }

    // A restarted node rebuilds its state from its own store, from `slot` on.
    void on_restart(std::size_t node, std::uint64_t first_slot) {
        if (node >= next_slot_.size()) next_slot_.resize(node + 1, 0);
        next_slot_[node] = first_slot;
    }

    // Node `node`'s state machine has applied every slot below `applied_end`
    // (or installed a snapshot through applied_end - 1) and its digest is
    // `digest`: the same as every other replica's at that point.
    void on_state(time_us now, std::size_t node, std::uint64_t applied_end, std::uint64_t digest) {
        const auto [it, inserted] = digests_.emplace(applied_end, std::make_pair(digest, node));
        if (inserted || it->second.first == digest) return;
        fail(check::state_digest, now,
             "node " + std::to_string(node) + " has state digest " + std::to_string(digest) +
                 " after slot " + std::to_string(applied_end) + " - 1, node " +
                 std::to_string(it->second.second) + " had " + std::to_string(it->second.first));
    }

    void on_acknowledged(command c, std::uint64_t slot) {
        acknowledged_.emplace(c, slot);
        acknowledged_end_ = std::max(acknowledged_end_, slot + 1);
    }

    // A read begins: what it must see, as a log prefix length (every slot
    // below it applied), is returned to the caller to keep with the read.
    std::uint64_t read_floor() const noexcept {
        return std::max(acknowledged_end_, read_seen_end_);
    }
    // A read that began with `floor` was served by `node` from a state
    // machine that had applied every slot below `seen`. `answered`: its
    // client got it, so every read that begins later must see as much.
    void on_read(time_us now, std::size_t node, std::uint64_t floor, std::uint64_t seen,
                 bool answered) {
        if (seen < floor) {
            std::string what = "node ";
            what += std::to_string(node);
            what += " served a read from a state machine that had applied the slots below ";
            what += std::to_string(seen);
            what += ", but a write acknowledged, or a read answered, before the read began ";
            what += "needs every slot below ";
            what += std::to_string(floor);
            fail(check::linearizable_read, now, std::move(what));
        }
        if (answered) read_seen_end_ = std::max(read_seen_end_, seen);
        ++reads_checked_;
    }
    std::uint64_t reads_checked() const noexcept { return reads_checked_; }

    // At the end of a healed run: every acknowledged command is in every
    // replica's log at its slot. `log` starts at slot `base`; the slots
    // below came in a snapshot, whose digest on_state() checked.
    void check_durability(time_us now, std::size_t node,
                          const std::vector<std::vector<command>>& log, std::uint64_t base = 0) {
        for (const auto& [c, slot] : acknowledged_) {
            if (slot < base) continue;
            bool found = false;
            if (slot - base < log.size()) {
                for (command x : log[slot - base]) found = found || x == c;
            }
            if (!found) {
                fail(check::durability, now,
                     "command " + std::to_string(c) + " was acknowledged at slot " +
                         std::to_string(slot) + " but node " + std::to_string(node) +
                         " does not have it there");
            }
        }
    }

    void fail(check kind, time_us now, std::string what) {
        if (!first_) first_ = violation{kind, now, std::move(what)};
    }

    const std::optional<violation>& first_violation() const noexcept { return first_; }
    std::size_t chosen_slots() const noexcept { return chosen_.size(); }
    std::size_t acknowledged() const noexcept { return acknowledged_.size(); }

private:
    static std::string describe(const std::vector<command>& values) {
        if (values.empty()) return "a no-op";
        std::string s = "[";
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (i) s += ", ";
            s += std::to_string(values[i]);
        }
        return s + "]";
    }

    std::set<command> proposed_;
    std::map<std::uint64_t, std::vector<command>> chosen_;
    std::map<command, std::uint64_t> acknowledged_;
    // The end of the longest log prefix acknowledged writes need, and
    // the longest one an answered read saw.
    std::uint64_t acknowledged_end_ = 0;
    std::uint64_t read_seen_end_ = 0;
    std::uint64_t reads_checked_ = 0;

    std::vector<std::uint64_t> next_slot_;
    std::map<std::uint64_t, std::pair<std::uint64_t, std::size_t>> digests_;  // by applied end
    std::optional<violation> first_;
};

// ---- the outside rules, each decided and worded once --------------------------
//
// Each returns why an observation breaks its rule, or an empty string. The
// checkers below (the simulator's, the unit cluster's, the scenario runner's)
// and the explorer (tests/model/explorer.hpp, with its own fixed-size
// bookkeeping) all call these, so a rule means and reads the same everywhere.

// persist-before-send: message `m` of `node` vouches only for the promise and
// the vote (in its slot) already synced (core/message.hpp's backed_by, the
// replica's own rule, asserted here from outside).
template <class Message, class Ballot>
std::string unbacked_send(std::size_t node, const Message& m, const Ballot& promised,
                          const Ballot& vote) {
    if (backed_by(m, promised, vote)) return {};
    return "node " + std::to_string(node) + " sent " + to_string(m.kind) + " for slot " +
           std::to_string(m.slot.value) + " at ballot " + std::to_string(ballot_bits(m.ballot)) +
           " before the " + (backing_of(m.kind) == durable_backing::vote ? "vote" : "promise") +
           " behind it was synced";
}

// promise-regressed: a durable promise never goes below `floor`, the highest
// ballot the node already promised or voted in.
template <class Ballot>
std::string promise_regression(std::size_t node, const Ballot& promise, const Ballot& floor) {
    if (!(promise < floor)) return {};
    return "node " + std::to_string(node) + " made promise " +
           std::to_string(ballot_bits(promise)) + " durable below ballot " +
           std::to_string(ballot_bits(floor)) + " it had already promised or voted in";
}

// vote-regressed: no vote below `floor` (PMS §2.2: accept n only if nothing
// above n was promised; an accept is also a promise, as in Lamport's TLA+
// Phase2b, which sets maxBal).
template <class Ballot>
std::string vote_regression(std::size_t node, std::uint64_t slot, const Ballot& vote,
                            const Ballot& floor) {
    if (!(vote < floor)) return {};
    return "node " + std::to_string(node) + " voted in slot " + std::to_string(slot) +
           " at ballot " + std::to_string(ballot_bits(vote)) + " below ballot " +
           std::to_string(ballot_bits(floor)) + " it had already promised or voted in";
}

// learned-unchosen: a value is applied only if one phase-2 quorum voted for it
// in one ballot; the caller decides that from the durable votes alone.
inline std::string unchosen_learned(std::size_t node, std::uint64_t slot) {
    return "node " + std::to_string(node) + " applied slot " + std::to_string(slot) +
           " although no phase-2 quorum voted for that value in one ballot";
}

// One node's durable state as an observer sees it: the records its store has
// synced, read in order. Besides the persist-before-send check (backed), this
// is where the acceptor's monotonicity is watched from outside (PMS §2.2 and
// Lamport's TLA+ Phase2b, where an accept also raises maxBal): the durable
// promise never goes down, and no vote is cast below a ballot already
// promised or voted in.
template <class Ballot>
class durable_view {
public:
    // Reads the records synced since the last call; `synced` is the store's
    // whole synced list (storage::memory_store::synced()).
    template <class Records>
    void absorb(checkers& checks, time_us now, std::size_t node, const Records& synced) {
        for (; seen_ < synced.size(); ++seen_) {
            const auto& r = synced[seen_];
            if (r.kind == storage::record_kind::promise) {
                std::string why = promise_regression(node, r.ballot, promised_);
                if (!why.empty()) checks.fail(check::promise_regressed, now, std::move(why));
                if (r.ballot > promised_) promised_ = r.ballot;
            } else if (r.kind == storage::record_kind::vote) {
                std::string why = vote_regression(node, r.slot.value, r.ballot, promised_);
                if (!why.empty()) checks.fail(check::vote_regressed, now, std::move(why));
                if (r.ballot > promised_) promised_ = r.ballot;
                if (votes_.size() <= r.slot.value) votes_.resize(r.slot.value + 1);
                if (r.ballot > votes_[r.slot.value]) votes_[r.slot.value] = r.ballot;
            }
        }
    }

    // The store rewrote its synced records (a compaction): everything in it
    // was read already; read only what is added after.
    void skip_to(std::size_t synced_count) noexcept { seen_ = synced_count; }

    // A restarted node: its store is read again from the start.
    void reset() {
        promised_ = Ballot{};
        votes_.clear();
        seen_ = 0;
    }

    // Persist-before-send: message `m` of node `node` vouches only for what
    // is synced (core/message.hpp's backed_by, the replica's own rule).
    template <class Message>
    void check_backed(checkers& checks, time_us now, std::size_t node, const Message& m) const {
        const Ballot vote = m.slot.value < votes_.size() ? votes_[m.slot.value] : Ballot{};
        std::string why = unbacked_send(node, m, promised_, vote);
        if (!why.empty()) checks.fail(check::persist_before_send, now, std::move(why));
    }

    const Ballot& promised() const noexcept { return promised_; }

private:
    Ballot promised_{};
    std::vector<Ballot> votes_;  // by slot
    std::size_t seen_ = 0;
};

// Every vote any node ever made durable, by (slot, ballot): what "chosen"
// means is decided from these alone, never from a replica's own count.
class vote_tally {
public:
    void on_vote(std::size_t node, std::uint64_t slot, std::uint64_t ballot,
                 std::span<const command> values) {
        votes_[{slot, ballot}].push_back(
            {node, std::vector<command>(values.begin(), values.end())});
    }

    // A value applied by a replica must have been voted for by one phase-2
    // quorum in one ballot; a count that mixes ballots (or slots) is not a choice.
    template <class Quorum>
    void check_learned(checkers& checks, time_us now, std::size_t node, std::uint64_t slot,
                       std::span<const command> values, const Quorum& quorum) const {
        for (auto it = votes_.lower_bound({slot, 0}); it != votes_.end() && it->first.first == slot;
             ++it) {
            node_set voters{};
            for (const auto& [voter, voted] : it->second) {
                if (std::equal(voted.begin(), voted.end(), values.begin(), values.end())) {
                    voters.insert(node_id{static_cast<std::uint16_t>(voter)});
                }
            }
            if (quorum.is_phase2_quorum(voters)) return;
        }
        checks.fail(check::learned_unchosen, now, unchosen_learned(node, slot));
    }

private:
    std::map<std::pair<std::uint64_t, std::uint64_t>,
             std::vector<std::pair<std::size_t, std::vector<command>>>>
        votes_;
};

}  // namespace paxos::inline v0::sim
