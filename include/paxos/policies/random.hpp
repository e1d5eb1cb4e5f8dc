// paxos/policies/random.hpp: a small seedable PRNG for leader policies.
//
// Backoff jitter and election timeouts need randomness to break the symmetry
// of dueling proposers (seed document "Paxos Livelock", fix 1). The library
// never touches a global RNG or a clock: the user passes a seed, and the same
// seed gives the same sequence on every compiler and standard library (which
// <random>'s distributions do not promise), so simulations replay exactly.
//
// The generator is xoshiro256** seeded through splitmix64; bounded draws use
// rejection so they are unbiased.
#pragma once

#include <cstdint>

namespace paxos::inline v0 {

class prng {
public:
    explicit constexpr prng(std::uint64_t seed = 0) noexcept {
        std::uint64_t x = seed;
        for (std::uint64_t& word : state_) word = splitmix64(x);
    }

    constexpr std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    // A uniform draw from [0, bound); bound 0 gives 0.
    constexpr std::uint64_t below(std::uint64_t bound) noexcept {
        if (bound == 0) return 0;
        // Reject the short top range so every residue is equally likely.
        const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
        std::uint64_t draw = next();
        while (draw >= limit) draw = next();
        return draw % bound;
    }

    // A uniform draw from [low, high]; requires low <= high.
    constexpr std::uint64_t between(std::uint64_t low, std::uint64_t high) noexcept {
        return low + below(high - low + 1);
    }

    // The generator's state folded to one word (for state hashing).
    constexpr std::uint64_t fingerprint() const noexcept {
        return state_[0] ^ rotl(state_[1], 16) ^ rotl(state_[2], 32) ^ rotl(state_[3], 48);
    }

private:
    static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << k) | (x >> (64 - k));
    }
    static constexpr std::uint64_t splitmix64(std::uint64_t& x) noexcept {
        std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    std::uint64_t state_[4] = {};
};

}  // namespace paxos::inline v0
