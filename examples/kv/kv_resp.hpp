// examples/kv/kv_resp.hpp: paxos_kv's protocol layer. Turns one RESP request
// (resp.hpp parsed it) into a command for the log or an answer at once, and
// a state-machine reply (kv_machine.hpp) into RESP. No sockets, no driver.
//
// Answered at once, on any replica: PING, CONFIG GET, COMMAND (an empty
// array: redis-cli and redis-benchmark need only that it answers), the
// argument errors. GET becomes a read (kv_server.cpp asks the read index
// for it, and answers from the state machine); everything else is a command
// for the log: SET, SET key value IFEQ old, DEL (one key), INCR.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kv_machine.hpp"
#include "resp.hpp"

namespace paxos_kv {

// memcpy of a view that may be empty (and then may have no data pointer).
inline void copy_into(char* to, std::string_view from) noexcept {
    if (!from.empty()) std::memcpy(to, from.data(), from.size());
}

// What to do with a request: `out` already holds the answer (answered), or
// `c` is to be proposed (propose).
enum class request_action : std::uint8_t { answered, propose };

inline request_action translate(std::span<const std::string_view> args, kv_command& c,
                                resp::reply_writer& out) {
    const resp::command_info* info = resp::resolve(args, out);
    if (info == nullptr) return request_action::answered;
    c = kv_command{};
    auto too_long = [&](std::string_view what, std::size_t max) {
        char text[80];
        const int n = std::snprintf(text, sizeof text, "ERR paxos_kv: %.*s longer than %zu bytes",
                                    static_cast<int>(what.size()), what.data(), max);
        (void)out.error({text, static_cast<std::size_t>(n)});
        return request_action::answered;
    };
    auto take_key = [&](std::string_view k) {
        if (k.size() > key_bytes_max) return false;
        c.key_bytes = static_cast<std::uint32_t>(k.size());
        copy_into(c.key.data(), k);
        return true;
    };
    switch (info->id) {
        case resp::command::ping:
            (void)(args.size() == 2 ? out.bulk(args[1]) : out.simple("PONG"));
            return request_action::answered;
        case resp::command::config: resp::write_config(args, out); return request_action::answered;
        case resp::command::command: (void)out.array(0); return request_action::answered;
        case resp::command::get:
            if (!take_key(args[1])) return too_long("key", key_bytes_max);
            c.what = op::get;
            return request_action::propose;
        case resp::command::incr:
            if (!take_key(args[1])) return too_long("key", key_bytes_max);
            c.what = op::incr;
            return request_action::propose;
        case resp::command::del:
            if (args.size() != 2) {
                (void)out.error("ERR paxos_kv: DEL takes exactly one key");
                return request_action::answered;
            }
            if (!take_key(args[1])) return too_long("key", key_bytes_max);
            c.what = op::del;
            return request_action::propose;
        case resp::command::set: {
            resp::set_args s;
            if (!resp::parse_set(args, s, out)) return request_action::answered;
            if (!take_key(s.key)) return too_long("key", key_bytes_max);
            if (s.value.size() > value_bytes_max || s.expected.size() > value_bytes_max)
                return too_long("value", value_bytes_max);
            c.what = s.compare ? op::compare_and_set : op::set;
            c.value_bytes = static_cast<std::uint32_t>(s.value.size());
            copy_into(c.value.data(), s.value);
            c.expected_bytes = static_cast<std::uint32_t>(s.expected.size());
            copy_into(c.expected.data(), s.expected);
            return request_action::propose;
        }
    }
    (void)out.error("ERR paxos_kv: command not handled");
    return request_action::answered;
}

// A state-machine reply as RESP.
inline void write_reply(std::span<const std::byte> r, resp::reply_writer& out) {
    if (r.empty()) {
        (void)out.error("ERR paxos_kv: empty reply (the command's reply was not kept)");
        return;
    }
    switch (static_cast<reply_kind>(r[0])) {
        case reply_kind::ok: (void)out.simple("OK"); return;
        case reply_kind::null: (void)out.null_bulk(); return;
        case reply_kind::integer: {
            std::uint64_t u = 0;
            for (std::size_t i = 0; i < 8 && 1 + i < r.size(); ++i)
                u |= std::uint64_t{std::to_integer<std::uint8_t>(r[1 + i])} << (8 * i);
            (void)out.integer(static_cast<std::int64_t>(u));
            return;
        }
        case reply_kind::bulk:
            (void)out.bulk({reinterpret_cast<const char*>(r.data()) + 1, r.size() - 1});
            return;
        case reply_kind::not_integer:
            (void)out.error("ERR value is not an integer or out of range");
            return;
        case reply_kind::overflow:
            (void)out.error("ERR increment or decrement would overflow");
            return;
        case reply_kind::full: (void)out.error("ERR paxos_kv: store full"); return;
    }
    (void)out.error("ERR paxos_kv: unknown reply kind");
}

// Redis Cluster's key slot (CRC16/XMODEM of the key, mod 16384), so a
// -MOVED redirect names the slot as cluster-aware clients expect.
inline std::uint16_t key_slot(std::string_view key) noexcept {
    std::uint16_t crc = 0;
    for (const char ch : key) {
        crc ^= static_cast<std::uint16_t>(static_cast<std::uint8_t>(ch) << 8);
        for (int b = 0; b < 8; ++b)
            crc = static_cast<std::uint16_t>((crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return static_cast<std::uint16_t>(crc & 16383);
}

}  // namespace paxos_kv
