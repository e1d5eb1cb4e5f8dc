// paxos/net/address_table.hpp: where each node of the cluster listens, read
// from a small config file or from command-line flags.
//
// One table serves the whole cluster: every node reads the same file and
// passes its own id, so a node finds its listening address and its peers'
// in one place. The file has one node per line, `#` starts a comment:
//
//   # id  address:port
//   0     127.0.0.1:7000
//   1     127.0.0.1:7001
//   2     [::1]:7002
//
// and the flags say the same thing: `--peer 0=127.0.0.1:7000` (or
// `--peer=0=...`), one per node. Addresses are numeric IPv4 or bracketed
// IPv6: host names are refused rather than resolved, because resolving
// blocks and a name that resolves differently on two nodes splits the
// cluster's idea of who is where.
//
// Nothing is defaulted: an id twice, an address twice, a port outside
// 1..65535, an id at or beyond max_nodes, or no entry for the node itself is
// an error that names the line (or the flag) and what is wrong. Errors are
// returned as values (table_result), never thrown by the parsers.
//
// Linux/POSIX only (sockaddr). Parsing allocates (the error text, the file's
// contents); it runs once at start-up, before the transport's steady state.
#pragma once

#include <array>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../assert.hpp"
#include "../core/vocabulary.hpp"

namespace paxos::inline v0::net {

namespace detail {
// Concatenates the parts. (Messages are built this way rather than with
// `"literal" + std::string`, which g++ 12 at -O3 flags with a false
// -Wrestrict.)
inline std::string join(std::initializer_list<std::string_view> parts) {
    std::size_t size = 0;
    for (const std::string_view p : parts) size += p.size();
    std::string out;
    out.reserve(size);
    for (const std::string_view p : parts) out.append(p);
    return out;
}
}  // namespace detail

// A numeric IPv4 or IPv6 address with a TCP port, in the form connect() and
// bind() take.
class peer_address {
public:
    constexpr peer_address() = default;

    // 127.0.0.1 at `port`: what tests and single-machine clusters use.
    static peer_address loopback(std::uint16_t port) noexcept {
        peer_address a;
        auto* in = reinterpret_cast<sockaddr_in*>(&a.storage_);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.size_ = sizeof(sockaddr_in);
        return a;
    }

    // Reads "127.0.0.1:7001" or "[::1]:7001" into `out`. Returns nullptr on
    // success, otherwise why not (and `out` is unchanged).
    static const char* parse(std::string_view text, peer_address& out) noexcept {
        std::string_view host;
        std::string_view port_text;
        bool v6 = false;
        if (!text.empty() && text.front() == '[') {
            const std::size_t close = text.find(']');
            if (close == std::string_view::npos) return "an IPv6 address needs its closing `]`";
            host = text.substr(1, close - 1);
            if (close + 1 >= text.size() || text[close + 1] != ':') {
                return "expected `:<port>` after the `]`";
            }
            port_text = text.substr(close + 2);
            v6 = true;
        } else {
            const std::size_t colon = text.rfind(':');
            if (colon == std::string_view::npos) return "expected <address>:<port>";
            host = text.substr(0, colon);
            port_text = text.substr(colon + 1);
            if (host.find(':') != std::string_view::npos) {
                return "an IPv6 address goes in brackets, as in [::1]:7001";
            }
        }
        std::uint16_t port = 0;
        if (const char* why = parse_port(port_text, port)) return why;

        // inet_pton wants a terminated string; no valid address is longer.
        std::array<char, INET6_ADDRSTRLEN + 1> host_z{};
        if (host.empty() || host.size() >= host_z.size()) {
            return "not a numeric IPv4 or [IPv6] address (host names are not resolved)";
        }
        std::memcpy(host_z.data(), host.data(), host.size());
        peer_address a;
        if (v6) {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
            if (::inet_pton(AF_INET6, host_z.data(), &in6->sin6_addr) != 1) {
                return "not a numeric IPv6 address";
            }
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(port);
            a.size_ = sizeof(sockaddr_in6);
        } else {
            auto* in = reinterpret_cast<sockaddr_in*>(&a.storage_);
            if (::inet_pton(AF_INET, host_z.data(), &in->sin_addr) != 1) {
                return "not a numeric IPv4 or [IPv6] address (host names are not resolved)";
            }
            in->sin_family = AF_INET;
            in->sin_port = htons(port);
            a.size_ = sizeof(sockaddr_in);
        }
        out = a;
        return nullptr;
    }

    bool valid() const noexcept { return size_ != 0; }
    int family() const noexcept { return storage_.ss_family; }
    const sockaddr* socket_address() const noexcept {
        return reinterpret_cast<const sockaddr*>(&storage_);
    }
    socklen_t size() const noexcept { return size_; }

    std::uint16_t port() const noexcept {
        if (family() == AF_INET6) {
            return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
        }
        if (family() == AF_INET) {
            return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
        }
        return 0;
    }

    // "127.0.0.1:7001" or "[::1]:7001", for messages.
    std::string to_string() const {
        std::array<char, INET6_ADDRSTRLEN + 1> host{};
        if (family() == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
            ::inet_ntop(AF_INET6, &in6->sin6_addr, host.data(), host.size());
            return detail::join({"[", host.data(), "]:", std::to_string(port())});
        }
        if (family() == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&storage_);
            ::inet_ntop(AF_INET, &in->sin_addr, host.data(), host.size());
            return detail::join({host.data(), ":", std::to_string(port())});
        }
        return "(no address)";
    }

    // Same family, host and port (the bytes connect() would use).
    friend bool operator==(const peer_address& a, const peer_address& b) noexcept {
        if (a.size_ != b.size_ || a.family() != b.family() || a.port() != b.port()) return false;
        if (a.family() == AF_INET6) {
            return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(&a.storage_)->sin6_addr,
                               &reinterpret_cast<const sockaddr_in6*>(&b.storage_)->sin6_addr,
                               sizeof(in6_addr)) == 0;
        }
        if (a.family() == AF_INET) {
            return reinterpret_cast<const sockaddr_in*>(&a.storage_)->sin_addr.s_addr ==
                   reinterpret_cast<const sockaddr_in*>(&b.storage_)->sin_addr.s_addr;
        }
        return true;
    }

private:
    static const char* parse_port(std::string_view text, std::uint16_t& port) noexcept {
        if (text.empty()) return "missing port after `:`";
        std::uint32_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size()) {
            return "bad port: not a number (ports are 1..65535)";
        }
        if (value == 0 || value > 65535) return "bad port: outside 1..65535";
        port = static_cast<std::uint16_t>(value);
        return nullptr;
    }

    sockaddr_storage storage_{};
    socklen_t size_ = 0;
};

// Why address_table::add refused an entry.
enum class add_status : std::uint8_t {
    ok,
    id_beyond_max_nodes,  // ids are 0 .. max_nodes - 1
    duplicate_id,
    duplicate_address,  // two nodes cannot listen on one address
    invalid_address,    // a default-constructed peer_address
};

// Node id -> listening address, for at most node_set::capacity (64) nodes.
// A value: copy it, compare it, hand it to a transport.
class address_table {
public:
    struct entry {
        node_id id;
        peer_address address;
    };

    // An empty table for ids 0 .. max_nodes - 1 (1 <= max_nodes <= 64).
    explicit address_table(std::size_t max_nodes = node_set::capacity) noexcept
        : max_nodes_(max_nodes) {
        PAXOS_ASSERT(max_nodes >= 1);
        PAXOS_ASSERT(max_nodes <= node_set::capacity);
    }

    [[nodiscard]] add_status add(node_id id, const peer_address& address) noexcept {
        if (id.value >= max_nodes_) return add_status::id_beyond_max_nodes;
        if (!address.valid()) return add_status::invalid_address;
        for (std::size_t i = 0; i < size_; ++i) {
            if (entries_[i].id == id) return add_status::duplicate_id;
            if (entries_[i].address == address) return add_status::duplicate_address;
        }
        PAXOS_ASSERT(size_ < entries_.size());  // ids are distinct and below max_nodes <= 64
        entries_[size_++] = entry{id, address};
        return add_status::ok;
    }

    // The address of `id`, or nullptr when it is not in the table.
    const peer_address* find(node_id id) const noexcept {
        for (std::size_t i = 0; i < size_; ++i) {
            if (entries_[i].id == id) return &entries_[i].address;
        }
        return nullptr;
    }
    bool contains(node_id id) const noexcept { return find(id) != nullptr; }

    std::size_t max_nodes() const noexcept { return max_nodes_; }
    // Nodes in the table (the node itself included).
    std::size_t size() const noexcept { return size_; }
    // In the order they were added.
    const entry* begin() const noexcept { return entries_.data(); }
    const entry* end() const noexcept { return entries_.data() + size_; }

private:
    std::array<entry, node_set::capacity> entries_{};
    std::size_t size_ = 0;
    std::size_t max_nodes_ = node_set::capacity;
};

// A parsed table, or why not: `error` names the source and line (or the
// flag) and says what is wrong, e.g. "peers.conf:3: duplicate node id 2
// (first on line 1)". `table` is meaningful only when ok().
struct [[nodiscard]] table_result {
    address_table table;
    std::string error;

    bool ok() const noexcept { return error.empty(); }
};

namespace detail {

inline bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

inline std::string_view next_token(std::string_view& rest) noexcept {
    std::size_t i = 0;
    while (i < rest.size() && is_blank(rest[i])) ++i;
    std::size_t j = i;
    while (j < rest.size() && !is_blank(rest[j])) ++j;
    const std::string_view token = rest.substr(i, j - i);
    rest.remove_prefix(j);
    return token;
}

inline std::string quoted(std::string_view s) { return join({"`", s, "`"}); }

// Adds "<id> <address>" to `table`; returns the error text without its
// location, or "" on success. `first_seen` says where each id was added
// (a line or flag number), for the duplicate message.
inline std::string add_entry(address_table& table, std::string_view id_text,
                             std::string_view address_text,
                             std::array<std::size_t, node_set::capacity>& first_seen,
                             std::size_t where, const char* where_word) {
    std::uint32_t id = 0;
    const auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    const bool whole = end == id_text.data() + id_text.size();
    const bool too_big = ec == std::errc::result_out_of_range && whole;
    if (id_text.empty() || (ec != std::errc{} && !too_big) || !whole) {
        return join({"node id ", quoted(id_text), " is not a number"});
    }
    if (too_big || id >= table.max_nodes()) {
        return join({"node id ", id_text, " is beyond max_nodes ",
                     std::to_string(table.max_nodes()), " (ids are 0..",
                     std::to_string(table.max_nodes() - 1), ")"});
    }
    peer_address address;
    if (const char* why = peer_address::parse(address_text, address)) {
        return join({quoted(address_text), ": ", why});
    }
    const node_id node{static_cast<std::uint16_t>(id)};
    switch (table.add(node, address)) {
        case add_status::ok: first_seen[id] = where; return "";
        case add_status::duplicate_id:
            return join({"duplicate node id ", std::to_string(id), " (first on ", where_word, " ",
                         std::to_string(first_seen[id]), ")"});
        case add_status::duplicate_address:
            return join({"address ", address.to_string(), " is already given to another node"});
        case add_status::id_beyond_max_nodes:  // checked above
        case add_status::invalid_address: break;
    }
    return join({"cannot add node ", std::to_string(id)});
}

inline std::string check_self(const address_table& table, node_id self) {
    if (self.value >= table.max_nodes()) {
        return join({"this node's id ", std::to_string(self.value), " is beyond max_nodes ",
                     std::to_string(table.max_nodes())});
    }
    if (!table.contains(self)) {
        return join({"no address for this node (id ", std::to_string(self.value), ")"});
    }
    return "";
}

inline bool max_nodes_ok(std::size_t max_nodes) noexcept {
    return max_nodes >= 1 && max_nodes <= node_set::capacity;
}

}  // namespace detail

// Parses the text of an address file (see the top of this header). `source`
// names it in errors ("peers.conf"); `self` must have a line.
inline table_result parse_address_table(std::string_view text, node_id self, std::size_t max_nodes,
                                        std::string_view source = "address table") {
    table_result r{address_table(detail::max_nodes_ok(max_nodes) ? max_nodes : 1), {}};
    const std::string where = detail::join({source, ":"});
    if (!detail::max_nodes_ok(max_nodes)) {
        r.error =
            detail::join({where, " max_nodes ", std::to_string(max_nodes), " is outside 1..64"});
        return r;
    }
    std::array<std::size_t, node_set::capacity> first_seen{};
    std::size_t line_number = 0;
    while (!text.empty() || line_number == 0) {
        ++line_number;
        const std::size_t newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        line = line.substr(0, line.find('#'));
        const std::string at = detail::join({where, std::to_string(line_number), ": "});

        const std::string_view id = detail::next_token(line);
        if (id.empty()) continue;  // blank or comment-only
        const std::string_view address = detail::next_token(line);
        if (address.empty()) {
            r.error = detail::join(
                {at, "expected `<id> <address>:<port>`, found only ", detail::quoted(id)});
            return r;
        }
        if (const std::string_view extra = detail::next_token(line); !extra.empty()) {
            r.error =
                detail::join({at, "unexpected ", detail::quoted(extra), " after the address"});
            return r;
        }
        if (std::string e =
                detail::add_entry(r.table, id, address, first_seen, line_number, "line");
            !e.empty()) {
            r.error = at + e;
            return r;
        }
    }
    if (std::string e = detail::check_self(r.table, self); !e.empty())
        r.error = detail::join({where, " ", e});
    return r;
}

// Reads and parses the address file at `path`.
inline table_result load_address_file(const std::string& path, node_id self,
                                      std::size_t max_nodes) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        const int error = errno;
        return {address_table{}, detail::join({path, ": cannot open: ", std::strerror(error)})};
    }
    std::string text;
    std::array<char, 4096> chunk{};
    std::size_t n = 0;
    while ((n = std::fread(chunk.data(), 1, chunk.size(), f)) > 0) text.append(chunk.data(), n);
    const bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) return {address_table{}, detail::join({path, ": read error"})};
    return parse_address_table(text, self, max_nodes, path);
}

// Collects every `--peer ID=ADDRESS:PORT` (or `--peer=ID=ADDRESS:PORT`) of
// argv[1..argc-1]; other arguments are left to the caller's own parser.
// Errors name the argument: "argument 3 (--peer 1=127.0.0.1:99999): ...".
inline table_result parse_peer_flags(int argc, const char* const* argv, node_id self,
                                     std::size_t max_nodes) {
    table_result r{address_table(detail::max_nodes_ok(max_nodes) ? max_nodes : 1), {}};
    if (!detail::max_nodes_ok(max_nodes)) {
        r.error =
            detail::join({"--peer: max_nodes ", std::to_string(max_nodes), " is outside 1..64"});
        return r;
    }
    std::array<std::size_t, node_set::capacity> first_seen{};
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        std::string_view value;
        std::string shown;
        if (arg == "--peer") {
            if (i + 1 >= argc) {
                r.error = detail::join(
                    {"argument ", std::to_string(i), " (--peer): missing ID=ADDRESS:PORT"});
                return r;
            }
            ++i;
            value = argv[i];
            shown = detail::join({"--peer ", value});
        } else if (arg.substr(0, 7) == "--peer=") {
            value = arg.substr(7);
            shown = std::string(arg);
        } else {
            continue;
        }
        const std::string at = detail::join({"argument ", std::to_string(i), " (", shown, "): "});
        const std::size_t equals = value.find('=');
        if (equals == std::string_view::npos) {
            r.error = detail::join({at, "expected ID=ADDRESS:PORT"});
            return r;
        }
        if (std::string e =
                detail::add_entry(r.table, value.substr(0, equals), value.substr(equals + 1),
                                  first_seen, static_cast<std::size_t>(i), "argument");
            !e.empty()) {
            r.error = at + e;
            return r;
        }
    }
    if (std::string e = detail::check_self(r.table, self); !e.empty())
        r.error = detail::join({"--peer: ", e});
    return r;
}

}  // namespace paxos::inline v0::net
