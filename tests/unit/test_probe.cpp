// The probe (issue 12 item 1; PreVote, for Paxos): a follower whose election
// timer fires asks first whether a phase-1 quorum would promise the ballot
// it would use. Nothing durable changes on either side and nobody's timer is
// reset, so a node cut off for a while returns without a ballot that deposes
// a healthy leader, and a node that can send but not hear cannot keep its
// peers from electing someone else.
#include <doctest/doctest.h>

#include "probe.hpp"

using paxos::message_kind;
using paxos::reason;

namespace {

using multi3 = paxos::multi_paxos<int, 3, 4, 2>;
using P = paxos_test::probe<multi3>;
using replica3 = paxos::replica<multi3>;

// Ticks a replica until its election timer fires (at most `max` ticks) and
// returns that batch.
P::batch tick_until_probe(replica3& r, int max = 100) {
    for (int t = 0; t < max; ++t) {
        (void)r.tick();
        const auto out = P::take(r);
        if (out.count(message_kind::probe) + out.count(message_kind::prepare) > 0) return out;
    }
    FAIL("no election within the bound");
    return {};
}

P::message_type reply(std::uint16_t from, std::uint16_t to, P::ballot_type probe, bool grant,
                      P::ballot_type promised = {}) {
    auto m = P::make(message_kind::probe_reply, from, to, probe, grant ? 1 : 0);
    m.accepted_ballot = promised;
    return m;
}

}  // namespace

TEST_CASE("probe: an election timeout probes, and only a quorum of grants raises the ballot") {
    replica3 r(P::options(1));
    const auto out = tick_until_probe(r);
    REQUIRE(out.count(message_kind::probe) == 1);
    CHECK(out.count(message_kind::prepare) == 0);
    CHECK_FALSE(out.promised_changed);  // nothing durable: no ballot is used yet
    CHECK(out.accepted.empty());
    CHECK(r.promised().is_zero());
    const auto b = out.first(message_kind::probe)->ballot;
    CHECK(b.owner() == paxos::node_id{1});
    // A refusal changes nothing; a grant makes a phase-1 quorum with us.
    REQUIRE(r.step(reply(0, 1, b, false)).ok());
    CHECK(r.current_role() == paxos::role::follower);
    CHECK_FALSE(r.has_ready());
    REQUIRE(r.step(reply(2, 1, b, true)).ok());
    CHECK(r.current_role() == paxos::role::candidate);
    CHECK(r.ballot() == b);  // the ballot it probed with, now raised and persisted
    const auto campaign = P::take(r);
    CHECK(campaign.promised_changed);
    REQUIRE(campaign.first(message_kind::prepare) != nullptr);
    CHECK(campaign.first(message_kind::prepare)->ballot == b);
    // A late grant for a probe already acted on is moot.
    CHECK(r.step(reply(0, 1, b, true)).code == reason::ignored);
}

TEST_CASE("probe: a follower that hears its leader refuses, and changes nothing") {
    replica3 f(P::options(2));
    const auto leader_ballot = P::ballot(3, 0);
    REQUIRE(f.step(P::make(message_kind::accept, 0, 2, leader_ballot, 0, {5})).ok());
    (void)P::take(f);
    // Node 1 probes with a higher ballot: refused (stickiness), and neither
    // the promise nor the leader changes, nor is anything persisted.
    REQUIRE(f.step(P::make(message_kind::probe, 1, 2, P::ballot(7, 1))).ok());
    const auto out = P::take(f);
    const auto* r = out.first(message_kind::probe_reply);
    REQUIRE(r != nullptr);
    CHECK(r->slot.value == 0);
    CHECK(r->accepted_ballot == leader_ballot);  // its promise, for a stale prober
    CHECK_FALSE(out.promised_changed);
    CHECK(f.promised() == leader_ballot);
    CHECK(f.leader() == paxos::node_id{0});
    // Once the leader has been silent for election_ticks_min (10) ticks, it grants.
    for (int t = 0; t < 10; ++t) {
        (void)f.tick();
        (void)P::take(f);
    }
    REQUIRE(f.step(P::make(message_kind::probe, 1, 2, P::ballot(7, 1))).ok());
    CHECK(P::take(f).first(message_kind::probe_reply)->slot.value == 1);
    // A probe no higher than the promise is refused whatever the timers say.
    REQUIRE(f.step(P::make(message_kind::probe, 1, 2, P::ballot(2, 1))).ok());
    CHECK(P::take(f).first(message_kind::probe_reply)->slot.value == 0);
}

TEST_CASE("probe: the leader itself refuses") {
    replica3 r(P::options(0));
    (void)P::elect(r, 1);  // campaign() skips the probe: an explicit election
    REQUIRE(r.step(P::make(message_kind::probe, 2, 0, P::ballot(9, 2))).ok());
    CHECK(P::take(r).first(message_kind::probe_reply)->slot.value == 0);
    CHECK(r.is_leader());
}

TEST_CASE("probe: a node cut off for 100 election timeouts returns without raising a ballot") {
    replica3 isolated(P::options(2));
    const auto leader_ballot = P::ballot(3, 0);
    REQUIRE(isolated.step(P::make(message_kind::accept, 0, 2, leader_ballot, 0, {5})).ok());
    (void)P::take(isolated);
    std::size_t probes = 0;
    for (int t = 0; t < 100 * 20; ++t) {  // nothing it sends arrives, nothing reaches it
        (void)isolated.tick();
        probes += P::take(isolated).count(message_kind::probe);
    }
    CHECK(probes >= 50);
    CHECK(isolated.promised() == leader_ballot);  // never raised: zero ballots
    CHECK(isolated.current_role() == paxos::role::follower);
    // Back: the leader's next heartbeat makes it a follower again, and the
    // leader's ballot is untouched (it would have seen nothing higher).
    REQUIRE(isolated.step(P::make(message_kind::heartbeat, 0, 2, leader_ballot)).ok());
    CHECK(isolated.leader() == paxos::node_id{0});
}

TEST_CASE("probe: a restarted node grants at once and helps elect (canonical/raft#279)") {
    // A node restarted with its promise but no leader heard in this life
    // knows no live leader: it grants a higher probe at once.
    replica3 restarted(P::options(2));
    replica3::recovery rec{};
    rec.promised = P::ballot(3, 0);
    REQUIRE(restarted.restore(rec).ok());
    REQUIRE(restarted.step(P::make(message_kind::probe, 1, 2, P::ballot(4, 1))).ok());
    CHECK(P::take(restarted).first(message_kind::probe_reply)->slot.value == 1);
}

TEST_CASE("probe: a stale prober learns the promise that refused it and probes above it") {
    replica3 r(P::options(1));
    const auto first = tick_until_probe(r).first(message_kind::probe)->ballot;
    // Node 0 refuses: it promised a much higher ballot.
    const auto high = P::ballot(40, 2);
    REQUIRE(r.step(reply(0, 1, first, false, high)).ok());
    const auto second = tick_until_probe(r).first(message_kind::probe)->ballot;
    CHECK(second > high);
}

TEST_CASE("probe: off, an election timeout prepares at once") {
    auto o = P::options(1);
    o.probe = false;
    replica3 r(o);
    const auto out = tick_until_probe(r);
    CHECK(out.count(message_kind::probe) == 0);
    CHECK(out.count(message_kind::prepare) == 1);
    CHECK(out.promised_changed);
}
