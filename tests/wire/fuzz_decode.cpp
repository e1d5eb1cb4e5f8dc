// tests/wire/fuzz_decode.cpp: the libFuzzer target for paxos::wire::decode.
//
// Every input is decoded into two replicas' message buffers (counter ballot
// and int values, batch 8, promises in one part of up to 64 values; pair
// ballot and the variable-length test command, batch 4, promises in up to 7
// parts of 8 values), twice: as given, and with its checksum recomputed,
// since random bytes almost never carry a valid CRC and the body checks
// behind it need exercising too. Whenever decode says ok:
//   - the message re-encodes to exactly the input bytes (the encoding is
//     canonical), from the buffer and from its view, and decodes back to an
//     equal message;
//   - a fresh acceptor and a fresh candidate replica step() it and return a
//     result, without tripping an assertion or a sanitizer.
// A failed check aborts, which libFuzzer and the ctest driver both report.
//
// Built two ways (tests/wire/CMakeLists.txt): with -fsanitize=fuzzer when
// PAXOS_FUZZ is on and the compiler is clang, and always with
// fuzz_driver.cpp, which replays a deterministic corpus through this entry.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "fuzz_decode.hpp"
#include "wire_support.hpp"

namespace wire_fuzz {

stats& counters() noexcept {
    static stats s;
    return s;
}

}  // namespace wire_fuzz

namespace {

#define WIRE_FUZZ_CHECK(condition)                                                                \
    do {                                                                                          \
        if (!(condition)) {                                                                       \
            std::fprintf(stderr, "fuzz_decode: check failed: %s (%s:%d)\n", #condition, __FILE__, \
                         __LINE__);                                                               \
            std::abort();                                                                         \
        }                                                                                         \
    } while (false)

template <class Replica>
void drain(Replica& r) {
    for (int rounds = 0; r.has_ready(); ++rounds) {
        WIRE_FUZZ_CHECK(rounds < 4);  // one input never needs more than a couple of batches
        const auto& rd = r.ready();
        r.advance(rd);
    }
}

template <class Replica>
void step_into(Replica& r, const typename Replica::message_type& m) {
    const paxos::result res = r.step(m);
    // What step() may answer a message (not an input of another kind's reasons).
    WIRE_FUZZ_CHECK(static_cast<int>(res.code) <= static_cast<int>(paxos::reason::ignored) ||
                    res.code == paxos::reason::stale_snapshot ||
                    res.code == paxos::reason::bad_checksum);
    if (res.ok()) {
        ++wire_fuzz::counters().steps_taken;
        if (!m.votes.empty()) ++wire_fuzz::counters().promises_taken;
    } else {
        ++wire_fuzz::counters().steps_refused;
    }
    drain(r);
}

template <class Config>
void feed_replicas(const typename paxos::replica<Config>::message_type& m) {
    using replica = paxos::replica<Config>;
    // An acceptor at the destination (node 1 for broadcasts and strangers)...
    const paxos::node_id self = m.to.value < wire_test::node_count ? m.to : paxos::node_id{1};
    replica acceptor(typename replica::options{.self = self});
    step_into(acceptor, m);
    // ...and node 0 in Phase 1 of its first ballot, so promises can land.
    replica candidate(typename replica::options{.self = paxos::node_id{0}});
    (void)candidate.campaign();
    drain(candidate);
    step_into(candidate, m);
}

template <class Config>
void check_decode(std::span<const std::byte> in) {
    using message = typename paxos::replica<Config>::message_buffer;
    using codec = paxos::wire::message_codec<message>;
    message m{};
    const paxos::wire::decode_reason reason = paxos::wire::decode(in, m, wire_test::cluster);
    WIRE_FUZZ_CHECK(paxos::wire::to_string(reason) != nullptr);
    if (reason != paxos::wire::decode_reason::ok) {
        WIRE_FUZZ_CHECK(m == message{});  // a refused decode leaves its output alone
        ++wire_fuzz::counters().refused;
        return;
    }
    ++wire_fuzz::counters().decoded;
    if (!m.votes.empty()) ++wire_fuzz::counters().promises_with_votes;
    if (m.kind == paxos::message_kind::promise && m.parts > 1) {
        ++wire_fuzz::counters().promise_parts;
    }
    WIRE_FUZZ_CHECK(in.size() <= paxos::wire::encoded_size_max<message>);
    WIRE_FUZZ_CHECK(m.votes.size() <= message::votes_max);
    WIRE_FUZZ_CHECK(m.values.size() <= message::values_max);
    WIRE_FUZZ_CHECK(m.kind == paxos::message_kind::promise ||
                    (m.votes.empty() && m.part == 0 && m.parts == 1));

    paxos::wire::buffer_for<message> buffer{};
    const paxos::wire::encode_result res = paxos::wire::encode(m, buffer, wire_test::cluster);
    WIRE_FUZZ_CHECK(res.ok());
    WIRE_FUZZ_CHECK(res.size == in.size());
    WIRE_FUZZ_CHECK(std::equal(in.begin(), in.end(), buffer.begin()));
    paxos::wire::buffer_for<message> from_view{};
    const paxos::wire::encode_result res_view =
        codec::encode(m.view(), from_view, wire_test::cluster);
    WIRE_FUZZ_CHECK(res_view.ok() && res_view.size == res.size && from_view == buffer);
    message again{};
    WIRE_FUZZ_CHECK(paxos::wire::decode(std::span(buffer).first(res.size), again,
                                        wire_test::cluster) == paxos::wire::decode_reason::ok);
    WIRE_FUZZ_CHECK(again == m);

    feed_replicas<Config>(m.view());
}

void check_all(std::span<const std::byte> in) {
    check_decode<wire_test::int_config>(in);
    check_decode<wire_test::command_config>(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ++wire_fuzz::counters().inputs;
    // std::byte may alias any object, so viewing the input as bytes is sound.
    const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    check_all(in);

    // The same bytes with a valid checksum, to get past the CRC.
    std::array<std::byte, 1024> sealed{};
    static_assert(sealed.size() >= paxos::wire::encoded_size_max<wire_test::int_replica_buffer>);
    static_assert(sealed.size() >=
                  paxos::wire::encoded_size_max<wire_test::command_replica_buffer>);
    if (size >= paxos::wire::header_size && size <= sealed.size()) {
        std::copy(in.begin(), in.end(), sealed.begin());
        wire_test::reseal(std::span(sealed).first(size));
        check_all(std::span<const std::byte>(sealed).first(size));
    }
    return 0;
}
