// paxos/wire/value_codec.hpp: how a command and a ballot become bytes.
//
// The codec in wire/codec.hpp lays out a message's own fields itself; the
// two types a config chooses, the command (`value_type`) and the ballot,
// are encoded by a codec class found by specialization:
//
//   template <> struct paxos::wire::value_codec<my_command> {
//       static constexpr std::size_t encoded_size_min = 2;     // optional, default 0
//       static constexpr std::size_t encoded_size_max = 2 + 240;
//       static bool encode(const my_command& v, paxos::wire::writer& out) noexcept;
//       static bool decode(paxos::wire::reader& in, my_command& v) noexcept;
//   };
//
// (paxos::wire::ballot_codec<B> has the same shape.) encode returns false
// for a value it cannot represent; decode returns false for bytes that are
// not a value (the message is then refused with value_decoder_failed).
// Neither may throw or allocate; both must stay within their spans, which the
// writer and reader enforce. encoded_size_max sizes buffers at compile time
// and bounds what decode may consume; encoded_size_min lets the decoder
// refuse a value count the remaining bytes cannot hold before reading any.
//
// Defaults, so common types need nothing:
//   - bool: one byte, 0 or 1 (anything else fails to decode);
//   - integers and enums: little-endian, sizeof bytes (an enum's value is not
//     checked against its enumerators; specialize if that matters);
//   - float and double (IEC 559): their bit pattern, little-endian;
//   - any other trivially copyable type: its object representation, byte for
//     byte. That is only meaningful between peers with the same byte order
//     and the same struct layout, it sends padding bytes as they are, and
//     decoding writes arbitrary bytes into every member (a bool member
//     holding 2 is undefined behaviour). Specialize for anything that
//     crosses machines or has invariants.
//   - ballots with `raw()` and `from_raw(std::uint64_t)` (counter_ballot):
//     the raw value; pair_ballot: round (u64) then node (u16).
#pragma once

#include <array>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "../core/vocabulary.hpp"
#include "../policies/ballot.hpp"
#include "bytes.hpp"

namespace paxos::inline v0::wire {

namespace detail {

// Arithmetic types whose little-endian form the default codec writes.
template <class T>
concept le_integer = std::integral<T> && !std::same_as<T, bool>;

template <class T>
concept le_float = std::floating_point<T> && std::numeric_limits<T>::is_iec559 &&
    (sizeof(T) == 4 || sizeof(T) == 8);

template <std::size_t Size>
struct unsigned_of_size;
template <>
struct unsigned_of_size<1> {
    using type = std::uint8_t;
};
template <>
struct unsigned_of_size<2> {
    using type = std::uint16_t;
};
template <>
struct unsigned_of_size<4> {
    using type = std::uint32_t;
};
template <>
struct unsigned_of_size<8> {
    using type = std::uint64_t;
};

template <class T>
using unsigned_for = typename unsigned_of_size<sizeof(T)>::type;

}  // namespace detail

// The default value codec (see the header comment for what it does per type).
// Specialize it for your command type; the primary template refuses types it
// cannot encode safely with a message that says so.
template <class V>
struct value_codec {
    static_assert(std::is_trivially_copyable_v<V>,
                  "paxos::wire::value_codec<V>: no default encoding for a type that is not "
                  "trivially copyable; specialize `template <> struct "
                  "paxos::wire::value_codec<V>` with encoded_size_max, `static bool "
                  "encode(const V&, paxos::wire::writer&) noexcept` and `static bool "
                  "decode(paxos::wire::reader&, V&) noexcept`");

    static constexpr std::size_t encoded_size_min = std::is_same_v<V, bool> ? 1 : sizeof(V);
    static constexpr std::size_t encoded_size_max = encoded_size_min;

    static constexpr bool encode(const V& v, writer& out) noexcept {
        if constexpr (std::is_same_v<V, bool>) {
            out.put_u8(v ? 1 : 0);
        } else if constexpr (detail::le_integer<V> || std::is_enum_v<V>) {
            out.put_le(static_cast<detail::unsigned_for<V>>(v));
        } else if constexpr (detail::le_float<V>) {
            out.put_le(std::bit_cast<detail::unsigned_for<V>>(v));
        } else {
            // Object representation; same-layout, same-endianness peers only.
            out.put_bytes(std::bit_cast<std::array<std::byte, sizeof(V)>>(v));
        }
        return true;
    }

    static constexpr bool decode(reader& in, V& v) noexcept {
        if constexpr (std::is_same_v<V, bool>) {
            std::uint8_t b = 0;
            if (!in.get_u8(b) || b > 1) return false;
            v = b == 1;
        } else if constexpr (detail::le_integer<V> || std::is_enum_v<V>) {
            detail::unsigned_for<V> raw = 0;
            if (!in.get_le(raw)) return false;
            v = static_cast<V>(raw);
        } else if constexpr (detail::le_float<V>) {
            detail::unsigned_for<V> raw = 0;
            if (!in.get_le(raw)) return false;
            v = std::bit_cast<V>(raw);
        } else {
            std::array<std::byte, sizeof(V)> bytes{};
            if (!in.get_bytes(bytes)) return false;
            v = std::bit_cast<V>(bytes);
        }
        return true;
    }
};

namespace detail {

template <class B>
concept raw_ballot = requires(const B& b, std::uint64_t raw) {
    { b.raw() } -> std::same_as<std::uint64_t>;
    { B::from_raw(raw) } -> std::same_as<B>;
};

}  // namespace detail

// The ballot codec. Ballots with raw()/from_raw() (counter_ballot) encode as
// that one u64; specialize for any other ballot.
template <class B>
struct ballot_codec {
    static_assert(detail::raw_ballot<B>,
                  "paxos::wire::ballot_codec<B>: no encoding for this ballot; give it "
                  "`constexpr std::uint64_t raw() const noexcept` and `static constexpr B "
                  "from_raw(std::uint64_t) noexcept`, or specialize `template <> struct "
                  "paxos::wire::ballot_codec<B>` with encoded_size_max, encode and decode");

    static constexpr std::size_t encoded_size_min = 8;
    static constexpr std::size_t encoded_size_max = 8;

    static constexpr bool encode(const B& b, writer& out) noexcept {
        out.put_u64(b.raw());
        return true;
    }
    static constexpr bool decode(reader& in, B& b) noexcept {
        std::uint64_t raw = 0;
        if (!in.get_u64(raw)) return false;
        b = B::from_raw(raw);
        return true;
    }
};

// pair_ballot: round, then node. Any node id decodes; whether it belongs to
// the cluster is for replica::step() to judge, not the codec.
template <>
struct ballot_codec<pair_ballot> {
    static constexpr std::size_t encoded_size_min = 10;
    static constexpr std::size_t encoded_size_max = 10;

    static constexpr bool encode(const pair_ballot& b, writer& out) noexcept {
        out.put_u64(b.round());
        out.put_u16(b.node().value);
        return true;
    }
    static constexpr bool decode(reader& in, pair_ballot& b) noexcept {
        std::uint64_t round = 0;
        std::uint16_t node = 0;
        if (!in.get_u64(round) || !in.get_u16(node)) return false;
        b = pair_ballot::from_parts(round, node_id{node});
        return true;
    }
};

// What the message codec needs of a value or ballot codec C for type T.
template <class C, class T>
concept codec_for = requires(const T& value, T& target, writer& out, reader& in) {
    { C::encoded_size_max } -> std::convertible_to<std::size_t>;
    { C::encode(value, out) } -> std::same_as<bool>;
    { C::decode(in, target) } -> std::same_as<bool>;
};

// encoded_size_min when the codec declares it, else 0 (no lower bound known).
template <class C>
constexpr std::size_t codec_size_min() noexcept {
    if constexpr (requires { C::encoded_size_min; }) {
        return static_cast<std::size_t>(C::encoded_size_min);
    } else {
        return 0;
    }
}

}  // namespace paxos::inline v0::wire
