// examples/kv/kv_machine.hpp: the replicated state of paxos_kv, run by the
// node driver (paxos/node/state_machine.hpp) on every replica in slot order.
//
// A command is one fixed-size struct (the default value codec sends its
// bytes): an operation, a key, a value and, for compare-and-set, the value
// the key must hold. Every write carries a session (client id, sequence
// number; paxos/sm/sessions.hpp), so a write the server proposes again after
// a timeout runs once. Reads carry no session (client 0): a read changes
// nothing, so running it twice is harmless; its sequence number is a nonce
// that names the waiting request (see kv_server.cpp).
//
// Replies are a few bytes the protocol layer turns into RESP (kv_resp.hpp):
// a kind byte, then an integer or a bulk. Write replies fit in 9 bytes, so
// the session table keeps them whole.
//
// Test-only planted bug, PAXOS_KV_PLANT_SNAPSHOT_WITHOUT_SESSIONS: the
// snapshot leaves the session table out, so a command retried after a
// restart from a snapshot runs twice (the jepsen-style tests must see it).
#pragma once

#include <paxos/node/state_machine.hpp>
#include <paxos/sm/sessions.hpp>
#include <paxos/wire/value_codec.hpp>

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace paxos_kv {

inline constexpr std::size_t key_bytes_max = 64;
inline constexpr std::size_t value_bytes_max = 128;
inline constexpr std::size_t keys_max = 1'000'000;  // SET of a new key beyond: "store full"

enum class op : std::uint32_t { none, register_client, get, set, compare_and_set, del, incr };

struct kv_command {            // no padding: the default codec sends its bytes
    std::uint64_t client = 0;  // session id; 0: no session (reads, registrations)
    std::uint64_t seq = 0;     // number in the session, or the nonce of a read or registration
    op what = op::none;
    std::uint32_t key_bytes = 0;
    std::uint32_t value_bytes = 0;
    std::uint32_t expected_bytes = 0;
    std::array<char, key_bytes_max> key{};
    std::array<char, value_bytes_max> value{};
    std::array<char, value_bytes_max> expected{};

    std::string_view key_view() const noexcept { return {key.data(), key_bytes}; }
    std::string_view value_view() const noexcept { return {value.data(), value_bytes}; }
    std::string_view expected_view() const noexcept { return {expected.data(), expected_bytes}; }
    friend bool operator==(const kv_command&, const kv_command&) = default;
};
static_assert(std::has_unique_object_representations_v<kv_command>);

}  // namespace paxos_kv

// On the wire and in the log a command takes only its used bytes: 20 bytes
// of header, then the key, the value and the expected value. (The default
// codec would send all 352 bytes of the struct.) decode() refuses an unknown
// operation and lengths over the bounds.
template <>
struct paxos::wire::value_codec<paxos_kv::kv_command> {
    static constexpr std::size_t encoded_size_min = 20;
    static constexpr std::size_t encoded_size_max =
        20 + paxos_kv::key_bytes_max + 2 * paxos_kv::value_bytes_max;

    static bool encode(const paxos_kv::kv_command& c, writer& out) noexcept {
        out.put_u64(c.client);
        out.put_u64(c.seq);
        out.put_u8(static_cast<std::uint8_t>(c.what));
        out.put_u8(static_cast<std::uint8_t>(c.key_bytes));
        out.put_u8(static_cast<std::uint8_t>(c.value_bytes));
        out.put_u8(static_cast<std::uint8_t>(c.expected_bytes));
        out.put_bytes(std::as_bytes(std::span(c.key).first(c.key_bytes)));
        out.put_bytes(std::as_bytes(std::span(c.value).first(c.value_bytes)));
        out.put_bytes(std::as_bytes(std::span(c.expected).first(c.expected_bytes)));
        return true;
    }

    static bool decode(reader& in, paxos_kv::kv_command& c) noexcept {
        std::uint8_t what = 0, kb = 0, vb = 0, eb = 0;
        paxos_kv::kv_command d;
        if (!in.get_u64(d.client) || !in.get_u64(d.seq) || !in.get_u8(what) || !in.get_u8(kb) ||
            !in.get_u8(vb) || !in.get_u8(eb))
            return false;
        if (what > static_cast<std::uint8_t>(paxos_kv::op::incr) || kb > paxos_kv::key_bytes_max ||
            vb > paxos_kv::value_bytes_max || eb > paxos_kv::value_bytes_max)
            return false;
        d.what = static_cast<paxos_kv::op>(what);
        d.key_bytes = kb;
        d.value_bytes = vb;
        d.expected_bytes = eb;
        if (!in.get_bytes(std::as_writable_bytes(std::span(d.key).first(kb))) ||
            !in.get_bytes(std::as_writable_bytes(std::span(d.value).first(vb))) ||
            !in.get_bytes(std::as_writable_bytes(std::span(d.expected).first(eb))))
            return false;
        c = d;
        return true;
    }
};

namespace paxos_kv {

// The first byte of a reply.
enum class reply_kind : std::uint8_t {
    ok,           // +OK
    null,         // $-1 (GET of a missing key, a compare-and-set that did not swap)
    integer,      // 8 bytes little-endian follow
    bulk,         // the value's bytes follow
    not_integer,  // INCR of a value that is not a 64-bit integer
    overflow,     // INCR past the int64 range
    full,         // keys_max keys already
};
inline constexpr std::size_t write_reply_bytes_max = 9;
inline constexpr std::size_t reply_bytes_max = 1 + value_bytes_max;

class kv_machine {
public:
    using sessions_type = paxos::sm::session_table<4096, write_reply_bytes_max>;

    static paxos::sm::request_id request_of(const kv_command& c) {
        return {paxos::sm::client_id{c.client}, c.seq};
    }

    void apply(paxos::slot_id slot, std::span<const kv_command> commands,
               paxos::node::replies& out) {
        for (const kv_command& c : commands) {
            if (c.what == op::register_client) {
                out.registered(request_of(c), sessions_.register_client(slot).client);
            } else if (c.client == 0) {
                PAXOS_ASSERT(c.what == op::get);  // every write carries a session
                std::array<std::byte, reply_bytes_max> reply{};
                const std::size_t n = execute(c, reply);
                out.answer(request_of(c), paxos::node::answer_status::executed,
                           std::span(reply).first(n));
            } else {
                out.answer(request_of(c),
                           sessions_.apply(paxos::sm::client_id{c.client}, c.seq, slot,
                                           [&](std::span<std::byte, write_reply_bytes_max> r) {
                                               return execute(c, r);
                                           }));
            }
        }
    }

    // Image: key count, then per key its length, bytes, value length, bytes;
    // then the session table's own image (versioned, CRC-32C).
    bool save_snapshot(paxos::node::snapshot_writer& w) const {
        const std::uint64_t count = data_.size();
        if (!w.write_object(count)) return false;
        for (const auto& [k, v] : data_) {
            const std::uint32_t kb = static_cast<std::uint32_t>(k.size());
            const std::uint32_t vb = static_cast<std::uint32_t>(v.size());
            if (!w.write_object(kb) || !w.write(std::as_bytes(std::span(k))) ||
                !w.write_object(vb) || !w.write(std::as_bytes(std::span(v))))
                return false;
        }
#ifdef PAXOS_KV_PLANT_SNAPSHOT_WITHOUT_SESSIONS
        return true;  // planted: the sessions are lost with every restart from a snapshot
#else
        static std::array<std::byte, sessions_type::image_bytes_max> image;
        const auto saved = sessions_.save(image);
        return saved.status == paxos::sm::image_status::ok &&
               w.write(std::span(image).first(saved.bytes));
#endif
    }

    bool load_snapshot(paxos::node::snapshot_reader& r) {
        std::uint64_t count = 0;
        if (!r.read_object(count) || count > keys_max) return false;
        data_.clear();
        std::string k, v;
        for (std::uint64_t i = 0; i < count; ++i) {
            std::uint32_t kb = 0, vb = 0;
            if (!r.read_object(kb) || kb > key_bytes_max) return false;
            k.resize(kb);
            if (!r.read(std::as_writable_bytes(std::span(k)))) return false;
            if (!r.read_object(vb) || vb > value_bytes_max) return false;
            v.resize(vb);
            if (!r.read(std::as_writable_bytes(std::span(v)))) return false;
            data_.insert_or_assign(k, v);
        }
        const std::uint64_t rest = r.remaining_bytes();
        if (rest == 0) return true;  // no sessions saved (the planted bug's image)
        static std::array<std::byte, sessions_type::image_bytes_max> image;
        if (rest > image.size()) return false;
        const auto part = std::span(image).first(static_cast<std::size_t>(rest));
        return r.read(part) && sessions_.load(part) == paxos::sm::image_status::ok;
    }

    // Local state: what a GET answers once the read index confirmed it
    // (kv_server.cpp, read_path), or at once in the planted stale-read bug.
    std::size_t local_get(std::string_view key, std::span<std::byte> reply) const {
        return get(key, reply);
    }
    std::size_t size() const noexcept { return data_.size(); }

private:
    static std::size_t put_kind(std::span<std::byte> r, reply_kind k) {
        r[0] = static_cast<std::byte>(k);
        return 1;
    }
    static std::size_t put_integer(std::span<std::byte> r, std::int64_t v) {
        r[0] = static_cast<std::byte>(reply_kind::integer);
        const auto u = static_cast<std::uint64_t>(v);
        for (std::size_t i = 0; i < 8; ++i) r[1 + i] = static_cast<std::byte>(u >> (8 * i));
        return 9;
    }

    std::size_t get(std::string_view key, std::span<std::byte> r) const {
        const auto it = data_.find(std::string(key));
        if (it == data_.end()) return put_kind(r, reply_kind::null);
        PAXOS_ASSERT(r.size() >= 1 + it->second.size());
        r[0] = static_cast<std::byte>(reply_kind::bulk);
        std::memcpy(r.data() + 1, it->second.data(), it->second.size());
        return 1 + it->second.size();
    }

    std::size_t store(std::string key, std::string_view value, std::span<std::byte> r) {
        const auto it = data_.find(key);
        if (it != data_.end()) {
            it->second.assign(value);
        } else {
            if (data_.size() >= keys_max) return put_kind(r, reply_kind::full);
            data_.emplace(std::move(key), std::string(value));
        }
        return put_kind(r, reply_kind::ok);
    }

    // One command, deterministic: the same on every replica.
    std::size_t execute(const kv_command& c, std::span<std::byte> r) {
        std::string key(c.key_view());
        switch (c.what) {
            case op::get: return get(key, r);
            case op::set: return store(std::move(key), c.value_view(), r);
            case op::compare_and_set: {
                const auto it = data_.find(key);
                if (it == data_.end() || it->second != c.expected_view())
                    return put_kind(r, reply_kind::null);
                it->second.assign(c.value_view());
                return put_kind(r, reply_kind::ok);
            }
            case op::del: return put_integer(r, static_cast<std::int64_t>(data_.erase(key)));
            case op::incr: {
                const auto it = data_.find(key);
                std::int64_t v = 0;
                if (it != data_.end()) {
                    const std::string& s = it->second;
                    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
                    if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
                        return put_kind(r, reply_kind::not_integer);
                }
                if (v == std::numeric_limits<std::int64_t>::max())
                    return put_kind(r, reply_kind::overflow);
                ++v;
                const std::size_t n = store(std::move(key), std::to_string(v), r);
                return r[0] == static_cast<std::byte>(reply_kind::ok) ? put_integer(r, v) : n;
            }
            case op::none:
            case op::register_client: break;
        }
        PAXOS_ASSERT(false);  // the server proposes only the operations above
        return put_kind(r, reply_kind::null);
    }

    std::unordered_map<std::string, std::string> data_;
    sessions_type sessions_;
};

}  // namespace paxos_kv
