// Linearizable reads by read index (issue 12 item 5, core/reads.hpp): a read
// is confirmed only by a phase-2 quorum answering, in the leader's ballot, a
// heartbeat round sent after it was queued, and only once the slots the
// leader's Phase 1 recovered are chosen.
#include <doctest/doctest.h>

#include <algorithm>

#include "probe.hpp"

using paxos::message_kind;
using paxos::reason;

namespace {

using multi3 = paxos::multi_paxos<int, 3, 4, 2>;
using P = paxos_test::probe<multi3>;
using replica3 = paxos::replica<multi3>;

std::vector<paxos::read_tag> tags(const std::vector<paxos::read_ready>& reads) {
    std::vector<paxos::read_tag> out;
    for (const auto& r : reads) out.push_back(r.tag);
    return out;
}

}  // namespace

TEST_CASE("reads: only the leader takes a read, and a follower names its leader") {
    replica3 follower(P::options(1));
    CHECK(follower.read(1).code == reason::not_leader);
    REQUIRE(follower.step(P::make(message_kind::heartbeat, 0, 1, P::ballot(2, 0))).ok());
    (void)P::take(follower);
    const paxos::result r = follower.read(1);
    CHECK(r.code == reason::not_leader);
    CHECK(r.leader == paxos::node_id{0});
    CHECK_FALSE(follower.has_ready());  // a refused read leaves nothing behind
}

TEST_CASE("reads: one heartbeat round confirms every read queued before it left") {
    replica3 r(P::options(0));
    const auto b = P::elect(r, 1);
    REQUIRE(r.propose(5).ok());
    REQUIRE(r.read(10).ok());
    REQUIRE(r.read(11).ok());
    REQUIRE(r.read(12).ok());
    CHECK(r.reads_waiting() == 3);
    const auto out = P::take(r);
    CHECK(out.count(message_kind::heartbeat) == 1);  // one round for all three
    const std::uint64_t round = out.round();
    CHECK(round != 0);
    CHECK(out.reads.empty());  // nothing confirmed without an answer
    // The heartbeat vouches for nothing durable: it leaves at once.
    const auto hb = std::find_if(out.messages.begin(), out.messages.end(),
                                 [](const auto& m) { return m.kind == message_kind::heartbeat; });
    CHECK(static_cast<std::size_t>(hb - out.messages.begin()) < out.sent_now);

    // One follower's answer and the leader are a phase-2 quorum of three.
    REQUIRE(r.step(P::heartbeat_reply(2, b, round)).ok());
    const auto confirmed = P::take(r);
    CHECK(tags(confirmed.reads) == std::vector<paxos::read_tag>{10, 11, 12});
    for (const auto& rd : confirmed.reads) CHECK(rd.slot == r.chosen_end());
    CHECK(r.reads_waiting() == 0);
    // A second answer to the same round confirms nothing again.
    REQUIRE(r.step(P::heartbeat_reply(1, b, round)).ok());
    CHECK(P::take(r).reads.empty());
}

TEST_CASE("reads: the slot to serve at is the leader's chosen_end when confirmed") {
    replica3 r(P::options(0));
    const auto b = P::elect(r, 1);
    REQUIRE(r.propose(5).ok());
    (void)P::take(r);  // the accept of slot 0 leaves; our own vote is durable
    REQUIRE(r.step(P::make(message_kind::accepted, 1, 0, b, 0)).ok());
    const auto chosen = P::take(r);
    REQUIRE(chosen.chosen == std::vector<std::uint64_t>{0});
    REQUIRE(r.read(7).ok());
    const std::uint64_t round = P::take(r).round();
    REQUIRE(r.step(P::heartbeat_reply(1, b, round)).ok());
    const auto out = P::take(r);
    REQUIRE(out.reads.size() == 1);
    CHECK(out.reads[0].slot == paxos::slot_id{1});  // serve after applying slot 0
}

TEST_CASE("reads: an answer to an earlier round never confirms a later read (etcd#20418)") {
    // The same tag twice, as a client that reuses its context after a pause.
    replica3 r(P::options(0));
    const auto b = P::elect(r, 1);
    REQUIRE(r.read(7).ok());
    const std::uint64_t first = P::take(r).round();
    REQUIRE(first != 0);
    // One round in flight at a time: the second read waits for the next.
    REQUIRE(r.read(7).ok());
    CHECK(P::take(r).round() == 0);
    // The pause ends: the old round's answer arrives. It confirms the first
    // read only (the second was queued after that round left), and the
    // second read's round leaves at once.
    REQUIRE(r.step(P::heartbeat_reply(1, b, first)).ok());
    auto out = P::take(r);
    CHECK(tags(out.reads) == std::vector<paxos::read_tag>{7});
    const std::uint64_t second = out.round();
    CHECK(second > first);
    CHECK(r.reads_waiting() == 1);
    REQUIRE(r.step(P::heartbeat_reply(2, b, first)).ok());  // a late duplicate answer: nothing more
    CHECK(P::take(r).reads.empty());
    REQUIRE(r.step(P::heartbeat_reply(2, b, second)).ok());
    out = P::take(r);
    CHECK(tags(out.reads) == std::vector<paxos::read_tag>{7});
    CHECK(r.reads_waiting() == 0);
}

TEST_CASE("reads: reads queued while a round is in flight share the next one") {
    replica3 r(P::options(0));
    const auto b = P::elect(r, 1);
    REQUIRE(r.read(1).ok());
    const std::uint64_t first = P::take(r).round();
    for (paxos::read_tag t = 2; t <= 6; ++t) {
        REQUIRE(r.read(t).ok());
        CHECK(P::take(r).round() == 0);  // no round per read
    }
    REQUIRE(r.step(P::heartbeat_reply(1, b, first)).ok());
    auto out = P::take(r);
    CHECK(tags(out.reads) == std::vector<paxos::read_tag>{1});
    CHECK(out.count(message_kind::heartbeat) == 1);
    REQUIRE(r.step(P::heartbeat_reply(1, b, out.round())).ok());
    out = P::take(r);
    CHECK(tags(out.reads) == std::vector<paxos::read_tag>{2, 3, 4, 5, 6});
    CHECK(out.count(message_kind::heartbeat) == 0);  // nothing left waiting
}

TEST_CASE("reads: a lost round is made good by the next heartbeat") {
    replica3 r(P::options(0));
    const auto b = P::elect(r, 1);
    REQUIRE(r.read(1).ok());
    (void)P::take(r);  // the round is lost
    std::uint64_t round = 0;
    for (int t = 0; t < 10 && round == 0; ++t) {
        (void)r.tick();
        round = P::take(r).round();
    }
    REQUIRE(round != 0);
    REQUIRE(r.step(P::heartbeat_reply(2, b, round)).ok());
    CHECK(P::take(r).reads.size() == 1);
}

TEST_CASE("reads: answers in another ballot, or to a round never sent, count for nothing") {
    replica3 r(P::options(0));
    const auto b = P::elect(r, 1);
    REQUIRE(r.read(1).ok());
    const std::uint64_t round = P::take(r).round();
    CHECK(r.step(P::heartbeat_reply(1, P::ballot(9, 0), round)).code ==
          reason::ignored);                                                      // not our ballot
    CHECK(r.step(P::heartbeat_reply(1, b, round + 5)).code == reason::ignored);  // never sent
    CHECK(P::take(r).reads.empty());
    // A later answer to the real round still counts: the forged one left nothing.
    REQUIRE(r.step(P::heartbeat_reply(2, b, round)).ok());
    CHECK(P::take(r).reads.size() == 1);
}

TEST_CASE("reads: a leader that steps down hands back every read it holds") {
    replica3 r(P::options(0));
    (void)P::elect(r, 1);
    REQUIRE(r.read(3).ok());
    REQUIRE(r.read(4).ok());
    (void)P::take(r);
    // A higher prepare: a newer leader may have chosen writes they would miss.
    REQUIRE(r.step(P::make(message_kind::prepare, 2, 0, P::ballot(9, 2))).ok());
    const auto out = P::take(r);
    CHECK_FALSE(r.is_leader());
    CHECK(out.reads.empty());
    CHECK(out.reads_dropped == std::vector<paxos::read_tag>{3, 4});
    CHECK(r.reads_waiting() == 0);
    CHECK(r.read(5).code == reason::not_leader);
}

TEST_CASE("reads: check-quorum stepping down hands the reads back too") {
    replica3 r(P::options(0));
    (void)P::elect(r, 1);
    REQUIRE(r.read(3).ok());
    std::vector<paxos::read_tag> dropped;
    for (int t = 0; t < 40 && r.is_leader(); ++t) {
        (void)r.tick();
        const auto out = P::take(r);
        dropped.insert(dropped.end(), out.reads_dropped.begin(), out.reads_dropped.end());
    }
    CHECK_FALSE(r.is_leader());
    CHECK(dropped == std::vector<paxos::read_tag>{3});
}

TEST_CASE("reads: a new leader serves none until the slots its Phase 1 recovered are chosen") {
    replica3 r(P::options(0));
    REQUIRE(r.campaign().ok());
    const auto b = P::take(r).first(message_kind::prepare)->ballot;
    // Node 1 reports a vote in slot 0 from an older ballot: maybe chosen, and
    // maybe already acknowledged to a client by the old leader.
    REQUIRE(r.step(P::promise(1, 0, b, 0, {{0, P::ballot(0, 2), {9}}})).ok());
    REQUIRE(r.is_leader());
    (void)P::take(r);  // the re-proposal of slot 0 leaves; our vote is durable
    REQUIRE(r.read(1).ok());
    const std::uint64_t round = P::take(r).round();
    REQUIRE(r.step(P::heartbeat_reply(1, b, round)).ok());
    CHECK(P::take(r).reads.empty());  // confirmed leader, but slot 0 is not chosen yet
    CHECK(r.reads_waiting() == 1);
    REQUIRE(r.step(P::make(message_kind::accepted, 1, 0, b, 0)).ok());
    const auto out = P::take(r);
    CHECK(out.chosen == std::vector<std::uint64_t>{0});
    REQUIRE(out.reads.size() == 1);
    CHECK(out.reads[0].slot == paxos::slot_id{1});  // after the recovered write
}

TEST_CASE("reads: a full queue refuses, and room comes back once a batch is handed out") {
    replica3 r(P::options(0));
    const auto b = P::elect(r, 1);
    for (paxos::read_tag t = 0; t < replica3::reads_max; ++t) REQUIRE(r.read(t).ok());
    CHECK(r.read(999).code == reason::read_queue_full);
    const std::uint64_t round = P::take(r).round();
    REQUIRE(r.step(P::heartbeat_reply(1, b, round)).ok());
    // Confirmed but not yet handed out: still held.
    CHECK(r.read(999).code == reason::read_queue_full);
    const auto out = P::take(r);
    CHECK(out.reads.size() == replica3::reads_max);
    CHECK(r.read(999).ok());
}

TEST_CASE("reads: a leader handing over refuses reads, naming the target") {
    replica3 r(P::options(0));
    (void)P::elect(r, 1);
    REQUIRE(r.transfer_leadership(paxos::node_id{2}).ok());
    (void)P::take(r);
    const paxos::result res = r.read(1);
    CHECK(res.code == reason::not_leader);
    CHECK(res.leader == paxos::node_id{2});
}

TEST_CASE("reads: followers answer a read round even with check-quorum off, echoing it") {
    auto o = P::options(1);
    o.check_quorum = false;
    replica3 follower(o);
    const auto b = P::ballot(2, 0);
    REQUIRE(follower.step(P::make(message_kind::heartbeat, 0, 1, b, 0)).ok());
    CHECK(P::take(follower).first(message_kind::heartbeat_reply) == nullptr);  // no round
    REQUIRE(follower.step(P::make(message_kind::heartbeat, 0, 1, b, 17)).ok());
    const auto out = P::take(follower);
    const auto* rep = out.first(message_kind::heartbeat_reply);
    REQUIRE(rep != nullptr);
    CHECK(rep->slot.value == 17);
    CHECK(rep->ballot == b);
}

TEST_CASE("reads: without rounds, heartbeats carry 0 and the round counter stays put") {
    replica3 r(P::options(0));
    (void)P::elect(r, 1);
    for (int t = 0; t < 30; ++t) {
        (void)r.tick();
        const auto out = P::take(r);
        if (const auto* hb = out.first(message_kind::heartbeat)) CHECK(hb->slot.value == 0);
    }
}

TEST_CASE("reads: a leader whose own vote is a phase-2 quorum confirms at once, sending nothing") {
    // Flexible Paxos with Q1 = 3, Q2 = 1: any rival's Phase 1 needs our promise.
    using flex = paxos::flexible_paxos<int, 3, 3, 1, 4, 2>;
    using F = paxos_test::probe<flex>;
    paxos::replica<flex> r(F::options(0));
    REQUIRE(r.campaign().ok());
    const auto b = F::take(r).first(message_kind::prepare)->ballot;
    REQUIRE(r.step(F::promise(1, 0, b, 0)).ok());
    REQUIRE(r.step(F::promise(2, 0, b, 0)).ok());
    REQUIRE(r.is_leader());
    (void)F::take(r);
    REQUIRE(r.read(8).ok());
    const auto out = F::take(r);
    CHECK(out.count(message_kind::heartbeat) == 0);
    REQUIRE(out.reads.size() == 1);
    CHECK(out.reads[0].tag == 8);
}

TEST_CASE("reads: a cluster of one confirms at once") {
    using solo_config = paxos::multi_paxos<int, 1, 4, 2>;
    using S = paxos_test::probe<solo_config>;
    paxos::replica<solo_config> solo(S::options(0));
    REQUIRE(solo.campaign().ok());
    while (solo.has_ready()) solo.advance(solo.ready());
    REQUIRE(solo.is_leader());
    REQUIRE(solo.read(4).ok());
    const auto out = S::take(solo);
    REQUIRE(out.reads.size() == 1);
    CHECK(out.reads[0].tag == 4);
}
