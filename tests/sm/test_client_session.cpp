// tests/sm/test_client_session.cpp: the client helper of paxos/sm/client_session.hpp,
// alone and against three replicas' session tables.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include <paxos/sm/client_session.hpp>
#include <paxos/sm/sessions.hpp>

namespace {

using paxos::node_id;
using paxos::slot_id;
using paxos::sm::begin_status;
using paxos::sm::client_id;
using paxos::sm::client_session;
using paxos::sm::decision;

paxos::sm::client_options options(std::uint64_t seed = 1) {
    return {.cluster_size = 3,
            .first_target = node_id{0},
            .retry_delay_ms_min = 10,
            .retry_delay_ms_max = 1000,
            .seed = seed};
}

}  // namespace

TEST_CASE("client session: numbers from 1, one command at a time, retries reuse the number") {
    client_session c(options());
    CHECK(c.begin() == begin_status::not_registered);
    c.on_registered(client_id{7});
    REQUIRE(c.begin() == begin_status::ok);
    CHECK(c.current() == paxos::sm::request_id{client_id{7}, 1});
    CHECK(c.begin() == begin_status::busy);
    // Timeouts and redirects change where it goes, never what it sends.
    (void)c.on_timeout();
    (void)c.on_not_leader(node_id{2});
    (void)c.on_not_leader(node_id::none());
    CHECK(c.current() == paxos::sm::request_id{client_id{7}, 1});
    c.on_reply(node_id{1});
    CHECK_FALSE(c.outstanding());
    REQUIRE(c.begin() == begin_status::ok);
    CHECK(c.current().seq == 2);
}

TEST_CASE("client session: a leader hint redirects at once, a stale one backs off") {
    client_session c(options());
    c.on_registered(client_id{1});
    REQUIRE(c.begin() == begin_status::ok);
    CHECK(c.target() == node_id{0});
    CHECK(c.on_not_leader(node_id{2}) == 0);  // redirected, no wait
    CHECK(c.target() == node_id{2});
    // Node 2 points back at 0, which was tried this round: wait, then rotate.
    const auto delay = c.on_not_leader(node_id{0});
    CHECK(delay >= 5);
    CHECK(delay <= 10);
    CHECK(c.target() == node_id{0});
    // No hint: back off and try the next node.
    CHECK(c.on_not_leader(node_id::none()) >= 10);
    CHECK(c.target() == node_id{1});
    // A reply makes the answering node the target and resets the backoff.
    c.on_reply(node_id{1});
    CHECK(c.rounds() == 0);
    CHECK(c.target() == node_id{1});
}

TEST_CASE("client session: capped exponential backoff with deterministic jitter") {
    client_session a(options(5));
    client_session b(options(5));
    client_session other(options(6));
    a.on_registered(client_id{1});
    REQUIRE(a.begin() == begin_status::ok);
    std::vector<std::uint32_t> delays_a, delays_b, delays_other;
    for (int round = 0; round < 12; ++round) {
        delays_a.push_back(a.on_timeout());
        delays_b.push_back(b.on_timeout());
        delays_other.push_back(other.on_timeout());
    }
    CHECK(delays_a == delays_b);      // the same seed replays
    CHECK(delays_a != delays_other);  // another seed draws otherwise
    for (std::size_t k = 0; k < delays_a.size(); ++k) {
        CAPTURE(k);
        const std::uint64_t cap = std::min<std::uint64_t>(1000, std::uint64_t{10} << k);
        CHECK(delays_a[k] >= cap / 2);
        CHECK(delays_a[k] <= cap);
    }
    CHECK(delays_a.back() >= 500);  // capped at 1000, never below half of it
    // Targets rotate through the cluster on timeouts.
    CHECK(a.target() == node_id{0});  // 12 rounds over 3 nodes
}

TEST_CASE("client session: a lost session leaves the outstanding command's outcome unknown") {
    client_session c(options());
    c.on_registered(client_id{3});
    CHECK_FALSE(c.on_session_lost());  // nothing outstanding: nothing lost
    c.on_registered(client_id{4});
    REQUIRE(c.begin() == begin_status::ok);
    CHECK(c.on_session_lost());  // it may have run before the eviction
    CHECK_FALSE(c.outstanding());
    CHECK(c.begin() == begin_status::not_registered);
    c.on_registered(client_id{9});
    REQUIRE(c.begin() == begin_status::ok);
    CHECK(c.current() == paxos::sm::request_id{client_id{9}, 1});
}

namespace {

// Three replicas of a counter behind session tables, and a log they apply in
// the same order. A client's request may be chosen more than once (a retry
// after a timeout reaches a new leader while the first copy also commits).
struct cluster {
    struct replica {
        paxos::sm::session_table<16, 8> sessions;
        std::uint64_t counter = 0;
        std::map<std::uint64_t, int> executions;  // seq -> count, for the one client
    };
    std::array<replica, 3> replicas;
    std::uint64_t slot = 0;

    client_id register_client() {
        client_id id;
        for (auto& r : replicas) id = r.sessions.register_client(slot_id{slot}).client;
        ++slot;
        return id;
    }
    // Applies one chosen copy of `req`; returns what replica 0 decided and replied.
    paxos::sm::decide_result commit(paxos::sm::request_id req, std::uint64_t& reply) {
        paxos::sm::decide_result first;
        for (std::size_t i = 0; i < replicas.size(); ++i) {
            auto& r = replicas[i];
            const auto d = r.sessions.apply(req.client, req.seq, slot_id{slot}, [&](auto buffer) {
                ++r.counter;
                ++r.executions[req.seq];
                std::memcpy(buffer.data(), &r.counter, sizeof r.counter);
                return sizeof r.counter;
            });
            if (i == 0) {
                first = d;
                if (d.reply.size() == sizeof reply)
                    std::memcpy(&reply, d.reply.data(), sizeof reply);
            }
        }
        ++slot;
        return first;
    }
};

}  // namespace

TEST_CASE("client session: every command retried twice across leader changes applies once") {
    cluster cl;
    client_session c(options(11));
    c.on_registered(cl.register_client());
    std::uint16_t leader = 0;
    for (std::uint64_t k = 1; k <= 200; ++k) {
        REQUIRE(c.begin() == begin_status::ok);
        // The first send times out (the leader changed), the retry goes to
        // the next node, and all three copies of the request are chosen.
        const auto req = c.current();
        (void)c.on_timeout();
        leader = static_cast<std::uint16_t>((leader + 1) % 3);
        CHECK(c.current() == req);
        (void)c.on_not_leader(node_id{leader});
        CHECK(c.current() == req);
        std::uint64_t reply = 0;
        const auto first = cl.commit(req, reply);
        CHECK(first.what == decision::execute);
        CHECK(reply == k);
        for (int copy = 0; copy < 2; ++copy) {
            std::uint64_t again = 0;
            CHECK(cl.commit(req, again).what == decision::duplicate);
            CHECK(again == k);  // the same answer as the first time
        }
        c.on_reply(node_id{leader});
    }
    for (const auto& r : cl.replicas) {
        CHECK(r.counter == 200);
        CHECK(r.executions.size() == 200);
        for (const auto& [seq, count] : r.executions) CHECK(count == 1);
    }
}

TEST_CASE("client session: an evicted client gets the error and its command is not run") {
    cluster cl;
    client_session c(options(12));
    c.on_registered(cl.register_client());
    REQUIRE(c.begin() == begin_status::ok);
    const auto req = c.current();
    // Sixteen other clients register while this one waits: it is evicted.
    for (int i = 0; i < 16; ++i) (void)cl.register_client();
    std::uint64_t reply = 0;
    CHECK(cl.commit(req, reply).what == decision::session_evicted);
    for (const auto& r : cl.replicas) CHECK(r.counter == 0);
    CHECK(c.on_session_lost());  // report the outcome as unknown, then register again
    c.on_registered(cl.register_client());
    REQUIRE(c.begin() == begin_status::ok);
    CHECK(cl.commit(c.current(), reply).what == decision::execute);
}
