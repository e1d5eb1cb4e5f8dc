// Five sequences an independent driver found by using only the public API
// (issue 15). Each ended in a PAXOS_ASSERT (a process abort) or in a durable
// record that broke the ready contract; each is now an operating case with a
// defined answer:
//
//   1. a stale leader learns, from a zero-ballot answer, that a newer leader
//      chose a slot it was about to use: it steps down (no abort);
//   2. a vote record names the vote as cast, even when the slot was chosen
//      with another value before the record was handed out;
//   3. restore() takes the promise as the highest of the stored promise and
//      every vote's ballot, and refuses inconsistent recoveries;
//   4. slots stop below slot_id::limit: refused at restore, in messages, and
//      at the last slot (slot_exhausted);
//   5. a chosen message that contradicts a chosen slot is refused with
//      contradicts_chosen, and nothing changes.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "cluster.hpp"
#include "probe.hpp"

using paxos::message_kind;
using paxos::node_id;
using paxos::reason;
using paxos::slot_id;

namespace {

using multi3 = paxos::multi_paxos<int, 3, 4, 1>;
using multi5 = paxos::multi_paxos<int, 5, 4, 1>;
using P3 = paxos_test::probe<multi3>;
using P5 = paxos_test::probe<multi5>;
using replica3 = paxos::replica<multi3>;
using replica5 = paxos::replica<multi5>;
using cluster3 = paxos_test::cluster<multi3>;

// Removes and returns the first in-flight message from `from` to `to` of kind `k`.
std::optional<cluster3::envelope> take(cluster3& c, std::uint16_t from, std::uint16_t to,
                                       message_kind k) {
    auto& q = c.in_flight();
    for (std::size_t i = 0; i < q.size(); ++i) {
        const auto& e = q[i];
        if (e.message.from.value == from && e.to.value == to && e.message.kind == k) {
            cluster3::envelope out = e;
            q.erase(q.begin() + static_cast<std::ptrdiff_t>(i));
            return out;
        }
    }
    return std::nullopt;
}

// Delivers every in-flight message whose endpoints `allowed` accepts and drops
// the rest; bounded in count.
template <class Allowed>
void deliver_only(cluster3& c, Allowed allowed, std::size_t max = 1000) {
    for (std::size_t n = 0; n < max && !c.in_flight().empty(); ++n) {
        const auto& e = c.in_flight().front();
        if (allowed(e.message.from.value, e.to.value)) {
            (void)c.deliver(0);
        } else {
            c.in_flight().erase(c.in_flight().begin());
        }
    }
    REQUIRE(c.in_flight().empty());
}

// Sequence 1 up to the point where node 0 still believes it leads at 1.0,
// node 1 has chosen 111 in slot 0 at 1.1, and node 0's learn_request to
// node 1 (sent right after its restart) is still held.
cluster3::envelope stale_leader_setup(cluster3& c) {
    c.restart(0);  // restarts empty: its first tick asks what it missed
    (void)c.node(0).tick();
    c.drain(0);
    const auto held = take(c, 0, 1, message_kind::learn_request);
    REQUIRE(held.has_value());
    c.in_flight().clear();

    // Node 0 runs Phase 1 at 1.0 with node 2 only.
    REQUIRE(c.campaign(0).ok());
    deliver_only(c, [](std::uint16_t from, std::uint16_t to) { return from != 1 && to != 1; });
    REQUIRE(c.node(0).is_leader());
    REQUIRE(c.node(0).ballot() == P3::ballot(1, 0));

    // Node 1 runs Phase 1 at 1.1 with node 2 only; node 0 hears nothing of it,
    // then node 1 gets 111 chosen in slot 0.
    const auto isolated = [](std::uint16_t from, std::uint16_t to) { return from != 0 && to != 0; };
    REQUIRE(c.campaign(1).ok());
    deliver_only(c, isolated);
    REQUIRE(c.node(1).is_leader());
    REQUIRE(c.propose(1, 111).ok());
    deliver_only(c, isolated);
    REQUIRE(c.node(1).chosen_end() == slot_id{1});
    REQUIRE(c.node(0).is_leader());  // still believes it leads
    return *held;
}

}  // namespace

TEST_CASE("outside driver 1: a stale leader that learns a newer leader's choice steps down") {
    cluster3 c(3);
    const cluster3::envelope held = stale_leader_setup(c);

    // The held learn_request reaches node 1, whose answer (a chosen message
    // with a zero ballot) reaches node 0.
    REQUIRE(c.node(1).step(held.message).ok());
    c.drain(1);
    const auto answer = take(c, 1, 0, message_kind::chosen);
    REQUIRE(answer.has_value());
    CHECK(answer->message.ballot.is_zero());
    // The answer says which ballot chose the value.
    CHECK(answer->message.accepted_ballot == P3::ballot(1, 1));
    c.in_flight().clear();
    CHECK(c.node(0).step(answer->message).ok());
    c.drain(0);
    CHECK_FALSE(c.node(0).is_leader());
    CHECK(c.node(0).leader() == node_id{1});
    CHECK(c.node(0).applied_end() == slot_id{1});

    // A client proposing at node 0 is redirected instead of aborting it.
    const paxos::result r = c.propose(0, 222);
    CHECK(r.code == reason::not_leader);
    CHECK(r.leader == node_id{1});
    CHECK(c.logs_agree());
    CHECK(c.violation.empty());
}

TEST_CASE("outside driver 1: without the ballot, a choice in an unused slot still deposes") {
    cluster3 c(3);
    (void)stale_leader_setup(c);
    // A repeat from a replica that learned slot 0 without its ballot.
    auto m = P3::make(message_kind::chosen, 2, 0, P3::ballot_type{}, 0, {111});
    REQUIRE(m.accepted_ballot.is_zero());
    CHECK(c.node(0).step(m).ok());
    c.drain(0);
    CHECK_FALSE(c.node(0).is_leader());
    CHECK(c.node(0).leader() == node_id::none());
    CHECK(c.propose(0, 222).code == reason::not_leader);
    // Its next ballot beats 1.1 only after it hears of it; a campaign still
    // starts cleanly and agreement holds throughout.
    CHECK(c.campaign(0).ok());
    c.deliver_all();
    CHECK(c.logs_agree());
    CHECK(c.violation.empty());
}

TEST_CASE("outside driver 1: a leader's own proposal learned from a repeat does not depose it") {
    cluster3 c(3);
    REQUIRE(c.campaign(0).ok());
    c.deliver_all();
    REQUIRE(c.node(0).is_leader());
    REQUIRE(c.propose(0, 5).ok());
    // The accepts go out; before any accepted returns, a repeat of the same
    // value for the same slot arrives (zero ballot, ballot unknown).
    c.in_flight().clear();
    CHECK(c.node(0).step(P3::make(message_kind::chosen, 2, 0, P3::ballot_type{}, 0, {5})).ok());
    CHECK(c.node(0).is_leader());
    // A repeat naming a ballot above ours does depose it.
    auto newer = P3::make(message_kind::chosen, 2, 0, P3::ballot_type{}, 1, {6});
    newer.accepted_ballot = P3::ballot(2, 1);
    CHECK(c.node(0).step(newer).ok());
    CHECK_FALSE(c.node(0).is_leader());
    CHECK(c.node(0).leader() == node_id{1});
}

TEST_CASE("outside driver 2: a vote record is the vote as cast") {
    // 5 nodes; node 3 voted 100 at 1.4 and, before its next ready(), learns
    // that 200 was chosen in slot 0 at 2.0.
    replica5 r(P5::options(3));
    REQUIRE(r.step(P5::make(message_kind::prepare, 4, 3, P5::ballot(1, 4), 0)).ok());
    (void)P5::take(r);
    REQUIRE(r.step(P5::make(message_kind::accept, 4, 3, P5::ballot(1, 4), 0, {100})).ok());
    REQUIRE(r.step(P5::make(message_kind::chosen, 0, 3, P5::ballot(2, 0), 0, {200})).ok());

    const auto& rd = r.ready();
    REQUIRE(rd.accepted.size() == 1);
    CHECK(rd.accepted[0].slot == slot_id{0});
    CHECK(rd.accepted[0].ballot == P5::ballot(1, 4));
    REQUIRE(rd.accepted[0].values.size() == 1);
    CHECK(rd.accepted[0].values[0] == 100);  // the vote cast, not the chosen value
    REQUIRE(rd.chosen.size() == 1);
    REQUIRE(rd.chosen[0].values.size() == 1);
    CHECK(rd.chosen[0].values[0] == 200);
    // The accepted for 1.4 still leaves, behind the durable vote it reports.
    bool accepted_sent = false;
    for (const auto& m : rd.send_after_sync) accepted_sent |= m.kind == message_kind::accepted;
    CHECK(accepted_sent);
    r.advance(rd);

    // From then on the slot reports the chosen value, flagged chosen.
    REQUIRE(r.step(P5::make(message_kind::prepare, 1, 3, P5::ballot(3, 1), 0)).ok());
    const auto b = P5::take(r);
    const auto* e = b.first(message_kind::promise);
    REQUIRE(e != nullptr);
    REQUIRE(e->votes.size() == 1);
    CHECK(e->votes[0].chosen);
    REQUIRE(e->values.size() == 1);
    CHECK(e->values[0] == 200);
    // A learner asking for slot 0 is told 200, chosen at 2.0.
    REQUIRE(r.step(P5::make(message_kind::learn_request, 2, 3, P5::ballot_type{}, 0)).ok());
    const auto answer = P5::take(r);
    const auto* c = answer.first(message_kind::chosen);
    REQUIRE(c != nullptr);
    CHECK(c->accepted_ballot == P5::ballot(2, 0));
    REQUIRE(c->values.size() == 1);
    CHECK(c->values[0] == 200);
}

TEST_CASE("outside driver 2: a vote that agrees with the chosen value is recorded once") {
    replica5 r(P5::options(3));
    REQUIRE(r.step(P5::make(message_kind::accept, 4, 3, P5::ballot(1, 4), 0, {100})).ok());
    REQUIRE(r.step(P5::make(message_kind::chosen, 4, 3, P5::ballot(1, 4), 0, {100})).ok());
    const auto& rd = r.ready();
    REQUIRE(rd.accepted.size() == 1);
    CHECK(rd.accepted[0].values[0] == 100);
    REQUIRE(rd.chosen.size() == 1);
    CHECK(rd.chosen[0].values[0] == 100);
    r.advance(rd);
}

TEST_CASE("outside driver 3: restore takes the promise from the votes too") {
    const int seven[] = {7};
    const replica3::record_type votes[] = {{slot_id{0}, P3::ballot(5, 2), seven}};
    replica3::recovery rec{};
    rec.promised = P3::ballot(4, 0);
    rec.accepted = votes;
    replica3 r(P3::options(1));
    REQUIRE(r.restore(rec).ok());
    CHECK(r.promised() == P3::ballot(5, 2));
    // So a prepare at 5.0 (below the vote) is refused...
    CHECK(r.step(P3::make(message_kind::prepare, 0, 1, P3::ballot(5, 0), 0)).code ==
          reason::stale_ballot);
    // ...and one above it sees the vote.
    REQUIRE(r.step(P3::make(message_kind::prepare, 0, 1, P3::ballot(6, 0), 0)).ok());
    const auto b = P3::take(r);
    const auto* e = b.first(message_kind::promise);
    REQUIRE(e != nullptr);
    REQUIRE(e->votes.size() == 1);
    CHECK(e->votes[0].ballot == P3::ballot(5, 2));
}

TEST_CASE("outside driver 3: inconsistent recoveries are refused, and nothing changes") {
    const int seven[] = {7};
    const int eight[] = {8};
    replica3 r(P3::options(1));

    SUBCASE("votes for one slot whose ballots go down") {
        const replica3::record_type votes[] = {{slot_id{0}, P3::ballot(5, 2), seven},
                                               {slot_id{0}, P3::ballot(4, 2), eight}};
        replica3::recovery rec{};
        rec.accepted = votes;
        CHECK(r.restore(rec).code == reason::bad_recovery);
    }
    SUBCASE("a vote with a zero ballot") {
        const replica3::record_type votes[] = {{slot_id{0}, P3::ballot_type{}, seven}};
        replica3::recovery rec{};
        rec.accepted = votes;
        CHECK(r.restore(rec).code == reason::bad_recovery);
    }
    SUBCASE("a ballot owned by no node of the cluster") {
        // Ballots with room for 5 nodes, in a cluster of 3.
        using wide = paxos::config<int, paxos::counter_ballot<5>, paxos::majority<3>,
                                   paxos::stable_leader, 5, 4, 1>;
        paxos::replica<wide> w(paxos_test::probe<wide>::options(1));
        paxos::replica<wide>::recovery rec{};
        rec.promised = paxos_test::probe<wide>::ballot(3, 4);
        CHECK(w.restore(rec).code == reason::bad_recovery);
        rec.promised = paxos_test::probe<wide>::ballot(3, 2);
        CHECK(w.restore(rec).ok());
    }
    // Refused, the replica is still fresh: a correct recovery is accepted.
    CHECK(r.promised().is_zero());
    CHECK_FALSE(r.has_ready());
    const replica3::record_type good[] = {{slot_id{0}, P3::ballot(5, 2), seven}};
    replica3::recovery ok{};
    ok.accepted = good;
    CHECK(r.restore(ok).ok());
}

TEST_CASE("outside driver 4: slot numbers stop below slot_id::limit") {
    constexpr std::uint64_t limit = slot_id::limit;
    SUBCASE("restore refuses a first slot past the limit, and votes at it") {
        replica3 r(P3::options(1));
        replica3::recovery rec{};
        rec.first_unapplied = slot_id{~std::uint64_t{0} - 1};  // 2^64 - 2
        CHECK(r.restore(rec).code == reason::bad_recovery);
        const int seven[] = {7};
        const replica3::record_type votes[] = {{slot_id{limit}, P3::ballot(1, 0), seven}};
        rec.first_unapplied = slot_id{limit - 1};
        rec.accepted = votes;
        CHECK(r.restore(rec).code == reason::bad_recovery);
    }
    SUBCASE("messages naming a slot at or past the limit are malformed") {
        replica3 r(P3::options(1));
        CHECK(r.step(P3::make(message_kind::chosen, 0, 1, P3::ballot_type{}, limit, {1})).code ==
              reason::malformed);
        auto hb = P3::make(message_kind::heartbeat, 0, 1, P3::ballot(1, 0));
        hb.chosen_end = slot_id{limit + 1};
        CHECK(r.step(hb).code == reason::malformed);
        CHECK_FALSE(r.has_ready());
    }
    SUBCASE("the last slots are chosen, then a leader reports slot_exhausted") {
        replica3 r(P3::options(0));
        replica3::recovery rec{};
        rec.first_unapplied = slot_id{limit - 2};
        REQUIRE(r.restore(rec).ok());
        for (std::uint64_t s = limit - 2; s < limit; ++s) {
            CHECK(r.step(P3::make(message_kind::chosen, 1, 0, P3::ballot_type{}, s, {1})).ok());
        }
        (void)P3::take(r);
        CHECK(r.chosen_end() == slot_id{limit});
        REQUIRE(r.campaign().ok());
        const auto b = P3::take(r);
        const auto* prepare = b.first(message_kind::prepare);
        REQUIRE(prepare != nullptr);
        REQUIRE(r.step(P3::promise(1, 0, prepare->ballot, limit)).ok());
        REQUIRE(r.is_leader());
        (void)P3::take(r);
        CHECK(r.propose(9).code == reason::slot_exhausted);
        CHECK_FALSE(r.has_ready());
    }
}

TEST_CASE("outside driver 5: a chosen message that contradicts a chosen slot is refused") {
    replica3 r(P3::options(1));
    REQUIRE(r.step(P3::make(message_kind::chosen, 0, 1, P3::ballot_type{}, 0, {7})).ok());
    (void)P3::take(r);
    const auto before = r.fingerprint();
    // Another value for the same slot, from a repeat or from a leader.
    CHECK(r.step(P3::make(message_kind::chosen, 2, 1, P3::ballot_type{}, 0, {8})).code ==
          reason::contradicts_chosen);
    CHECK(r.step(P3::make(message_kind::chosen, 2, 1, P3::ballot(9, 2), 0, {8})).code ==
          reason::contradicts_chosen);
    CHECK_FALSE(r.has_ready());
    CHECK(r.leader() == node_id::none());
    CHECK(r.fingerprint() == before);
    // The same value again is only moot.
    CHECK(r.step(P3::make(message_kind::chosen, 2, 1, P3::ballot_type{}, 0, {7})).code ==
          reason::ignored);
}

TEST_CASE("outside driver 5: a promise that contradicts a chosen slot is never counted") {
    replica3 r(P3::options(0));
    REQUIRE(r.step(P3::make(message_kind::chosen, 1, 0, P3::ballot_type{}, 0, {7})).ok());
    (void)P3::take(r);
    // Phase 1 from slot 1; node 1 reports slot 1 chosen with 5 (fine), node 2
    // reports it chosen with 6 after that: refused.
    REQUIRE(r.campaign().ok());
    const auto b = P3::take(r);
    const auto ballot = b.first(message_kind::prepare)->ballot;
    CHECK(r.step(P3::promise(1, 0, ballot, 1, {{1, P3::ballot_type{}, {5}, true}})).ok());
    CHECK(r.step(P3::promise(2, 0, ballot, 1, {{1, P3::ballot_type{}, {6}, true}})).code ==
          reason::contradicts_chosen);
}
