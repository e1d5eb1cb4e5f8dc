// Zero allocation, proved: after construction, driving a cluster (commits,
// leader changes, new Basic Paxos instances) makes no heap allocation.
//
// This file replaces the global operator new/delete for the whole test binary
// with counting versions; counting is on only inside a measured region, so
// doctest's own allocations elsewhere do not matter. The second test plants
// an allocation on the replica's own path (a value type that allocates when
// copied) and shows the counter sees it: a counter that cannot fail proves
// nothing.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "cluster.hpp"

#include "../support/counting_new.hpp"

namespace {

constexpr std::uint64_t commits_target = 10'000;

// Multi-Paxos style aliases: one command per slot, a new leader every 1,000
// commits, some accepts left in flight when the leader changes.
template <class Config>
std::uint64_t drive_log(std::size_t n, std::uint64_t& commits) {
    std::uint64_t leader_changes = 0;
    std::uint64_t next_change = 1000;
    paxos_test::cluster<Config> c(n, 17);
    c.tracking = false;
    REQUIRE(c.campaign(0).ok());
    c.deliver_all();
    REQUIRE(c.node(0).is_leader());
    std::size_t leader = 0;
    typename Config::value_type next{};
    allocation_region region;
    while (c.applied_count(n - 1) < commits_target) {
        if (c.applied_count(0) >= next_change) {
            next_change += 1000;
            leader = (leader + 1) % n;
            (void)c.campaign(leader);
            ++leader_changes;
        }
        if (c.node(leader).is_leader()) {
            ++next;
            (void)c.propose(leader, next);
        }
        c.deliver_all();
        c.tick_all();
    }
    commits = c.applied_count(n - 1);
    const std::uint64_t counted = region.count();
    CHECK(leader_changes >= 5);
    return counted;
}

// Basic Paxos: a fresh single-decree instance per commit, proposers rotating.
template <class Config>
std::uint64_t drive_instances(std::size_t n, std::uint64_t& commits) {
    paxos_test::cluster<Config> c(n, 23);
    c.tracking = false;
    commits = 0;
    allocation_region region;
    for (std::uint64_t k = 0; k < commits_target; ++k) {
        c.reset();
        (void)c.propose(k % n, typename Config::value_type(static_cast<int>(k)));
        std::size_t ticks = 0;
        while (c.applied_count(n - 1) == 0 && ticks++ < 1000) {
            c.deliver_all();
            c.tick_all();
        }
        commits += c.applied_count(n - 1);
    }
    return region.count();
}

// A command that allocates when copied: longer than the small-string buffer.
struct heavy {
    std::string text = std::string(64, 'x');
    heavy() = default;
    explicit heavy(int) {}
    heavy& operator++() { return *this; }
    friend bool operator==(const heavy& a, const heavy& b) { return a.text == b.text; }
};

}  // namespace

TEST_CASE("zero allocation: 10,000 commits through each alias on 3 and 5 nodes") {
    std::uint64_t commits = 0;
    SUBCASE("multi_paxos, 3 nodes") {
        CHECK(drive_log<paxos::multi_paxos<int, 3, 64, 8>>(3, commits) == 0);
    }
    SUBCASE("multi_paxos, 5 nodes") {
        CHECK(drive_log<paxos::multi_paxos<int, 5, 64, 8>>(5, commits) == 0);
    }
    SUBCASE("flexible_paxos, 3 nodes, Q1 = 3, Q2 = 1") {
        CHECK(drive_log<paxos::flexible_paxos<int, 3, 3, 1>>(3, commits) == 0);
    }
    SUBCASE("flexible_paxos, 5 nodes, Q1 = 4, Q2 = 2") {
        CHECK(drive_log<paxos::flexible_paxos<int, 5, 4, 2>>(5, commits) == 0);
    }
    SUBCASE("basic_paxos, 3 nodes") {
        CHECK(drive_instances<paxos::basic_paxos<int, 3>>(3, commits) == 0);
    }
    SUBCASE("basic_paxos, 5 nodes") {
        CHECK(drive_instances<paxos::basic_paxos<int, 5>>(5, commits) == 0);
    }
    CHECK(commits >= commits_target);
}

TEST_CASE("zero allocation: the counter catches a planted allocation") {
    // A value type that allocates when copied (a string too long for the small
    // string buffer): the replica copies values into its slots, so the counter
    // must see allocations. This is also why the README says the promise holds
    // only for value types that do not allocate themselves.
    std::uint64_t commits = 0;
    CHECK(drive_instances<paxos::basic_paxos<heavy, 3>>(3, commits) > 0);
    CHECK(commits >= commits_target);
    std::uint64_t log_commits = 0;
    CHECK(drive_log<paxos::multi_paxos<heavy, 3, 8, 1>>(3, log_commits) > 0);
}
