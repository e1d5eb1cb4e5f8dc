// Zero allocation in the steady state: once two transports are connected,
// sending, writing, reading and delivering frames both ways makes no heap
// allocation.
//
// This file replaces the global operator new/delete for the whole test binary
// with counting versions (as tests/unit/test_allocation.cpp does); counting is
// on only inside a measured region. The second test runs the same loop with a
// callback that copies every frame into a new vector, and the counter must see
// it: a counter that cannot fail proves nothing.
#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "net_support.hpp"

#include "../support/counting_new.hpp"

namespace {

using namespace net_test;

constexpr std::uint32_t frames_per_side = 5000;

struct tally {
    std::uint32_t received = 0;
    std::uint32_t in_order = 0;  // frames whose seq was the one expected next
};

// Connects two transports (allocating freely), then measures: each side
// sends frames_per_side frames of 64..1,000 bytes from a preallocated buffer
// while both poll, and every frame is checked in the callback. `keep` is
// called with each frame too: the planted allocation goes there.
template <class Keep>
std::uint64_t measure(Keep keep, std::array<tally, 2>& tallies) {
    mesh m(2);
    REQUIRE(m.pump([&] { return m.all_connected(); }));
    std::array<std::byte, 1000> buffer{};
    auto on_frame_of = [&](std::size_t node) {
        return [&, node](node_id, std::span<const std::byte> frame) {
            std::uint32_t seq = 0;
            const bool whole = read_frame(frame, seq);
            if (whole && seq == tallies[node].received) ++tallies[node].in_order;
            ++tallies[node].received;
            keep(frame);
        };
    };
    auto on_frame_0 = on_frame_of(0);
    auto on_frame_1 = on_frame_of(1);
    std::uint32_t send_failures = 0;

    allocation_region region;
    for (std::uint32_t s = 0; s < frames_per_side; ++s) {
        const std::span<std::byte> frame = std::span(buffer).first(64 + (s * 53) % 937);
        write_frame(frame, s);
        send_failures +=
            m.node(0).send(node_id{1}, frame) == paxos::net::send_result::queued ? 0 : 1;
        send_failures +=
            m.node(1).send(node_id{0}, frame) == paxos::net::send_result::queued ? 0 : 1;
        (void)m.node(0).poll(0, on_frame_0);
        (void)m.node(1).poll(0, on_frame_1);
    }
    for (int round = 0; round < 10'000; ++round) {
        if (tallies[0].received == frames_per_side && tallies[1].received == frames_per_side) {
            break;
        }
        (void)m.node(0).poll(1, on_frame_0);
        (void)m.node(1).poll(1, on_frame_1);
    }
    const std::uint64_t counted = region.count();
    CHECK(send_failures == 0);
    return counted;
}

}  // namespace

TEST_CASE("zero allocation: steady-state send and receive, both ways") {
    std::array<tally, 2> tallies{};
    CHECK(measure([](std::span<const std::byte>) {}, tallies) == 0);
    for (const tally& t : tallies) {
        CHECK(t.received == frames_per_side);
        CHECK(t.in_order == frames_per_side);
    }
}

TEST_CASE("zero allocation: the counter catches a planted allocation in the receive path") {
    std::array<tally, 2> tallies{};
    std::vector<std::vector<std::byte>> kept;
    const std::uint64_t counted = measure(
        [&](std::span<const std::byte> frame) { kept.emplace_back(frame.begin(), frame.end()); },
        tallies);
    CHECK(counted >= 2 * frames_per_side);  // at least one per copied frame
    CHECK(kept.size() == 2 * frames_per_side);
}
