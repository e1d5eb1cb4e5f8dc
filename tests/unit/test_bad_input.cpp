// Bad input gets a clear reason and loses nothing: malformed and misaddressed
// messages, stale ballots, a full window, a full outbox, an exhausted ballot
// space, a recovery that does not fit. After each refusal the replica's state
// is unchanged (no promise raised, no vote cast, nothing queued to send).
#include <doctest/doctest.h>

#include <limits>

#include "probe.hpp"

using paxos::message_kind;
using paxos::reason;

namespace {

using multi3 = paxos::multi_paxos<int, 3, 4, 1>;
using P = paxos_test::probe<multi3>;
using replica3 = paxos::replica<multi3>;

// Steps `m` into a fresh acceptor (node 1) and checks that it was refused with
// `expected` and left no trace.
void expect_refused(const P::message_type& m, reason expected) {
    INFO("kind " << static_cast<int>(m.kind) << " from " << m.from.value << " ballot "
                 << m.ballot.raw());
    replica3 r(P::options(1));
    const auto res = r.step(m);
    CHECK(res.code == expected);
    CHECK_FALSE(r.has_ready());
    CHECK(r.promised().is_zero());
    CHECK_FALSE(r.vote(paxos::slot_id{0}).has_value());
}

}  // namespace

TEST_CASE("bad input: unknown senders are refused") {
    expect_refused(P::make(message_kind::prepare, 7, 1, P::ballot(1, 7)), reason::unknown_sender);
    // A message claiming to come from ourselves.
    expect_refused(P::make(message_kind::prepare, 1, 1, P::ballot(1, 1)), reason::unknown_sender);
}

TEST_CASE("bad input: a message for another node is refused") {
    expect_refused(P::make(message_kind::prepare, 0, 2, P::ballot(1, 0)),
                   reason::wrong_destination);
}

TEST_CASE("bad input: malformed messages are refused, never trusted") {
    auto m = P::make(message_kind::prepare, 0, 1, P::ballot(1, 0));
    m.kind = static_cast<message_kind>(0);
    expect_refused(m, reason::malformed);
    m.kind = static_cast<message_kind>(200);
    expect_refused(m, reason::malformed);
    // A proposer message must carry the sender's own ballot.
    expect_refused(P::make(message_kind::prepare, 0, 1, P::ballot(1, 2)), reason::malformed);
    expect_refused(P::make(message_kind::accept, 0, 1, P::ballot(1, 2), 0, {1}), reason::malformed);
    expect_refused(P::make(message_kind::heartbeat, 0, 1, P::ballot_type{}), reason::malformed);
    // Answers must be to one of our ballots.
    expect_refused(P::make(message_kind::accepted, 0, 1, P::ballot(1, 0)), reason::malformed);
    expect_refused(P::promise(0, 1, P::ballot(1, 2), 0), reason::malformed);
    // A reported vote at or above the promise it travels with.
    expect_refused(P::promise(0, 1, P::ballot(1, 1), 0, {{0, P::ballot(1, 1), {3}}}),
                   reason::malformed);
    // A reported "vote" with no ballot and no chosen flag.
    expect_refused(P::promise(0, 1, P::ballot(1, 1), 0, {{0, P::ballot_type{}, {3}}}),
                   reason::malformed);
    // Votes out of slot order, or below the first slot asked.
    expect_refused(P::promise(0, 1, P::ballot(2, 1), 0,
                              {{2, P::ballot(1, 0), {3}}, {1, P::ballot(1, 0), {4}}}),
                   reason::malformed);
    expect_refused(P::promise(0, 1, P::ballot(2, 1), 3, {{1, P::ballot(1, 0), {3}}}),
                   reason::malformed);
    // Values the votes do not account for, and a part beyond the parts.
    auto extra = P::promise(0, 1, P::ballot(2, 1), 0, {{1, P::ballot(1, 0), {3}}});
    extra.values.push_back(4);
    expect_refused(extra, reason::malformed);
    expect_refused(P::promise(0, 1, P::ballot(2, 1), 0, {}, 1, 1), reason::malformed);
    expect_refused(P::promise(0, 1, P::ballot(2, 1), 0, {}, 0, 0), reason::malformed);
    // A body where the kind has none.
    expect_refused(P::make(message_kind::accepted, 0, 1, P::ballot(1, 1), 0, {3}),
                   reason::malformed);
    expect_refused(P::make(message_kind::reject, 0, 1, P::ballot_type{}), reason::malformed);
}

TEST_CASE("bad input: a ballot owned by a node outside the cluster is malformed") {
    // The ballot space (8 node ids) is wider than the cluster (3 nodes).
    using wide = paxos::config<int, paxos::counter_ballot<8>, paxos::majority<3>,
                               paxos::stable_leader, 3, 4, 1>;
    using W = paxos_test::probe<wide>;
    paxos::replica<wide> r(W::options(1));
    CHECK(r.step(W::make(message_kind::reject, 0, 1, W::ballot(2, 6))).code == reason::malformed);
    CHECK(r.step(W::make(message_kind::prepare, 0, 1, W::ballot(2, 6))).code == reason::malformed);
    CHECK_FALSE(r.has_ready());
}

TEST_CASE("bad input: a stale ballot is rejected and the promise stands") {
    replica3 r(P::options(1));
    CHECK(r.step(P::make(message_kind::prepare, 2, 1, P::ballot(5, 2))).ok());
    (void)P::take(r);
    CHECK(r.step(P::make(message_kind::accept, 0, 1, P::ballot(4, 0), 0, {1})).code ==
          reason::stale_ballot);
    const auto out = P::take(r);
    CHECK(out.accepted.empty());
    CHECK_FALSE(out.promised_changed);
    REQUIRE(out.count(message_kind::reject) == 1);
    CHECK(out.first(message_kind::reject)->to == paxos::node_id{0});
    CHECK(r.promised() == P::ballot(5, 2));
}

TEST_CASE("bad input: a full window refuses proposals until chosen slots are applied") {
    replica3 r(P::options(0));
    REQUIRE(r.campaign().ok());
    const auto b = P::take(r).first(message_kind::prepare)->ballot;
    REQUIRE(r.step(P::promise(1, 0, b, 0)).ok());
    (void)P::take(r);
    for (int v = 0; v < 4; ++v) {
        REQUIRE(r.propose(v).ok());
        (void)P::take(r);  // seals the slot
    }
    CHECK(r.propose(99).code == reason::window_full);
    // Slot 0 chosen and applied: one slot frees up.
    REQUIRE(r.step(P::make(message_kind::accepted, 1, 0, b, 0)).ok());
    const auto out = P::take(r);
    CHECK(out.chosen == std::vector<std::uint64_t>{0});
    CHECK(r.propose(99).ok());
}

TEST_CASE("bad input: a full outbox refuses the input without consuming it") {
    replica3 r(P::options(1));
    std::uint64_t counter = 1;
    paxos::result res{};
    // Higher and higher prepares without draining: each queues a promise.
    while ((res = r.step(P::make(message_kind::prepare, 0, 1, P::ballot(counter, 0)))).ok()) {
        ++counter;
        REQUIRE(counter < 1000);
    }
    CHECK(res.code == reason::outbox_full);
    const auto promised_before = r.promised();
    CHECK(promised_before == P::ballot(counter - 1, 0));  // the refused one left no trace
    const auto out = P::take(r);
    CHECK(out.count(message_kind::promise) == counter - 1);
    CHECK(r.step(P::make(message_kind::prepare, 0, 1, P::ballot(counter, 0))).ok());
}

TEST_CASE("bad input: an exhausted ballot space is an error, never a wrap") {
    replica3 r(P::options(1));
    replica3::recovery rec{};
    rec.promised = P::ballot_type::from_raw(std::numeric_limits<std::uint64_t>::max() - 1);
    REQUIRE(r.restore(rec).ok());
    const auto res = r.campaign();
    CHECK(res.code == reason::ballot_exhausted);
    CHECK(r.current_role() == paxos::role::follower);
    CHECK_FALSE(r.has_ready());
}

TEST_CASE("bad input: a recovery whose votes do not fit the window is refused") {
    replica3 r(P::options(1));
    const int value = 5;
    replica3::record_type vote{paxos::slot_id{9}, P::ballot(1, 0), std::span<const int>(&value, 1)};
    replica3::recovery rec{};
    rec.promised = P::ballot(1, 0);
    rec.first_unapplied = paxos::slot_id{0};  // window [0, 4) cannot hold slot 9
    rec.accepted = std::span<const replica3::record_type>(&vote, 1);
    CHECK(r.restore(rec).code == reason::slot_out_of_window);
    rec.first_unapplied = paxos::slot_id{8};
    replica3 again(P::options(1));
    REQUIRE(again.restore(rec).ok());
    REQUIRE(again.vote(paxos::slot_id{9}).has_value());
    CHECK(again.vote(paxos::slot_id{9})->first == P::ballot(1, 0));
}

TEST_CASE("bad input: answers to a ballot left behind are ignored") {
    replica3 r(P::options(0));
    REQUIRE(r.campaign().ok());
    const auto old = P::take(r).first(message_kind::prepare)->ballot;
    REQUIRE(r.campaign().ok());  // a second Phase 1, higher ballot
    (void)P::take(r);
    CHECK(r.step(P::promise(1, 0, old, 0)).code == reason::ignored);
    CHECK_FALSE(r.is_leader());
}

TEST_CASE("bad input: the worst single input fits the outbox bound it is checked against") {
    // The input that queues the most: a higher prepare at a leader whose
    // policy retries at once (immediate) and whose phase-1 quorum is itself
    // alone (Q1 = 1). It promises with every open slot's vote in one
    // message, then wins Phase 1 again at once and re-proposes every slot:
    // W + 3 messages and 2W values, within the bounds the room check asks
    // for (every input asserts on return that it kept to them).
    using q1 = paxos::config<int, paxos::counter_ballot<3>, paxos::flexible<3, 1, 3>,
                             paxos::immediate, 3, 4, 1>;
    using Q = paxos_test::probe<q1>;
    constexpr std::size_t window = q1::window_slots;
    paxos::replica<q1> r(Q::options(0));
    for (int v = 0; v < static_cast<int>(window); ++v) REQUIRE(r.propose(v).ok());
    REQUIRE(r.is_leader());
    (void)Q::take(r);
    const auto before = r.ballot();
    REQUIRE(
        r.step(Q::make(message_kind::prepare, 1, 0, Q::ballot(before.raw() / 3 + 1, 1), 0)).ok());
    const auto b = Q::take(r);
    CHECK(r.is_leader());
    CHECK(r.ballot() > Q::ballot(before.raw() / 3 + 1, 1));
    REQUIRE(b.count(message_kind::promise) == 1);
    CHECK(b.first(message_kind::promise)->votes.size() == window);
    CHECK(b.count(message_kind::accept) == window);
    CHECK(b.messages.size() == window + 3);
    CHECK(b.messages.size() <= paxos::replica<q1>::messages_per_input_max);
    std::size_t values = 0;
    for (const auto& m : b.messages) values += m.values.size();
    CHECK(values == 2 * window);
    CHECK(values <= paxos::replica<q1>::values_per_input_max);
}

TEST_CASE("bad input: a request below the window is listed in the batch for the driver") {
    replica3 r(P::options(1));
    for (std::uint64_t s = 0; s < 8; ++s) {
        REQUIRE(r.step(P::make(message_kind::chosen, 0, 1, P::ballot_type{}, s, {int(s)})).ok());
        (void)P::take(r);
    }
    REQUIRE(r.window_base() == paxos::slot_id{4});
    // Two learners behind the window, one asking twice: one entry per peer,
    // from the lowest slot asked, up to the window's base.
    CHECK(r.step(P::make(message_kind::learn_request, 2, 1, P::ballot_type{}, 3)).code ==
          reason::slot_compacted);
    CHECK(r.step(P::make(message_kind::learn_request, 2, 1, P::ballot_type{}, 1)).code ==
          reason::slot_compacted);
    CHECK(r.step(P::make(message_kind::learn_request, 0, 1, P::ballot_type{}, 2)).code ==
          reason::slot_compacted);
    const auto& rd = r.ready();
    REQUIRE(rd.catch_up.size() == 2);
    CHECK(rd.catch_up[0].peer == paxos::node_id{2});
    CHECK(rd.catch_up[0].from == paxos::slot_id{1});
    CHECK(rd.catch_up[0].to == paxos::slot_id{4});
    CHECK(rd.catch_up[1].peer == paxos::node_id{0});
    CHECK(rd.catch_up[1].from == paxos::slot_id{2});
    // What the window still holds went out as messages, but only what the
    // learner's window can take: a window's worth from the slot it asked
    // ([4, 7), [4, 5) and [4, 6)); a broadcast goes to every other member.
    std::size_t chosen_sent = 0;
    for (const auto& m : rd.send_now) chosen_sent += m.kind == message_kind::chosen ? 1 : 0;
    CHECK(rd.send_after_sync.empty());  // chosen notices vouch for nothing durable
    CHECK(chosen_sent == 3 + 1 + 2);
    CHECK(rd.peers.size() == 2);
    CHECK_FALSE(rd.peers.contains(paxos::node_id{1}));
    r.advance(rd);
    CHECK_FALSE(r.has_ready());
}
