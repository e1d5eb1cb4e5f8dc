// The table of message kinds (core/message.hpp) is the one description of
// what each kind carries: these tests check the README's table against it,
// and that validation and the codec keep to it.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <paxos/paxos.hpp>

#ifndef PAXOS_README
#error "PAXOS_README: the path of README.md"
#endif

namespace {

std::vector<std::string> cells(const std::string& row) {
    std::vector<std::string> out;
    std::string cell;
    for (std::size_t i = 1; i < row.size(); ++i) {
        if (row[i] == '|') {
            const auto b = cell.find_first_not_of(' ');
            const auto e = cell.find_last_not_of(' ');
            out.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
            cell.clear();
        } else {
            cell += row[i];
        }
    }
    return out;
}

const char* ballot_text(paxos::ballot_rule r) {
    switch (r) {
        case paxos::ballot_rule::sender: return "sender's own";
        case paxos::ballot_rule::receiver: return "receiver's";
        case paxos::ballot_rule::nonzero: return "nonzero";
        case paxos::ballot_rule::any: return "any";
        case paxos::ballot_rule::zero: return "zero";
    }
    return "?";
}

const char* backing_text(paxos::durable_backing b) {
    switch (b) {
        case paxos::durable_backing::none: return "none";
        case paxos::durable_backing::promise: return "promise";
        case paxos::durable_backing::vote: return "vote";
    }
    return "?";
}

std::string body_text(const paxos::message_kind_info& k) {
    std::string s;
    auto add = [&](const char* part) { s += (s.empty() ? "" : ", ") + std::string(part); };
    if (k.has_votes) add("votes");
    if (k.has_values) add("values");
    if (k.accepted_ballot) add("accepted ballot");
    if (k.has_position) add("snapshot position");
    if (k.has_bytes) add("bytes");
    return s.empty() ? "-" : s;
}

}  // namespace

TEST_CASE("message kinds: the README's table is the table in core/message.hpp") {
    std::ifstream in(PAXOS_README);
    REQUIRE(in.good());
    std::string line;
    bool in_section = false;
    std::vector<std::vector<std::string>> rows;
    while (std::getline(in, line)) {
        if (line == "## Messages") in_section = true;
        if (in_section && line.rfind("## ", 0) == 0 && line != "## Messages") break;
        if (in_section && line.rfind("| `", 0) == 0) rows.push_back(cells(line));
    }
    REQUIRE(rows.size() == paxos::message_kind_count);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const paxos::message_kind_info& k = paxos::message_kinds[i];
        INFO("row " << i << ": " << rows[i][0]);
        REQUIRE(rows[i].size() == 5);
        std::string name = "`";  // (built in steps: g++ 12 -O3 warns on "`" + string)
        name += k.name;
        name += '`';
        CHECK(rows[i][0] == name);
        CHECK(rows[i][1] == ballot_text(k.ballot));
        CHECK(rows[i][2] == backing_text(k.backing));
        if (!k.has_slot) {
            CHECK(rows[i][3] == "-");
        } else if (k.one_slot) {
            CHECK(rows[i][3] == "one slot");
        } else {
            CHECK(rows[i][3] != "-");
        }
        CHECK(rows[i][4] == body_text(k));
    }
}

TEST_CASE("message kinds: a body where the table has none is refused") {
    using replica = paxos::replica<paxos::multi_paxos<int, 3, 4, 2>>;
    const int one[] = {1};
    const paxos::vote_report<replica::ballot_type> vote[] = {{}};
    for (const paxos::message_kind_info& k : paxos::message_kinds) {
        INFO(k.name);
        replica r(replica::options{.self = paxos::node_id{1}});
        replica::message_type m;
        m.kind = k.kind;
        m.from = paxos::node_id{0};
        m.to = paxos::node_id{1};
        m.ballot = replica::ballot_type::from_raw(
            3 * 3 + (k.ballot == paxos::ballot_rule::receiver ? 1 : 0));
        if (!k.has_values) {
            m.values = one;
            CHECK(r.step(m).code == paxos::reason::malformed);
            m.values = {};
        }
        if (!k.has_votes) {
            m.votes = vote;
            CHECK(r.step(m).code == paxos::reason::malformed);
            m.votes = {};
        }
        if (!k.has_position) {
            paxos::snapshot_part part{};
            m.snapshot = &part;
            CHECK(r.step(m).code == paxos::reason::malformed);
            m.snapshot = nullptr;
        } else {
            // A snapshot kind without its body.
            CHECK(r.step(m).code == paxos::reason::malformed);
        }
        CHECK_FALSE(r.has_ready());
    }
}
