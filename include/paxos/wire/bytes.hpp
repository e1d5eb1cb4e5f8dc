// paxos/wire/bytes.hpp: bounds-checked little-endian byte writer and reader.
//
// Every byte the codec puts on or takes off the wire goes through these two
// classes, so the bounds check lives in one place. Integers are written
// byte by byte with shifts, never by copying an object's memory, so the
// layout is little-endian on every host and padding never leaks.
//
// Invariants:
//   - writer: never writes outside its span. A put that does not fit writes
//     nothing and latches overflowed(); later puts are ignored, so a caller
//     checks once at the end instead of after every field.
//   - reader: never reads outside its span. A get that does not fit reads
//     nothing, returns false and latches overrun(), so a decoder can tell
//     "the bytes ran out" (a length problem) from "the bytes were wrong".
// Neither allocates, and both are usable in constant expressions.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

namespace paxos::inline v0::wire {

class writer {
public:
    constexpr explicit writer(std::span<std::byte> out) noexcept : out_(out) {}

    // Any unsigned integer, least significant byte first. (Defined before its
    // callers: clang 14 cannot constant-evaluate a member template used above
    // its definition.)
    template <std::unsigned_integral U>
    constexpr void put_le(U v) noexcept {
        if (!reserve(sizeof(U))) return;
        for (std::size_t i = 0; i < sizeof(U); ++i) {
            out_[size_++] = static_cast<std::byte>(static_cast<std::uint8_t>(v >> (8 * i)));
        }
    }

    constexpr void put_u8(std::uint8_t v) noexcept { put_le(v); }
    constexpr void put_u16(std::uint16_t v) noexcept { put_le(v); }
    constexpr void put_u32(std::uint32_t v) noexcept { put_le(v); }
    constexpr void put_u64(std::uint64_t v) noexcept { put_le(v); }

    constexpr void put_bytes(std::span<const std::byte> bytes) noexcept {
        if (!reserve(bytes.size())) return;
        for (const std::byte b : bytes) out_[size_++] = b;
    }

    // Bytes written so far (they are the prefix of the span).
    constexpr std::size_t size() const noexcept { return size_; }
    // Bytes still free.
    constexpr std::size_t room() const noexcept { return out_.size() - size_; }
    // True once a put did not fit; the output is then incomplete.
    constexpr bool overflowed() const noexcept { return overflowed_; }

private:
    constexpr bool reserve(std::size_t n) noexcept {
        if (overflowed_ || n > room()) {
            overflowed_ = true;
            return false;
        }
        return true;
    }

    std::span<std::byte> out_;
    std::size_t size_ = 0;
    bool overflowed_ = false;
};

class reader {
public:
    constexpr explicit reader(std::span<const std::byte> in) noexcept : in_(in) {}

    // Any unsigned integer, least significant byte first.
    template <std::unsigned_integral U>
    [[nodiscard]] constexpr bool get_le(U& v) noexcept {
        if (!available(sizeof(U))) return false;
        U result = 0;
        for (std::size_t i = 0; i < sizeof(U); ++i) {
            result = static_cast<U>(result |
                                    static_cast<U>(static_cast<U>(in_[position_++]) << (8 * i)));
        }
        v = result;
        return true;
    }

    [[nodiscard]] constexpr bool get_u8(std::uint8_t& v) noexcept { return get_le(v); }
    [[nodiscard]] constexpr bool get_u16(std::uint16_t& v) noexcept { return get_le(v); }
    [[nodiscard]] constexpr bool get_u32(std::uint32_t& v) noexcept { return get_le(v); }
    [[nodiscard]] constexpr bool get_u64(std::uint64_t& v) noexcept { return get_le(v); }

    // Fills `out` completely, or reads nothing and returns false.
    [[nodiscard]] constexpr bool get_bytes(std::span<std::byte> out) noexcept {
        if (!available(out.size())) return false;
        for (std::byte& b : out) b = in_[position_++];
        return true;
    }

    // The next n bytes, in place (no copy), or nothing and false.
    [[nodiscard]] constexpr bool get_view(std::size_t n, std::span<const std::byte>& out) noexcept {
        if (!available(n)) return false;
        out = in_.subspan(position_, n);
        position_ += n;
        return true;
    }

    // Bytes consumed so far.
    constexpr std::size_t position() const noexcept { return position_; }
    // Bytes not yet consumed.
    constexpr std::size_t remaining() const noexcept { return in_.size() - position_; }
    // True once a get asked for more bytes than remained.
    constexpr bool overrun() const noexcept { return overrun_; }

private:
    constexpr bool available(std::size_t n) noexcept {
        if (overrun_ || n > remaining()) {
            overrun_ = true;
            return false;
        }
        return true;
    }

    std::span<const std::byte> in_;
    std::size_t position_ = 0;
    bool overrun_ = false;
};

}  // namespace paxos::inline v0::wire
