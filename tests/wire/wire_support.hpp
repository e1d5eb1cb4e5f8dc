// tests/wire/wire_support.hpp: shared by the wire unit tests and the fuzz target.
//
// - `command`: a variable-length command in a fixed-capacity buffer, with a
//   value_codec specialization that sends only its live bytes and refuses a
//   size above the capacity (the README's "commands without allocation"
//   pattern, on the wire).
// - the message buffer types the tests run over (two ballots x two value
//   types x bodies of 1 and 8 values and 1 to 8 votes), and configs whose
//   replicas take those messages, with their own message_buffer types (one
//   whose promises come in a single part, one whose promises split into up
//   to 7 parts);
// - sample(): a message of a given kind with every field that kind uses set
//   (random, or small enough that a replica may accept it), the rest default;
//   a promise gets votes whose value counts add up to its values;
// - reseal(): recomputes the checksum of an encoding a test has edited, so a
//   test can reach the body checks behind the CRC.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <span>
#include <type_traits>

#include <paxos/detail/crc32c.hpp>
#include <paxos/paxos.hpp>
#include <paxos/wire/codec.hpp>

namespace wire_test {

struct command {
    static constexpr std::size_t capacity = 32;
    std::uint16_t size = 0;
    std::array<std::byte, capacity> bytes{};

    // Only the live bytes count; the tail is scratch.
    friend bool operator==(const command& a, const command& b) noexcept {
        if (a.size != b.size) return false;
        for (std::size_t i = 0; i < a.size && i < capacity; ++i) {
            if (a.bytes[i] != b.bytes[i]) return false;
        }
        return true;
    }
};

}  // namespace wire_test

template <>
struct paxos::wire::value_codec<wire_test::command> {
    static constexpr std::size_t encoded_size_min = 2;
    static constexpr std::size_t encoded_size_max = 2 + wire_test::command::capacity;

    static bool encode(const wire_test::command& c, paxos::wire::writer& out) noexcept {
        if (c.size > wire_test::command::capacity) return false;
        out.put_u16(c.size);
        out.put_bytes(std::span<const std::byte>(c.bytes).first(c.size));
        return true;
    }
    static bool decode(paxos::wire::reader& in, wire_test::command& c) noexcept {
        std::uint16_t size = 0;
        if (!in.get_u16(size)) return false;
        if (size > wire_test::command::capacity) return false;  // a lie about the size
        c.size = size;
        return in.get_bytes(std::span<std::byte>(c.bytes).first(size));
    }
};

namespace wire_test {

inline constexpr std::uint16_t node_count = 5;
// The cluster every test message belongs to (the header's cluster id).
inline constexpr paxos::wire::cluster_id cluster{0x7061'786F'7374'6573ull};

// Snapshot chunks of 64 bytes keep every encoding within the fuzzer's 1 KiB.
template <class Value, class Ballot, std::size_t Batch>
struct config : paxos::config<Value, Ballot, paxos::majority<node_count>, paxos::stable_leader,
                              node_count, 8, Batch> {
    static constexpr std::size_t snapshot_chunk_bytes = 64;
};

// The same with a smaller promise: one that holds more than PromiseValuesMax
// values continues in further parts.
template <class Value, class Ballot, std::size_t Batch, std::size_t PromiseValuesMax>
struct parted_config : config<Value, Ballot, Batch> {
    static constexpr std::size_t promise_values_max = PromiseValuesMax;
};

using counter5 = paxos::counter_ballot<node_count>;

// Message buffers: <ballot, value, values max, votes max, snapshot bytes max>.
template <class Ballot, class Value, std::size_t ValuesMax, std::size_t VotesMax,
          std::size_t BytesMax = 16>
using buffer = paxos::basic_message_buffer<Ballot, Value, ValuesMax, VotesMax, BytesMax>;
using int_counter_1 = buffer<counter5, int, 1, 1>;
using int_counter_8 = buffer<counter5, int, 8, 4>;
using int_pair_8 = buffer<paxos::pair_ballot, int, 8, 8>;
using command_pair_1 = buffer<paxos::pair_ballot, command, 1, 3>;  // more votes than values
using command_pair_8 = buffer<paxos::pair_ballot, command, 8, 5>;
using command_counter_8 = buffer<counter5, command, 8, 2>;

// Replicas' own buffers. int_config: window 8, batch 8, so a promise holds
// every vote of the window (64 values, 8 votes) in one part. command_config:
// batch 4 and promises of at most 8 values, so a full window's promise comes
// in up to 7 parts.
using int_config = config<int, counter5, 8>;
using command_config = parted_config<command, paxos::pair_ballot, 4, 8>;
using int_replica_buffer = paxos::replica<int_config>::message_buffer;
using command_replica_buffer = paxos::replica<command_config>::message_buffer;
inline constexpr std::size_t chunk_bytes = paxos::replica<int_config>::snapshot_chunk_bytes;
static_assert(std::is_same_v<int_replica_buffer, buffer<counter5, int, 64, 8, chunk_bytes>>);
static_assert(
    std::is_same_v<command_replica_buffer, buffer<paxos::pair_ballot, command, 8, 8, chunk_bytes>>);
static_assert(paxos::replica<int_config>::promise_parts_max == 1);
static_assert(paxos::replica<command_config>::promise_parts_max == 7);

inline constexpr paxos::message_kind all_kinds[] = {
    paxos::message_kind::prepare,         paxos::message_kind::promise,
    paxos::message_kind::accept,          paxos::message_kind::accepted,
    paxos::message_kind::reject,          paxos::message_kind::chosen,
    paxos::message_kind::heartbeat,       paxos::message_kind::learn_request,
    paxos::message_kind::snapshot_chunk,  paxos::message_kind::snapshot_ack,
    paxos::message_kind::heartbeat_reply, paxos::message_kind::probe,
    paxos::message_kind::probe_reply,     paxos::message_kind::transfer,
};
static_assert(std::size(all_kinds) == paxos::message_kind_count);

// Field ranges: `wide` draws from the whole range of each field (for the
// codec, every bit matters); `small` keeps node ids, ballots and slots
// near what a 5-node cluster uses, so a replica may take the message.
enum class fields { wide, small };

inline void fill(paxos::prng& rng, fields f, int& v) {
    v = f == fields::wide ? static_cast<int>(static_cast<std::uint32_t>(rng.next()))
                          : static_cast<int>(rng.below(100));
}
inline void fill(paxos::prng& rng, fields, command& c) {
    c.size = static_cast<std::uint16_t>(rng.below(command::capacity + 1));
    for (std::size_t i = 0; i < c.size; ++i) c.bytes[i] = static_cast<std::byte>(rng.next());
}
inline void fill(paxos::prng& rng, fields f, counter5& b) {
    b = counter5::from_raw(f == fields::wide ? rng.next() : rng.below(8 * node_count));
}
inline void fill(paxos::prng& rng, fields f, paxos::pair_ballot& b) {
    // One draw per statement: the order of arguments is unspecified, and the
    // same seed must give the same messages on every compiler.
    const std::uint64_t round = f == fields::wide ? rng.next() : rng.below(8);
    const auto node =
        static_cast<std::uint16_t>(f == fields::wide ? rng.next() : rng.below(node_count));
    b = paxos::pair_ballot::from_parts(round, paxos::node_id{node});
}

// A ballot below `bound` (zero when none is).
inline void fill_below(paxos::prng& rng, const counter5& bound, counter5& b) {
    b = counter5::from_raw(rng.below(bound.raw()));
}
inline void fill_below(paxos::prng& rng, const paxos::pair_ballot& bound, paxos::pair_ballot& b) {
    if (bound.round() == 0) {
        b = paxos::pair_ballot{};
        return;
    }
    const std::uint64_t round = rng.below(bound.round());
    const auto node = static_cast<std::uint16_t>(rng.below(node_count));
    b = paxos::pair_ballot::from_parts(round, paxos::node_id{node});
}

inline paxos::node_id draw_node(paxos::prng& rng, fields f) {
    if (f == fields::wide) return paxos::node_id{static_cast<std::uint16_t>(rng.next())};
    if (rng.below(6) == 0) return paxos::node_id::broadcast();
    return paxos::node_id{static_cast<std::uint16_t>(rng.below(node_count))};
}
inline std::uint64_t draw_u64(paxos::prng& rng, fields f, std::uint64_t small_bound) {
    return f == fields::wide ? rng.next() : rng.below(small_bound);
}

// sample()'s default for a promise: one vote per value, up to the buffer's
// votes (so a full body has both every value and every vote).
inline constexpr std::size_t votes_per_value = ~std::size_t{0};

// A message of kind `kind` carrying `values` values (when the kind has
// values) and, for a promise, `votes` votes among which the values are
// shared (a vote may have none: a no-op; a promise without votes has no
// values), every field the kind uses drawn from `rng`, all others default.
// With fields::small a promise's votes are what a replica may take: slots
// increasing from the first slot asked, ballots below the promise (or zero,
// then reported chosen), values shared evenly, mostly in one part.
template <class Message>
Message sample(paxos::message_kind kind, std::size_t values, paxos::prng& rng,
               fields f = fields::wide, std::size_t votes = votes_per_value) {
    using codec = paxos::wire::message_codec<Message>;
    using report = typename Message::report_type;
    Message m{};
    m.kind = kind;
    m.from = draw_node(rng, f);
    m.to = draw_node(rng, f);
    m.chosen_end = paxos::slot_id{draw_u64(rng, f, 16)};
    fill(rng, f, m.ballot);
    if (codec::has_slot(kind)) m.slot = paxos::slot_id{draw_u64(rng, f, 16)};
    if (codec::has_accepted_ballot(kind)) fill(rng, f, m.accepted_ballot);
    const std::size_t asked = values;
    values = std::min(values, Message::values_max);
    if (codec::has_votes(kind)) {
        if (votes == votes_per_value) votes = values;
        votes = std::min(votes, Message::votes_max);
        if (votes == 0) values = 0;
        if (f == fields::wide) {
            m.part = static_cast<std::uint8_t>(rng.next());
            m.parts = static_cast<std::uint8_t>(rng.next());
        } else {
            m.parts = static_cast<std::uint8_t>(rng.below(4) == 0 ? 2 + rng.below(2) : 1);
            m.part = static_cast<std::uint8_t>(rng.below(m.parts));
        }
        std::array<std::uint32_t, Message::votes_max> counts{};
        for (std::size_t i = 0; i < values; ++i) {
            const std::size_t at = f == fields::wide ? rng.below(votes) : i % votes;
            ++counts[at];
        }
        std::uint64_t slot = m.slot.value;
        for (std::size_t i = 0; i < votes; ++i) {
            report v{};
            if (f == fields::wide) {
                v.slot = paxos::slot_id{rng.next()};
                fill(rng, f, v.ballot);
                v.chosen = rng.below(2) == 1;
            } else {
                slot += (i == 0 ? 0 : 1) + rng.below(2);
                v.slot = paxos::slot_id{slot};
                fill_below(rng, m.ballot, v.ballot);
                v.chosen = rng.below(4) == 0 || v.ballot.is_zero();
            }
            v.value_count = counts[i];
            m.votes.push_back(v);
        }
    }
    if (codec::has_values(kind)) {
        for (std::size_t i = 0; i < values; ++i) {
            typename Message::value_type v{};
            fill(rng, f, v);
            m.values.push_back(v);
        }
    }
    if (codec::has_position(kind)) {
        // `values` counts a chunk's bytes. Small fields: a chunk or ack a
        // replica may take (a zero ballot, its place inside the snapshot,
        // its CRC right).
        const std::size_t bytes = codec::has_bytes(kind) ? std::min(asked, Message::bytes_max) : 0;
        for (std::size_t i = 0; i < bytes; ++i) {
            m.bytes.push_back(static_cast<std::byte>(rng.next()));
        }
        if (f == fields::wide) {
            m.snapshot.offset = rng.next();
            m.snapshot.size = rng.next();
            m.snapshot.crc = static_cast<std::uint32_t>(rng.next());
            m.snapshot.chunk_crc = static_cast<std::uint32_t>(rng.next());
            m.snapshot.resend = rng.below(2) == 1;
        } else {
            m.ballot = typename Message::ballot_type{};
            m.slot = paxos::slot_id{1 + rng.below(16)};
            m.snapshot.offset = rng.below(64);
            m.snapshot.size = m.snapshot.offset + bytes + rng.below(64) + 1;
            m.snapshot.crc = static_cast<std::uint32_t>(rng.next());
            if (codec::has_bytes(kind)) {
                m.snapshot.chunk_crc = paxos::detail::crc32c(m.bytes.view());
            } else {
                m.snapshot.resend = rng.below(2) == 1;
            }
        }
    }
    return m;
}

// Recomputes the header checksum of an encoding edited in place.
inline void reseal(std::span<std::byte> encoding) {
    using paxos::wire::checksum_offset;
    using paxos::wire::header_size;
    const std::uint32_t crc =
        paxos::detail::crc32c(std::span<const std::byte>(encoding).subspan(header_size),
                              paxos::detail::crc32c(encoding.first(checksum_offset)));
    for (std::size_t i = 0; i < 4; ++i) {
        encoding[checksum_offset + i] = static_cast<std::byte>(crc >> (8 * i));
    }
}

}  // namespace wire_test
