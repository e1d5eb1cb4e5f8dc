// paxos/detail/crc32c.hpp: CRC-32C (Castagnoli), header-only and constexpr.
//
// The wire codec and the write-ahead log both checksum bytes they will read
// back from an untrusted place (a socket, a disk after a crash). CRC-32C is
// the checksum of iSCSI, ext4 and LevelDB: reflected polynomial 0x82F63B78,
// initial value ~0, final xor ~0. It detects every error of up to 3 flipped
// bits in messages far longer than ours, every odd number of flipped bits,
// and every burst of up to 32 bits, which is what "every single-bit flip is
// detected" rests on.
//
// Software only, one byte per step through a 256-entry table built at
// compile time: portable, usable in constant expressions, and fast enough for
// messages of a few hundred bytes. (No SSE4.2 path: it would need a run-time
// CPU check and buys nothing measurable at these sizes.)
//
// Chaining: crc32c(b, crc32c(a)) == crc32c(a ++ b), so a caller may checksum
// a record in pieces without copying it together.
//
// No API promise (detail/): used by paxos/wire and paxos/storage.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace paxos::inline v0::detail {

inline constexpr std::uint32_t crc32c_polynomial = 0x82F63B78u;  // reflected Castagnoli

constexpr std::array<std::uint32_t, 256> make_crc32c_table() noexcept {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1u) ? (c >> 1) ^ crc32c_polynomial : c >> 1;
        table[i] = c;
    }
    return table;
}

inline constexpr std::array<std::uint32_t, 256> crc32c_table = make_crc32c_table();

// The CRC-32C of `data`. Pass the result of a previous call as `crc` to
// continue over the next piece; 0 starts a new checksum.
constexpr std::uint32_t crc32c(std::span<const std::byte> data, std::uint32_t crc = 0) noexcept {
    crc = ~crc;
    for (const std::byte b : data) {
        crc = crc32c_table[(crc ^ static_cast<std::uint32_t>(b)) & 0xFFu] ^ (crc >> 8);
    }
    return ~crc;
}

}  // namespace paxos::inline v0::detail
