// paxos/core/rules.hpp: the safety rules of Paxos, one place, one policy.
//
// Each member is a rule the replica follows, named for the step of "Paxos
// Made Simple" (PMS) it implements. The defaults are the algorithm; there is
// no other correct value. A config may name another set of rules
// (`using rules = ...;`), and only tests do: each implementation bug the
// checkers must be shown to catch is one rule broken here by a test-only
// config (the README's list of seeded bugs). The
// replica reads the rules as compile-time constants, so the defaults cost
// nothing, and a mutated rule is an ordinary policy: no hook, flag or
// disabled check in the production code.
#pragma once

namespace paxos::inline v0 {

struct paxos_rules {
    // PMS §2.2 P1a: promise on prepare(n) only if n exceeds every ballot
    // promised so far. `>=` lets two proposers that share a ballot both pass
    // Phase 1 (seed: "promise number vs accept number").
    static constexpr bool promise_needs_higher_ballot = true;
    // Accepting n also promises n, so an older proposer's later prepare
    // cannot slip under a vote already cast.
    static constexpr bool accept_raises_promise = true;
    // PMS §2.2 P2c: a new leader re-proposes the highest-ballot vote reported
    // in Phase 1 (value adoption); a no-op only where nobody voted.
    static constexpr bool leader_adopts_votes = true;
    // A raised promise is written to durable storage before any message that
    // depends on it leaves.
    static constexpr bool promise_is_durable = true;
    // Votes are counted per slot for one ballot only; votes of different
    // ballots never add up to a quorum.
    static constexpr bool votes_count_in_one_ballot = true;
    // A restarted replica takes its promise and votes from durable storage,
    // so its next ballot is above every one it used.
    static constexpr bool restart_keeps_durable_state = true;
    // The leader's own vote counts toward a quorum only once durable.
    static constexpr bool own_vote_counts_when_durable = true;
    // A candidate's prepare waits until its raised promise is durable.
    static constexpr bool prepare_waits_for_promise = true;
    // Installing a snapshot through slot s - 1 is learning: the votes at
    // slots >= s (and the promise) stay, since a quorum may count on them.
    static constexpr bool install_keeps_votes = true;
    // A read index is confirmed only once a phase-2 quorum answered, in the
    // leader's ballot, a heartbeat round sent after the read was queued
    // (core/reads.hpp): a leader that skips the round serves stale reads
    // once it is deposed (Jepsen, etcd 0.4).
    static constexpr bool read_needs_quorum_round = true;
    // A leader lease (core/lease.hpp) lasts, at the leader, only what is
    // left of the acceptors' grant after the clock-rate bound and a late
    // tick: a leader that counts the whole grant from its send outlives it
    // on a replica whose ticks come faster, and serves stale reads.
    static constexpr bool lease_allows_for_drift = true;
    // An acceptor that (re)starts with leases on promises nobody for a whole
    // lease: a grant is not durable, and a restart may have forgotten one.
    static constexpr bool lease_waits_out_restart = true;
    // Every phase-1 quorum meets every phase-2 quorum, proved at compile time
    // (config.hpp). Only a test of the checkers may skip the proof.
    static constexpr bool quorums_proved_to_intersect = true;
};

// The rules a config follows: its own `rules` member, or Paxos's.
template <class Config>
struct rules_of {
    using type = paxos_rules;
};
template <class Config>
requires requires { typename Config::rules; }
struct rules_of<Config> {
    using type = typename Config::rules;
};

// Every rule is kept: what every config but a checker's test has.
template <class Rules>
constexpr bool keeps_every_rule() noexcept {
    return Rules::promise_needs_higher_ballot && Rules::accept_raises_promise &&
           Rules::leader_adopts_votes && Rules::promise_is_durable &&
           Rules::votes_count_in_one_ballot && Rules::restart_keeps_durable_state &&
           Rules::own_vote_counts_when_durable && Rules::prepare_waits_for_promise &&
           Rules::install_keeps_votes && Rules::read_needs_quorum_round &&
           Rules::lease_allows_for_drift && Rules::lease_waits_out_restart &&
           Rules::quorums_proved_to_intersect;
}

}  // namespace paxos::inline v0
