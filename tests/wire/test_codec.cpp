// The wire codec: round trips for every kind and buffer type (promises with
// no vote, one, many, chosen ones, no-op ones, parts), the exact byte layout,
// every decode reason reached on purpose, counts refused before anything they
// count is read, every single-bit flip and every truncation refused, short
// buffers refused without a stray write, bodies larger than the buffer type
// refused at encode, a replica's multi-part promise carried over the wire,
// and a decoded-but-nonsensical message refused by replica::step().
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "wire_support.hpp"

using paxos::message_kind;
using paxos::wire::decode_reason;
using paxos::wire::encode_status;
using wire_test::all_kinds;

// A ballot and a value whose codecs count the decodes they run, to see that
// a count in a message is checked before anything it counts is read.
namespace counting {

struct ballot {
    std::uint64_t raw = 0;
    friend constexpr bool operator==(const ballot&, const ballot&) = default;
};
struct value {
    std::uint32_t raw = 0;
    friend constexpr bool operator==(const value&, const value&) = default;
};

inline std::size_t ballot_decodes = 0;
inline std::size_t value_decodes = 0;

}  // namespace counting

template <>
struct paxos::wire::ballot_codec<counting::ballot> {
    static constexpr std::size_t encoded_size_min = 8;
    static constexpr std::size_t encoded_size_max = 8;
    static bool encode(const counting::ballot& b, paxos::wire::writer& out) noexcept {
        out.put_u64(b.raw);
        return true;
    }
    static bool decode(paxos::wire::reader& in, counting::ballot& b) noexcept {
        ++counting::ballot_decodes;
        return in.get_u64(b.raw);
    }
};

template <>
struct paxos::wire::value_codec<counting::value> {
    static constexpr std::size_t encoded_size_min = 4;
    static constexpr std::size_t encoded_size_max = 4;
    static bool encode(const counting::value& v, paxos::wire::writer& out) noexcept {
        out.put_u32(v.raw);
        return true;
    }
    static bool decode(paxos::wire::reader& in, counting::value& v) noexcept {
        ++counting::value_decodes;
        return in.get_u32(v.raw);
    }
};

namespace {

constexpr std::size_t reason_count = static_cast<std::size_t>(decode_reason::malformed) + 1;

// Encodes `m` and returns the bytes (test code may allocate; the codec does not).
template <class Message>
std::vector<std::byte> encoded(const Message& m) {
    paxos::wire::buffer_for<Message> buffer{};
    const auto res = paxos::wire::encode(m, buffer, wire_test::cluster);
    REQUIRE(res.ok());
    REQUIRE(res.size <= buffer.size());
    return {buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(res.size)};
}

// A message no decode in these tests produces, to see that a failed decode
// leaves its output alone.
template <class Message>
Message sentinel() {
    paxos::prng rng(99);
    return wire_test::sample<Message>(message_kind::accept, 1, rng);
}

template <class Message>
void check_round_trip(const Message& m) {
    INFO("kind " << std::string(paxos::to_string(m.kind)) << ", " << m.values.size() << " values, "
                 << m.votes.size() << " votes");
    const std::vector<std::byte> bytes = encoded(m);
    Message back{};
    REQUIRE(paxos::wire::decode(bytes, back, wire_test::cluster) == decode_reason::ok);
    CHECK(back == m);
    // Canonical: the decoded message encodes to the same bytes.
    CHECK(encoded(back) == bytes);
    // The view a replica hands out encodes to the same bytes as its buffer.
    paxos::wire::buffer_for<Message> buffer{};
    const auto res =
        paxos::wire::message_codec<Message>::encode(m.view(), buffer, wire_test::cluster);
    REQUIRE(res.ok());
    CHECK(std::equal(bytes.begin(), bytes.end(), buffer.begin(), buffer.begin() + res.size));
    CHECK(paxos::wire::message_codec<Message>::peek_size(bytes) == bytes.size());
}

// The byte offset of the first vote of a promise, and the size of one vote.
template <class Message>
constexpr std::size_t first_vote_at() {
    constexpr std::size_t ballot =
        paxos::wire::ballot_codec<typename Message::ballot_type>::encoded_size_max;
    return paxos::wire::header_size + 2 + 2 + 8 + ballot + 8 + 1 + 1 + 2;
}
template <class Message>
constexpr std::size_t vote_size() {
    return 8 + paxos::wire::ballot_codec<typename Message::ballot_type>::encoded_size_max + 2 + 1;
}

void put_le(std::vector<std::byte>& bytes, std::size_t at, std::uint64_t v, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) bytes[at + i] = static_cast<std::byte>(v >> (8 * i));
}

}  // namespace

#define WIRE_MESSAGE_TYPES                                                                  \
    wire_test::int_counter_1, wire_test::int_counter_8, wire_test::int_pair_8,              \
        wire_test::command_pair_1, wire_test::command_pair_8, wire_test::command_counter_8, \
        wire_test::int_replica_buffer, wire_test::command_replica_buffer

TEST_CASE_TEMPLATE("wire: every kind round-trips, empty, partial and full bodies", Message,
                   WIRE_MESSAGE_TYPES) {
    paxos::prng rng(1);
    constexpr std::size_t batch = Message::values_max;
    constexpr std::size_t votes_max = Message::votes_max;
    for (const message_kind kind : all_kinds) {
        const bool votes_too = paxos::wire::message_codec<Message>::has_votes(kind);
        for (const std::size_t values : {std::size_t{0}, std::size_t{1}, batch / 2, batch}) {
            for (const std::size_t votes :
                 {wire_test::votes_per_value, std::size_t{0}, std::size_t{1}, votes_max}) {
                if (!votes_too && votes != wire_test::votes_per_value) continue;
                for (int repeat = 0; repeat < 8; ++repeat) {
                    check_round_trip(wire_test::sample<Message>(kind, values, rng,
                                                                wire_test::fields::wide, votes));
                }
            }
        }
        check_round_trip(wire_test::sample<Message>(kind, batch, rng, wire_test::fields::small));
        // Extremes of every field.
        Message m =
            wire_test::sample<Message>(kind, batch, rng, wire_test::fields::wide, votes_max);
        m.from = paxos::node_id{0xFFFF};
        m.to = paxos::node_id{0};
        m.chosen_end = paxos::slot_id{~std::uint64_t{0}};
        if (paxos::wire::message_codec<Message>::has_slot(kind)) m.slot = m.chosen_end;
        if (votes_too) {
            m.part = 0xFF;
            m.parts = 0xFF;
            for (auto& v : m.votes) {
                v.slot = paxos::slot_id{~std::uint64_t{0}};
                v.chosen = true;
            }
            // The codec checks structure, not sense: value counts that do not
            // add up to the values travel as they are (step() refuses them).
            m.votes[0].value_count = 0xFFFF;
        }
        check_round_trip(m);
    }
}

TEST_CASE("wire: promises of every shape round-trip") {
    using M = wire_test::int_counter_8;
    paxos::prng rng(12);
    M base{};
    base.kind = message_kind::promise;
    base.from = paxos::node_id{3};
    base.to = paxos::node_id{1};
    base.ballot = wire_test::counter5::from_raw(41);
    base.slot = paxos::slot_id{10};
    base.chosen_end = paxos::slot_id{10};
    const auto vote = [](std::uint64_t slot, std::uint64_t ballot, std::uint32_t count,
                         bool chosen) {
        return M::report_type{paxos::slot_id{slot}, wire_test::counter5::from_raw(ballot), count,
                              chosen};
    };

    SUBCASE("no vote") { check_round_trip(base); }
    SUBCASE("one vote") {
        M m = base;
        m.votes.push_back(vote(10, 36, 2, false));
        m.values.push_back(7);
        m.values.push_back(-7);
        check_round_trip(m);
    }
    SUBCASE("a chosen vote, and one learned without a ballot") {
        M m = base;
        m.votes.push_back(vote(10, 31, 1, true));
        m.votes.push_back(vote(11, 0, 1, true));
        m.values.push_back(1);
        m.values.push_back(2);
        check_round_trip(m);
    }
    SUBCASE("no-op votes, with no values") {
        M m = base;
        m.votes.push_back(vote(10, 31, 0, false));
        m.votes.push_back(vote(12, 36, 0, true));
        check_round_trip(m);
    }
    SUBCASE("as many votes and values as the buffer holds") {
        M m = base;
        for (std::uint64_t s = 0; s < M::votes_max; ++s)
            m.votes.push_back(vote(10 + s, 36, 2, s % 2 == 0));
        for (int v = 0; m.values.size() < M::values_max; ++v) m.values.push_back(v);
        check_round_trip(m);
    }
    SUBCASE("each part of a promise in parts") {
        for (std::uint8_t part = 0; part < 3; ++part) {
            M m = base;
            m.part = part;
            m.parts = 3;
            m.slot = paxos::slot_id{10 + 2 * std::uint64_t{part}};
            m.votes.push_back(vote(m.slot.value, 36, 1, false));
            m.votes.push_back(vote(m.slot.value + 1, 26, 1, part == 1));
            m.values.push_back(part);
            m.values.push_back(-part);
            check_round_trip(m);
        }
    }
    SUBCASE("random promises") {
        for (int i = 0; i < 200; ++i) {
            const std::size_t values = rng.below(M::values_max + 1);
            const std::size_t votes = rng.below(M::votes_max + 1);
            check_round_trip(wire_test::sample<M>(message_kind::promise, values, rng,
                                                  wire_test::fields::wide, votes));
        }
    }
}

TEST_CASE_TEMPLATE("wire: encoded_size_max is enough and is reached", Message, WIRE_MESSAGE_TYPES) {
    using codec = paxos::wire::message_codec<Message>;
    static_assert(paxos::wire::encoded_size_max<Message> == codec::encoded_size_max);
    static_assert(sizeof(paxos::wire::buffer_for<Message>) == codec::encoded_size_max);
    paxos::prng rng(2);
    std::size_t largest = 0;
    for (const message_kind kind : all_kinds) {
        INFO("kind " << std::string(paxos::to_string(kind)));
        std::size_t largest_of_kind = 0;
        for (int repeat = 0; repeat < 16; ++repeat) {
            // (A chunk's count is of bytes.)
            const std::size_t count =
                codec::has_bytes(kind) ? Message::bytes_max : Message::values_max;
            Message m = wire_test::sample<Message>(kind, count, rng, wire_test::fields::wide,
                                                   Message::votes_max);
            for (auto& v : m.values) {
                if constexpr (std::is_same_v<typename Message::value_type, wire_test::command>) {
                    v.size = wire_test::command::capacity;  // the longest a value gets
                }
            }
            const std::size_t size = encoded(m).size();
            CHECK(size <= codec::encoded_size_max);
            CHECK(size - paxos::wire::header_size <= codec::body_size_max(kind));
            largest_of_kind = std::max(largest_of_kind, size);
        }
        // Every kind's bound is tight, not only the largest kind's.
        CHECK(largest_of_kind == paxos::wire::header_size + codec::body_size_max(kind));
        largest = std::max(largest, largest_of_kind);
    }
    CHECK(largest == codec::encoded_size_max);
}

TEST_CASE("wire: the layout is little-endian and fixed, byte for byte") {
    // A prepare from node 2 to node 3 for slot 0x0102030405060708, ballot raw
    // 0x1112131415161718, chosen_end 0x21, handed over by ballot raw 0x0102
    // (a transfer), in cluster 0x7061786F73746573.
    wire_test::int_counter_8 m{};
    m.kind = message_kind::prepare;
    m.from = paxos::node_id{2};
    m.to = paxos::node_id{3};
    m.chosen_end = paxos::slot_id{0x21};
    m.ballot = wire_test::counter5::from_raw(0x1112131415161718ull);
    m.slot = paxos::slot_id{0x0102030405060708ull};
    m.accepted_ballot = wire_test::counter5::from_raw(0x0102);
    const std::vector<std::byte> bytes = encoded(m);
    const std::array<std::uint8_t, 20 + 36> expected = {
        0x50, 0x58, 0x05, 0x01,                          // magic "PX", version 5, kind prepare
        36,   0,    0,    0,                             // body length
        0x73, 0x65, 0x74, 0x73, 0x6F, 0x78, 0x61, 0x70,  // cluster id
        0,    0,    0,    0,                             // checksum (compared below)
        0x02, 0x00, 0x03, 0x00,                          // from, to
        0x21, 0,    0,    0,    0,    0,    0,    0,     // chosen_end
        0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,  // ballot
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // slot
        0x02, 0x01, 0,    0,    0,    0,    0,    0,     // handed over by
    };
    REQUIRE(bytes.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (i >= paxos::wire::checksum_offset && i < paxos::wire::header_size) continue;
        INFO("byte " << i);
        CHECK(static_cast<std::uint8_t>(bytes[i]) == expected[i]);
    }
    // The checksum is CRC-32C of bytes 0..15 then the body, little-endian.
    const std::span<const std::byte> all(bytes);
    const std::uint32_t crc =
        paxos::detail::crc32c(all.subspan(20), paxos::detail::crc32c(all.first(16)));
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(static_cast<std::uint8_t>(bytes[16 + i]) ==
              static_cast<std::uint8_t>(crc >> (8 * i)));
    }

    // pair_ballot: round then node; a heartbeat's slot is its read round.
    wire_test::int_pair_8 h{};
    h.kind = message_kind::heartbeat;
    h.ballot = paxos::pair_ballot::from_parts(0x0A0B, paxos::node_id{0x0C0D});
    h.slot = paxos::slot_id{0x0102};
    const std::vector<std::byte> hb = encoded(h);
    REQUIRE(hb.size() == 20 + 2 + 2 + 8 + 10 + 8);
    CHECK(static_cast<std::uint8_t>(hb[42]) == 0x02);
    CHECK(static_cast<std::uint8_t>(hb[43]) == 0x01);
    CHECK(static_cast<std::uint8_t>(hb[3]) == 7);  // kind heartbeat
    CHECK(static_cast<std::uint8_t>(hb[32]) == 0x0B);
    CHECK(static_cast<std::uint8_t>(hb[33]) == 0x0A);
    CHECK(static_cast<std::uint8_t>(hb[40]) == 0x0D);
    CHECK(static_cast<std::uint8_t>(hb[41]) == 0x0C);
}

TEST_CASE("wire: a promise's body, byte for byte") {
    // Part 1 of 2 of a promise from node 1 to node 0, ballot raw 0x30, first
    // slot 5, chosen_end 4: a vote in slot 5 at ballot raw 0x1A for two
    // values, and slot 7 known chosen (no ballot) with one value.
    wire_test::int_counter_8 m{};
    m.kind = message_kind::promise;
    m.from = paxos::node_id{1};
    m.to = paxos::node_id{0};
    m.chosen_end = paxos::slot_id{4};
    m.ballot = wire_test::counter5::from_raw(0x30);
    m.slot = paxos::slot_id{5};
    m.part = 1;
    m.parts = 2;
    m.votes.push_back({paxos::slot_id{5}, wire_test::counter5::from_raw(0x1A), 2, false});
    m.votes.push_back({paxos::slot_id{7}, wire_test::counter5{}, 1, true});
    m.values.push_back(0x01020304);
    m.values.push_back(-1);
    m.values.push_back(9);
    const std::vector<std::byte> bytes = encoded(m);
    const std::array<std::uint8_t, 20 + 86> expected = {
        0x50, 0x58, 0x05, 0x02,                          // magic, version 5, kind promise
        86,   0,    0,    0,                             // body length
        0x73, 0x65, 0x74, 0x73, 0x6F, 0x78, 0x61, 0x70,  // cluster id
        0,    0,    0,    0,                             // checksum
        0x01, 0x00, 0x00, 0x00,                          // from, to
        4,    0,    0,    0,    0,    0,    0,    0,     // chosen_end
        0x30, 0,    0,    0,    0,    0,    0,    0,     // ballot
        5,    0,    0,    0,    0,    0,    0,    0,     // first slot asked
        1,    2,                                         // part 1 of 2
        2,    0,                                         // two votes
        5,    0,    0,    0,    0,    0,    0,    0,     // vote: slot 5
        0x1A, 0,    0,    0,    0,    0,    0,    0,     //       ballot
        2,    0,    0,                                   //       two values, not chosen
        7,    0,    0,    0,    0,    0,    0,    0,     // vote: slot 7
        0,    0,    0,    0,    0,    0,    0,    0,     //       no ballot
        1,    0,    1,                                   //       one value, chosen
        3,    0,    0,    0,                             // three values
        0x04, 0x03, 0x02, 0x01,                          // 0x01020304
        0xFF, 0xFF, 0xFF, 0xFF,                          // -1
        9,    0,    0,    0,                             // 9
    };
    REQUIRE(bytes.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        if (i >= paxos::wire::checksum_offset && i < paxos::wire::header_size) continue;
        INFO("byte " << i);
        CHECK(static_cast<std::uint8_t>(bytes[i]) == expected[i]);
    }

    // A chosen: the ballot it was chosen in follows the slot, then the values.
    wire_test::int_counter_8 c{};
    c.kind = message_kind::chosen;
    c.slot = paxos::slot_id{3};
    c.accepted_ballot = wire_test::counter5::from_raw(0x2B);
    c.values.push_back(5);
    const std::vector<std::byte> cb = encoded(c);
    REQUIRE(cb.size() == 20 + 2 + 2 + 8 + 8 + 8 + 8 + 4 + 4);
    CHECK(static_cast<std::uint8_t>(cb[3]) == 6);  // kind chosen
    CHECK(static_cast<std::uint8_t>(cb[40]) == 3);
    CHECK(static_cast<std::uint8_t>(cb[48]) == 0x2B);
    CHECK(static_cast<std::uint8_t>(cb[56]) == 1);
    CHECK(static_cast<std::uint8_t>(cb[60]) == 5);
}

TEST_CASE("wire: fields a kind does not use are not sent and decode to defaults") {
    paxos::prng rng(3);
    for (const message_kind kind : all_kinds) {
        using M = wire_test::int_counter_8;
        using codec = paxos::wire::message_codec<M>;
        const M clean = wire_test::sample<M>(kind, 3, rng);
        M dirty = clean;  // fill every field, used or not
        dirty.slot = paxos::slot_id{77};
        dirty.accepted_ballot = wire_test::counter5::from_raw(9);
        dirty.part = 2;
        dirty.parts = 4;
        dirty.values.clear();
        for (int v : {4, 5, 6}) dirty.values.push_back(v);
        dirty.votes.clear();
        dirty.votes.push_back({paxos::slot_id{77}, wire_test::counter5::from_raw(3), 1, false});
        dirty.votes.push_back({paxos::slot_id{78}, wire_test::counter5::from_raw(4), 2, true});
        dirty.snapshot = paxos::snapshot_position{5, 9, 7, 3, true};
        dirty.bytes.clear();
        dirty.bytes.push_back(std::byte{0x42});
        M expected = clean;
        if (codec::has_position(kind)) expected.snapshot = dirty.snapshot;
        if (codec::has_bytes(kind)) expected.bytes = dirty.bytes;
        if (codec::has_slot(kind)) expected.slot = dirty.slot;
        if (codec::has_accepted_ballot(kind)) expected.accepted_ballot = dirty.accepted_ballot;
        if (codec::has_values(kind)) expected.values = dirty.values;
        if (codec::has_votes(kind)) {
            expected.votes = dirty.votes;
            expected.part = dirty.part;
            expected.parts = dirty.parts;
        }
        INFO("kind " << std::string(paxos::to_string(kind)));
        M back = sentinel<M>();
        REQUIRE(paxos::wire::decode(encoded(dirty), back, wire_test::cluster) == decode_reason::ok);
        CHECK(back == expected);
        if (!codec::has_votes(kind)) {
            CHECK(back.votes.empty());
            CHECK(back.part == 0);
            CHECK(back.parts == 1);
        }
        if (!codec::has_position(kind)) CHECK(back.snapshot == paxos::snapshot_position{});
        if (!codec::has_bytes(kind)) CHECK(back.bytes.empty());
    }
}

TEST_CASE("wire: a snapshot chunk's layout, and its byte count checked") {
    wire_test::int_counter_8 c{};
    c.kind = message_kind::snapshot_chunk;
    c.slot = paxos::slot_id{9};
    c.snapshot = paxos::snapshot_position{0x10, 0x20, 0xA1B2C3D4u, 0x01020304u, false};
    for (std::uint8_t b : {0xAA, 0xBB, 0xCC}) c.bytes.push_back(std::byte{b});
    const std::vector<std::byte> e = encoded(c);
    // from, to, chosen_end, ballot, slot; then offset, size, crc, chunk crc,
    // resend; then the byte count and the bytes.
    REQUIRE(e.size() == 20 + 2 + 2 + 8 + 8 + 8 + 8 + 8 + 4 + 4 + 1 + 4 + 3);
    CHECK(static_cast<std::uint8_t>(e[3]) == 9);
    CHECK(static_cast<std::uint8_t>(e[48]) == 0x10);
    CHECK(static_cast<std::uint8_t>(e[56]) == 0x20);
    CHECK(static_cast<std::uint8_t>(e[64]) == 0xD4);
    CHECK(static_cast<std::uint8_t>(e[68]) == 0x04);
    CHECK(static_cast<std::uint8_t>(e[72]) == 0);
    CHECK(static_cast<std::uint8_t>(e[73]) == 3);
    CHECK(static_cast<std::uint8_t>(e[77]) == 0xAA);
    wire_test::int_counter_8 back{};
    REQUIRE(paxos::wire::decode(e, back, wire_test::cluster) == decode_reason::ok);
    CHECK(back == c);

    // A byte count above the buffer's, or beyond the body, or a resend flag
    // that is not 0 or 1: refused, `back` untouched.
    auto edited = [&](std::size_t at, std::uint8_t v) {
        std::vector<std::byte> b = e;
        b[at] = std::byte{v};
        wire_test::reseal(b);
        return b;
    };
    CHECK(paxos::wire::decode(edited(73, 17), back, wire_test::cluster) ==
          decode_reason::too_many_values);
    CHECK(paxos::wire::decode(edited(73, 4), back, wire_test::cluster) ==
          decode_reason::length_mismatch);
    CHECK(paxos::wire::decode(edited(72, 2), back, wire_test::cluster) == decode_reason::malformed);
    CHECK(back == c);
}

TEST_CASE_TEMPLATE("wire: every single-bit flip of every kind is refused", Message,
                   WIRE_MESSAGE_TYPES) {
    paxos::prng rng(4);
    std::size_t flips = 0;
    std::size_t messages = 0;
    std::array<std::size_t, reason_count> by_reason{};
    struct shape {
        std::size_t values;
        std::size_t votes;
    };
    const shape shapes[] = {
        {0, 0},                                     // an empty body
        {Message::values_max, Message::votes_max},  // a full one
        {1, Message::votes_max},                    // a promise of mostly no-op votes
    };
    for (const message_kind kind : all_kinds) {
        for (std::size_t i = 0; i < std::size(shapes); ++i) {
            const shape sh = shapes[i];
            if (i == 2 && !paxos::wire::message_codec<Message>::has_votes(kind)) continue;
            const Message m =
                wire_test::sample<Message>(kind, sh.values, rng, wire_test::fields::wide, sh.votes);
            std::vector<std::byte> bytes = encoded(m);
            ++messages;
            for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
                const auto mask = static_cast<std::byte>(1u << (bit % 8));
                bytes[bit / 8] ^= mask;
                Message out = sentinel<Message>();
                const decode_reason r = paxos::wire::decode(bytes, out, wire_test::cluster);
                if (r == decode_reason::ok) {
                    FAIL("flip of bit " << bit << " of a " << std::string(paxos::to_string(kind))
                                        << " decoded as ok");
                }
                CHECK(out == sentinel<Message>());  // a refused decode writes nothing
                ++by_reason[static_cast<std::size_t>(r)];
                bytes[bit / 8] ^= mask;
                ++flips;
            }
            Message back{};
            REQUIRE(paxos::wire::decode(bytes, back, wire_test::cluster) == decode_reason::ok);
            CHECK(back == m);
        }
    }
    MESSAGE(flips << " single-bit flips of " << messages << " messages, all refused: bad magic "
                  << by_reason[static_cast<int>(decode_reason::bad_magic)] << ", unknown version "
                  << by_reason[static_cast<int>(decode_reason::unknown_version)]
                  << ", unknown type " << by_reason[static_cast<int>(decode_reason::unknown_type)]
                  << ", truncated " << by_reason[static_cast<int>(decode_reason::truncated)]
                  << ", length mismatch "
                  << by_reason[static_cast<int>(decode_reason::length_mismatch)]
                  << ", checksum mismatch "
                  << by_reason[static_cast<int>(decode_reason::checksum_mismatch)]);
    CHECK(messages == 2 * paxos::message_kind_count + 1);
    CHECK(flips > messages * 8 * 30);
    CHECK(by_reason[static_cast<int>(decode_reason::ok)] == 0);
    CHECK(by_reason[static_cast<int>(decode_reason::checksum_mismatch)] > flips / 2);
}

TEST_CASE_TEMPLATE("wire: every truncation is refused", Message, WIRE_MESSAGE_TYPES) {
    paxos::prng rng(5);
    std::size_t cuts = 0;
    for (const message_kind kind : all_kinds) {
        const Message m = wire_test::sample<Message>(kind, Message::values_max, rng,
                                                     wire_test::fields::wide, Message::votes_max);
        const std::vector<std::byte> bytes = encoded(m);
        for (std::size_t size = 0; size < bytes.size(); ++size) {
            Message out = sentinel<Message>();
            const decode_reason r =
                paxos::wire::decode(std::span(bytes).first(size), out, wire_test::cluster);
            CHECK((r == decode_reason::truncated || r == decode_reason::length_mismatch));
            CHECK(out == sentinel<Message>());
            ++cuts;
        }
        // One byte too many is refused as well.
        std::vector<std::byte> longer = bytes;
        longer.push_back(std::byte{0});
        Message out{};
        CHECK(paxos::wire::decode(longer, out, wire_test::cluster) ==
              decode_reason::length_mismatch);
    }
    CHECK(cuts > paxos::message_kind_count * paxos::wire::header_size);
}

TEST_CASE_TEMPLATE("wire: a buffer too small is refused without writing past it", Message,
                   WIRE_MESSAGE_TYPES) {
    paxos::prng rng(6);
    for (const message_kind kind : all_kinds) {
        const Message m = wire_test::sample<Message>(kind, Message::values_max, rng,
                                                     wire_test::fields::wide, Message::votes_max);
        const std::size_t needed = encoded(m).size();
        std::array<std::byte, paxos::wire::encoded_size_max<Message> + 1> buffer{};
        for (std::size_t size = 0; size < needed; ++size) {
            buffer.fill(std::byte{0xA5});
            const auto res =
                paxos::wire::encode(m, std::span(buffer).first(size), wire_test::cluster);
            CHECK(res.status == encode_status::buffer_too_small);
            CHECK(res.size == 0);
            CHECK(std::all_of(buffer.begin() + static_cast<std::ptrdiff_t>(size), buffer.end(),
                              [](std::byte b) { return b == std::byte{0xA5}; }));
        }
        const auto exact =
            paxos::wire::encode(m, std::span(buffer).first(needed), wire_test::cluster);
        CHECK(exact.ok());
        CHECK(exact.size == needed);
    }
}

TEST_CASE("wire: each header check has its reason") {
    using M = wire_test::int_counter_8;
    paxos::prng rng(7);
    const std::vector<std::byte> good = encoded(wire_test::sample<M>(message_kind::accept, 2, rng));
    M out{};
    auto with = [&](std::size_t index, std::uint8_t value) {
        std::vector<std::byte> b = good;
        b[index] = static_cast<std::byte>(value);
        return b;
    };
    CHECK(paxos::wire::decode(with(0, 'Q'), out, wire_test::cluster) == decode_reason::bad_magic);
    CHECK(paxos::wire::decode(with(1, 'Y'), out, wire_test::cluster) == decode_reason::bad_magic);
    // Versions 1, 2 (a promise as promise_entry messages), 3 (heartbeats
    // without a read round) and 4 (prepares without the handing-over
    // ballot) are not read.
    for (const std::uint8_t version : {0, 1, 2, 3, 4, 6, 255}) {
        CHECK(paxos::wire::decode(with(2, version), out, wire_test::cluster) ==
              decode_reason::unknown_version);
    }
    CHECK(paxos::wire::decode(with(3, 0), out, wire_test::cluster) == decode_reason::unknown_type);
    CHECK(paxos::wire::decode(with(3, 15), out, wire_test::cluster) == decode_reason::unknown_type);
    CHECK(paxos::wire::decode(with(3, 16), out, wire_test::cluster) == decode_reason::unknown_type);
    CHECK(paxos::wire::decode(with(3, 255), out, wire_test::cluster) ==
          decode_reason::unknown_type);
    // A different valid kind whose body may be this long is caught by the
    // checksum, which covers the kind; one whose body may not, by the length.
    CHECK(paxos::wire::decode(with(3, 6), out, wire_test::cluster) ==
          decode_reason::checksum_mismatch);
    CHECK(paxos::wire::decode(with(3, 2), out, wire_test::cluster) ==
          decode_reason::checksum_mismatch);
    CHECK(paxos::wire::decode(with(3, 7), out, wire_test::cluster) ==
          decode_reason::length_mismatch);
    // A body length above anything the kind can have.
    CHECK(paxos::wire::decode(with(7, 1), out, wire_test::cluster) ==
          decode_reason::length_mismatch);
    CHECK(paxos::wire::decode(with(16, static_cast<std::uint8_t>(good[16]) ^ 0xFF), out,
                              wire_test::cluster) == decode_reason::checksum_mismatch);
    // A corrupted cluster id is corruption; an intact one of another cluster
    // is refused as such, and `out` is left alone.
    CHECK(paxos::wire::decode(with(8, static_cast<std::uint8_t>(good[8]) ^ 0x01), out,
                              wire_test::cluster) == decode_reason::checksum_mismatch);
    const M before = out;
    CHECK(paxos::wire::decode(good, out, paxos::wire::cluster_id{wire_test::cluster.value + 1}) ==
          decode_reason::wrong_cluster);
    CHECK(out == before);
    CHECK(paxos::wire::decode(good, out, wire_test::cluster) == decode_reason::ok);
    CHECK(paxos::wire::decode(std::span(good).first(3), out, wire_test::cluster) ==
          decode_reason::truncated);
    CHECK(paxos::wire::decode({}, out, wire_test::cluster) == decode_reason::truncated);
    // peek_size reads the header only, and refuses what decode would refuse there.
    using codec = paxos::wire::message_codec<M>;
    CHECK(codec::peek_size(std::span(good).first(paxos::wire::header_size)) == good.size());
    CHECK(codec::peek_size(std::span(good).first(paxos::wire::header_size - 1)) == 0);
    CHECK(codec::peek_size(with(0, 'Q')) == 0);
    CHECK(codec::peek_size(with(2, 2)) == 0);
    CHECK(codec::peek_size(with(7, 1)) == 0);
    CHECK(codec::peek_size(with(3, 7)) == 0);
}

TEST_CASE("wire: each body check has its reason (behind a valid checksum)") {
    using M = wire_test::int_counter_8;
    using C = wire_test::command_pair_8;
    paxos::prng rng(8);
    // Offsets into an accept with a counter ballot: header 20, from/to 4,
    // chosen_end 8, ballot 8, slot 8, then the value count (u32).
    constexpr std::size_t count_at = 20 + 4 + 8 + 8 + 8;
    M m = wire_test::sample<M>(message_kind::accept, 0, rng);
    std::vector<std::byte> bytes = encoded(m);
    REQUIRE(bytes.size() == count_at + 4);
    M out{};

    SUBCASE("a value count above the batch capacity") {
        put_le(bytes, count_at, M::values_max + 1, 4);
        wire_test::reseal(bytes);
        CHECK(paxos::wire::decode(bytes, out, wire_test::cluster) ==
              decode_reason::too_many_values);
        put_le(bytes, count_at, 0xFFFF'FFFFu, 4);
        wire_test::reseal(bytes);
        CHECK(paxos::wire::decode(bytes, out, wire_test::cluster) ==
              decode_reason::too_many_values);
    }
    SUBCASE("a value count the remaining bytes cannot hold") {
        put_le(bytes, count_at, M::values_max, 4);
        wire_test::reseal(bytes);
        CHECK(paxos::wire::decode(bytes, out, wire_test::cluster) ==
              decode_reason::length_mismatch);
    }
    SUBCASE("bytes left over after the last value") {
        bytes.push_back(std::byte{0});
        bytes[paxos::wire::length_offset] =
            static_cast<std::byte>(bytes.size() - paxos::wire::header_size);
        wire_test::reseal(bytes);
        CHECK(paxos::wire::decode(bytes, out, wire_test::cluster) == decode_reason::malformed);
    }
    SUBCASE("a body shorter than the kind's fixed fields") {
        bytes.resize(28);
        bytes[paxos::wire::length_offset] = std::byte{8};
        wire_test::reseal(bytes);
        CHECK(paxos::wire::decode(bytes, out, wire_test::cluster) ==
              decode_reason::length_mismatch);
    }
    SUBCASE("a promise cut inside its vote header or a vote") {
        const M p = wire_test::sample<M>(message_kind::promise, 2, rng);
        REQUIRE(p.votes.size() == 2);
        const std::vector<std::byte> full = encoded(p);
        // Every body length short of the whole, behind a valid checksum:
        // the body runs out inside the fixed fields, the part bytes, the
        // vote count, a vote or the values.
        for (std::size_t body = 0; body + paxos::wire::header_size < full.size(); ++body) {
            std::vector<std::byte> b(
                full.begin(),
                full.begin() + static_cast<std::ptrdiff_t>(paxos::wire::header_size + body));
            put_le(b, paxos::wire::length_offset, body, 4);
            wire_test::reseal(b);
            INFO("body of " << body << " bytes");
            CHECK(paxos::wire::decode(b, out, wire_test::cluster) ==
                  decode_reason::length_mismatch);
        }
    }
    SUBCASE("a vote count above the buffer's votes") {
        const M p = wire_test::sample<M>(message_kind::promise, 0, rng);
        std::vector<std::byte> b = encoded(p);
        const std::size_t votes_at = first_vote_at<M>() - 2;
        REQUIRE(b[votes_at] == std::byte{0});
        put_le(b, votes_at, M::votes_max + 1, 2);
        wire_test::reseal(b);
        CHECK(paxos::wire::decode(b, out, wire_test::cluster) == decode_reason::too_many_values);
        put_le(b, votes_at, 0xFFFF, 2);
        wire_test::reseal(b);
        CHECK(paxos::wire::decode(b, out, wire_test::cluster) == decode_reason::too_many_values);
    }
    SUBCASE("a vote count the remaining bytes cannot hold") {
        const M p = wire_test::sample<M>(message_kind::promise, 0, rng);
        std::vector<std::byte> b = encoded(p);
        put_le(b, first_vote_at<M>() - 2, 1, 2);  // one vote, and only the value count follows
        wire_test::reseal(b);
        CHECK(paxos::wire::decode(b, out, wire_test::cluster) == decode_reason::length_mismatch);
    }
    SUBCASE("a chosen flag other than 0 or 1") {
        M p = wire_test::sample<M>(message_kind::promise, 1, rng);
        REQUIRE(p.votes.size() == 1);
        p.votes[0].chosen = true;
        std::vector<std::byte> b = encoded(p);
        const std::size_t flag_at = first_vote_at<M>() + vote_size<M>() - 1;
        REQUIRE(b[flag_at] == std::byte{1});
        for (const std::uint8_t flag : {2, 3, 0x80, 0xFF}) {
            b[flag_at] = static_cast<std::byte>(flag);
            wire_test::reseal(b);
            CHECK(paxos::wire::decode(b, out, wire_test::cluster) == decode_reason::malformed);
        }
        // 0 is the other encoding of a flag: a vote not chosen.
        b[flag_at] = std::byte{0};
        wire_test::reseal(b);
        M back{};
        REQUIRE(paxos::wire::decode(b, back, wire_test::cluster) == decode_reason::ok);
        CHECK_FALSE(back.votes[0].chosen);
        CHECK(back.votes[0].slot == p.votes[0].slot);
    }
    SUBCASE("a promise's value count above the buffer's values") {
        const M p = wire_test::sample<M>(message_kind::promise, 0, rng);
        std::vector<std::byte> b = encoded(p);
        const std::size_t values_at = first_vote_at<M>();
        REQUIRE(b.size() == values_at + 4);
        put_le(b, values_at, M::values_max + 1, 4);
        wire_test::reseal(b);
        CHECK(paxos::wire::decode(b, out, wire_test::cluster) == decode_reason::too_many_values);
        put_le(b, values_at, 1, 4);  // fits the buffer, not the bytes sent
        wire_test::reseal(b);
        CHECK(paxos::wire::decode(b, out, wire_test::cluster) == decode_reason::length_mismatch);
    }
    SUBCASE("a command that claims more bytes than it can hold") {
        C c = wire_test::sample<C>(message_kind::chosen, 0, rng);
        wire_test::command cmd{};
        cmd.size = 1;
        c.values.push_back(cmd);
        std::vector<std::byte> b = encoded(c);
        // The value's own size field follows the pair ballot (10 bytes), the
        // slot, the ballot it was chosen in (10 bytes) and the count (4).
        const std::size_t size_at = 20 + 4 + 8 + 10 + 8 + 10 + 4;
        REQUIRE(b[size_at] == std::byte{1});
        b[size_at] = std::byte{33};  // one above the capacity
        wire_test::reseal(b);
        C decoded{};
        CHECK(paxos::wire::decode(b, decoded, wire_test::cluster) ==
              decode_reason::value_decoder_failed);
        b[size_at] = std::byte{2};  // fits the command, but not the bytes sent
        wire_test::reseal(b);
        CHECK(paxos::wire::decode(b, decoded, wire_test::cluster) ==
              decode_reason::length_mismatch);
    }
    CHECK(out == M{});  // nothing above decoded
}

TEST_CASE("wire: a count is checked before anything it counts is read") {
    using M = wire_test::buffer<counting::ballot, counting::value, 8, 8>;
    M p{};
    p.kind = message_kind::promise;
    p.ballot = counting::ballot{50};
    p.votes.push_back({paxos::slot_id{1}, counting::ballot{40}, 2, false});
    p.votes.push_back({paxos::slot_id{2}, counting::ballot{30}, 1, true});
    for (std::uint32_t v : {7u, 8u, 9u}) p.values.push_back(counting::value{v});
    const std::vector<std::byte> good = encoded(p);
    const std::size_t votes_at = first_vote_at<M>() - 2;
    const std::size_t values_at = first_vote_at<M>() + 2 * vote_size<M>();
    REQUIRE(good.size() == values_at + 4 + 3 * 4);

    const auto decode_with = [&](std::size_t at, std::uint64_t count, std::size_t size) {
        std::vector<std::byte> b = good;
        put_le(b, at, count, size);
        wire_test::reseal(b);
        counting::ballot_decodes = 0;
        counting::value_decodes = 0;
        M out{};
        const decode_reason r = paxos::wire::decode(b, out, wire_test::cluster);
        if (r != decode_reason::ok) CHECK(out == M{});
        return r;
    };
    // The intact message reads the promise's ballot, both votes' and every value.
    CHECK(decode_with(votes_at, 2, 2) == decode_reason::ok);
    CHECK(counting::ballot_decodes == 3);
    CHECK(counting::value_decodes == 3);

    // Vote counts: above the buffer, and above what the 54 bytes after the
    // count could hold at the smallest vote (11 bytes without its ballot):
    // refused before any vote is read.
    CHECK(decode_with(votes_at, 0xFFFF, 2) == decode_reason::too_many_values);
    CHECK(counting::ballot_decodes == 1);
    CHECK(decode_with(votes_at, 9, 2) == decode_reason::too_many_values);
    CHECK(counting::ballot_decodes == 1);
    CHECK(decode_with(votes_at, 5, 2) == decode_reason::length_mismatch);
    CHECK(counting::ballot_decodes == 1);
    CHECK(counting::value_decodes == 0);

    // Value counts: above the buffer, and above what the 12 bytes left hold.
    CHECK(decode_with(values_at, 0xFFFF'FFFFu, 4) == decode_reason::too_many_values);
    CHECK(counting::value_decodes == 0);
    CHECK(decode_with(values_at, 9, 4) == decode_reason::too_many_values);
    CHECK(counting::value_decodes == 0);
    CHECK(decode_with(values_at, 4, 4) == decode_reason::length_mismatch);
    CHECK(counting::value_decodes == 0);
    CHECK(decode_with(values_at, 8, 4) == decode_reason::length_mismatch);
    CHECK(counting::value_decodes == 0);
}

// The vote count's up-front check divides the bytes left by the smallest
// whole vote (slot, the ballot codec's encoded_size_min, count, flag): a count
// the bytes cannot hold is refused before any vote is read.
TEST_CASE("wire: a vote count is checked against the smallest whole vote") {
    using M = wire_test::buffer<counting::ballot, counting::value, 8, 8>;
    M p{};
    p.kind = message_kind::promise;
    p.ballot = counting::ballot{50};
    p.votes.push_back({paxos::slot_id{1}, counting::ballot{40}, 2, false});
    p.votes.push_back({paxos::slot_id{2}, counting::ballot{30}, 1, true});
    for (std::uint32_t v : {7u, 8u, 9u}) p.values.push_back(counting::value{v});
    std::vector<std::byte> b = encoded(p);
    // 4 votes need 76 bytes; 54 follow the count (54 / 11 = 4, 54 / 19 = 2).
    put_le(b, first_vote_at<M>() - 2, 4, 2);
    wire_test::reseal(b);
    counting::ballot_decodes = 0;
    M out{};
    CHECK(paxos::wire::decode(b, out, wire_test::cluster) == decode_reason::length_mismatch);
    CHECK(counting::ballot_decodes == 1);
}

TEST_CASE("wire: a message the codec cannot represent is refused at encode") {
    using C = wire_test::command_pair_8;
    using codec = paxos::wire::message_codec<C>;
    C c{};
    c.kind = message_kind::accept;
    wire_test::command cmd{};
    cmd.size = wire_test::command::capacity + 1;
    c.values.push_back(cmd);
    paxos::wire::buffer_for<C> buffer{};
    const auto res = paxos::wire::encode(c, buffer, wire_test::cluster);
    CHECK(res.status == encode_status::value_encoder_failed);
    for (const std::uint8_t kind : {0, 15, 16, 255}) {
        c.kind = static_cast<message_kind>(kind);
        CHECK(paxos::wire::encode(c, buffer, wire_test::cluster).status ==
              encode_status::unknown_type);
    }

    // A view with a larger body than the buffer type holds (it would not
    // decode into one): refused, whatever room the output has.
    std::array<wire_test::command, C::values_max + 1> many_values{};
    std::array<C::report_type, C::votes_max + 1> many_votes{};
    std::array<std::byte, 4 * paxos::wire::encoded_size_max<C>> room{};
    paxos::basic_message<paxos::pair_ballot, wire_test::command> v{};
    v.kind = message_kind::promise;
    v.values = many_values;
    CHECK(codec::encode(v, room, wire_test::cluster).status == encode_status::too_large);
    v.values = {};
    v.votes = many_votes;
    CHECK(codec::encode(v, room, wire_test::cluster).status == encode_status::too_large);
    v.votes = std::span(many_votes).first(C::votes_max);
    CHECK(codec::encode(v, room, wire_test::cluster).ok());
    v.kind = message_kind::accept;  // any kind: more values than a buffer holds
    v.values = many_values;
    v.votes = {};
    CHECK(codec::encode(v, room, wire_test::cluster).status == encode_status::too_large);

    // A vote's value count travels as a u16.
    C p{};
    p.kind = message_kind::promise;
    p.votes.push_back(
        {paxos::slot_id{1}, paxos::pair_ballot::first(paxos::node_id{1}), 0x10000, false});
    CHECK_FALSE(paxos::wire::encode(p, buffer, wire_test::cluster).ok());
    p.votes[0].value_count = 0xFFFF;
    CHECK(paxos::wire::encode(p, buffer, wire_test::cluster).ok());
}

TEST_CASE("wire: reasons have names") {
    for (std::size_t r = 0; r < reason_count; ++r) {
        const std::string name = paxos::wire::to_string(static_cast<decode_reason>(r));
        CHECK(name != "unknown decode reason");
    }
    CHECK(std::string(paxos::wire::to_string(decode_reason::checksum_mismatch)) ==
          "checksum mismatch");
    for (int s = 0; s <= static_cast<int>(encode_status::too_large); ++s) {
        const std::string name = paxos::wire::to_string(static_cast<encode_status>(s));
        CHECK(name != "unknown encode status");
    }
    CHECK(std::string(paxos::wire::to_string(encode_status::buffer_too_small)) ==
          "buffer too small");
}

namespace {

enum class color : std::uint16_t { red = 1, green = 0x0102 };
struct point {
    std::int32_t x = 0;
    std::int32_t y = 0;
    friend bool operator==(const point&, const point&) = default;
};

template <class V>
void default_round_trip(V value, std::size_t expected_size) {
    std::array<std::byte, 16> buffer{};
    paxos::wire::writer w(buffer);
    REQUIRE(paxos::wire::value_codec<V>::encode(value, w));
    CHECK(w.size() == expected_size);
    CHECK(paxos::wire::value_codec<V>::encoded_size_max == expected_size);
    paxos::wire::reader r{std::span(buffer).first(w.size())};
    V back{};
    REQUIRE(paxos::wire::value_codec<V>::decode(r, back));
    CHECK(back == value);
    CHECK(r.remaining() == 0);
}

}  // namespace

TEST_CASE("wire: default value codecs") {
    default_round_trip(-5, 4);
    default_round_trip(std::uint64_t{0x0102030405060708ull}, 8);
    default_round_trip(std::int8_t{-128}, 1);
    default_round_trip(true, 1);
    default_round_trip(-2.5, 8);
    default_round_trip(1.25f, 4);
    default_round_trip(color::green, 2);
    default_round_trip(point{-1, 7}, sizeof(point));

    // Integers are little-endian on every host.
    std::array<std::byte, 4> buffer{};
    paxos::wire::writer w(buffer);
    REQUIRE(paxos::wire::value_codec<int>::encode(0x01020304, w));
    CHECK(buffer[0] == std::byte{0x04});
    CHECK(buffer[3] == std::byte{0x01});
    // bool refuses bytes other than 0 and 1.
    const std::array<std::byte, 1> two{std::byte{2}};
    paxos::wire::reader r(two);
    bool b = false;
    CHECK_FALSE(paxos::wire::value_codec<bool>::decode(r, b));
    CHECK_FALSE(r.overrun());
}

TEST_CASE("wire: writer and reader never step outside their spans") {
    std::array<std::byte, 6> storage{};
    storage.fill(std::byte{0xEE});
    paxos::wire::writer w{std::span(storage).first(5)};
    w.put_u32(0x11223344);
    CHECK_FALSE(w.overflowed());
    w.put_u16(0x5566);  // does not fit: nothing written, latched
    CHECK(w.overflowed());
    w.put_u8(0x77);  // would fit, but the writer has already failed
    CHECK(w.size() == 4);
    CHECK(storage[4] == std::byte{0xEE});
    CHECK(storage[5] == std::byte{0xEE});

    paxos::wire::reader r{std::span<const std::byte>(storage).first(5)};
    std::uint32_t a = 0;
    std::uint64_t b = 7;
    CHECK(r.get_u32(a));
    CHECK(a == 0x11223344u);
    CHECK_FALSE(r.get_u64(b));
    CHECK(b == 7);  // untouched
    CHECK(r.overrun());
    CHECK(r.remaining() == 1);
}

namespace {

// The whole codec runs at compile time (no allocation, no reinterpret_cast):
// a promise with a chosen vote and a plain one, encoded from its view and
// decoded into a buffer, then a flipped bit refused.
constexpr bool round_trips_while_compiling() {
    using M = wire_test::int_counter_8;
    using codec = paxos::wire::message_codec<M>;
    const std::array<int, 3> values{42, -1, 7};
    const std::array<M::report_type, 2> votes{{
        {paxos::slot_id{4}, wire_test::counter5::from_raw(6), 2, false},
        {paxos::slot_id{5}, wire_test::counter5{}, 1, true},
    }};
    paxos::basic_message<wire_test::counter5, int> m{};
    m.kind = message_kind::promise;
    m.from = paxos::node_id{1};
    m.ballot = wire_test::counter5::from_raw(12);
    m.slot = paxos::slot_id{4};
    m.part = 1;
    m.parts = 2;
    m.values = values;
    m.votes = votes;
    paxos::wire::buffer_for<M> buffer{};
    const auto res = codec::encode(m, buffer, wire_test::cluster);
    if (!res.ok()) return false;
    M back{};
    if (codec::decode(std::span(buffer).first(res.size), back, wire_test::cluster) !=
        decode_reason::ok) {
        return false;
    }
    // (header() and view() are not constexpr: compare the header as its base.)
    using header = paxos::message_header<wire_test::counter5>;
    if (!(static_cast<const header&>(back) == static_cast<const header&>(m))) return false;
    if (!std::equal(back.values.begin(), back.values.end(), values.begin(), values.end())) {
        return false;
    }
    if (!std::equal(back.votes.begin(), back.votes.end(), votes.begin(), votes.end())) {
        return false;
    }
    buffer[res.size - 1] ^= std::byte{1};
    M ignored{};
    return codec::decode(std::span(buffer).first(res.size), ignored, wire_test::cluster) ==
           decode_reason::checksum_mismatch;
}
static_assert(round_trips_while_compiling());

}  // namespace

TEST_CASE("wire: a decoded message still goes through replica::step validation") {
    // The codec checks structure only: a well-checksummed message from a node
    // that does not exist decodes fine and is refused by the replica.
    using replica = paxos::replica<wire_test::int_config>;
    using M = replica::message_buffer;
    static_assert(std::is_same_v<M, wire_test::int_replica_buffer>);
    replica r(replica::options{.self = paxos::node_id{1}});

    M bogus{};
    bogus.kind = message_kind::prepare;
    bogus.from = paxos::node_id{200};
    bogus.to = paxos::node_id{1};
    bogus.ballot = wire_test::counter5::first(paxos::node_id{0});
    M decoded{};
    REQUIRE(paxos::wire::decode(encoded(bogus), decoded, wire_test::cluster) == decode_reason::ok);
    CHECK(r.step(decoded).code == paxos::reason::unknown_sender);

    // A prepare whose ballot belongs to another node than its sender.
    bogus.from = paxos::node_id{0};
    bogus.ballot = wire_test::counter5::first(paxos::node_id{3});
    REQUIRE(paxos::wire::decode(encoded(bogus), decoded, wire_test::cluster) == decode_reason::ok);
    CHECK(r.step(decoded).code == paxos::reason::malformed);

    // Promises the codec takes and step() refuses. The sound one: node 0
    // answers node 1's first ballot with a vote in slot 0 for two values.
    M sound{};
    sound.kind = message_kind::promise;
    sound.from = paxos::node_id{0};
    sound.to = paxos::node_id{1};
    sound.ballot = wire_test::counter5::first(paxos::node_id{1});
    sound.votes.push_back(
        {paxos::slot_id{0}, wire_test::counter5::first(paxos::node_id{0}), 2, false});
    sound.values.push_back(3);
    sound.values.push_back(4);
    REQUIRE(paxos::wire::decode(encoded(sound), decoded, wire_test::cluster) == decode_reason::ok);
    CHECK(r.step(decoded).code == paxos::reason::ignored);  // sound, but r is no candidate
    const auto refused = [&](const char* what, auto&& edit) {
        M p = sound;
        edit(p);
        INFO(what);
        REQUIRE(paxos::wire::decode(encoded(p), decoded, wire_test::cluster) == decode_reason::ok);
        CHECK(decoded == p);
        CHECK(r.step(decoded).code == paxos::reason::malformed);
    };
    refused("a vote newer than its promise",
            [](M& p) { p.votes[0].ballot = wire_test::counter5::from_raw(p.ballot.raw() + 5); });
    refused("a vote equal to its promise", [](M& p) { p.votes[0].ballot = p.ballot; });
    refused("value counts that add up to more than the values",
            [](M& p) { p.votes[0].value_count = 3; });
    refused("value counts that add up to fewer", [](M& p) { p.votes[0].value_count = 1; });
    refused("a value count the codec carries and no batch holds",
            [](M& p) { p.votes[0].value_count = 0xFFFF; });
    refused("a vote below the first slot asked", [](M& p) { p.slot = paxos::slot_id{1}; });
    refused("votes out of slot order", [](M& p) {
        p.votes[0].value_count = 1;
        p.votes.push_back({paxos::slot_id{0}, p.votes[0].ballot, 1, false});
    });
    refused("a vote with no ballot that is not chosen",
            [](M& p) { p.votes[0].ballot = wire_test::counter5{}; });
    refused("no parts", [](M& p) { p.parts = 0; });
    refused("a part past the last", [](M& p) {
        p.part = 1;
        p.parts = 1;
    });
    refused("more parts than this config's promises have", [](M& p) { p.parts = 2; });
    CHECK_FALSE(r.has_ready());

    // A sound prepare is taken: the replica promises and answers.
    bogus.ballot = wire_test::counter5::first(paxos::node_id{0});
    REQUIRE(paxos::wire::decode(encoded(bogus), decoded, wire_test::cluster) == decode_reason::ok);
    CHECK(r.step(decoded).ok());
    CHECK(r.has_ready());
}

namespace {

// Carries every message of a ready batch over the wire: encoded from the view
// the replica hands out, decoded into a buffer.
template <class Replica>
std::vector<typename Replica::message_buffer> over_the_wire(
    std::span<const typename Replica::message_type> messages) {
    using buffer = typename Replica::message_buffer;
    using codec = paxos::wire::message_codec<buffer>;
    std::vector<buffer> out;
    for (const auto& m : messages) {
        paxos::wire::buffer_for<buffer> bytes{};
        const auto res = codec::encode(m, bytes, wire_test::cluster);
        REQUIRE(res.ok());
        buffer b{};
        REQUIRE(paxos::wire::decode(std::span(bytes).first(res.size), b, wire_test::cluster) ==
                decode_reason::ok);
        CHECK(b.view() == m);
        out.push_back(b);
    }
    return out;
}

}  // namespace

TEST_CASE("wire: a replica's promise in parts crosses the wire and elects its candidate") {
    using replica = paxos::replica<wire_test::command_config>;
    using buffer = replica::message_buffer;
    constexpr std::size_t window = replica::window_slots;
    constexpr std::size_t batch = replica::batch_values_max;
    const auto make_command = [](std::uint64_t slot, std::size_t i) {
        wire_test::command c{};
        c.size = static_cast<std::uint16_t>(1 + (slot + i) % 5);
        for (std::size_t b = 0; b < c.size; ++b) {
            c.bytes[b] = static_cast<std::byte>(slot * 16 + i + b);
        }
        return c;
    };

    // Nodes 1 and 3 vote in every slot of the window, a full batch each, at
    // node 0's first ballot (node 0 is not in this test: only its accepts).
    std::vector<std::unique_ptr<replica>> acceptors;
    for (const std::uint16_t self : {1, 3}) {
        auto a = std::make_unique<replica>(replica::options{.self = paxos::node_id{self}});
        for (std::uint64_t s = 0; s < window; ++s) {
            buffer accept{};
            accept.kind = message_kind::accept;
            accept.from = paxos::node_id{0};
            accept.to = paxos::node_id{self};
            accept.ballot = paxos::pair_ballot::first(paxos::node_id{0});
            accept.slot = paxos::slot_id{s};
            for (std::size_t i = 0; i < batch; ++i) accept.values.push_back(make_command(s, i));
            const paxos::result res = a->step(accept);
            REQUIRE(res.ok());
            while (a->has_ready()) a->advance(a->ready());
        }
        acceptors.push_back(std::move(a));
    }

    // Node 2 campaigns; its prepare goes over the wire to both.
    replica candidate(replica::options{.self = paxos::node_id{2}});
    REQUIRE(candidate.campaign().ok());
    std::vector<buffer> prepares;
    while (candidate.has_ready()) {
        const auto& rd = candidate.ready();
        for (const auto& m : over_the_wire<replica>(rd.send_now)) prepares.push_back(m);
        for (const auto& m : over_the_wire<replica>(rd.send_after_sync)) prepares.push_back(m);
        candidate.advance(rd);
    }
    REQUIRE(prepares.size() == 1);
    REQUIRE(prepares[0].kind == message_kind::prepare);

    // Each acceptor answers with a promise in parts: window * batch values,
    // at most promise_values_max per part.
    std::vector<buffer> parts;
    for (auto& a : acceptors) {
        buffer prepare = prepares[0];
        if (prepare.to == paxos::node_id::broadcast()) prepare.to = a->self();
        REQUIRE(a->step(prepare).ok());
        std::size_t sent = 0;
        while (a->has_ready()) {
            const auto& rd = a->ready();
            CHECK(rd.send_now.empty());  // a promise waits for its sync
            for (const auto& m : over_the_wire<replica>(rd.send_after_sync)) {
                parts.push_back(m);
                ++sent;
            }
            a->advance(rd);
        }
        CHECK(sent == window * batch / replica::promise_values_max);
    }
    REQUIRE(parts.size() >= 4);
    std::size_t votes = 0;
    for (const buffer& p : parts) {
        CHECK(p.kind == message_kind::promise);
        CHECK(p.parts == parts.size() / 2);
        CHECK(p.part < p.parts);
        CHECK(p.values.size() <= replica::promise_values_max);
        votes += p.votes.size();
    }
    CHECK(votes == 2 * window);

    // Delivered in reverse: the candidate counts an acceptor only once all
    // its parts are in, then leads and proposes every voted batch again.
    std::reverse(parts.begin(), parts.end());
    std::vector<buffer> accepts;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        CHECK_FALSE(candidate.is_leader());
        REQUIRE(candidate.step(parts[i]).ok());
        CHECK(candidate.step(parts[i]).code == paxos::reason::ignored);  // a duplicate part
        while (candidate.has_ready()) {
            const auto& rd = candidate.ready();
            for (const auto& m : over_the_wire<replica>(rd.send_now)) accepts.push_back(m);
            for (const auto& m : over_the_wire<replica>(rd.send_after_sync)) accepts.push_back(m);
            candidate.advance(rd);
        }
    }
    CHECK(candidate.is_leader());
    std::size_t reproposed = 0;
    for (const buffer& m : accepts) {
        if (m.kind != message_kind::accept) continue;
        ++reproposed;
        REQUIRE(m.values.size() == batch);
        for (std::size_t i = 0; i < batch; ++i) {
            CHECK(m.values[i] == make_command(m.slot.value, i));
        }
    }
    CHECK(reproposed == window);
}
