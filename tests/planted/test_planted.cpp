// Planted bugs with teeth: test-only variants of the core, each carrying one
// mistake shipped Paxos implementations have had, must be caught by the
// simulator within 100 seeds and by the exhaustive explorer, each time by the
// right checker. (c), (f) and (g) rarely change which value is chosen in a
// small cluster (the intersection of quorums hides them), so the checkers
// that catch them watch the definitions directly: an acceptor's votes and
// promise never go down, and a value is chosen only by one phase-2 quorum
// voting in one ballot. A 3-node flexible system with phase-1 quorums of one
// node (Q1 = 1, Q2 = 3) makes proposers duel constantly, which is where those
// mistakes show. This binary alone is built with PAXOS_PLANTED_BUGS (see
// include/paxos/detail/planted.hpp); the mistakes exist in no other build.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <compare>
#include <map>
#include <optional>

#include <paxos/paxos.hpp>
#include <paxos/sim/simulation.hpp>

#include "../model/explorer.hpp"

#ifndef PAXOS_PLANTED_BUGS
#error "tests/planted must be compiled with PAXOS_PLANTED_BUGS"
#endif

using paxos::detail::planted_bug;
using paxos::sim::check;
using paxos::sim::command;

namespace planted_test {
// Three nodes, phase-1 quorums of 1 and phase-2 quorums of 2: 1 + 2 = 3, so
// {0} and {1, 2} miss each other, and any node elects itself without hearing
// anyone. Written without flexible<>'s own static_assert; only the planted
// bypass of the compile-time proof lets it compile.
struct one_two {
    static constexpr std::size_t node_count() noexcept { return 3; }
    static constexpr bool is_phase1_quorum(paxos::node_set s) noexcept {
        return (s & paxos::node_set::first(3)).size() >= 1;
    }
    static constexpr bool is_phase2_quorum(paxos::node_set s) noexcept {
        return (s & paxos::node_set::first(3)).size() >= 2;
    }
};

// The naive "proposal number" of the seed documents: a counter with no node
// id in its order, so two proposers can pick the same number. (The owner is
// carried along for routing but ignored by comparisons.) Harmless while
// acceptors promise only on a strictly greater number; deadly with >=.
class naive_ballot {
public:
    static constexpr std::size_t max_nodes = 64;
    constexpr naive_ballot() noexcept {}
    static constexpr naive_ballot first(paxos::node_id n) noexcept { return {1, n.value}; }
    static constexpr std::optional<naive_ballot> next_above(naive_ballot seen,
                                                            paxos::node_id n) noexcept {
        return naive_ballot{seen.number_ + 1, n.value};
    }
    constexpr paxos::node_id owner() const noexcept { return paxos::node_id{owner_}; }
    constexpr bool is_zero() const noexcept { return number_ == 0; }
    constexpr std::uint64_t raw() const noexcept { return number_; }
    constexpr std::uint64_t counter() const noexcept { return number_; }
    static constexpr naive_ballot from_raw(std::uint64_t r) noexcept { return {r, 0}; }
    friend constexpr bool operator==(naive_ballot a, naive_ballot b) noexcept {
        return a.number_ == b.number_;
    }
    friend constexpr std::strong_ordering operator<=>(naive_ballot a, naive_ballot b) noexcept {
        return a.number_ <=> b.number_;
    }

private:
    constexpr naive_ballot(std::uint64_t number, std::uint16_t owner)
        : number_(number), owner_(owner) {}
    std::uint64_t number_ = 0;
    std::uint16_t owner_ = 0;
};

}  // namespace planted_test

namespace {

using planted_test::naive_ballot;

template <planted_bug Bug, class Quorum, class Ballot, class Leader, std::size_t N>
struct planted_config : paxos::config<command, Ballot, Quorum, Leader, N, 16, 4> {
    static constexpr planted_bug planted = Bug;
};

// The explorer's small world: 3 nodes, a 2-slot window, one command a slot.
template <planted_bug Bug, class Quorum = paxos::majority<3>,
          class Ballot = paxos::counter_ballot<3>, class Leader = paxos::randomized_backoff>
struct explorer_config : paxos::config<int, Ballot, Quorum, Leader, 3, 2, 1, false> {
    static constexpr planted_bug planted = Bug;
};

// Runs the explorer on `Config` and requires a violation of `expected`. With
// `faults` off it explores delivery orders only, which reaches deeper.
template <class Config>
void explore_expect(paxos_model::violation_kind expected, bool faults,
                    paxos_model::explore_options o = {}) {
    // (A sync is an action of its own, so paths are longer than when every
    // batch was synced at once.)
    o.max_states = 3'000'000;
    if (!faults) {
        o.crashes = 0;
        o.duplications = 0;
        o.drops = false;
    }
    paxos_model::explorer<Config, 3, 4> e(o);
    const auto r = e.run();
    REQUIRE(r.found.has_value());
    const std::string kind = paxos_model::to_string(r.found->kind);
    INFO("explorer found " << kind << ": " << r.found->what);
    CHECK(r.found->kind == expected);
    MESSAGE("explorer: " << kind << " after " << r.states << " states, a path of "
                         << r.found->path.size() << " actions");
}

struct hunt {
    std::size_t failures = 0;
    std::map<check, std::size_t> by_check;
    std::uint64_t first_seed = 0;
    std::string first_what;
};

template <class Config>
hunt hunt_for(std::size_t nodes, paxos::sim::fault_profile faults, std::uint64_t seeds = 100) {
    hunt h;
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
        paxos::sim::run_options o{};
        o.nodes = nodes;
        o.seed = seed;
        o.faults = faults;
        o.trace_events = 0;
        o.clients = 3;
        o.commands_per_client = 30;
        o.safety_phase_us = 1'000'000;
        const auto r = paxos::sim::simulation<Config>(o).run();
        if (r.ok) continue;
        ++h.failures;
        ++h.by_check[r.failure->kind];
        if (h.first_seed == 0) {
            h.first_seed = seed;
            h.first_what = r.failure->what;
        }
    }
    return h;
}

paxos::sim::fault_profile chaos() {
    paxos::sim::fault_profile f{};
    f.name = "chaos";
    f.crash_permille = 120;
    f.restart_permille = 350;
    f.partition_permille = 120;
    f.one_way_permille = 80;
    f.isolate_leader_permille = 100;
    f.heal_permille = 250;
    f.loss_permille_max = 150;
    f.duplicate_permille_max = 80;
    f.long_tail_latency = true;
    return f;
}

void expect_caught(const hunt& h, check expected) {
    INFO("first failing seed " << h.first_seed << ": " << h.first_what);
    CHECK(h.failures > 0);
    CHECK(h.by_check.count(expected) == 1);
    // The right checker is the one that fires most often among the safety
    // checks. Liveness is left out of the ranking: a broken safety rule often
    // also leaves logs that can never converge (a leader elected by a quorum
    // that missed the chosen slots never learns them), which is a symptom of
    // the same mistake, not a different one.
    std::size_t most = 0;
    check top = expected;
    for (const auto& [kind, count] : h.by_check) {
        if (kind != check::liveness && count > most) {
            most = count;
            top = kind;
        }
    }
    CHECK(top == expected);
    MESSAGE(h.failures << " of 100 seeds caught (" << h.by_check.at(expected) << " by "
                       << std::string(paxos::sim::to_string(expected)) << "); first seed "
                       << h.first_seed);
}

}  // namespace

TEST_CASE("planted (a): quorums that do not intersect are caught (agreement)") {
    using config = planted_config<planted_bug::quorum_proof_bypassed, planted_test::one_two,
                                  paxos::counter_ballot<3>, paxos::randomized_backoff, 3>;
    expect_caught(hunt_for<config>(3, chaos()), check::agreement);
    explore_expect<explorer_config<planted_bug::quorum_proof_bypassed, planted_test::one_two>>(
        paxos_model::violation_kind::agreement, true);
}

TEST_CASE("planted (b): promising on an equal ballot is caught by agreement") {
    using config = planted_config<planted_bug::promise_on_equal_ballot, paxos::majority<3>,
                                  naive_ballot, paxos::randomized_backoff, 3>;
    expect_caught(hunt_for<config>(3, chaos()), check::agreement);
    explore_expect<explorer_config<planted_bug::promise_on_equal_ballot, paxos::majority<3>,
                                   naive_ballot, paxos::immediate>>(
        paxos_model::violation_kind::agreement, false);
}

TEST_CASE("planted (d): a leader that skips value adoption is caught by agreement") {
    using config = planted_config<planted_bug::leader_skips_adoption, paxos::majority<3>,
                                  paxos::counter_ballot<3>, paxos::randomized_backoff, 3>;
    expect_caught(hunt_for<config>(3, chaos()), check::agreement);
    explore_expect<explorer_config<planted_bug::leader_skips_adoption>>(
        paxos_model::violation_kind::agreement, false);
}

TEST_CASE("planted (e): a promise sent before it is durable is caught by persist-before-send") {
    using config = planted_config<planted_bug::promise_before_durable, paxos::majority<3>,
                                  paxos::counter_ballot<3>, paxos::randomized_backoff, 3>;
    expect_caught(hunt_for<config>(3, chaos()), check::persist_before_send);
    explore_expect<explorer_config<planted_bug::promise_before_durable>>(
        paxos_model::violation_kind::persist_before_send, true);
}

// Q1 = 1, Q2 = 3 over 3 nodes: every node elects itself alone, so ballots
// keep overtaking one another, and a choice needs every node's vote in one
// ballot (no two of three can hide a mixed count).
using duel_quorum = paxos::flexible<3, 1, 3>;

TEST_CASE("planted (c): an accept that does not raise the promise is caught (vote regressed)") {
    // The acceptor votes at ballot 1.1, then accepts a late accept of 1.0
    // because its promise still says 1.0: its vote goes backwards.
    using config = planted_config<planted_bug::accept_keeps_promise, duel_quorum,
                                  paxos::counter_ballot<3>, paxos::randomized_backoff, 3>;
    expect_caught(hunt_for<config>(3, chaos()), check::vote_regressed);
    explore_expect<explorer_config<planted_bug::accept_keeps_promise>>(
        paxos_model::violation_kind::vote_regressed, false);
}

TEST_CASE("planted (f): votes added up across ballots are caught (learned an unchosen value)") {
    // The leader adds a late `accepted` of its previous ballot to the votes of
    // its current one and declares a value chosen that no quorum voted for in
    // one ballot.
    using config = planted_config<planted_bug::votes_across_ballots, duel_quorum,
                                  paxos::counter_ballot<3>, paxos::randomized_backoff, 3>;
    expect_caught(hunt_for<config>(3, chaos()), check::learned_unchosen);
    paxos_model::explore_options o{};
    o.proposers = 1;  // one proposer, in two ballots
    o.campaigns_per_proposer = 2;
    explore_expect<explorer_config<planted_bug::votes_across_ballots, duel_quorum>>(
        paxos_model::violation_kind::learned_unchosen, true, o);
}

TEST_CASE("planted (g): a ballot reused after a restart is caught (promise regressed)") {
    // After a restart the node counts its ballots from zero again: its next
    // self-promise is below the one it made durable before the crash.
    using config = planted_config<planted_bug::ballot_reused_after_restart, paxos::majority<3>,
                                  paxos::counter_ballot<3>, paxos::randomized_backoff, 3>;
    expect_caught(hunt_for<config>(3, chaos()), check::promise_regressed);
    explore_expect<explorer_config<planted_bug::ballot_reused_after_restart>>(
        paxos_model::violation_kind::promise_regressed, true);
}

// Q1 = 3, Q2 = 1: the leader's own vote alone chooses a slot, so counting it
// before it is synced announces (and applies) a choice that no durable vote
// backs yet.
using own_vote_quorum = paxos::flexible<3, 3, 1>;

TEST_CASE("planted (h): a leader counting its own vote before it is durable is caught") {
    using config = planted_config<planted_bug::own_vote_before_durable, own_vote_quorum,
                                  paxos::counter_ballot<3>, paxos::randomized_backoff, 3>;
    expect_caught(hunt_for<config>(3, chaos()), check::learned_unchosen);
    explore_expect<explorer_config<planted_bug::own_vote_before_durable, own_vote_quorum>>(
        paxos_model::violation_kind::learned_unchosen, false);
}

TEST_CASE("planted (i): a prepare sent before its raised promise is durable is caught") {
    // A restarted candidate could reuse that ballot; the persist-before-send
    // checkers see the prepare leave ahead of the promise behind it.
    using config = planted_config<planted_bug::prepare_before_durable, paxos::majority<3>,
                                  paxos::counter_ballot<3>, paxos::randomized_backoff, 3>;
    expect_caught(hunt_for<config>(3, chaos()), check::persist_before_send);
    explore_expect<explorer_config<planted_bug::prepare_before_durable>>(
        paxos_model::violation_kind::persist_before_send, false);
}

TEST_CASE("planted: the Q2 = 1 configuration without a bug passes all 100 seeds and the explorer") {
    using config = planted_config<planted_bug::none, own_vote_quorum, paxos::counter_ballot<3>,
                                  paxos::randomized_backoff, 3>;
    const hunt h = hunt_for<config>(3, chaos());
    INFO("first failing seed " << h.first_seed << ": " << h.first_what);
    CHECK(h.failures == 0);
    paxos_model::explore_options o{};
    o.max_states = 200'000;
    paxos_model::explorer<explorer_config<planted_bug::none, own_vote_quorum>, 3, 4> e(o);
    const auto r = e.run();
    INFO((r.found ? r.found->what : std::string{}));
    CHECK_FALSE(r.found.has_value());
}

TEST_CASE("planted: the same configurations without a bug pass all 100 seeds") {
    using config = planted_config<planted_bug::none, paxos::majority<3>, paxos::counter_ballot<3>,
                                  paxos::randomized_backoff, 3>;
    const hunt h = hunt_for<config>(3, chaos());
    INFO("first failing seed " << h.first_seed << ": " << h.first_what);
    CHECK(h.failures == 0);
    using duel = planted_config<planted_bug::none, duel_quorum, paxos::counter_ballot<3>,
                                paxos::randomized_backoff, 3>;
    const hunt d = hunt_for<duel>(3, chaos());
    INFO("duel: first failing seed " << d.first_seed << ": " << d.first_what);
    CHECK(d.failures == 0);
}

TEST_CASE("planted: the explorer finds nothing in the bug-free duel configuration") {
    paxos_model::explore_options o{};
    o.proposers = 1;
    o.campaigns_per_proposer = 2;
    o.max_states = 200'000;
    paxos_model::explorer<explorer_config<planted_bug::none, duel_quorum>, 3, 4> e(o);
    const auto r = e.run();
    INFO((r.found ? r.found->what : std::string{}));
    CHECK_FALSE(r.found.has_value());
    CHECK(r.states >= 100'000);
}
