// Leadership transfer (issue 12 item 4): the leader stops taking commands,
// names the target in not_leader, and the target starts Phase 1 at once
// (past the probe and the others' stickiness); a transfer the target does
// not complete is dropped after one check-quorum period.
#include <doctest/doctest.h>

#include "probe.hpp"

using paxos::message_kind;
using paxos::reason;

namespace {

using multi3 = paxos::multi_paxos<int, 3, 4, 2>;
using P = paxos_test::probe<multi3>;
using replica3 = paxos::replica<multi3>;

}  // namespace

TEST_CASE("transfer: the leader hands over; the target campaigns at once and wins") {
    replica3 leader(P::options(0));
    const auto b = P::elect(leader, 1);
    replica3 target(P::options(1));
    replica3 other(P::options(2));
    // Both followers hear the leader: they would refuse any probe now.
    for (replica3* f : {&target, &other}) {
        REQUIRE(f->step(P::make(message_kind::accept, 0, f->self().value, b, 0, {7})).ok());
        (void)P::take(*f);
    }
    REQUIRE(leader.propose(8).ok());  // in the open batch: proposed, not lost, by the transfer
    const auto r = leader.transfer_leadership(paxos::node_id{1});
    REQUIRE(r.ok());
    CHECK(r.leader == paxos::node_id{1});
    const auto sent = P::take(leader);
    REQUIRE(sent.first(message_kind::transfer) != nullptr);
    CHECK(sent.first(message_kind::transfer)->to == paxos::node_id{1});
    CHECK(sent.count(message_kind::accept) == 1);  // the open batch, sealed
    // No more commands: not_leader, naming the target.
    const auto refused = leader.propose(9);
    CHECK(refused.code == reason::not_leader);
    CHECK(refused.leader == paxos::node_id{1});
    // The target starts Phase 1 at once with a ballot above the leader's;
    // the other follower promises it although it just heard the leader.
    REQUIRE(target.step(*sent.first(message_kind::transfer)).ok());
    CHECK(target.current_role() == paxos::role::candidate);
    const auto prep = P::take(target);
    const auto* prepare = prep.first(message_kind::prepare);
    REQUIRE(prepare != nullptr);
    CHECK(prepare->ballot > b);
    REQUIRE(other.step(*prepare).ok());
    const auto promise = P::take(other);
    REQUIRE(promise.first(message_kind::promise) != nullptr);
    REQUIRE(target.step(*promise.first(message_kind::promise)).ok());
    CHECK(target.is_leader());
    // The old leader steps down at the new ballot, as for any higher one.
    (void)leader.step(*prepare);
    CHECK_FALSE(leader.is_leader());
    CHECK(leader.transferring_to() == paxos::node_id::none());
}

TEST_CASE("transfer: a target that does not take over: the leader leads on after one period") {
    replica3 leader(P::options(0));
    (void)P::elect(leader, 1);
    REQUIRE(leader.transfer_leadership(paxos::node_id{2}).ok());
    (void)P::take(leader);
    CHECK(leader.propose(1).code == reason::not_leader);
    for (int t = 0; t < 20; ++t) {
        (void)leader.tick();
        (void)P::take(leader);
        // Followers answer, so check-quorum keeps it leader meanwhile.
        (void)leader.step(P::make(message_kind::heartbeat_reply, 1, 0, leader.ballot()));
    }
    CHECK(leader.is_leader());
    CHECK(leader.transferring_to() == paxos::node_id::none());
    CHECK(leader.propose(1).ok());
}

TEST_CASE("transfer: refused where it cannot be done, and ignored from a stale leader") {
    replica3 follower(P::options(1));
    CHECK(follower.transfer_leadership(paxos::node_id{2}).code == reason::not_leader);
    replica3 leader(P::options(0));
    (void)P::elect(leader, 1);
    CHECK(leader.transfer_leadership(paxos::node_id{0}).code == reason::unknown_sender);
    CHECK(leader.transfer_leadership(paxos::node_id{7}).code == reason::unknown_sender);
    // A transfer from a leader whose ballot is below our promise is moot.
    REQUIRE(follower.step(P::make(message_kind::prepare, 2, 1, P::ballot(9, 2))).ok());
    (void)P::take(follower);
    CHECK(follower.step(P::make(message_kind::transfer, 0, 1, P::ballot(3, 0))).code ==
          reason::ignored);
    CHECK(follower.current_role() == paxos::role::follower);
}
