// tests/sm/test_sessions.cpp: the session table of paxos/sm/sessions.hpp.
//
// Each rule of exactly-once: a duplicate is answered from the table and never
// executed again, a stale number does nothing, an evicted or unknown client
// is refused (never executed), eviction follows commit order the same way on
// every table, the snapshot image round-trips and a damaged one is refused
// with the table unchanged, and replicas fed the same log agree byte for byte.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include <paxos/policies/random.hpp>
#include <paxos/sm/sessions.hpp>

namespace {

using paxos::slot_id;
using paxos::sm::client_id;
using paxos::sm::decision;
using paxos::sm::image_status;

using table = paxos::sm::session_table<4, 16>;

std::vector<std::byte> bytes_of(std::uint64_t v) {
    std::vector<std::byte> out(8);
    for (std::size_t i = 0; i < 8; ++i) out[i] = std::byte((v >> (8 * i)) & 0xFF);
    return out;
}

std::uint64_t value_of(std::span<const std::byte> b) {
    REQUIRE(b.size() == 8);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t(b[i]) << (8 * i);
    return v;
}

template <class Table>
std::vector<std::byte> image_of(const Table& t) {
    std::vector<std::byte> out(Table::image_bytes_max);
    const auto saved = t.save(out);
    REQUIRE(saved.status == image_status::ok);
    REQUIRE(saved.bytes == t.image_size());
    out.resize(saved.bytes);
    return out;
}

// Executes a command through the table: adds `amount` to `total` and replies
// with the new total. Returns the decision; counts real executions.
template <class Table>
paxos::sm::decide_result run(Table& t, client_id c, std::uint64_t seq, std::uint64_t slot,
                             std::uint64_t& total, std::uint64_t amount, int& executions) {
    return t.apply(c, seq, slot_id{slot}, [&](auto buffer) {
        ++executions;
        total += amount;
        const auto reply = bytes_of(total);
        std::memcpy(buffer.data(), reply.data(), reply.size());
        return reply.size();
    });
}

}  // namespace

TEST_CASE("sessions: ids are issued in registration order, the same on every replica") {
    table t;
    CHECK(t.register_client(slot_id{3}).client == client_id{1});
    CHECK(t.register_client(slot_id{3}).client == client_id{2});  // two in one batch
    CHECK(t.register_client(slot_id{7}).client == client_id{3});
    CHECK(t.size() == 3);
    CHECK(t.contains(client_id{2}));
    const auto s = t.session_of(client_id{3});
    REQUIRE(s.has_value());
    CHECK(s->last_seq == 0);
    CHECK(s->last_commit == slot_id{7});
}

TEST_CASE("sessions: a duplicate is answered from the table and never executed twice") {
    table t;
    const client_id c = t.register_client(slot_id{1}).client;
    std::uint64_t total = 0;
    int executions = 0;
    auto first = run(t, c, 1, 2, total, 5, executions);
    CHECK(first.what == decision::execute);
    CHECK(value_of(first.reply) == 5);
    // The same command chosen again (a retry to a new leader), twice.
    for (std::uint64_t slot : {3, 4}) {
        const auto again = run(t, c, 1, slot, total, 5, executions);
        CHECK(again.what == decision::duplicate);
        CHECK_FALSE(again.reply_lost);
        CHECK(value_of(again.reply) == 5);
    }
    CHECK(executions == 1);
    CHECK(total == 5);
    // The next number executes; the old reply is gone, the new one kept.
    CHECK(run(t, c, 2, 5, total, 1, executions).what == decision::execute);
    CHECK(value_of(t.decide(c, 2, slot_id{6}).reply) == 6);
    CHECK(executions == 2);
}

TEST_CASE("sessions: decide and save_reply, the same without a callback") {
    table t;
    const client_id c = t.register_client(slot_id{0}).client;
    auto d = t.decide(c, 1, slot_id{1});
    REQUIRE(d.what == decision::execute);
    const std::array<std::byte, 3> reply = {std::byte{1}, std::byte{2}, std::byte{3}};
    CHECK(t.save_reply(c, std::span<const std::byte>(reply)) == paxos::sm::reply_status::ok);
    d = t.decide(c, 1, slot_id{2});
    CHECK(d.what == decision::duplicate);
    CHECK(std::equal(d.reply.begin(), d.reply.end(), reply.begin(), reply.end()));
    // A typed reply, checked against ReplyBytesMax at compile time
    // (tests/compile_fail/session_reply_too_large.cpp shows the refusal).
    REQUIRE(t.decide(c, 2, slot_id{3}).executes());
    CHECK(t.save_reply(c, std::uint64_t{42}) == paxos::sm::reply_status::ok);
    CHECK(value_of(t.decide(c, 2, slot_id{4}).reply) == 42);
}

TEST_CASE("sessions: a reply too large is refused, and the command still never runs twice") {
    table t;
    const client_id c = t.register_client(slot_id{0}).client;
    REQUIRE(t.decide(c, 1, slot_id{1}).executes());
    const std::array<std::byte, table::reply_bytes_max + 1> big{};
    CHECK(t.save_reply(c, std::span<const std::byte>(big)) == paxos::sm::reply_status::too_large);
    const auto d = t.decide(c, 1, slot_id{2});
    CHECK(d.what == decision::duplicate);
    CHECK(d.reply_lost);
    CHECK(d.reply.empty());
    // The image keeps the loss, so a restored replica answers the same.
    table restored;
    CHECK(restored.load(image_of(t)) == image_status::ok);
    CHECK(restored.decide(c, 1, slot_id{3}).reply_lost);
}

TEST_CASE("sessions: stale numbers and unknown clients do nothing") {
    table t;
    const client_id c = t.register_client(slot_id{1}).client;
    std::uint64_t total = 0;
    int executions = 0;
    CHECK(run(t, c, 3, 2, total, 1, executions).what == decision::execute);  // gaps are allowed
    CHECK(run(t, c, 2, 3, total, 1, executions).what == decision::stale);
    CHECK(run(t, c, 0, 3, total, 1, executions).what == decision::stale);  // 0 is the registration
    CHECK(run(t, client_id{0}, 1, 3, total, 1, executions).what == decision::session_unknown);
    CHECK(run(t, client_id{9}, 1, 3, total, 1, executions).what == decision::session_unknown);
    CHECK(executions == 1);
    // The session is as the executed command left it.
    const auto s = t.session_of(c);
    REQUIRE(s.has_value());
    CHECK(s->last_seq == 3);
    CHECK(s->last_commit == slot_id{2});
    CHECK(value_of(s->reply) == 1);
}

TEST_CASE("sessions: a full table evicts the least recently committed session") {
    table t;  // room for 4
    const client_id a = t.register_client(slot_id{1}).client;
    const client_id b = t.register_client(slot_id{2}).client;
    const client_id c = t.register_client(slot_id{3}).client;
    const client_id d = t.register_client(slot_id{4}).client;
    std::uint64_t total = 0;
    int executions = 0;
    // a commits again, so b is now the least recent.
    REQUIRE(run(t, a, 1, 5, total, 1, executions).executes());
    auto r = t.register_client(slot_id{6});
    CHECK(r.evicted == b);
    CHECK(t.size() == 4);
    // A duplicate refreshes too: c answers a retry, so d goes next.
    REQUIRE(run(t, c, 1, 7, total, 1, executions).executes());
    REQUIRE(run(t, c, 1, 8, total, 1, executions).what == decision::duplicate);
    r = t.register_client(slot_id{9});
    CHECK(r.evicted == d);
    // The evicted clients are refused, not executed.
    const int before = executions;
    CHECK(run(t, b, 1, 10, total, 1, executions).what == decision::session_evicted);
    CHECK(run(t, d, 1, 10, total, 1, executions).what == decision::session_evicted);
    CHECK(executions == before);
    CHECK_FALSE(t.contains(b));
    // A fresh registration works as any other.
    const client_id b2 = t.register_client(slot_id{11}).client;
    CHECK(b2 == client_id{7});
    CHECK(run(t, b2, 1, 12, total, 1, executions).executes());
}

TEST_CASE("sessions: ties in commit order evict the smaller id") {
    paxos::sm::session_table<2, 8> t;
    const client_id x = t.register_client(slot_id{10}).client;  // one batch, one slot
    const client_id y = t.register_client(slot_id{10}).client;
    CHECK(t.register_client(slot_id{11}).evicted == x);
    CHECK(t.register_client(slot_id{12}).evicted == y);
}

TEST_CASE("sessions: the snapshot image round-trips") {
    table t;
    std::uint64_t total = 0;
    int executions = 0;
    for (std::uint64_t slot = 1; slot <= 6; ++slot) (void)t.register_client(slot_id{slot});
    REQUIRE(run(t, client_id{4}, 1, 7, total, 3, executions).executes());
    REQUIRE(run(t, client_id{6}, 2, 8, total, 4, executions).executes());
    const auto image = image_of(t);
    table restored;
    REQUIRE(restored.load(image) == image_status::ok);
    CHECK(image_of(restored) == image);
    CHECK(restored.size() == t.size());
    // Same answers afterwards, and the same next id and eviction.
    CHECK(value_of(restored.decide(client_id{6}, 2, slot_id{9}).reply) == 7);
    CHECK(restored.decide(client_id{1}, 1, slot_id{9}).what == decision::session_evicted);
    (void)t.decide(client_id{6}, 2, slot_id{9});
    (void)t.decide(client_id{1}, 1, slot_id{9});
    const auto r1 = t.register_client(slot_id{10});
    const auto r2 = restored.register_client(slot_id{10});
    CHECK(r1.client == r2.client);
    CHECK(r1.evicted == r2.evicted);
    CHECK(image_of(t) == image_of(restored));
    // An empty table round-trips too.
    table empty;
    table other;
    REQUIRE(other.load(image_of(empty)) == image_status::ok);
    CHECK(other.size() == 0);
}

TEST_CASE("sessions: a truncated or corrupt image is refused and the table is unchanged") {
    table source;
    std::uint64_t total = 0;
    int executions = 0;
    for (std::uint64_t slot = 1; slot <= 3; ++slot) (void)source.register_client(slot_id{slot});
    REQUIRE(run(source, client_id{2}, 1, 4, total, 9, executions).executes());
    const auto image = image_of(source);

    table target;
    (void)target.register_client(slot_id{1});
    const auto before = image_of(target);

    SUBCASE("every truncation") {
        for (std::size_t n = 0; n < image.size(); ++n) {
            CAPTURE(n);
            const auto st = target.load(std::span<const std::byte>(image).first(n));
            CHECK(st != image_status::ok);
            if (n < table::image_header_bytes + 4) CHECK(st == image_status::truncated);
        }
        auto longer = image;
        longer.push_back(std::byte{0});
        CHECK(target.load(longer) == image_status::size_mismatch);
    }
    SUBCASE("every single-bit flip") {
        for (std::size_t bit = 0; bit < image.size() * 8; ++bit) {
            auto damaged = image;
            damaged[bit / 8] ^= std::byte(1u << (bit % 8));
            CAPTURE(bit);
            CHECK(target.load(damaged) != image_status::ok);
        }
    }
    SUBCASE("the reasons") {
        auto damaged = image;
        damaged[0] = std::byte{'Q'};
        CHECK(target.load(damaged) == image_status::bad_magic);
        damaged = image;
        damaged[4] = std::byte{2};
        CHECK(target.load(damaged) == image_status::unsupported_version);
        damaged = image;
        damaged[40] ^= std::byte{0x10};
        CHECK(target.load(damaged) == image_status::checksum_mismatch);
        // A valid image from a larger table does not fit a smaller one.
        paxos::sm::session_table<8, 16> bigger;
        for (std::uint64_t slot = 1; slot <= 5; ++slot) (void)bigger.register_client(slot_id{slot});
        CHECK(target.load(image_of(bigger)) == image_status::too_many_sessions);
        paxos::sm::session_table<4, 32> wider;
        const client_id w = wider.register_client(slot_id{1}).client;
        REQUIRE(wider.decide(w, 1, slot_id{2}).executes());
        const std::array<std::byte, 20> reply{};
        REQUIRE(wider.save_reply(w, std::span<const std::byte>(reply)) ==
                paxos::sm::reply_status::ok);
        CHECK(target.load(image_of(wider)) == image_status::reply_too_large);
        // Fields that contradict each other under a valid checksum: the
        // second session's id made equal to the first's.
        damaged = image;
        const std::size_t second = table::image_header_bytes + table::image_session_bytes;
        for (std::size_t i = 0; i < 8; ++i)
            damaged[second + i] = damaged[table::image_header_bytes + i];
        const std::uint32_t crc =
            paxos::detail::crc32c(std::span<const std::byte>(damaged).first(damaged.size() - 4));
        for (std::size_t i = 0; i < 4; ++i)
            damaged[damaged.size() - 4 + i] = std::byte((crc >> (8 * i)) & 0xFF);
        CHECK(target.load(damaged) == image_status::inconsistent);
    }
    CHECK(image_of(target) == before);
    CHECK(target.load(image) == image_status::ok);  // and the good image still loads
    CHECK(image_of(target) == image);
}

namespace {

// One entry of a log: a registration, or a command (client, seq, amount).
struct entry {
    bool is_registration = false;
    client_id client;
    std::uint64_t seq = 0;
    std::uint64_t amount = 0;
};

// A replica: the session table and the state machine it guards.
struct replica {
    paxos::sm::session_table<8, 8> sessions;
    std::uint64_t total = 0;
    std::map<std::pair<std::uint64_t, std::uint64_t>, int> executed;  // (client, seq) -> count
    std::vector<decision> decisions;

    void apply(std::uint64_t slot, const entry& e) {
        if (e.is_registration) {
            (void)sessions.register_client(slot_id{slot});
            return;
        }
        const auto d = sessions.apply(e.client, e.seq, slot_id{slot}, [&](auto buffer) {
            total += e.amount;
            ++executed[{e.client.value, e.seq}];
            const auto reply = bytes_of(total);
            std::memcpy(buffer.data(), reply.data(), reply.size());
            return reply.size();
        });
        decisions.push_back(d.what);
    }
};

// A log of chosen slots, each a batch of 1 to 3 entries: registrations
// (enough to evict), commands retried 1 to 3 times, stale retries of older
// numbers, and commands from ids that were evicted or never issued.
std::vector<std::vector<entry>> make_log(std::uint64_t seed, std::size_t slots) {
    paxos::prng rng(seed);
    std::vector<std::vector<entry>> log;
    std::uint64_t registrations = 0;
    std::map<std::uint64_t, std::uint64_t> next_seq;  // the clients' own counters
    for (std::size_t s = 0; s < slots; ++s) {
        std::vector<entry> batch;
        const std::size_t n = 1 + rng.below(3);
        for (std::size_t k = 0; k < n; ++k) {
            entry e;
            const auto pick = rng.below(100);
            if (pick < 10 || registrations == 0) {
                e.is_registration = true;
                ++registrations;
            } else {
                e.client = client_id{1 + rng.below(registrations + 2)};  // some never issued
                std::uint64_t& seq = next_seq[e.client.value];
                if (pick < 80 || seq == 0) ++seq;  // a new command, or a retry of the last
                e.seq = pick < 90 || seq < 2 ? seq : seq - 1 - rng.below(seq - 1);  // or stale
                e.amount = 1 + rng.below(1000);
            }
            batch.push_back(e);
            const auto copies = rng.below(3);  // the same command chosen again later
            for (std::uint64_t c = 0; c < copies && !e.is_registration; ++c) batch.push_back(e);
        }
        log.push_back(batch);
    }
    return log;
}

}  // namespace

TEST_CASE("sessions: replicas applying the same log agree byte for byte") {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        CAPTURE(seed);
        const auto log = make_log(seed, 400);
        std::array<replica, 3> replicas;
        std::vector<std::byte> buffer(decltype(replica{}.sessions)::image_bytes_max);
        for (std::size_t slot = 0; slot < log.size(); ++slot) {
            for (auto& r : replicas)
                for (const entry& e : log[slot]) r.apply(slot, e);
            // Replica 2 restarts from its own snapshot now and then (its table
            // is rebuilt in id order, a different layout from the others'),
            if (slot % 37 == 0) {
                const auto saved = replicas[2].sessions.save(buffer);
                REQUIRE(saved.status == image_status::ok);
                decltype(replica{}.sessions) fresh;
                REQUIRE(fresh.load(std::span<const std::byte>(buffer).first(saved.bytes)) ==
                        image_status::ok);
                replicas[2].sessions = fresh;
            }
            // and after every slot all three images are the same bytes.
            const auto image = image_of(replicas[0].sessions);
            CHECK(image_of(replicas[1].sessions) == image);
            CHECK(image_of(replicas[2].sessions) == image);
        }
        std::map<decision, int> kinds;
        for (const auto d : replicas[0].decisions) ++kinds[d];
        for (const auto& r : replicas) {
            CHECK(r.decisions == replicas[0].decisions);
            CHECK(r.total == replicas[0].total);
            for (const auto& [command, count] : r.executed) CHECK(count == 1);  // exactly once
        }
        // The log exercises every decision.
        CHECK(kinds[decision::execute] > 0);
        CHECK(kinds[decision::duplicate] > 0);
        CHECK(kinds[decision::stale] > 0);
        CHECK(kinds[decision::session_unknown] > 0);
        CHECK(kinds[decision::session_evicted] > 0);
    }
}

namespace readme {

// The README's "Exactly-once sessions" example, with the application's parts
// (command, answer) filled in so it compiles and runs here.
struct command {
    bool is_registration = false;
    client_id client;
    std::uint64_t seq = 0;
    std::uint64_t amount = 0;
};
std::uint64_t counter = 0;
std::vector<decision> answers;
client_id last_id;
void answer(const command&, client_id id) { last_id = id; }
void answer(const command&, decision d, std::span<const std::byte>) { answers.push_back(d); }

paxos::sm::session_table<1024, 64> sessions;  // 1,024 clients, replies up to 64 bytes

void apply(paxos::slot_id slot, const command& c) {  // on every replica, in log order
    if (c.is_registration) {
        const auto r = sessions.register_client(slot);  // may evict (r.evicted)
        return answer(c, r.client);                     // the client's id from now on
    }
    const auto d = sessions.apply(c.client, c.seq, slot, [&](std::span<std::byte, 64> reply) {
        counter += c.amount;  // runs at most once per (client, seq)
        std::memcpy(reply.data(), &counter, sizeof counter);
        return sizeof counter;  // the reply's length, kept to answer retries
    });
    // execute or duplicate: d.reply; stale: ignore; session_evicted or
    // session_unknown: not executed, the client must register again.
    answer(c, d.what, d.reply);
}

}  // namespace readme

TEST_CASE("sessions: the README example") {
    readme::apply(slot_id{0}, readme::command{true, client_id{}, 0, 0});
    const client_id me = readme::last_id;
    readme::apply(slot_id{1}, readme::command{false, me, 1, 5});
    readme::apply(slot_id{2}, readme::command{false, me, 1, 5});  // a retry
    readme::apply(slot_id{3}, readme::command{false, client_id{77}, 1, 5});
    CHECK(readme::counter == 5);
    CHECK(readme::answers ==
          std::vector{decision::execute, decision::duplicate, decision::session_unknown});
}
