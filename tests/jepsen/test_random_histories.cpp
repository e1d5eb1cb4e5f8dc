// tests/jepsen/test_random_histories.cpp: histories of a real sequential
// execution, with random overlap, must pass; the same with one read corrupted
// must fail; and a few thousand ops per key with 5 clients must check fast.
//
// The generator runs clients against one real register per key: each op gets
// an invoke time, an effect time strictly inside its interval (or, for an
// unknown op that took effect, any time after invoke) and a completion time;
// the register applies the ops in effect-time order and that fixes every
// result. So the effect times are a witness linearization: a checker that
// says "not linearizable" here is wrong.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <paxos/policies/random.hpp>

#include "linearizability.hpp"

namespace {

using jepsen::op_kind;
using jepsen::outcome;

struct gen_options {
    std::size_t clients = 5;  // per key, at most 8
    std::size_t ops_per_client = 60;
    std::uint64_t unknown_percent = 4;
    std::uint64_t fail_percent = 3;
    std::size_t keys = 1;
};

struct generated {
    std::vector<jepsen::operation> history;
};

struct pending {
    std::size_t index = 0;  // into the history
    std::int64_t effect = 0;
};

// One key's ops, appended to `out`. Values written are unique per key, so a
// corrupted read can be made certainly illegal. Ops are generated in invoke
// order across clients, so a cas compares with a value written recently.
void generate_key(paxos::prng& rng, const gen_options& opt, const std::string& key,
                  std::vector<jepsen::operation>& out, std::uint64_t& next_client) {
    struct client_state {
        std::uint64_t id = 0;
        std::int64_t free_at = 0;  // when its previous op completed (or it gave up)
        std::size_t ops = 0;
    };
    std::vector<client_state> clients(opt.clients);
    for (auto& c : clients) {
        c.id = next_client++;
        c.free_at = static_cast<std::int64_t>(rng.below(10));
    }
    std::vector<pending> effects;
    std::int64_t next_value = 1;
    std::vector<std::int64_t> recent = {0};
    while (true) {
        // The idle client that is free first (lowest lane on ties) goes next.
        std::size_t c = clients.size();
        for (std::size_t i = 0; i < clients.size(); ++i) {
            if (clients[i].ops == opt.ops_per_client) continue;
            if (c == clients.size() || clients[i].free_at < clients[c].free_at) c = i;
        }
        if (c == clients.size()) break;
        client_state& cl = clients[c];
        // Scaled times: every instant is distinct across clients (lane c of 8).
        auto at = [&](std::int64_t time) { return time * 8 + static_cast<std::int64_t>(c); };
        jepsen::operation op;
        op.client = cl.id;
        op.key = key;
        const std::int64_t invoke = cl.free_at + static_cast<std::int64_t>(rng.below(4));
        const std::int64_t effect = invoke + 1 + static_cast<std::int64_t>(rng.below(12));
        const std::int64_t complete = effect + 1 + static_cast<std::int64_t>(rng.below(12));
        const std::uint64_t kind = rng.below(100);
        if (kind < 40) {
            op.kind = op_kind::read;
        } else if (kind < 75) {
            op.kind = op_kind::write;
            op.written = next_value++;
            recent.push_back(*op.written);
        } else {
            op.kind = op_kind::cas;
            const std::size_t back = rng.below(std::min<std::size_t>(3, recent.size()));
            op.expected = recent[recent.size() - 1 - back];
            op.written = next_value++;
            recent.push_back(*op.written);
        }
        op.invoke = at(invoke);
        op.complete = at(complete);
        const std::uint64_t fate = rng.below(100);
        bool takes_effect = true;
        std::int64_t effect_at = at(effect);
        if (fate < opt.unknown_percent) {
            op.result = outcome::unknown;
            op.complete = jepsen::never;
            takes_effect = rng.below(2) == 0;
            effect_at = at(effect + static_cast<std::int64_t>(rng.below(200)));
            cl.id = next_client++;  // as in Jepsen, the client's next ops get a new id
        } else if (fate < opt.unknown_percent + opt.fail_percent) {
            op.result = outcome::fail;
            takes_effect = false;
        }
        cl.free_at = complete;
        ++cl.ops;
        out.push_back(op);
        if (takes_effect) effects.push_back({out.size() - 1, effect_at});
    }
    // The real register, in effect-time order.
    std::sort(effects.begin(), effects.end(),
              [](const pending& a, const pending& b) { return a.effect < b.effect; });
    jepsen::value reg;
    for (const pending& p : effects) {
        jepsen::operation& op = out[p.index];
        switch (op.kind) {
            case op_kind::read: op.observed = reg; break;
            case op_kind::write: reg = op.written; break;
            case op_kind::cas:
                op.cas_swapped = reg == op.expected;
                if (op.cas_swapped) reg = op.written;
                break;
        }
    }
}

std::vector<jepsen::operation> generate(std::uint64_t seed, const gen_options& opt) {
    paxos::prng rng(seed);
    std::vector<jepsen::operation> history;
    std::uint64_t next_client = 1;
    for (std::size_t k = 0; k < opt.keys; ++k)
        generate_key(rng, opt, "key" + std::to_string(k), history, next_client);
    std::stable_sort(history.begin(), history.end(),
                     [](const auto& a, const auto& b) { return a.invoke < b.invoke; });
    return history;
}

bool sets_value(const jepsen::operation& op) {
    if (op.result != outcome::ok) return false;
    return op.kind == op_kind::write || (op.kind == op_kind::cas && op.cas_swapped);
}

// Corrupts one ok read R to return the value of a write W that was
// overwritten by a write X entirely between them in real time
// (W completes < X invokes, X completes < R invokes). Values are unique, so
// no linearization lets R see W's value. Returns R's index, or nothing.
std::optional<std::size_t> corrupt_one_read(std::vector<jepsen::operation>& h, paxos::prng& rng) {
    std::vector<std::size_t> reads;
    for (std::size_t i = 0; i < h.size(); ++i)
        if (h[i].kind == op_kind::read && h[i].result == outcome::ok) reads.push_back(i);
    for (std::size_t attempt = 0; attempt < 100 && !reads.empty(); ++attempt) {
        const std::size_t r = reads[rng.below(reads.size())];
        std::vector<std::size_t> candidates;
        for (std::size_t x = 0; x < h.size(); ++x) {
            if (h[x].key != h[r].key || !sets_value(h[x]) || h[x].complete >= h[r].invoke) continue;
            for (std::size_t w = 0; w < h.size(); ++w) {
                if (h[w].key != h[r].key || !sets_value(h[w])) continue;
                if (h[w].complete < h[x].invoke && h[w].written != h[r].observed)
                    candidates.push_back(w);
            }
        }
        if (candidates.empty()) continue;
        h[r].observed = h[candidates[rng.below(candidates.size())]].written;
        return r;
    }
    return std::nullopt;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("random histories of a real execution are linearizable") {
    std::size_t ops = 0;
    for (std::uint64_t seed = 1; seed <= 60; ++seed) {
        CAPTURE(seed);
        gen_options opt;
        opt.keys = 1 + seed % 3;
        opt.clients = 2 + seed % 5;
        const auto h = generate(seed, opt);
        ops += h.size();
        const auto report = jepsen::check(h);
        INFO(report.summary());
        REQUIRE(report.result == jepsen::verdict::linearizable);
        CHECK(report.keys.size() == opt.keys);
    }
    MESSAGE(ops << " ops checked over 60 seeds");
}

TEST_CASE("random histories with one read corrupted are refused") {
    std::size_t corrupted = 0;
    for (std::uint64_t seed = 1; seed <= 60; ++seed) {
        CAPTURE(seed);
        gen_options opt;
        opt.keys = 1 + seed % 3;
        opt.clients = 2 + seed % 5;
        auto h = generate(seed, opt);
        REQUIRE(jepsen::check(h).result == jepsen::verdict::linearizable);
        paxos::prng rng(seed * 7919);
        const auto r = corrupt_one_read(h, rng);
        if (!r) continue;
        ++corrupted;
        const auto report = jepsen::check(h);
        INFO(jepsen::describe(h[*r]));
        REQUIRE(report.result == jepsen::verdict::not_linearizable);
        const auto* bad = report.first_failure();
        REQUIRE(bad != nullptr);
        CHECK(bad->key == h[*r].key);
        // Only the corrupted key fails.
        for (const auto& k : report.keys)
            if (k.key != h[*r].key) CHECK(k.result == jepsen::verdict::linearizable);
        // And the explanation survives a round trip through the file format.
        if (seed % 10 == 0) {
            CHECK(jepsen::check(jepsen::parse_history(jepsen::write_history(h)).history)
                      .explanation == report.explanation);
        }
    }
    CHECK(corrupted >= 50);
}

TEST_CASE("performance: a few thousand ops per key with 5 clients check well under a second") {
    gen_options opt;
    opt.clients = 5;
    opt.ops_per_client = 700;  // 3,500 ops per key
    opt.keys = 2;
    opt.unknown_percent = 1;  // 35 timeouts per key, half of which took effect
    auto h = generate(42, opt);
    auto start = std::chrono::steady_clock::now();
    const auto report = jepsen::check(h);
    const double pass_s = seconds_since(start);
    REQUIRE(report.result == jepsen::verdict::linearizable);
    std::uint64_t steps = 0;
    for (const auto& k : report.keys) steps += k.steps;

    paxos::prng rng(4242);
    REQUIRE(corrupt_one_read(h, rng).has_value());
    start = std::chrono::steady_clock::now();
    const auto refused = jepsen::check(h);
    const double fail_s = seconds_since(start);
    REQUIRE(refused.result == jepsen::verdict::not_linearizable);
    std::uint64_t refused_steps = 0;
    for (const auto& k : refused.keys) refused_steps += k.steps;

    MESSAGE(h.size() << " ops on " << opt.keys << " keys, 5 clients per key: linearizable in "
                     << pass_s << " s (" << steps << " steps); with one read corrupted, refused in "
                     << fail_s << " s (" << refused_steps << " steps)");
    // Generous for Debug and sanitizer builds; the figure is in the message.
    CHECK(pass_s < 1.0);
    CHECK(fail_s < 1.0);
}

namespace {

// The definition, by brute force: is there an order of all completed ops and
// some unknown ones that respects real time and that the register explains?
bool brute_force_linearizable(const std::vector<jepsen::operation>& h) {
    std::vector<std::size_t> live;
    for (std::size_t i = 0; i < h.size(); ++i) {
        if (h[i].result == outcome::fail) continue;
        if (h[i].result == outcome::unknown && h[i].kind == op_kind::read) continue;
        live.push_back(i);
    }
    std::vector<bool> placed(h.size(), false);
    // Depth-first over orders; `state` is the register after the ops placed.
    auto search = [&](auto& self, jepsen::value state) -> bool {
        bool all_completed = true;
        for (const std::size_t i : live)
            if (!placed[i] && h[i].result == outcome::ok) all_completed = false;
        if (all_completed) return true;
        for (const std::size_t i : live) {
            if (placed[i]) continue;
            // Real time: every op that completed before i was invoked goes first.
            bool ready = true;
            for (const std::size_t j : live)
                if (!placed[j] && j != i && h[j].result == outcome::ok &&
                    h[j].complete < h[i].invoke)
                    ready = false;
            if (!ready) continue;
            jepsen::value after = state;
            const auto& op = h[i];
            bool legal = true;
            switch (op.kind) {
                case op_kind::read: legal = op.observed == state; break;
                case op_kind::write: after = op.written; break;
                case op_kind::cas:
                    if (op.result == outcome::ok && !op.cas_swapped) {
                        legal = state != op.expected;
                    } else {
                        legal = state == op.expected;
                        after = op.written;
                    }
                    break;
            }
            if (!legal) continue;
            placed[i] = true;
            const bool found = self(self, after);
            placed[i] = false;
            if (found) return true;
        }
        return false;
    };
    return search(search, jepsen::value{});
}

// A small history with arbitrary results: values from {nil, 0, 1, 2}, so
// the ops collide often and about half the histories are not linearizable.
std::vector<jepsen::operation> arbitrary_history(paxos::prng& rng, std::size_t n) {
    auto any_value = [&]() -> jepsen::value {
        const auto v = rng.below(4);
        return v == 3 ? jepsen::value{} : jepsen::value{std::int64_t(v)};
    };
    std::vector<jepsen::operation> h;
    for (std::size_t i = 0; i < n; ++i) {
        const auto invoke = static_cast<std::int64_t>(rng.below(20));
        const auto complete = invoke + static_cast<std::int64_t>(rng.below(8));
        const auto fate = rng.below(10);
        const outcome o = fate < 3 ? outcome::unknown : fate < 4 ? outcome::fail : outcome::ok;
        switch (rng.below(3)) {
            case 0: h.push_back(jepsen::make_read(i, "x", invoke, complete, any_value(), o)); break;
            case 1:
                h.push_back(jepsen::make_write(i, "x", invoke, complete, any_value(), o));
                break;
            default:
                h.push_back(jepsen::make_cas(i, "x", invoke, complete, any_value(), any_value(),
                                             rng.below(2) == 0, o));
        }
    }
    return h;
}

}  // namespace

TEST_CASE("the checker agrees with brute force on small arbitrary histories") {
    // Every reduction of the search (memo, dominance, twins, canonical values)
    // is exact; this is where a wrong one would show.
    paxos::prng rng(2024);
    std::size_t refused = 0;
    constexpr std::size_t histories = 3000;
    for (std::size_t k = 0; k < histories; ++k) {
        const auto h = arbitrary_history(rng, 2 + k % 7);
        const bool expected = brute_force_linearizable(h);
        const auto report = jepsen::check(h);
        INFO(jepsen::write_history(h));
        REQUIRE(report.result ==
                (expected ? jepsen::verdict::linearizable : jepsen::verdict::not_linearizable));
        if (!expected) ++refused;
    }
    MESSAGE(refused << " of " << histories << " arbitrary histories are not linearizable");
    CHECK(refused > histories / 5);
    CHECK(refused < histories * 4 / 5);
}

TEST_CASE(
    "the checker agrees with brute force on small real executions, some with one result changed") {
    std::size_t refused = 0;
    constexpr std::uint64_t seeds = 1000;
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
        gen_options opt;
        opt.clients = 2 + seed % 3;  // at most 12 ops: brute force is factorial
        opt.ops_per_client = 3;
        opt.unknown_percent = 25;
        opt.fail_percent = 10;
        auto h = generate(seed, opt);
        paxos::prng rng(seed * 31);
        if (seed % 2 == 1) {
            auto& op = h[rng.below(h.size())];
            if (op.kind == op_kind::read) op.observed = std::int64_t(rng.below(6));
            if (op.kind == op_kind::cas) op.cas_swapped = !op.cas_swapped;
            if (op.kind == op_kind::write) op.written = std::int64_t(rng.below(6));
        }
        const bool expected = brute_force_linearizable(h);
        if (seed % 2 == 0) REQUIRE(expected);  // unchanged: a real execution
        INFO(jepsen::write_history(h));
        REQUIRE(jepsen::check(h).result ==
                (expected ? jepsen::verdict::linearizable : jepsen::verdict::not_linearizable));
        if (!expected) ++refused;
    }
    MESSAGE(refused << " of " << seeds << " histories are not linearizable");
    CHECK(refused > seeds / 10);
}
