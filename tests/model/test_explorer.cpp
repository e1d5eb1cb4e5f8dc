// tests/model/test_explorer.cpp: the explorer's own tests (label `explore`).
//
// A checker that cannot fail proves nothing, so each test plants a fault the
// explorer must find, and checks the path it prints is the shortest one:
//   * a quorum system whose phase-1 and phase-2 quorums do not intersect
//     (a run-time quorum, so the config's compile-time proof does not see it);
//   * a driver that never writes its store, which only a crash-restart can
//     turn into two chosen values;
// and a correct configuration must explore cleanly and deterministically.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "explorer.hpp"

namespace {

// Any single node is a quorum of either phase: two proposers each choose
// their own value with their own vote. The data member makes the type
// non-empty, so it is a run-time quorum system and check_config() does not
// try to prove it (which would refuse to compile it).
struct bad_quorum {
    std::size_t nodes = 3;
    constexpr std::size_t node_count() const noexcept { return nodes; }
    constexpr bool is_phase1_quorum(paxos::node_set s) const noexcept { return s.size() >= 1; }
    constexpr bool is_phase2_quorum(paxos::node_set s) const noexcept { return s.size() >= 1; }
};

using bad_config = paxos::config<int, paxos::counter_ballot<3>, bad_quorum,
                                 paxos::randomized_backoff, 3, 1, 1, true>;
using basic_config = paxos::basic_paxos<int, 3>;
using multi_config = paxos::config<int, paxos::counter_ballot<3>, paxos::majority<3>,
                                   paxos::randomized_backoff, 3, 2, 1, false>;

bool mentions(const std::vector<std::string>& lines, const std::string& what) {
    for (const std::string& l : lines) {
        if (l.find(what) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("a non-intersecting quorum system is caught with the shortest path") {
    paxos_model::explore_options o;
    o.max_states = 200'000;
    paxos_model::explorer<bad_config, 3, 2> e(o);
    const paxos_model::explore_report r = e.run();
    paxos_model::print_report(stdout, "bad quorum", r);
    REQUIRE(r.found.has_value());
    CHECK(r.found->kind == paxos_model::violation_kind::agreement);
    // Each proposer is a quorum by itself: two proposals, each counted once
    // its own vote is synced, are enough, and BFS finds nothing shorter.
    CHECK(r.found->depth == 4);
    REQUIRE(r.found->path.size() == 4);
    CHECK(mentions(r.found->path, "node 0 proposes [100]"));
    CHECK(mentions(r.found->path, "node 1 proposes [200]"));
    CHECK(mentions(r.found->path, "node 0's sync completes"));
    CHECK(mentions(r.found->path, "node 1's sync completes"));
    CHECK(r.found->what.find("slot 0") != std::string::npos);
}

TEST_CASE("a driver that skips persisting is caught, but only through a crash") {
    paxos_model::explore_options o;
    o.driver_skips_persist = true;
    o.check_persist_before_send = false;  // let the fault reach agreement
    o.campaigns_per_proposer = 0;
    o.duplications = 0;
    o.drops = false;
    o.max_states = 2'000'000;

    SUBCASE("with a crash-restart the forgotten vote lets a second value be chosen") {
        o.crashes = 1;
        paxos_model::explorer<basic_config, 3, 2> e(o);
        const paxos_model::explore_report r = e.run();
        paxos_model::print_report(stdout, "skip persist, 1 crash", r);
        REQUIRE(r.found.has_value());
        CHECK(r.found->kind == paxos_model::violation_kind::agreement);
        CHECK(mentions(r.found->path, "crashes and restarts"));
        CHECK(r.found->path.size() == r.found->depth);
    }
    SUBCASE("the persist-before-send checker sees it at once") {
        o.crashes = 0;
        o.check_persist_before_send = true;
        paxos_model::explorer<basic_config, 3, 2> e(o);
        const paxos_model::explore_report r = e.run();
        REQUIRE(r.found.has_value());
        CHECK(r.found->kind == paxos_model::violation_kind::persist_before_send);
        // The first prepare outruns the store as soon as its sync "completes".
        CHECK(r.found->depth == 2);
    }
    SUBCASE("without a crash nothing goes wrong in these bounds") {
        o.crashes = 0;
        o.max_depth = 9;
        paxos_model::explorer<basic_config, 3, 2> e(o);
        const paxos_model::explore_report r = e.run();
        CHECK_FALSE(r.found.has_value());
        CHECK(r.complete_to_depth == 9);
    }
}

TEST_CASE("a correct configuration explores cleanly and deterministically") {
    paxos_model::explore_options o;
    o.max_states = 20'000;
    paxos_model::explorer<multi_config, 3, 4> a(o);
    paxos_model::explorer<multi_config, 3, 4> b(o);
    const paxos_model::explore_report ra = a.run();
    const paxos_model::explore_report rb = b.run();
    paxos_model::print_report(stdout, "multi", ra);
    CHECK_FALSE(ra.found.has_value());
    CHECK(ra.states == 20'000);
    CHECK(ra.max_depth >= 5);
    CHECK(ra.transitions > ra.states);  // revisits were recognised, not re-expanded
    // The same bounds give the same search, state for state.
    CHECK(rb.states == ra.states);
    CHECK(rb.transitions == ra.transitions);
    CHECK(rb.expanded == ra.expanded);
    CHECK(rb.max_depth == ra.max_depth);
}

TEST_CASE("a small space is explored to the end") {
    // One proposer, no faults: the whole bounded space is small.
    paxos_model::explore_options o;
    o.proposers = 1;
    o.campaigns_per_proposer = 0;
    o.crashes = 0;
    o.duplications = 0;
    o.drops = false;
    paxos_model::explorer<basic_config, 3, 2> e(o);
    const paxos_model::explore_report r = e.run();
    paxos_model::print_report(stdout, "one proposer", r);
    CHECK_FALSE(r.found.has_value());
    CHECK(r.complete);
    CHECK(r.states > 10);
    CHECK(r.expanded + r.pruned == r.states);
}

TEST_CASE("with compaction, lagging nodes install snapshots and every interleaving stays safe") {
    // The start: node 0 leads and chooses two slots with node 2 while node 1
    // hears nothing, then compacts its log. From there the search tries
    // every interleaving of node 1 campaigning (its prepare is below node
    // 0's log, so it is sent the snapshot), node 2 compacting too, losses,
    // duplicates and a crash of any node, including inside an install.
    using step = paxos_model::start_step;
    paxos_model::explore_options o;
    o.proposers = 2;
    o.proposals_per_proposer = 2;
    o.campaigns_per_proposer = 1;
    o.compactions = 1;
    o.max_states = 300'000;
    o.start = {{step::kind::campaign, 0}, {step::kind::settle, 1},  {step::kind::propose, 0},
               {step::kind::settle, 1},   {step::kind::propose, 0}, {step::kind::settle, 1},
               {step::kind::compact, 0}};
    paxos_model::explorer<multi_config, 3, 4> e(o);
    const paxos_model::explore_report r = e.run();
    paxos_model::print_report(stdout, "multi, compaction", r);
    if (r.found) MESSAGE(r.found->what);
    CHECK_FALSE(r.found.has_value());
    CHECK(r.installs > 0);
    MESSAGE(r.installs << " transitions installed a snapshot");
}
