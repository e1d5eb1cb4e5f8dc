// Randomized runs through the unit harness: messages delivered in random
// order, lost, duplicated; replicas crashing (unsynced writes lost, or partly
// kept in order, or partly kept in any order) and restarting from their
// durable store. Safety must hold in every run (agreement across applied logs, and
// persist-before-send); once the faults stop, every replica must catch up.
// The deterministic simulator with its full fault model is a separate suite;
// this is the core's own smoke test under faults.
#include <doctest/doctest.h>

#include "cluster.hpp"

// Seeds per case; a longer hunt: -DPAXOS_CHAOS_SEEDS=5000.
#ifndef PAXOS_CHAOS_SEEDS
#define PAXOS_CHAOS_SEEDS 200
#endif

namespace {

constexpr std::uint64_t chaos_seeds = PAXOS_CHAOS_SEEDS;

template <class Config>
void chaos_run(std::size_t n, std::uint64_t seed, std::size_t steps) {
    paxos_test::cluster<Config> c(n, seed);
    paxos::prng rng(seed);
    std::uint64_t loss_percent = rng.below(20);
    std::uint64_t dup_percent = rng.below(10);
    c.drop = [&](std::size_t, std::size_t, const auto&) { return rng.below(100) < loss_percent; };
    int next_value = 1;
    for (std::size_t step = 0; step < steps; ++step) {
        const std::uint64_t dice = rng.below(100);
        if (dice < 60 && !c.in_flight().empty()) {
            const std::size_t pick = rng.below(c.in_flight().size());
            if (rng.below(100) < dup_percent) c.in_flight().push_back(c.in_flight()[pick]);
            (void)c.deliver(pick);
        } else if (dice < 80) {
            for (std::size_t i = 0; i < n; ++i) {
                // Leader-free policies take commands anywhere; others at the leader.
                const bool takes =
                    Config::leader::followers_propose ? rng.below(n) == 0 : c.node(i).is_leader();
                if (c.is_down(i) || !takes) continue;
                (void)c.propose(i, next_value++);
            }
        } else if (dice < 97) {
            c.tick_all();
        } else if (dice < 99) {
            const std::size_t victim = rng.below(n);
            using mode = typename paxos_test::cluster<Config>::crash_mode;
            const mode how = static_cast<mode>(rng.below(3));  // unsynced: lost, prefix, any
            if (!c.is_down(victim)) c.crash(victim, how, rng.next());
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                if (c.is_down(i)) {
                    c.restart(i);
                    break;
                }
            }
        }
        REQUIRE(c.violation.empty());
        REQUIRE(c.logs_agree());
    }
    // Heal: everyone up, no loss; the logs must converge.
    for (std::size_t i = 0; i < n; ++i) {
        if (c.is_down(i)) c.restart(i);
    }
    loss_percent = 0;
    dup_percent = 0;
    if constexpr (Config::single_decree) {
        // A replica that never heard of the instance learns it when a client
        // asks it: proposing runs Phase 1, which reports the decision.
        for (std::size_t i = 0; i < n; ++i) {
            if (c.node(i).chosen_end().value == 0) (void)c.propose(i, next_value++);
        }
    }
    const bool converged = c.run_until(
        [&] {
            std::size_t leaders = 0;
            for (std::size_t i = 0; i < n; ++i) leaders += c.node(i).is_leader() ? 1 : 0;
            if (Config::single_decree) return c.chosen_everywhere() == 1;
            if (leaders != 1) return false;
            for (std::size_t i = 1; i < n; ++i) {
                if (c.node(i).chosen_end() != c.node(0).chosen_end()) return false;
                if (c.log(i).size() != c.log(0).size()) return false;
            }
            return true;
        },
        3000);
    INFO("seed " << seed);
    if (!converged) {
        for (std::size_t i = 0; i < n; ++i) {
            MESSAGE("node " << i << " role " << int(c.node(i).current_role()) << " chosen_end "
                            << c.node(i).chosen_end().value << " applied " << c.applied_count(i)
                            << " base " << c.node(i).window_base().value << " promised "
                            << c.node(i).promised().raw() << " ballot " << c.node(i).ballot().raw()
                            << " leader " << c.node(i).leader().value << " down " << c.is_down(i));
        }
    }
    CHECK(converged);
    CHECK(c.logs_agree());
    CHECK(c.violation.empty());
}

}  // namespace

TEST_CASE(
    "chaos: multi paxos on 3 and 5 nodes keeps agreement under loss, reordering, "
    "duplication and crash-restart") {
    for (std::uint64_t seed = 1; seed <= chaos_seeds; ++seed) {
        chaos_run<paxos::multi_paxos<int, 3, 8, 2>>(3, seed, 3000);
        chaos_run<paxos::multi_paxos<int, 5, 8, 2>>(5, seed + 100'000, 3000);
    }
}

TEST_CASE("chaos: flexible paxos (5 nodes, Q1 = 4, Q2 = 2) keeps agreement under faults") {
    for (std::uint64_t seed = 1; seed <= chaos_seeds; ++seed) {
        chaos_run<paxos::flexible_paxos<int, 5, 4, 2, 8, 2>>(5, seed, 3000);
    }
}

TEST_CASE("chaos: basic paxos with rival proposers keeps agreement and decides once") {
    for (std::uint64_t seed = 1; seed <= 2 * chaos_seeds; ++seed) {
        chaos_run<paxos::basic_paxos<int, 3>>(3, seed, 600);
        chaos_run<paxos::basic_paxos<int, 5>>(5, seed + 100'000, 600);
    }
}
