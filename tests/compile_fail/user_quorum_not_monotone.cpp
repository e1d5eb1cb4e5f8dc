// expect: quorum system: quorums must be monotone
// Phase 1 is "exactly {0}" and phase 2 "exactly {3}": disjoint, yet no set S
// has P1(S) and P2(complement S), so without the monotonicity check the
// intersection search would wrongly pass it.
#include <paxos/policies/quorum.hpp>

#include <cstddef>

struct exact_sets {
    constexpr std::size_t node_count() const noexcept { return 4; }
    constexpr bool is_phase1_quorum(paxos::node_set s) const noexcept {
        return s == paxos::node_set{0b0001};
    }
    constexpr bool is_phase2_quorum(paxos::node_set s) const noexcept {
        return s == paxos::node_set{0b1000};
    }
};

static_assert(paxos::check_quorum_system<exact_sets>());
