// Hostile or broken peers, played by raw sockets against node 0 while nodes
// 0 and 1 keep talking: each bad connection is counted and closed, and the
// good connection between 0 and 1 is not disturbed. Id 2 is in the table
// with a port that refuses connections, so a raw socket can claim it without
// a real node 2 answering.
#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "net_support.hpp"

using namespace net_test;
using paxos::net::hello_status;
using paxos::net::send_result;

namespace {

node_id id(std::uint16_t i) { return node_id{i}; }

std::vector<std::byte> hello_from(std::uint16_t from, std::uint16_t to = 0,
                                  paxos::wire::cluster_id cluster = test_cluster) {
    const auto h = paxos::net::encode_hello(cluster, {id(from), id(to)});
    return {h.begin(), h.end()};
}

std::vector<std::byte> concat(std::vector<std::byte> a, const std::vector<std::byte>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Nodes 0 and 1 still exchange frames both ways, and node 1 saw nothing bad.
void check_good_link_unaffected(mesh& m) {
    m.inboxes[0].frames.clear();
    m.inboxes[1].frames.clear();
    for (std::uint32_t s = 0; s < 10; ++s) {
        REQUIRE(m.node(0).send(id(1), make_frame(s, 300)) == send_result::queued);
        REQUIRE(m.node(1).send(id(0), make_frame(s, 300)) == send_result::queued);
    }
    REQUIRE(m.pump(
        [&] { return m.inboxes[0].count_from(1) == 10 && m.inboxes[1].count_from(0) == 10; }));
    CHECK(m.inboxes[0].broken == 0);
    CHECK(m.inboxes[1].broken == 0);
    CHECK(m.node(1).stats().frames_bad == 0);
    CHECK(m.node(1).stats().hellos_refused == 0);
    CHECK(m.node(0).stats().connections_lost == 0);
    CHECK(m.node(1).stats().connections_lost == 0);
    CHECK(m.node(0).connected(id(1)));
    CHECK(m.node(1).connected(id(0)));
}

bool both_connected(mesh& m) {
    return m.node(0).connected(id(1)) && m.node(1).connected(id(0)) &&
           m.node(0).stats().hellos_accepted >= 1 && m.node(1).stats().hellos_accepted >= 1;
}

// Sends `bytes` on a fresh connection to node 0 and expects its hello refused
// for `why`, the connection closed, and the good link undisturbed.
void expect_hello_refused(const std::vector<std::byte>& bytes, hello_status why,
                          bool close_after = false) {
    mesh m(2, fast_options(), 1);
    REQUIRE(m.pump([&] { return both_connected(m); }));
    raw_peer raw(m.port(0));
    raw.send(bytes);
    if (close_after) raw.close();
    REQUIRE(m.pump([&] { return m.node(0).stats().hellos_refused == 1; }));
    CHECK(m.node(0).stats().last_hello_refusal == why);
    CHECK(m.node(0).stats().frames_received == 0);
    if (!close_after) CHECK(m.pump([&] { return raw.closed_by_peer(); }));
    check_good_link_unaffected(m);
}

}  // namespace

TEST_CASE("bad peers: a hello that is wrong is refused and counted, others unaffected") {
    SUBCASE("garbage") {
        expect_hello_refused(std::vector<std::byte>(64, std::byte{0xAB}),
                             hello_status::not_a_hello);
    }
    SUBCASE("a data frame before any hello") {
        expect_hello_refused(make_frame(1, 100), hello_status::not_a_hello);
    }
    SUBCASE("from a node that is not in the table") {
        expect_hello_refused(hello_from(7), hello_status::unknown_node);
    }
    SUBCASE("claiming to be the receiver itself") {
        expect_hello_refused(hello_from(0), hello_status::unknown_node);
    }
    SUBCASE("of another cluster") {
        expect_hello_refused(hello_from(2, 0, paxos::wire::cluster_id{99}),
                             hello_status::wrong_cluster);
    }
    SUBCASE("addressed to another node") {
        expect_hello_refused(hello_from(2, 1), hello_status::wrong_destination);
    }
    SUBCASE("corrupted") {
        std::vector<std::byte> h = hello_from(2);
        h.back() ^= std::byte{0x10};
        expect_hello_refused(h, hello_status::bad_checksum);
    }
    SUBCASE("cut short by the close") {
        std::vector<std::byte> h = hello_from(2);
        h.resize(10);
        expect_hello_refused(h, hello_status::incomplete, true);
    }
}

TEST_CASE("bad peers: a valid hello, then frames are delivered as from that node") {
    mesh m(2, fast_options(), 1);
    REQUIRE(m.pump([&] { return both_connected(m); }));
    raw_peer raw(m.port(0));
    raw.send(concat(concat(hello_from(2), make_frame(5, 40)), make_frame(6, 4000)));
    REQUIRE(m.pump([&] { return m.inboxes[0].count_from(2) == 2; }));
    CHECK(m.inboxes[0].seqs_from(2) == std::vector<std::uint32_t>{5, 6});
    CHECK(m.node(0).stats().hellos_accepted == 2);

    // The same id on a new connection replaces the old one, which is closed:
    // a peer keeps one connection, so the older one is dead.
    raw_peer again(m.port(0));
    again.send(concat(hello_from(2), make_frame(7, 40)));
    REQUIRE(m.pump([&] { return m.inboxes[0].count_from(2) == 3; }));
    CHECK(m.pump([&] { return raw.closed_by_peer(); }));
    check_good_link_unaffected(m);
}

TEST_CASE("bad peers: after the hello, a bad frame closes that connection only") {
    mesh m(2, fast_options(), 1);
    REQUIRE(m.pump([&] { return both_connected(m); }));
    raw_peer raw(m.port(0));
    std::vector<std::byte> after;
    std::uint64_t paxos::net::transport_stats::*counter = &paxos::net::transport_stats::frames_bad;
    std::uint64_t expected = 1;

    SUBCASE("garbage") { after = std::vector<std::byte>(100, std::byte{0x5A}); }
    SUBCASE("a length far over frame_bytes_max, with no body behind it") {
        // Judged on the header alone: the transport must not wait for 1 GiB.
        after = make_frame(1, 64);
        after.resize(paxos::wire::header_size);
        paxos::wire::writer w{std::span<std::byte>(after).subspan(paxos::wire::length_offset, 4)};
        w.put_u32(1u << 30);
    }
    SUBCASE("a length one byte over frame_bytes_max") {
        after = make_frame(1, 64);
        after.resize(paxos::wire::header_size);
        paxos::wire::writer w{std::span<std::byte>(after).subspan(paxos::wire::length_offset, 4)};
        w.put_u32(static_cast<std::uint32_t>(fast_options().frame_bytes_max -
                                             paxos::wire::header_size + 1));
    }
    SUBCASE("a frame of another format version, after a good one") {
        after = make_frame(1, 64);
        std::vector<std::byte> old = make_frame(2, 64);
        old[paxos::wire::version_offset] = std::byte{1};
        after = concat(after, old);
    }
    SUBCASE("a truncated frame, then the close") {
        after = make_frame(1, 100);
        after.resize(50);
        counter = &paxos::net::transport_stats::frames_truncated;
    }
    raw.send(concat(hello_from(2), after));
    if (counter == &paxos::net::transport_stats::frames_truncated) raw.close();
    REQUIRE(m.pump([&] { return m.node(0).stats().*counter == expected; }));
    if (counter != &paxos::net::transport_stats::frames_truncated) {
        CHECK(m.pump([&] { return raw.closed_by_peer(); }));
    }
    CHECK(m.node(0).stats().hellos_accepted == 2);
    CHECK(m.inboxes[0].broken == 0);  // nothing bad was delivered
    check_good_link_unaffected(m);
}

TEST_CASE("bad peers: a connection that says nothing is closed after hello_timeout_ms") {
    transport_options o = fast_options();
    o.hello_timeout_ms = 150;
    mesh m(2, o, 1);
    REQUIRE(m.pump([&] { return both_connected(m); }));
    const auto start = std::chrono::steady_clock::now();
    raw_peer raw(m.port(0));
    REQUIRE(m.pump([&] { return m.node(0).stats().hellos_refused == 1; }));
    CHECK(std::chrono::steady_clock::now() - start >= 150ms);
    CHECK(m.node(0).stats().last_hello_refusal == hello_status::timed_out);
    CHECK(m.pump([&] { return raw.closed_by_peer(); }));
    check_good_link_unaffected(m);
}

TEST_CASE("bad peers: more connections than inbound slots are refused at once") {
    transport_options o = fast_options();
    o.inbound_connections_max = 3;  // node 1's connection takes one
    mesh m(2, o, 1);
    REQUIRE(m.pump([&] { return both_connected(m); }));
    std::vector<std::unique_ptr<raw_peer>> raws;
    for (int i = 0; i < 4; ++i) raws.push_back(std::make_unique<raw_peer>(m.port(0)));
    REQUIRE(m.pump([&] { return m.node(0).stats().inbound_refused == 2; }));
    CHECK(m.node(0).stats().accepts == 3);
    check_good_link_unaffected(m);
}
