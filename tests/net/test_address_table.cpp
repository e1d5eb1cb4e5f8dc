// The peer address table: from a config file and from --peer flags. Every
// error names the line or the flag and says what is wrong; nothing is
// defaulted.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <paxos/net/address_table.hpp>

namespace {

using paxos::node_id;
using paxos::net::parse_address_table;
using paxos::net::parse_peer_flags;
using paxos::net::peer_address;

std::string parse_error(std::string_view text, std::uint16_t self = 0, std::size_t max_nodes = 3) {
    const auto r = parse_address_table(text, node_id{self}, max_nodes, "peers.conf");
    CHECK_FALSE(r.ok());
    return r.error;
}

std::string flags_error(std::vector<const char*> args, std::uint16_t self = 0) {
    args.insert(args.begin(), "prog");
    const auto r = parse_peer_flags(static_cast<int>(args.size()), args.data(), node_id{self}, 3);
    CHECK_FALSE(r.ok());
    return r.error;
}

}  // namespace

TEST_CASE("address table: a file with comments, blank lines, IPv4 and IPv6") {
    const auto r = parse_address_table(
        "# the test cluster\n"
        "0 127.0.0.1:7000\n"
        "\n"
        "   1\t127.0.0.1:7001   # second node\r\n"
        "2 [::1]:7002",
        node_id{1}, 3, "peers.conf");
    REQUIRE(r.ok());
    CHECK(r.table.size() == 3);
    REQUIRE(r.table.find(node_id{1}) != nullptr);
    CHECK(r.table.find(node_id{1})->port() == 7001);
    CHECK(r.table.find(node_id{0})->to_string() == "127.0.0.1:7000");
    CHECK(r.table.find(node_id{2})->to_string() == "[::1]:7002");
    CHECK(r.table.find(node_id{2})->family() == AF_INET6);
    CHECK(r.table.find(node_id{3}) == nullptr);
}

TEST_CASE("address table: each file error names its line") {
    CHECK(parse_error("0 127.0.0.1:7000\n1 127.0.0.1:7001\n0 127.0.0.1:7002\n") ==
          "peers.conf:3: duplicate node id 0 (first on line 1)");
    CHECK(parse_error("0 127.0.0.1:7000\n1 127.0.0.1:7000\n") ==
          "peers.conf:2: address 127.0.0.1:7000 is already given to another node");
    CHECK(parse_error("0 127.0.0.1:0") ==
          "peers.conf:1: `127.0.0.1:0`: bad port: outside 1..65535");
    CHECK(parse_error("# x\n0 127.0.0.1:65536") ==
          "peers.conf:2: `127.0.0.1:65536`: bad port: outside 1..65535");
    CHECK(parse_error("0 127.0.0.1:70x") ==
          "peers.conf:1: `127.0.0.1:70x`: bad port: not a number (ports are 1..65535)");
    CHECK(parse_error("0 127.0.0.1:") == "peers.conf:1: `127.0.0.1:`: missing port after `:`");
    CHECK(parse_error("0 127.0.0.1") == "peers.conf:1: `127.0.0.1`: expected <address>:<port>");
    CHECK(parse_error("0 localhost:7000") ==
          "peers.conf:1: `localhost:7000`: not a numeric IPv4 or [IPv6] address (host names "
          "are not resolved)");
    CHECK(parse_error("0 ::1:7000") ==
          "peers.conf:1: `::1:7000`: an IPv6 address goes in brackets, as in [::1]:7001");
    CHECK(parse_error("0 [::1]7000") ==
          "peers.conf:1: `[::1]7000`: expected `:<port>` after the `]`");
    CHECK(parse_error("0 [::1:7000") ==
          "peers.conf:1: `[::1:7000`: an IPv6 address needs its closing `]`");
    CHECK(parse_error("0 [fe80::zz]:7000") ==
          "peers.conf:1: `[fe80::zz]:7000`: not a numeric IPv6 address");
    CHECK(parse_error("\n\n0\n") ==
          "peers.conf:3: expected `<id> <address>:<port>`, found only `0`");
    CHECK(parse_error("0 127.0.0.1:7000 7001") ==
          "peers.conf:1: unexpected `7001` after the address");
    CHECK(parse_error("zero 127.0.0.1:7000") == "peers.conf:1: node id `zero` is not a number");
    CHECK(parse_error("-1 127.0.0.1:7000") == "peers.conf:1: node id `-1` is not a number");
    CHECK(parse_error("0 127.0.0.1:7000\n3 127.0.0.1:7003") ==
          "peers.conf:2: node id 3 is beyond max_nodes 3 (ids are 0..2)");
    CHECK(parse_error("99999999999 127.0.0.1:7000") ==
          "peers.conf:1: node id 99999999999 is beyond max_nodes 3 (ids are 0..2)");
    CHECK(parse_error("007 127.0.0.1:7000") ==
          "peers.conf:1: node id 007 is beyond max_nodes 3 (ids are 0..2)");
}

TEST_CASE("address table: the node itself must be there, and within max_nodes") {
    CHECK(parse_error("0 127.0.0.1:7000\n1 127.0.0.1:7001\n", 2) ==
          "peers.conf: no address for this node (id 2)");
    CHECK(parse_error("", 0) == "peers.conf: no address for this node (id 0)");
    CHECK(parse_error("# nothing but comments\n", 0) ==
          "peers.conf: no address for this node (id 0)");
    CHECK(parse_error("0 127.0.0.1:7000\n", 5) ==
          "peers.conf: this node's id 5 is beyond max_nodes 3");
    CHECK(parse_error("0 127.0.0.1:7000\n", 0, 65) == "peers.conf: max_nodes 65 is outside 1..64");
    CHECK(parse_error("0 127.0.0.1:7000\n", 0, 0) == "peers.conf: max_nodes 0 is outside 1..64");
}

TEST_CASE("address table: --peer flags, both spellings, other arguments left alone") {
    std::vector<const char*> args{
        "prog",   "--peer",      "0=127.0.0.1:7000", "--verbose", "--peer=1=127.0.0.1:7001",
        "--peer", "2=[::1]:7002"};
    const auto r = parse_peer_flags(static_cast<int>(args.size()), args.data(), node_id{2}, 3);
    REQUIRE(r.ok());
    CHECK(r.table.size() == 3);
    CHECK(r.table.find(node_id{1})->to_string() == "127.0.0.1:7001");
    CHECK(r.table.find(node_id{2})->to_string() == "[::1]:7002");
}

TEST_CASE("address table: each flag error names its argument") {
    CHECK(flags_error({"--peer"}) == "argument 1 (--peer): missing ID=ADDRESS:PORT");
    CHECK(flags_error({"--peer", "0:127.0.0.1:7000"}) ==
          "argument 2 (--peer 0:127.0.0.1:7000): expected ID=ADDRESS:PORT");
    CHECK(flags_error({"--peer", "0=127.0.0.1:7000", "--peer", "0=127.0.0.1:7001"}) ==
          "argument 4 (--peer 0=127.0.0.1:7001): duplicate node id 0 (first on argument 2)");
    CHECK(flags_error({"--peer=1=127.0.0.1:65536"}) ==
          "argument 1 (--peer=1=127.0.0.1:65536): `127.0.0.1:65536`: bad port: outside "
          "1..65535");
    CHECK(flags_error({"--peer=7=127.0.0.1:7007"}) ==
          "argument 1 (--peer=7=127.0.0.1:7007): node id 7 is beyond max_nodes 3 (ids are 0..2)");
    CHECK(flags_error({"--peer", "1=127.0.0.1:7001"}, 0) ==
          "--peer: no address for this node (id 0)");
    CHECK(flags_error({}, 0) == "--peer: no address for this node (id 0)");
}

TEST_CASE("address table: loaded from a file; a missing file says why") {
    char path[] = "/tmp/paxos_net_peers_XXXXXX";
    const int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    const std::string text = "# peers\n0 127.0.0.1:7000\n1 127.0.0.1:7001\n";
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<::ssize_t>(text.size()));
    ::close(fd);
    const auto r = paxos::net::load_address_file(path, node_id{1}, 2);
    CHECK(r.ok());
    CHECK(r.table.size() == 2);
    const auto wrong = paxos::net::load_address_file(path, node_id{2}, 2);
    CHECK(wrong.error == std::string(path) + ": this node's id 2 is beyond max_nodes 2");
    ::unlink(path);

    const auto missing = paxos::net::load_address_file("/nonexistent/peers.conf", node_id{0}, 3);
    CHECK_FALSE(missing.ok());
    CHECK(missing.error == "/nonexistent/peers.conf: cannot open: No such file or directory");
}

TEST_CASE("address table: add() refuses what the parsers report") {
    paxos::net::address_table t(2);
    const peer_address a = peer_address::loopback(7000);
    CHECK(t.add(node_id{0}, a) == paxos::net::add_status::ok);
    CHECK(t.add(node_id{0}, peer_address::loopback(7001)) == paxos::net::add_status::duplicate_id);
    CHECK(t.add(node_id{1}, a) == paxos::net::add_status::duplicate_address);
    CHECK(t.add(node_id{2}, peer_address::loopback(7002)) ==
          paxos::net::add_status::id_beyond_max_nodes);
    CHECK(t.add(node_id{1}, peer_address{}) == paxos::net::add_status::invalid_address);
    CHECK(t.size() == 1);
}
