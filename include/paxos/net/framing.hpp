// paxos/net/framing.hpp: how the TCP transport finds frames in a byte
// stream, and the hello that opens each connection.
//
// A frame is one encoded message exactly as wire/codec.hpp writes it: the
// 20-byte header (magic "PX", format version, kind, body length, cluster id,
// CRC-32C), then the body. The transport carries frames as bytes and never
// decodes a body; what it needs from a frame is its size, which a
// frame_sizer gives from the first header_size bytes:
//
//   static std::size_t peek_size(std::span<const std::byte> prefix) noexcept;
//     the whole frame's size, or 0 when the header cannot start a frame
//
// paxos::wire::message_codec<M> is one (its peek_size also checks the kind
// and the kind's longest body). header_framer below is the one the
// transport uses by default: it needs no message type, so it keeps working
// while the message layout changes, and checks only what every frame shares
// (magic, version, a kind other than 0 and the hello's). The transport adds
// its own bound, frame_bytes_max, before it waits for a single body byte.
//
// The hello. A stream has no sender field the transport can trust, so each
// outbound connection starts with one hello frame, in the same header format:
//
//   header  magic, format_version, kind hello_kind (0xFF, which no message
//           kind uses: they count up from 1), body length 4, the sender's
//           cluster id, CRC-32C as the codec computes it
//   body    from u16 (the sender's node id), to u16 (the id it meant to reach)
//
// The receiver accepts the connection only if the hello is intact, of its own
// cluster, from a node of its address table other than itself, and addressed
// to itself (a wrong `to` catches two address tables that disagree). Every
// later frame on the connection is delivered as coming from `from`. The hello
// is a guard against misconfiguration, not authentication: anyone who can
// reach the port can claim any id.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../core/vocabulary.hpp"
#include "../detail/crc32c.hpp"
#include "../wire/bytes.hpp"
#include "../wire/codec.hpp"

namespace paxos::inline v0::net {

template <class F>
concept frame_sizer = requires(std::span<const std::byte> prefix) {
    { F::peek_size(prefix) }
    noexcept->std::same_as<std::size_t>;
};

// The kind byte of a hello frame.
inline constexpr std::uint8_t hello_kind = 0xFF;
inline constexpr std::size_t hello_body_size = 4;
inline constexpr std::size_t hello_size = wire::header_size + hello_body_size;

// The body length field of a frame header, which the caller has checked is
// at least header_size bytes long.
constexpr std::uint32_t frame_body_length(std::span<const std::byte> header) noexcept {
    PAXOS_ASSERT(header.size() >= wire::header_size);
    wire::reader r(header.subspan(wire::length_offset, 4));
    std::uint32_t length = 0;
    const bool read = r.get_u32(length);
    PAXOS_ASSERT(read);
    return length;
}

// Magic and version: the checks every frame of this format shares.
constexpr bool header_format_ok(std::span<const std::byte> header) noexcept {
    return header.size() >= wire::header_size && header[0] == wire::magic[0] &&
           header[1] == wire::magic[1] &&
           static_cast<std::uint8_t>(header[wire::version_offset]) == wire::format_version;
}

// The default frame_sizer: any kind but 0 and the hello's, any body length
// (the transport bounds it by frame_bytes_max).
struct header_framer {
    static constexpr std::size_t peek_size(std::span<const std::byte> prefix) noexcept {
        if (!header_format_ok(prefix)) return 0;
        const auto kind = static_cast<std::uint8_t>(prefix[wire::kind_offset]);
        if (kind == 0 || kind == hello_kind) return 0;
        return wire::header_size + frame_body_length(prefix);
    }
};
static_assert(frame_sizer<header_framer>);

// CRC-32C over header bytes 0..15 then the body: the codec's rule, so a
// hello is checked like any frame.
constexpr std::uint32_t frame_checksum(std::span<const std::byte> frame) noexcept {
    PAXOS_ASSERT(frame.size() >= wire::header_size);
    return ::paxos::detail::crc32c(frame.subspan(wire::header_size),
                                   ::paxos::detail::crc32c(frame.first(wire::checksum_offset)));
}

struct hello {
    node_id from;
    node_id to;
};

// The outcome of reading a hello, and the reasons a connection's hello is
// refused (the last three are decided by the transport, which knows the
// address table and the clock).
enum class hello_status : std::uint8_t {
    ok,
    incomplete,         // fewer bytes than a hello so far
    not_a_hello,        // bad magic, version, kind or length: not our protocol
    bad_checksum,       // corrupted
    wrong_cluster,      // intact, from another cluster
    unknown_node,       // `from` is not in the address table, or is the receiver
    wrong_destination,  // `to` is not the receiver: the two address tables disagree
    timed_out,          // no whole hello within hello_timeout_ms of the accept
};

constexpr const char* to_string(hello_status s) noexcept {
    switch (s) {
        case hello_status::ok: return "ok";
        case hello_status::incomplete: return "incomplete";
        case hello_status::not_a_hello: return "not a hello";
        case hello_status::bad_checksum: return "bad checksum";
        case hello_status::wrong_cluster: return "wrong cluster";
        case hello_status::unknown_node: return "unknown node";
        case hello_status::wrong_destination: return "wrong destination";
        case hello_status::timed_out: return "timed out";
    }
    return "unknown hello status";
}

constexpr std::array<std::byte, hello_size> encode_hello(wire::cluster_id cluster,
                                                         hello h) noexcept {
    std::array<std::byte, hello_size> out{};
    wire::writer w(out);
    w.put_bytes(wire::magic);
    w.put_u8(wire::format_version);
    w.put_u8(hello_kind);
    w.put_u32(hello_body_size);
    w.put_u64(cluster.value);
    w.put_u32(0);  // the checksum, below
    w.put_u16(h.from.value);
    w.put_u16(h.to.value);
    PAXOS_ASSERT(!w.overflowed());
    PAXOS_ASSERT(w.size() == hello_size);
    wire::writer sum(std::span<std::byte>(out).subspan(wire::checksum_offset, 4));
    sum.put_u32(frame_checksum(out));
    return out;
}

// Reads the hello at the front of `received` (the bytes of a connection so
// far). Judges the header as soon as it has arrived, so garbage is refused
// without waiting for more; on ok, the hello is the first hello_size bytes.
constexpr hello_status read_hello(std::span<const std::byte> received, wire::cluster_id cluster,
                                  hello& out) noexcept {
    if (received.size() < wire::header_size) return hello_status::incomplete;
    if (!header_format_ok(received)) return hello_status::not_a_hello;
    if (static_cast<std::uint8_t>(received[wire::kind_offset]) != hello_kind) {
        return hello_status::not_a_hello;
    }
    if (frame_body_length(received) != hello_body_size) return hello_status::not_a_hello;
    if (received.size() < hello_size) return hello_status::incomplete;
    const std::span<const std::byte> frame = received.first(hello_size);
    wire::reader r(frame.subspan(wire::cluster_offset));
    std::uint64_t cluster_value = 0;
    std::uint32_t checksum = 0;
    std::uint16_t from = 0;
    std::uint16_t to = 0;
    const bool read =
        r.get_u64(cluster_value) && r.get_u32(checksum) && r.get_u16(from) && r.get_u16(to);
    PAXOS_ASSERT(read);
    if (checksum != frame_checksum(frame)) return hello_status::bad_checksum;
    if (cluster_value != cluster.value) return hello_status::wrong_cluster;
    out = hello{node_id{from}, node_id{to}};
    return hello_status::ok;
}

}  // namespace paxos::inline v0::net
