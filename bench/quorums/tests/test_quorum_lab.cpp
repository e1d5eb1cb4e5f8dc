// The quorum explorer's tests: the simulation agrees with the closed form,
// one seed gives one output, the failure analysis is right where the answer
// is known by hand, and a configuration whose quorums can miss each other is
// never run. Each test states a fact that a plausible mistake would break
// (an off-by-one quorum size, a leaking wall clock, a count of the wrong
// sets, a sweep that skips the factory).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <paxos/sim/network.hpp>

#include "plot.hpp"
#include "quorum_lab.hpp"
#include "report.hpp"

namespace lab = paxos::sim::lab;
using paxos::node_set;
using paxos::sim::time_us;

namespace {

lab::topology preset_topology(const char* name, std::size_t nodes = 0) {
    const lab::latency_preset* p = lab::find_latency_preset(name);
    REQUIRE(p != nullptr);
    auto t = lab::make_topology(lab::preset_matrix(*p), nodes, "", "");
    REQUIRE(t.value.has_value());
    return std::move(*t.value);
}

// A short workload: enough samples for a stable median, fast in Debug.
lab::lab_options quick_options(lab::topology t, std::uint64_t seed) {
    lab::lab_options o;
    o.topo = std::move(t);
    o.load.commands_per_client = 30;
    o.load.crash_trials = 2;
    o.load.trial_commands_per_client = 5;
    o.failures = 2;
    o.seed = seed;
    return o;
}

const lab::quorum_choice& find_choice(const lab::sweep_plan& plan, const std::string& name) {
    const auto it = std::find_if(plan.choices.begin(), plan.choices.end(),
                                 [&](const lab::quorum_choice& c) { return c.name == name; });
    REQUIRE(it != plan.choices.end());
    return *it;
}

node_set nodes(std::initializer_list<std::uint16_t> ids) {
    node_set s;
    for (const std::uint16_t i : ids) s.insert(paxos::node_id{i});
    return s;
}

}  // namespace

// ---- the matrix format ---------------------------------------------------------

TEST_CASE("matrix: every preset parses with the delays its comments state") {
    for (const lab::latency_preset& p : lab::latency_presets) {
        const auto m = lab::parse_latency_matrix(p.text);
        CHECK_MESSAGE(m.value.has_value(), p.name, ": ", m.error);
    }
    const lab::latency_matrix five = lab::preset_matrix(*lab::find_latency_preset("five-regions"));
    REQUIRE(five.site_count() == 5);
    CHECK(five.at(0, 3) == 40'500);   // virginia -> ireland: half of 81 ms
    CHECK(five.at(3, 4) == 106'000);  // ireland -> tokyo: half of 212 ms
    CHECK(five.at(2, 2) == 500);
    CHECK(five.jitter_permille == 20);
    CHECK(five.tail_permille == 10);
    CHECK(five.tail_max_us == 20'000);
    for (std::size_t a = 0; a < 5; ++a) {
        for (std::size_t b = 0; b < 5; ++b) CHECK(five.at(a, b) == five.at(b, a));
    }
}

TEST_CASE("matrix: malformed input is refused with the line and the reason") {
    struct bad {
        const char* text;
        const char* says;
    };
    const bad cases[] = {
        {"", "no `sites` line"},
        {"a 1\n", "line 1: the first line must be `sites"},
        {"sites a b\na 1 2\n", "no row for site 'b'"},
        {"sites a b\na 1\nb 1 1\n", "line 2: row 'a' has 1 delays; it needs 2"},
        {"sites a b\na 1 x\nb 1 1\n", "line 2: 'x' is not a delay in milliseconds"},
        {"sites a b\na 1 -2\nb 1 1\n", "'-2' is not a delay"},
        {"sites a b\na 1 1.2345\nb 1 1\n", "'1.2345' is not a delay"},
        {"sites a b\na 1 1\na 1 1\n", "line 3: row 'a' given twice"},
        {"sites a a\n", "site 'a' is listed twice"},
        {"sites a\nc 1\n", "line 2: 'c' is neither a directive"},
        {"sites a\nleader z\na 1\n", "leader 'z' is not one of the sites"},
        {"sites a\njitter 5\na 1\n", "line 2: `jitter` takes a percentage"},
        {"sites a\ntail 1%\na 1\n", "line 2: `tail` takes a percentage and a delay"},
        {"sites a\nnodes 99\na 1\n", "line 2: `nodes` takes one count from 1 to 16"},
        {"# comment only\n\nsites a # trailing comment\n\na 0.25\nsites b\n",
         "line 6: `sites` given twice"},
    };
    for (const bad& c : cases) {
        const auto m = lab::parse_latency_matrix(c.text);
        CHECK_FALSE(m.value.has_value());
        CHECK_MESSAGE(m.error.find(c.says) != std::string::npos, "got: ", m.error,
                      "\nwanted: ", c.says);
    }
    const auto ok = lab::parse_latency_matrix("sites a b # two\n\na 0.25 3\nb 3 0.25\n");
    REQUIRE(ok.value.has_value());
    CHECK(ok.value->at(0, 1) == 3'000);
    CHECK(ok.value->at(1, 1) == 250);
}

TEST_CASE("topology: placement and leader and their errors") {
    const lab::latency_matrix three =
        lab::preset_matrix(*lab::find_latency_preset("three-regions"));
    const auto rr = lab::make_topology(three, 0, "round-robin", "");
    REQUIRE(rr.value.has_value());
    CHECK(rr.value->site_of == std::vector<std::size_t>{0, 1, 2, 0, 1, 2});  // nodes 6
    const auto listed = lab::make_topology(three, 0, "ireland,ireland,oregon", "oregon");
    REQUIRE(listed.value.has_value());
    CHECK(listed.value->leader.value == 2);
    CHECK(listed.value->rtt(0, 2) == 137'000);
    CHECK(listed.value->rtt(0, 1) == 1'000);  // two nodes of one site
    CHECK(lab::make_topology(three, 0, "ireland,mars", "").error.find("'mars' is no site") !=
          std::string::npos);
    CHECK(lab::make_topology(three, 2, "ireland,ireland,oregon", "").error.find("--nodes") !=
          std::string::npos);
    CHECK(lab::make_topology(three, 0, "ireland,ireland", "oregon")
              .error.find("no node is placed at the leader site") != std::string::npos);
}

TEST_CASE("network: per-link delays give each link its base plus a bounded jitter") {
    paxos::sim::network<int> net(3);
    net.latency = {paxos::sim::latency_model::shape::fixed, 0, 0, 0, 0};
    net.set_link_delays({3, {0, 10, 20, 11, 0, 30, 21, 31, 0}, 0});
    paxos::prng rng(7);
    const auto n = [](std::uint16_t v) { return paxos::node_id{v}; };
    REQUIRE(net.send(100, n(0), n(2), 1, rng));
    REQUIRE(net.send(100, n(2), n(0), 2, rng));
    REQUIRE(net.send(100, n(1), n(0), 3, rng));
    CHECK(net.pop().at == 111);
    CHECK(net.pop().at == 120);
    CHECK(net.pop().at == 121);
    // Proportional jitter stays within base * permille / 1000.
    net.set_link_delays({3, {0, 1000, 1000, 1000, 0, 1000, 1000, 1000, 0}, 50});
    for (int i = 0; i < 200; ++i) REQUIRE(net.send(0, n(0), n(1), i, rng));
    time_us low = ~time_us{0}, high = 0;
    while (net.has_next()) {
        const time_us at = net.pop().at;
        low = std::min(low, at);
        high = std::max(high, at);
    }
    CHECK(low >= 1000);
    CHECK(high <= 1050);
    CHECK(high > low);  // the jitter is drawn
}

// ---- the closed form ---------------------------------------------------------------

// The brief's statement, computed independently of the lab's helper: the
// Q2-th smallest round trip from the leader, the leader itself counting 0.
time_us q2th_smallest_rtt(const lab::topology& t, std::size_t q2) {
    std::vector<time_us> rtts;
    for (std::size_t i = 0; i < t.node_count(); ++i) rtts.push_back(t.rtt(t.leader.value, i));
    std::sort(rtts.begin(), rtts.end());
    return rtts[q2 - 1];
}

TEST_CASE(
    "closed form: the simulated phase-2 latency is the Q2-th smallest round trip "
    "within 5%") {
    struct probe {
        const char* preset;
        const char* config;
    };
    const probe probes[] = {
        {"five-regions", "majority"},      {"five-regions", "flexible 4/2"},
        {"five-regions", "flexible 2/4"},  {"five-regions", "flexible 1/5"},
        {"five-regions", "weighted near"}, {"three-regions", "majority"},
        {"three-regions", "flexible 5/2"}, {"three-regions", "flexible 2/5"},
        {"three-regions", "grid 3x2"},     {"three-regions", "grid 2x3"},
        {"one-datacenter", "majority"},    {"one-datacenter", "flexible 2/4"},
    };
    for (const probe& p : probes) {
        lab::topology t = preset_topology(p.preset);
        t.matrix.jitter_permille = 10;  // low jitter: at most 1% of each delay
        t.matrix.tail_permille = 0;
        const lab::sweep_plan plan = lab::plan_sweep(t);
        const lab::quorum_choice& c = find_choice(plan, p.config);
        const time_us model = lab::phase2_closed_form_us(c, t);
        if (c.threshold) CHECK(model == q2th_smallest_rtt(t, c.q2));
        lab::lab_options o = quick_options(t, 3);
        o.load.crash_trials = 1;
        const lab::config_result r = lab::run_choice(o, lab::derive_timing(o.topo, o.load), c);
        REQUIRE(r.failure.empty());
        REQUIRE(r.leader.count >= 30);
        const double deviation = 100.0 *
                                 (static_cast<double>(r.leader.p50) - static_cast<double>(model)) /
                                 static_cast<double>(model);
        const std::string what = std::string(p.preset) + " " + p.config;
        MESSAGE(what, ": closed form ", model, " us, simulated p50 ", r.leader.p50,
                " us, deviation ", deviation, "%");
        CHECK(r.leader.p50 * 100 >= model * 95);
        CHECK(r.leader.p50 * 100 <= model * 105);
    }
}

TEST_CASE("closed form: a phase-2 quorum of one (the leader) commits without waiting") {
    lab::topology t = preset_topology("five-regions");
    const lab::sweep_plan plan = lab::plan_sweep(t);
    const lab::quorum_choice& c = find_choice(plan, "flexible 5/1");
    CHECK(lab::phase2_closed_form_us(c, t) == 0);
    lab::lab_options o = quick_options(t, 1);
    o.load.crash_trials = 1;
    const lab::config_result r = lab::run_choice(o, lab::derive_timing(o.topo, o.load), c);
    REQUIRE(r.failure.empty());
    CHECK(r.leader.p99 == 0);
    CHECK_FALSE(r.elect_p50.has_value());  // phase 1 needs all five, one is down
}

// ---- determinism -----------------------------------------------------------------

std::string all_output(const lab::lab_result& r) {
    const paxos_quorums::report_context ctx{"test", "paxos_quorums --test"};
    return paxos_quorums::text_report(r, ctx) + paxos_quorums::csv_report(r) +
           paxos_quorums::markdown_report(r, ctx) + paxos_quorums::svg_plot(r, ctx);
}

TEST_CASE("determinism: the same seed gives byte-identical tables and CSV and Markdown and SVG") {
    const lab::topology t = preset_topology("three-regions");
    const std::string first = all_output(lab::run_lab(quick_options(t, 11)));
    const std::string second = all_output(lab::run_lab(quick_options(t, 11)));
    CHECK(first == second);
    CHECK(first.size() > 10'000);
    // And the output does depend on the seed, so the equality above means something.
    const std::string other = all_output(lab::run_lab(quick_options(t, 12)));
    CHECK(first != other);
}

// ---- failure sets ----------------------------------------------------------------

TEST_CASE("failures: three-node majority survives any one failure and no two") {
    lab::sweep_plan plan;
    lab::add_threshold_choice(plan, 3, 2, 2);
    REQUIRE(plan.choices.size() == 1);
    const lab::failure_report r = lab::analyse_failures(plan.choices[0], 3, 2);
    REQUIRE(r.levels.size() == 2);
    CHECK(r.levels[0].sets == 3);
    CHECK(r.levels[0].both_ok == 3);
    CHECK(r.levels[1].sets == 3);
    CHECK(r.levels[1].both_ok == 0);
    CHECK(r.tolerated == 1);
    CHECK(r.score_permille == 1000);
    CHECK(r.minimal_breaking == std::vector<node_set>{nodes({0, 1}), nodes({0, 2}), nodes({1, 2})});
}

TEST_CASE(
    "failures: a 2x2 grid survives any one failure and after two failures "
    "a lost row stops phase 1 and a lost column stops phase 2") {
    lab::sweep_plan plan;
    lab::add_grid_choice(plan, 2, 2);  // rows {0,1} and {2,3}
    REQUIRE(plan.choices.size() == 1);
    const lab::failure_report r = lab::analyse_failures(plan.choices[0], 4, 2);
    CHECK(r.levels[0].sets == 4);
    CHECK(r.levels[0].both_ok == 4);
    const lab::failure_level& two = r.levels[1];
    CHECK(two.sets == 6);
    CHECK(two.both_ok == 0);
    CHECK(two.phase1_ok == 4);  // all but {0,1} and {2,3}: a row gone, phase 1 impossible
    CHECK(two.phase2_ok == 2);  // only {0,1} or {2,3} down leaves a whole row
    CHECK(r.tolerated == 1);
    CHECK(r.minimal_breaking.size() == 6);
}

TEST_CASE(
    "failures: weights 2 1 1 with thresholds 3 survive losing a light node but "
    "not the heavy one") {
    lab::sweep_plan plan;
    lab::add_weighted_choice(plan, "w", {2, 1, 1}, 3, 3);
    REQUIRE(plan.choices.size() == 1);
    const lab::failure_report r = lab::analyse_failures(plan.choices[0], 3, 2);
    CHECK(r.levels[0].both_ok == 2);  // {1} or {2} down: weight 3 left
    CHECK(r.tolerated == 0);
    CHECK(r.score_permille == 666);  // two of three single failures survived
    CHECK(r.minimal_breaking == std::vector<node_set>{nodes({0}), nodes({1, 2})});
}

TEST_CASE("failures: flexible 4/2 of five keeps phase 2 after two failures but not phase 1") {
    lab::sweep_plan plan;
    lab::add_threshold_choice(plan, 5, 4, 2);
    const lab::failure_report r = lab::analyse_failures(plan.choices[0], 5, 3);
    CHECK(r.levels[1].phase1_ok == 0);
    CHECK(r.levels[1].phase2_ok == 10);
    CHECK(r.levels[2].phase2_ok == 10);  // three down: two left, still a phase-2 quorum
    CHECK(r.tolerated == 1);
    CHECK(r.minimal_breaking.size() == 10);  // every pair
}

// ---- only intersecting configurations are swept ------------------------------------------

TEST_CASE(
    "sweep: a configuration whose quorums can miss each other is refused by the "
    "factory and never run") {
    for (const char* preset : {"five-regions", "three-regions", "one-datacenter"}) {
        const lab::topology t = preset_topology(preset);
        const std::size_t n = t.node_count();
        const lab::sweep_plan plan = lab::plan_sweep(t);
        std::size_t flexible = 0;
        for (const lab::quorum_choice& c : plan.choices) {
            // Checked independently of the factories: no disjoint pair exists.
            CHECK_FALSE(paxos::enumerate_quorum_counterexample(c));
            if (c.threshold) {
                CHECK(c.q1 + c.q2 > n);
                ++flexible;
            }
        }
        // Every pair with Q1 + Q2 > N (majority included), and no other.
        CHECK(flexible == n * n - n * (n - 1) / 2);
        CHECK(plan.refused.size() == n * (n - 1) / 2);
        for (const lab::refused_choice& r : plan.refused) {
            CHECK(r.error == paxos::quorum_build_error::quorums_disjoint);
            CHECK_FALSE(r.counterexample.phase1.intersects(r.counterexample.phase2));
        }
    }
    // A weighting whose thresholds leave room for two disjoint quorums.
    lab::sweep_plan plan;
    lab::add_weighted_choice(plan, "too light", {2, 1, 1, 1}, 2, 3);
    CHECK(plan.choices.empty());
    REQUIRE(plan.refused.size() == 1);
    CHECK(plan.refused[0].error == paxos::quorum_build_error::quorums_disjoint);
}

TEST_CASE("sweep: grids for every shape that factors N and weightings without repeats") {
    const lab::topology six = preset_topology("three-regions");
    const lab::sweep_plan plan = lab::plan_sweep(six);
    std::vector<std::string> grids, weighted;
    for (const lab::quorum_choice& c : plan.choices) {
        if (c.kind == lab::family::grid) grids.push_back(c.name);
        if (c.kind == lab::family::weighted) weighted.push_back(lab::weights_text(c.weights));
    }
    CHECK(grids == std::vector<std::string>{"grid 2x3", "grid 3x2"});
    CHECK_FALSE(weighted.empty());
    for (std::size_t i = 0; i < weighted.size(); ++i) {
        for (std::size_t j = i + 1; j < weighted.size(); ++j) CHECK(weighted[i] != weighted[j]);
    }
    const lab::topology five = preset_topology("five-regions");
    for (const lab::quorum_choice& c : lab::plan_sweep(five).choices) {
        CHECK(c.kind != lab::family::grid);  // 5 is prime
    }
}
