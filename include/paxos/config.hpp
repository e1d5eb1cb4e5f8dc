// paxos/config.hpp: the configuration of a replica, and the three named
// variants.
//
// A config is any type with these members (config<> below provides them):
//
//   using value_type = ...;   a command: copyable, default-constructible, ==
//   using ballot = ...;       a ballot policy        (policies/ballot.hpp)
//   using quorum = ...;       a quorum system        (policies/quorum.hpp)
//   using leader = ...;       a leader policy        (policies/leader.hpp)
//   static constexpr std::size_t max_nodes;            cluster size bound, <= 64
//   static constexpr std::size_t window_slots;         slots in flight, power of two
//   static constexpr std::size_t batch_values_max;     commands per slot
//   static constexpr std::size_t outbox_messages_max;  messages per ready batch
//   static constexpr bool single_decree;               Basic Paxos: one slot, ever
//
// check_config<C>() static_asserts each requirement with a message that says
// what to write, then the relations between them (the window is a power of
// two, node ids fit the ballot), then each policy's own checks, including
// the compile-time proof that phase-1 and phase-2 quorums intersect.
//
// The aliases:
//   basic_paxos<V, N>            single decree, majority quorums, no
//                                distinguished leader (randomized backoff)
//   multi_paxos<V, N>            a replicated log with a stable leader
//   flexible_paxos<V, N, Q1, Q2> Multi-Paxos with |Q1| + |Q2| > N quorums
//                                (Howard et al., "Flexible Paxos", 2016)
#pragma once

#include <concepts>
#include <cstddef>
#include <type_traits>

#include "core/rules.hpp"
#include "core/vocabulary.hpp"
#include "policies/ballot.hpp"
#include "policies/leader.hpp"
#include "policies/quorum.hpp"

namespace paxos::inline v0 {

// ---- requirements, one at a time ------------------------------------------------

template <class C>
concept config_has_value_type = requires {
    typename C::value_type;
};
template <class C>
concept config_has_ballot = requires {
    typename C::ballot;
};
template <class C>
concept config_has_quorum = requires {
    typename C::quorum;
};
template <class C>
concept config_has_leader = requires {
    typename C::leader;
};
template <class C>
concept config_has_max_nodes = requires {
    { C::max_nodes } -> std::convertible_to<std::size_t>;
};
template <class C>
concept config_has_window_slots = requires {
    { C::window_slots } -> std::convertible_to<std::size_t>;
};
template <class C>
concept config_has_batch_values_max = requires {
    { C::batch_values_max } -> std::convertible_to<std::size_t>;
};
template <class C>
concept config_has_outbox_messages_max = requires {
    { C::outbox_messages_max } -> std::convertible_to<std::size_t>;
};
template <class C>
concept config_has_single_decree = requires {
    { C::single_decree } -> std::convertible_to<bool>;
};

// What the core needs of a command: it is copied into fixed buffers, and
// compared to assert that a chosen slot never changes its value.
template <class V>
concept command_value =
    std::copyable<V> && std::default_initializable<V> && std::equality_comparable<V>;

constexpr bool is_power_of_two(std::size_t n) noexcept { return n != 0 && (n & (n - 1)) == 0; }

template <class C>
constexpr bool check_config_members() {
    static_assert(config_has_value_type<C>,
                  "config: missing `using value_type = ...;` (the command type)");
    static_assert(config_has_ballot<C>,
                  "config: missing `using ballot = ...;` (e.g. paxos::counter_ballot<64>)");
    static_assert(config_has_quorum<C>,
                  "config: missing `using quorum = ...;` (e.g. paxos::majority<3>)");
    static_assert(config_has_leader<C>,
                  "config: missing `using leader = ...;` (e.g. paxos::stable_leader)");
    static_assert(config_has_max_nodes<C>,
                  "config: missing `static constexpr std::size_t max_nodes = ...;`");
    static_assert(config_has_window_slots<C>,
                  "config: missing `static constexpr std::size_t window_slots = ...;` "
                  "(a power of two)");
    static_assert(config_has_batch_values_max<C>,
                  "config: missing `static constexpr std::size_t batch_values_max = ...;`");
    static_assert(config_has_outbox_messages_max<C>,
                  "config: missing `static constexpr std::size_t outbox_messages_max = ...;` "
                  "(at least 2 * (2 * window_slots + 6))");
    static_assert(config_has_single_decree<C>,
                  "config: missing `static constexpr bool single_decree = ...;`");
    return config_has_value_type<C> && config_has_ballot<C> && config_has_quorum<C> &&
           config_has_leader<C> && config_has_max_nodes<C> && config_has_window_slots<C> &&
           config_has_batch_values_max<C> && config_has_outbox_messages_max<C> &&
           config_has_single_decree<C>;
}

template <class C>
constexpr bool check_config_relations() {
    static_assert(command_value<typename C::value_type>,
                  "config: value_type must be copyable, default-constructible and "
                  "equality-comparable (operator==)");
    static_assert(C::max_nodes >= 1 && C::max_nodes <= node_set::capacity,
                  "config: max_nodes must be between 1 and 64");
    static_assert(C::max_nodes <= C::ballot::max_nodes,
                  "config: node ids do not fit the ballot: max_nodes exceeds the ballot "
                  "policy's max_nodes (e.g. use paxos::counter_ballot<M> with M >= max_nodes)");
    static_assert(is_power_of_two(C::window_slots),
                  "config: window_slots must be a power of two (1, 2, 4, ...); the slot "
                  "window is a ring indexed by slot & (window_slots - 1)");
    static_assert(C::batch_values_max >= 1, "config: batch_values_max must be at least 1");
    static_assert(!C::single_decree || C::window_slots == 1,
                  "config: a single-decree (Basic Paxos) config has window_slots == 1");
    return true;
}

template <class C>
constexpr bool check_config() {
    if constexpr (!check_config_members<C>()) {
        return false;
    } else {
        static_assert(check_ballot_policy<typename C::ballot>());
        if constexpr (!rules_of<C>::type::quorums_proved_to_intersect) {
            static_assert(quorum_system<typename C::quorum>);  // a checker's test: no proof
        } else {
            static_assert(check_quorum_system<typename C::quorum>());
        }
        static_assert(check_leader_policy<typename C::leader>());
        if constexpr (ballot_policy<typename C::ballot> && quorum_system<typename C::quorum> &&
                      leader_policy<typename C::leader>) {
            return check_config_relations<C>();
        } else {
            return false;
        }
    }
}

// The values one promise carries before it continues in another part
// (core/message.hpp): a config's optional `promise_values_max`, or by
// default every vote of a full window (window_slots * batch_values_max
// values) up to 64 KiB of values, and at least one batch.
template <class C>
consteval std::size_t promise_values_max_of() {
    if constexpr (requires { C::promise_values_max; }) {
        return C::promise_values_max;
    } else {
        constexpr std::size_t whole = C::window_slots * C::batch_values_max;
        constexpr std::size_t cap = (std::size_t{64} << 10) / sizeof(typename C::value_type);
        constexpr std::size_t bounded = whole < cap ? whole : cap;
        return bounded < C::batch_values_max ? C::batch_values_max : bounded;
    }
}

// The most snapshot bytes one snapshot_chunk carries
// (core/snapshot_transfer.hpp): a config's optional `snapshot_chunk_bytes`,
// or 8 KiB. The replica holds one received chunk of this size until its
// driver has written it, and a message_buffer has room for one. Zero turns
// snapshot transfer off (a single-decree config has no log to compact).
template <class C>
consteval std::size_t snapshot_chunk_bytes_of() {
    if constexpr (requires { C::snapshot_chunk_bytes; }) {
        return C::snapshot_chunk_bytes;
    } else {
        return C::single_decree ? 0 : std::size_t{8} << 10;
    }
}

// How many linearizable reads a leader holds at once (core/reads.hpp):
// queued, confirmed or dropped and not yet handed out. A config's optional
// `reads_max`, or 64; a single-decree config has no log to read at an
// index, and 0 there.
template <class C>
consteval std::size_t reads_max_of() {
    if constexpr (requires { C::reads_max; }) {
        return C::reads_max;
    } else {
        return C::single_decree ? 0 : 64;
    }
}

// ---- the config template ------------------------------------------------------------

template <class Value, class Ballot, class Quorum, class Leader, std::size_t MaxNodes,
          std::size_t WindowSlots, std::size_t BatchValuesMax = 1, bool SingleDecree = false>
struct config {
    using value_type = Value;
    using ballot = Ballot;
    using quorum = Quorum;
    using leader = Leader;
    static constexpr std::size_t max_nodes = MaxNodes;
    static constexpr std::size_t window_slots = WindowSlots;
    static constexpr std::size_t batch_values_max = BatchValuesMax;
    static constexpr std::size_t outbox_messages_max = 4 * (WindowSlots + 6);
    static constexpr bool single_decree = SingleDecree;
};

// Basic (single-decree) Paxos: any replica proposes; rivals back off.
template <class Value, std::size_t N>
using basic_paxos =
    config<Value, counter_ballot<N>, majority<N>, randomized_backoff, N, 1, 1, true>;

// Multi-Paxos: a stable leader, Phase 1 once, then Phase 2 per slot, up to
// WindowSlots in flight and BatchValuesMax commands per slot.
template <class Value, std::size_t N, std::size_t WindowSlots = 64, std::size_t BatchValuesMax = 8>
using multi_paxos =
    config<Value, counter_ballot<N>, majority<N>, stable_leader, N, WindowSlots, BatchValuesMax>;

// Flexible Paxos: phase-1 quorums of Q1 nodes, phase-2 quorums of Q2 nodes,
// Q1 + Q2 > N (checked while compiling). A small Q2 speeds up every command;
// a large Q1 slows only leader changes.
template <class Value, std::size_t N, std::size_t Q1, std::size_t Q2, std::size_t WindowSlots = 64,
          std::size_t BatchValuesMax = 8>
using flexible_paxos = config<Value, counter_ballot<N>, flexible<N, Q1, Q2>, stable_leader, N,
                              WindowSlots, BatchValuesMax>;

}  // namespace paxos::inline v0
