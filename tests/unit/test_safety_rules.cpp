// One test per safety rule, each named after the rule and citing where it
// comes from: Lamport, "Paxos Made Simple" (PMS), or a known pitfall of
// implementations (the dueling-proposers livelock, ballot encoding, the
// fsync bug and other gaps the papers leave unspecified). Each drives a single replica with crafted
// peer messages.
#include <doctest/doctest.h>

#include "cluster.hpp"
#include "probe.hpp"

using paxos::message_kind;
using paxos::reason;
using paxos::role;

namespace {

using multi3 = paxos::multi_paxos<int, 3, 8, 2>;
using multi5 = paxos::multi_paxos<int, 5, 8, 2>;
// A promise holds one batch's values, so an acceptor with several votes
// answers in several parts.
struct multi5_small_promise : multi5 {
    static constexpr std::size_t promise_values_max = 2;
};
using immediate3 =
    paxos::config<int, paxos::counter_ballot<3>, paxos::majority<3>, paxos::immediate, 3, 8, 2>;

template <class Config>
using probe = paxos_test::probe<Config>;

// Makes node 0 of a 5-node cluster leader at ballot (counter, 0), with no votes
// reported by nodes 1 and 2.
template <class Config>
paxos::replica<Config> elected_leader() {
    using P = probe<Config>;
    paxos::replica<Config> r(P::options(0));
    REQUIRE(r.campaign().ok());
    const auto b = P::take(r).first(message_kind::prepare)->ballot;
    for (std::uint16_t peer = 1; peer <= Config::max_nodes / 2; ++peer) {
        REQUIRE(r.step(P::promise(peer, 0, b, 0)).ok());
    }
    REQUIRE(r.is_leader());
    (void)P::take(r);
    return r;
}

}  // namespace

TEST_CASE("rule: promise only if the ballot exceeds every promise made (PMS P1a)") {
    // Seed "unspecified": using >= here lets two proposers holding the same
    // ballot both pass Phase 1.
    using P = probe<multi3>;
    paxos::replica<multi3> acceptor(P::options(1));
    const auto b = P::ballot(2, 0);

    CHECK(acceptor.step(P::make(message_kind::prepare, 0, 1, b)).ok());
    auto out = P::take(acceptor);
    REQUIRE(out.count(message_kind::promise) == 1);
    CHECK(acceptor.promised() == b);

    // The same ballot again is not "greater": rejected, promise unchanged.
    CHECK(acceptor.step(P::make(message_kind::prepare, 0, 1, b)).code == reason::stale_ballot);
    out = P::take(acceptor);
    CHECK(out.count(message_kind::promise) == 0);
    REQUIRE(out.count(message_kind::reject) == 1);
    CHECK(out.first(message_kind::reject)->ballot == b);
    CHECK_FALSE(out.promised_changed);

    // A lower ballot from another node: rejected.
    CHECK(acceptor.step(P::make(message_kind::prepare, 2, 1, P::ballot(1, 2))).code ==
          reason::stale_ballot);
    // A higher one: promised.
    CHECK(acceptor.step(P::make(message_kind::prepare, 2, 1, P::ballot(2, 2))).ok());
    CHECK(acceptor.promised() == P::ballot(2, 2));
}

TEST_CASE("rule: accept if the ballot is not below the promise; accepting raises it (PMS P1a)") {
    // Seed "unspecified": `n > promised` on accept rejects the proposer's own
    // accept right after its prepare.
    using P = probe<multi3>;
    paxos::replica<multi3> acceptor(P::options(1));
    const auto b = P::ballot(2, 0);
    CHECK(acceptor.step(P::make(message_kind::prepare, 0, 1, b)).ok());
    (void)P::take(acceptor);

    // n == promised: accepted.
    CHECK(acceptor.step(P::make(message_kind::accept, 0, 1, b, 0, {7})).ok());
    auto out = P::take(acceptor);
    REQUIRE(out.count(message_kind::accepted) == 1);
    REQUIRE(out.accepted.size() == 1);
    CHECK(out.accepted[0].second == b);

    // n < promised: rejected with the promise.
    CHECK(acceptor.step(P::make(message_kind::accept, 2, 1, P::ballot(1, 2), 1, {8})).code ==
          reason::stale_ballot);
    out = P::take(acceptor);
    CHECK(out.count(message_kind::accepted) == 0);
    CHECK(out.first(message_kind::reject)->ballot == b);
    CHECK(out.accepted.empty());

    // n > promised with no prepare seen: accepted, and the promise rises to n,
    // durably, so a prepare between the two ballots is now refused.
    const auto higher = P::ballot(5, 2);
    CHECK(acceptor.step(P::make(message_kind::accept, 2, 1, higher, 1, {9})).ok());
    out = P::take(acceptor);
    CHECK(acceptor.promised() == higher);
    CHECK(out.promised_changed);
    CHECK(out.promised == higher);
    CHECK(acceptor.step(P::make(message_kind::prepare, 0, 1, P::ballot(4, 0))).code ==
          reason::stale_ballot);
}

TEST_CASE("rule: a new leader adopts the highest-ballot vote per slot and fills gaps (PMS P2c)") {
    // Seed "dueling proposers": the value-adoption rule is what keeps a value
    // chosen at a lower ballot chosen.
    using P = probe<multi5_small_promise>;
    paxos::replica<multi5_small_promise> r(P::options(0));
    // Push node 0's promise up so that its ballot beats the votes reported below.
    CHECK(r.step(P::make(message_kind::prepare, 3, 0, P::ballot(3, 3))).ok());
    (void)P::take(r);
    REQUIRE(r.campaign().ok());
    const auto b = P::take(r).first(message_kind::prepare)->ballot;
    CHECK(b > P::ballot(3, 3));

    // Node 1 voted X=11 in slot 0 at ballot (2,1); node 2 voted Y=22 at the
    // higher (3,2) in slot 0, and Z=33 in slot 2. Slot 1 has no vote: a gap.
    // Node 2's promise comes in two parts, the second first.
    CHECK(r.step(P::promise(1, 0, b, 0, {{0, P::ballot(2, 1), {11}}})).ok());
    CHECK(r.step(P::promise(2, 0, b, 2, {{2, P::ballot(1, 2), {33}}}, 1, 2)).ok());
    CHECK_FALSE(r.is_leader());  // node 2's promise is not complete yet
    CHECK(r.step(P::promise(2, 0, b, 2, {{2, P::ballot(1, 2), {33}}}, 1, 2)).code ==
          paxos::reason::ignored);  // a duplicate part
    CHECK(r.step(P::promise(2, 0, b, 0, {{0, P::ballot(3, 2), {22}}}, 0, 2)).ok());
    REQUIRE(r.is_leader());

    const auto out = P::take(r);
    std::vector<const typename P::message_type*> accepts;
    for (const auto& m : out.messages) {
        if (m.kind == message_kind::accept) accepts.push_back(&m);
    }
    REQUIRE(accepts.size() == 3);
    CHECK(accepts[0]->slot.value == 0);
    CHECK(accepts[0]->values.view()[0] == 22);  // highest ballot wins, not the first seen
    CHECK(accepts[1]->slot.value == 1);
    CHECK(accepts[1]->values.empty());  // gap: a no-op
    CHECK(accepts[2]->slot.value == 2);
    CHECK(accepts[2]->values.view()[0] == 33);
    for (const auto* a : accepts) CHECK(a->ballot == b);  // re-proposed at the new ballot
    // A new command goes after the adopted slots.
    REQUIRE(r.propose(44).ok());
    const auto next = P::take(r);
    REQUIRE(next.first(message_kind::accept) != nullptr);
    CHECK(next.first(message_kind::accept)->slot.value == 3);
}

TEST_CASE("rule: a rejected proposer retries only through Phase 1 with a higher ballot") {
    // Seed "unspecified", edge case 1: re-sending accept with a new ballot and
    // the old value, skipping Phase 1, can overwrite a value chosen meanwhile.
    using P = probe<immediate3>;
    paxos::replica<immediate3> r(P::options(0));
    REQUIRE(r.campaign().ok());
    const auto b = P::take(r).first(message_kind::prepare)->ballot;
    CHECK(r.step(P::promise(1, 0, b, 0)).ok());
    REQUIRE(r.is_leader());
    (void)P::take(r);
    REQUIRE(r.propose(5).ok());
    REQUIRE(P::take(r).count(message_kind::accept) == 1);

    const auto higher = P::ballot(7, 2);
    CHECK(r.step(P::make(message_kind::reject, 1, 0, higher, 0)).ok());
    CHECK(r.current_role() != role::leader);
    const auto out = P::take(r);
    CHECK(out.count(message_kind::accept) == 0);     // no Phase 2 without a new Phase 1
    REQUIRE(out.count(message_kind::prepare) == 1);  // the immediate policy retries at once
    const auto retry = out.first(message_kind::prepare)->ballot;
    CHECK(retry > higher);
    CHECK(out.promised == retry);  // the new ballot is durable before it is sent
    // Ticks alone never produce an accept before a promise quorum.
    for (int t = 0; t < 30; ++t) {
        REQUIRE(r.tick().ok());
        CHECK(P::take(r).count(message_kind::accept) == 0);
    }
}

TEST_CASE("rule: a leader that sees a higher ballot steps down at once") {
    // Seed "unspecified", edge case 4: a stale leader that keeps proposing.
    using P = probe<multi5>;
    SUBCASE("through a prepare") {
        auto r = elected_leader<multi5>();
        CHECK(r.step(P::make(message_kind::prepare, 4, 0, P::ballot(9, 4))).ok());
        CHECK(r.current_role() == role::follower);
        CHECK(r.propose(1).code == reason::not_leader);
    }
    SUBCASE("through an accept") {
        auto r = elected_leader<multi5>();
        CHECK(r.step(P::make(message_kind::accept, 4, 0, P::ballot(9, 4), 0, {3})).ok());
        CHECK(r.current_role() == role::follower);
        const auto res = r.propose(1);
        CHECK(res.code == reason::not_leader);
        CHECK(res.leader == paxos::node_id{4});
    }
    SUBCASE("through a heartbeat") {
        auto r = elected_leader<multi5>();
        CHECK(r.step(P::make(message_kind::heartbeat, 3, 0, P::ballot(9, 3))).ok());
        CHECK(r.current_role() == role::follower);
    }
    SUBCASE("through a reject") {
        auto r = elected_leader<multi5>();
        CHECK(r.step(P::make(message_kind::reject, 2, 0, P::ballot(9, 3))).ok());
        CHECK(r.current_role() == role::follower);
    }
    SUBCASE("but not on a lower or equal ballot") {
        auto r = elected_leader<multi5>();
        CHECK(r.step(P::make(message_kind::reject, 2, 0, r.ballot())).code == reason::ignored);
        CHECK(r.is_leader());
    }
}

TEST_CASE("rule: chosen only when one phase-2 quorum accepted in the same ballot") {
    // Votes from different ballots must not add up: three votes for value v at
    // ballots b1, b1 and b2 are not a quorum of any single ballot.
    using P = probe<multi5>;
    auto r = elected_leader<multi5>();
    const auto b1 = r.ballot();
    REQUIRE(r.propose(5).ok());
    (void)P::take(r);
    CHECK(r.step(P::make(message_kind::accepted, 1, 0, b1, 0)).ok());  // votes {0, 1} at b1

    // Deposed, then elected again at b2; slot 0 is re-proposed at b2.
    CHECK(r.step(P::make(message_kind::reject, 1, 0, P::ballot(6, 4))).ok());
    REQUIRE(r.campaign().ok());
    const auto b2 = P::take(r).first(message_kind::prepare)->ballot;
    CHECK(r.step(P::promise(3, 0, b2, 0)).ok());
    CHECK(r.step(P::promise(4, 0, b2, 0)).ok());
    REQUIRE(r.is_leader());
    (void)P::take(r);

    // A late accepted for b1 is not a vote at b2.
    CHECK(r.step(P::make(message_kind::accepted, 2, 0, b1, 0)).code == reason::ignored);
    CHECK(r.step(P::make(message_kind::accepted, 1, 0, b1, 0)).code == reason::ignored);
    CHECK(r.chosen_end().value == 0);
    // One more b2 vote: {0, 3} is not a majority of 5 either.
    CHECK(r.step(P::make(message_kind::accepted, 3, 0, b2, 0)).ok());
    CHECK(r.chosen_end().value == 0);
    // A duplicate of the same vote does not count twice (seed: counting one
    // node several times toward a quorum).
    CHECK(r.step(P::make(message_kind::accepted, 3, 0, b2, 0)).ok());
    CHECK(r.chosen_end().value == 0);
    CHECK(r.step(P::make(message_kind::accepted, 4, 0, b2, 0)).ok());
    CHECK(r.chosen_end().value == 1);
    const auto out = P::take(r);
    CHECK(out.chosen == std::vector<std::uint64_t>{0});
    // No chosen message: followers learn it from the next accept or
    // heartbeat, whose header carries chosen_end.
    CHECK(out.count(message_kind::chosen) == 0);
}

TEST_CASE("rule: ballots are unique per node and strictly increase across restart") {
    // Seed "ballots": a ballot reused after a restart lets two proposals share
    // a number. The own ballot is durable (as a self-promise) before any
    // prepare carrying it is sent, and recovery resumes above it.
    using P = probe<multi3>;
    paxos::replica<multi3> first_life(P::options(1));
    REQUIRE(first_life.campaign().ok());
    const auto out = P::take(first_life);
    const auto used = out.first(message_kind::prepare)->ballot;
    REQUIRE(out.promised_changed);
    REQUIRE(out.promised == used);

    paxos::replica<multi3> second_life(P::options(1));
    typename paxos::replica<multi3>::recovery rec{};
    rec.promised = out.promised;
    REQUIRE(second_life.restore(rec).ok());
    REQUIRE(second_life.campaign().ok());
    const auto again = P::take(second_life).first(message_kind::prepare)->ballot;
    CHECK(again > used);
    CHECK(again.owner() == paxos::node_id{1});

    // Without the durable promise, a fresh process would reuse the ballot:
    // this is what the rule prevents.
    paxos::replica<multi3> amnesiac(P::options(1));
    REQUIRE(amnesiac.campaign().ok());
    CHECK(P::take(amnesiac).first(message_kind::prepare)->ballot == used);

    // Two nodes bidding above the same ballot never collide.
    paxos::replica<multi3> other(P::options(2));
    REQUIRE(other.step(P::make(message_kind::prepare, 1, 2, used)).ok());
    (void)P::take(other);
    REQUIRE(other.campaign().ok());
    const auto theirs = P::take(other).first(message_kind::prepare)->ballot;
    CHECK(theirs != again);
    CHECK(theirs > used);
}

TEST_CASE("rule: nothing is sent before the state it depends on is in the durable part") {
    using P = probe<multi3>;
    paxos::replica<multi3> acceptor(P::options(1));
    const auto b = P::ballot(2, 0);
    CHECK(acceptor.step(P::make(message_kind::prepare, 0, 1, b)).ok());
    auto out = P::take(acceptor);
    REQUIRE(out.count(message_kind::promise) == 1);
    CHECK(out.promised_changed);  // the promise travels with its durable record
    CHECK(out.promised == b);

    CHECK(acceptor.step(P::make(message_kind::accept, 0, 1, b, 0, {1})).ok());
    out = P::take(acceptor);
    REQUIRE(out.count(message_kind::accepted) == 1);
    REQUIRE(out.accepted.size() == 1);  // the vote is in the same batch
    CHECK(out.accepted[0] == std::pair<std::uint64_t, P::ballot_type>{0, b});

    // And from outside, over whole runs: the harness checks every batch.
    using config = paxos::multi_paxos<int, 3, 8, 1>;
    paxos_test::cluster<config> c(3);
    REQUIRE(c.campaign(0).ok());
    c.deliver_all();
    for (int v = 0; v < 20; ++v) {
        REQUIRE(c.propose(0, v).ok());
        c.deliver_all();
    }
    CHECK(c.settle());
    CHECK(c.applied_count(2) == 20);
    CHECK(c.violation.empty());
}

TEST_CASE("checker: the persist-before-send check catches a driver that sends first") {
    using config = paxos::multi_paxos<int, 3, 8, 1>;
    paxos_test::cluster<config> c(3);
    c.plant_skip_persist = true;  // planted fault: messages checked before persisting
    REQUIRE(c.campaign(0).ok());
    c.deliver_all();
    CHECK_FALSE(c.violation.empty());
    CHECK(c.violation.find("persist-before-send") != std::string::npos);
}

TEST_CASE("checker: the agreement check catches two values applied in one slot") {
    using config = paxos::multi_paxos<int, 3, 8, 1>;
    paxos_test::cluster<config> c(3);
    REQUIRE(c.campaign(0).ok());
    c.deliver_all();
    for (int v = 0; v < 3; ++v) REQUIRE(c.propose(0, v).ok());
    c.deliver_all();
    REQUIRE(c.settle());
    REQUIRE(c.logs_agree());
    c.plant_conflicting_entry(2, 1, 999);  // planted fault
    CHECK_FALSE(c.logs_agree());
}

TEST_CASE("fingerprint: equal histories give equal fingerprints; a vote changes it") {
    using P = probe<multi3>;
    paxos::replica<multi3> a(P::options(1)), b(P::options(1));
    CHECK(a.fingerprint() == b.fingerprint());
    for (auto* r : {&a, &b}) {
        REQUIRE(r->step(P::make(message_kind::prepare, 0, 1, P::ballot(2, 0))).ok());
        (void)P::take(*r);
    }
    CHECK(a.fingerprint() == b.fingerprint());
    const auto before = a.fingerprint();
    REQUIRE(a.step(P::make(message_kind::accept, 0, 1, P::ballot(2, 0), 0, {4})).ok());
    (void)P::take(a);
    CHECK(a.fingerprint() != before);
    REQUIRE(b.step(P::make(message_kind::accept, 0, 1, P::ballot(2, 0), 0, {5})).ok());
    (void)P::take(b);
    CHECK(a.fingerprint() != b.fingerprint());  // same slot, different value
}

TEST_CASE("rule: a preempted proposer votes first and retries after (explorer's find)") {
    // The exhaustive explorer found this with the immediate policy: an accept
    // at a higher ballot preempted node 0, whose retry started Phase 1 in the
    // middle of the accept. Its own promise report then missed the vote the
    // accept was about to cast, it voted below its new promise, and as leader
    // it filled the slot with a no-op while 200 was already chosen.
    using P = probe<immediate3>;
    paxos::replica<immediate3> r(P::options(0));
    REQUIRE(r.propose(100).ok());  // immediate: campaigns for its command at once
    const auto first = P::take(r).first(message_kind::prepare)->ballot;
    const auto rival = P::ballot(first.counter(), 1);  // node 1's ballot, just above
    REQUIRE(rival > first);

    REQUIRE(r.step(P::make(message_kind::accept, 1, 0, rival, 0, {200})).ok());
    const auto out = P::take(r);
    REQUIRE(out.count(message_kind::accepted) == 1);  // the vote for 200 is cast...
    REQUIRE(out.count(message_kind::prepare) == 1);   // ...and only then the retry
    const auto retry = out.first(message_kind::prepare)->ballot;
    CHECK(retry > rival);
    REQUIRE(r.vote(paxos::slot_id{0}).has_value());
    CHECK(r.vote(paxos::slot_id{0})->first == rival);

    // Elected with node 2's empty promise, it must re-propose 200, not a no-op.
    REQUIRE(r.step(P::promise(2, 0, retry, 0)).ok());
    REQUIRE(r.is_leader());
    const auto accepts = P::take(r);
    const auto* a = accepts.first(message_kind::accept);
    REQUIRE(a != nullptr);
    CHECK(a->slot.value == 0);
    REQUIRE(a->values.size() == 1);
    CHECK(a->values.view()[0] == 200);
}
