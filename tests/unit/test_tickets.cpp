// Proposal tags (issue 12 item 6): every command propose() takes comes back
// exactly once, in the chosen entry that carries it or in the batch's
// `dropped`, with the fate the replica can prove (ready.hpp).
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "probe.hpp"

using paxos::message_kind;
using paxos::proposal_fate;
using paxos::proposal_tag;

namespace {

using multi3 = paxos::multi_paxos<int, 3, 4, 4>;
using P = paxos_test::probe<multi3>;
using replica3 = paxos::replica<multi3>;

// Replica 0 leads with ballot `b` after a promise from node 1.
struct leader_fixture {
    replica3 r{P::options(0)};
    multi3::ballot b{};

    leader_fixture() : b(P::elect(r, 1)) {}

    // Proposes 10 and 11 with tags 100 and 101 into slot 0 and sends them.
    void propose_two() {
        REQUIRE(r.propose(10, 100).ok());
        REQUIRE(r.propose(11, 101).ok());
        const auto out = P::take(r);
        REQUIRE(out.count(message_kind::accept) == 1);
        CHECK(out.dropped.empty());
    }
};

// Node 2's ballot, above ours.
multi3::ballot higher() { return P::ballot(5, 2); }

}  // namespace

TEST_CASE("tickets: a leader's chosen commands come back with their tags, in order") {
    leader_fixture f;
    f.propose_two();
    REQUIRE(f.r.step(P::make(message_kind::accepted, 1, 0, f.b, 0)).ok());
    const auto out = P::take(f.r);
    REQUIRE(out.chosen == std::vector<std::uint64_t>{0});
    CHECK(out.chosen_tags[0] == std::vector<proposal_tag>{100, 101});
    CHECK(out.dropped.empty());
}

TEST_CASE("tickets: commands that never left the open batch are lost when the leader steps down") {
    leader_fixture f;
    REQUIRE(f.r.propose(10, 100).ok());  // in the open batch: no ready() yet
    REQUIRE(f.r.step(P::make(message_kind::prepare, 2, 0, higher(), 0)).ok());
    CHECK_FALSE(f.r.is_leader());
    const auto out = P::take(f.r);
    REQUIRE(out.dropped.size() == 1);
    CHECK(out.dropped[0].tag == 100);
    CHECK(out.dropped[0].fate == proposal_fate::lost);
    CHECK(out.count(message_kind::accept) == 0);  // it never left
}

TEST_CASE("tickets: a slot chosen with other commands reports ours lost") {
    leader_fixture f;
    f.propose_two();
    REQUIRE(f.r.step(P::make(message_kind::chosen, 2, 0, higher(), 0, {99})).ok());
    const auto out = P::take(f.r);
    REQUIRE(out.chosen == std::vector<std::uint64_t>{0});
    CHECK(out.chosen_tags[0].empty());  // 99 is not ours
    REQUIRE(out.dropped.size() == 2);
    CHECK(out.dropped[0].tag == 100);
    CHECK(out.dropped[1].tag == 101);
    CHECK(out.dropped[0].fate == proposal_fate::lost);
    CHECK(out.dropped[1].fate == proposal_fate::lost);
}

TEST_CASE("tickets: a vote overwritten with other commands makes their fate unknown") {
    leader_fixture f;
    f.propose_two();
    // A newer leader proposes 99 in slot 0: our vote for 10, 11 is gone, yet
    // another acceptor may still hold it for a later leader to adopt.
    REQUIRE(f.r.step(P::make(message_kind::accept, 2, 0, higher(), 0, {99})).ok());
    const auto out = P::take(f.r);
    REQUIRE(out.dropped.size() == 2);
    CHECK(out.dropped[0].fate == proposal_fate::unknown);
    CHECK(out.dropped[1].fate == proposal_fate::unknown);
    // Learning the slot later hands nothing back a second time.
    REQUIRE(f.r.step(P::make(message_kind::heartbeat, 2, 0, higher(), 0)).ok());
    const auto later = P::take(f.r);
    (void)later;
    auto hb = P::make(message_kind::heartbeat, 2, 0, higher(), 0);
    hb.chosen_end = paxos::slot_id{1};
    REQUIRE(f.r.step(hb).ok());
    const auto learned = P::take(f.r);
    REQUIRE(learned.chosen == std::vector<std::uint64_t>{0});
    CHECK(learned.chosen_tags[0].empty());
    CHECK(learned.dropped.empty());
}

TEST_CASE(
    "tickets: a newer leader that adopts our commands gets them chosen, and the tags return") {
    leader_fixture f;
    f.propose_two();
    // Node 2 re-proposes our 10, 11 in its ballot (value adoption).
    REQUIRE(f.r.step(P::make(message_kind::accept, 2, 0, higher(), 0, {10, 11})).ok());
    CHECK_FALSE(f.r.is_leader());
    const auto voted = P::take(f.r);
    CHECK(voted.dropped.empty());
    auto hb = P::make(message_kind::heartbeat, 2, 0, higher(), 0);
    hb.chosen_end = paxos::slot_id{1};
    REQUIRE(f.r.step(hb).ok());
    const auto out = P::take(f.r);
    REQUIRE(out.chosen == std::vector<std::uint64_t>{0});
    CHECK(out.chosen_tags[0] == std::vector<proposal_tag>{100, 101});
    CHECK(out.dropped.empty());
}

TEST_CASE("tickets: a follower's chosen entries carry no tags") {
    replica3 r{P::options(1)};
    const auto b = P::ballot(1, 0);
    REQUIRE(r.step(P::make(message_kind::accept, 0, 1, b, 0, {7})).ok());
    (void)P::take(r);
    auto hb = P::make(message_kind::heartbeat, 0, 1, b, 0);
    hb.chosen_end = paxos::slot_id{1};
    REQUIRE(r.step(hb).ok());
    const auto out = P::take(r);
    REQUIRE(out.chosen == std::vector<std::uint64_t>{0});
    CHECK(out.chosen_tags[0].empty());
}

TEST_CASE("tickets: with a leader-free policy, commands queued before leading keep their tags") {
    using free3 = paxos::config<int, paxos::counter_ballot<3>, paxos::majority<3>,
                                paxos::randomized_backoff, 3, 4, 4>;
    using F = paxos_test::probe<free3>;
    paxos::replica<free3> r{F::options(0)};
    REQUIRE(r.propose(10, 100).ok());  // queued; the policy may campaign now or later
    if (r.current_role() != paxos::role::candidate) REQUIRE(r.campaign().ok());
    const auto prep = F::take(r);
    const auto b = prep.first(message_kind::prepare)->ballot;
    REQUIRE(r.step(F::promise(1, 0, b, 0)).ok());
    REQUIRE(r.is_leader());
    const auto sent = F::take(r);
    REQUIRE(sent.count(message_kind::accept) >= 1);
    const auto slot = sent.first(message_kind::accept)->slot.value;
    REQUIRE(r.step(F::make(message_kind::accepted, 1, 0, b, slot)).ok());
    const auto out = F::take(r);
    REQUIRE(out.chosen == std::vector<std::uint64_t>{slot});
    CHECK(out.chosen_tags[0] == std::vector<proposal_tag>{100});
}
