// Unit tests of paxos/policies/quorum*.hpp: each stock policy's predicates
// against an independent reference over every node set, its intersection
// against brute force, the counterexample search on planted unsafe systems
// (the returned pair must really be two disjoint quorums), and the run-time
// factories' refusals.
#include <paxos/policies/quorum.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using paxos::node_set;
using paxos::quorum_counterexample;

// The quorum system as a run-time value. An object of an empty type is
// readable at compile time whatever its storage, so g++ at -O1 tries to fold
// every 2^n search on one while compiling (seconds per call, given up at its
// limit). A reference bound to a non-constexpr call's result is opaque to
// that. These tests mean the run-time path; static_assert tests the other.
template <class Q>
const Q& at_run_time(const Q& q) {
    return q;
}

// A counterexample must be what it claims: two quorums with no common node,
// inside the cluster.
template <class Q>
void check_is_real_counterexample(const Q& q, const quorum_counterexample& cx) {
    const node_set all = node_set::first(q.node_count());
    CHECK_FALSE(cx.phase1.intersects(cx.phase2));
    CHECK((cx.phase1 & all) == cx.phase1);
    CHECK((cx.phase2 & all) == cx.phase2);
    CHECK(q.is_phase1_quorum(cx.phase1));
    CHECK(q.is_phase2_quorum(cx.phase2));
}

// Reference that does not use the complement identity: look at every pair of
// sets (4^n), for n <= 8.
template <class Q>
bool pairwise_disjoint_quorums_exist(const Q& q) {
    const std::uint64_t sets = std::uint64_t{1} << q.node_count();
    for (std::uint64_t a = 0; a < sets; ++a) {
        if (!q.is_phase1_quorum(node_set{a})) continue;
        for (std::uint64_t b = 0; b < sets; ++b) {
            if ((a & b) == 0 && q.is_phase2_quorum(node_set{b})) return true;
        }
    }
    return false;
}

// Every node set of the cluster, and one node beyond it that must not count.
// Returns the number of sets where q disagrees with the references (one
// CHECK per call, not per set: doctest's macros are costly to instantiate).
template <class Q, class Phase1, class Phase2>
std::size_t predicate_mismatches(const Q& q, Phase1 phase1_reference, Phase2 phase2_reference) {
    const std::size_t n = q.node_count();
    const std::uint64_t sets = std::uint64_t{1} << n;
    const node_set outsider = n < 64 ? node_set{std::uint64_t{1} << n} : node_set{};
    std::size_t mismatches = 0;
    for (std::uint64_t mask = 0; mask < sets; ++mask) {
        const node_set s{mask};
        const bool phase1 = phase1_reference(s);
        const bool phase2 = phase2_reference(s);
        if (q.is_phase1_quorum(s) != phase1 || q.is_phase1_quorum(s | outsider) != phase1 ||
            q.is_phase2_quorum(s) != phase2 || q.is_phase2_quorum(s | outsider) != phase2) {
            ++mismatches;
        }
    }
    return mismatches;
}

// More than half, written without N / 2 + 1 so the two can disagree.
template <std::size_t N>
void check_majority() {
    const paxos::majority<N> stock;
    const auto& q = at_run_time(stock);
    auto reference = [](node_set s) { return 2 * s.size() > N; };
    CHECK(predicate_mismatches(q, reference, reference) == 0);
    CHECK_FALSE(paxos::enumerate_quorum_counterexample(q).has_value());
    CHECK(paxos::quorums_are_monotone(q));
    static_assert(paxos::check_quorum_system<paxos::majority<N>>());
    static_assert(paxos::quorums_intersect<paxos::majority<N>>());
}

template <std::size_t... N>
void check_majorities(std::index_sequence<N...>) {
    (check_majority<N + 1>(), ...);
}

template <std::size_t N, std::size_t Q1, std::size_t Q2>
void check_flexible() {
    const paxos::flexible<N, Q1, Q2> stock;
    const auto& q = at_run_time(stock);
    CHECK(predicate_mismatches(
              q, [](node_set s) { return s.size() >= Q1; },
              [](node_set s) { return s.size() >= Q2; }) == 0);
    CHECK_FALSE(paxos::enumerate_quorum_counterexample(q).has_value());
    if constexpr (N <= 8) CHECK_FALSE(pairwise_disjoint_quorums_exist(q));
    static_assert(paxos::check_quorum_system<paxos::flexible<N, Q1, Q2>>());
}

template <std::size_t Rows, std::size_t Cols>
void check_grid() {
    using G = paxos::grid<Rows, Cols>;
    const G stock;
    const auto& q = at_run_time(stock);
    auto in_row = [](std::size_t node, std::size_t row) { return node / Cols == row; };
    auto phase1 = [&](node_set s) {  // some node of every row
        for (std::size_t r = 0; r < Rows; ++r) {
            bool hit = false;
            for (std::size_t i = 0; i < Rows * Cols; ++i) {
                if (in_row(i, r) && s.contains(paxos::node_id{static_cast<std::uint16_t>(i)}))
                    hit = true;
            }
            if (!hit) return false;
        }
        return true;
    };
    auto phase2 = [&](node_set s) {  // every node of some row
        for (std::size_t r = 0; r < Rows; ++r) {
            bool full = true;
            for (std::size_t i = 0; i < Rows * Cols; ++i) {
                if (in_row(i, r) && !s.contains(paxos::node_id{static_cast<std::uint16_t>(i)}))
                    full = false;
            }
            if (full) return true;
        }
        return false;
    };
    CHECK(predicate_mismatches(q, phase1, phase2) == 0);
    CHECK_FALSE(paxos::enumerate_quorum_counterexample(q).has_value());
    CHECK(paxos::quorums_are_monotone(q));
    // The smallest quorums: a row (Cols nodes) for phase 2, Rows for phase 1.
    std::size_t phase1_min = 64;
    std::size_t phase2_min = 64;
    for (std::uint64_t mask = 0; mask < (std::uint64_t{1} << (Rows * Cols)); ++mask) {
        const node_set s{mask};
        if (q.is_phase1_quorum(s) && s.size() < phase1_min) phase1_min = s.size();
        if (q.is_phase2_quorum(s) && s.size() < phase2_min) phase2_min = s.size();
    }
    CHECK(phase1_min == Rows);
    CHECK(phase2_min == Cols);
    static_assert(paxos::check_quorum_system<G>());
}

// A user static type written like flexible<N, Q1, Q2> without its guard.
template <std::size_t N, std::size_t Q1, std::size_t Q2>
struct unguarded_flexible {
    constexpr std::size_t node_count() const noexcept { return N; }
    constexpr bool is_phase1_quorum(node_set s) const noexcept {
        return (s & node_set::first(N)).size() >= Q1;
    }
    constexpr bool is_phase2_quorum(node_set s) const noexcept {
        return (s & node_set::first(N)).size() >= Q2;
    }
};

// Weighted quorums written plainly, as the reference for runtime_weighted.
struct weight_reference {
    std::vector<std::uint32_t> w;
    std::uint64_t t1;
    std::uint64_t t2;
    std::size_t node_count() const { return w.size(); }
    std::uint64_t sum(node_set s) const {
        std::uint64_t x = 0;
        for (std::size_t i = 0; i < w.size(); ++i) {
            if (s.contains(paxos::node_id{static_cast<std::uint16_t>(i)})) x += w[i];
        }
        return x;
    }
    bool is_phase1_quorum(node_set s) const { return sum(s) >= t1; }
    bool is_phase2_quorum(node_set s) const { return sum(s) >= t2; }
};

// A small deterministic generator, so failures replay.
struct split_mix {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
};

}  // namespace

// The run-time quorum systems meet the concept and are not static ones
// (checked here, not in the header).
static_assert(paxos::quorum_system<paxos::runtime_threshold> &&
              !paxos::static_quorum_system<paxos::runtime_threshold>);
static_assert(paxos::quorum_system<paxos::runtime_weighted> &&
              !paxos::static_quorum_system<paxos::runtime_weighted>);
static_assert(paxos::quorum_system<paxos::runtime_grid> &&
              !paxos::static_quorum_system<paxos::runtime_grid>);

TEST_CASE("quorum: majority<N> is more than half, for N = 1 .. 16") {
    check_majorities(std::make_index_sequence<16>{});
    CHECK(paxos::majority<4>::quorum_size == 3);
    CHECK(paxos::majority<5>::quorum_size == 3);  // the seed's float bug gave 3.5
    CHECK(paxos::majority<1>::quorum_size == 1);
}

TEST_CASE("quorum: flexible<N, Q1, Q2> counts each phase separately") {
    check_flexible<1, 1, 1>();
    check_flexible<3, 2, 2>();
    check_flexible<4, 3, 2>();
    check_flexible<4, 1, 4>();
    check_flexible<5, 4, 2>();
    check_flexible<5, 2, 4>();
    check_flexible<6, 5, 2>();
    check_flexible<7, 4, 4>();
    check_flexible<8, 6, 3>();
    check_flexible<10, 8, 3>();
    check_flexible<12, 10, 3>();
}

TEST_CASE("quorum: grid<Rows, Cols> gives phase 2 a row and phase 1 a column cover") {
    check_grid<1, 1>();
    check_grid<1, 4>();
    check_grid<4, 1>();
    check_grid<2, 2>();
    check_grid<2, 3>();
    check_grid<3, 2>();
    check_grid<3, 3>();
    check_grid<4, 2>();
    check_grid<3, 4>();
    CHECK(paxos::grid<4, 2>::row(1) == node_set{0b1100});
    static_assert(paxos::check_quorum_system<paxos::grid<8, 8>>());
    static_assert(paxos::grid<8, 8>::node_count() == 64);
}

TEST_CASE("quorum: weighted sums weights against each threshold") {
    using W = paxos::weighted<paxos::weights<3, 1, 1, 1, 2>, 5, 4>;
    const W stock;
    const auto& q = at_run_time(stock);
    CHECK(predicate_mismatches(
              q, [](node_set s) { return W::weight_of(s) >= 5; },
              [](node_set s) { return W::weight_of(s) >= 4; }) == 0);
    CHECK(W::total_weight == 8);
    CHECK(W::weight(paxos::node_id{4}) == 2);
    CHECK(W::weight_of(node_set{0b10001}) == 5);
    CHECK(q.is_phase1_quorum(node_set{0b10001}));
    CHECK_FALSE(q.is_phase1_quorum(node_set{0b01111} & node_set{0b01110}));
    CHECK_FALSE(paxos::enumerate_quorum_counterexample(q).has_value());
    CHECK_FALSE(pairwise_disjoint_quorums_exist(q));
    static_assert(paxos::prove_quorum_intersection<W>().kind ==
                  paxos::quorum_proof_kind::closed_form);
}

TEST_CASE("quorum: weighted proves by subset sums what the closed form cannot") {
    // Total 6 and thresholds 3 + 3 = 6, yet every subset sum is even, so a
    // quorum needs weight 4: two of the three nodes, and any two pairs meet.
    using W = paxos::weighted<paxos::weights<2, 2, 2>, 3, 3>;
    static_assert(!W::proves_intersection());
    static_assert(paxos::prove_quorum_intersection<W>().kind == paxos::quorum_proof_kind::searched);
    static_assert(paxos::check_quorum_system<W>());
    CHECK_FALSE(pairwise_disjoint_quorums_exist(W{}));
    CHECK_FALSE(W{}.find_counterexample().has_value());
    // 20 nodes: the subset-sum search handles what enumeration could not.
    using Big =
        paxos::weighted<paxos::weights<2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 4>,
                        21, 21>;
    static_assert(paxos::check_quorum_system<Big>());
    CHECK(Big::total_weight == 42);
}

TEST_CASE("quorum: the search finds a planted pair of disjoint quorums") {
    using planted = unguarded_flexible<6, 3, 3>;  // Q1 + Q2 == N
    static_assert(paxos::static_quorum_system<planted>);
    static_assert(paxos::find_quorum_counterexample(planted{}).has_value());
    static_assert(!paxos::quorums_intersect<planted>());
    constexpr paxos::quorum_proof proof = paxos::prove_quorum_intersection<planted>();
    static_assert(proof.kind == paxos::quorum_proof_kind::disjoint);
    check_is_real_counterexample(planted{}, proof.counterexample);

    // Every unsafe size pair of a small cluster, and every safe one.
    auto check_sizes = [](auto q, bool safe) {
        const std::optional<quorum_counterexample> cx = paxos::find_quorum_counterexample(q);
        CHECK(cx.has_value() == !safe);
        CHECK(pairwise_disjoint_quorums_exist(q) == !safe);
        if (cx) check_is_real_counterexample(q, *cx);
    };
    check_sizes(unguarded_flexible<5, 2, 3>{}, false);
    check_sizes(unguarded_flexible<5, 3, 2>{}, false);
    check_sizes(unguarded_flexible<5, 1, 1>{}, false);
    check_sizes(unguarded_flexible<5, 3, 3>{}, true);
    check_sizes(unguarded_flexible<8, 4, 4>{}, false);
    check_sizes(unguarded_flexible<8, 5, 4>{}, true);
    check_sizes(unguarded_flexible<1, 1, 1>{}, true);
}

TEST_CASE("quorum: monotonicity check rejects a non-monotone system") {
    struct exact_pair {
        constexpr std::size_t node_count() const noexcept { return 4; }
        constexpr bool is_phase1_quorum(node_set s) const noexcept { return s == node_set{1}; }
        constexpr bool is_phase2_quorum(node_set s) const noexcept { return s == node_set{8}; }
    };
    // The complement identity alone misses this pair ({0} and {3})...
    CHECK_FALSE(paxos::enumerate_quorum_counterexample(exact_pair{}).has_value());
    CHECK(pairwise_disjoint_quorums_exist(exact_pair{}));
    // ...which is why monotonicity is a checked precondition.
    CHECK_FALSE(paxos::quorums_are_monotone(exact_pair{}));
    CHECK(paxos::quorums_are_monotone(unguarded_flexible<5, 2, 3>{}));
}

TEST_CASE("quorum: concepts name the missing member") {
    struct no_phase2 {
        constexpr std::size_t node_count() const noexcept { return 3; }
        constexpr bool is_phase1_quorum(node_set) const noexcept { return true; }
    };
    static_assert(paxos::quorum_has_node_count<no_phase2>);
    static_assert(paxos::quorum_has_phase1<no_phase2>);
    static_assert(!paxos::quorum_has_phase2<no_phase2>);
    static_assert(!paxos::quorum_system<no_phase2>);
    static_assert(paxos::static_quorum_system<paxos::majority<3>>);
    static_assert(paxos::quorum_has_closed_form<paxos::majority<3>>);
    static_assert(!paxos::quorum_has_closed_form<unguarded_flexible<3, 2, 2>>);
    static_assert(!paxos::static_quorum_system<paxos::runtime_threshold>);
    CHECK(paxos::quorum_has_phase1<no_phase2>);
}

TEST_CASE("quorum: runtime_threshold refuses bad shapes with a reason") {
    using paxos::quorum_build_error;
    using paxos::runtime_threshold;
    CHECK(runtime_threshold::make(0, 1, 1).error == quorum_build_error::no_nodes);
    CHECK(runtime_threshold::make(65, 33, 33).error == quorum_build_error::too_many_nodes);
    CHECK(runtime_threshold::make(5, 0, 5).error == quorum_build_error::phase1_out_of_range);
    CHECK(runtime_threshold::make(5, 6, 5).error == quorum_build_error::phase1_out_of_range);
    CHECK(runtime_threshold::make(5, 3, 0).error == quorum_build_error::phase2_out_of_range);
    CHECK(runtime_threshold::make(5, 3, 6).error == quorum_build_error::phase2_out_of_range);
    CHECK_FALSE(runtime_threshold::make(0, 1, 1).ok());
    CHECK_FALSE(runtime_threshold::make(0, 1, 1).quorum.has_value());

    const auto unsafe = runtime_threshold::make(5, 2, 3);
    CHECK_FALSE(unsafe);
    CHECK(unsafe.error == quorum_build_error::quorums_disjoint);
    check_is_real_counterexample(unguarded_flexible<5, 2, 3>{}, unsafe.counterexample);

    const auto safe = runtime_threshold::make(64, 40, 25);
    REQUIRE(safe);
    CHECK(safe.quorum->node_count() == 64);
    CHECK(safe.quorum->is_phase2_quorum(node_set::first(25)));
    CHECK_FALSE(safe.quorum->is_phase2_quorum(node_set::first(24)));
    CHECK(safe.quorum->is_phase1_quorum(node_set::first(40)));

    const auto majority = runtime_threshold::make_majority(4);
    REQUIRE(majority);
    CHECK(majority.quorum->phase1_size() == 3);
    CHECK(majority.quorum->phase2_size() == 3);
}

TEST_CASE("quorum: runtime_threshold agrees with enumeration on every size") {
    for (std::size_t n = 1; n <= 10; ++n) {
        for (std::size_t q1 = 1; q1 <= n; ++q1) {
            for (std::size_t q2 = 1; q2 <= n; ++q2) {
                CAPTURE(n);
                CAPTURE(q1);
                CAPTURE(q2);
                const auto built = paxos::runtime_threshold::make(n, q1, q2);
                CHECK(built.ok() == (q1 + q2 > n));
                if (built) {
                    CHECK_FALSE(paxos::enumerate_quorum_counterexample(*built.quorum));
                    CHECK(paxos::quorums_are_monotone(*built.quorum));
                } else {
                    CHECK(built.error == paxos::quorum_build_error::quorums_disjoint);
                    // The refused shape, re-checked by brute force.
                    struct same_shape {
                        std::size_t n, q1, q2;
                        std::size_t node_count() const { return n; }
                        bool is_phase1_quorum(node_set s) const { return s.size() >= q1; }
                        bool is_phase2_quorum(node_set s) const { return s.size() >= q2; }
                    };
                    const same_shape shape{n, q1, q2};
                    CHECK(paxos::enumerate_quorum_counterexample(shape).has_value());
                    check_is_real_counterexample(shape, built.counterexample);
                }
            }
        }
    }
}

TEST_CASE("quorum: runtime_weighted agrees with brute force on random weights") {
    split_mix random{2024};
    int refused = 0;
    int accepted = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const std::size_t n = 1 + random.next() % 8;
        std::vector<std::uint32_t> w(n);
        std::uint64_t total = 0;
        for (std::size_t i = 0; i < n; ++i) {
            w[i] = static_cast<std::uint32_t>(random.next() % 5);  // zero weights too
            total += w[i];
        }
        if (total == 0) continue;
        const std::uint64_t t1 = 1 + random.next() % total;
        const std::uint64_t t2 = 1 + random.next() % total;
        CAPTURE(trial);
        const auto built = paxos::runtime_weighted::make(w, t1, t2);
        const weight_reference ref{w, t1, t2};
        const bool unsafe = pairwise_disjoint_quorums_exist(ref);
        CHECK(built.ok() == !unsafe);
        if (built) {
            ++accepted;
            CHECK(predicate_mismatches(
                      *built.quorum, [&](node_set s) { return ref.is_phase1_quorum(s); },
                      [&](node_set s) { return ref.is_phase2_quorum(s); }) == 0);
        } else {
            ++refused;
            CHECK(built.error == paxos::quorum_build_error::quorums_disjoint);
            check_is_real_counterexample(ref, built.counterexample);
        }
    }
    // The generator must exercise both outcomes, or the test proves little.
    CHECK(refused > 20);
    CHECK(accepted > 20);
}

TEST_CASE("quorum: runtime_weighted searches clusters too big to enumerate") {
    std::vector<std::uint32_t> w(64, 1);
    w[0] = 3;
    w[63] = 5;  // total 3 + 62 + 5 = 70
    const auto unsafe = paxos::runtime_weighted::make(w, 35, 35);
    REQUIRE_FALSE(unsafe);
    CHECK(unsafe.error == paxos::quorum_build_error::quorums_disjoint);
    check_is_real_counterexample(weight_reference{w, 35, 35}, unsafe.counterexample);
    const auto safe = paxos::runtime_weighted::make(w, 36, 35);
    REQUIRE(safe);
    CHECK(safe.quorum->total_weight() == 70);
    CHECK(safe.quorum->weight(paxos::node_id{63}) == 5);

    // Heavy weights take enumeration while there are few nodes...
    const std::vector<std::uint32_t> heavy(10, 1000);
    const auto heavy_unsafe = paxos::runtime_weighted::make(heavy, 5000, 5000);
    CHECK(heavy_unsafe.error == paxos::quorum_build_error::quorums_disjoint);
    check_is_real_counterexample(weight_reference{heavy, 5000, 5000}, heavy_unsafe.counterexample);
    CHECK(paxos::runtime_weighted::make(heavy, 5001, 5000).ok());
    // ...and are refused, with a reason, when there are too many.
    const std::vector<std::uint32_t> heavy_many(30, 1000);
    CHECK(paxos::runtime_weighted::make(heavy_many, 15000, 15000).error ==
          paxos::quorum_build_error::too_large_to_check);
    CHECK(paxos::runtime_weighted::make(heavy_many, 15001, 15000).ok());
}

TEST_CASE("quorum: runtime_weighted refuses bad shapes with a reason") {
    using paxos::quorum_build_error;
    using paxos::runtime_weighted;
    const std::vector<std::uint32_t> none;
    const std::vector<std::uint32_t> too_many(65, 1);
    const std::vector<std::uint32_t> three{1, 1, 1};
    CHECK(runtime_weighted::make(none, 1, 1).error == quorum_build_error::no_nodes);
    CHECK(runtime_weighted::make(too_many, 40, 40).error == quorum_build_error::too_many_nodes);
    CHECK(runtime_weighted::make(three, 0, 2).error == quorum_build_error::phase1_out_of_range);
    CHECK(runtime_weighted::make(three, 4, 2).error == quorum_build_error::phase1_out_of_range);
    CHECK(runtime_weighted::make(three, 2, 0).error == quorum_build_error::phase2_out_of_range);
    CHECK(runtime_weighted::make(three, 2, 4).error == quorum_build_error::phase2_out_of_range);
    CHECK(runtime_weighted::make(three, 2, 2).ok());
    for (auto e : {quorum_build_error::none, quorum_build_error::no_nodes,
                   quorum_build_error::too_many_nodes, quorum_build_error::phase1_out_of_range,
                   quorum_build_error::phase2_out_of_range, quorum_build_error::quorums_disjoint,
                   quorum_build_error::too_large_to_check}) {
        CHECK_FALSE(std::string_view{paxos::to_string(e)}.empty());
        CHECK(std::string_view{paxos::to_string(e)} != "unknown quorum_build_error");
    }
    CHECK(std::string_view{paxos::to_string(quorum_build_error::quorums_disjoint)} !=
          std::string_view{paxos::to_string(quorum_build_error::no_nodes)});
}

TEST_CASE("node_set: has_at_least(k) agrees with size() >= k for every set of 10 nodes") {
    // The quorum tests of the static policies call has_at_least, whose small-k
    // path clears members instead of counting them.
    for (std::uint64_t mask = 0; mask < (std::uint64_t{1} << 10); ++mask) {
        const paxos::node_set s{mask};
        for (std::size_t k = 0; k <= 11; ++k) {
            REQUIRE(s.has_at_least(k) == (s.size() >= k));
        }
    }
    // The high bits count too.
    const paxos::node_set high{(std::uint64_t{1} << 63) | (std::uint64_t{1} << 40)};
    CHECK(high.has_at_least(2));
    CHECK_FALSE(high.has_at_least(3));
}

namespace {
template <std::size_t Rows, std::size_t Cols>
void check_runtime_grid_matches_static() {
    const auto built = paxos::runtime_grid::make(Rows, Cols);
    REQUIRE(built.ok());
    const paxos::runtime_grid& g = *built.quorum;
    CHECK(g.node_count() == Rows * Cols);
    for (std::uint64_t mask = 0; mask < (std::uint64_t{1} << (Rows * Cols)); ++mask) {
        const node_set s{mask};
        REQUIRE(g.is_phase1_quorum(s) == paxos::grid<Rows, Cols>::is_phase1_quorum(s));
        REQUIRE(g.is_phase2_quorum(s) == paxos::grid<Rows, Cols>::is_phase2_quorum(s));
    }
    // make() trusts the shape; enumeration agrees that the quorums meet.
    CHECK_FALSE(paxos::enumerate_quorum_counterexample(g).has_value());
}
}  // namespace

TEST_CASE("quorum: runtime_grid is grid<Rows, Cols> with the shape chosen at start-up") {
    using paxos::quorum_build_error;
    check_runtime_grid_matches_static<1, 1>();
    check_runtime_grid_matches_static<2, 3>();
    check_runtime_grid_matches_static<3, 2>();
    check_runtime_grid_matches_static<3, 4>();
    CHECK(paxos::runtime_grid::make(0, 3).error == quorum_build_error::phase1_out_of_range);
    CHECK(paxos::runtime_grid::make(3, 0).error == quorum_build_error::phase2_out_of_range);
    CHECK(paxos::runtime_grid::make(8, 9).error == quorum_build_error::too_many_nodes);
    CHECK(paxos::runtime_grid::make(8, 8).ok());
}
