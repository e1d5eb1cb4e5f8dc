// expect: ballot policy: missing `static constexpr std::optional<B> next_above\(B seen
// A user ballot that forgot next_above: the first error must name it.
#include <paxos/policies/ballot.hpp>

#include <compare>
#include <cstddef>
#include <cstdint>

struct my_ballot {
    static constexpr std::size_t max_nodes = 8;
    std::uint64_t raw = 0;

    static constexpr my_ballot first(paxos::node_id n) noexcept {
        return my_ballot{max_nodes + n.value};
    }
    constexpr paxos::node_id owner() const noexcept {
        return paxos::node_id{static_cast<std::uint16_t>(raw % max_nodes)};
    }
    constexpr bool is_zero() const noexcept { return raw == 0; }
    friend constexpr bool operator==(my_ballot, my_ballot) = default;
    friend constexpr auto operator<=>(my_ballot, my_ballot) = default;
};

static_assert(paxos::check_ballot_policy<my_ballot>());
