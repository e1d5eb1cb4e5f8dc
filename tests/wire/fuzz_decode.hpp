// tests/wire/fuzz_decode.hpp: counters the fuzz entry point keeps, so the
// deterministic driver can check that its corpus reached every path
// (refusals, successful decodes, and replicas taking decoded messages).
#pragma once

#include <cstdint>

namespace wire_fuzz {

struct stats {
    std::uint64_t inputs = 0;
    std::uint64_t decoded = 0;              // decode() returned ok (as given or resealed)
    std::uint64_t refused = 0;              // decode() returned a reason
    std::uint64_t steps_taken = 0;          // replica::step() returned ok
    std::uint64_t steps_refused = 0;        // replica::step() returned a reason
    std::uint64_t promises_with_votes = 0;  // decoded promises that carry votes
    std::uint64_t promise_parts = 0;        // decoded promises that are one of several parts
    std::uint64_t promises_taken = 0;       // replica::step() took a promise with votes
};

stats& counters() noexcept;

}  // namespace wire_fuzz
