// paxos/wire/codec.hpp: the versioned, bounds-checked binary form of a message.
//
// A message travels as a 20-byte header and a body, every integer
// little-endian and written byte by byte (never a memcpy of the struct, whose
// padding and byte order are the compiler's business):
//
//   offset  size  field
//   0       2     magic "PX" (0x50 0x58)
//   2       1     format version (format_version, 5)
//   3       1     message kind (paxos::message_kind, 1..14)
//   4       4     body length in bytes
//   8       8     cluster id (cluster_id): the cluster the sender belongs to
//   16      4     CRC-32C of header bytes 0..15 followed by the body
//   20      ...   body
//
// The cluster id keeps two clusters apart that can reach each other (a wrong
// port, a reused address) and use the same node ids: decode() refuses a
// message of another cluster (wrong_cluster) before step() could mix their
// logs, as etcd checks its cluster id on every message. Pick it once per
// cluster, at random, and store it with the cluster's configuration.
//
// The body holds only the fields the kind uses (core/message.hpp's table of
// kinds, message_kinds, which this codec follows), in this order:
//
//   from u16, to u16, chosen_end u64, ballot       every kind
//   slot u64                                       every kind but transfer
//     (heartbeat, heartbeat_reply: a read round)
//   accepted_ballot (the ballot it was chosen in;  chosen, probe_reply, prepare
//     a probe reply: the replier's promise; a
//     prepare: the ballot that handed over)
//   part u8, parts u8, vote count u16, then each   promise
//     vote: slot u64, ballot, value count u16, chosen u8 (0 or 1)
//   value count u32, then each value               accept, chosen, promise
//   offset u64, size u64, crc u32, chunk crc u32,  snapshot_chunk, snapshot_ack
//     resend u8 (0 or 1)
//   byte count u32, then the bytes                 snapshot_chunk
//
// Ballots and values are written by paxos::wire::ballot_codec<B> and
// paxos::wire::value_codec<V> (wire/value_codec.hpp), which users specialize.
// A field a kind does not use is not sent and decodes to its default.
//
// The encoding is canonical: a byte string that decodes to `ok` re-encodes to
// exactly itself (with the stock codecs), so the fuzz target can check
// decode and encode against each other byte for byte.
//
// decode() trusts nothing it has not checked: it never reads outside its
// input, never allocates, checks a value count against the batch capacity
// and the bytes left before reading a value, and leaves its output untouched
// unless it returns ok. It checks structure only. Whether the sender is in
// the cluster or the ballot is its own is replica::step()'s job, so a
// decoded message goes through step() like any other.
//
// Why each single-bit error is caught: a flip in the magic, version or kind
// gives bad_magic, unknown_version or unknown_type (or a different valid
// kind, which the checksum covers); in the length it disagrees with the
// bytes received (truncated or length_mismatch); anywhere else CRC-32C, which
// detects every single-bit error, gives checksum_mismatch. The cluster id is
// compared only after the checksum, so a corrupted id reads as corruption.
//
// Format history: version 1 had a 12-byte header without the cluster id, and
// chosen messages did not say which ballot chose them. Version 2 sent a
// promise as a header message and one promise_entry message per vote.
// The snapshot kinds (9 and 10), heartbeat_reply (11), the probe kinds (12
// and 13) and transfer (14) were added within version 3: no other kind's
// encoding changed. Version 4 gave heartbeat and heartbeat_reply a slot
// field, the read round of core/reads.hpp. Version 5 gave prepare an
// accepted_ballot, the ballot of a leader that handed over (core/lease.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../assert.hpp"
#include "../core/message.hpp"
#include "../core/types.hpp"
#include "../detail/crc32c.hpp"
#include "bytes.hpp"
#include "value_codec.hpp"

namespace paxos::inline v0::wire {

inline constexpr std::array<std::byte, 2> magic{std::byte{0x50}, std::byte{0x58}};  // "PX"
inline constexpr std::uint8_t format_version = 5;
inline constexpr std::size_t header_size = 20;

// Header field offsets (see the table above).
inline constexpr std::size_t version_offset = 2;
inline constexpr std::size_t kind_offset = 3;
inline constexpr std::size_t length_offset = 4;
inline constexpr std::size_t cluster_offset = 8;
inline constexpr std::size_t checksum_offset = 16;

// The identity of one cluster on the wire (see the header table).
struct cluster_id {
    std::uint64_t value = 0;

    friend constexpr bool operator==(cluster_id, cluster_id) = default;
};

// Why decode() refused its input; `ok` when it did not.
enum class [[nodiscard]] decode_reason : std::uint8_t{
    ok,
    truncated,             // fewer bytes than the header, or than the header's body length
    bad_magic,             // not a paxos message (or not the start of one)
    unknown_version,       // a format version this build does not read
    unknown_type,          // a message kind this build does not know
    length_mismatch,       // the body length disagrees with the bytes or with the kind
    checksum_mismatch,     // the bytes were corrupted (or the header was)
    wrong_cluster,         // intact, but from another cluster: a misconfigured peer address
    value_decoder_failed,  // value_codec<V>::decode or ballot_codec<B>::decode refused
    too_many_values,       // a value or vote count above the message's capacity
    malformed,             // checksummed but not a valid body (a bad flag, bytes left over)
};

constexpr const char* to_string(decode_reason r) noexcept {
    switch (r) {
        case decode_reason::ok: return "ok";
        case decode_reason::truncated: return "truncated";
        case decode_reason::bad_magic: return "bad magic";
        case decode_reason::unknown_version: return "unknown version";
        case decode_reason::unknown_type: return "unknown message type";
        case decode_reason::length_mismatch: return "length mismatch";
        case decode_reason::checksum_mismatch: return "checksum mismatch";
        case decode_reason::wrong_cluster: return "message from another cluster";
        case decode_reason::value_decoder_failed: return "value decoder failed";
        case decode_reason::too_many_values: return "too many values";
        case decode_reason::malformed: return "malformed body";
    }
    return "unknown decode reason";
}

enum class encode_status : std::uint8_t {
    ok,
    buffer_too_small,      // nothing usable was written; encoded_size_max always fits
    unknown_type,          // the message's kind is not a message_kind
    value_encoder_failed,  // value_codec<V>::encode or ballot_codec<B>::encode refused
    too_large,             // more values or votes than the codec's message buffer holds
};

constexpr const char* to_string(encode_status s) noexcept {
    switch (s) {
        case encode_status::ok: return "ok";
        case encode_status::buffer_too_small: return "buffer too small";
        case encode_status::unknown_type: return "unknown message type";
        case encode_status::value_encoder_failed: return "value encoder failed";
        case encode_status::too_large: return "message larger than its buffer type";
    }
    return "unknown encode status";
}

// What encode() did: on ok, `size` bytes at the front of the buffer are the
// message; otherwise the buffer's contents are unspecified.
struct [[nodiscard]] encode_result {
    encode_status status = encode_status::ok;
    std::size_t size = 0;

    constexpr bool ok() const noexcept { return status == encode_status::ok; }
};

// The codec of the messages a basic_message_buffer holds (for a replica,
// message_codec<replica<C>::message_buffer>): its capacities bound every
// count, and so the encoded size.
template <class Buffer>
struct message_codec;

template <class Ballot, class Value, std::size_t ValuesMax, std::size_t VotesMax,
          std::size_t BytesMax>
struct message_codec<basic_message_buffer<Ballot, Value, ValuesMax, VotesMax, BytesMax>> {
    using buffer_type = basic_message_buffer<Ballot, Value, ValuesMax, VotesMax, BytesMax>;
    using message_type = basic_message<Ballot, Value>;
    using report_type = vote_report<Ballot>;
    using ballot_codec_type = ballot_codec<Ballot>;
    using value_codec_type = value_codec<Value>;

    static_assert(codec_for<ballot_codec_type, Ballot>,
                  "paxos::wire::ballot_codec<B> needs `static constexpr std::size_t "
                  "encoded_size_max`, `static bool encode(const B&, paxos::wire::writer&) "
                  "noexcept` and `static bool decode(paxos::wire::reader&, B&) noexcept`");
    static_assert(codec_for<value_codec_type, Value>,
                  "paxos::wire::value_codec<V> needs `static constexpr std::size_t "
                  "encoded_size_max`, `static bool encode(const V&, paxos::wire::writer&) "
                  "noexcept` and `static bool decode(paxos::wire::reader&, V&) noexcept`");
    static_assert(VotesMax <= 0xFFFF, "paxos::wire: a promise's votes must fit the u16 count");
    static_assert(ValuesMax <= 0xFFFFFFFFu, "paxos::wire: a body's values must fit the u32 count");
    static_assert(BytesMax <= 0xFFFFFFFFu, "paxos::wire: a chunk's bytes must fit the u32 count");

private:
    static constexpr std::size_t ballot_size_max = ballot_codec_type::encoded_size_max;
    static constexpr std::size_t value_size_max = value_codec_type::encoded_size_max;
    static constexpr std::size_t value_size_min = codec_size_min<value_codec_type>();
    static constexpr std::size_t vote_size_max = 8 + ballot_size_max + 2 + 1;

public:
    static constexpr bool known_kind(std::uint8_t kind) noexcept { return is_message_kind(kind); }
    static constexpr bool has_slot(message_kind k) noexcept { return info(k).has_slot; }
    static constexpr bool has_accepted_ballot(message_kind k) noexcept {
        return info(k).accepted_ballot;
    }
    static constexpr bool has_values(message_kind k) noexcept { return info(k).has_values; }
    static constexpr bool has_votes(message_kind k) noexcept { return info(k).has_votes; }
    static constexpr bool has_position(message_kind k) noexcept { return info(k).has_position; }
    static constexpr bool has_bytes(message_kind k) noexcept { return info(k).has_bytes; }

    // The longest body a message of kind `k` can have.
    static constexpr std::size_t body_size_max(message_kind k) noexcept {
        std::size_t size = 2 + 2 + 8 + ballot_size_max;
        if (has_slot(k)) size += 8;
        if (has_accepted_ballot(k)) size += ballot_size_max;
        if (has_votes(k)) size += 1 + 1 + 2 + VotesMax * vote_size_max;
        if (has_values(k)) size += 4 + ValuesMax * value_size_max;
        if (has_position(k)) size += 8 + 8 + 4 + 4 + 1;
        if (has_bytes(k)) size += 4 + BytesMax;
        return size;
    }

private:
    static constexpr std::size_t largest_body() noexcept {
        std::size_t largest = 0;
        for (std::uint8_t k = 1; k <= message_kind_count; ++k) {
            const std::size_t size = body_size_max(static_cast<message_kind>(k));
            if (size > largest) largest = size;
        }
        return largest;
    }

public:
    // A buffer of this many bytes holds the encoding of any message of this type.
    static constexpr std::size_t encoded_size_max = header_size + largest_body();
    static_assert(largest_body() <= 0xFFFFFFFFu, "paxos::wire: a body must fit the u32 length");

    // Writes `m`, as a message of cluster `cluster`, to the front of `out`.
    // Returns the bytes written, or why not.
    [[nodiscard]] static constexpr encode_result encode(const message_type& m,
                                                        std::span<std::byte> out,
                                                        cluster_id cluster) noexcept {
        const auto kind = static_cast<std::uint8_t>(m.kind);
        if (!known_kind(kind)) return {encode_status::unknown_type, 0};
        if (m.values.size() > ValuesMax || m.votes.size() > VotesMax ||
            (m.snapshot != nullptr && m.snapshot->bytes.size() > BytesMax)) {
            return {encode_status::too_large, 0};
        }
        writer w(out);
        w.put_bytes(magic);
        w.put_u8(format_version);
        w.put_u8(kind);
        w.put_u32(0);  // body length and checksum: filled in once the body is written
        w.put_u64(cluster.value);
        w.put_u32(0);
        if (!encode_body(m, w)) return {encode_status::value_encoder_failed, 0};
        if (w.overflowed()) return {encode_status::buffer_too_small, 0};
        const std::size_t size = w.size();
        PAXOS_ASSERT(size >= header_size);
        PAXOS_ASSERT(size - header_size <= body_size_max(m.kind));
        store_u32(out, length_offset, static_cast<std::uint32_t>(size - header_size));
        store_u32(out, checksum_offset, checksum(out.first(size)));
        return {encode_status::ok, size};
    }

    // Reads one message of cluster `cluster` that fills `in` exactly. On ok,
    // `out` holds it; otherwise `out` is unchanged and the reason says what
    // was wrong.
    [[nodiscard]] static constexpr decode_reason decode(std::span<const std::byte> in,
                                                        buffer_type& out,
                                                        cluster_id cluster) noexcept {
        std::uint32_t body_size = 0;
        if (const decode_reason r = check_header(in, body_size); r != decode_reason::ok) {
            return r;
        }
        if (in.size() - header_size < body_size) return decode_reason::truncated;
        if (in.size() - header_size > body_size) return decode_reason::length_mismatch;
        if (load_u32(in, checksum_offset) != checksum(in)) {
            return decode_reason::checksum_mismatch;
        }
        if (load_u64(in, cluster_offset) != cluster.value) return decode_reason::wrong_cluster;
        buffer_type m{};
        m.kind = static_cast<message_kind>(in[kind_offset]);
        const decode_reason r = decode_body(in.subspan(header_size), m);
        if (r == decode_reason::ok) out = m;
        return r;
    }
    // For stream transports: the total size of the message whose first bytes
    // are `prefix`, known once its header has arrived. 0 when `prefix` is
    // shorter than a header or the header cannot start a message of this
    // type (magic, version, kind, or a body longer than the kind allows), so
    // the result never exceeds encoded_size_max.
    [[nodiscard]] static constexpr std::size_t peek_size(
        std::span<const std::byte> prefix) noexcept {
        std::uint32_t body_size = 0;
        if (check_header(prefix, body_size) != decode_reason::ok) return 0;
        return header_size + body_size;
    }

private:
    static constexpr std::uint32_t load_u32(std::span<const std::byte> in,
                                            std::size_t offset) noexcept {
        reader r(in.subspan(offset, 4));
        std::uint32_t v = 0;
        const bool read = r.get_u32(v);
        PAXOS_ASSERT(read);
        return v;
    }
    static constexpr std::uint64_t load_u64(std::span<const std::byte> in,
                                            std::size_t offset) noexcept {
        reader r(in.subspan(offset, 8));
        std::uint64_t v = 0;
        const bool read = r.get_u64(v);
        PAXOS_ASSERT(read);
        return v;
    }
    static constexpr void store_u32(std::span<std::byte> out, std::size_t offset,
                                    std::uint32_t v) noexcept {
        writer w(out.subspan(offset, 4));
        w.put_u32(v);
        PAXOS_ASSERT(!w.overflowed());
    }

    // CRC-32C of the header without its checksum field, then the body.
    static constexpr std::uint32_t checksum(std::span<const std::byte> message) noexcept {
        PAXOS_ASSERT(message.size() >= header_size);
        return paxos::detail::crc32c(message.subspan(header_size),
                                     paxos::detail::crc32c(message.first(checksum_offset)));
    }

    // The checks that need only the header: magic, version, kind, and a body
    // length no message of that kind exceeds.
    static constexpr decode_reason check_header(std::span<const std::byte> in,
                                                std::uint32_t& body_size) noexcept {
        if (in.size() < header_size) return decode_reason::truncated;
        if (in[0] != magic[0] || in[1] != magic[1]) return decode_reason::bad_magic;
        if (static_cast<std::uint8_t>(in[version_offset]) != format_version) {
            return decode_reason::unknown_version;
        }
        const auto kind = static_cast<std::uint8_t>(in[kind_offset]);
        if (!known_kind(kind)) return decode_reason::unknown_type;
        body_size = load_u32(in, length_offset);
        if (body_size > body_size_max(static_cast<message_kind>(kind))) {
            return decode_reason::length_mismatch;
        }
        return decode_reason::ok;
    }

    static constexpr bool encode_ballot(const Ballot& b, writer& w) noexcept {
        const std::size_t before = w.size();
        if (!ballot_codec_type::encode(b, w)) return false;
        PAXOS_ASSERT(w.size() - before <= ballot_size_max);  // the codec keeps its promise
        return true;
    }

    static constexpr bool encode_value(const Value& v, writer& w) noexcept {
        const std::size_t before = w.size();
        if (!value_codec_type::encode(v, w)) return false;
        PAXOS_ASSERT(w.size() - before <= value_size_max);
        return true;
    }

    static constexpr bool encode_body(const message_type& m, writer& w) noexcept {
        w.put_u16(m.from.value);
        w.put_u16(m.to.value);
        w.put_u64(m.chosen_end.value);
        if (!encode_ballot(m.ballot, w)) return false;
        if (has_slot(m.kind)) w.put_u64(m.slot.value);
        if (has_accepted_ballot(m.kind) && !encode_ballot(m.accepted_ballot, w)) return false;
        if (has_votes(m.kind)) {
            w.put_u8(m.part);
            w.put_u8(m.parts);
            w.put_u16(static_cast<std::uint16_t>(m.votes.size()));
            for (const report_type& v : m.votes) {
                w.put_u64(v.slot.value);
                if (!encode_ballot(v.ballot, w)) return false;
                if (v.value_count > 0xFFFF)
                    return false;  // never from a replica: votes hold a batch
                w.put_u16(static_cast<std::uint16_t>(v.value_count));
                w.put_u8(v.chosen ? 1 : 0);
            }
        }
        if (has_values(m.kind)) {
            w.put_u32(static_cast<std::uint32_t>(m.values.size()));
            for (const Value& v : m.values) {
                if (!encode_value(v, w)) return false;
            }
        }
        if (has_position(m.kind)) {
            const snapshot_part none{};
            const snapshot_part& p = m.snapshot != nullptr ? *m.snapshot : none;
            w.put_u64(p.offset);
            w.put_u64(p.size);
            w.put_u32(p.crc);
            w.put_u32(p.chunk_crc);
            w.put_u8(p.resend ? 1 : 0);
            if (has_bytes(m.kind)) {
                w.put_u32(static_cast<std::uint32_t>(p.bytes.size()));
                w.put_bytes(p.bytes);
            }
        }
        return true;
    }

    static constexpr decode_reason decode_body(std::span<const std::byte> body,
                                               buffer_type& m) noexcept {
        reader r(body);
        std::uint16_t from = 0;
        std::uint16_t to = 0;
        std::uint64_t chosen_end = 0;
        if (!r.get_u16(from) || !r.get_u16(to) || !r.get_u64(chosen_end)) {
            return decode_reason::length_mismatch;
        }
        m.from = node_id{from};
        m.to = node_id{to};
        m.chosen_end = slot_id{chosen_end};
        if (const decode_reason res = decode_ballot(r, m.ballot); res != decode_reason::ok) {
            return res;
        }
        if (has_slot(m.kind)) {
            std::uint64_t slot = 0;
            if (!r.get_u64(slot)) return decode_reason::length_mismatch;
            m.slot = slot_id{slot};
        }
        if (has_accepted_ballot(m.kind)) {
            const decode_reason res = decode_ballot(r, m.accepted_ballot);
            if (res != decode_reason::ok) return res;
        }
        if (has_votes(m.kind)) {
            if (const decode_reason res = decode_votes(r, m); res != decode_reason::ok) return res;
        }
        if (has_values(m.kind)) {
            if (const decode_reason res = decode_values(r, m.values); res != decode_reason::ok) {
                return res;
            }
        }
        if (has_position(m.kind)) {
            std::uint8_t resend = 0;
            if (!r.get_u64(m.snapshot.offset) || !r.get_u64(m.snapshot.size) ||
                !r.get_u32(m.snapshot.crc) || !r.get_u32(m.snapshot.chunk_crc) ||
                !r.get_u8(resend)) {
                return decode_reason::length_mismatch;
            }
            if (resend > 1) return decode_reason::malformed;  // one encoding per message
            m.snapshot.resend = resend == 1;
        }
        if (has_bytes(m.kind)) {
            std::uint32_t count = 0;
            if (!r.get_u32(count)) return decode_reason::length_mismatch;
            if (count > BytesMax) return decode_reason::too_many_values;
            std::span<const std::byte> bytes;
            if (!r.get_view(count, bytes)) return decode_reason::length_mismatch;
            m.bytes.assign(bytes);
        }
        // Left-over bytes would make two encodings of one message.
        if (r.remaining() != 0) return decode_reason::malformed;
        return decode_reason::ok;
    }

    static constexpr decode_reason decode_votes(reader& r, buffer_type& m) noexcept {
        std::uint16_t count = 0;
        if (!r.get_u8(m.part) || !r.get_u8(m.parts) || !r.get_u16(count)) {
            return decode_reason::length_mismatch;
        }
        if (count > VotesMax) return decode_reason::too_many_values;
        // The count is not trusted: the bytes left must be able to hold it.
        constexpr std::size_t vote_size_min = 8 + codec_size_min<ballot_codec_type>() + 2 + 1;
        if (count > r.remaining() / vote_size_min) return decode_reason::length_mismatch;
        for (std::uint16_t i = 0; i < count; ++i) {
            report_type v{};
            std::uint64_t slot = 0;
            std::uint16_t values = 0;
            std::uint8_t chosen = 0;
            if (!r.get_u64(slot)) return decode_reason::length_mismatch;
            if (const decode_reason res = decode_ballot(r, v.ballot); res != decode_reason::ok) {
                return res;
            }
            if (!r.get_u16(values) || !r.get_u8(chosen)) return decode_reason::length_mismatch;
            if (chosen > 1) return decode_reason::malformed;  // one encoding per message
            v.slot = slot_id{slot};
            v.value_count = values;
            v.chosen = chosen == 1;
            m.votes.push_back(v);
        }
        return decode_reason::ok;
    }

    static constexpr decode_reason decode_ballot(reader& r, Ballot& b) noexcept {
        const std::size_t before = r.position();
        if (!ballot_codec_type::decode(r, b)) {
            return r.overrun() ? decode_reason::length_mismatch
                               : decode_reason::value_decoder_failed;
        }
        if (r.position() - before > ballot_size_max) return decode_reason::value_decoder_failed;
        return decode_reason::ok;
    }

    static constexpr decode_reason decode_values(reader& r,
                                                 fixed_vector<Value, ValuesMax>& values) noexcept {
        std::uint32_t count = 0;
        if (!r.get_u32(count)) return decode_reason::length_mismatch;
        if (count > ValuesMax) return decode_reason::too_many_values;
        // The count is not trusted: the bytes left must be able to hold it.
        if (value_size_min != 0 && count > r.remaining() / value_size_min) {
            return decode_reason::length_mismatch;
        }
        for (std::uint32_t i = 0; i < count; ++i) {
            Value v{};
            const std::size_t before = r.position();
            if (!value_codec_type::decode(r, v)) {
                return r.overrun() ? decode_reason::length_mismatch
                                   : decode_reason::value_decoder_failed;
            }
            // A decoder that reads more than any value can take is broken or fooled.
            if (r.position() - before > value_size_max) {
                return decode_reason::value_decoder_failed;
            }
            values.push_back(v);
        }
        return decode_reason::ok;
    }
};

// The bytes any message a Buffer holds can take, for sizing buffers at
// compile time: std::array<std::byte, paxos::wire::encoded_size_max<B>>.
template <class Buffer>
inline constexpr std::size_t encoded_size_max = message_codec<Buffer>::encoded_size_max;

template <class Buffer>
using buffer_for = std::array<std::byte, encoded_size_max<Buffer>>;

// Encodes a message held in a buffer. (A view straight from a ready batch:
// message_codec<replica<C>::message_buffer>::encode.)
template <class Ballot, class Value, std::size_t ValuesMax, std::size_t VotesMax,
          std::size_t BytesMax>
[[nodiscard]] constexpr encode_result encode(
    const basic_message_buffer<Ballot, Value, ValuesMax, VotesMax, BytesMax>& m,
    std::span<std::byte> out, cluster_id cluster) noexcept {
    return message_codec<
        basic_message_buffer<Ballot, Value, ValuesMax, VotesMax, BytesMax>>::encode(m.view(), out,
                                                                                    cluster);
}

template <class Ballot, class Value, std::size_t ValuesMax, std::size_t VotesMax,
          std::size_t BytesMax>
[[nodiscard]] constexpr decode_reason decode(
    std::span<const std::byte> in,
    basic_message_buffer<Ballot, Value, ValuesMax, VotesMax, BytesMax>& out,
    cluster_id cluster) noexcept {
    return message_codec<
        basic_message_buffer<Ballot, Value, ValuesMax, VotesMax, BytesMax>>::decode(in, out,
                                                                                    cluster);
}

}  // namespace paxos::inline v0::wire
