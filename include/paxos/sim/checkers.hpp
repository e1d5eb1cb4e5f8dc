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
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "network.hpp"

namespace paxos::sim {

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

    void on_acknowledged(command c, std::uint64_t slot) { acknowledged_.emplace(c, slot); }

    // At the end of a healed run: every acknowledged command is in every
    // replica's log at its slot.
    void check_durability(time_us now, std::size_t node,
                          const std::vector<std::vector<command>>& log) {
        for (const auto& [c, slot] : acknowledged_) {
            bool found = false;
            if (slot < log.size()) {
                for (command x : log[slot]) found = found || x == c;
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
    std::vector<std::uint64_t> next_slot_;
    std::optional<violation> first_;
};

}  // namespace paxos::sim
