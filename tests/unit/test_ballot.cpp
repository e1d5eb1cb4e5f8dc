// Unit tests of paxos/policies/ballot.hpp: the ballot laws (unique per node,
// strictly increasing, totally ordered, exhaustion returned and never
// wrapped) on both stock encodings, checked against brute force on small
// ballot spaces and at the top of the 64-bit space.
#include <paxos/policies/ballot.hpp>

#include <doctest/doctest.h>

#include <csetjmp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <vector>

namespace {

using paxos::counter_ballot;
using paxos::node_id;
using paxos::pair_ballot;

constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

node_id node(std::size_t n) { return node_id{static_cast<std::uint16_t>(n)}; }

// The smallest raw ballot owned by `self` above `seen`, by scanning: the
// reference next_above is compared with. Issued ballots have counter >= 1.
template <std::size_t M>
std::optional<std::uint64_t> scan_next_above(std::uint64_t seen, std::size_t self,
                                             std::uint64_t limit) {
    for (std::uint64_t r = seen + 1; r < limit; ++r) {
        if (r % M == self && r >= M) return r;
    }
    return std::nullopt;
}

template <std::size_t M>
void check_counter_against_scan() {
    using B = counter_ballot<M>;
    const std::uint64_t limit = 40 * M;
    for (std::uint64_t seen = 0; seen < limit - 2 * M; ++seen) {
        for (std::size_t self = 0; self < M; ++self) {
            const std::optional<B> next = B::next_above(B::from_raw(seen), node(self));
            const std::optional<std::uint64_t> expected = scan_next_above<M>(seen, self, limit);
            REQUIRE(next.has_value());
            REQUIRE(expected.has_value());
            CHECK(next->raw() == *expected);
            CHECK(next->owner() == node(self));
            CHECK(B::from_raw(seen) < *next);
        }
    }
}

// The largest raw value owned by `self` (the top of its ballot space).
template <std::size_t M>
std::uint64_t top_of(std::size_t self) {
    const std::uint64_t top_node = u64_max % M;
    const std::uint64_t back = (top_node + M - self) % M;
    return u64_max - back;
}

template <std::size_t M>
void check_counter_exhaustion() {
    using B = counter_ballot<M>;
    for (std::size_t self = 0; self < M; ++self) {
        const std::uint64_t top = top_of<M>(self);
        CAPTURE(self);
        CHECK(B::from_raw(top).owner() == node(self));
        // One below the top of n's space still gets exactly the top.
        const std::optional<B> last = B::next_above(B::from_raw(top - 1), node(self));
        REQUIRE(last.has_value());
        CHECK(last->raw() == top);
        // From the top itself, and from anything above it, nothing is left.
        CHECK_FALSE(B::next_above(B::from_raw(top), node(self)).has_value());
        CHECK_FALSE(B::next_above(B::from_raw(u64_max), node(self)).has_value());
    }
}

// A user ballot that forgot next_above.
struct no_next_above {
    static constexpr std::size_t max_nodes = 4;
    std::uint64_t raw = 0;
    static constexpr no_next_above first(node_id n) noexcept {
        return no_next_above{max_nodes + n.value};
    }
    constexpr node_id owner() const noexcept {
        return node_id{static_cast<std::uint16_t>(raw % max_nodes)};
    }
    constexpr bool is_zero() const noexcept { return raw == 0; }
    friend constexpr bool operator==(no_next_above, no_next_above) = default;
    friend constexpr auto operator<=>(no_next_above, no_next_above) = default;
};

// The same with a next_above that is not noexcept.
struct throwing_next_above : no_next_above {
    static std::optional<throwing_next_above> next_above(throwing_next_above, node_id) {
        return std::nullopt;
    }
};

}  // namespace

TEST_CASE("ballot: stock encodings satisfy the concept and the compile-time laws") {
    static_assert(paxos::ballot_policy<counter_ballot<1>>);
    static_assert(paxos::ballot_policy<counter_ballot<3>>);
    static_assert(paxos::ballot_policy<counter_ballot<65534>>);
    static_assert(paxos::ballot_policy<pair_ballot>);
    // The library's own encodings pass their laws here, not in the header:
    // a user's unit checks only the ballot its config uses (config.hpp).
    static_assert(paxos::check_ballot_policy<counter_ballot<1>>());
    static_assert(paxos::check_ballot_policy<counter_ballot<5>>());
    static_assert(paxos::check_ballot_policy<pair_ballot>());
    static_assert(paxos::check_ballot_policy<counter_ballot<6>>());
    static_assert(paxos::check_ballot_policy<counter_ballot<65534>>());
    static_assert(sizeof(counter_ballot<5>) == sizeof(std::uint64_t));
    static_assert(counter_ballot<5>::max_nodes == 5);
    static_assert(pair_ballot::max_nodes == 65534);
    CHECK(counter_ballot<5>::first(node(2)).raw() == 7);
}

TEST_CASE("ballot: a type missing a member fails exactly that requirement") {
    static_assert(paxos::ballot_has_first<no_next_above>);
    static_assert(paxos::ballot_has_owner<no_next_above>);
    static_assert(paxos::ballot_is_ordered<no_next_above>);
    static_assert(!paxos::ballot_has_next_above<no_next_above>);
    static_assert(!paxos::ballot_policy<no_next_above>);
    // A next_above that may throw is refused too: the core never throws.
    static_assert(!paxos::ballot_has_next_above<throwing_next_above>);
    // The members it does have work (and keep the type from being unused).
    CHECK(no_next_above{} < no_next_above::first(node(1)));
    CHECK(no_next_above{} == no_next_above{});
}

TEST_CASE("ballot: the zero ballot is below every node's first ballot") {
    CHECK(counter_ballot<7>{}.is_zero());
    CHECK(pair_ballot{}.is_zero());
    for (std::size_t n = 0; n < 7; ++n) {
        CHECK(counter_ballot<7>{} < counter_ballot<7>::first(node(n)));
        CHECK_FALSE(counter_ballot<7>::first(node(n)).is_zero());
        CHECK(counter_ballot<7>::first(node(n)).counter() == 1);
    }
    for (std::size_t n : {0u, 1u, 2u, 1000u, 65533u}) {
        CHECK(pair_ballot{} < pair_ballot::first(node(n)));
        CHECK_FALSE(pair_ballot::first(node(n)).is_zero());
        CHECK(pair_ballot::first(node(n)).round() == 1);
    }
    // Counter 0 with a non-zero node is never issued but is not zero either.
    CHECK_FALSE(counter_ballot<7>::from_raw(3).is_zero());
    CHECK_FALSE(pair_ballot::from_parts(0, node(3)).is_zero());
}

TEST_CASE("ballot: counter_ballot next_above is the smallest owned ballot above") {
    // Power-of-two and other widths: the encoding must not assume either.
    check_counter_against_scan<1>();
    check_counter_against_scan<2>();
    check_counter_against_scan<3>();
    check_counter_against_scan<5>();
    check_counter_against_scan<6>();
    check_counter_against_scan<8>();
}

TEST_CASE("ballot: counter_ballot accessors round-trip the encoding") {
    using B = counter_ballot<6>;
    const B b = B::from_raw(6 * 41 + 5);
    CHECK(b.counter() == 41);
    CHECK(b.node() == node(5));
    CHECK(b.owner() == node(5));
    CHECK(b.raw() == 6 * 41 + 5);
    CHECK(B::from_raw(b.raw()) == b);
}

TEST_CASE("ballot: exhaustion at the top of the space is nullopt, never a wrap") {
    check_counter_exhaustion<1>();
    check_counter_exhaustion<3>();  // UINT64_MAX % 3 == 0
    check_counter_exhaustion<5>();  // UINT64_MAX % 5 == 0
    check_counter_exhaustion<7>();  // UINT64_MAX % 7 == 1
    check_counter_exhaustion<64>();
    check_counter_exhaustion<1000>();

    const pair_ballot top = pair_ballot::from_parts(u64_max, node(4));
    CHECK_FALSE(pair_ballot::next_above(top, node(4)).has_value());
    CHECK_FALSE(pair_ballot::next_above(top, node(0)).has_value());
    // A higher node still fits in the last round.
    const std::optional<pair_ballot> higher = pair_ballot::next_above(top, node(9));
    REQUIRE(higher.has_value());
    CHECK(higher->round() == u64_max);
    CHECK(higher->owner() == node(9));
}

TEST_CASE("ballot: pair_ballot orders by round, then node") {
    const pair_ballot a = pair_ballot::from_parts(3, node(9));
    const pair_ballot b = pair_ballot::from_parts(4, node(0));
    const pair_ballot c = pair_ballot::from_parts(4, node(1));
    CHECK(a < b);
    CHECK(b < c);
    CHECK(a < c);
    CHECK(a == pair_ballot::from_parts(3, node(9)));
    CHECK(a != pair_ballot::from_parts(3, node(8)));
}

TEST_CASE("ballot: pair_ballot next_above is the smallest issued ballot above") {
    // Reference: scan the issued ballots (round >= 1) of a small universe.
    constexpr std::uint64_t rounds = 6;
    constexpr std::size_t nodes = 5;
    for (std::uint64_t r = 0; r + 1 < rounds; ++r) {
        for (std::size_t seen_node = 0; seen_node < nodes; ++seen_node) {
            const pair_ballot seen = pair_ballot::from_parts(r, node(seen_node));
            for (std::size_t self = 0; self < nodes; ++self) {
                std::optional<pair_ballot> expected;
                for (std::uint64_t cand = 1; cand < rounds && !expected; ++cand) {
                    const pair_ballot c = pair_ballot::from_parts(cand, node(self));
                    if (seen < c) expected = c;
                }
                const std::optional<pair_ballot> next = pair_ballot::next_above(seen, node(self));
                REQUIRE(next.has_value());
                REQUIRE(expected.has_value());
                CHECK(*next == *expected);
                CHECK(seen < *next);
                CHECK(next->owner() == node(self));
            }
        }
    }
}

TEST_CASE("ballot: dueling proposers never share a ballot and always climb") {
    // Each node in turn steps above the highest ballot seen so far, as
    // competing proposers do after a rejection.
    auto duel = [](auto zero, std::size_t node_count) {
        using B = decltype(zero);
        std::set<B> issued;
        B highest = zero;
        for (int step = 0; step < 300; ++step) {
            const node_id self = node(static_cast<std::size_t>(step) % node_count);
            const std::optional<B> next = B::next_above(highest, self);
            REQUIRE(next.has_value());
            CHECK(highest < *next);
            CHECK(next->owner() == self);
            CHECK(issued.insert(*next).second);  // never issued before, by anyone
            highest = *next;
        }
    };
    duel(counter_ballot<3>{}, 3);
    duel(counter_ballot<7>{}, 5);
    duel(pair_ballot{}, 4);
}

TEST_CASE("ballot: ballots of different nodes are totally ordered and distinct") {
    std::vector<counter_ballot<5>> all;
    for (std::size_t n = 0; n < 5; ++n) {
        std::optional<counter_ballot<5>> b = counter_ballot<5>::first(node(n));
        for (int i = 0; i < 20; ++i) {
            all.push_back(*b);
            b = counter_ballot<5>::next_above(*b, node(n));
        }
    }
    for (const auto& x : all) {
        for (const auto& y : all) {
            const int relations = int{x < y} + int{y < x} + int{x == y};
            CHECK(relations == 1);
            if (x == y) CHECK(x.owner() == y.owner());
            if (x.owner() != y.owner()) CHECK(x != y);
        }
    }
}

namespace {
std::jmp_buf assert_jump;
int asserts_seen = 0;
[[noreturn]] void jumping_handler(const char*, const char*, int) {
    ++asserts_seen;
    std::longjmp(assert_jump, 1);
}
}  // namespace

TEST_CASE("ballot: a node id outside the encoding is a programmer error") {
    const paxos::assert_handler previous = paxos::set_assert_handler(&jumping_handler);
    asserts_seen = 0;
    if (setjmp(assert_jump) == 0) {
        (void)counter_ballot<3>::first(node(3));
    }
    if (setjmp(assert_jump) == 0) {
        (void)counter_ballot<3>::next_above(counter_ballot<3>{}, node(7));
    }
    if (setjmp(assert_jump) == 0) {
        (void)pair_ballot::first(node_id::none());
    }
    paxos::set_assert_handler(previous);
    CHECK(asserts_seen == 3);
}
