// tests/jepsen/test_linearizability.cpp: the checker on hand-written histories.
//
// Linearizable ones (overlapping ops, cas chains, unknown ops that did and did
// not take effect), then planted violations, each of a kind shipped systems
// had: a stale read, a lost acknowledged write, a cas that swapped twice from
// the same value, a read of a value never written, two readers that see time
// go backwards, a failed write that was seen. A checker that cannot fail
// proves nothing, so each violation must be found and reported with its key
// and the op that could not be placed.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "linearizability.hpp"

namespace {

using jepsen::outcome;
using jepsen::verdict;

constexpr jepsen::value nil{};

// Shorthands on key "x".
jepsen::operation w(std::uint64_t c, std::int64_t inv, std::int64_t comp, jepsen::value v,
                    outcome o = outcome::ok) {
    return jepsen::make_write(c, "x", inv, comp, v, o);
}
jepsen::operation r(std::uint64_t c, std::int64_t inv, std::int64_t comp, jepsen::value v) {
    return jepsen::make_read(c, "x", inv, comp, v);
}
jepsen::operation cas(std::uint64_t c, std::int64_t inv, std::int64_t comp, jepsen::value from,
                      jepsen::value to, bool swapped, outcome o = outcome::ok) {
    return jepsen::make_cas(c, "x", inv, comp, from, to, swapped, o);
}
jepsen::operation unknown_write(std::uint64_t c, std::int64_t inv, jepsen::value v) {
    return w(c, inv, jepsen::never, v, outcome::unknown);
}

verdict verdict_of(const std::vector<jepsen::operation>& h) { return jepsen::check(h).result; }

}  // namespace

TEST_CASE("linearizable: an empty history, and ops one after another") {
    CHECK(verdict_of({}) == verdict::linearizable);
    CHECK(verdict_of({r(1, 0, 1, nil)}) == verdict::linearizable);
    CHECK(verdict_of({w(1, 0, 1, 1), r(1, 2, 3, 1), w(2, 4, 5, 2), r(1, 6, 7, 2)}) ==
          verdict::linearizable);
    // A delete is a write of nil.
    CHECK(verdict_of({w(1, 0, 1, 1), w(1, 2, 3, nil), r(2, 4, 5, nil)}) == verdict::linearizable);
}

TEST_CASE("linearizable: reads overlapping a write may see either value") {
    // The write takes effect somewhere in [0, 10]; reads inside it may see
    // the old value and then the new, in real-time order.
    CHECK(verdict_of({w(1, 0, 10, 1), r(2, 1, 2, nil), r(3, 3, 4, 1), r(2, 5, 6, 1)}) ==
          verdict::linearizable);
    // Two reads that overlap each other and the write see different values.
    CHECK(verdict_of({w(1, 0, 10, 1), r(2, 1, 9, 1), r(3, 2, 8, nil)}) == verdict::linearizable);
    // Two concurrent writes: a later read may see either, so either order holds.
    CHECK(verdict_of({w(1, 0, 10, 1), w(2, 0, 10, 2), r(3, 11, 12, 1)}) == verdict::linearizable);
    CHECK(verdict_of({w(1, 0, 10, 1), w(2, 0, 10, 2), r(3, 11, 12, 2)}) == verdict::linearizable);
    // A tie between a completion and an invocation counts as overlap.
    CHECK(verdict_of({w(1, 0, 5, 1), r(2, 5, 6, nil)}) == verdict::linearizable);
}

TEST_CASE("linearizable: cas chains and cas contention") {
    CHECK(verdict_of({w(1, 0, 1, 0), cas(1, 2, 3, 0, 1, true), cas(2, 4, 5, 1, 2, true),
                      cas(3, 6, 7, 1, 3, false), r(1, 8, 9, 2)}) == verdict::linearizable);
    // Two concurrent cas from the same value: one swaps, the other finds the new value.
    CHECK(verdict_of({w(1, 0, 1, 0), cas(1, 2, 10, 0, 1, true), cas(2, 3, 9, 0, 2, false),
                      r(3, 11, 12, 1)}) == verdict::linearizable);
    // A cas from nil on an empty register.
    CHECK(verdict_of({cas(1, 0, 1, nil, 5, true), r(2, 2, 3, 5)}) == verdict::linearizable);
}

TEST_CASE("linearizable: unknown ops that did and did not take effect") {
    SUBCASE("an unknown write that took effect") {
        CHECK(verdict_of({w(1, 0, 1, 1), unknown_write(2, 2, 5), r(3, 20, 21, 5)}) ==
              verdict::linearizable);
    }
    SUBCASE("an unknown write that never took effect") {
        CHECK(verdict_of({w(1, 0, 1, 1), unknown_write(2, 2, 5), r(3, 20, 21, 1),
                          r(3, 30, 31, 1)}) == verdict::linearizable);
    }
    SUBCASE("an unknown write that took effect long after its client gave up") {
        CHECK(verdict_of({w(1, 0, 1, 1), unknown_write(2, 2, 5), r(3, 20, 21, 1),
                          r(3, 1000, 1001, 5)}) == verdict::linearizable);
    }
    SUBCASE("an unknown cas that swapped, and one that did not") {
        CHECK(verdict_of({w(1, 0, 1, 1), cas(2, 2, jepsen::never, 1, 2, false, outcome::unknown),
                          r(3, 5, 6, 2)}) == verdict::linearizable);
        CHECK(verdict_of({w(1, 0, 1, 1), cas(2, 2, jepsen::never, 1, 2, false, outcome::unknown),
                          r(3, 5, 6, 1)}) == verdict::linearizable);
    }
    SUBCASE("a failed write is ignored, an unknown read constrains nothing") {
        CHECK(verdict_of({w(1, 0, 1, 1), w(2, 2, 3, 9, outcome::fail),
                          jepsen::make_read(3, "x", 4, jepsen::never, 77, outcome::unknown),
                          r(3, 5, 6, 1)}) == verdict::linearizable);
    }
}

TEST_CASE("not linearizable: a stale read after a completed write") {
    // The write of 2 completed at 3; a read invoked at 4 returns 1; later
    // reads see 2, so the write was not lost, the read was stale (etcd 0.4).
    const std::vector<jepsen::operation> h = {w(1, 0, 1, 1), w(1, 2, 3, 2), r(2, 4, 5, 1),
                                              r(2, 6, 7, 2)};
    const auto report = jepsen::check(h);
    REQUIRE(report.result == verdict::not_linearizable);
    const auto* bad = report.first_failure();
    REQUIRE(bad != nullptr);
    CHECK(bad->key == "x");
    REQUIRE(bad->stuck_op.has_value());
    CHECK(*bad->stuck_op == 2);
    CHECK(bad->prefix == std::vector<std::size_t>{0, 1});
    CHECK(bad->state_after_prefix == 2);
    CHECK(bad->explanation.find("it read 1 but the register holds 2") != std::string::npos);
    CHECK(bad->explanation.find("[#2] client 2: read, ok, got 1") != std::string::npos);
    MESSAGE(report.summary());
}

TEST_CASE("not linearizable: a lost acknowledged write") {
    // The write of 2 was acknowledged, then every later op behaves as if it
    // never happened (Redis-Raft, Jepsen 2020).
    const std::vector<jepsen::operation> h = {w(1, 0, 1, 1), w(2, 2, 3, 2), r(3, 10, 11, 1),
                                              cas(3, 12, 13, 1, 3, true), r(1, 14, 15, 3)};
    const auto report = jepsen::check(h);
    REQUIRE(report.result == verdict::not_linearizable);
    REQUIRE(report.first_failure()->stuck_op.has_value());
    CHECK(*report.first_failure()->stuck_op == 2);
}

TEST_CASE("not linearizable: a cas that swapped twice from the same old value") {
    const std::vector<jepsen::operation> h = {w(1, 0, 1, 0), cas(1, 2, 5, 0, 1, true),
                                              cas(2, 3, 6, 0, 2, true)};
    const auto report = jepsen::check(h);
    REQUIRE(report.result == verdict::not_linearizable);
    CHECK(report.explanation.find("it expected 0 but the register holds") != std::string::npos);
}

TEST_CASE("not linearizable: a read of a value never written") {
    const auto report = jepsen::check(std::vector{w(1, 0, 1, 1), r(2, 0, 3, 42)});
    REQUIRE(report.result == verdict::not_linearizable);
    CHECK(*report.first_failure()->stuck_op == 1);
    CHECK(report.explanation.find("it read 42") != std::string::npos);
}

TEST_CASE("not linearizable: a read that goes back in time across two readers") {
    // The write is slow (0 to 100). Reader 2 sees it by 11, so it took effect
    // before 11; reader 3, invoked at 20, must see it too.
    const std::vector<jepsen::operation> h = {w(1, 0, 100, 1), r(2, 10, 11, 1), r(3, 20, 21, nil)};
    const auto report = jepsen::check(h);
    REQUIRE(report.result == verdict::not_linearizable);
    CHECK(*report.first_failure()->stuck_op == 2);
    CHECK(report.first_failure()->prefix == std::vector<std::size_t>{0, 1});
    // Each reader alone is fine.
    CHECK(verdict_of({h[0], h[1]}) == verdict::linearizable);
    CHECK(verdict_of({h[0], h[2]}) == verdict::linearizable);
}

TEST_CASE("not linearizable: a failed write seen, an unknown write seen and then undone") {
    CHECK(verdict_of({w(1, 0, 1, 1), w(2, 2, 3, 7, outcome::fail), r(3, 4, 5, 7)}) ==
          verdict::not_linearizable);
    // An unknown write may take effect once, not appear and then vanish.
    CHECK(verdict_of({w(1, 0, 1, 1), unknown_write(2, 2, 5), r(3, 3, 4, 5), r(3, 5, 6, 1)}) ==
          verdict::not_linearizable);
    // A cas that says it found another value, when nothing else ran.
    CHECK(verdict_of({w(1, 0, 1, 1), cas(2, 2, 3, 1, 2, false)}) == verdict::not_linearizable);
}

TEST_CASE("keys are checked apart and the failing one is named") {
    std::vector<jepsen::operation> h;
    h.push_back(jepsen::make_write(1, "a", 0, 1, 1));
    h.push_back(jepsen::make_write(2, "b", 0, 1, 1));
    h.push_back(jepsen::make_read(3, "a", 2, 3, 1));
    h.push_back(jepsen::make_write(1, "b", 2, 3, 2));
    h.push_back(jepsen::make_read(2, "b", 4, 5, 1));  // stale on b
    h.push_back(jepsen::make_read(3, "a", 4, 5, 1));
    const auto report = jepsen::check(h);
    REQUIRE(report.result == verdict::not_linearizable);
    REQUIRE(report.keys.size() == 2);
    CHECK(report.keys[0].key == "a");
    CHECK(report.keys[0].result == verdict::linearizable);
    CHECK(report.keys[1].key == "b");
    CHECK(report.keys[1].result == verdict::not_linearizable);
    CHECK(*report.keys[1].stuck_op == 4);  // an index into the whole history
    CHECK(report.explanation.find("key \"b\"") != std::string::npos);
    CHECK(report.explanation.find("key \"a\"") == std::string::npos);
}

TEST_CASE("a malformed history is refused, not judged") {
    auto report = jepsen::check(std::vector{r(1, 5, 4, nil)});
    CHECK(report.result == verdict::malformed);
    CHECK(report.explanation.find("completes before it is invoked") != std::string::npos);
    // One client runs one op at a time.
    report = jepsen::check(std::vector{w(1, 0, 10, 1), r(1, 5, 6, 1)});
    CHECK(report.result == verdict::malformed);
    CHECK(report.explanation.find("client 1") != std::string::npos);
    // An unknown op's client may go on (Jepsen gives it a new process; we allow either).
    CHECK(verdict_of({unknown_write(1, 0, 1), r(1, 5, 6, 1)}) == verdict::linearizable);
}

TEST_CASE("an exhausted budget gives unknown, never a wrong answer") {
    // Twelve concurrent writes and a final read of a value none wrote: to
    // refute it the search must visit every subset of the writes.
    std::vector<jepsen::operation> h;
    for (std::uint64_t c = 0; c < 12; ++c) h.push_back(w(c, 0, 100, std::int64_t(c)));
    h.push_back(r(99, 200, 201, 1000));
    jepsen::check_options small;
    small.steps_max = 1000;
    auto report = jepsen::check(h, small);
    CHECK(report.result == verdict::unknown);
    CHECK(report.explanation.find("step budget") != std::string::npos);
    small = {};
    small.cache_bytes_max = 1;
    report = jepsen::check(h, small);
    CHECK(report.result == verdict::unknown);
    CHECK(report.explanation.find("memo cache") != std::string::npos);
    report = jepsen::check(h);
    CHECK(report.result == verdict::not_linearizable);
    CHECK(report.keys[0].steps > 1000);
    // The same writes with a legal final read: the search finds an order at once.
    h.back() = r(99, 200, 201, 7);
    report = jepsen::check(h, jepsen::check_options{.steps_max = 1000});
    CHECK(report.result == verdict::linearizable);
}
