// The driver with real sockets on 127.0.0.1, three drivers on three threads
// (each its own loop) or in one plain epoll loop: commit through the log,
// catch-up from the log after a node missed more than a window, hostile
// peers and clients, session eviction, fail-stop on a storage error, and a
// refused restore.
#include <doctest/doctest.h>

#include <array>
#include <string>

#include <sys/epoll.h>

#include "node_support.hpp"

#include <paxos/storage/memory_store.hpp>

namespace {

using namespace node_test;
using wal = paxos::storage::posix_wal<config>;
using counter = test_counter<64>;
using client = paxos::node::client<command>;
using paxos::node::answer_status;

// Sends `bytes` on a fresh connection to 127.0.0.1:port; returns the socket.
int raw_connect(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    const auto a = paxos::net::peer_address::loopback(port);
    REQUIRE(::connect(fd, a.socket_address(), a.size()) == 0);
    return fd;
}
void raw_send(int fd, std::span<const std::byte> bytes) {
    REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
}

// Adds 1 `count` times; each reply must be the running total.
void add_ones(client& c, int count, std::int64_t& total) {
    for (int k = 0; k < count; ++k) {
        const auto r = add(c, 1);
        // executed, or duplicate: a retry of a command that was chosen after all
        REQUIRE_MESSAGE(r.answered(), paxos::node::to_string(r.status));
        ++total;
        REQUIRE(value_of(r) == total);
    }
}

std::size_t other_than(std::size_t a, std::size_t b = 99) {
    for (std::size_t i = 0; i < 3; ++i)
        if (i != a && i != b) return i;
    return 0;
}

TEST_CASE(
    "node: three drivers commit over TCP and the POSIX log, and a node that missed more than "
    "a window catches up from the log") {
    std::array<temp_dir, 3> dirs;
    thread_cluster<wal, counter> cluster(
        [&](std::size_t i) { return std::make_unique<wal>(dirs[i].path + "/wal"); });
    cluster.start_all();
    client c(cluster.client_options(11));
    register_or_fail(c, 1001);
    std::int64_t total = 0;
    add_ones(c, 10, total);
    const std::size_t leader = c.session().target().value;
    const std::size_t lagging = other_than(leader);
    const std::size_t other = other_than(leader, lagging);
    cluster.stop(lagging);
    cluster.discard(lagging);
    add_ones(c, 100, total);  // more than the window of 64 slots
    cluster.start(lagging);   // recovers its 11 slots from its log
    // With the third node down, nothing commits unless the restarted node
    // accepts, and it can only accept once it has caught up past the window.
    cluster.stop(other);
    add_ones(c, 10, total);
    cluster.stop_all_settled();
    CHECK(cluster.machine(lagging).value == total);
    CHECK(cluster.machine(leader).value == total);
    CHECK(cluster.driver(leader).stats().catch_up_slots_served > 0);
    CHECK(cluster.driver(lagging).stats().frames_undecodable == 0);
}

TEST_CASE(
    "node: snapshots compact the log, a restart loads the newest one, and a peer behind "
    "the compaction point installs the leader's snapshot while it runs") {
    std::array<temp_dir, 3> dirs;
    using snapshots = paxos::storage::snapshot_store<>;
    thread_cluster<wal, counter> cluster(
        [&](std::size_t i) { return std::make_unique<wal>(dirs[i].path + "/wal"); }, 5,
        [&](std::size_t i) { return std::make_unique<snapshots>(dirs[i].path + "/snap"); });
    paxos::node::driver_options<config> opt;
    opt.snapshot_every_slots = 8;
    for (std::size_t i = 0; i < 3; ++i) cluster.start(i, opt);
    client c(cluster.client_options(14));
    register_or_fail(c, 1004);
    std::int64_t total = 0;
    add_ones(c, 10, total);
    const std::size_t leader = c.session().target().value;
    const std::size_t lagging = other_than(leader);
    cluster.stop(lagging);
    cluster.discard(lagging);
    add_ones(c, 100, total);      // past the window, and the log compacted past slot 11
    cluster.start(lagging, opt);  // recovers from its own snapshot of slot 8 and its log
    add_ones(c, 10, total);       // and the cluster keeps committing meanwhile
    std::this_thread::sleep_for(std::chrono::seconds(2));
    cluster.stop_all_settled();
    CHECK(cluster.driver(leader).stats().snapshots_taken >= 10);
    CHECK(cluster.machine(leader).value == total);
    // The lagging node was sent the leader's snapshot (its log no longer
    // held the slots), installed it without a restart, and caught up from
    // the log after it: it holds every increment.
    CHECK(cluster.driver(leader).stats().snapshot_chunks_sent >= 1);
    CHECK(cluster.driver(lagging).stats().snapshots_installed >= 1);
    CHECK(cluster.machine(lagging).value == total);
    CHECK(cluster.driver(lagging).stats().frames_undecodable == 0);
    // A restart of the node that installed loads what it received.
    cluster.discard(lagging);
    cluster.start(lagging, opt);
    cluster.stop(lagging);
    CHECK(cluster.machine(lagging).value == total);
    // A restart of a node that kept up loads its newest snapshot.
    cluster.discard(leader);
    cluster.start(leader, opt);
    cluster.stop(leader);
    CHECK(cluster.machine(leader).value == total);
}

TEST_CASE(
    "node: corrupt, truncated, oversized and misattributed frames and silent peers are "
    "dropped while the cluster keeps committing") {
    std::array<temp_dir, 3> dirs;
    thread_cluster<wal, counter> cluster(
        [&](std::size_t i) { return std::make_unique<wal>(dirs[i].path + "/wal"); });
    cluster.start_all();
    client c(cluster.client_options(12));
    register_or_fail(c, 1002);
    std::int64_t total = 0;
    add_ones(c, 5, total);

    const std::uint16_t port = cluster.peer_port(0);
    const int silent = raw_connect(port);  // says nothing: the hello timeout closes it
    const int garbage = raw_connect(port);
    std::array<std::byte, 64> junk{};
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = std::byte(i * 7 + 1);
    raw_send(garbage, junk);
    add_ones(c, 5, total);

    // A well-formed message from node 2, sent on a connection that said it is node 1.
    using buffer = paxos::replica<config>::message_buffer;
    buffer m{};
    m.kind = paxos::message_kind::learn_request;
    m.from = node_id{2};
    m.to = node_id{0};
    paxos::wire::buffer_for<buffer> frame{};
    const auto enc = paxos::wire::encode(m, frame, test_cluster);
    REQUIRE(enc.ok());
    const auto hello = paxos::net::encode_hello(test_cluster, {node_id{1}, node_id{0}});
    auto hostile = [&](auto&& payload) {
        const int fd = raw_connect(port);
        raw_send(fd, hello);
        payload(fd);
        add_ones(c, 3, total);
        ::close(fd);
    };
    hostile([&](int fd) { raw_send(fd, std::span(frame).first(enc.size)); });  // misattributed
    hostile([&](int fd) {  // corrupt: one bit flipped in the body, the CRC no longer holds
        auto bad = frame;
        bad[enc.size - 1] ^= std::byte{0x10};
        raw_send(fd, std::span(bad).first(enc.size));
    });
    hostile([&](int fd) {  // oversized: a header announcing 16 MiB
        auto big = frame;
        paxos::wire::writer w{std::span<std::byte>(big).subspan(paxos::wire::length_offset, 4)};
        w.put_u32(16u << 20);
        raw_send(fd, std::span(big).first(paxos::wire::header_size));
    });
    {  // truncated: the hello and part of a frame in one write, then the end of the stream
        // (at once: the real node 1 reconnecting would replace this connection first)
        std::array<std::byte, paxos::net::hello_size + sizeof frame> cut{};
        std::memcpy(cut.data(), hello.data(), hello.size());
        std::memcpy(cut.data() + hello.size(), frame.data(), enc.size - 3);
        const int fd = raw_connect(port);
        raw_send(fd, std::span(cut).first(hello.size() + enc.size - 3));
        ::close(fd);
        add_ones(c, 3, total);
    }
    std::this_thread::sleep_for(400ms);  // past the hello timeout of 300 ms
    add_ones(c, 5, total);
    ::close(silent);
    ::close(garbage);
    cluster.stop_all_settled();

    const auto& d = cluster.driver(0).stats();
    const auto& t = cluster.transport(0).stats();
    CHECK(d.frames_misattributed >= 1);
    CHECK(d.frames_undecodable >= 1);
    CHECK(t.frames_bad >= 1);
    CHECK(t.frames_truncated >= 1);
    CHECK(t.hellos_refused >= 2);  // the garbage and the silent one
    for (std::size_t i = 0; i < 3; ++i) CHECK(cluster.machine(i).value == total);
}

TEST_CASE(
    "node: a malformed client request is answered `malformed` and its connection closed, and "
    "other clients go on") {
    std::array<temp_dir, 3> dirs;
    thread_cluster<wal, counter> cluster(
        [&](std::size_t i) { return std::make_unique<wal>(dirs[i].path + "/wal"); });
    cluster.start_all();
    client c(cluster.client_options(13));
    register_or_fail(c, 1003);
    std::int64_t total = 0;
    add_ones(c, 3, total);
    const auto port = cluster.client_options(0).nodes[0].port();
    for (const std::uint32_t length : {0xFFFF'FFFFu, 5u}) {  // too long; too short for a command
        const int fd = raw_connect(port);
        std::array<std::byte, 9> request{};
        paxos::wire::writer w(request);
        w.put_u32(length);
        raw_send(fd, std::span(request).first(length == 5 ? 9 : 4));
        std::array<std::byte, 64> in{};
        std::size_t got = 0;
        for (ssize_t n = 1; n > 0 && got < in.size(); got += static_cast<std::size_t>(n))
            n = ::recv(fd, in.data() + got, in.size() - got, 0);
        REQUIRE(got >= paxos::node::length_prefix_bytes + paxos::node::reply_header_bytes);
        paxos::node::reply_view r;
        REQUIRE(paxos::node::read_reply(std::span(in).subspan(4, got - 4), r));
        CHECK(r.status == answer_status::malformed);  // then the node closed: recv gave 0
        ::close(fd);
    }
    add_ones(c, 3, total);
    cluster.stop_all_settled();
    CHECK(cluster.driver(0).client_stats().requests_malformed == 2);
}

TEST_CASE(
    "node: a client whose session was evicted gets session_evicted, never a second "
    "execution") {
    std::array<temp_dir, 3> dirs;
    thread_cluster<wal, test_counter<2>> cluster(
        [&](std::size_t i) { return std::make_unique<wal>(dirs[i].path + "/wal"); });
    cluster.start_all();
    client a(cluster.client_options(21));
    client b(cluster.client_options(22));
    client z(cluster.client_options(23));
    register_or_fail(a, 2001);
    REQUIRE(add(a, 1).answered());
    register_or_fail(b, 2002);
    REQUIRE(add(b, 1).answered());
    register_or_fail(z, 2003);  // the table holds 2: a, committed least recently, goes
    const auto evicted = add(a, 1);
    CHECK(evicted.status == answer_status::session_evicted);
    CHECK_FALSE(a.session().registered());  // the helper dropped the session
    const auto still = add(b, 1);
    REQUIRE(still.answered());
    CHECK(value_of(still) == 3);  // a's third command was not executed
    cluster.stop_all_settled();
    for (std::size_t i = 0; i < 3; ++i) CHECK(cluster.machine(i).value == 3);
}

// A memory store that fails every persist() after `budget` of them.
struct failing_store {
    paxos::storage::memory_store<config> inner;
    std::atomic<int> budget{-1};  // -1: never fail
    paxos::storage::status persist(const paxos::replica<config>::ready_type& rd) {
        if (budget.load() == 0) return paxos::storage::status::io_error;
        if (budget.load() > 0) --budget;
        return inner.persist(rd);
    }
    paxos::storage::status snapshot(slot_id s) { return inner.snapshot(s); }
    template <class V>
    paxos::storage::status recover(V& v) {
        return inner.recover(v);
    }
};

TEST_CASE(
    "node: a storage error stops the driver (fail-stop, with the reason) while the others go on") {
    thread_cluster<failing_store, counter> cluster(
        [](std::size_t) { return std::make_unique<failing_store>(); });
    cluster.start_all();
    client c(cluster.client_options(31));
    register_or_fail(c, 3001);
    std::int64_t total = 0;
    add_ones(c, 5, total);
    const std::size_t leader = c.session().target().value;
    cluster.store(leader).budget.store(0);                          // its next persist fails
    add_ones(c, 10, total);                                         // a new leader takes over
    REQUIRE(wait_until([&] { return cluster.finished(leader); }));  // by itself
    cluster.stop(leader);
    const auto& d = cluster.driver(leader);
    CHECK(d.error().what.find("persist") != std::string::npos);
    CHECK(d.error().what.find("I/O error") != std::string::npos);
    CHECK(d.stats().ready_batches >= 1);
    const std::size_t f = other_than(leader);
    cluster.stop_all_settled();
    CHECK(cluster.machine(f).value == total);
    CHECK(cluster.machine(leader).value < total);  // it applied nothing after the failure
}

// A store whose recovery hands back a vote with a zero ballot.
struct untrustworthy_store {
    paxos::storage::status persist(const paxos::replica<config>::ready_type&) {
        return paxos::storage::status::ok;
    }
    paxos::storage::status snapshot(slot_id) { return paxos::storage::status::ok; }
    template <class V>
    paxos::storage::status recover(V& v) {
        const std::array<command, 1> values{};
        v.on_vote(slot_id{0}, config::ballot{}, values);
        return paxos::storage::status::ok;
    }
};

TEST_CASE("node: a refused restore() stops start() with the reason, before anything runs") {
    listener peer;
    paxos::net::address_table table(config::max_nodes);
    REQUIRE(table.add(node_id{0}, peer.address()) == paxos::net::add_status::ok);
    REQUIRE(table.add(node_id{1}, paxos::net::peer_address::loopback(1)) ==
            paxos::net::add_status::ok);
    paxos::net::tcp_transport net(node_id{0}, table, transport_options_for_tests());
    untrustworthy_store store;
    auto machine = std::make_unique<counter>();
    paxos::node::driver_options<config> opt;
    opt.cluster = test_cluster;
    auto d = std::make_unique<
        paxos::node::driver<config, untrustworthy_store, paxos::net::tcp_transport, counter>>(
        opt, store, net, *machine);
    const auto e = d->start();
    CHECK(e.what.find("restore refused") != std::string::npos);
    CHECK(d->stopped());
    CHECK_FALSE(d->poll(0));
}

// The embedded mode: three drivers in the test's own epoll loop, one thread,
// proposals through submit() and answers through the hook, and reads
// through read() and the read hook.
TEST_CASE(
    "node: three drivers embedded in one plain epoll loop, with reads through the read index") {
    using store = paxos::storage::memory_store<config>;
    using driver_type = paxos::node::driver<config, store, paxos::net::tcp_transport, counter>;
    std::array<listener, 3> ports;
    paxos::net::address_table table(config::max_nodes);
    for (std::uint16_t i = 0; i < 3; ++i)
        REQUIRE(table.add(node_id{i}, ports[i].address()) == paxos::net::add_status::ok);
    std::array<store, 3> stores;
    std::array<std::unique_ptr<counter>, 3> machines;
    std::array<std::unique_ptr<paxos::net::tcp_transport>, 3> nets;
    std::array<std::unique_ptr<driver_type>, 3> nodes;
    struct answers {
        std::uint64_t count = 0;
        std::uint64_t client = 0;
        std::uint64_t not_executed = 0;  // not_chosen or timed_out
    } got;
    // Reads (driver::read): what each node's read hook saw, with the value
    // its state machine held at that moment.
    struct read_seen {
        std::uint64_t cookie = 0;
        bool ready = false;
        std::int64_t value = 0;
    };
    struct reads_of {
        counter* machine = nullptr;
        std::vector<read_seen> seen;
    };
    std::array<reads_of, 3> reads;
    const int epfd = ::epoll_create1(EPOLL_CLOEXEC);
    REQUIRE(epfd >= 0);
    for (std::uint16_t i = 0; i < 3; ++i) {
        machines[i] = std::make_unique<counter>();
        nets[i] = std::make_unique<paxos::net::tcp_transport>(node_id{i}, table,
                                                              transport_options_for_tests());
        REQUIRE(nets[i]->start(ports[i].dup()).ok());
        paxos::node::driver_options<config> opt;
        opt.self = node_id{i};
        opt.cluster = test_cluster;
        opt.tick_ms = 5;
        nodes[i] = std::make_unique<driver_type>(opt, stores[i], *nets[i], *machines[i]);
        REQUIRE(nodes[i]->start().ok());
        nodes[i]->set_answer_hook(&got, [](void* ctx, std::uint64_t cookie, answer_status s,
                                           std::span<const std::byte> reply) {
            auto& a = *static_cast<answers*>(ctx);
            if (s == answer_status::not_chosen || s == answer_status::timed_out) ++a.not_executed;
            if (s != answer_status::executed) return;
            ++a.count;
            if (cookie == 0) std::memcpy(&a.client, reply.data(), 8);
        });
        reads[i].machine = machines[i].get();
        nodes[i]->set_read_hook(&reads[i], [](void* ctx, std::uint64_t cookie, bool ready) {
            auto& r = *static_cast<reads_of*>(ctx);
            r.seen.push_back({cookie, ready, r.machine->value});
        });
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = i;
        REQUIRE(::epoll_ctl(epfd, EPOLL_CTL_ADD, nodes[i]->epoll_fd(), &ev) == 0);
    }
    // The user's loop: wait for the earliest deadline, then give each node a step.
    auto loop_until = [&](auto&& done) {
        const auto until = std::chrono::steady_clock::now() + 10s;
        while (!done() && std::chrono::steady_clock::now() < until) {
            int wait = 50;
            for (auto& n : nodes) wait = std::min(wait, n->next_timeout_ms());
            std::array<epoll_event, 3> events{};
            (void)::epoll_wait(epfd, events.data(), 3, wait);
            for (auto& n : nodes) REQUIRE(n->poll(0));
        }
        return done();
    };
    std::size_t leader = 3;
    REQUIRE(loop_until([&] {
        for (std::size_t i = 0; i < 3; ++i)
            if (nodes[i]->is_leader()) leader = i;
        return leader < 3;
    }));
    REQUIRE(nodes[leader]->submit(registration({paxos::sm::client_id{77}, 0}), 0) ==
            paxos::node::submit_status::taken);  // the answer comes through the hook
    REQUIRE(loop_until([&] { return got.count == 1; }));
    for (std::uint64_t seq = 1; seq <= 50; ++seq) {
        const command c{got.client, seq, 1, 0};
        REQUIRE(nodes[leader]->submit(c, seq) == paxos::node::submit_status::taken);
    }
    const std::size_t follower = other_than(leader);
    CHECK(nodes[follower]->submit(command{got.client, 51, 1, 0}, 51) ==
          paxos::node::submit_status::not_leader);
    REQUIRE(loop_until([&] { return got.count == 51; }));
    REQUIRE(loop_until([&] {
        return machines[0]->value == 50 && machines[1]->value == 50 && machines[2]->value == 50;
    }));

    // A read at the leader comes back once through the hook, safe, with
    // every acknowledged command applied; no command was proposed for it.
    const std::uint64_t slots_before = nodes[leader]->stats().proposals;
    REQUIRE(nodes[leader]->read(900) == paxos::node::submit_status::taken);
    CHECK(reads[leader].seen.empty());  // the hook runs in poll(), never in read()
    REQUIRE(loop_until([&] { return !reads[leader].seen.empty(); }));
    CHECK(reads[leader].seen.size() == 1);
    CHECK(reads[leader].seen[0].cookie == 900);
    CHECK(reads[leader].seen[0].ready);
    CHECK(reads[leader].seen[0].value == 50);
    CHECK(nodes[leader]->stats().proposals == slots_before);
    CHECK(nodes[leader]->stats().reads_served == 1);
    CHECK(nodes[other_than(leader)]->read(901) == paxos::node::submit_status::not_leader);

    // The leader pauses (its loop step is skipped) and the others elect a new
    // one. A command the old leader takes meanwhile loses its slot to the new
    // leader's, and is answered as soon as the old leader learns so, through
    // the proposal tag the replica hands back (not after the answer timeout).
    const std::size_t old = leader;
    std::size_t fresh = 3;
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (fresh == 3 && std::chrono::steady_clock::now() < until) {
        int wait = 50;
        for (std::size_t i = 0; i < 3; ++i)
            if (i != old) wait = std::min(wait, nodes[i]->next_timeout_ms());
        std::array<epoll_event, 3> events{};
        (void)::epoll_wait(epfd, events.data(), 3, wait);
        for (std::size_t i = 0; i < 3; ++i) {
            if (i == old) continue;
            REQUIRE(nodes[i]->poll(0));
            if (nodes[i]->is_leader()) fresh = i;
        }
    }
    REQUIRE(fresh < 3);
    REQUIRE(nodes[old]->is_leader());  // it has heard nothing yet
    // A read the deposed leader takes now is never served: its round cannot
    // be answered in its ballot, and it is handed back once it learns of
    // the new one (Jepsen's etcd 0.4 stale read, on real sockets).
    REQUIRE(nodes[old]->read(902) == paxos::node::submit_status::taken);
    REQUIRE(nodes[old]->submit(command{got.client, 52, 1, 0}, 52) ==
            paxos::node::submit_status::taken);
    REQUIRE(nodes[fresh]->submit(command{got.client, 53, 1, 0}, 53) ==
            paxos::node::submit_status::taken);
    REQUIRE(loop_until([&] { return nodes[old]->stats().answers_dropped >= 1; }));
    CHECK(got.not_executed >= 1);
    CHECK(nodes[old]->stats().answers_timed_out == 0);
    REQUIRE(loop_until([&] { return got.count == 52; }));  // the new leader's command ran
    REQUIRE(loop_until([&] { return reads[old].seen.size() == 2; }));
    CHECK(reads[old].seen[1].cookie == 902);
    CHECK_FALSE(reads[old].seen[1].ready);
    CHECK(nodes[old]->stats().reads_dropped == 1);
    // At the new leader a read sees the new leader's command.
    REQUIRE(nodes[fresh]->read(903) == paxos::node::submit_status::taken);
    REQUIRE(loop_until([&] { return !reads[fresh].seen.empty(); }));
    CHECK(reads[fresh].seen.back().cookie == 903);
    CHECK(reads[fresh].seen.back().ready);
    CHECK(reads[fresh].seen.back().value == 51);  // 50, then 53; 52 lost its slot
    ::close(epfd);
}

}  // namespace
