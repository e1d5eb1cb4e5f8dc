// Check-quorum (issue 12 item 2): a leader that hears from no phase-2 quorum
// for a whole period steps down, so its followers time out and elect one
// that can commit (etcd-io/raft#266: a leader whose incoming links fail
// keeps heartbeating, its followers never time out, and nothing commits).
#include <doctest/doctest.h>

#include "probe.hpp"

using paxos::message_kind;
using paxos::reason;

namespace {

using multi3 = paxos::multi_paxos<int, 3, 4, 2>;
using P = paxos_test::probe<multi3>;
using replica3 = paxos::replica<multi3>;

// Replica 0 leads with ballot `b` after a promise from node 1; the period is
// the policy's longest election timeout (20 ticks by default).
struct leader_fixture {
    replica3 r;
    multi3::ballot b{};

    explicit leader_fixture(bool check = true) : r(options(check)), b(P::elect(r, 1)) {}
    static replica3::options options(bool check) {
        auto o = P::options(0);
        o.check_quorum = check;
        return o;
    }
    // Ticks n times, draining each batch; true while it still leads.
    bool tick(int n, std::uint16_t answering = 0) {
        for (int t = 0; t < n; ++t) {
            (void)r.tick();
            (void)P::take(r);
            if (answering != 0) {
                (void)r.step(P::make(message_kind::heartbeat_reply, answering, 0, b));
                (void)P::take(r);
            }
        }
        return r.is_leader();
    }
};

}  // namespace

TEST_CASE("check-quorum: a leader nobody answers steps down within one period") {
    leader_fixture f;
    CHECK(f.tick(19));
    CHECK_FALSE(f.tick(1));  // the 20th tick: nobody answered in 20 ticks
    CHECK(f.r.leader() == paxos::node_id::none());
    // A deposed leader proposes nothing: its clients are told no leader.
    CHECK(f.r.propose(1).code == reason::not_leader);
}

TEST_CASE("check-quorum: one follower's answers are a phase-2 quorum of three with the leader") {
    leader_fixture f;
    CHECK(f.tick(100, 1));
    // accepted messages count too: a follower voting in our ballot follows us.
    REQUIRE(f.r.propose(5).ok());
    (void)P::take(f.r);
    for (int t = 0; t < 60; ++t) {
        (void)f.r.tick();
        (void)P::take(f.r);
        if (t % 10 == 0) {
            (void)f.r.step(P::make(message_kind::accepted, 2, 0, f.b, 0));
            (void)P::take(f.r);
        }
    }
    CHECK(f.r.is_leader());
    // An answer to a ballot of ours that is not the one we lead in counts
    // for nothing (nor does one to a zero ballot: malformed).
    CHECK(f.r.step(P::make(message_kind::heartbeat_reply, 1, 0, P::ballot(9, 0))).code ==
          reason::ignored);
    CHECK(f.r.step(P::make(message_kind::heartbeat_reply, 1, 0, P::ballot_type{})).code ==
          reason::malformed);
    CHECK_FALSE(f.tick(20));
}

TEST_CASE("check-quorum: followers answer their leader's heartbeats, and only when it is on") {
    for (const bool on : {true, false}) {
        INFO("check_quorum " << on);
        auto o = P::options(1);
        o.check_quorum = on;
        replica3 follower(o);
        const auto b = P::ballot(2, 0);
        REQUIRE(follower.step(P::make(message_kind::heartbeat, 0, 1, b)).ok());
        const auto out = P::take(follower);
        const auto* reply = out.first(message_kind::heartbeat_reply);
        if (!on) {
            CHECK(reply == nullptr);
            continue;
        }
        REQUIRE(reply != nullptr);
        CHECK(reply->to == paxos::node_id{0});
        CHECK(reply->ballot == b);                   // the ballot it answers: the receiver's own
        CHECK(out.sent_now == out.messages.size());  // it vouches for nothing durable
        // A deposed leader's heartbeat gets a reject, never a reply.
        REQUIRE(follower.step(P::make(message_kind::prepare, 2, 1, P::ballot(5, 2))).ok());
        (void)P::take(follower);
        CHECK(follower.step(P::make(message_kind::heartbeat, 0, 1, b)).code ==
              reason::stale_ballot);
        const auto stale = P::take(follower);
        CHECK(stale.first(message_kind::heartbeat_reply) == nullptr);
        CHECK(stale.first(message_kind::reject) != nullptr);
    }
}

TEST_CASE("check-quorum: off, a leader keeps leading alone; a cluster of one never steps down") {
    leader_fixture off(false);
    CHECK(off.tick(200));

    using solo_config = paxos::multi_paxos<int, 1, 4, 2>;
    paxos::replica<solo_config> solo(paxos_test::probe<solo_config>::options(0));
    REQUIRE(solo.campaign().ok());
    for (int t = 0; t < 200; ++t) {
        (void)solo.tick();
        while (solo.has_ready()) solo.advance(solo.ready());
    }
    CHECK(solo.is_leader());
}

TEST_CASE("check-quorum: the period is the option when set") {
    auto o = P::options(0);
    o.check_quorum_ticks = 5;
    replica3 r(o);
    (void)P::elect(r, 1);
    for (int t = 0; t < 4; ++t) {
        (void)r.tick();
        (void)P::take(r);
    }
    CHECK(r.is_leader());
    (void)r.tick();
    CHECK_FALSE(r.is_leader());
}
