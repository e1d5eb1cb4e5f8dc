// tests/sm/test_allocation.cpp: the session table and the client helper never
// allocate.
//
// This file replaces the global operator new/delete for the whole test binary
// with counting versions; counting is on only inside a measured region. The
// second case plants an allocation (an executor that builds its reply in a
// std::string) and shows the counter sees it.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <paxos/sm/client_session.hpp>
#include <paxos/sm/sessions.hpp>

#include "../support/counting_new.hpp"

namespace {

using table = paxos::sm::session_table<64, 32>;

// 10,000 commands from 100 clients through a 64-session table (so clients
// are evicted and register again), with retries, and a snapshot saved and
// loaded every 1,000 commands. `planted` builds each reply in a std::string.
std::uint64_t drive(table& t, std::byte* image, bool planted) {
    paxos::sm::client_session client({.cluster_size = 3, .seed = 9});
    std::array<paxos::sm::client_id, 100> ids{};
    std::array<std::uint64_t, 100> seqs{};
    std::uint64_t slot = 0;
    std::uint64_t executed = 0;
    allocation_region region;
    for (std::uint64_t k = 0; k < 10'000; ++k) {
        const std::size_t who = (k * 37) % ids.size();
        if (ids[who].value == 0 || !t.contains(ids[who])) {
            ids[who] = t.register_client(paxos::slot_id{slot++}).client;
            seqs[who] = 0;
        }
        const std::uint64_t seq = k % 3 == 0 ? seqs[who] + 1 : seqs[who] + (seqs[who] == 0);
        seqs[who] = seq;
        const auto d = t.apply(ids[who], seq, paxos::slot_id{slot++}, [&](auto buffer) {
            ++executed;
            if (planted) {
                const std::string text = "reply to a command, long enough to allocate";
                std::memcpy(buffer.data(), text.data(), 8);
            } else {
                std::memcpy(buffer.data(), &executed, sizeof executed);
            }
            return std::size_t{8};
        });
        (void)d;
        (void)client.on_timeout();
        if (k % 1000 == 999) {
            const auto saved = t.save(std::span<std::byte>(image, table::image_bytes_max));
            REQUIRE(saved.status == paxos::sm::image_status::ok);
            REQUIRE(t.load(std::span<const std::byte>(image, saved.bytes)) ==
                    paxos::sm::image_status::ok);
        }
    }
    CHECK(executed > 1000);
    return region.count();
}

}  // namespace

TEST_CASE("zero allocation: 10,000 commands, evictions and snapshots through the session table") {
    auto t = std::make_unique<table>();  // allocated once, before the region
    auto image = std::make_unique<std::byte[]>(table::image_bytes_max);
    CHECK(drive(*t, image.get(), false) == 0);
}

TEST_CASE("zero allocation: the counter catches a planted allocation") {
    auto t = std::make_unique<table>();
    auto image = std::make_unique<std::byte[]>(table::image_bytes_max);
    CHECK(drive(*t, image.get(), true) > 0);
}
