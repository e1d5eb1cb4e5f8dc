// tests/kv/kv_support.hpp: feeding bytes to the RESP parser the way a
// connection would, in chosen pieces, and collecting what came out.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "kv/resp.hpp"

namespace kv_test {

namespace resp = paxos_kv::resp;

struct outcome {
    std::vector<std::vector<std::string>> requests;
    std::string error;  // empty unless the input was refused
    bool operator==(const outcome&) const = default;
};

inline void drain(resp::request_buffer& in, outcome& out) {
    for (int round = 0; round < 100'000 && out.error.empty(); ++round) {
        const resp::parse_status s = in.next();
        if (s == resp::parse_status::incomplete) return;
        if (s == resp::parse_status::error) {
            out.error = std::string(in.error_text());
            REQUIRE(!out.error.empty());
            return;
        }
        REQUIRE(s == resp::parse_status::complete);
        REQUIRE(!in.args().empty());
        REQUIRE(in.args().size() <= resp::args_max);
        std::vector<std::string> r;
        for (const std::string_view a : in.args()) r.emplace_back(a);
        out.requests.push_back(std::move(r));
    }
}

// Feeds `bytes` to a fresh request_buffer, cut at each offset in `cuts`
// (ascending), parsing after every piece.
inline outcome feed(std::string_view bytes, const std::vector<std::size_t>& cuts = {}) {
    resp::request_buffer in;
    outcome out;
    std::size_t done = 0;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(bytes.size());
    for (const std::size_t end : ends) {
        while (done < end && out.error.empty()) {
            const std::span<char> room = in.writable();
            const std::size_t n = std::min(room.size(), end - done);
            std::memcpy(room.data(), bytes.data() + done, n);
            in.commit(n);
            done += n;
            drain(in, out);
        }
    }
    return out;
}

inline outcome feed_bytewise(std::string_view bytes) {
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < bytes.size(); ++i) cuts.push_back(i);
    return feed(bytes, cuts);
}

inline std::string bulk(std::string_view s) {
    return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}

inline std::string multibulk(const std::vector<std::string>& args) {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (const std::string& a : args) out += bulk(a);
    return out;
}

}  // namespace kv_test
