// tests/kv/test_resp_reply.cpp: the reply encoders, the command table and its
// errors, SET's compare-and-set form, CONFIG GET, and no allocation per
// request once a connection's buffer exists.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../support/counting_new.hpp"
#include "kv_support.hpp"

namespace resp = paxos_kv::resp;

namespace {

struct reply_buffer {
    std::array<char, 1024> bytes{};
    resp::reply_writer out{bytes};
};

std::vector<std::string_view> words(std::initializer_list<std::string_view> w) { return w; }

}  // namespace

TEST_CASE("reply encoders write RESP2's six forms") {
    reply_buffer r;
    CHECK(r.out.simple("OK"));
    CHECK(r.out.error("ERR syntax error"));
    CHECK(r.out.integer(0));
    CHECK(r.out.integer(-42));
    CHECK(r.out.integer(std::numeric_limits<std::int64_t>::min()));
    CHECK(r.out.integer(std::numeric_limits<std::int64_t>::max()));
    CHECK(r.out.bulk("hello"));
    CHECK(r.out.bulk(""));
    CHECK(r.out.null_bulk());
    CHECK(r.out.array(2));
    CHECK(r.out.null_array());
    CHECK(r.out.view() ==
          "+OK\r\n-ERR syntax error\r\n:0\r\n:-42\r\n:-9223372036854775808\r\n"
          ":9223372036854775807\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*2\r\n*-1\r\n");
    CHECK(!r.out.overflowed());
}

TEST_CASE("a simple string or error never carries CR or LF but a bulk carries anything") {
    reply_buffer r;
    CHECK(r.out.error("ERR a\r\nb"));
    CHECK(r.out.bulk(std::string_view("a\r\n\0", 4)));
    CHECK(r.out.view() == std::string_view("-ERR a  b\r\n$4\r\na\r\n\0\r\n", 21));
}

TEST_CASE("an element that does not fit is not written, and says so") {
    std::array<char, 8> small{};
    resp::reply_writer out(small);
    CHECK(out.simple("OK"));  // 5 bytes
    CHECK(!out.bulk("abc"));  // 9 more bytes: refused whole
    CHECK(out.overflowed());
    CHECK(out.view() == "+OK\r\n");
    out.clear();
    CHECK(!out.overflowed());
    CHECK(out.size() == 0);
}

TEST_CASE("commands are found without regard to case and others are unknown") {
    for (const std::string_view name :
         {"get", "GET", "Get", "sEt", "DEL", "incr", "PING", "config", "COMMAND"}) {
        CAPTURE(name);
        CHECK(resp::find_command(name) != nullptr);
    }
    CHECK(resp::find_command("GETX") == nullptr);
    CHECK(resp::find_command("") == nullptr);
    CHECK(resp::find_command("flushall") == nullptr);
    CHECK(resp::find_command("get")->id == resp::command::get);
    CHECK(resp::find_command("CoMmAnD")->id == resp::command::command);
}

TEST_CASE("resolve answers an unknown command and a wrong count as Redis 7 does") {
    reply_buffer r;
    auto args = words({"FLUSHALL", "a", "b"});
    CHECK(resp::resolve(args, r.out) == nullptr);
    CHECK(r.out.view() ==
          "-ERR unknown command 'FLUSHALL', with args beginning with: 'a' 'b' \r\n");

    r.out.clear();
    args = words({"GET"});
    CHECK(resp::resolve(args, r.out) == nullptr);
    CHECK(r.out.view() == "-ERR wrong number of arguments for 'get' command\r\n");
    r.out.clear();
    args = words({"ping", "a", "b"});
    CHECK(resp::resolve(args, r.out) == nullptr);
    CHECK(r.out.view() == "-ERR wrong number of arguments for 'ping' command\r\n");

    r.out.clear();
    args = words({"get", "k"});
    CHECK(resp::resolve(args, r.out)->id == resp::command::get);
    args = words({"PING"});
    CHECK(resp::resolve(args, r.out)->id == resp::command::ping);
    CHECK(r.out.size() == 0);
}

TEST_CASE("an unknown command's echo is cut, and a CR or LF in it cannot end the line") {
    reply_buffer r;
    const std::string name(500, 'n');
    const std::string arg(500, 'a');
    const std::vector<std::string_view> args{name, arg, "x\r\ny"};
    CHECK(resp::resolve(args, r.out) == nullptr);
    const std::string_view v = r.out.view();
    CHECK(v.size() < 400);
    CHECK(v.find('\n') == v.size() - 1);
    CHECK(v.starts_with("-ERR unknown command 'nnn"));
}

TEST_CASE("SET key value, SET key value IFEQ old, and anything else is a syntax error") {
    reply_buffer r;
    resp::set_args set;
    auto args = words({"SET", "k", "v"});
    REQUIRE(resp::parse_set(args, set, r.out));
    CHECK(set.key == "k");
    CHECK(set.value == "v");
    CHECK(!set.compare);

    args = words({"set", "k", "v", "ifeq", "old"});
    REQUIRE(resp::parse_set(args, set, r.out));
    CHECK(set.compare);
    CHECK(set.expected == "old");

    for (const auto& bad : {words({"SET", "k", "v", "NX"}), words({"SET", "k", "v", "EX", "10"}),
                            words({"SET", "k", "v", "IFEQ"})}) {
        r.out.clear();
        CHECK(!resp::parse_set(bad, set, r.out));
        CHECK(r.out.view() == "-ERR syntax error\r\n");
    }
    // Six arguments never reach parse_set: the table's bound answers first.
    r.out.clear();
    args = words({"SET", "k", "v", "IFEQ", "old", "x"});
    CHECK(resp::resolve(args, r.out) == nullptr);
    CHECK(r.out.view() == "-ERR wrong number of arguments for 'set' command\r\n");
}

TEST_CASE("CONFIG GET answers what redis-benchmark asks at start") {
    reply_buffer r;
    auto args = words({"CONFIG", "GET", "save"});
    resp::write_config(args, r.out);
    CHECK(r.out.view() == "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
    r.out.clear();
    args = words({"config", "get", "appendonly", "maxmemory"});
    resp::write_config(args, r.out);
    CHECK(r.out.view() == "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
    r.out.clear();
    args = words({"CONFIG", "SET", "save", ""});
    resp::write_config(args, r.out);
    CHECK(r.out.view().starts_with("-ERR unknown subcommand"));
    r.out.clear();
    args = words({"CONFIG", "GET"});
    resp::write_config(args, r.out);
    CHECK(r.out.view().starts_with("-ERR wrong number of arguments"));
}

TEST_CASE("no allocation per request once the connection buffer exists") {
    resp::request_buffer in;
    std::array<char, 4096> reply{};
    const std::string batch = kv_test::multibulk({"SET", "key", "value", "IFEQ", "old"}) +
                              "GET key\r\n" + kv_test::multibulk({"PING"}) + "NOPE x\r\n";
    std::size_t requests = 0;
    {
        allocation_region region;
        for (int round = 0; round < 1000; ++round) {
            for (std::size_t i = 0; i < batch.size(); i += 7) {  // pieces of 7 bytes
                const std::span<char> room = in.writable();
                const std::size_t n = std::min<std::size_t>({7, batch.size() - i, room.size()});
                std::memcpy(room.data(), batch.data() + i, n);
                in.commit(n);
                while (in.next() == resp::parse_status::complete) {
                    resp::reply_writer out(reply);
                    if (resp::resolve(in.args(), out) != nullptr) (void)out.simple("OK");
                    ++requests;
                }
            }
        }
        CHECK(region.count() == 0);
    }
    CHECK(requests == 4000);
    {
        allocation_region region;  // the counter sees a planted allocation
        resp::request_buffer another;
        CHECK(region.count() == 1);
    }
}
