// expect: config: missing `static constexpr std::size_t window_slots
// A hand-written config that forgot the window size.
#include <paxos/paxos.hpp>

struct my_config {
    using value_type = int;
    using ballot = paxos::counter_ballot<3>;
    using quorum = paxos::majority<3>;
    using leader = paxos::stable_leader;
    static constexpr std::size_t max_nodes = 3;
    static constexpr std::size_t batch_values_max = 1;
    static constexpr std::size_t outbox_messages_max = 64;
    static constexpr bool single_decree = false;
};
paxos::replica<my_config> r({});
