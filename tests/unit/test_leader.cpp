// Leader policies and the PRNG behind them: the liveness half of the seeds'
// "Paxos Livelock" document (fix 1: randomized backoff; fix 2: a stable
// leader), tested as plain objects, without a replica.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <set>

#include <paxos/paxos.hpp>

using paxos::leader_action;
using paxos::leader_context;
using paxos::role;

namespace {
constexpr leader_context follower_with_work{role::follower, true};
constexpr leader_context idle_follower{role::follower, false};
constexpr leader_context candidate{role::candidate, true};
constexpr leader_context leader{role::leader, true};
}  // namespace

// The library's own leader policies meet the concept (checked here, not in
// the header: a user's unit checks only the policy its config uses).
static_assert(paxos::leader_policy<paxos::immediate>);
static_assert(paxos::leader_policy<paxos::randomized_backoff>);
static_assert(paxos::leader_policy<paxos::stable_leader>);

TEST_CASE("prng: one seed gives one sequence, on every compiler") {
    paxos::prng a(7), b(7), c(8);
    bool differs = false;
    for (int i = 0; i < 100; ++i) {
        const auto x = a.next();
        CHECK(x == b.next());
        differs = differs || x != c.next();
    }
    CHECK(differs);
    // Pinned values: a change to the generator changes every simulation
    // replay, so it must be deliberate.
    paxos::prng pinned(1);
    CHECK(pinned.next() == 0xB3F2AF6D0FC710C5ull);
}

TEST_CASE("prng: bounded draws stay in range and cover it evenly") {
    paxos::prng rng(3);
    std::array<int, 10> counts{};
    for (int i = 0; i < 100'000; ++i) {
        const auto x = rng.below(10);
        REQUIRE(x < 10);
        ++counts[x];
    }
    for (int count : counts) CHECK((count > 9'500 && count < 10'500));
    for (int i = 0; i < 1000; ++i) {
        const auto x = rng.between(5, 7);
        CHECK((x >= 5 && x <= 7));
    }
    CHECK(rng.below(0) == 0);
    CHECK(rng.between(4, 4) == 4);
}

TEST_CASE("immediate: re-prepares the moment it is preempted, if it has work") {
    paxos::immediate p({}, 0);
    CHECK(p.on_preempted(follower_with_work) == leader_action::start_phase1);
    CHECK(p.on_preempted(idle_follower) == leader_action::none);
    CHECK(p.on_propose(idle_follower) == leader_action::start_phase1);
    CHECK(p.on_propose(candidate) == leader_action::none);  // already campaigning
    CHECK(p.on_tick(leader) == leader_action::none);
}

TEST_CASE("randomized_backoff: waits grow exponentially, are capped, and are jittered") {
    paxos::randomized_backoff::options opts{};
    opts.backoff_ticks_base = 2;
    opts.backoff_ticks_max = 32;
    std::set<std::uint32_t> first_waits;
    std::uint32_t longest_after_election = 0;
    for (std::uint64_t seed = 0; seed < 200; ++seed) {
        paxos::randomized_backoff p(opts, seed);
        std::uint32_t ceiling = 2;
        for (int attempt = 0; attempt < 8; ++attempt) {
            CHECK(p.on_preempted(follower_with_work) == leader_action::none);
            const std::uint32_t wait = p.wait_ticks();
            CHECK(wait >= 1);
            CHECK(wait <= ceiling);
            if (attempt == 0) first_waits.insert(wait);
            // No retry before the wait is over; then exactly one.
            for (std::uint32_t t = 1; t < wait; ++t) {
                CHECK(p.on_tick(follower_with_work) == leader_action::none);
            }
            CHECK(p.on_tick(follower_with_work) == leader_action::start_phase1);
            ceiling = std::min<std::uint32_t>(ceiling * 2, 32);
        }
        // Winning Phase 1 alone does not reset the exponent: in the duel a
        // proposer wins Phase 1 and loses Phase 2 over and over.
        p.on_elected();
        CHECK(p.on_preempted(follower_with_work) == leader_action::none);
        CHECK(p.wait_ticks() <= 32);
        longest_after_election = std::max(longest_after_election, p.wait_ticks());
        // Leading undisturbed for phase1_timeout_ticks does.
        p.on_elected();
        for (std::uint32_t t = 0; t < opts.phase1_timeout_ticks; ++t) {
            CHECK(p.on_tick(leader) == leader_action::none);
        }
        CHECK(p.on_preempted(follower_with_work) == leader_action::none);
        CHECK(p.wait_ticks() <= 2);
    }
    CHECK(first_waits.size() == 2);     // jitter: both 1 and 2 occur
    CHECK(longest_after_election > 2);  // the exponent survived the election
}

TEST_CASE("randomized_backoff: a Phase 1 that gets no quorum in time backs off too") {
    paxos::randomized_backoff::options opts{};
    opts.phase1_timeout_ticks = 5;
    paxos::randomized_backoff p(opts, 9);
    for (int t = 0; t < 4; ++t) CHECK(p.on_tick(candidate) == leader_action::none);
    CHECK(p.on_tick(candidate) == leader_action::none);  // timeout: schedules a backoff
    CHECK(p.wait_ticks() >= 1);
    std::uint32_t ticks = 0;
    while (p.on_tick(candidate) != leader_action::start_phase1) REQUIRE(++ticks < 100);
    // While waiting, a new command does not start a rival Phase 1 early.
    CHECK(p.on_preempted(follower_with_work) == leader_action::none);
    CHECK(p.on_propose(follower_with_work) == leader_action::none);
}

TEST_CASE("stable_leader: election timeouts are random within bounds and reset by the leader") {
    paxos::stable_leader::options opts{};
    opts.election_ticks_min = 10;
    opts.election_ticks_max = 20;
    std::set<std::uint32_t> timeouts;
    for (std::uint64_t seed = 0; seed < 300; ++seed) {
        paxos::stable_leader p(opts, seed);
        const auto timeout = p.election_timeout_ticks();
        CHECK(timeout >= 10);
        CHECK(timeout <= 20);
        timeouts.insert(timeout);
        // Hearing the leader just before the timeout postpones the election.
        for (std::uint32_t t = 1; t < timeout; ++t) {
            CHECK(p.on_tick(idle_follower) == leader_action::none);
        }
        p.on_leader_heard();
        for (std::uint32_t t = 1; t < timeout; ++t) {
            CHECK(p.on_tick(idle_follower) == leader_action::none);
        }
        CHECK(p.on_tick(idle_follower) == leader_action::start_phase1);
    }
    CHECK(timeouts.size() == 11);  // every value in [10, 20] occurs
}

TEST_CASE("stable_leader: a leader heartbeats every heartbeat_ticks; followers never propose") {
    paxos::stable_leader::options opts{};
    opts.heartbeat_ticks = 3;
    paxos::stable_leader p(opts, 1);
    p.on_elected();
    int beats = 0;
    for (int t = 0; t < 30; ++t) beats += p.on_tick(leader) == leader_action::heartbeat ? 1 : 0;
    CHECK(beats == 10);
    CHECK_FALSE(paxos::stable_leader::followers_propose);
    CHECK(p.on_preempted(follower_with_work) == leader_action::none);  // waits its timeout
}
