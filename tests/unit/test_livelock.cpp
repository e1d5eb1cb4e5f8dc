// The dueling-proposers livelock (two proposers that keep preempting each
// other's Phase 1, "Paxos Made Simple" §2.4), reproduced and cured.
//
// Two replicas propose at once. The adversary delivers Phase-1 messages before
// Phase-2 messages, so each new prepare overtakes the accepts of the ballot it
// preempts: "DB-1 PREPARE(5), DB-2 PREPARE(7), DB-1's ACCEPT(5) rejected,
// DB-1 PREPARE(9), ...". With the immediate policy nothing is ever chosen;
// randomized backoff and a stable leader both break the cycle.
#include <doctest/doctest.h>

#include <set>

#include "cluster.hpp"

namespace {

template <class Leader>
using duel_config =
    paxos::config<int, paxos::counter_ballot<3>, paxos::majority<3>, Leader, 3, 1, 1, true>;

// Distinct ballots the proposers have sent prepares with: one per Phase-1 round.
template <class Cluster>
void note_ballots(Cluster& c, std::set<std::uint64_t>& rounds) {
    for (const auto& e : c.in_flight()) {
        if (e.message.kind == paxos::message_kind::prepare) rounds.insert(e.message.ballot.raw());
    }
}

}  // namespace

TEST_CASE("livelock: with the immediate policy, 1,000 rounds choose nothing") {
    using config = duel_config<paxos::immediate>;
    paxos_test::cluster<config> c(3);
    REQUIRE(c.propose(0, 100).ok());
    REQUIRE(c.propose(1, 200).ok());
    std::set<std::uint64_t> rounds;
    while (rounds.size() < 1000) {
        note_ballots(c, rounds);
        REQUIRE(!c.in_flight().empty());  // the duel never goes quiet
        c.deliver_phase1_first(1);
    }
    CHECK(rounds.size() >= 1000);
    for (std::size_t i = 0; i < 3; ++i) CHECK(c.node(i).chosen_end().value == 0);
    CHECK(c.violation.empty());
}

TEST_CASE("livelock cured: randomized backoff chooses a value under the same adversary") {
    using config = duel_config<paxos::randomized_backoff>;
    std::size_t worst_rounds = 0;
    for (std::uint64_t seed = 1; seed <= 100; ++seed) {
        paxos_test::cluster<config> c(3, seed);
        REQUIRE(c.propose(0, 100).ok());
        REQUIRE(c.propose(1, 200).ok());
        std::size_t ticks = 0;
        while (c.node(2).chosen_end().value == 0 && ticks < 1000) {
            c.deliver_phase1_first(100'000);
            c.tick_all();
            ++ticks;
        }
        c.deliver_all();
        REQUIRE(c.chosen_everywhere() == 1);
        CHECK(c.logs_agree());
        worst_rounds = std::max(worst_rounds, ticks);
    }
    MESSAGE("randomized_backoff: worst ticks to first choice over 100 seeds = " << worst_rounds);
}

TEST_CASE("livelock cured: a stable leader chooses a value under the same adversary") {
    using config = duel_config<paxos::stable_leader>;
    for (std::uint64_t seed = 1; seed <= 100; ++seed) {
        paxos_test::cluster<config> c(3, seed);
        // Both would-be proposers start Phase 1 at the same moment.
        REQUIRE(c.campaign(0).ok());
        REQUIRE(c.campaign(1).ok());
        std::size_t ticks = 0;
        std::size_t leader = 3;
        while (leader == 3 && ticks < 1000) {
            c.deliver_phase1_first(100'000);
            for (std::size_t i = 0; i < 3; ++i) {
                if (c.node(i).is_leader()) leader = i;
            }
            c.tick_all();
            ++ticks;
        }
        REQUIRE(leader < 3);
        REQUIRE(c.propose(leader, 7).ok());
        REQUIRE(c.run_until([&] { return c.chosen_everywhere() == 1; }, 100));
        CHECK(c.log(2)[0].values == std::vector<int>{7});
    }
}
