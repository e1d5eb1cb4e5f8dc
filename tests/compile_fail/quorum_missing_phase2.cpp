// expect: quorum system: missing `constexpr bool is_phase2_quorum\(paxos::node_set s\)
// A user quorum system that forgot the phase-2 predicate.
#include <paxos/policies/quorum.hpp>

#include <cstddef>

struct my_quorum {
    constexpr std::size_t node_count() const noexcept { return 3; }
    constexpr bool is_phase1_quorum(paxos::node_set s) const noexcept { return s.size() >= 2; }
};

static_assert(paxos::check_quorum_system<my_quorum>());
