// A deterministic stand-in for libFuzzer: feeds the step() fuzz target a
// fixed number of inputs drawn from paxos::prng, so ctest runs the same
// programs every time (under ASan+UBSan in the asan preset).
//   paxos_fuzz_step_driver [iterations] [seed]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <paxos/policies/random.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

// The layout of fuzz_step.cpp's struct of the same name.
struct fuzz_step_coverage {
    std::uint64_t inputs, accepted_inputs, leaderships, chosen, restarts;
    std::uint64_t promises_taken, parts_taken, parts_sent;
};
extern fuzz_step_coverage fuzz_step_seen[3];

int main(int argc, char** argv) {
    const std::uint64_t iterations = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 20'000;
    const std::uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
    paxos::prng rng(seed);
    std::vector<std::uint8_t> input;
    std::uint64_t bytes = 0;
    for (std::uint64_t i = 0; i < iterations; ++i) {
        // Programs of up to 2 KiB; bytes biased toward small values, which
        // make plausible ballots, slots and message kinds. The first byte
        // picks the configuration: each gets a third of the programs.
        input.resize(rng.below(2048) + 1);
        for (auto& b : input) {
            b = static_cast<std::uint8_t>(rng.below(4) == 0 ? rng.below(256) : rng.below(12));
        }
        input[0] = static_cast<std::uint8_t>(3 * rng.below(85) + i % 3);
        LLVMFuzzerTestOneInput(input.data(), input.size());
        bytes += input.size();
    }
    std::printf("fuzz step: %llu programs (%llu bytes); an assertion would have aborted\n",
                static_cast<unsigned long long>(iterations),
                static_cast<unsigned long long>(bytes));
    const char* names[3] = {"multi_paxos<3>", "basic_paxos<3>", "flexible_paxos<5, 4, 2>*"};
    bool deep = true;
    for (int c = 0; c < 3; ++c) {
        const auto& seen = fuzz_step_seen[c];
        std::printf(
            "  %-24s %llu inputs, %llu answered ok, %llu leaderships, %llu slots chosen, "
            "%llu restarts; promises with votes taken %llu, parts of promises taken %llu / "
            "sent %llu; 0 assertions, no invariant violated\n",
            names[c], static_cast<unsigned long long>(seen.inputs),
            static_cast<unsigned long long>(seen.accepted_inputs),
            static_cast<unsigned long long>(seen.leaderships),
            static_cast<unsigned long long>(seen.chosen),
            static_cast<unsigned long long>(seen.restarts),
            static_cast<unsigned long long>(seen.promises_taken),
            static_cast<unsigned long long>(seen.parts_taken),
            static_cast<unsigned long long>(seen.parts_sent));
        // A fuzzer that never gets past validation proves little.
        deep = deep && seen.leaderships > 0 && seen.chosen > 0 && seen.restarts > 0;
        // Basic Paxos has one slot: its promises hold at most one vote. Only
        // the Flexible config splits promises (at most 3 values each).
        if (c != 1) deep = deep && seen.promises_taken > 0;
        if (c == 2) deep = deep && seen.parts_taken > 0 && seen.parts_sent > 0;
    }
    std::printf("  * with promises of at most 3 values, in up to 8 parts\n");
    if (!deep) {
        std::printf(
            "fuzz step: the programs did not reach leadership, choice, restart, promises with "
            "votes and promises in parts\n");
        return 1;
    }
    return 0;
}
