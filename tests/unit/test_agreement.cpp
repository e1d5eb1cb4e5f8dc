// Basic, Multi and Flexible Paxos each reach agreement through the harness,
// with the harness's persist-before-send and agreement checkers running.
#include <doctest/doctest.h>

#include "cluster.hpp"

using paxos_test::cluster;

TEST_CASE("basic paxos: three replicas choose the one proposed value") {
    using config = paxos::basic_paxos<int, 3>;
    cluster<config> c(3);
    CHECK(c.propose(1, 42).ok());
    REQUIRE(c.run_until([&] { return c.chosen_everywhere() == 1; }));
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(c.log(i).size() == 1);
        CHECK(c.log(i)[0].values == std::vector<int>{42});
    }
    CHECK(c.violation.empty());
    // Single decree: the instance is decided, nothing else can be chosen.
    CHECK(c.node(2).propose(7).code == paxos::reason::already_chosen);
}

TEST_CASE("basic paxos: two concurrent proposers still agree on one value") {
    using config = paxos::basic_paxos<int, 5>;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        cluster<config> c(5, seed);
        CHECK(c.propose(0, 100).ok());
        CHECK(c.propose(4, 200).ok());
        REQUIRE(c.run_until([&] { return c.chosen_everywhere() == 1; }));
        const auto& first = c.log(0)[0].values;
        CHECK((first == std::vector<int>{100} || first == std::vector<int>{200}));
        CHECK(c.logs_agree());
        CHECK(c.violation.empty());
    }
}

TEST_CASE("multi paxos: a stable leader commits a log in order on every replica") {
    using config = paxos::multi_paxos<int, 3, 16, 4>;
    cluster<config> c(3);
    CHECK(c.campaign(0).ok());
    c.deliver_all();
    REQUIRE(c.node(0).is_leader());
    for (int v = 0; v < 200; ++v) {
        const auto res = c.propose(0, v);
        REQUIRE(res.ok());
        c.deliver_all();
    }
    REQUIRE(c.run_until([&] {
        std::size_t total = 0;
        for (const auto& e : c.log(1)) total += e.values.size();
        return total == 200 && c.log(2).size() == c.log(0).size();
    }));
    std::vector<int> seen;
    for (const auto& e : c.log(2)) seen.insert(seen.end(), e.values.begin(), e.values.end());
    REQUIRE(seen.size() == 200);
    for (int v = 0; v < 200; ++v) CHECK(seen[static_cast<std::size_t>(v)] == v);
    CHECK(c.logs_agree());
    CHECK(c.violation.empty());
}

TEST_CASE("multi paxos: a follower answers not_leader and names the leader") {
    using config = paxos::multi_paxos<int, 3>;
    cluster<config> c(3);
    CHECK(c.campaign(1).ok());
    c.deliver_all();
    c.tick_all();  // heartbeat
    c.deliver_all();
    const auto res = c.node(2).propose(5);
    CHECK(res.code == paxos::reason::not_leader);
    CHECK(res.leader == paxos::node_id{1});
}

TEST_CASE("multi paxos: batching puts several commands in one slot") {
    using config = paxos::multi_paxos<int, 3, 8, 4>;
    cluster<config> c(3);
    CHECK(c.campaign(0).ok());
    c.deliver_all();
    auto& leader = c.node(0);
    for (int v = 0; v < 4; ++v) REQUIRE(leader.propose(v).ok());  // no ready() in between
    c.drain(0);
    c.deliver_all();
    REQUIRE(c.log(0).size() == 1);
    CHECK(c.log(0)[0].values == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("multi paxos: leader changes keep every replica's log consistent") {
    using config = paxos::multi_paxos<int, 5, 16, 2>;
    cluster<config> c(5, 3);
    int next = 0;
    for (std::size_t round = 0; round < 10; ++round) {
        const std::size_t leader = round % 5;
        CHECK(c.campaign(leader).ok());
        c.deliver_all();
        REQUIRE(c.node(leader).is_leader());
        for (int k = 0; k < 20; ++k) {
            REQUIRE(c.propose(leader, next++).ok());
            if (k % 3 == 0) c.deliver_all();
        }
        // Leave some accepts in flight, then depose the leader.
    }
    REQUIRE(c.run_until([&] {
        return c.node(0).chosen_end() == c.node(4).chosen_end() &&
               c.log(0).size() == c.log(4).size() && c.log(0).size() > 0 &&
               c.node(0).chosen_end().value == c.log(0).size();
    }));
    CHECK(c.logs_agree());
    CHECK(c.violation.empty());
}

TEST_CASE("flexible paxos: Q2 = 2 of 5 commits with three replicas down") {
    using config = paxos::flexible_paxos<int, 5, 4, 2>;
    cluster<config> c(5);
    CHECK(c.campaign(0).ok());
    c.deliver_all();
    REQUIRE(c.node(0).is_leader());
    c.crash(2);
    c.crash(3);
    c.crash(4);
    for (int v = 0; v < 10; ++v) REQUIRE(c.propose(0, v).ok());
    c.drain(0);
    c.deliver_all();
    REQUIRE(c.log(0).size() >= 1);
    std::size_t total = 0;
    for (const auto& e : c.log(0)) total += e.values.size();
    CHECK(total == 10);
    CHECK(c.logs_agree());
}

TEST_CASE("flexible paxos: Q1 = 4 of 5 cannot elect a leader with two replicas down") {
    using config = paxos::flexible_paxos<int, 5, 4, 2>;
    cluster<config> c(5);
    c.crash(3);
    c.crash(4);
    CHECK(c.campaign(0).ok());
    c.deliver_all();
    CHECK_FALSE(c.node(0).is_leader());
    c.restart(3);
    CHECK(c.campaign(0).ok());
    c.deliver_all();
    CHECK(c.node(0).is_leader());
}

TEST_CASE("grid quorums: Multi-Paxos runs on a 2x3 grid") {
    using config = paxos::config<int, paxos::counter_ballot<6>, paxos::grid<2, 3>,
                                 paxos::stable_leader, 6, 8, 2>;
    cluster<config> c(6);
    CHECK(c.campaign(0).ok());
    c.deliver_all();
    REQUIRE(c.node(0).is_leader());
    for (int v = 0; v < 6; ++v) REQUIRE(c.node(0).propose(v).ok());  // 3 full batches
    c.drain(0);
    c.deliver_all();
    REQUIRE(c.run_until([&] { return c.chosen_everywhere() == 3; }));
    CHECK(c.log(5)[2].values == std::vector<int>{4, 5});
    CHECK(c.logs_agree());
    CHECK(c.violation.empty());
}

TEST_CASE("stable leader: a cluster elects a leader by election timeout alone") {
    using config = paxos::multi_paxos<int, 3>;
    cluster<config> c(3, 11);
    REQUIRE(c.run_until(
        [&] { return c.node(0).is_leader() || c.node(1).is_leader() || c.node(2).is_leader(); },
        200));
    std::size_t leader = c.node(0).is_leader() ? 0 : c.node(1).is_leader() ? 1 : 2;
    REQUIRE(c.propose(leader, 9).ok());
    REQUIRE(c.run_until([&] { return c.chosen_everywhere() == 1; }, 200));
    CHECK(c.log(1)[0].values == std::vector<int>{9});
}

TEST_CASE("stable leader: followers elect a new leader when the leader crashes") {
    using config = paxos::multi_paxos<int, 3>;
    cluster<config> c(3, 5);
    CHECK(c.campaign(0).ok());
    c.deliver_all();
    REQUIRE(c.propose(0, 1).ok());
    c.deliver_all();
    c.crash(0);
    REQUIRE(c.run_until([&] { return c.node(1).is_leader() || c.node(2).is_leader(); }, 300));
    const std::size_t leader = c.node(1).is_leader() ? 1 : 2;
    REQUIRE(c.propose(leader, 2).ok());
    REQUIRE(c.run_until([&] { return c.applied_count(1) == 2 && c.applied_count(2) == 2; }));
    CHECK(c.log(1)[0].values == std::vector<int>{1});
    CHECK(c.log(1)[1].values == std::vector<int>{2});
    CHECK(c.logs_agree());
}

TEST_CASE("learner catch-up: a replica that missed chosen messages learns them") {
    using config = paxos::multi_paxos<int, 3, 16, 1>;
    cluster<config> c(3, 2);
    CHECK(c.campaign(0).ok());
    c.deliver_all();
    // Node 2 hears accepts but never the chosen announcements.
    c.drop = [](std::size_t, std::size_t to, const auto& m) {
        return to == 2 && m.kind == paxos::message_kind::chosen;
    };
    for (int v = 0; v < 5; ++v) REQUIRE(c.propose(0, v).ok());
    c.deliver_all();
    CHECK(c.applied_count(2) == 0);
    c.drop = nullptr;
    REQUIRE(c.run_until([&] { return c.applied_count(2) == 5; }, 50));
    CHECK(c.logs_agree());
}

TEST_CASE("restart: a crashed replica recovers its votes and the cluster goes on") {
    using config = paxos::multi_paxos<int, 3, 16, 1>;
    cluster<config> c(3, 9);
    CHECK(c.campaign(0).ok());
    c.deliver_all();
    for (int v = 0; v < 8; ++v) REQUIRE(c.propose(0, v).ok());
    c.deliver_all();
    c.crash(1);
    for (int v = 8; v < 12; ++v) REQUIRE(c.propose(0, v).ok());
    c.deliver_all();
    c.restart(1);
    REQUIRE(c.run_until([&] { return c.applied_count(1) == 12; }, 100));
    CHECK(c.logs_agree());
    CHECK(c.violation.empty());
}

TEST_CASE("runtime quorum: a quorum system built at start-up runs the same replica") {
    using config = paxos::config<int, paxos::counter_ballot<64>, paxos::runtime_threshold,
                                 paxos::stable_leader, 64, 16, 2>;
    const auto refused = paxos::runtime_threshold::make(5, 2, 3);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error == paxos::quorum_build_error::quorums_disjoint);
    CHECK_FALSE(refused.counterexample.phase1.intersects(refused.counterexample.phase2));

    const auto built = paxos::runtime_threshold::make(5, 4, 2);
    REQUIRE(built.ok());
    cluster<config> c(5, 4, {}, *built.quorum);
    CHECK(c.campaign(2).ok());
    c.deliver_all();
    REQUIRE(c.node(2).is_leader());
    c.crash(0);
    c.crash(1);
    c.crash(4);  // phase 2 needs only 2 of 5
    for (int v = 0; v < 5; ++v) {
        REQUIRE(c.propose(2, v).ok());
        c.deliver_all();
    }
    CHECK(c.settle());
    CHECK(c.applied_count(3) == 5);
    CHECK(c.logs_agree());
}

TEST_CASE("composed config: pair ballots, weighted quorums and backoff reach agreement") {
    // Node 0 weighs 3, the others 1 each (total 7); phase 1 needs 4, phase 2
    // needs 4: 4 + 4 > 7, so every pair of quorums meets.
    using quorum = paxos::weighted<paxos::weights<3, 1, 1, 1, 1>, 4, 4>;
    using config =
        paxos::config<int, paxos::pair_ballot, quorum, paxos::randomized_backoff, 5, 8, 2>;
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        cluster<config> c(5, seed);
        CHECK(c.propose(1, 10).ok());
        CHECK(c.propose(3, 30).ok());
        REQUIRE(c.run_until([&] { return c.chosen_everywhere() >= 2; }, 500));
        CHECK(c.logs_agree());
        CHECK(c.violation.empty());
    }
    // Node 0 and one other are a phase-2 quorum on their own.
    cluster<config> c(5, 99);
    REQUIRE(c.campaign(0).ok());
    c.deliver_all();
    REQUIRE(c.node(0).is_leader());
    c.crash(2);
    c.crash(3);
    c.crash(4);
    REQUIRE(c.propose(0, 5).ok());
    c.deliver_all();
    CHECK(c.settle());
    CHECK(c.applied_count(1) == 1);
}
