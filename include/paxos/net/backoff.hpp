// paxos/net/backoff.hpp: capped exponential backoff with optional
// deterministic jitter, for the TCP transport's reconnects.
//
// The n-th consecutive wait is min_ms * 2^n, capped at max_ms. With a
// non-zero seed each wait is drawn from [wait/2, wait] ("equal jitter") by a
// splitmix64 stream of that seed, so nodes that lost the same peer at the same
// moment spread their retries, and a test or a simulation that fixes the
// seed gets the same schedule every run. Jitter never lengthens a wait, so
// the cap holds either way.
#pragma once

#include <algorithm>
#include <cstdint>

#include "../assert.hpp"

namespace paxos::inline v0::net {

class backoff {
public:
    constexpr backoff(std::uint32_t min_ms, std::uint32_t max_ms, std::uint64_t seed) noexcept
        : min_ms_(min_ms), max_ms_(max_ms), jitter_(seed != 0), state_(seed) {
        PAXOS_ASSERT(min_ms >= 1);
        PAXOS_ASSERT(max_ms >= min_ms);
    }

    // The wait before the next attempt; each call counts one more failure.
    constexpr std::uint32_t next_ms() noexcept {
        std::uint64_t wait = min_ms_;
        for (std::uint32_t i = 0; i < failures_ && wait < max_ms_; ++i) wait *= 2;
        wait = std::min<std::uint64_t>(wait, max_ms_);
        if (failures_ < 64) ++failures_;  // past the cap, more doublings change nothing
        if (!jitter_) return static_cast<std::uint32_t>(wait);
        const std::uint64_t low = wait / 2;
        return static_cast<std::uint32_t>(low + next_random() % (wait - low + 1));
    }

    // Back to min_ms (after a connection that lasted).
    constexpr void reset() noexcept { failures_ = 0; }
    constexpr std::uint32_t failures() const noexcept { return failures_; }

private:
    constexpr std::uint64_t next_random() noexcept {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    std::uint32_t min_ms_;
    std::uint32_t max_ms_;
    bool jitter_;
    std::uint32_t failures_ = 0;
    std::uint64_t state_;
};

}  // namespace paxos::inline v0::net
