// Allocations per commit after start-up, counted over the whole process:
// three drivers on their threads, their TCP transports, their client ports,
// and the blocking client, 1,000 commands after a warm-up.
//
// This file replaces the global operator new/delete for the whole test
// binary (tests/support/counting_new.hpp). The store is the user's kind that
// allocates nothing (a no-op: durability is the POSIX log's, measured in the
// third case), so the count is the driver's and the transport's. The second
// case plants an allocation in the state machine's apply(), which the counter
// must see: a counter that cannot fail proves nothing.
#include <doctest/doctest.h>

#include "node_support.hpp"

#include "../support/counting_new.hpp"

namespace {

using namespace node_test;
using client = paxos::node::client<command>;

// Persists nothing and recovers nothing: the store a user plugs in, minus the disk.
struct null_store {
    paxos::storage::status persist(const paxos::replica<config>::ready_type&) noexcept {
        return paxos::storage::status::ok;
    }
    paxos::storage::status snapshot(slot_id) noexcept { return paxos::storage::status::ok; }
    template <class V>
    paxos::storage::status recover(V&) noexcept {
        return paxos::storage::status::ok;
    }
};

constexpr int measured_commands = 1000;

template <class Store>
std::uint64_t measure(typename thread_cluster<Store, test_counter<64>>::store_factory make,
                      bool planted) {
    thread_cluster<Store, test_counter<64>> cluster(std::move(make));
    cluster.start_all();
    client c(cluster.client_options(41));
    register_or_fail(c, 4001);
    for (int k = 0; k < 200; ++k) REQUIRE(add(c, 1).answered());  // warm-up
    int answered = 0;
    std::uint64_t count = 0;
    plant_allocation.store(planted);
    {
        allocation_region region;
        for (int k = 0; k < measured_commands; ++k) answered += add(c, 1).answered() ? 1 : 0;
        count = region.count();
    }
    plant_allocation.store(false);
    CHECK(answered == measured_commands);
    return count;
}

TEST_CASE("node: zero allocations per commit in the driver, its transport and its client port") {
    const std::uint64_t count =
        measure<null_store>([](std::size_t) { return std::make_unique<null_store>(); }, false);
    CHECK(count == 0);
}

TEST_CASE("node: the allocation counter catches an allocation planted in apply()") {
    const std::uint64_t count =
        measure<null_store>([](std::size_t) { return std::make_unique<null_store>(); }, true);
    // The leader applies every command before it answers (the followers
    // apply theirs too, some after the region ends).
    CHECK(count >= measured_commands);
}

TEST_CASE("node: with the POSIX log, allocations per commit stay rare (its index, per 64 KiB)") {
    std::array<temp_dir, 3> dirs;
    using wal = paxos::storage::posix_wal<config>;
    const std::uint64_t count = measure<wal>(
        [&](std::size_t i) { return std::make_unique<wal>(dirs[i].path + "/wal"); }, false);
    MESSAGE("allocations over ", measured_commands, " commits with the POSIX log: ", count);
    CHECK(count <= measured_commands / 20);
}

}  // namespace
