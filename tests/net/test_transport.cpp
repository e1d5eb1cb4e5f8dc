// The TCP transport between real transports on 127.0.0.1: frames both ways
// between two and three nodes, frames larger than one read or write, a peer
// that goes away and comes back, the drop policy, send()'s refusals and
// driving the transport from an outside epoll loop.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/epoll.h>
#include <unistd.h>

#include "net_support.hpp"

using namespace net_test;
using paxos::net::send_result;

namespace {

node_id id(std::size_t i) { return node_id{static_cast<std::uint16_t>(i)}; }

std::vector<std::uint32_t> iota_seqs(std::uint32_t from, std::uint32_t count) {
    std::vector<std::uint32_t> v;
    for (std::uint32_t i = 0; i < count; ++i) v.push_back(from + i);
    return v;
}

}  // namespace

TEST_CASE("transport: two nodes exchange frames both ways, queued while connecting") {
    mesh m(2);
    // Sent right after start(): the connections are still being made, and
    // frames queue behind the hello.
    constexpr std::uint32_t count = 200;
    for (std::uint32_t s = 0; s < count; ++s) {
        const std::size_t size = 24 + (s * 37) % 2000;
        REQUIRE(m.node(0).send(id(1), make_frame(s, size)) == send_result::queued);
        REQUIRE(m.node(1).send(id(0), make_frame(1000 + s, size)) == send_result::queued);
    }
    REQUIRE(m.pump([&] {
        return m.inboxes[0].frames.size() == count && m.inboxes[1].frames.size() == count;
    }));
    CHECK(m.inboxes[1].seqs_from(0) == iota_seqs(0, count));
    CHECK(m.inboxes[0].seqs_from(1) == iota_seqs(1000, count));
    CHECK(m.inboxes[0].broken == 0);
    CHECK(m.inboxes[1].broken == 0);
    for (std::size_t i = 0; i < 2; ++i) {
        const auto& st = m.node(i).stats();
        CHECK(st.frames_queued == count);
        CHECK(st.frames_sent == count);
        CHECK(st.frames_received == count);
        CHECK(st.bytes_sent == m.node(1 - i).stats().bytes_received);
        CHECK(st.dropped_queue_full == 0);
        CHECK(st.dropped_peer_down == 0);
        CHECK(st.frames_bad == 0);
        CHECK(st.connects == 1);
        CHECK(st.reconnects == 0);
        CHECK(st.accepts == 1);
        CHECK(st.hellos_accepted == 1);
        CHECK(st.hellos_refused == 0);
        CHECK(m.node(i).queued_bytes(id(1 - i)) == 0);
    }
}

TEST_CASE("transport: three nodes, every pair both ways, in order per sender") {
    mesh m(3);
    REQUIRE(m.pump([&] { return m.all_connected(); }));
    constexpr std::uint32_t count = 100;
    for (std::uint32_t s = 0; s < count; ++s) {
        for (std::size_t from = 0; from < 3; ++from) {
            for (std::size_t to = 0; to < 3; ++to) {
                if (from == to) continue;
                const auto seq = static_cast<std::uint32_t>(from * 10'000 + to * 1000 + s);
                REQUIRE(m.node(from).send(id(to), make_frame(seq, 100)) == send_result::queued);
            }
        }
    }
    REQUIRE(m.pump([&] {
        for (const inbox& in : m.inboxes) {
            if (in.frames.size() != 2 * count) return false;
        }
        return true;
    }));
    for (std::size_t to = 0; to < 3; ++to) {
        for (std::size_t from = 0; from < 3; ++from) {
            if (from == to) continue;
            CHECK(m.inboxes[to].seqs_from(static_cast<std::uint16_t>(from)) ==
                  iota_seqs(static_cast<std::uint32_t>(from * 10'000 + to * 1000), count));
        }
        CHECK(m.inboxes[to].broken == 0);
        CHECK(m.node(to).stats().frames_sent == 2 * count);
    }
}

TEST_CASE("transport: frames larger than one read and one write arrive whole") {
    transport_options o = fast_options();
    o.frame_bytes_max = 1 << 20;
    o.receive_buffer_bytes = 1 << 20;  // exactly one frame: forces compaction
    o.send_queue_bytes = 4 << 20;
    mesh m(2, o);
    REQUIRE(m.pump([&] { return m.all_connected(); }));
    const std::size_t sizes[] = {900'000, 1 << 20, 333'333, 24, 700'001};
    for (std::uint32_t s = 0; s < 5; ++s) {
        REQUIRE(m.node(0).send(id(1), make_frame(s, sizes[s])) == send_result::queued);
        REQUIRE(m.node(1).send(id(0), make_frame(100 + s, sizes[4 - s])) == send_result::queued);
    }
    REQUIRE(
        m.pump([&] { return m.inboxes[0].frames.size() == 5 && m.inboxes[1].frames.size() == 5; }));
    for (std::uint32_t s = 0; s < 5; ++s) {
        CHECK(m.inboxes[1].frames[s].seq == s);
        CHECK(m.inboxes[1].frames[s].size == sizes[s]);
        CHECK(m.inboxes[0].frames[s].seq == 100 + s);
        CHECK(m.inboxes[0].frames[s].size == sizes[4 - s]);
    }
    CHECK(m.inboxes[0].broken + m.inboxes[1].broken == 0);
    // A frame over frame_bytes_max is refused by send(), not cut.
    CHECK(m.node(0).send(id(1), make_frame(9, (1 << 20) + 1)) == send_result::bad_frame);
}

TEST_CASE("transport: a peer that closes and comes back: backoff, reconnect, frames flow") {
    mesh m(2);
    REQUIRE(m.pump([&] { return m.all_connected(); }));
    REQUIRE(m.node(0).send(id(1), make_frame(1, 64)) == send_result::queued);
    REQUIRE(m.pump([&] { return m.inboxes[1].frames.size() == 1; }));

    // Node 1 goes away: node 0 sees its connection close.
    const std::uint16_t port1 = m.port(1);
    m.nodes[1].reset();
    REQUIRE(m.pump([&] { return m.node(0).stats().connections_lost == 1; }));
    CHECK_FALSE(m.node(0).connected(id(1)));

    // While it is down, attempts fail and back off: 10, 20, 40, 80, 80... ms.
    // A tight retry loop would make hundreds of attempts in this time. There
    // is always a deadline to wake up for: the next attempt or its timeout.
    const auto down_since = std::chrono::steady_clock::now();
    std::size_t dropped = 0;
    while (std::chrono::steady_clock::now() - down_since < 300ms) {
        if (m.node(0).send(id(1), make_frame(2, 64)) == send_result::dropped_peer_down) ++dropped;
        m.poll_all(5);
        CHECK(m.node(0).next_deadline() != tcp_transport::clock::time_point::max());
    }
    const auto& st0 = m.node(0).stats();
    CHECK(st0.connect_failures >= 3);
    CHECK(st0.connect_failures <= 8);
    CHECK(dropped > 0);
    CHECK(st0.dropped_peer_down >= dropped);

    // Node 1 comes back on the same port. A connect attempt of node 0 may
    // hold the port for a moment (a self-connection when it drew that very
    // port): retry the bind briefly.
    m.nodes[1] = std::make_unique<tcp_transport>(id(1), m.table, m.options);
    paxos::net::net_error e = m.nodes[1]->start();
    for (int tries = 0; !e.ok() && e.error == EADDRINUSE && tries < 50; ++tries) {
        m.poll_all(10);
        e = m.nodes[1]->start();
    }
    REQUIRE(e.ok());
    CHECK(m.nodes[1]->local_port() == port1);
    REQUIRE(m.pump([&] { return m.all_connected(); }));
    CHECK(m.node(0).stats().reconnects == 1);
    CHECK(m.node(0).stats().connects == 2);

    m.inboxes[0].frames.clear();
    m.inboxes[1].frames.clear();
    for (std::uint32_t s = 0; s < 20; ++s) {
        REQUIRE(m.node(0).send(id(1), make_frame(100 + s, 500)) == send_result::queued);
        REQUIRE(m.node(1).send(id(0), make_frame(200 + s, 500)) == send_result::queued);
    }
    REQUIRE(m.pump(
        [&] { return m.inboxes[0].frames.size() == 20 && m.inboxes[1].frames.size() == 20; }));
    CHECK(m.inboxes[1].seqs_from(0) == iota_seqs(100, 20));
    CHECK(m.inboxes[0].seqs_from(1) == iota_seqs(200, 20));
}

TEST_CASE("backoff: doubles from the minimum to the cap, and resets") {
    paxos::net::backoff b(10, 80, 0);
    std::vector<std::uint32_t> waits;
    for (int i = 0; i < 6; ++i) waits.push_back(b.next_ms());
    CHECK(waits == std::vector<std::uint32_t>{10, 20, 40, 80, 80, 80});
    b.reset();
    CHECK(b.next_ms() == 10);
    paxos::net::backoff one(7, 7, 0);
    CHECK(one.next_ms() == 7);
    CHECK(one.next_ms() == 7);
}

TEST_CASE("backoff: jitter stays in [wait/2, wait] and repeats for a seed") {
    paxos::net::backoff a(10, 80, 42);
    paxos::net::backoff same(10, 80, 42);
    paxos::net::backoff other(10, 80, 43);
    const std::uint32_t full[] = {10, 20, 40, 80, 80, 80, 80, 80, 80, 80};
    bool differs = false;
    for (const std::uint32_t w : full) {
        const std::uint32_t x = a.next_ms();
        CHECK(x >= w / 2);
        CHECK(x <= w);
        CHECK(same.next_ms() == x);
        differs = differs || other.next_ms() != x;
    }
    CHECK(differs);
}

TEST_CASE("transport: a connect that hangs fails after connect_timeout_ms") {
    // A listener with a full accept queue drops new SYNs, so a connect to
    // it neither completes nor fails by itself.
    // (With a backlog of 0, Linux queues one connection: the filler.)
    const bound_socket own = listen_ephemeral();
    const bound_socket full = listen_ephemeral();
    REQUIRE(::listen(full.fd, 0) == 0);
    raw_peer filler(full.port);
    paxos::net::address_table table(2);
    REQUIRE(table.add(id(0), paxos::net::peer_address::loopback(own.port)) ==
            paxos::net::add_status::ok);
    REQUIRE(table.add(id(1), paxos::net::peer_address::loopback(full.port)) ==
            paxos::net::add_status::ok);
    transport_options o = fast_options();
    o.connect_timeout_ms = 100;
    tcp_transport t(id(0), table, o);
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(t.start(own.fd).ok());
    inbox in;
    while (t.stats().connect_failures == 0 && std::chrono::steady_clock::now() - start < 2s) {
        (void)t.poll(50, in.callback());
    }
    CHECK(t.stats().connect_failures == 1);
    CHECK(std::chrono::steady_clock::now() - start >= 100ms);
    CHECK(t.stats().connects == 0);
    // Then the usual backoff, and the next attempt times out too.
    while (t.stats().connect_failures < 2 && std::chrono::steady_clock::now() - start < 2s) {
        (void)t.poll(50, in.callback());
    }
    CHECK(t.stats().connect_failures == 2);
    CHECK(t.stats().connect_attempts >= 2);
    CHECK(std::chrono::steady_clock::now() - start >= 210ms);
    t.close();
    ::close(full.fd);
}

TEST_CASE("transport: a full queue drops the frame whole and counts it") {
    transport_options o = fast_options();
    o.frame_bytes_max = 4096;
    o.send_queue_bytes = 8192;
    mesh m(2, o);
    REQUIRE(m.pump([&] { return m.all_connected(); }));

    // Nothing is written between these sends, so the ring fills: 8 frames of
    // 1000 bytes fit in 8192, the other 12 are dropped.
    std::size_t queued = 0;
    std::size_t dropped = 0;
    for (std::uint32_t s = 0; s < 20; ++s) {
        const send_result r = m.node(0).send(id(1), make_frame(s, 1000));
        queued += r == send_result::queued ? 1 : 0;
        dropped += r == send_result::dropped_queue_full ? 1 : 0;
    }
    CHECK(queued == 8);
    CHECK(dropped == 12);
    CHECK(m.node(0).stats().dropped_queue_full == 12);
    CHECK(m.node(0).queued_bytes(id(1)) == 8000);

    REQUIRE(m.pump([&] { return m.inboxes[1].frames.size() == 8; }));
    CHECK(m.inboxes[1].seqs_from(0) == iota_seqs(0, 8));
    // Room again once drained.
    REQUIRE(m.node(0).send(id(1), make_frame(20, 1000)) == send_result::queued);
    REQUIRE(m.pump([&] { return m.inboxes[1].frames.size() == 9; }));
    CHECK(m.inboxes[1].frames.back().seq == 20);
    CHECK(m.inboxes[1].broken == 0);
    CHECK(m.node(1).stats().frames_bad == 0);
    CHECK(m.node(1).stats().frames_truncated == 0);
}

TEST_CASE("transport: a receiver that stops reading: partial writes, drops, nothing cut") {
    transport_options o = fast_options();
    o.frame_bytes_max = 16 * 1024;
    o.send_queue_bytes = 256 * 1024;
    mesh m(2, o);
    REQUIRE(m.pump([&] { return m.all_connected(); }));

    // Only node 0 runs: the kernel's buffers fill, writes stop part-way
    // through frames, the ring fills, and later frames are dropped.
    std::vector<std::uint32_t> accepted;
    const auto start = std::chrono::steady_clock::now();
    for (std::uint32_t s = 0; s < 20'000; ++s) {
        if (m.node(0).stats().dropped_queue_full >= 50) break;
        if (std::chrono::steady_clock::now() - start > 5s) break;
        if (m.node(0).send(id(1), make_frame(s, 16 * 1024 - 7)) == send_result::queued) {
            accepted.push_back(s);
        }
        (void)m.node(0).poll(0, m.inboxes[0].callback());
    }
    REQUIRE(m.node(0).stats().dropped_queue_full >= 50);
    CHECK(m.node(0).queued_bytes(id(1)) > 0);

    // Node 1 reads again: exactly the frames that were queued arrive, whole
    // and in order.
    REQUIRE(m.pump([&] { return m.inboxes[1].frames.size() == accepted.size(); }, 10s));
    CHECK(m.inboxes[1].seqs_from(0) == accepted);
    CHECK(m.inboxes[1].broken == 0);
    CHECK(m.node(0).stats().frames_sent == accepted.size());
    CHECK(m.node(1).stats().frames_bad == 0);
}

TEST_CASE("transport: a lost connection discards what it had queued, never resumes a cut frame") {
    transport_options o = fast_options();
    o.frame_bytes_max = 64 * 1024;
    o.send_queue_bytes = 1 << 20;
    mesh m(2, o);
    REQUIRE(m.pump([&] { return m.all_connected(); }));
    for (std::uint32_t s = 0; s < 10; ++s) {
        REQUIRE(m.node(0).send(id(1), make_frame(s, 60'000)) == send_result::queued);
    }
    m.node(0).flush();  // some written, probably one of them part-way
    m.nodes[1].reset();
    REQUIRE(m.pump([&] { return m.node(0).stats().connections_lost == 1; }));
    const auto& st = m.node(0).stats();
    CHECK(st.frames_sent + st.dropped_peer_down == 10);
    CHECK(m.node(0).queued_bytes(id(1)) == 0);
}

TEST_CASE("transport: send() refuses what it cannot send, and counts it") {
    mesh m(2);
    tcp_transport& t = m.node(0);
    const std::vector<std::byte> f = make_frame(1, 100);
    CHECK(t.send(id(0), f) == send_result::not_a_peer);  // itself
    CHECK(t.send(id(5), f) == send_result::not_a_peer);  // not in the table
    CHECK(t.send(node_id::broadcast(), f) == send_result::not_a_peer);
    CHECK(t.send(id(1), std::span(f).first(20)) == send_result::bad_frame);  // cut
    std::vector<std::byte> longer = f;
    longer.push_back(std::byte{0});
    CHECK(t.send(id(1), longer) == send_result::bad_frame);  // more than one frame
    CHECK(t.send(id(1), std::span(f).first(10)) == send_result::bad_frame);
    const auto hello = paxos::net::encode_hello(test_cluster, {id(0), id(1)});
    CHECK(t.send(id(1), hello) == send_result::bad_frame);  // hellos are the transport's
    CHECK(t.send(id(1), make_frame(2, 70'000)) == send_result::bad_frame);  // over 64 KiB
    CHECK(t.stats().frames_refused == 8);
    CHECK(t.stats().frames_queued == 0);
    t.close();
    CHECK(t.send(id(1), f) == send_result::not_running);
    CHECK(t.epoll_fd() < 0);

    tcp_transport unstarted(id(0), m.table, m.options);
    CHECK(unstarted.send(id(1), f) == send_result::not_running);
    CHECK(unstarted.stats().frames_refused == 1);
}

TEST_CASE("transport: start() reports a port in use, and a socket that does not listen") {
    mesh m(1);
    paxos::net::address_table table(2);
    REQUIRE(table.add(id(0), paxos::net::peer_address::loopback(m.port(0))) ==
            paxos::net::add_status::ok);
    tcp_transport second(id(0), table, m.options);
    const paxos::net::net_error e = second.start();  // node 0 of the mesh holds the port
    CHECK_FALSE(e.ok());
    CHECK(std::string(e.call) == "bind");
    CHECK(e.error == EADDRINUSE);
    CHECK_FALSE(second.running());

    const bound_socket not_listening = reserve_port();
    tcp_transport third(id(0), table, m.options);
    const paxos::net::net_error e2 = third.start(not_listening.fd);  // closed by start
    CHECK(std::string(e2.call) == "listen");
    CHECK(e2.error == EINVAL);
}

TEST_CASE("transport: driven from an outside epoll loop with its fd and next deadline") {
    mesh m(2);
    const int loop = ::epoll_create1(EPOLL_CLOEXEC);
    REQUIRE(loop >= 0);
    for (std::size_t i = 0; i < 2; ++i) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = i;
        REQUIRE(::epoll_ctl(loop, EPOLL_CTL_ADD, m.node(i).epoll_fd(), &ev) == 0);
    }
    for (std::uint32_t s = 0; s < 50; ++s) {
        REQUIRE(m.node(0).send(id(1), make_frame(s, 200)) == send_result::queued);
        REQUIRE(m.node(1).send(id(0), make_frame(s, 200)) == send_result::queued);
    }
    const auto start = std::chrono::steady_clock::now();
    std::array<epoll_event, 4> ready{};
    while (m.inboxes[0].frames.size() + m.inboxes[1].frames.size() < 100 &&
           std::chrono::steady_clock::now() - start < 3s) {
        for (std::size_t i = 0; i < 2; ++i) m.node(i).flush();  // send() only queues
        int timeout = 50;
        for (std::size_t i = 0; i < 2; ++i) {
            const int t = m.node(i).next_timeout_ms();
            if (t >= 0 && t < timeout) timeout = t;
        }
        const int n = ::epoll_wait(loop, ready.data(), static_cast<int>(ready.size()), timeout);
        for (int k = 0; k < n; ++k) {
            const std::size_t i = ready[k].data.u64;
            (void)m.node(i).poll(0, m.inboxes[i].callback());
        }
        // Timers (reconnects) are due even without a readable fd.
        for (std::size_t i = 0; i < 2; ++i) {
            if (m.node(i).next_timeout_ms() == 0) (void)m.node(i).poll(0, m.inboxes[i].callback());
        }
    }
    ::close(loop);
    CHECK(m.inboxes[1].seqs_from(0) == iota_seqs(0, 50));
    CHECK(m.inboxes[0].seqs_from(1) == iota_seqs(0, 50));
}
