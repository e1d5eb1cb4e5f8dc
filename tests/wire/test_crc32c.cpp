// CRC-32C against published check values (RFC 3720 appendix B.4, and the
// "123456789" check value of the CRC catalogue), chaining, and detection of
// every single-bit error in a message longer than any the codec sends.
#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include <paxos/detail/crc32c.hpp>

namespace {

template <std::size_t N>
std::array<std::byte, N> filled(std::uint8_t value) {
    std::array<std::byte, N> a{};
    a.fill(static_cast<std::byte>(value));
    return a;
}

}  // namespace

TEST_CASE("crc32c: published check values") {
    using paxos::detail::crc32c;
    constexpr std::array<std::byte, 9> check = [] {
        constexpr char digits[] = "123456789";
        std::array<std::byte, 9> bytes{};
        for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(digits[i]);
        return bytes;
    }();
    CHECK(crc32c(check) == 0xE3069283u);
    static_assert(crc32c(check) == 0xE3069283u);  // and at compile time: the table is constexpr
    CHECK(crc32c({}) == 0u);
    // RFC 3720, B.4: 32 bytes of zeros, of ones, ascending and descending.
    CHECK(crc32c(filled<32>(0x00)) == 0x8A9136AAu);
    CHECK(crc32c(filled<32>(0xFF)) == 0x62A8AB43u);
    std::array<std::byte, 32> up{};
    std::array<std::byte, 32> down{};
    for (std::size_t i = 0; i < 32; ++i) {
        up[i] = static_cast<std::byte>(i);
        down[i] = static_cast<std::byte>(31 - i);
    }
    CHECK(crc32c(up) == 0x46DD794Eu);
    CHECK(crc32c(down) == 0x113FDB5Cu);
    // Usable while compiling.
    static_assert(paxos::detail::crc32c_table[1] == 0xF26B8303u);
}

TEST_CASE("crc32c: a checksum continues over pieces") {
    using paxos::detail::crc32c;
    std::array<std::byte, 100> data{};
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7 + 3);
    const std::uint32_t whole = crc32c(data);
    for (std::size_t cut = 0; cut <= data.size(); ++cut) {
        const std::span<const std::byte> all(data);
        CHECK(crc32c(all.subspan(cut), crc32c(all.first(cut))) == whole);
    }
}

TEST_CASE("crc32c: every single-bit error in 1 KiB is detected") {
    using paxos::detail::crc32c;
    std::array<std::byte, 1024> data{};
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 31);
    const std::uint32_t clean = crc32c(data);
    std::size_t flips = 0;
    for (std::size_t bit = 0; bit < data.size() * 8; ++bit) {
        data[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        if (crc32c(data) == clean) FAIL("undetected flip of bit " << bit);
        data[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
        ++flips;
    }
    CHECK(flips == 8192);
    CHECK(crc32c(data) == clean);
}
