// The leader lease (issue 12 item 5, core/lease.hpp): an acceptor that answers
// a heartbeat round promises nobody else for lease_ticks of its ticks; the
// leader serves reads with no message while what is left of that grant, after
// the clock-rate bound and a late tick, allows; a (re)started acceptor waits a
// whole lease out; a transfer ends the lease.
#include <doctest/doctest.h>

#include "probe.hpp"

using paxos::message_kind;
using paxos::reason;

namespace {

using multi3 = paxos::multi_paxos<int, 3, 4, 2>;
using P = paxos_test::probe<multi3>;
using replica3 = paxos::replica<multi3>;

constexpr std::uint32_t grant = 10;
constexpr std::uint32_t drift = 100;  // ticks may come 10% faster elsewhere
// floor(9 / 1.1) - 1: what the leader may count of a 10-tick grant.
constexpr std::uint32_t held = 7;
static_assert(paxos::leader_lease_ticks(grant, drift) == held);

replica3::options lease_options(std::uint16_t self) {
    auto o = P::options(self);
    o.lease_ticks = grant;
    o.lease_drift_permille = drift;
    o.check_quorum = false;  // these tests answer rounds by hand
    return o;
}

// Ticks `r` through the wait every replica with leases does at start.
void wait_out(replica3& r) {
    for (std::uint32_t t = 0; t < grant; ++t) {
        (void)r.tick();
        (void)P::take(r);
    }
    REQUIRE(r.lease_granted_ticks_left() == 0);
}

// A leader with leases on, after its first round is answered by node 1.
struct leading {
    replica3 r{lease_options(0)};
    P::ballot_type b{};
    leading() {
        wait_out(r);
        b = P::elect(r, 1);
        (void)r.tick();
        (void)r.tick();  // a heartbeat round (every 2 ticks)
        const auto out = P::take(r);
        const std::uint64_t round = out.round();
        REQUIRE(round != 0);
        REQUIRE(r.step(P::heartbeat_reply(1, b, round)).ok());
        (void)P::take(r);
    }
};

}  // namespace

TEST_CASE("lease: the leader's share of a grant allows for drift and a late tick") {
    CHECK(paxos::leader_lease_ticks(10, 0) == 8);    // 9 ticks, one spared
    CHECK(paxos::leader_lease_ticks(10, 300) == 5);  // floor(9 / 1.3) - 1
    CHECK(paxos::leader_lease_ticks(100, 100) == 89);
    CHECK(paxos::leader_lease_ticks(3, 0) == 1);
    CHECK(paxos::leader_lease_ticks(2, 0) == 0);  // too short: refused at construction
    CHECK(paxos::leader_lease_ticks(1, 0) == 0);
}

TEST_CASE("lease: a replica that starts with leases on promises nobody for a whole lease") {
    // A grant is not durable: this start may follow a crash that forgot one.
    replica3 r(lease_options(1));
    CHECK(r.lease_granted_ticks_left() == grant);
    CHECK(r.campaign().code == reason::lease_held);
    CHECK(r.step(P::make(message_kind::prepare, 2, 1, P::ballot(1, 2))).code == reason::lease_held);
    CHECK_FALSE(r.has_ready());  // no promise, no reject: the candidate repeats itself
    for (std::uint32_t t = 0; t + 1 < grant; ++t) (void)r.tick();
    (void)P::take(r);
    CHECK(r.step(P::make(message_kind::prepare, 2, 1, P::ballot(1, 2))).code == reason::lease_held);
    (void)r.tick();
    (void)P::take(r);
    const paxos::result promised = r.step(P::make(message_kind::prepare, 2, 1, P::ballot(1, 2)));
    CHECK(promised.ok());
    CHECK(P::take(r).count(message_kind::promise) == 1);
}

TEST_CASE("lease: a read under a lease is served with no message at all") {
    leading l;
    CHECK(l.r.lease_ticks_left() == held);  // answered at once: the whole share
    REQUIRE(l.r.read(5).ok());
    REQUIRE(l.r.read(6).ok());
    const auto out = P::take(l.r);
    CHECK(out.messages.empty());
    REQUIRE(out.reads.size() == 2);
    CHECK(out.reads[0].tag == 5);
    CHECK(out.reads[1].slot == l.r.chosen_end());
}

TEST_CASE("lease: it runs from the round's send, not from its answer") {
    replica3 r(lease_options(0));
    wait_out(r);
    const auto b = P::elect(r, 1);
    (void)r.tick();
    (void)r.tick();
    const std::uint64_t round = P::take(r).round();
    REQUIRE(round != 0);
    for (int t = 0; t < 3; ++t) {
        (void)r.tick();
        (void)P::take(r);
    }
    REQUIRE(r.step(P::heartbeat_reply(2, b, round)).ok());
    CHECK(r.lease_ticks_left() == held - 3);
    // An answer to a round older than the lease's share grants nothing.
    replica3 late(lease_options(0));
    wait_out(late);
    const auto lb = P::elect(late, 1);
    (void)late.tick();
    (void)late.tick();
    const std::uint64_t old = P::take(late).round();
    for (std::uint32_t t = 0; t < held; ++t) (void)late.tick();
    (void)P::take(late);
    REQUIRE(late.step(P::heartbeat_reply(2, lb, old)).ok());
    CHECK(late.lease_ticks_left() == 0);
}

TEST_CASE("lease: once it lapses, a read takes a round again") {
    leading l;
    // No answers come: heartbeats go out, the lease runs down.
    for (std::uint32_t t = 0; t < held; ++t) {
        (void)l.r.tick();
        (void)P::take(l.r);
    }
    CHECK(l.r.lease_ticks_left() == 0);
    REQUIRE(l.r.read(9).ok());
    const auto out = P::take(l.r);
    CHECK(out.reads.empty());
    const std::uint64_t round = out.round();
    REQUIRE(round != 0);
    REQUIRE(l.r.step(P::heartbeat_reply(2, l.b, round)).ok());
    const auto served = P::take(l.r);
    REQUIRE(served.reads.size() == 1);
    CHECK(l.r.lease_ticks_left() == held);  // and the answer renewed the lease
}

TEST_CASE("lease: every heartbeat is a round, and answering one grants a lease") {
    replica3 f(lease_options(1));
    wait_out(f);
    const auto leader_ballot = P::ballot(1, 0);
    REQUIRE(f.step(P::make(message_kind::heartbeat, 0, 1, leader_ballot, 3)).ok());
    const auto out = P::take(f);
    const auto* r = out.first(message_kind::heartbeat_reply);
    REQUIRE(r != nullptr);  // answered with check-quorum off: it is a round
    CHECK(r->slot.value == 3);
    CHECK(f.lease_granted_ticks_left() == grant);
    // Nobody else is promised, and no probe granted, while it runs.
    CHECK(f.step(P::make(message_kind::prepare, 2, 1, P::ballot(2, 2))).code == reason::lease_held);
    REQUIRE(f.step(P::make(message_kind::probe, 2, 1, P::ballot(2, 2))).ok());
    const auto probe = P::take(f);
    REQUIRE(probe.first(message_kind::probe_reply) != nullptr);
    CHECK(probe.first(message_kind::probe_reply)->slot.value == 0);  // not granted
    CHECK(f.campaign().code == reason::lease_held);
    // The holder itself may campaign again (it no longer serves reads then).
    CHECK(f.step(P::make(message_kind::prepare, 0, 1, P::ballot(2, 0))).ok());
    CHECK(P::take(f).count(message_kind::promise) == 1);
}

TEST_CASE("lease: a rival is promised once the grant runs out") {
    replica3 f(lease_options(1));
    wait_out(f);
    REQUIRE(f.step(P::make(message_kind::heartbeat, 0, 1, P::ballot(1, 0), 1)).ok());
    (void)P::take(f);
    for (std::uint32_t t = 0; t < grant; ++t) {
        CHECK(f.step(P::make(message_kind::prepare, 2, 1, P::ballot(2, 2))).code ==
              reason::lease_held);
        (void)f.tick();
        (void)P::take(f);
    }
    CHECK(f.step(P::make(message_kind::prepare, 2, 1, P::ballot(2, 2))).ok());
}

TEST_CASE("lease: the leader refuses a rival's prepare while its lease runs") {
    leading l;
    CHECK(l.r.step(P::make(message_kind::prepare, 2, 0, P::ballot(9, 2))).code ==
          reason::lease_held);
    CHECK(l.r.is_leader());
    CHECK(l.r.lease_ticks_left() == held);
}

TEST_CASE("lease: a transfer ends the lease, and the target's prepare names the ballot") {
    leading l;
    REQUIRE(l.r.transfer_leadership(paxos::node_id{2}).ok());
    CHECK(l.r.lease_ticks_left() == 0);
    const auto out = P::take(l.r);
    const auto* t = out.first(message_kind::transfer);
    REQUIRE(t != nullptr);
    // Rounds answered during the transfer, or after it is abandoned, grant
    // no lease in this ballot: its acceptors now promise the target.
    (void)l.r.tick();
    (void)l.r.tick();
    const std::uint64_t round = P::take(l.r).round();
    REQUIRE(round != 0);
    REQUIRE(l.r.step(P::heartbeat_reply(1, l.b, round)).ok());
    CHECK(l.r.lease_ticks_left() == 0);

    // The target holds a grant from the leader, and so does node 1.
    replica3 target(lease_options(2));
    replica3 other(lease_options(1));
    wait_out(target);
    wait_out(other);
    for (replica3* f : {&target, &other}) {
        REQUIRE(f->step(P::make(message_kind::heartbeat, 0, f->self().value, l.b, round)).ok());
        (void)P::take(*f);
        REQUIRE(f->lease_granted_ticks_left() == grant);
    }
    P::message_type hand = *t;
    hand.to = paxos::node_id{2};
    REQUIRE(target.step(hand).ok());
    const auto campaign = P::take(target);
    const auto* prepare = campaign.first(message_kind::prepare);
    REQUIRE(prepare != nullptr);  // past its own grant
    CHECK(prepare->accepted_ballot == l.b);
    P::message_type to_other = *prepare;
    to_other.to = paxos::node_id{1};
    CHECK(other.step(to_other).ok());
    CHECK(P::take(other).count(message_kind::promise) == 1);
    // A prepare naming another ballot is refused as any rival's.
    replica3 third(lease_options(1));
    wait_out(third);
    REQUIRE(third.step(P::make(message_kind::heartbeat, 0, 1, l.b, round)).ok());
    (void)P::take(third);
    P::message_type wrong = to_other;
    wrong.accepted_ballot = P::ballot(1, 1);
    CHECK(third.step(wrong).code == reason::lease_held);
}

TEST_CASE("lease: a prepare naming a handing-over ballot not below its own is malformed") {
    replica3 f(lease_options(1));
    auto m = P::make(message_kind::prepare, 2, 1, P::ballot(3, 2));
    m.accepted_ballot = P::ballot(3, 2);  // its own ballot
    CHECK(f.step(m).code == reason::malformed);
    m.accepted_ballot = P::ballot(4, 0);  // a later one
    CHECK(f.step(m).code == reason::malformed);
    m.accepted_ballot = P::ballot(3, 0);  // an earlier one: taken (here, refused for the wait)
    CHECK(f.step(m).code == reason::lease_held);
}

TEST_CASE("lease: a leader that steps down serves no lease read and frees its own grant") {
    leading l;
    // A higher ballot's accept (a newer leader, as after the lease ran out).
    for (std::uint32_t t = 0; t < grant; ++t) {
        (void)l.r.tick();
        (void)P::take(l.r);
    }
    REQUIRE(l.r.step(P::make(message_kind::reject, 1, 0, P::ballot(7, 2))).ok());
    CHECK_FALSE(l.r.is_leader());
    CHECK(l.r.lease_ticks_left() == 0);
    CHECK(l.r.lease_granted_ticks_left() == 0);
    CHECK(l.r.read(1).code == reason::not_leader);
}
