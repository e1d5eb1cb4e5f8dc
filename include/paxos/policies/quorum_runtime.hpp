// paxos/policies/quorum_runtime.hpp: quorum systems whose members are known
// only at start-up.
//
//   runtime_threshold  n nodes, any q1 form a phase-1 quorum, any q2 a phase-2
//                      quorum (majority when q1 = q2 = n / 2 + 1)
//   runtime_weighted   per-node weights and two thresholds
//   runtime_grid       rows x cols nodes: phase 1 a node of every row, phase 2
//                      a whole row (grid<Rows, Cols> with its shape chosen late)
//
// The static policies prove intersection while compiling; these cannot, so
// the only way to get a value is a factory, make(), that runs the same check
// and, when the configuration is unsafe, hands back two disjoint quorums
// instead of a quorum system. There is no public default constructor: every
// value a replica holds has passed the check. No exceptions and no
// allocation: the weights live in a fixed array of 64.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "../assert.hpp"
#include "../core/vocabulary.hpp"
#include "quorum_static.hpp"
#include "quorum_system.hpp"

namespace paxos::inline v0 {

// Why make() refused a configuration.
enum class quorum_build_error : std::uint8_t {
    none,
    no_nodes,             // node count 0
    too_many_nodes,       // node count above 64, the node_set capacity
    phase1_out_of_range,  // phase-1 size or threshold is 0 or above the total
    phase2_out_of_range,  // phase-2 size or threshold is 0 or above the total
    quorums_disjoint,     // `counterexample` holds two disjoint quorums
    too_large_to_check,   // weighted: see runtime_weighted::make
};

constexpr const char* to_string(quorum_build_error e) noexcept {
    switch (e) {
        case quorum_build_error::none: return "no error";
        case quorum_build_error::no_nodes: return "a quorum system needs at least one node";
        case quorum_build_error::too_many_nodes: return "a quorum system holds at most 64 nodes";
        case quorum_build_error::phase1_out_of_range:
            return "the phase-1 quorum size or threshold must be at least 1 and reachable";
        case quorum_build_error::phase2_out_of_range:
            return "the phase-2 quorum size or threshold must be at least 1 and reachable";
        case quorum_build_error::quorums_disjoint:
            return "a phase-1 quorum and a phase-2 quorum share no node, so two values "
                   "could be chosen";
        case quorum_build_error::too_large_to_check:
            return "thresholds do not exceed the total weight and the weights are too "
                   "large to search; make phase-1 + phase-2 threshold exceed the total";
    }
    return "unknown quorum_build_error";
}

// The outcome of make(): a checked quorum system, or the reason there is
// none (and, for quorums_disjoint, the two disjoint quorums).
template <class Quorum>
struct [[nodiscard]] quorum_build_result {
    std::optional<Quorum> quorum;
    quorum_build_error error = quorum_build_error::none;
    quorum_counterexample counterexample{};

    constexpr bool ok() const noexcept { return quorum.has_value(); }
    constexpr explicit operator bool() const noexcept { return ok(); }
};

// ---------------------------------------------------------------------------
class runtime_threshold {
public:
    static constexpr quorum_build_result<runtime_threshold> make(std::size_t node_count,
                                                                 std::size_t phase1_size,
                                                                 std::size_t phase2_size) noexcept {
        quorum_build_result<runtime_threshold> result;
        if (node_count == 0) {
            result.error = quorum_build_error::no_nodes;
        } else if (node_count > node_set::capacity) {
            result.error = quorum_build_error::too_many_nodes;
        } else if (phase1_size == 0 || phase1_size > node_count) {
            result.error = quorum_build_error::phase1_out_of_range;
        } else if (phase2_size == 0 || phase2_size > node_count) {
            result.error = quorum_build_error::phase2_out_of_range;
        } else {
            const runtime_threshold candidate{node_count, phase1_size, phase2_size};
            if (const auto found = candidate.find_counterexample()) {
                result.error = quorum_build_error::quorums_disjoint;
                result.counterexample = *found;
            } else {
                result.quorum = candidate;
            }
        }
        return result;
    }

    // Both phases a majority: node_count / 2 + 1.
    static constexpr quorum_build_result<runtime_threshold> make_majority(
        std::size_t node_count) noexcept {
        return make(node_count, node_count / 2 + 1, node_count / 2 + 1);
    }

    constexpr std::size_t node_count() const noexcept { return node_count_; }
    constexpr std::size_t phase1_size() const noexcept { return phase1_size_; }
    constexpr std::size_t phase2_size() const noexcept { return phase2_size_; }

    constexpr bool is_phase1_quorum(node_set s) const noexcept {
        return (s & node_set::first(node_count_)).size() >= phase1_size_;
    }
    constexpr bool is_phase2_quorum(node_set s) const noexcept {
        return (s & node_set::first(node_count_)).size() >= phase2_size_;
    }

    // Exact in closed form: disjoint quorums exist iff q1 + q2 <= n, and then
    // the first q1 nodes and the rest are such a pair.
    constexpr std::optional<quorum_counterexample> find_counterexample() const noexcept {
        if (phase1_size_ + phase2_size_ > node_count_) return std::nullopt;
        const node_set phase1 = node_set::first(phase1_size_);
        return quorum_counterexample{phase1, phase1.complement(node_count_)};
    }

    friend constexpr bool operator==(const runtime_threshold&, const runtime_threshold&) = default;

private:
    constexpr runtime_threshold(std::size_t n, std::size_t q1, std::size_t q2) noexcept
        : node_count_(n), phase1_size_(q1), phase2_size_(q2) {}

    std::size_t node_count_;
    std::size_t phase1_size_;
    std::size_t phase2_size_;
};

// ---------------------------------------------------------------------------
// runtime_weighted: node i carries weights[i]; a set is a phase-k quorum when
// its weights add up to at least the phase-k threshold. make() accepts
// T1 + T2 > total weight at once; otherwise it searches exactly, by subset
// sums when the total weight is at most 4095 (any node count), else by
// enumerating all sets when there are at most 24 nodes, else it refuses with
// too_large_to_check.
class runtime_weighted {
public:
    static constexpr quorum_build_result<runtime_weighted> make(
        std::span<const std::uint32_t> weights, std::uint64_t phase1_threshold,
        std::uint64_t phase2_threshold) noexcept {
        quorum_build_result<runtime_weighted> result;
        if (weights.empty()) {
            result.error = quorum_build_error::no_nodes;
            return result;
        }
        if (weights.size() > node_set::capacity) {
            result.error = quorum_build_error::too_many_nodes;
            return result;
        }
        const runtime_weighted candidate{weights, phase1_threshold, phase2_threshold};
        const std::uint64_t total = candidate.total_weight();
        if (phase1_threshold == 0 || phase1_threshold > total) {
            result.error = quorum_build_error::phase1_out_of_range;
            return result;
        }
        if (phase2_threshold == 0 || phase2_threshold > total) {
            result.error = quorum_build_error::phase2_out_of_range;
            return result;
        }
        const detail::weighted_search found = candidate.search();
        if (found.verdict == detail::weighted_verdict::too_large) {
            result.error = quorum_build_error::too_large_to_check;
        } else if (found.verdict == detail::weighted_verdict::disjoint) {
            PAXOS_ASSERT(!found.counterexample.phase1.intersects(found.counterexample.phase2));
            result.error = quorum_build_error::quorums_disjoint;
            result.counterexample = found.counterexample;
        } else {
            result.quorum = candidate;
        }
        return result;
    }

    constexpr std::size_t node_count() const noexcept { return node_count_; }
    constexpr std::uint32_t weight(node_id n) const noexcept {
        PAXOS_ASSERT(n.value < node_count_);
        return weights_[n.value];
    }
    constexpr std::uint64_t total_weight() const noexcept {
        return weight_of(node_set::first(node_count_));
    }
    constexpr std::uint64_t weight_of(node_set s) const noexcept {
        return detail::weight_of(weights_, node_count_, s);
    }
    constexpr std::uint64_t phase1_threshold() const noexcept { return phase1_threshold_; }
    constexpr std::uint64_t phase2_threshold() const noexcept { return phase2_threshold_; }

    constexpr bool is_phase1_quorum(node_set s) const noexcept {
        return weight_of(s) >= phase1_threshold_;
    }
    constexpr bool is_phase2_quorum(node_set s) const noexcept {
        return weight_of(s) >= phase2_threshold_;
    }

    constexpr std::optional<quorum_counterexample> find_counterexample() const noexcept {
        const detail::weighted_search found = search();
        if (found.verdict != detail::weighted_verdict::disjoint) return std::nullopt;
        return found.counterexample;
    }

    friend constexpr bool operator==(const runtime_weighted&, const runtime_weighted&) = default;

private:
    constexpr runtime_weighted(std::span<const std::uint32_t> weights, std::uint64_t t1,
                               std::uint64_t t2) noexcept
        : node_count_(weights.size()), phase1_threshold_(t1), phase2_threshold_(t2) {
        PAXOS_ASSERT(weights.size() <= node_set::capacity);
        for (std::size_t i = 0; i < weights.size(); ++i) weights_[i] = weights[i];
    }

    constexpr detail::weighted_search search() const noexcept {
        return detail::search_weighted(weights_, node_count_, phase1_threshold_, phase2_threshold_,
                                       quorum_enumeration_nodes_max);
    }

    detail::weight_array weights_{};
    std::size_t node_count_;
    std::uint64_t phase1_threshold_;
    std::uint64_t phase2_threshold_;
};

// grid<Rows, Cols> with its shape chosen at start-up. Node r * cols + c sits in
// row r, column c. A phase-1 quorum holds a node of every row and a phase-2
// quorum a whole row, so the two always meet in that row: the shape is all
// make() has to check.
class runtime_grid {
public:
    static constexpr quorum_build_result<runtime_grid> make(std::size_t rows,
                                                            std::size_t cols) noexcept {
        quorum_build_result<runtime_grid> result;
        if (rows == 0) {
            result.error = quorum_build_error::phase1_out_of_range;
        } else if (cols == 0) {
            result.error = quorum_build_error::phase2_out_of_range;
        } else if (rows > node_set::capacity / cols) {
            result.error = quorum_build_error::too_many_nodes;
        } else {
            result.quorum = runtime_grid{rows, cols};
        }
        return result;
    }

    constexpr std::size_t node_count() const noexcept { return rows_ * cols_; }
    constexpr std::size_t rows() const noexcept { return rows_; }
    constexpr std::size_t cols() const noexcept { return cols_; }
    constexpr node_set row(std::size_t r) const noexcept {
        PAXOS_ASSERT(r < rows_);
        return node_set{node_set::first(cols_).mask() << (r * cols_)};
    }
    constexpr bool is_phase1_quorum(node_set s) const noexcept {
        for (std::size_t r = 0; r < rows_; ++r) {
            if (!s.intersects(row(r))) return false;
        }
        return true;
    }
    constexpr bool is_phase2_quorum(node_set s) const noexcept {
        for (std::size_t r = 0; r < rows_; ++r) {
            if ((s & row(r)) == row(r)) return true;
        }
        return false;
    }
    friend constexpr bool operator==(const runtime_grid&, const runtime_grid&) = default;

private:
    constexpr runtime_grid(std::size_t rows, std::size_t cols) noexcept
        : rows_(rows), cols_(cols) {}

    std::size_t rows_;
    std::size_t cols_;
};

}  // namespace paxos::inline v0
