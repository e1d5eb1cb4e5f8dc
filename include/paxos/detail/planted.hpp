// paxos/detail/planted.hpp: test-only mistakes, planted to prove the checkers.
//
// Each value names one bug that shipped Paxos implementations have had. A
// test config selects one with
//     static constexpr paxos::detail::planted_bug planted = ...;
// and only a binary compiled with PAXOS_PLANTED_BUGS honours it. In every
// other build planted_in<C>() is `none`, so each hook in the core is a
// discarded `if constexpr` branch: the mistakes are never in a normal build.
// No API promise (detail/).
#pragma once

#include <cstdint>

namespace paxos::detail {

enum class planted_bug : std::uint8_t {
    none,
    quorum_proof_bypassed,        // (a) quorums that do not intersect still compile
    promise_on_equal_ballot,      // (b) promise when n >= promised
    accept_keeps_promise,         // (c) accepting n does not raise the promise to n
    leader_skips_adoption,        // (d) a new leader proposes no-ops, not the adopted vote
    promise_before_durable,       // (e) a promise is sent but never made durable
    votes_across_ballots,         // (f) accepts of different ballots add up to a quorum
    ballot_reused_after_restart,  // (g) the own ballot restarts from a volatile counter
    own_vote_before_durable,      // (h) a leader counts its own vote before it is synced
    prepare_before_durable,       // (i) a prepare leaves before its raised promise is synced
};

template <class Config>
consteval planted_bug planted_in() {
#if defined(PAXOS_PLANTED_BUGS)
    if constexpr (requires { Config::planted; }) return Config::planted;
#endif
    return planted_bug::none;
}

}  // namespace paxos::detail
