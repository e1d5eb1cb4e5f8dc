// Framing and the hello, without sockets: the default framer reads a size
// from any header of this format, and a hello is read only when intact and of
// the right cluster.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <vector>

#include <paxos/net/byte_ring.hpp>
#include <paxos/net/framing.hpp>

#include "net_support.hpp"

using paxos::node_id;
using paxos::net::hello;
using paxos::net::hello_status;

TEST_CASE("framing: header_framer reads the size from the header alone") {
    const std::vector<std::byte> f = net_test::make_frame(7, 300);
    CHECK(paxos::net::header_framer::peek_size(f) == 300);
    CHECK(paxos::net::header_framer::peek_size(std::span(f).first(20)) == 300);
    CHECK(paxos::net::header_framer::peek_size(std::span(f).first(19)) == 0);  // short

    std::vector<std::byte> bad = f;
    bad[0] = std::byte{'Q'};
    CHECK(paxos::net::header_framer::peek_size(bad) == 0);
    bad = f;
    bad[paxos::wire::version_offset] = std::byte{1};
    CHECK(paxos::net::header_framer::peek_size(bad) == 0);
    bad = f;
    bad[paxos::wire::kind_offset] = std::byte{0};
    CHECK(paxos::net::header_framer::peek_size(bad) == 0);
    bad[paxos::wire::kind_offset] = std::byte{paxos::net::hello_kind};
    CHECK(paxos::net::header_framer::peek_size(bad) == 0);
}

TEST_CASE("framing: a hello round-trips, and every prefix is incomplete") {
    const auto bytes = paxos::net::encode_hello(net_test::test_cluster, {node_id{3}, node_id{1}});
    hello h{};
    REQUIRE(paxos::net::read_hello(bytes, net_test::test_cluster, h) == hello_status::ok);
    CHECK(h.from == node_id{3});
    CHECK(h.to == node_id{1});
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        CHECK(paxos::net::read_hello(std::span(bytes).first(n), net_test::test_cluster, h) ==
              hello_status::incomplete);
    }
    // The default framer refuses a hello as a data frame.
    CHECK(paxos::net::header_framer::peek_size(bytes) == 0);
}

TEST_CASE("framing: a hello is refused when any bit is wrong, or of another cluster") {
    const auto good = paxos::net::encode_hello(net_test::test_cluster, {node_id{2}, node_id{0}});
    for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
        auto bytes = good;
        bytes[bit / 8] ^= std::byte{static_cast<unsigned char>(1u << (bit % 8))};
        hello h{};
        const hello_status s = paxos::net::read_hello(bytes, net_test::test_cluster, h);
        // The length field may now say "more to come" (incomplete) or be wrong;
        // either way the hello is not taken.
        CHECK(s != hello_status::ok);
    }
    hello h{};
    CHECK(paxos::net::read_hello(good, paxos::wire::cluster_id{1}, h) ==
          hello_status::wrong_cluster);
    // A data frame is not a hello.
    const std::vector<std::byte> f = net_test::make_frame(1, 64);
    CHECK(paxos::net::read_hello(f, net_test::test_cluster, h) == hello_status::not_a_hello);
}

TEST_CASE("byte ring: whole pushes only, two runs across the wrap") {
    paxos::net::byte_ring ring(10);
    const std::array<std::byte, 6> six{std::byte{1}, std::byte{2}, std::byte{3},
                                       std::byte{4}, std::byte{5}, std::byte{6}};
    CHECK(ring.push(six));
    CHECK_FALSE(ring.push(six));  // 6 > 4 free: nothing is written
    CHECK(ring.size() == 6);
    ring.pop(5);
    CHECK(ring.push(six));  // wraps: 4 at the end, 2 at the start
    const auto runs = ring.runs();
    CHECK(runs[0].size() == 5);  // the one left, then 4 of the new push
    CHECK(runs[1].size() == 2);
    CHECK(runs[0][0] == std::byte{6});
    CHECK(runs[1][1] == std::byte{6});
    std::array<std::byte, 3> out{};
    ring.copy_out(3, out);
    CHECK(out[0] == std::byte{3});
    CHECK(out[2] == std::byte{5});
    ring.pop(7);
    CHECK(ring.empty());
}
