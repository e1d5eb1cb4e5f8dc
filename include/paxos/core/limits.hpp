// paxos/core/limits.hpp: the bounds a config sets on one replica: how many
// values a promise carries, in how many parts, and how much one input may
// add to the outbox. Each is a compile-time constant, checked here with a
// message that names the config member to change.
#pragma once

#include <cstddef>

#include "../config.hpp"

namespace paxos::inline v0 {

template <class Config>
struct replica_limits {
    static constexpr std::size_t window_slots = Config::window_slots;
    static constexpr std::size_t batch_values_max = Config::batch_values_max;
    static constexpr std::size_t outbox_messages_max = Config::outbox_messages_max;

    // The most values one promise carries; a promise with more votes'
    // values continues in further parts (core/message.hpp).
    static constexpr std::size_t promise_values_max = promise_values_max_of<Config>();
    static_assert(promise_values_max >= batch_values_max,
                  "config: promise_values_max must hold at least one batch");
    // Parts are filled greedily, so each but the last holds more than
    // promise_values_max - batch_values_max values, and each holds a slot.
    static constexpr std::size_t promise_parts_max = [] {
        if (promise_values_max >= window_slots * batch_values_max) return std::size_t{1};
        const std::size_t greedy =
            window_slots * batch_values_max / (promise_values_max - batch_values_max + 1) + 1;
        return greedy < window_slots ? greedy : window_slots;
    }();
    static_assert(promise_parts_max <= 64,
                  "config: promise_values_max too small: a promise would need more than 64 parts "
                  "(window_slots * batch_values_max / promise_values_max)");
    // Snapshot bytes in one chunk (config.hpp).
    static constexpr std::size_t snapshot_chunk_bytes = snapshot_chunk_bytes_of<Config>();
    static_assert(snapshot_chunk_bytes <= (std::size_t{16} << 20),
                  "config: snapshot_chunk_bytes is at most 16 MiB (one chunk is held in the "
                  "replica and one in every message buffer)");
    static_assert(!Config::single_decree || snapshot_chunk_bytes == 0,
                  "config: a single-decree config has no log to compact: snapshot_chunk_bytes = 0");
    // Linearizable reads held at once (config.hpp, core/reads.hpp).
    static constexpr std::size_t reads_max = reads_max_of<Config>();
    static_assert(!Config::single_decree || reads_max == 0,
                  "config: a single-decree config has no log to read at an index: reads_max = 0");
    // The largest body any message of this config has.
    static constexpr std::size_t body_values_max = promise_values_max;

    // The most one input can add to the outbox. The worst input is a higher
    // prepare at a leader whose policy retries at once and whose phase-1
    // quorum is itself alone: a promise in up to P parts with every vote
    // (W votes, W * B values), then its new prepare and heartbeat (2), an
    // accept per re-proposed slot (W messages, W * B values), and the open
    // and pending batches (2 messages, 2B values). An input is refused
    // (outbox_full) unless this much room is free, so no input is ever
    // half-applied; every input asserts on return that it kept to the bound.
    static constexpr std::size_t messages_per_input_max = window_slots + promise_parts_max + 5;
    static constexpr std::size_t values_per_input_max =
        2 * window_slots * batch_values_max + 2 * batch_values_max;
    static constexpr std::size_t votes_per_input_max = window_slots;
    static_assert(outbox_messages_max >= 2 * messages_per_input_max,
                  "config: outbox_messages_max must be at least "
                  "2 * (window_slots + promise parts + 5)");
};

}  // namespace paxos::inline v0
