// The wire codec: round trips for every kind and config, the exact byte
// layout, every decode reason reached on purpose, every single-bit flip and
// every truncation refused, short buffers refused without a stray write, and
// a decoded-but-nonsensical message refused by replica::step().
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "wire_support.hpp"

using paxos::message_kind;
using paxos::wire::decode_reason;
using paxos::wire::encode_status;
using wire_test::all_kinds;

namespace {

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
    INFO("kind " << std::string(paxos::to_string(m.kind)) << ", " << m.values.size() << " values");
    const std::vector<std::byte> bytes = encoded(m);
    Message back{};
    REQUIRE(paxos::wire::decode(bytes, back, wire_test::cluster) == decode_reason::ok);
    CHECK(back == m);
    // Canonical: the decoded message encodes to the same bytes.
    CHECK(encoded(back) == bytes);
    CHECK(paxos::wire::message_codec<Message>::peek_size(bytes) == bytes.size());
}

}  // namespace

#define WIRE_MESSAGE_TYPES                                                     \
    wire_test::int_counter_1, wire_test::int_counter_8, wire_test::int_pair_8, \
        wire_test::command_pair_1, wire_test::command_pair_8, wire_test::command_counter_8

TEST_CASE_TEMPLATE("wire: every kind round-trips, empty, partial and full batches", Message,
                   WIRE_MESSAGE_TYPES) {
    paxos::prng rng(1);
    constexpr std::size_t batch = Message::batch_type::capacity();
    for (const message_kind kind : all_kinds) {
        for (const std::size_t values : {std::size_t{0}, std::size_t{1}, batch / 2, batch}) {
            for (int repeat = 0; repeat < 8; ++repeat) {
                check_round_trip(wire_test::sample<Message>(kind, values, rng));
            }
        }
        check_round_trip(wire_test::sample<Message>(kind, batch, rng, wire_test::fields::small));
        // Extremes of every field.
        Message m = wire_test::sample<Message>(kind, batch, rng);
        m.from = paxos::node_id{0xFFFF};
        m.to = paxos::node_id{0};
        m.chosen_end = paxos::slot_id{~std::uint64_t{0}};
        if (paxos::wire::message_codec<Message>::has_slot(kind)) m.slot = m.chosen_end;
        check_round_trip(m);
    }
}

TEST_CASE_TEMPLATE("wire: encoded_size_max is enough and is reached", Message, WIRE_MESSAGE_TYPES) {
    using codec = paxos::wire::message_codec<Message>;
    static_assert(paxos::wire::encoded_size_max<Message> == codec::encoded_size_max);
    paxos::prng rng(2);
    std::size_t largest = 0;
    for (const message_kind kind : all_kinds) {
        for (int repeat = 0; repeat < 16; ++repeat) {
            Message m = wire_test::sample<Message>(kind, Message::batch_type::capacity(), rng);
            for (auto& v : m.values) {
                if constexpr (std::is_same_v<typename Message::value_type, wire_test::command>) {
                    v.size = wire_test::command::capacity;  // the longest a value gets
                }
            }
            const std::size_t size = encoded(m).size();
            CHECK(size <= codec::encoded_size_max);
            CHECK(size - paxos::wire::header_size <= codec::body_size_max(kind));
            largest = std::max(largest, size);
        }
    }
    CHECK(largest == codec::encoded_size_max);
}

TEST_CASE("wire: the layout is little-endian and fixed, byte for byte") {
    // A prepare from node 2 to node 3 for slot 0x0102030405060708, ballot raw
    // 0x1112131415161718, chosen_end 0x21, in cluster 0x7061786F73746573.
    wire_test::int_counter_8 m{};
    m.kind = message_kind::prepare;
    m.from = paxos::node_id{2};
    m.to = paxos::node_id{3};
    m.chosen_end = paxos::slot_id{0x21};
    m.ballot = wire_test::counter5::from_raw(0x1112131415161718ull);
    m.slot = paxos::slot_id{0x0102030405060708ull};
    const std::vector<std::byte> bytes = encoded(m);
    const std::array<std::uint8_t, 20 + 28> expected = {
        0x50, 0x58, 0x02, 0x01,                          // magic "PX", version 2, kind prepare
        28,   0,    0,    0,                             // body length
        0x73, 0x65, 0x74, 0x73, 0x6F, 0x78, 0x61, 0x70,  // cluster id
        0,    0,    0,    0,                             // checksum (compared below)
        0x02, 0x00, 0x03, 0x00,                          // from, to
        0x21, 0,    0,    0,    0,    0,    0,    0,     // chosen_end
        0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,  // ballot
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // slot
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

    // pair_ballot: round then node; a heartbeat has no slot.
    wire_test::int_pair_8 h{};
    h.kind = message_kind::heartbeat;
    h.ballot = paxos::pair_ballot::from_parts(0x0A0B, paxos::node_id{0x0C0D});
    const std::vector<std::byte> hb = encoded(h);
    REQUIRE(hb.size() == 20 + 2 + 2 + 8 + 10);
    CHECK(static_cast<std::uint8_t>(hb[3]) == 8);  // kind heartbeat
    CHECK(static_cast<std::uint8_t>(hb[32]) == 0x0B);
    CHECK(static_cast<std::uint8_t>(hb[33]) == 0x0A);
    CHECK(static_cast<std::uint8_t>(hb[40]) == 0x0D);
    CHECK(static_cast<std::uint8_t>(hb[41]) == 0x0C);
}

TEST_CASE("wire: fields a kind does not use are not sent and decode to defaults") {
    paxos::prng rng(3);
    for (const message_kind kind : all_kinds) {
        using M = wire_test::int_counter_8;
        const M clean = wire_test::sample<M>(kind, 3, rng);
        M dirty = clean;  // fill every field, used or not
        dirty.slot = paxos::slot_id{77};
        dirty.count = 5;
        dirty.accepted_ballot = wire_test::counter5::from_raw(9);
        dirty.is_chosen = true;
        dirty.values.clear();
        for (int v : {4, 5, 6}) dirty.values.push_back(v);
        M expected = clean;
        if (paxos::wire::message_codec<M>::has_slot(kind)) expected.slot = dirty.slot;
        if (kind == message_kind::promise) expected.count = dirty.count;
        if (kind == message_kind::promise_entry || kind == message_kind::chosen) {
            expected.accepted_ballot = dirty.accepted_ballot;
        }
        if (kind == message_kind::promise_entry) expected.is_chosen = true;
        if (paxos::wire::message_codec<M>::has_values(kind)) expected.values = dirty.values;
        INFO("kind " << std::string(paxos::to_string(kind)));
        M back = sentinel<M>();
        REQUIRE(paxos::wire::decode(encoded(dirty), back, wire_test::cluster) == decode_reason::ok);
        CHECK(back == expected);
    }
}

TEST_CASE_TEMPLATE("wire: every single-bit flip of every kind is refused", Message,
                   WIRE_MESSAGE_TYPES) {
    paxos::prng rng(4);
    std::size_t flips = 0;
    std::size_t by_reason[10] = {};
    for (const message_kind kind : all_kinds) {
        for (const std::size_t values : {std::size_t{0}, Message::batch_type::capacity()}) {
            const Message m = wire_test::sample<Message>(kind, values, rng);
            std::vector<std::byte> bytes = encoded(m);
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
    MESSAGE(flips << " single-bit flips, all refused: bad magic "
                  << by_reason[static_cast<int>(decode_reason::bad_magic)] << ", unknown version "
                  << by_reason[static_cast<int>(decode_reason::unknown_version)]
                  << ", unknown type " << by_reason[static_cast<int>(decode_reason::unknown_type)]
                  << ", truncated " << by_reason[static_cast<int>(decode_reason::truncated)]
                  << ", length mismatch "
                  << by_reason[static_cast<int>(decode_reason::length_mismatch)]
                  << ", checksum mismatch "
                  << by_reason[static_cast<int>(decode_reason::checksum_mismatch)]);
    CHECK(flips > 9 * 2 * 8 * 30);
    CHECK(by_reason[static_cast<int>(decode_reason::ok)] == 0);
    CHECK(by_reason[static_cast<int>(decode_reason::checksum_mismatch)] > flips / 2);
}

TEST_CASE_TEMPLATE("wire: every truncation is refused", Message, WIRE_MESSAGE_TYPES) {
    paxos::prng rng(5);
    std::size_t cuts = 0;
    for (const message_kind kind : all_kinds) {
        const Message m = wire_test::sample<Message>(kind, Message::batch_type::capacity(), rng);
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
    CHECK(cuts > 9 * paxos::wire::header_size);
}

TEST_CASE_TEMPLATE("wire: a buffer too small is refused without writing past it", Message,
                   WIRE_MESSAGE_TYPES) {
    paxos::prng rng(6);
    for (const message_kind kind : all_kinds) {
        const Message m = wire_test::sample<Message>(kind, Message::batch_type::capacity(), rng);
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
    CHECK(paxos::wire::decode(with(2, 0), out, wire_test::cluster) ==
          decode_reason::unknown_version);
    CHECK(paxos::wire::decode(with(2, 1), out, wire_test::cluster) ==
          decode_reason::unknown_version);
    CHECK(paxos::wire::decode(with(2, 3), out, wire_test::cluster) ==
          decode_reason::unknown_version);
    CHECK(paxos::wire::decode(with(3, 0), out, wire_test::cluster) == decode_reason::unknown_type);
    CHECK(paxos::wire::decode(with(3, 10), out, wire_test::cluster) == decode_reason::unknown_type);
    CHECK(paxos::wire::decode(with(3, 255), out, wire_test::cluster) ==
          decode_reason::unknown_type);
    // A different valid kind is caught by the checksum, which covers the kind.
    CHECK(paxos::wire::decode(with(3, 7), out, wire_test::cluster) ==
          decode_reason::checksum_mismatch);
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
    CHECK(codec::peek_size(with(7, 1)) == 0);
}

TEST_CASE("wire: each body check has its reason (behind a valid checksum)") {
    using M = wire_test::int_counter_8;
    using C = wire_test::command_pair_8;
    paxos::prng rng(8);
    // Offsets into an accept with a counter ballot: header 20, from/to 4,
    // chosen_end 8, ballot 8, slot 8, then the value count.
    constexpr std::size_t count_at = 20 + 4 + 8 + 8 + 8;
    M m = wire_test::sample<M>(message_kind::accept, 0, rng);
    std::vector<std::byte> bytes = encoded(m);
    REQUIRE(bytes.size() == count_at + 2);
    M out{};

    SUBCASE("a value count above the batch capacity") {
        bytes[count_at] = std::byte{9};
        wire_test::reseal(bytes);
        CHECK(paxos::wire::decode(bytes, out, wire_test::cluster) ==
              decode_reason::too_many_values);
        bytes[count_at] = std::byte{0xFF};
        bytes[count_at + 1] = std::byte{0xFF};
        wire_test::reseal(bytes);
        CHECK(paxos::wire::decode(bytes, out, wire_test::cluster) ==
              decode_reason::too_many_values);
    }
    SUBCASE("a value count the remaining bytes cannot hold") {
        bytes[count_at] = std::byte{8};
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
    SUBCASE("an is_chosen flag other than 0 or 1") {
        M e = wire_test::sample<M>(message_kind::promise_entry, 0, rng);
        e.is_chosen = true;
        std::vector<std::byte> b = encoded(e);
        const std::size_t flag_at = 20 + 4 + 8 + 8 + 8 + 8;
        REQUIRE(b[flag_at] == std::byte{1});
        b[flag_at] = std::byte{2};
        wire_test::reseal(b);
        CHECK(paxos::wire::decode(b, out, wire_test::cluster) == decode_reason::malformed);
    }
    SUBCASE("a command that claims more bytes than it can hold") {
        C c = wire_test::sample<C>(message_kind::chosen, 0, rng);
        wire_test::command cmd{};
        cmd.size = 1;
        c.values.push_back(cmd);
        std::vector<std::byte> b = encoded(c);
        // The value's own size field follows the pair ballot (10 bytes), the
        // slot, the ballot it was chosen in (10 bytes) and the count.
        const std::size_t size_at = 20 + 4 + 8 + 10 + 8 + 10 + 2;
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

TEST_CASE("wire: a value the codec cannot represent is refused at encode") {
    wire_test::command_pair_8 c{};
    c.kind = message_kind::accept;
    wire_test::command cmd{};
    cmd.size = wire_test::command::capacity + 1;
    c.values.push_back(cmd);
    paxos::wire::buffer_for<wire_test::command_pair_8> buffer{};
    const auto res = paxos::wire::encode(c, buffer, wire_test::cluster);
    CHECK(res.status == encode_status::value_encoder_failed);
    c.kind = static_cast<message_kind>(0);
    CHECK(paxos::wire::encode(c, buffer, wire_test::cluster).status == encode_status::unknown_type);
    c.kind = static_cast<message_kind>(10);
    CHECK(paxos::wire::encode(c, buffer, wire_test::cluster).status == encode_status::unknown_type);
}

TEST_CASE("wire: reasons have names") {
    for (int r = 0; r <= static_cast<int>(decode_reason::malformed); ++r) {
        const std::string name = paxos::wire::to_string(static_cast<decode_reason>(r));
        CHECK(name != "unknown decode reason");
    }
    CHECK(std::string(paxos::wire::to_string(decode_reason::checksum_mismatch)) ==
          "checksum mismatch");
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

// The whole codec runs at compile time (no allocation, no reinterpret_cast).
constexpr bool round_trips_while_compiling() {
    wire_test::int_counter_8 m{};
    m.kind = message_kind::promise_entry;
    m.from = paxos::node_id{1};
    m.ballot = wire_test::counter5::from_raw(12);
    m.accepted_ballot = wire_test::counter5::from_raw(6);
    m.values.push_back(42);
    m.values.push_back(-1);
    paxos::wire::buffer_for<wire_test::int_counter_8> buffer{};
    const auto res = paxos::wire::encode(m, buffer, wire_test::cluster);
    if (!res.ok()) return false;
    wire_test::int_counter_8 back{};
    if (paxos::wire::decode(std::span(buffer).first(res.size), back, wire_test::cluster) !=
        decode_reason::ok) {
        return false;
    }
    buffer[res.size - 1] ^= std::byte{1};
    wire_test::int_counter_8 ignored{};
    return back == m && paxos::wire::decode(std::span(buffer).first(res.size), ignored,
                                            wire_test::cluster) == decode_reason::checksum_mismatch;
}
static_assert(round_trips_while_compiling());

}  // namespace

TEST_CASE("wire: a decoded message still goes through replica::step validation") {
    // The codec checks structure only: a well-checksummed message from a node
    // that does not exist decodes fine and is refused by the replica.
    using config = wire_test::config<int, wire_test::counter5, 8>;
    using replica = paxos::replica<config>;
    using M = replica::message_type;
    static_assert(std::is_same_v<M, wire_test::int_counter_8>);
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

    // A promise_entry reporting a vote newer than its promise.
    M entry{};
    entry.kind = message_kind::promise_entry;
    entry.from = paxos::node_id{0};
    entry.to = paxos::node_id{1};
    entry.ballot = wire_test::counter5::first(paxos::node_id{1});
    entry.accepted_ballot = wire_test::counter5::from_raw(entry.ballot.raw() + 5);
    REQUIRE(paxos::wire::decode(encoded(entry), decoded, wire_test::cluster) == decode_reason::ok);
    CHECK(r.step(decoded).code == paxos::reason::malformed);
    CHECK_FALSE(r.has_ready());

    // And a sound one is taken: the replica promises and answers.
    bogus.ballot = wire_test::counter5::first(paxos::node_id{0});
    REQUIRE(paxos::wire::decode(encoded(bogus), decoded, wire_test::cluster) == decode_reason::ok);
    CHECK(r.step(decoded).ok());
    CHECK(r.has_ready());
}
