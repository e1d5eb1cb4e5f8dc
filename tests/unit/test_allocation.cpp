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

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "cluster.hpp"

#include "../support/counting_new.hpp"

namespace {

constexpr std::uint64_t commits_target = 10'000;

// Multi-Paxos style aliases: one command per slot, a new leader every 1,000
// commits, some accepts left in flight when the leader changes. With a
// lease (lease_ticks), reads are answered under it, and the leader changes
// by transfer_leadership, which ends the lease (a campaign would wait for
// the followers' grants to run out).
template <class Config>
std::uint64_t drive_log(std::size_t n, std::uint64_t& commits, std::uint32_t lease_ticks = 0) {
    std::uint64_t leader_changes = 0;
    std::uint64_t next_change = 1000;
    paxos_test::cluster<Config> c(n, 17);
    c.tracking = false;
    if (lease_ticks != 0) {
        c.use_lease(lease_ticks);
        for (std::uint32_t t = 0; t < lease_ticks; ++t) c.tick_all();  // the wait at start
    }
    REQUIRE(c.campaign(0).ok());
    c.deliver_all();
    REQUIRE(c.node(0).is_leader());
    std::size_t leader = 0;
    typename Config::value_type next{};
    allocation_region region;
    std::uint64_t reads_at_once = 0;
    for (std::uint64_t round = 0; c.applied_count(n - 1) < commits_target && round < 1'000'000;
         ++round) {
        if (c.applied_count(0) >= next_change) {
            next_change += 1000;
            const std::size_t from = leader;
            leader = (leader + 1) % n;
            if (lease_ticks != 0) {
                (void)c.transfer(from, leader);
            } else {
                (void)c.campaign(leader);
            }
            ++leader_changes;
        }
        const std::uint64_t served_before = c.reads_served(leader);
        if (c.node(leader).is_leader()) {
            ++next;
            (void)c.propose(leader, next);
            // And a linearizable read every other command (core/reads.hpp).
            if (c.applied_count(0) % 2 == 0) {
                (void)c.read(leader, c.applied_count(0));
                reads_at_once += c.reads_served(leader) - served_before;
            }
        }
        c.deliver_all();
        c.tick_all();
    }
    commits = c.applied_count(n - 1);
    const std::uint64_t counted = region.count();
    CHECK(leader_changes >= 5);
    if (lease_ticks != 0) CHECK(reads_at_once >= commits_target / 8);
    std::uint64_t reads = 0;
    for (std::size_t i = 0; i < n; ++i) reads += c.reads_served(i);
    CHECK(reads >= commits_target / 4);
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
    SUBCASE("multi_paxos, 3 nodes, with the leader lease (reads with no message)") {
        // 8 ticks: the wait at start ends before any election timer (10 to
        // 20 ticks) fires, so node 0's campaign is the first.
        CHECK(drive_log<paxos::multi_paxos<int, 3, 64, 8>>(3, commits, 8) == 0);
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

namespace {

// Every snapshot path, inside the region: offer and compact, a transfer
// started by a learn request below the compaction point, chunks moved one
// by one (a lost one, a resend ack), the acks, install, and the learn
// request after it. Buffers are fixed arrays made before the region.
template <class Value>
struct small_chunks : paxos::multi_paxos<Value, 3, 8, 2> {
    static constexpr std::size_t snapshot_chunk_bytes = 16;
};

template <class Value>
std::uint64_t drive_snapshot_paths(std::size_t& bytes_moved) {
    using small = small_chunks<Value>;
    using replica_t = paxos::replica<small>;
    using message_t = typename replica_t::message_buffer;
    auto sender =
        std::make_unique<replica_t>(typename replica_t::options{.self = paxos::node_id{0}});
    auto receiver =
        std::make_unique<replica_t>(typename replica_t::options{.self = paxos::node_id{2}});
    auto chunks = std::make_unique<std::array<message_t, 8>>();
    auto acks = std::make_unique<std::array<message_t, 8>>();
    std::array<std::byte, 100> snap{};
    for (std::size_t i = 0; i < snap.size(); ++i) snap[i] = static_cast<std::byte>(i);
    std::array<std::byte, 100> got{};
    std::size_t got_size = 0;
    message_t chosen{};
    chosen.kind = paxos::message_kind::chosen;
    chosen.from = paxos::node_id{1};
    chosen.to = paxos::node_id{0};
    chosen.values.push_back(Value{});
    // (A heavy value longer than the ones the slots hold, so copying it in
    // must allocate.)
    if constexpr (!std::is_same_v<Value, int>) chosen.values[0].text = std::string(200, 'y');

    allocation_region region;
    for (std::uint64_t s = 0; s < 40; ++s) {
        chosen.slot = paxos::slot_id{s};
        REQUIRE(sender->step(chosen).ok());
        sender->advance(sender->ready());
    }
    const paxos::snapshot_offer offer{paxos::slot_id{32}, snap.size(), paxos::detail::crc32c(snap)};
    REQUIRE(sender->offer_snapshot(offer).ok());
    REQUIRE(sender->compact(paxos::slot_id{32}).ok());
    message_t ask{};
    ask.kind = paxos::message_kind::learn_request;
    ask.from = paxos::node_id{2};
    ask.to = paxos::node_id{0};
    (void)sender->step(ask);
    bool dropped_one = false;
    for (int round = 0; round < 200 && got_size < snap.size(); ++round) {
        std::size_t n_chunks = 0;
        while (sender->has_ready()) {
            const auto& rd = sender->ready();
            for (const auto& c : rd.snapshot_chunks) {
                (*chunks)[n_chunks++] = message_t(sender->snapshot_chunk_for(
                    c, std::span<const std::byte>(snap).subspan(c.offset, c.length)));
            }
            sender->advance(rd);
        }
        std::size_t n_acks = 0;
        for (std::size_t i = 0; i < n_chunks; ++i) {
            if (!dropped_one && (*chunks)[i].snapshot.offset == 32) {
                dropped_one = true;  // lost: the next one is refused with a resend ack
                continue;
            }
            (void)receiver->step((*chunks)[i]);
            while (receiver->has_ready()) {
                const auto& rd = receiver->ready();
                for (const auto& c : rd.snapshot_received) {
                    std::copy(c.bytes.begin(), c.bytes.end(), got.begin() + c.offset);
                    got_size = c.offset + c.bytes.size();
                }
                for (const auto& m : rd.send_now) {
                    if (n_acks < acks->size()) (*acks)[n_acks++] = message_t(m);
                }
                receiver->advance(rd);
            }
        }
        for (std::size_t i = 0; i < n_acks; ++i) (void)sender->step((*acks)[i]);
        (void)sender->tick();
    }
    REQUIRE(receiver->install_snapshot(offer).ok());
    while (receiver->has_ready()) receiver->advance(receiver->ready());
    const std::uint64_t counted = region.count();
    CHECK(dropped_one);
    CHECK(got_size == snap.size());
    CHECK(got == snap);
    CHECK(receiver->applied_end() == paxos::slot_id{32});
    bytes_moved = got_size;
    return counted;
}

}  // namespace

TEST_CASE("zero allocation: compaction, a snapshot transfer with a lost chunk, and an install") {
    std::size_t moved = 0;
    CHECK(drive_snapshot_paths<int>(moved) == 0);
    CHECK(moved == 100);
    // The same paths with a value type that allocates when copied: seen.
    CHECK(drive_snapshot_paths<heavy>(moved) > 0);
}
