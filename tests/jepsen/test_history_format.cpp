// tests/jepsen/test_history_format.cpp: the one-op-per-line history format.
//
// A failing history must survive being saved, read by a person and checked
// again with the same verdict; a damaged file is refused with its line number.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include "linearizability.hpp"

namespace {

using jepsen::outcome;

std::vector<jepsen::operation> every_kind_of_op() {
    return {
        jepsen::make_write(1, "x", 10, 20, 5),
        jepsen::make_read(2, "x", 12, 30, 5),
        jepsen::make_read(4, "x", 1, 2, jepsen::value{}),
        jepsen::make_cas(3, "x", 15, 40, 5, 7, true),
        jepsen::make_cas(1, "x", 41, 50, 5, 9, false),
        jepsen::make_cas(3, "x", 45, jepsen::never, 7, jepsen::value{}, false, outcome::unknown),
        jepsen::make_write(5, "x", 60, 61, -3, outcome::fail),
        jepsen::make_write(5, "with space#and%", 62, 63, jepsen::value{}),
        jepsen::make_read(6, "", 62, jepsen::never, jepsen::value{}, outcome::unknown),
    };
}

bool same(const jepsen::operation& a, const jepsen::operation& b) {
    return a.client == b.client && a.key == b.key && a.kind == b.kind && a.written == b.written &&
           a.expected == b.expected && a.result == b.result && a.observed == b.observed &&
           a.cas_swapped == b.cas_swapped && a.invoke == b.invoke && a.complete == b.complete;
}

}  // namespace

TEST_CASE("history format: every kind of op round-trips") {
    const auto history = every_kind_of_op();
    const std::string text = jepsen::write_history(history);
    MESSAGE(text);
    CHECK(text.find("1 x 10 20 write 5 ok\n") != std::string::npos);
    CHECK(text.find("2 x 12 30 read ok 5\n") != std::string::npos);
    CHECK(text.find("3 x 15 40 cas 5 7 ok swapped\n") != std::string::npos);
    CHECK(text.find("3 x 45 - cas 7 nil unknown\n") != std::string::npos);
    CHECK(text.find("with%20space%23and%25") != std::string::npos);
    const auto parsed = jepsen::parse_history(text);
    REQUIRE(parsed.ok());
    REQUIRE(parsed.history.size() == history.size());
    for (std::size_t i = 0; i < history.size(); ++i) {
        CAPTURE(i);
        CHECK(same(parsed.history[i], history[i]));
    }
    CHECK(jepsen::write_history(parsed.history) == text);
}

TEST_CASE("history format: comments, blank lines and hand-written files") {
    const auto parsed = jepsen::parse_history(
        "# a stale read\n"
        "\n"
        "1 x 0 1 write 1 ok   # the first write\n"
        "1 x 2 3 write 2 ok\n"
        "2 x 4 5 read ok 1\n");
    REQUIRE(parsed.ok());
    CHECK(parsed.history.size() == 3);
    CHECK(jepsen::check(parsed.history).result == jepsen::verdict::not_linearizable);
}

TEST_CASE("history format: a damaged file is refused with the line that is wrong") {
    struct bad_case {
        const char* text;
        const char* error;
    };
    const bad_case cases[] = {
        {"1 x 0 1 write 1 ok\nbogus\n", "line 2: expected CLIENT"},
        {"1 x 0 1 frob 1 ok\n", "line 1: unknown op 'frob'"},
        {"1 x 0 1 write one ok\n", "line 1: bad value written 'one'"},
        {"1 x 0 1 read ok\n", "line 1: ok needs the result"},
        {"1 x 0 1 write 1 ok\n1 x 2 3 read ok\n", "line 2: ok needs the result"},
        {"1 x 0 1 cas 1 2 ok maybe\n", "line 1: a cas ok is 'swapped' or 'unchanged'"},
        {"1 x 0 1 write 1 perhaps\n", "line 1: unknown outcome 'perhaps'"},
        {"1 x 0 - write 1 ok\n", "line 1: a completed op needs a completion time"},
        {"1 x 0 5 write 1 unknown\n", "line 1: an unknown op has completion '-'"},
        {"1 x 0 1 write 1 ok extra\n", "line 1: trailing tokens"},
        {"-1 x 0 1 write 1 ok\n", "line 1: bad client id"},
        {"1 x%2 0 1 write 1 ok\n", "line 1: bad key"},
        {"# paxos linearizability history, format 2\n", "line 1: unsupported format"},
    };
    for (const bad_case& c : cases) {
        const std::string text = c.text;
        const auto parsed = jepsen::parse_history(text);
        CAPTURE(text);
        CAPTURE(parsed.error);
        CHECK_FALSE(parsed.ok());
        CHECK(parsed.history.empty());
        CHECK(parsed.error.find(c.error) == 0);
    }
}

TEST_CASE("history format: a failing history saved to a file checks the same again") {
    const std::vector<jepsen::operation> history = {
        jepsen::make_write(1, "k", 0, 100, 1), jepsen::make_read(2, "k", 10, 11, 1),
        jepsen::make_read(3, "k", 20, 21, jepsen::value{})};
    const auto first = jepsen::check(history);
    REQUIRE(first.result == jepsen::verdict::not_linearizable);

    const auto path = std::filesystem::temp_directory_path() /
                      ("paxos_jepsen_history_" + std::to_string(::getpid()) + ".txt");
    REQUIRE(jepsen::save_history(path.string(), history).empty());
    const auto loaded = jepsen::load_history(path.string());
    std::filesystem::remove(path);
    REQUIRE(loaded.ok());
    const auto again = jepsen::check(loaded.history);
    CHECK(again.result == first.result);
    CHECK(again.explanation == first.explanation);
    CHECK(jepsen::load_history(path.string()).error.find("cannot open") == 0);
}
