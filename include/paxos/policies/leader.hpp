// paxos/policies/leader.hpp: leader (liveness) policies.
//
// Safety in Paxos never depends on who proposes; liveness does. Two proposers
// that keep preempting each other's ballots choose nothing forever: the
// dueling-proposers livelock of the seed document "Paxos Livelock" (and the
// FLP result in practice). A leader policy decides *when* this replica starts
// Phase 1 and when a leader sends heartbeats; the core decides everything
// else. The three stock policies are the seed's three answers:
//
//   immediate          re-prepare at once after a rejection: reproduces the
//                      livelock, and exists so tests can show it.
//   randomized_backoff fix 1: wait a random, exponentially growing, capped
//                      number of ticks before retrying.
//   stable_leader      fix 2: one distinguished proposer that sends heartbeats;
//                      followers start Phase 1 only after a randomized
//                      election timeout without hearing from it, and a leader
//                      steps down on any higher ballot (the core does that).
//
// Policies count ticks, never read a clock, and draw randomness only from a
// prng seeded by the user.
#pragma once

#include <concepts>
#include <cstdint>
#include <type_traits>

#include "../core/vocabulary.hpp"
#include "random.hpp"

namespace paxos::inline v0 {

// What a policy asks the core to do.
enum class leader_action : std::uint8_t {
    none,
    start_phase1,  // pick a ballot above every one seen and send prepare
    heartbeat,     // (leader) tell followers the leader is alive
};

// What the core tells a policy on each event.
struct leader_context {
    role current = role::follower;
    bool has_work = false;  // commands waiting, or slots accepted but not chosen
};

// ---- the concept, one requirement at a time, so errors name what is missing

template <class L>
concept leader_has_options = requires {
    typename L::options;
};

template <class L>
concept leader_has_constructor =
    leader_has_options<L> && std::constructible_from<L, const typename L::options&, std::uint64_t>;

template <class L>
concept leader_has_followers_propose = requires {
    { L::followers_propose } -> std::convertible_to<bool>;
};

template <class L>
concept leader_has_on_tick = requires(L& l, leader_context c) {
    { l.on_tick(c) } -> std::same_as<leader_action>;
};

template <class L>
concept leader_has_on_propose = requires(L& l, leader_context c) {
    { l.on_propose(c) } -> std::same_as<leader_action>;
};

template <class L>
concept leader_has_on_preempted = requires(L& l, leader_context c) {
    { l.on_preempted(c) } -> std::same_as<leader_action>;
};

template <class L>
concept leader_has_on_elected = requires(L& l) {
    l.on_elected();
};

template <class L>
concept leader_has_on_leader_heard = requires(L& l) {
    l.on_leader_heard();
};

template <class L>
concept leader_policy = leader_has_options<L> && leader_has_constructor<L> &&
    leader_has_followers_propose<L> && leader_has_on_tick<L> && leader_has_on_propose<L> &&
    leader_has_on_preempted<L> && leader_has_on_elected<L> && leader_has_on_leader_heard<L>;

// Each requirement with a fix-it message; the config calls this so the first
// error a user sees names the missing member.
template <class L>
constexpr bool check_leader_policy() {
    static_assert(leader_has_options<L>,
                  "leader policy: missing `struct options { ... };` (tick counts and other "
                  "settings; may be empty)");
    static_assert(leader_has_constructor<L>,
                  "leader policy: missing constructor `L(const options&, std::uint64_t seed)`; "
                  "draw randomness only from a paxos::prng seeded with `seed`");
    static_assert(leader_has_followers_propose<L>,
                  "leader policy: missing `static constexpr bool followers_propose = ...;` "
                  "(true: any replica takes proposals and campaigns for them; false: only "
                  "the leader does, others answer not_leader)");
    static_assert(leader_has_on_tick<L>,
                  "leader policy: missing `paxos::leader_action on_tick(paxos::leader_context)`");
    static_assert(leader_has_on_propose<L>,
                  "leader policy: missing "
                  "`paxos::leader_action on_propose(paxos::leader_context)`");
    static_assert(leader_has_on_preempted<L>,
                  "leader policy: missing "
                  "`paxos::leader_action on_preempted(paxos::leader_context)` (called when a "
                  "higher ballot beat ours; return start_phase1 to retry at once)");
    static_assert(leader_has_on_elected<L>, "leader policy: missing `void on_elected()`");
    static_assert(leader_has_on_leader_heard<L>,
                  "leader policy: missing `void on_leader_heard()` (called on a message from "
                  "the current leader)");
    return true;
}

// ---- immediate: no liveness help at all ---------------------------------------

// Re-prepares the moment it is preempted. Under the seed's adversarial schedule
// two such proposers preempt each other forever; that is its purpose.
class immediate {
public:
    struct options {
        // A candidate that hears nothing (lost messages) retries after this many ticks.
        std::uint32_t phase1_retry_ticks = 8;
    };
    static constexpr bool followers_propose = true;

    immediate(const options& opts, std::uint64_t /*seed*/) noexcept : options_(opts) {}

    leader_action on_tick(leader_context c) noexcept {
        if (c.current == role::leader || !c.has_work) return leader_action::none;
        if (c.current == role::follower) return leader_action::start_phase1;
        if (++candidate_ticks_ < options_.phase1_retry_ticks) return leader_action::none;
        candidate_ticks_ = 0;
        return leader_action::start_phase1;
    }
    leader_action on_propose(leader_context c) noexcept {
        return c.current == role::follower ? leader_action::start_phase1 : leader_action::none;
    }
    leader_action on_preempted(leader_context c) noexcept {
        candidate_ticks_ = 0;
        return c.has_work ? leader_action::start_phase1 : leader_action::none;
    }
    void on_elected() noexcept { candidate_ticks_ = 0; }
    void on_leader_heard() noexcept {}

    // The state that decides what this policy does next (for state hashing).
    std::uint64_t fingerprint() const noexcept { return candidate_ticks_; }

private:
    options options_;
    std::uint32_t candidate_ticks_ = 0;
};

// ---- randomized_backoff: the seed's fix 1 ---------------------------------------

// After a preemption (or a Phase 1 that timed out) wait a uniform random
// number of ticks in [1, min(cap, base * 2^attempts)] before retrying. The
// random spread makes it likely that one proposer completes both phases while
// the other waits; it lowers the odds of livelock but cannot rule it out.
// The backoff resets only after this node has led undisturbed for
// phase1_timeout_ticks, not when it wins Phase 1: in the duel, winning Phase 1
// and losing Phase 2 is the livelock itself, and resetting there kept both
// waits tiny forever (measured by examples/livelock.hpp).
class randomized_backoff {
public:
    struct options {
        std::uint32_t backoff_ticks_base = 2;
        std::uint32_t backoff_ticks_max = 64;
        std::uint32_t phase1_timeout_ticks = 8;
    };
    static constexpr bool followers_propose = true;

    randomized_backoff(const options& opts, std::uint64_t seed) noexcept
        : options_(opts), rng_(seed) {}

    leader_action on_tick(leader_context c) noexcept {
        if (c.current == role::leader) {
            if (leader_ticks_ < options_.phase1_timeout_ticks &&
                ++leader_ticks_ == options_.phase1_timeout_ticks) {
                attempts_ = 0;  // led long enough to finish Phase 2: the duel is over
            }
            return leader_action::none;
        }
        if (wait_ticks_ > 0) {
            if (--wait_ticks_ > 0) return leader_action::none;
            return c.has_work ? leader_action::start_phase1 : leader_action::none;
        }
        if (c.current == role::candidate) {
            if (++candidate_ticks_ < options_.phase1_timeout_ticks) return leader_action::none;
            candidate_ticks_ = 0;
            back_off();  // Phase 1 got no quorum in time: treat like a preemption
            return leader_action::none;
        }
        return c.has_work ? leader_action::start_phase1 : leader_action::none;
    }
    leader_action on_propose(leader_context c) noexcept {
        const bool idle = c.current == role::follower && wait_ticks_ == 0;
        return idle ? leader_action::start_phase1 : leader_action::none;
    }
    leader_action on_preempted(leader_context) noexcept {
        back_off();
        return leader_action::none;
    }
    void on_elected() noexcept {
        candidate_ticks_ = 0;
        wait_ticks_ = 0;
        leader_ticks_ = 0;
    }
    void on_leader_heard() noexcept {}

    std::uint32_t wait_ticks() const noexcept { return wait_ticks_; }
    std::uint64_t fingerprint() const noexcept {
        return rng_.fingerprint() ^ (std::uint64_t{attempts_} << 40) ^
               (std::uint64_t{wait_ticks_} << 20) ^ (std::uint64_t{leader_ticks_} << 52) ^
               candidate_ticks_;
    }

private:
    void back_off() noexcept {
        std::uint64_t ceiling = options_.backoff_ticks_base;
        for (std::uint32_t i = 0; i < attempts_ && ceiling < options_.backoff_ticks_max; ++i) {
            ceiling *= 2;
        }
        if (ceiling > options_.backoff_ticks_max) ceiling = options_.backoff_ticks_max;
        if (ceiling == 0) ceiling = 1;
        wait_ticks_ = static_cast<std::uint32_t>(rng_.between(1, ceiling));
        if (attempts_ < 32) ++attempts_;
        candidate_ticks_ = 0;
    }

    options options_;
    prng rng_;
    std::uint32_t attempts_ = 0;
    std::uint32_t wait_ticks_ = 0;
    std::uint32_t candidate_ticks_ = 0;
    std::uint32_t leader_ticks_ = 0;  // ticks led since elected, up to phase1_timeout_ticks
};

// ---- stable_leader: the seed's fix 2 ----------------------------------------------

// One leader at a time. The leader heartbeats every heartbeat_ticks; a follower
// (or a candidate whose Phase 1 stalls) starts Phase 1 after a timeout drawn
// uniformly from [election_ticks_min, election_ticks_max] ticks without hearing
// from the leader. Randomized timeouts make split votes short-lived, as in
// Raft. The core makes a leader step down on any higher ballot.
class stable_leader {
public:
    struct options {
        std::uint32_t heartbeat_ticks = 2;
        std::uint32_t election_ticks_min = 10;
        std::uint32_t election_ticks_max = 20;
    };
    static constexpr bool followers_propose = false;

    stable_leader(const options& opts, std::uint64_t seed) noexcept : options_(opts), rng_(seed) {
        reset_election_timer();
    }

    leader_action on_tick(leader_context c) noexcept {
        if (c.current == role::leader) {
            if (++heartbeat_elapsed_ < options_.heartbeat_ticks) return leader_action::none;
            heartbeat_elapsed_ = 0;
            return leader_action::heartbeat;
        }
        if (++election_elapsed_ < election_timeout_) return leader_action::none;
        reset_election_timer();
        return leader_action::start_phase1;
    }
    leader_action on_propose(leader_context) noexcept { return leader_action::none; }
    leader_action on_preempted(leader_context) noexcept {
        reset_election_timer();
        return leader_action::none;
    }
    void on_elected() noexcept { heartbeat_elapsed_ = 0; }
    void on_leader_heard() noexcept { election_elapsed_ = 0; }

    std::uint32_t election_timeout_ticks() const noexcept { return election_timeout_; }
    std::uint64_t fingerprint() const noexcept {
        return rng_.fingerprint() ^ (std::uint64_t{election_timeout_} << 40) ^
               (std::uint64_t{election_elapsed_} << 20) ^ heartbeat_elapsed_;
    }

private:
    void reset_election_timer() noexcept {
        const std::uint32_t low = options_.election_ticks_min;
        const std::uint32_t high =
            options_.election_ticks_max > low ? options_.election_ticks_max : low;
        election_timeout_ = static_cast<std::uint32_t>(rng_.between(low, high));
        if (election_timeout_ == 0) election_timeout_ = 1;
        election_elapsed_ = 0;
    }

    options options_;
    prng rng_;
    std::uint32_t election_timeout_ = 1;
    std::uint32_t election_elapsed_ = 0;
    std::uint32_t heartbeat_elapsed_ = 0;
};

}  // namespace paxos::inline v0
