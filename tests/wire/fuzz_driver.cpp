// tests/wire/fuzz_driver.cpp: replays a deterministic corpus through the
// libFuzzer entry point, so every ctest run (and the ASan+UBSan one) fuzzes
// decode without needing libFuzzer.
//
//   paxos_wire_fuzz_driver [iterations] [seed]     (defaults 200000, 1)
//
// Inputs, chosen by paxos::prng from the seed:
//   - valid encodings of random messages of every kind, with fields near
//     what a 5-node cluster uses, for both fuzzed message types: promises
//     with no vote up to a full window's, chosen ones among them, some of
//     them one part of several;
//   - the same, mutated: bit flips, byte overwrites, truncation, extension,
//     a field spliced from another encoding;
//   - random bytes, some behind a valid-looking header.
// The run fails (aborts) on any failed check inside the entry point, and
// exits non-zero unless the corpus reached both refusals and successful
// decodes that replicas then took, promises with votes and promises in parts
// among them.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <span>
#include <vector>

#include "fuzz_decode.hpp"
#include "wire_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

// Rewrites a promise into an answer the entry point's candidate (node 0, in
// Phase 1 of its first ballot from slot 0) may take: from a peer, to node 0,
// in its ballot, with votes below it in slots 0, 1, ... and no more parts
// than the config's promises have.
template <class Config, class Message>
void address_to_candidate(paxos::prng& rng, Message& m) {
    using replica = paxos::replica<Config>;
    m.ballot = Config::ballot::first(paxos::node_id{0});
    m.from = paxos::node_id{static_cast<std::uint16_t>(1 + rng.below(wire_test::node_count - 1))};
    m.to = paxos::node_id{0};
    m.slot = paxos::slot_id{0};
    if (m.parts > replica::promise_parts_max) {
        m.parts = 1;
        m.part = 0;
    }
    std::uint64_t slot = 0;
    for (auto& v : m.votes) {
        v.slot = paxos::slot_id{slot++};
        if (!(v.ballot < m.ballot)) {
            v.ballot = {};
            v.chosen = true;
        }
    }
}

template <class Config>
std::size_t encode_random(paxos::prng& rng, std::vector<std::uint8_t>& out) {
    using replica = paxos::replica<Config>;
    using message = typename replica::message_buffer;
    const paxos::message_kind kind =
        wire_test::all_kinds[rng.below(std::size(wire_test::all_kinds))];
    // A body the replica may take: a batch, or for a promise up to a
    // window's votes with at most a batch each.
    std::size_t votes = 0;
    std::size_t values = rng.below(replica::batch_values_max + 1);
    if (kind == paxos::message_kind::promise) {
        votes = rng.below(message::votes_max + 1);
        values = rng.below(std::min(message::values_max, votes * replica::batch_values_max) + 1);
    }
    message m = wire_test::sample<message>(kind, values, rng, wire_test::fields::small, votes);
    if (kind == paxos::message_kind::promise && rng.below(2) == 0) {
        address_to_candidate<Config>(rng, m);
    }
    paxos::wire::buffer_for<message> buffer{};
    const auto res = paxos::wire::encode(m, buffer, wire_test::cluster);
    if (!res.ok()) {
        std::fprintf(stderr, "fuzz_driver: encode failed: %s\n",
                     paxos::wire::to_string(res.status));
        std::exit(1);
    }
    out.resize(res.size);
    for (std::size_t i = 0; i < res.size; ++i) out[i] = static_cast<std::uint8_t>(buffer[i]);
    return res.size;
}

void mutate(paxos::prng& rng, std::vector<std::uint8_t>& input) {
    const std::uint64_t edits = 1 + rng.below(3);
    for (std::uint64_t e = 0; e < edits; ++e) {
        switch (rng.below(5)) {
            case 0:  // flip one bit
                if (!input.empty()) {
                    const std::uint64_t at = rng.below(input.size());  // one draw per line:
                    input[at] ^= static_cast<std::uint8_t>(1u << rng.below(8));  // same order
                }
                break;
            case 1:  // overwrite a byte, often with a boundary value
                if (!input.empty()) {
                    static constexpr std::uint8_t interesting[] = {0, 1, 2, 3, 7, 8, 9, 0x7F, 0xFF};
                    const std::uint64_t at = rng.below(input.size());
                    const bool boundary = rng.below(2) == 1;
                    input[at] = boundary ? interesting[rng.below(std::size(interesting))]
                                         : static_cast<std::uint8_t>(rng.next());
                }
                break;
            case 2:  // truncate
                input.resize(rng.below(input.size() + 1));
                break;
            case 3:  // extend
                for (std::uint64_t n = 1 + rng.below(8); n > 0; --n) {
                    input.push_back(static_cast<std::uint8_t>(rng.next()));
                }
                break;
            default:  // rewrite the body length, as a framing bug would
                if (input.size() >= 8) {
                    const auto length = static_cast<std::uint32_t>(rng.below(256));
                    for (std::size_t i = 0; i < 4; ++i) {
                        input[4 + i] = static_cast<std::uint8_t>(length >> (8 * i));
                    }
                }
                break;
        }
    }
}

void random_bytes(paxos::prng& rng, std::vector<std::uint8_t>& input) {
    input.resize(rng.below(160));
    for (auto& b : input) b = static_cast<std::uint8_t>(rng.next());
    if (input.size() >= 8 && rng.below(2) == 0) {  // a header that passes the first checks
        input[0] = 0x50;
        input[1] = 0x58;
        input[2] = paxos::wire::format_version;
        input[3] = static_cast<std::uint8_t>(1 + rng.below(paxos::message_kind_count));
        const auto length = static_cast<std::uint32_t>(
            input.size() - std::min<std::size_t>(input.size(), paxos::wire::header_size));
        for (std::size_t i = 0; i < 4; ++i) {
            input[4 + i] = static_cast<std::uint8_t>(length >> (8 * i));
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t iterations = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
    const std::uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
    paxos::prng rng(seed);
    std::vector<std::uint8_t> input;
    input.reserve(1024);
    for (std::uint64_t i = 0; i < iterations; ++i) {
        const std::uint64_t mode = rng.below(8);
        if (mode < 6) {
            if (rng.below(2) == 0) {
                encode_random<wire_test::int_config>(rng, input);
            } else {
                encode_random<wire_test::command_config>(rng, input);
            }
            if (mode >= 2) mutate(rng, input);
        } else {
            random_bytes(rng, input);
        }
        LLVMFuzzerTestOneInput(input.data(), input.size());
    }
    const wire_fuzz::stats& s = wire_fuzz::counters();
    std::printf(
        "fuzz_driver: seed %llu, %llu inputs, %llu decodes ok, %llu refused, "
        "replica steps %llu taken / %llu refused; promises with votes %llu decoded (%llu "
        "in parts), %llu taken\n",
        static_cast<unsigned long long>(seed), static_cast<unsigned long long>(s.inputs),
        static_cast<unsigned long long>(s.decoded), static_cast<unsigned long long>(s.refused),
        static_cast<unsigned long long>(s.steps_taken),
        static_cast<unsigned long long>(s.steps_refused),
        static_cast<unsigned long long>(s.promises_with_votes),
        static_cast<unsigned long long>(s.promise_parts),
        static_cast<unsigned long long>(s.promises_taken));
    // A corpus that never decodes, or whose messages no replica takes, tests nothing.
    const bool covered =
        s.inputs == iterations && s.decoded > iterations / 10 && s.refused > iterations &&
        s.steps_taken > iterations / 100 && s.steps_refused > iterations / 100 &&
        s.promises_with_votes > iterations / 100 && s.promise_parts > iterations / 1000 &&
        s.promises_taken > iterations / 1000;
    if (!covered) {
        std::fprintf(stderr, "fuzz_driver: the corpus did not reach every path\n");
        return 1;
    }
    return 0;
}
