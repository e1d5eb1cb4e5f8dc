// examples/kv/resp.hpp: the RESP2 codec of paxos_kv (tracker issue 14): an
// incremental request parser, reply encoders and the command table.
//
// Requests. Two forms arrive, as in Redis's networking.c:
//   - multibulk: `*<n>\r\n` then n bulk strings `$<len>\r\n<bytes>\r\n`
//     (what redis-cli and redis-benchmark send);
//   - inline: one line of words separated by spaces or tabs, ended by `\n`
//     or `\r\n` (`PING\r\n`, `GET k\r\n`: what telnet and `nc` send). Quoted
//     inline arguments are refused rather than half-supported: a client that
//     needs spaces in a value uses the multibulk form.
// A request whose first byte is `*` is multibulk, anything else inline. An
// empty inline line and `*0` / `*-1` are skipped without a reply, as Redis does.
//
// Incremental, pipelined, no allocation. request_parser remembers how far
// into the current request it got (offsets, never pointers), so bytes may
// arrive one at a time and the buffer may move between reads; several
// requests in one read come out one per call. Arguments are string_views into
// the caller's buffer. request_buffer is that buffer for one connection: one
// allocation in its constructor, none after.
//
// Bounds (every one is checked before the bytes it covers are awaited):
//   args_max              16 arguments (SET key value IFEQ old needs 5)
//   bulk_bytes_max        64 KiB per argument (a key or a value)
//   inline_bytes_max      64 KiB per inline line (Redis's PROTO_INLINE_MAX_SIZE)
//   request_bytes_max     256 KiB per encoded request (room for SET with a
//                         largest key, value and expected value)
//   count_line_bytes_max  32 bytes for a `*<n>\r\n` or `$<len>\r\n` line
// Malformed or oversized input is a protocol error whose text is what Redis
// answers in the same case (`Protocol error: invalid bulk length`, ...);
// the server writes it as `-ERR <text>` and then closes the connection,
// because a byte stream cannot be resynchronised. After an error the parser
// keeps returning it.
//
// Commands (find_command, resolve): GET, SET, DEL, INCR, PING, CONFIG GET and
// COMMAND, names matched without regard to ASCII case. Anything else gets
// `-ERR unknown command 'X', with args beginning with: ...`, a wrong count
// `-ERR wrong number of arguments for 'x' command` (Redis 7's texts).
//
// Compare-and-set: `SET key value IFEQ old` sets key to value only if key
// exists and holds exactly `old`; the reply is `+OK` if it did and a null bulk
// if it did not (the form and replies Valkey 8.1 gave SET's IFEQ option).
// Plain `SET key value` always sets and answers `+OK`. Other SET options
// (EX, NX, ...) are refused with `-ERR syntax error`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include <paxos/assert.hpp>

namespace paxos_kv::resp {

inline constexpr std::size_t args_max = 16;
inline constexpr std::size_t bulk_bytes_max = 64 * 1024;
inline constexpr std::size_t inline_bytes_max = 64 * 1024;
inline constexpr std::size_t request_bytes_max = 256 * 1024;
inline constexpr std::size_t count_line_bytes_max = 32;
// A connection buffer of this size always has room for the rest of any
// request the bounds allow (a request, plus one count line being scanned).
inline constexpr std::size_t connection_buffer_bytes = request_bytes_max + count_line_bytes_max;
static_assert(inline_bytes_max < connection_buffer_bytes);
static_assert(3 * bulk_bytes_max + 64 < request_bytes_max, "room for SET k v IFEQ old");

enum class parse_status : std::uint8_t {
    incomplete,  // a prefix of a request: read more, then call again
    complete,    // args() holds a request of `consumed` bytes
    empty,       // `consumed` bytes that hold no request (blank line, *0): skip them
    error,       // error_text() says why; answer it and close the connection
};

struct parse_result {
    parse_status status = parse_status::incomplete;
    std::size_t consumed = 0;  // for complete and empty
};

// ASCII case-insensitive equality (command names, IFEQ, CONFIG GET).
[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

// Parses one request at a time from the bytes buffered since that request's
// first byte. Contract: each call passes the same bytes as the previous call
// (possibly moved in memory) plus any that arrived since; after complete or
// empty, the caller drops `consumed` bytes and the next call starts the next
// request. Views from args() point into the last `in` and are valid until
// the next call or until those bytes move.
class request_parser {
public:
    [[nodiscard]] parse_result parse(std::span<const char> in) {
        PAXOS_ASSERT(in.size() >= scanned_);
        for (;;) {
            const step r = advance(in);
            if (r == step::go_on) continue;
            if (r == step::need_more) return {parse_status::incomplete, 0};
            if (r == step::failed) return {parse_status::error, 0};
            const std::size_t consumed = pos_;
            const parse_status status =
                r == step::done ? parse_status::complete : parse_status::empty;
            if (status == parse_status::complete) bind_views(in);
            restart();
            return {status, consumed};
        }
    }

    [[nodiscard]] std::span<const std::string_view> args() const noexcept {
        return {views_.data(), views_count_};
    }
    [[nodiscard]] bool failed() const noexcept { return phase_ == phase::failed; }
    [[nodiscard]] std::string_view error_text() const noexcept {
        return {error_.data(), error_size_};
    }
    // Forgets everything, the error included (a new connection).
    void reset() noexcept {
        restart();
        error_size_ = 0;
        views_count_ = 0;
    }

private:
    enum class phase : std::uint8_t {
        start,
        count_line,
        bulk_line,
        bulk_count,
        bulk_body,
        inline_line,
        failed,
    };
    enum class step : std::uint8_t { go_on, need_more, done, skip, failed };
    struct arg_span {
        std::uint32_t offset;
        std::uint32_t size;
    };

    step advance(std::span<const char> in) {
        switch (phase_) {
            case phase::start:
                if (in.empty()) return step::need_more;
                phase_ = in[0] == '*' ? phase::count_line : phase::inline_line;
                pos_ = in[0] == '*' ? 1 : 0;
                scanned_ = pos_;
                return step::go_on;
            case phase::count_line: return count_line(in);
            case phase::bulk_line: return bulk_line(in);
            case phase::bulk_count: return bulk_count(in);
            case phase::bulk_body: return bulk_body(in);
            case phase::inline_line: return inline_line(in);
            case phase::failed: return step::failed;
        }
        return fail("Protocol error: parser state");
    }

    // Finds the `\n` that ends the line starting at pos_, searching only
    // bytes not searched before; the line may be at most `limit` bytes.
    // Returns the index of `\n`, or npos (need more, or too long: `too_long`).
    std::size_t find_newline(std::span<const char> in, std::size_t limit, bool& too_long) {
        too_long = false;
        const std::size_t end = in.size() < pos_ + limit ? in.size() : pos_ + limit;
        for (std::size_t i = scanned_; i < end; ++i) {
            if (in[i] == '\n') return i;
        }
        scanned_ = end;
        too_long = end == pos_ + limit;
        return std::string_view::npos;
    }

    // A count (`*<n>` or `$<len>` without the prefix) as Redis's string2ll
    // reads it: an optional '-', then "0" or digits without a leading zero.
    // Values beyond `cap` are reported as cap + 1, which every caller refuses.
    static bool read_count(std::string_view s, std::int64_t cap, std::int64_t& out) {
        bool negative = false;
        if (!s.empty() && s[0] == '-') {
            negative = true;
            s.remove_prefix(1);
        }
        if (s.empty() || (s[0] == '0' && s.size() > 1)) return false;
        std::int64_t v = 0;
        for (const char c : s) {
            if (c < '0' || c > '9') return false;
            if (v <= cap) v = v * 10 + (c - '0');
        }
        out = negative ? -v : (v > cap ? cap + 1 : v);
        return !(negative && v == 0);  // "-0" is not a number string2ll accepts
    }

    // The body of the header line at pos_ (prefix skipped), or false with
    // `r` set to what to return.
    bool header_line(std::span<const char> in, std::string_view too_big, std::string_view& body,
                     step& r) {
        bool too_long = false;
        const std::size_t nl = find_newline(in, count_line_bytes_max, too_long);
        if (nl == std::string_view::npos) {
            r = too_long ? fail(too_big) : step::need_more;
            return false;
        }
        // Redis ends a header at "\r\n"; a bare "\n" makes it unreadable.
        const bool crlf = nl > pos_ && in[nl - 1] == '\r';
        body = crlf ? std::string_view(in.data() + pos_, nl - 1 - pos_) : std::string_view{};
        pos_ = nl + 1;
        scanned_ = pos_;
        return true;
    }

    step count_line(std::span<const char> in) {
        std::string_view body;
        step r = step::need_more;
        if (!header_line(in, "Protocol error: too big mbulk count string", body, r)) return r;
        std::int64_t n = 0;
        if (!read_count(body, static_cast<std::int64_t>(args_max), n) ||
            n > static_cast<std::int64_t>(args_max)) {
            return fail("Protocol error: invalid multibulk length");
        }
        if (n <= 0) return step::skip;
        args_expected_ = static_cast<std::size_t>(n);
        args_count_ = 0;
        phase_ = phase::bulk_line;
        return step::go_on;
    }

    step bulk_line(std::span<const char> in) {
        if (pos_ >= in.size()) return step::need_more;
        if (in[pos_] != '$') return fail_expected_dollar(in[pos_]);
        ++pos_;
        scanned_ = pos_;
        phase_ = phase::bulk_count;
        return step::go_on;
    }

    step bulk_count(std::span<const char> in) {
        std::string_view body;
        step r = step::need_more;
        if (!header_line(in, "Protocol error: too big bulk count string", body, r)) return r;
        std::int64_t n = 0;
        if (!read_count(body, static_cast<std::int64_t>(bulk_bytes_max), n) || n < 0 ||
            n > static_cast<std::int64_t>(bulk_bytes_max)) {
            return fail("Protocol error: invalid bulk length");
        }
        bulk_size_ = static_cast<std::size_t>(n);
        if (pos_ + bulk_size_ + 2 > request_bytes_max) {
            return fail("Protocol error: request too large");
        }
        phase_ = phase::bulk_body;
        return step::go_on;
    }

    step bulk_body(std::span<const char> in) {
        if (in.size() < pos_ + bulk_size_ + 2) return step::need_more;
        if (in[pos_ + bulk_size_] != '\r' || in[pos_ + bulk_size_ + 1] != '\n') {
            return fail("Protocol error: expected CRLF after bulk string");
        }
        spans_[args_count_++] = {static_cast<std::uint32_t>(pos_),
                                 static_cast<std::uint32_t>(bulk_size_)};
        pos_ += bulk_size_ + 2;
        scanned_ = pos_;
        if (args_count_ == args_expected_) return step::done;
        phase_ = phase::bulk_line;
        return step::go_on;
    }

    // As isspace() in the C locale, which Redis's sdssplitargs uses.
    static bool is_space(char c) noexcept {
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
    }

    step inline_line(std::span<const char> in) {
        bool too_long = false;
        const std::size_t nl = find_newline(in, inline_bytes_max, too_long);
        if (nl == std::string_view::npos) {
            return too_long ? fail("Protocol error: too big inline request") : step::need_more;
        }
        const std::size_t end = nl > 0 && in[nl - 1] == '\r' ? nl - 1 : nl;
        args_count_ = 0;
        std::size_t i = 0;
        while (i < end) {
            if (is_space(in[i])) {
                ++i;
                continue;
            }
            if (in[i] == '"' || in[i] == '\'') {
                return fail("Protocol error: quoted inline arguments are not supported");
            }
            if (args_count_ == args_max) {
                return fail("Protocol error: too many arguments in inline request");
            }
            const std::size_t start = i;
            while (i < end && !is_space(in[i])) ++i;
            spans_[args_count_++] = {static_cast<std::uint32_t>(start),
                                     static_cast<std::uint32_t>(i - start)};
        }
        pos_ = nl + 1;
        return args_count_ == 0 ? step::skip : step::done;
    }

    void bind_views(std::span<const char> in) noexcept {
        for (std::size_t i = 0; i < args_count_; ++i) {
            views_[i] = std::string_view(in.data() + spans_[i].offset, spans_[i].size);
        }
        views_count_ = args_count_;
    }

    void restart() noexcept {
        phase_ = phase::start;
        pos_ = 0;
        scanned_ = 0;
        args_expected_ = 0;
        args_count_ = 0;
        bulk_size_ = 0;
    }

    step fail(std::string_view text) noexcept {
        const std::size_t n = text.size() < error_.size() ? text.size() : error_.size();
        std::memcpy(error_.data(), text.data(), n);
        error_size_ = n;
        phase_ = phase::failed;
        views_count_ = 0;
        return step::failed;
    }

    // Redis answers "expected '$', got '%c'"; a byte that is not printable is
    // shown as \xHH so the error line never carries a CR or LF.
    step fail_expected_dollar(char c) noexcept {
        char text[48] = "Protocol error: expected '$', got '";
        std::size_t n = std::strlen(text);
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
            text[n++] = c;
        } else {
            constexpr char hex[] = "0123456789abcdef";
            text[n++] = '\\';
            text[n++] = 'x';
            text[n++] = hex[u >> 4];
            text[n++] = hex[u & 0xf];
        }
        text[n++] = '\'';
        return fail({text, n});
    }

    phase phase_ = phase::start;
    std::size_t pos_ = 0;      // bytes of the request taken so far
    std::size_t scanned_ = 0;  // bytes searched for a newline so far
    std::size_t args_expected_ = 0;
    std::size_t args_count_ = 0;
    std::size_t bulk_size_ = 0;
    std::array<arg_span, args_max> spans_{};
    std::array<std::string_view, args_max> views_{};
    std::size_t views_count_ = 0;
    std::array<char, 80> error_{};
    std::size_t error_size_ = 0;
};

// One connection's input: a buffer of fixed capacity (allocated once, here)
// and the parser over it. Use: read into writable(), commit() what arrived,
// then call next() until it is not complete.
class request_buffer {
public:
    explicit request_buffer(std::size_t capacity = connection_buffer_bytes)
        : data_(std::make_unique_for_overwrite<char[]>(capacity)), capacity_(capacity) {
        PAXOS_ASSERT(capacity >= connection_buffer_bytes);
    }

    // Free space after the buffered bytes. Moves a partial request to the
    // front first, which invalidates the views of the last request.
    [[nodiscard]] std::span<char> writable() noexcept {
        drop_returned();
        if (begin_ > 0) {
            std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        // The bounds refuse any request before it fills the buffer.
        PAXOS_ASSERT(end_ < capacity_);
        return {data_.get() + end_, capacity_ - end_};
    }
    void commit(std::size_t n) noexcept {
        PAXOS_ASSERT(n <= capacity_ - end_);
        end_ += n;
    }

    // The next whole request (complete: args() holds it until the next call
    // of next() or writable()), incomplete, or error. Never returns empty.
    [[nodiscard]] parse_status next() noexcept {
        drop_returned();
        for (std::size_t round = 0; round <= capacity_; ++round) {  // each round takes a byte
            const parse_result r = parser_.parse({data_.get() + begin_, end_ - begin_});
            if (r.status == parse_status::empty) {
                begin_ += r.consumed;
                continue;
            }
            if (r.status == parse_status::complete) returned_ = r.consumed;
            if (r.status == parse_status::incomplete && begin_ == end_) begin_ = end_ = 0;
            return r.status;
        }
        PAXOS_ASSERT(false);
        return parse_status::error;
    }

    [[nodiscard]] std::span<const std::string_view> args() const noexcept { return parser_.args(); }
    [[nodiscard]] std::string_view error_text() const noexcept { return parser_.error_text(); }
    [[nodiscard]] std::size_t buffered() const noexcept { return end_ - begin_ - returned_; }
    void reset() noexcept {
        begin_ = end_ = returned_ = 0;
        parser_.reset();
    }

private:
    void drop_returned() noexcept {
        begin_ += returned_;
        returned_ = 0;
    }

    std::unique_ptr<char[]> data_;
    std::size_t capacity_;
    std::size_t begin_ = 0;     // first byte of the current request
    std::size_t end_ = 0;       // one past the last byte read
    std::size_t returned_ = 0;  // size of the request next() returned last
    request_parser parser_;
};

// Reply encoders over a caller's buffer. Each element is written whole or
// not at all; a reply that did not fit sets overflowed() (the server sizes
// its buffer for its largest reply, so that is a programmer error there).
// Simple strings and errors cannot carry CR or LF: those become spaces.
class reply_writer {
public:
    explicit reply_writer(std::span<char> out) noexcept : out_(out) {}

    bool simple(std::string_view s) noexcept { return line('+', s); }
    // `s` without the leading '-', e.g. "ERR syntax error".
    bool error(std::string_view s) noexcept { return line('-', s); }
    bool integer(std::int64_t v) noexcept {
        char digits[24];
        return line(':', format(v, digits));
    }
    bool bulk(std::string_view s) noexcept {
        char digits[24];
        const std::string_view n = format(static_cast<std::int64_t>(s.size()), digits);
        if (!fits(1 + n.size() + 2 + s.size() + 2)) return false;
        put("$", 1);
        put(n.data(), n.size());
        put("\r\n", 2);
        put(s.data(), s.size());
        put("\r\n", 2);
        return true;
    }
    bool null_bulk() noexcept { return raw("$-1\r\n"); }
    bool array(std::size_t count) noexcept {
        char digits[24];
        return line('*', format(static_cast<std::int64_t>(count), digits));
    }
    bool null_array() noexcept { return raw("*-1\r\n"); }

    [[nodiscard]] std::span<const char> bytes() const noexcept { return out_.first(size_); }
    [[nodiscard]] std::string_view view() const noexcept { return {out_.data(), size_}; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool overflowed() const noexcept { return overflowed_; }
    void clear() noexcept {
        size_ = 0;
        overflowed_ = false;
    }

private:
    static std::string_view format(std::int64_t v, char (&buf)[24]) noexcept {
        std::size_t i = sizeof buf;
        // Through the unsigned magnitude, so INT64_MIN has one too.
        std::uint64_t m = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
        do {
            buf[--i] = static_cast<char>('0' + m % 10);
            m /= 10;
        } while (m != 0);
        if (v < 0) buf[--i] = '-';
        return {buf + i, sizeof buf - i};
    }
    bool fits(std::size_t n) noexcept {
        if (out_.size() - size_ >= n) return true;
        overflowed_ = true;
        return false;
    }
    void put(const char* p, std::size_t n) noexcept {
        std::memcpy(out_.data() + size_, p, n);
        size_ += n;
    }
    bool raw(std::string_view s) noexcept {
        if (!fits(s.size())) return false;
        put(s.data(), s.size());
        return true;
    }
    bool line(char type, std::string_view s) noexcept {
        if (!fits(1 + s.size() + 2)) return false;
        out_[size_++] = type;
        for (const char c : s) out_[size_++] = c == '\r' || c == '\n' ? ' ' : c;
        put("\r\n", 2);
        return true;
    }

    std::span<char> out_;
    std::size_t size_ = 0;
    bool overflowed_ = false;
};

// The commands paxos_kv answers. Arity bounds count the name, as Redis's
// command table does; 0 as a maximum means "up to args_max".
enum class command : std::uint8_t { get, set, del, incr, ping, config, command };

struct command_info {
    std::string_view name;  // lower case, as Redis prints it in errors
    command id;
    std::uint8_t args_min;
    std::uint8_t args_max;
};

inline constexpr std::array<command_info, 7> command_table{{
    {"get", command::get, 2, 2},
    {"set", command::set, 3, 5},  // SET key value [IFEQ old]
    {"del", command::del, 2, 0},
    {"incr", command::incr, 2, 2},
    {"ping", command::ping, 1, 2},
    {"config", command::config, 2, 0},  // only CONFIG GET param...
    {"command", command::command, 1, 0},
}};

// The entry whose name equals `name` ignoring ASCII case, or nullptr.
[[nodiscard]] constexpr const command_info* find_command(std::string_view name) noexcept {
    for (const command_info& c : command_table) {
        if (iequals(c.name, name)) return &c;
    }
    return nullptr;
}

// Redis 7's text: "ERR unknown command 'x', with args beginning with: 'a' 'b' ",
// with the name and the arguments cut to 128 bytes each in total.
inline void write_unknown_command(std::span<const std::string_view> args,
                                  reply_writer& out) noexcept {
    constexpr std::size_t shown_max = 128;
    char text[64 + 2 * shown_max + args_max * 3];
    std::size_t n = 0;
    const auto add = [&](std::string_view s) {
        std::memcpy(text + n, s.data(), s.size());
        n += s.size();
    };
    add("ERR unknown command '");
    add(args[0].substr(0, shown_max));
    add("', with args beginning with: ");
    std::size_t shown = 0;
    for (std::size_t i = 1; i < args.size() && shown < shown_max; ++i) {
        const std::string_view a = args[i].substr(0, shown_max - shown);
        shown += a.size();
        add("'");
        add(a);
        add("' ");
    }
    (void)out.error({text, n});
}

// Looks a request up and checks its argument count. On nullptr, `out` holds
// the error reply (unknown command, wrong number of arguments).
[[nodiscard]] inline const command_info* resolve(std::span<const std::string_view> args,
                                                 reply_writer& out) noexcept {
    PAXOS_ASSERT(!args.empty());
    const command_info* c = find_command(args[0]);
    if (c == nullptr) {
        write_unknown_command(args, out);
        return nullptr;
    }
    const std::size_t max = c->args_max == 0 ? args_max : c->args_max;
    if (args.size() < c->args_min || args.size() > max) {
        char text[64] = "ERR wrong number of arguments for '";
        std::size_t n = std::strlen(text);
        std::memcpy(text + n, c->name.data(), c->name.size());
        n += c->name.size();
        std::memcpy(text + n, "' command", 9);
        (void)out.error({text, n + 9});
        return nullptr;
    }
    return c;
}

struct set_args {
    std::string_view key;
    std::string_view value;
    bool compare = false;  // IFEQ given: set only if key holds `expected`
    std::string_view expected;
};

// SET's arguments (the count already checked by resolve), or false with
// `-ERR syntax error` written, as Redis answers an option it does not know.
[[nodiscard]] inline bool parse_set(std::span<const std::string_view> args, set_args& set,
                                    reply_writer& out) noexcept {
    PAXOS_ASSERT(args.size() >= 3);
    set = {args[1], args[2], false, {}};
    if (args.size() == 3) return true;
    if (args.size() == 5 && iequals(args[3], "IFEQ")) {
        set.compare = true;
        set.expected = args[4];
        return true;
    }
    (void)out.error("ERR syntax error");
    return false;
}

// CONFIG GET as redis-benchmark asks it at start ("save", "appendonly"):
// name/value pairs for what paxos_kv can say (no RDB saves, no AOF: its
// durability is the replicated log), an empty array for anything else; other
// subcommands get Redis's "unknown subcommand" error.
inline void write_config(std::span<const std::string_view> args, reply_writer& out) noexcept {
    PAXOS_ASSERT(args.size() >= 2);
    if (!iequals(args[1], "GET")) {
        (void)out.error("ERR unknown subcommand. Try CONFIG GET.");
        return;
    }
    if (args.size() < 3) {
        (void)out.error("ERR wrong number of arguments for 'config|get' command");
        return;
    }
    std::size_t known = 0;
    for (std::size_t i = 2; i < args.size(); ++i) {
        known += iequals(args[i], "save") || iequals(args[i], "appendonly") ? 1 : 0;
    }
    (void)out.array(2 * known);
    for (std::size_t i = 2; i < args.size(); ++i) {
        if (iequals(args[i], "save")) {
            (void)out.bulk("save");
            (void)out.bulk("");
        } else if (iequals(args[i], "appendonly")) {
            (void)out.bulk("appendonly");
            (void)out.bulk("no");
        }
    }
}

}  // namespace paxos_kv::resp
