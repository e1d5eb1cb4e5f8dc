// tests/kv/test_resp_parse.cpp: the RESP2 request parser (examples/kv/resp.hpp):
// both request forms, pipelining, every split point, every bound on both
// sides, malformed input answered with Redis's texts, and a bounded fuzz run.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kv_support.hpp"

using kv_test::feed;
using kv_test::feed_bytewise;
using kv_test::multibulk;
using kv_test::outcome;
namespace resp = paxos_kv::resp;

using args = std::vector<std::string>;

TEST_CASE("multibulk requests come out whole, one per call") {
    const outcome o = feed("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$5\r\nhello\r\n");
    CHECK(o.error.empty());
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0] == args{"SET", "a", "hello"});

    // Binary-safe: CR, LF and NUL inside a bulk are data.
    const std::string binary("a\r\nb\0c", 6);
    const outcome b = feed(multibulk({"SET", "k", binary}));
    REQUIRE(b.requests.size() == 1);
    CHECK(b.requests[0][2] == binary);
    // An empty bulk is an argument.
    CHECK(feed("*2\r\n$3\r\nGET\r\n$0\r\n\r\n").requests == std::vector<args>{{"GET", ""}});
}

TEST_CASE("inline commands as redis-cli's telnet users type them") {
    CHECK(feed("PING\r\n").requests == std::vector<args>{{"PING"}});
    CHECK(feed("PING\n").requests == std::vector<args>{{"PING"}});
    CHECK(feed("GET k\r\n").requests == std::vector<args>{{"GET", "k"}});
    CHECK(feed("  set \t a   b \r\n").requests == std::vector<args>{{"set", "a", "b"}});
    CHECK(feed("GET\r\va\f\r\r\n").requests == std::vector<args>{{"GET", "a"}});  // isspace()
    // Blank lines and empty multibulks are skipped without a request.
    CHECK(feed("\r\n\n   \r\nPING\r\n*0\r\n*-1\r\nPING\r\n").requests ==
          std::vector<args>{{"PING"}, {"PING"}});
    CHECK(feed("\r\n\r\n").requests.empty());
}

TEST_CASE("pipelined requests: several in one read, mixed forms") {
    std::string in;
    for (int i = 0; i < 50; ++i) in += multibulk({"SET", "k" + std::to_string(i), "v"});
    in += "PING\r\n" + multibulk({"GET", "k7"}) + "INCR n\r\n";
    const outcome o = feed(in);
    CHECK(o.error.empty());
    REQUIRE(o.requests.size() == 53);
    CHECK(o.requests[49] == args{"SET", "k49", "v"});
    CHECK(o.requests[50] == args{"PING"});
    CHECK(o.requests[51] == args{"GET", "k7"});
    CHECK(o.requests[52] == args{"INCR", "n"});
}

TEST_CASE("a split at every byte offset, and byte by byte, gives the same requests") {
    const std::string in = multibulk({"SET", "key", "value", "IFEQ", "old"}) + "GET key\r\n" +
                           multibulk({"DEL", "a", "b"}) + "\r\n" + multibulk({"PING"}) + "PING\n" +
                           multibulk({"SET", std::string(300, 'x'), ""});
    const outcome whole = feed(in);
    REQUIRE(whole.error.empty());
    REQUIRE(whole.requests.size() == 6);
    for (std::size_t cut = 1; cut < in.size(); ++cut) {
        CAPTURE(cut);
        REQUIRE(feed(in, {cut}) == whole);
    }
    for (std::size_t a = 1; a < 60; ++a) {  // two cuts, across the first requests
        for (std::size_t b = a + 1; b < 60; ++b) REQUIRE(feed(in, {a, b}) == whole);
    }
    CHECK(feed_bytewise(in) == whole);
}

TEST_CASE("the parser's offsets survive the buffer moving between calls") {
    // Feed the same growing prefix from a fresh copy each time: nothing in the
    // parser may point into an old copy.
    const std::string in = multibulk({"SET", "abc", "defgh"});
    resp::request_parser p;
    resp::parse_result r;
    for (std::size_t n = 1; n <= in.size(); ++n) {
        const std::string copy = in.substr(0, n);
        r = p.parse(copy);
        if (n < in.size()) {
            REQUIRE(r.status == resp::parse_status::incomplete);
        } else {
            REQUIRE(r.status == resp::parse_status::complete);
            CHECK(r.consumed == in.size());
            REQUIRE(p.args().size() == 3);
            CHECK(p.args()[2] == "defgh");
            CHECK(p.args()[2].data() == copy.data() + in.size() - 7);
        }
    }
}

TEST_CASE("bounds: args_max arguments pass, one more is refused") {
    args most(resp::args_max, "a");
    CHECK(feed(multibulk(most)).requests.size() == 1);
    most.push_back("a");
    CHECK(feed(multibulk(most)).error == "Protocol error: invalid multibulk length");
    // Refused from the count line alone, before the arguments arrive.
    CHECK(feed("*17\r\n").error == "Protocol error: invalid multibulk length");
    CHECK(feed("*1048577\r\n").error == "Protocol error: invalid multibulk length");

    std::string words = "A";
    for (std::size_t i = 1; i < resp::args_max; ++i) words += " a";
    CHECK(feed(words + "\r\n").requests.size() == 1);
    CHECK(feed(words + " a\r\n").error == "Protocol error: too many arguments in inline request");
}

TEST_CASE("bounds: bulk_bytes_max passes, one more byte is refused from its header") {
    const std::string largest(resp::bulk_bytes_max, 'v');
    const outcome o = feed(multibulk({"SET", "k", largest}));
    REQUIRE(o.requests.size() == 1);
    CHECK(o.requests[0][2].size() == resp::bulk_bytes_max);
    const std::string header =
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + std::to_string(resp::bulk_bytes_max + 1) + "\r\n";
    CHECK(feed(header).error == "Protocol error: invalid bulk length");
    CHECK(feed("*1\r\n$-1\r\n").error == "Protocol error: invalid bulk length");
    CHECK(feed("*1\r\n$99999999999999999999999\r\n").error ==
          "Protocol error: invalid bulk length");
    // SET with a largest key, value and expected value fits in one request.
    const outcome cas = feed(multibulk({"SET", largest, largest, "IFEQ", largest}));
    CHECK(cas.error.empty());
    CHECK(cas.requests.size() == 1);
}

TEST_CASE("bounds: request_bytes_max over all arguments") {
    const std::string largest(resp::bulk_bytes_max, 'v');
    args many(resp::request_bytes_max / resp::bulk_bytes_max + 1, largest);
    CHECK(feed(multibulk(many)).error == "Protocol error: request too large");
}

TEST_CASE("bounds: inline_bytes_max, with or without its newline") {
    const std::string longest(resp::inline_bytes_max - 2, 'x');  // plus "\r\n" fills the bound
    const outcome o = feed("GET" + longest.substr(3) + "\r\n");
    CHECK(o.error.empty());
    CHECK(o.requests.size() == 1);
    const std::string too_long(resp::inline_bytes_max, 'x');
    CHECK(feed(too_long).error == "Protocol error: too big inline request");
    CHECK(feed(too_long + "\r\n").error == "Protocol error: too big inline request");
    // Refused as soon as the bound is crossed, without waiting for a newline.
    CHECK(feed_bytewise(too_long).error == "Protocol error: too big inline request");
}

TEST_CASE("malformed multibulk input gets Redis's protocol errors") {
    CHECK(feed("*x\r\n").error == "Protocol error: invalid multibulk length");
    CHECK(feed("*\r\n").error == "Protocol error: invalid multibulk length");
    CHECK(feed("*01\r\n").error == "Protocol error: invalid multibulk length");
    CHECK(feed("*1\n").error == "Protocol error: invalid multibulk length");
    CHECK(feed("*1 \r\n").error == "Protocol error: invalid multibulk length");
    CHECK(feed("*" + std::string(40, '1')).error == "Protocol error: too big mbulk count string");
    CHECK(feed("*1\r\n:3\r\n").error == "Protocol error: expected '$', got ':'");
    CHECK(feed("*1\r\n\r\n").error == "Protocol error: expected '$', got '\\x0d'");
    CHECK(feed("*1\r\n$x\r\n").error == "Protocol error: invalid bulk length");
    CHECK(feed("*1\r\n$\r\n").error == "Protocol error: invalid bulk length");
    CHECK(feed("*1\r\n$-0\r\n").error == "Protocol error: invalid bulk length");
    CHECK(feed("*1\r\n$" + std::string(40, '1')).error ==
          "Protocol error: too big bulk count string");
    CHECK(feed("*1\r\n$3\r\nGETxx").error == "Protocol error: expected CRLF after bulk string");
    CHECK(feed("*1\r\n$3\r\nGET\n\n").error == "Protocol error: expected CRLF after bulk string");
    CHECK(feed("GET \"a b\"\r\n").error ==
          "Protocol error: quoted inline arguments are not supported");
}

TEST_CASE("after an error the parser says so again, and requests before it stand") {
    const outcome o = feed("PING\r\n" + multibulk({"GET", "a"}) + "*1\r\n!junk\r\nPING\r\n");
    CHECK(o.requests == std::vector<args>{{"PING"}, {"GET", "a"}});
    CHECK(o.error == "Protocol error: expected '$', got '!'");

    resp::request_parser p;
    const std::string bad = "*z\r\n";
    CHECK(p.parse(bad).status == resp::parse_status::error);
    CHECK(p.failed());
    CHECK(p.parse(bad).status == resp::parse_status::error);
    CHECK(p.error_text() == "Protocol error: invalid multibulk length");
    p.reset();
    CHECK(p.error_text().empty());
    CHECK(p.parse(std::string("PING\r\n")).status == resp::parse_status::complete);
}

TEST_CASE("an incomplete request stays incomplete and asks for nothing") {
    for (const std::string& prefix :
         {std::string("*"), std::string("*3"), std::string("*3\r"), std::string("*3\r\n$"),
          std::string("*3\r\n$3\r\nSE"), std::string("*1\r\n$3\r\nSET\r"), std::string("PIN")}) {
        CAPTURE(prefix);
        const outcome o = feed(prefix);
        CHECK(o.error.empty());
        CHECK(o.requests.empty());
    }
}

// Random bytes from a small alphabet heavy in RESP's own characters, so most
// inputs get deep into the grammar. Property: the parser never fails an
// assertion, every request respects the bounds, and the outcome does not
// depend on how the bytes were cut.
TEST_CASE("fuzz: 20,000 random inputs, each also fed in random pieces") {
    std::mt19937_64 rng(0x5eed'0014);
    const std::string alphabet = "*$\r\n\r\n0123-1234 \tSETGETabc\"";
    std::size_t refused = 0;
    std::size_t parsed = 0;
    for (int run = 0; run < 20'000; ++run) {
        std::string in;
        const std::size_t size = rng() % 48;
        for (std::size_t i = 0; i < size; ++i) {
            in += rng() % 8 == 0 ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()];
        }
        if (rng() % 4 == 0) in = multibulk({"SET", "k", "v"}) + in;  // a valid start
        const outcome whole = feed(in);
        std::vector<std::size_t> cuts;
        for (std::size_t i = 1; i < in.size(); ++i) {
            if (rng() % 3 == 0) cuts.push_back(i);
        }
        REQUIRE(feed(in, cuts) == whole);
        refused += whole.error.empty() ? 0 : 1;
        parsed += whole.requests.size();
    }
    // The alphabet reaches both outcomes often (guards against a fuzz run
    // that only ever exercises one path).
    CHECK(refused > 1000);
    CHECK(parsed > 1000);
}
