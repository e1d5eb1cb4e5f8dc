// bench/quorums/quorum_lab.hpp: compare quorum configurations on a latency
// matrix, by running the real replica in a deterministic simulation.
//
// The engine of paxos_quorums (paxos_quorums.cpp), kept with its program and
// not among the library's public headers: it is a tool built on the
// simulator (DESIGN.md, "Layers"). Its namespace stays paxos::sim::lab.
//
// The question it answers, for an architect choosing a deployment: given where my replicas sit
// and how far apart the sites are, what does each quorum configuration cost
// per command, how fast does it recover from losing its leader, and which
// failures can it survive? The parts, each usable alone:
//
//   latency_matrix, parse_latency_matrix   one-way delays between sites, from
//                                          a small text format (below)
//   topology                               nodes placed on sites, a leader
//   plan_sweep                             majority, every flexible (Q1, Q2),
//                                          grids, a few weightings; each one
//                                          built through a checking factory,
//                                          so a configuration whose quorums
//                                          miss each other is refused, never run
//   analyse_failures                       which failure sets leave phase 1
//                                          and phase 2 possible
//   phase2_closed_form_us                  the commit latency the matrix
//                                          predicts, for checking the simulation
//   run_lab                                all of it, with measurements
//
// The simulation is Multi-Paxos with a stable leader: replica<config<...,
// runtime_threshold | runtime_weighted | runtime_grid, stable_leader, ...>>,
// one per node, driven by sim/harness.hpp (the README's ready loop, shared
// with the simulator) over sim::network with per-link delays. Closed-loop clients sit at every site
// and send each command to the leader (a not_leader answer redirects them, silence makes them try
// another node). After the steady phase the leader crashes, and the run measures how long until a
// command is committed under a new leader.
//
// Determinism: all randomness is paxos::prng, all arithmetic on time is
// integer microseconds, and nothing is iterated in hash order, so one seed
// gives one result, byte for byte, with any compiler.
//
// Matrix format (one directive or row per line; '#' starts a comment):
//
//   sites virginia oregon ireland   site names, in order (required, first)
//   nodes 6                         default node count (else one per site)
//   leader virginia                 default leader site (else the first)
//   jitter 2%                       each delay grows by up to this share of it
//   tail 1% 20                      this share of messages waits up to 20 ms more
//   virginia 0.5 44 40.5            one row per site: one-way delays in ms to
//   ...                             every site, in `sites` order; the diagonal
//                                   is the delay between two nodes of the site
//
// Delays are milliseconds with up to three decimals (microsecond resolution).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <paxos/assert.hpp>
#include <paxos/config.hpp>
#include <paxos/core/replica.hpp>
#include <paxos/core/vocabulary.hpp>
#include <paxos/policies/ballot.hpp>
#include <paxos/policies/leader.hpp>
#include <paxos/policies/quorum_runtime.hpp>
#include <paxos/policies/quorum_system.hpp>
#include <paxos/policies/random.hpp>
#include <paxos/sim/harness.hpp>
#include <paxos/sim/network.hpp>

#include "latency_presets.hpp"

namespace paxos::sim::lab {

// Limits: the failure analysis enumerates node subsets, and replicas are
// sized at compile time.
inline constexpr std::size_t nodes_max = 16;
inline constexpr std::size_t sites_max = 16;
inline constexpr time_us delay_us_max = 60'000'000;  // one minute, one way
inline constexpr std::size_t window_slots = 64;
inline constexpr std::size_t batch_values_max = 4;

// ===========================================================================
// Latency matrix and its text format.

struct latency_matrix {
    std::vector<std::string> sites;
    std::vector<time_us> one_way;  // sites * sites, row-major: [from * sites + to]
    std::size_t nodes = 0;         // default node count; 0 = one per site
    std::string leader;            // default leader site; empty = the first
    std::uint32_t jitter_permille = 0;
    std::uint32_t tail_permille = 0;  // share of messages delayed further
    time_us tail_max_us = 0;          // by up to this much

    std::size_t site_count() const noexcept { return sites.size(); }
    time_us at(std::size_t from, std::size_t to) const noexcept {
        PAXOS_ASSERT(from < sites.size() && to < sites.size());
        return one_way[from * sites.size() + to];
    }
    std::optional<std::size_t> site_index(std::string_view name) const {
        for (std::size_t i = 0; i < sites.size(); ++i) {
            if (sites[i] == name) return i;
        }
        return std::nullopt;
    }
};

// A value, or why there is none.
template <class T>
struct parsed {
    std::optional<T> value;
    std::string error;

    explicit operator bool() const noexcept { return value.has_value(); }
};

namespace detail {

inline std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
        if (i > start) words.push_back(line.substr(start, i - start));
    }
    return words;
}

// A decimal with up to `decimals_max` digits after the point, scaled by
// 10^decimals_max: "40.5" with 3 gives 40500. No sign, no exponent.
inline std::optional<std::uint64_t> parse_fixed(std::string_view s, unsigned decimals_max,
                                                std::uint64_t scaled_max) {
    std::uint64_t whole = 0;
    std::size_t i = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        whole = whole * 10 + static_cast<std::uint64_t>(s[i] - '0');
        if (whole > scaled_max) return std::nullopt;
    }
    if (i == 0) return std::nullopt;
    std::uint64_t fraction = 0;
    unsigned digits = 0;
    if (i < s.size() && s[i] == '.') {
        for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
            if (digits == decimals_max) return std::nullopt;
            fraction = fraction * 10 + static_cast<std::uint64_t>(s[i] - '0');
        }
        if (digits == 0) return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    for (; digits < decimals_max; ++digits) fraction *= 10;
    std::uint64_t scale = 1;
    for (unsigned d = 0; d < decimals_max; ++d) scale *= 10;
    const std::uint64_t value = whole * scale + fraction;
    if (value > scaled_max) return std::nullopt;
    return value;
}

inline std::optional<time_us> parse_ms(std::string_view s) {
    return parse_fixed(s, 3, delay_us_max);
}

// "2%" or "2.5%" as permille.
inline std::optional<std::uint32_t> parse_percent(std::string_view s) {
    if (s.empty() || s.back() != '%') return std::nullopt;
    const auto v = parse_fixed(s.substr(0, s.size() - 1), 1, 1000);
    if (!v) return std::nullopt;
    return static_cast<std::uint32_t>(*v);
}

inline std::optional<std::uint64_t> parse_count(std::string_view s, std::uint64_t max) {
    return parse_fixed(s, 0, max);
}

inline std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

// Reads one line into `m`; returns an error sentence, or empty.
class matrix_reader {
public:
    std::string line(std::string_view text) {
        const auto hash = text.find('#');
        const auto words = split_words(text.substr(0, hash));
        if (words.empty()) return {};
        const std::string_view head = words[0];
        if (head == "sites") return sites(words);
        if (m_.sites.empty()) {
            return "the first line must be `sites NAME...` (got " + in_quotes(head) + ")";
        }
        if (head == "nodes") return nodes(words);
        if (head == "leader") return leader(words);
        if (head == "jitter") return jitter(words);
        if (head == "tail") return tail(words);
        return row(words);
    }

    std::string finish() {
        if (m_.sites.empty()) return "no `sites` line: the matrix names no site";
        for (std::size_t i = 0; i < m_.sites.size(); ++i) {
            if (!seen_[i]) return "no row for site " + in_quotes(m_.sites[i]);
        }
        if (!m_.leader.empty() && !m_.site_index(m_.leader)) {
            return "leader " + in_quotes(m_.leader) + " is not one of the sites";
        }
        return {};
    }

    latency_matrix take() { return std::move(m_); }

private:
    std::string sites(const std::vector<std::string_view>& w) {
        if (!m_.sites.empty()) return "`sites` given twice";
        if (w.size() < 2) return "`sites` needs at least one site name";
        if (w.size() - 1 > sites_max) {
            return "at most " + std::to_string(sites_max) + " sites";
        }
        for (std::size_t i = 1; i < w.size(); ++i) {
            const std::string name(w[i]);
            if (name == "sites" || name == "nodes" || name == "leader" || name == "jitter" ||
                name == "tail") {
                return "a site cannot be called " + in_quotes(name) + " (a directive's name)";
            }
            if (m_.site_index(name)) return "site " + in_quotes(name) + " is listed twice";
            m_.sites.push_back(name);
        }
        m_.one_way.assign(m_.sites.size() * m_.sites.size(), 0);
        seen_.assign(m_.sites.size(), false);
        return {};
    }

    std::string nodes(const std::vector<std::string_view>& w) {
        const auto n = w.size() == 2 ? parse_count(w[1], nodes_max) : std::nullopt;
        if (!n || *n == 0) {
            return "`nodes` takes one count from 1 to " + std::to_string(nodes_max);
        }
        m_.nodes = static_cast<std::size_t>(*n);
        return {};
    }

    std::string leader(const std::vector<std::string_view>& w) {
        if (w.size() != 2) return "`leader` takes one site name";
        m_.leader = std::string(w[1]);
        return {};
    }

    std::string jitter(const std::vector<std::string_view>& w) {
        const auto p = w.size() == 2 ? parse_percent(w[1]) : std::nullopt;
        if (!p) return "`jitter` takes a percentage such as 2% (at most 100%)";
        m_.jitter_permille = *p;
        return {};
    }

    std::string tail(const std::vector<std::string_view>& w) {
        const auto p = w.size() == 3 ? parse_percent(w[1]) : std::nullopt;
        const auto ms = w.size() == 3 ? parse_ms(w[2]) : std::nullopt;
        if (!p || !ms) {
            return "`tail` takes a percentage and a delay in ms, such as `tail 1% 20`";
        }
        m_.tail_permille = *p;
        m_.tail_max_us = *ms;
        return {};
    }

    std::string row(const std::vector<std::string_view>& w) {
        const auto site = m_.site_index(w[0]);
        if (!site) {
            return in_quotes(w[0]) + " is neither a directive (sites, nodes, leader, jitter, " +
                   "tail) nor a site named in `sites`";
        }
        if (seen_[*site]) return "row " + in_quotes(w[0]) + " given twice";
        const std::size_t n = m_.sites.size();
        if (w.size() - 1 != n) {
            return "row " + in_quotes(w[0]) + " has " + std::to_string(w.size() - 1) +
                   " delays; it needs " + std::to_string(n) + ", one per site";
        }
        for (std::size_t j = 0; j < n; ++j) {
            const auto d = parse_ms(w[j + 1]);
            if (!d) {
                return in_quotes(w[j + 1]) + " is not a delay in milliseconds (a number such as " +
                       "40.5, at most three decimals, below one minute)";
            }
            m_.one_way[*site * n + j] = *d;
        }
        seen_[*site] = true;
        return {};
    }

    latency_matrix m_;
    std::vector<bool> seen_;
};

}  // namespace detail

// Parses the text format above. An error names the line and what is wrong.
inline parsed<latency_matrix> parse_latency_matrix(std::string_view text) {
    detail::matrix_reader reader;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const auto end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (std::string why = reader.line(line); !why.empty()) {
            return {std::nullopt, "line " + std::to_string(line_number) + ": " + why};
        }
    }
    if (std::string why = reader.finish(); !why.empty()) return {std::nullopt, why};
    return {reader.take(), {}};
}

// The preset's matrix (presets are checked by the tests, so this holds).
inline latency_matrix preset_matrix(const latency_preset& preset) {
    auto parsed_preset = parse_latency_matrix(preset.text);
    PAXOS_ASSERT(parsed_preset.value.has_value());
    return std::move(*parsed_preset.value);
}

// ===========================================================================
// Topology: nodes on sites, and a leader.

struct topology {
    latency_matrix matrix;
    std::vector<std::size_t> site_of;  // per node
    node_id leader{};                  // the node that leads in the steady phase

    std::size_t node_count() const noexcept { return site_of.size(); }
    std::size_t leader_site() const noexcept { return site_of[leader.value]; }
    time_us one_way(std::size_t from, std::size_t to) const noexcept {
        return matrix.at(site_of[from], site_of[to]);
    }
    // Round trip between two nodes; a node to itself is 0.
    time_us rtt(std::size_t a, std::size_t b) const noexcept {
        return a == b ? 0 : one_way(a, b) + one_way(b, a);
    }
    time_us max_rtt() const noexcept {
        time_us m = 0;
        for (std::size_t a = 0; a < node_count(); ++a) {
            for (std::size_t b = 0; b < node_count(); ++b) m = std::max(m, rtt(a, b));
        }
        return m;
    }
    // The first node placed at `site`, if any.
    std::optional<std::size_t> first_node_at(std::size_t site) const {
        for (std::size_t i = 0; i < site_of.size(); ++i) {
            if (site_of[i] == site) return i;
        }
        return std::nullopt;
    }
};

// `placement` is "round-robin" (node i on site i mod sites) or a
// comma-separated list of site names, one per node. `nodes` 0 means the
// matrix's default. `leader_site` empty means the matrix's default.
inline parsed<topology> make_topology(latency_matrix matrix, std::size_t nodes,
                                      std::string_view placement, std::string_view leader_site) {
    topology t;
    if (placement.empty() || placement == "round-robin") {
        const std::size_t n = nodes != 0          ? nodes
                              : matrix.nodes != 0 ? matrix.nodes
                                                  : matrix.site_count();
        for (std::size_t i = 0; i < n; ++i) t.site_of.push_back(i % matrix.site_count());
    } else {
        while (!placement.empty()) {
            const auto comma = placement.find(',');
            const std::string_view name = placement.substr(0, comma);
            placement =
                comma == std::string_view::npos ? std::string_view{} : placement.substr(comma + 1);
            const auto site = matrix.site_index(name);
            if (!site)
                return {std::nullopt, "placement: " + detail::in_quotes(name) + " is no site"};
            t.site_of.push_back(*site);
        }
        if (nodes != 0 && nodes != t.site_of.size()) {
            return {std::nullopt, "placement lists " + std::to_string(t.site_of.size()) +
                                      " nodes but --nodes asks for " + std::to_string(nodes)};
        }
    }
    if (t.site_of.empty() || t.site_of.size() > nodes_max) {
        return {std::nullopt, "the node count must be from 1 to " + std::to_string(nodes_max)};
    }
    // A copy: the matrix (which may hold the name) moves into the topology.
    const std::string lead(!leader_site.empty()     ? leader_site
                           : !matrix.leader.empty() ? std::string_view(matrix.leader)
                                                    : std::string_view(matrix.sites[0]));
    const auto site = matrix.site_index(lead);
    if (!site) return {std::nullopt, "leader site " + detail::in_quotes(lead) + " is no site"};
    t.matrix = std::move(matrix);
    const auto first = t.first_node_at(*site);
    if (!first) {
        return {std::nullopt, "no node is placed at the leader site " + detail::in_quotes(lead)};
    }
    t.leader = node_id{static_cast<std::uint16_t>(*first)};
    return {std::move(t), {}};
}

// ===========================================================================
// Quorum configurations.

enum class family : std::uint8_t { majority, flexible, grid, weighted };

constexpr const char* to_string(family f) noexcept {
    switch (f) {
        case family::majority: return "majority";
        case family::flexible: return "flexible";
        case family::grid: return "grid";
        case family::weighted: return "weighted";
    }
    return "?";
}

// One configuration of the sweep, holding the checked quorum system that
// the replicas will run with (exactly one of the three is set).
struct quorum_choice {
    family kind = family::majority;
    std::string name;         // e.g. "flexible 4/2", "grid 2x3", "weighted near"
    std::string phase1_rule;  // e.g. "any 4", "1 per row", "weight >= 4 of 7"
    std::string phase2_rule;
    std::size_t q1 = 0, q2 = 0;          // majority, flexible
    std::size_t rows = 0, cols = 0;      // grid
    std::vector<std::uint32_t> weights;  // weighted, per node
    std::uint64_t t1 = 0, t2 = 0;        // weighted thresholds
    std::optional<runtime_threshold> threshold;
    std::optional<runtime_weighted> weighted;
    std::optional<runtime_grid> grid;

    // A quorum system itself (so the library's checks apply to it).
    std::size_t node_count() const noexcept {
        if (threshold) return threshold->node_count();
        if (weighted) return weighted->node_count();
        PAXOS_ASSERT(grid.has_value());
        return grid->node_count();
    }
    bool is_phase1_quorum(node_set s) const noexcept {
        if (threshold) return threshold->is_phase1_quorum(s);
        if (weighted) return weighted->is_phase1_quorum(s);
        PAXOS_ASSERT(grid.has_value());
        return grid->is_phase1_quorum(s);
    }
    bool is_phase2_quorum(node_set s) const noexcept {
        if (threshold) return threshold->is_phase2_quorum(s);
        if (weighted) return weighted->is_phase2_quorum(s);
        PAXOS_ASSERT(grid.has_value());
        return grid->is_phase2_quorum(s);
    }
};

static_assert(quorum_system<quorum_choice>);

// A configuration the factory refused, and its witness.
struct refused_choice {
    std::string name;
    quorum_build_error error = quorum_build_error::none;
    quorum_counterexample counterexample{};
};

struct sweep_plan {
    std::vector<quorum_choice> choices;
    std::vector<refused_choice> refused;
};

// "2,1,1": weights as written in reports.
inline std::string weights_text(const std::vector<std::uint32_t>& w) {
    std::string s;
    for (std::size_t i = 0; i < w.size(); ++i) {
        if (i) s += ',';
        s += std::to_string(w[i]);
    }
    return s;
}

// Flexible (Q1, Q2) through runtime_threshold::make: a pair whose quorums can
// miss each other (Q1 + Q2 <= N) is refused there and lands in `refused`.
inline void add_threshold_choice(sweep_plan& plan, std::size_t n, std::size_t q1, std::size_t q2) {
    const bool is_majority = q1 == n / 2 + 1 && q2 == n / 2 + 1;
    quorum_choice c;
    c.kind = is_majority ? family::majority : family::flexible;
    c.name = is_majority ? "majority" : "flexible " + std::to_string(q1) + "/" + std::to_string(q2);
    auto built = runtime_threshold::make(n, q1, q2);
    if (!built) {
        plan.refused.push_back({c.name, built.error, built.counterexample});
        return;
    }
    c.q1 = q1;
    c.q2 = q2;
    c.phase1_rule = "any " + std::to_string(q1);
    c.phase2_rule = "any " + std::to_string(q2);
    c.threshold = *built.quorum;
    plan.choices.push_back(std::move(c));
}

inline void add_grid_choice(sweep_plan& plan, std::size_t rows, std::size_t cols) {
    quorum_choice c;
    c.kind = family::grid;
    c.name = "grid " + std::to_string(rows) + "x" + std::to_string(cols);
    auto built = runtime_grid::make(rows, cols);
    if (!built) {
        plan.refused.push_back({c.name, built.error, built.counterexample});
        return;
    }
    c.rows = rows;
    c.cols = cols;
    c.phase1_rule = "1 in each of " + std::to_string(rows) + " rows";
    c.phase2_rule = "a whole row of " + std::to_string(cols);
    c.grid = *built.quorum;
    plan.choices.push_back(std::move(c));
}

// Weights and thresholds through runtime_weighted::make; refused ones (e.g.
// T1 + T2 small enough that two disjoint sets reach them) land in `refused`.
inline void add_weighted_choice(sweep_plan& plan, std::string name,
                                std::vector<std::uint32_t> weights, std::uint64_t t1,
                                std::uint64_t t2) {
    quorum_choice c;
    c.kind = family::weighted;
    c.name = std::move(name);
    auto built = runtime_weighted::make(weights, t1, t2);
    if (!built) {
        plan.refused.push_back({c.name, built.error, built.counterexample});
        return;
    }
    std::uint64_t total = 0;
    for (const std::uint32_t w : weights) total += w;
    c.phase1_rule = "weight >= " + std::to_string(t1) + " of " + std::to_string(total);
    c.phase2_rule = "weight >= " + std::to_string(t2) + " of " + std::to_string(total);
    c.weights = std::move(weights);
    c.t1 = t1;
    c.t2 = t2;
    c.weighted = *built.quorum;
    plan.choices.push_back(std::move(c));
}

namespace detail {

// Sites other than the leader's, nearest (by round trip) first; ties by index.
inline std::vector<std::size_t> sites_by_distance(const topology& t) {
    const std::size_t home = t.leader_site();
    std::vector<std::size_t> order;
    for (std::size_t s = 0; s < t.matrix.site_count(); ++s) {
        if (s != home) order.push_back(s);
    }
    const auto round_trip = [&](std::size_t s) {
        return t.matrix.at(home, s) + t.matrix.at(s, home);
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return round_trip(a) < round_trip(b); });
    return order;
}

struct weighting {
    const char* name;
    std::vector<std::uint32_t> weights;
};

// A few weightings that favour the leader's neighbourhood:
//   leader  the leader node weighs 2
//   site    every node at the leader's site weighs 2
//   near    ... and every node at the nearest other site
//   graded  leader's site 3, the nearer half of the other sites 2, the rest 1
inline std::vector<weighting> weightings(const topology& t) {
    const std::size_t n = t.node_count();
    const auto near = sites_by_distance(t);
    const auto weight_by_site = [&](auto site_weight) {
        std::vector<std::uint32_t> w(n);
        for (std::size_t i = 0; i < n; ++i) w[i] = site_weight(t.site_of[i]);
        return w;
    };
    std::vector<weighting> out;
    std::vector<std::uint32_t> leader_only(n, 1);
    leader_only[t.leader.value] = 2;
    out.push_back({"leader", leader_only});
    out.push_back({"site", weight_by_site([&](std::size_t s) -> std::uint32_t {
                       return s == t.leader_site() ? 2 : 1;
                   })});
    out.push_back({"near", weight_by_site([&](std::size_t s) -> std::uint32_t {
                       const bool nearest = !near.empty() && s == near[0];
                       return s == t.leader_site() || nearest ? 2 : 1;
                   })});
    out.push_back({"graded", weight_by_site([&](std::size_t s) -> std::uint32_t {
                       if (s == t.leader_site()) return 3;
                       const auto pos = std::find(near.begin(), near.end(), s) - near.begin();
                       return static_cast<std::size_t>(pos) < (near.size() + 1) / 2 ? 2 : 1;
                   })});
    return out;
}

}  // namespace detail

struct sweep_options {
    bool flexible = true;
    bool grid = true;
    bool weighted = true;
};

// Every configuration to run: majority first, then each flexible (Q1, Q2) in
// 1..N x 1..N that the factory accepts (so exactly those with Q1 + Q2 > N),
// then every grid shape rows x cols = N with both sides at least 2 (a 1 x N
// grid is flexible 1/N, and N x 1 is flexible N/1), then the
// weightings with weighted-majority thresholds, skipping one whose weights
// are all equal (it is majority) or repeat an earlier one.
inline sweep_plan plan_sweep(const topology& t, const sweep_options& opts = {}) {
    sweep_plan plan;
    const std::size_t n = t.node_count();
    add_threshold_choice(plan, n, n / 2 + 1, n / 2 + 1);
    if (opts.flexible) {
        for (std::size_t q2 = 1; q2 <= n; ++q2) {
            for (std::size_t q1 = 1; q1 <= n; ++q1) {
                if (q1 == n / 2 + 1 && q2 == n / 2 + 1) continue;  // majority, above
                add_threshold_choice(plan, n, q1, q2);
            }
        }
    }
    if (opts.grid) {
        for (std::size_t rows = 2; rows <= n / 2; ++rows) {
            if (n % rows == 0 && n / rows >= 2) add_grid_choice(plan, rows, n / rows);
        }
    }
    if (!opts.weighted) return plan;
    std::vector<std::vector<std::uint32_t>> seen;
    for (auto& w : detail::weightings(t)) {
        const bool uniform = std::adjacent_find(w.weights.begin(), w.weights.end(),
                                                std::not_equal_to<>()) == w.weights.end();
        if (uniform || std::find(seen.begin(), seen.end(), w.weights) != seen.end()) continue;
        seen.push_back(w.weights);
        std::uint64_t total = 0;
        for (const std::uint32_t x : w.weights) total += x;
        const std::uint64_t half = total / 2 + 1;
        add_weighted_choice(plan, std::string("weighted ") + w.name, w.weights, half, half);
    }
    return plan;
}

// ===========================================================================
// Failure analysis: which crashed-node sets leave each phase possible.

struct failure_level {
    std::size_t failed = 0;       // nodes down
    std::uint64_t sets = 0;       // C(N, failed)
    std::uint64_t phase1_ok = 0;  // the survivors hold a phase-1 quorum (a leader can be elected)
    std::uint64_t phase2_ok = 0;  // the survivors hold a phase-2 quorum (commands can commit)
    std::uint64_t both_ok = 0;    // both: the cluster makes progress, even after a leader loss
};

struct failure_report {
    std::vector<failure_level> levels;  // failed = 1 .. the requested bound
    // The largest k such that every set of k or fewer failures leaves both
    // phases possible.
    std::size_t tolerated = 0;
    // tolerated * 1000 plus, per mille, the share of (tolerated + 1)-node
    // failure sets that still leave both phases possible (when that level
    // was analysed): the x axis of the plot.
    std::uint64_t score_permille = 0;
    // The failure sets (of at most the bound) that stop progress and have no
    // smaller subset that does: the configuration's weak spots.
    std::vector<node_set> minimal_breaking;
};

// Enumerates every set of at most `failures_max` nodes (N <= nodes_max), in
// one pass over the 2^N node sets.
inline failure_report analyse_failures(const quorum_choice& q, std::size_t n,
                                       std::size_t failures_max) {
    PAXOS_ASSERT(n >= 1 && n <= nodes_max);
    failures_max = std::min(failures_max, n);
    const auto breaks = [&](node_set down) {
        const node_set up = down.complement(n);
        return !(q.is_phase1_quorum(up) && q.is_phase2_quorum(up));
    };
    failure_report r;
    for (std::size_t k = 1; k <= failures_max; ++k) r.levels.push_back({k, 0, 0, 0, 0});
    for (std::uint64_t mask = 1; mask < (std::uint64_t{1} << n); ++mask) {
        const node_set down{mask};
        if (down.size() > failures_max) continue;
        const node_set up = down.complement(n);
        const bool p1 = q.is_phase1_quorum(up);
        const bool p2 = q.is_phase2_quorum(up);
        failure_level& level = r.levels[down.size() - 1];
        ++level.sets;
        level.phase1_ok += p1 ? 1 : 0;
        level.phase2_ok += p2 ? 1 : 0;
        level.both_ok += p1 && p2 ? 1 : 0;
        if (p1 && p2) continue;
        // Monotone quorums: minimal if no set one node smaller breaks too.
        bool minimal = true;
        for (std::size_t i = 0; i < n && minimal; ++i) {
            node_set smaller = down;
            smaller.erase(node_id{static_cast<std::uint16_t>(i)});
            if (smaller != down && breaks(smaller)) minimal = false;
        }
        if (minimal) r.minimal_breaking.push_back(down);
    }
    // Listed by size, then by mask: the order a reader scans.
    std::stable_sort(r.minimal_breaking.begin(), r.minimal_breaking.end(),
                     [](node_set a, node_set b) { return a.size() < b.size(); });
    r.tolerated = failures_max;
    r.score_permille = failures_max * 1000;
    for (const failure_level& level : r.levels) {
        if (level.both_ok == level.sets) continue;
        r.tolerated = level.failed - 1;
        r.score_permille = r.tolerated * 1000 + level.both_ok * 1000 / level.sets;
        break;
    }
    if (breaks(node_set{})) {  // no progress even with every node up
        r.tolerated = 0;
        r.score_permille = 0;
    }
    return r;
}

// ===========================================================================
// Closed forms: the latency the matrix predicts for a stable leader.

// The smallest round trip r from `leader` such that the nodes within r of it
// (the leader itself at 0) form a quorum of the given phase. For any monotone
// quorum system that is the time a quorum's replies take to arrive with no
// jitter; for Q2 of N nodes it is the Q2-th smallest round trip.
template <class IsQuorum>
time_us quorum_round_trip_us(const topology& t, node_id leader, IsQuorum is_quorum) {
    const std::size_t n = t.node_count();
    std::vector<std::pair<time_us, std::size_t>> by_rtt;
    for (std::size_t i = 0; i < n; ++i) by_rtt.push_back({t.rtt(leader.value, i), i});
    std::sort(by_rtt.begin(), by_rtt.end());
    node_set reached;
    for (const auto& [rtt, i] : by_rtt) {
        reached.insert(node_id{static_cast<std::uint16_t>(i)});
        if (is_quorum(reached)) return rtt;
    }
    PAXOS_ASSERT(false);  // every node together is a quorum of any valid system
    return 0;
}

inline time_us phase2_closed_form_us(const quorum_choice& q, const topology& t) {
    return quorum_round_trip_us(t, t.leader, [&](node_set s) { return q.is_phase2_quorum(s); });
}

inline time_us phase1_closed_form_us(const quorum_choice& q, const topology& t, node_id candidate) {
    return quorum_round_trip_us(t, candidate, [&](node_set s) { return q.is_phase1_quorum(s); });
}

// ===========================================================================
// Workload and timing.

struct workload {
    std::size_t clients_per_site = 2;
    // The steady phase ends, and the leader crashes, once every client has had
    // this many commands acknowledged (near clients get more done meanwhile).
    std::uint64_t commands_per_client = 200;
    time_us think_us = 0;          // a client's pause between commands
    time_us fsync_us = 0;          // one durable write; the disk is serial
    std::size_t crash_trials = 5;  // leader crashes measured (one per run)
    // Commands per client before the crash in the runs after the first (the
    // first run's steady phase gives the latency figures; later runs only
    // add crash samples, so they start sooner).
    std::uint64_t trial_commands_per_client = 20;
};

// Ticks and timeouts, derived from the matrix so that no election starts
// while the leader is alive and a candidate's Phase 1 has time to finish.
struct timing {
    time_us tick_us = 1'000;
    std::uint32_t heartbeat_ticks = 2;
    std::uint32_t election_ticks_min = 10;
    std::uint32_t election_ticks_max = 20;
    std::uint32_t retransmit_ticks = 4;
    time_us client_retry_us = 0;    // a client tries another node after this silence
    time_us clients_start_us = 0;   // the leader is elected by then
    time_us recovery_bound_us = 0;  // after the crash, give up ("never") past this
};

inline timing derive_timing(const topology& t, const workload& w) {
    // The slowest exchange: the largest round trip, its worst tail, and
    // a durable write at each end.
    const time_us slow =
        std::max<time_us>(t.max_rtt(), 200) + 2 * t.matrix.tail_max_us + 2 * w.fsync_us;
    timing out;
    out.tick_us = std::clamp<time_us>(t.max_rtt() / 10, 500, 10'000);
    const auto ticks = [&](time_us us) {
        return static_cast<std::uint32_t>((us + out.tick_us - 1) / out.tick_us);
    };
    out.heartbeat_ticks = 2;
    out.election_ticks_min = std::max<std::uint32_t>(10, ticks(2 * slow));
    out.election_ticks_max = 2 * out.election_ticks_min;
    out.retransmit_ticks = std::max<std::uint32_t>(4, ticks(slow + slow / 2));
    out.client_retry_us = 3 * slow + 4 * out.tick_us;
    out.clients_start_us = 2 * slow + 10 * out.tick_us;
    out.recovery_bound_us = 20 * out.tick_us * out.election_ticks_max;
    return out;
}

// ===========================================================================
// One simulated run: a steady phase, then the leader crashes.

struct trial_result {
    std::string failure;                                 // empty when the run was sound
    std::vector<time_us> leader_latencies;               // propose -> chosen, at the leader
    std::vector<std::vector<time_us>> client_latencies;  // per site: send -> reply
    std::uint64_t acknowledged = 0;     // commands acknowledged in the steady phase
    time_us steady_us = 0;              // from the clients' start to the crash
    std::uint64_t messages = 0;         // replica messages sent in the steady phase
    std::uint64_t leader_changes = 0;   // elections in the steady phase (0 expected)
    std::optional<time_us> elect_us;    // crash -> another node completes Phase 1
    std::optional<time_us> recover_us;  // crash -> a command chosen under a new leader
};

struct trial_options {
    std::uint64_t seed = 1;
    std::uint64_t commands_per_client = 200;  // each client's, before the crash
    bool record = true;                       // keep latency samples
};

template <class Quorum>
class trial {
public:
    using config_type = config<std::uint64_t, counter_ballot<nodes_max>, Quorum, stable_leader,
                               nodes_max, window_slots, batch_values_max>;
    using replica_type = replica<config_type>;
    using message_type = typename replica_type::message_type;
    using message_buffer = typename replica_type::message_buffer;
    using ready_type = typename replica_type::ready_type;
    using harness_type = harness<config_type, trial>;
    friend harness_type;

    trial(const topology& t, const timing& tm, const workload& w, const Quorum& q,
          const trial_options& o)
        : topo_(t),
          timing_(tm),
          load_(w),
          options_(o),
          rng_(o.seed),
          network_(t.node_count()),
          cluster_(*this, t.node_count(), harness_options_for()) {
        PAXOS_ASSERT(q.node_count() == t.node_count());
        const std::size_t n = t.node_count();
        link_delays links{n, std::vector<time_us>(n * n, 0), t.matrix.jitter_permille};
        for (std::size_t a = 0; a < n; ++a) {
            for (std::size_t b = 0; b < n; ++b) links.base[a * n + b] = t.one_way(a, b);
        }
        network_.set_link_delays(std::move(links));
        network_.latency = tail_model();
        nodes_.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            typename replica_type::options ro{};
            ro.self = node_id{static_cast<std::uint16_t>(i)};
            ro.seed = rng_.next();
            ro.leader.heartbeat_ticks = tm.heartbeat_ticks;
            ro.leader.election_ticks_min = tm.election_ticks_min;
            ro.leader.election_ticks_max = tm.election_ticks_max;
            ro.retransmit_ticks = tm.retransmit_ticks;
            cluster_[i].replica = std::make_unique<replica_type>(ro, q);
            nodes_[i].next_tick = rng_.below(tm.tick_us);
        }
        for (std::size_t s = 0; s < t.matrix.site_count(); ++s) {
            for (std::size_t c = 0; c < w.clients_per_site; ++c) {
                client cl;
                cl.site = s;
                cl.local = t.first_node_at(s).value_or(t.leader.value);
                cl.target = t.leader.value;
                clients_.push_back(cl);
            }
        }
        result_.client_latencies.resize(t.matrix.site_count());
        // Each client's commands take at most a retry period plus thinking;
        // twice that is the bound on the steady phase.
        run_bound_us_ = tm.clients_start_us +
                        2 * (o.commands_per_client + 1) * (tm.client_retry_us + w.think_us);
    }

    trial_result run() {
        const std::size_t leader = topo_.leader.value;
        (void)cluster_.replica_at(leader).campaign();
        cluster_.drain(leader);
        for (std::size_t c = 0; c < clients_.size(); ++c) {
            schedule(timing_.clients_start_us + rng_.below(timing_.tick_us), event_kind::issue, c);
        }
        while (!finished_ && result_.failure.empty() && step()) {
        }
        if (result_.failure.empty() && !crashed_) {
            result_.failure = "the steady phase never finished (no leader?)";
        }
        return std::move(result_);
    }

private:
    static constexpr std::size_t none = ~std::size_t{0};

    // What a trial keeps per node beside the harness's replica and inbox.
    struct node {
        bool leading = false;  // as last seen by the driver
        time_us next_tick = 0;
        time_us disk_free_at = 0;  // the serial disk finishes its queue then
    };

    struct client {
        std::size_t site = 0;
        std::size_t local = 0;  // a node at the client's site (or the leader)
        std::size_t target = 0;
        std::size_t suspect = none;  // the node that last kept silent
        std::uint64_t sequence = 0;
        std::uint64_t current = 0;
        std::uint64_t attempt = 0;  // answers to older attempts are ignored
        std::uint64_t acknowledged = 0;
        bool waiting = false;
        bool reply_pending = false;  // the node applied it; the reply is on its way
        std::size_t submitted_to = none;
        time_us issued_at = 0;
        time_us proposed_at = 0;
    };

    enum class event_kind : std::uint8_t { issue, request, ok, redirect, busy, resend, timeout };

    struct client_event {
        time_us at = 0;
        std::uint64_t sequence = 0;
        event_kind kind = event_kind::issue;
        std::size_t client = 0;
        std::size_t node = 0;
        std::uint64_t attempt = 0;
        node_id hint{};
    };
    struct later {
        bool operator()(const client_event& a, const client_event& b) const noexcept {
            return a.at != b.at ? a.at > b.at : a.sequence > b.sequence;
        }
    };

    latency_model tail_model() const {
        const latency_matrix& m = topo_.matrix;
        if (m.tail_permille == 0 || m.tail_max_us == 0) {
            return {latency_model::shape::fixed, 0, 0, 0, 0};
        }
        return {latency_model::shape::long_tail, 0, 0, m.tail_permille, m.tail_max_us};
    }

    // A client's message to or from a node: the same model as the network.
    time_us client_delay(std::size_t from_site, std::size_t to_site) {
        const time_us base = topo_.matrix.at(from_site, to_site);
        const time_us jitter = rng_.below(base * topo_.matrix.jitter_permille / 1000 + 1);
        return base + jitter + tail_model().draw(rng_);
    }

    void schedule(time_us at, event_kind kind, std::size_t c, std::size_t node = 0,
                  node_id hint = node_id::none()) {
        events_.push({at, event_sequence_++, kind, c, node, clients_[c].attempt, hint});
    }

    // ---- the event loop -----------------------------------------------------

    // Runs the earliest event; false when there is none. Ties go to the
    // network, then clients, then ticks, then the crash.
    bool step() {
        time_us next = ~time_us{0};
        int which = -1;
        std::size_t index = 0;
        if (network_.has_next()) {
            next = network_.next_time();
            which = 0;
        }
        if (!events_.empty() && events_.top().at < next) {
            next = events_.top().at;
            which = 1;
        }
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (cluster_[i].up && nodes_[i].next_tick < next) {
                next = nodes_[i].next_tick;
                which = 2;
                index = i;
            }
            if (cluster_[i].up && cluster_[i].busy() && cluster_[i].sync_done < next) {
                next = cluster_[i].sync_done;
                which = 4;
                index = i;
            }
        }
        if (crash_pending_ && crash_at_ < next) {
            next = crash_at_;
            which = 3;
        }
        if (which < 0) return false;
        now_ = next;
        if (crashed_ && now_ > crash_time_ + timing_.recovery_bound_us) {
            finished_ = true;  // no recovery within the bound: "never"
            return false;
        }
        if (!crashed_ && now_ > run_bound_us_) return false;  // reported by run()
        switch (which) {
            case 0: deliver(network_.pop()); break;
            case 1: client_step(); break;
            case 2: tick(index); break;
            case 4: cluster_.synced(index); break;
            default: crash(); break;
        }
        return true;
    }

    void deliver(const typename network<message_buffer>::delivery& d) {
        const std::size_t i = d.to.value;
        if (!cluster_[i].up) return;
        if (cluster_.hold_if_busy(i, d.message)) return;
        (void)cluster_.replica_at(i).step(d.message);
        cluster_.drain(i);
    }

    void tick(std::size_t i) {
        nodes_[i].next_tick += timing_.tick_us;
        if (cluster_.owe_tick_if_busy(i)) return;
        (void)cluster_.replica_at(i).tick();
        cluster_.drain(i);
    }

    // ---- the harness's driver hooks (sim/harness.hpp) ---------------------------
    //
    // The ready loop with a disk that takes time (a serial disk: each sync
    // waits for the one before, and costs fsync_us). send_now leaves at once;
    // a batch that needs a sync keeps the node busy until it is done, and
    // only then do send_after_sync, the applies and advance() follow (so the
    // leader's own vote counts when it is durable, as on a real machine, and
    // a commit is timed when the leader could answer its client). The disk
    // is a cost only: no node restarts from it, so nothing is stored.

    static harness_options harness_options_for() {
        harness_options h{};
        h.apply = apply_point::after_sync;
        h.persist = false;
        return h;
    }

    time_us sync_done_at(std::size_t i) {
        node& n = nodes_[i];
        n.disk_free_at = std::max(now_, n.disk_free_at) + load_.fsync_us;
        return n.disk_free_at;
    }

    void drained(std::size_t i) { watch_leadership(i); }
    void durable(std::size_t, const ready_type&) {}
    void before_send(std::size_t, const message_type&) {}
    void replayed(std::size_t, const message_buffer&) {}
    void storage_failed(std::size_t) {}  // nothing is stored

    void apply(std::size_t i, const chosen_entry<std::uint64_t>& e) {
        apply(i, e.slot.value, e.values, now_);
    }

    void transmit(std::size_t from, std::size_t, const message_buffer& copy) {
        (void)network_.send(now_, node_id{static_cast<std::uint16_t>(from)}, copy.to, copy, rng_);
        if (counting_) ++result_.messages;
    }

    // Slots a node released from its window, served from the chosen log.
    void serve_catch_up(std::size_t self, const catch_up_request& asked) {
        replica_type& r = cluster_.replica_at(self);
        const std::uint64_t peer = asked.peer.value;
        const std::uint64_t from = asked.from.value;
        const std::uint64_t end = std::min<std::uint64_t>(asked.to.value, log_.size());
        for (std::uint64_t s = from; s < end && s < from + window_slots; ++s) {
            const message_type c = r.chosen_message_for(node_id{static_cast<std::uint16_t>(peer)},
                                                        slot_id{s}, log_[s]);
            cluster_.fan_out(self, c);
        }
    }

    void watch_leadership(std::size_t i) {
        node& n = nodes_[i];
        const bool leading = cluster_[i].up && cluster_[i].replica->is_leader();
        if (leading && !n.leading && i != topo_.leader.value) {
            if (!crashed_) {
                ++result_.leader_changes;
            } else if (!result_.elect_us) {
                result_.elect_us = now_ - crash_time_;
            }
        }
        n.leading = leading;
    }

    void apply(std::size_t i, std::uint64_t slot, std::span<const std::uint64_t> values,
               time_us at) {
        // Agreement, checked from outside: every node applies one value per slot.
        if (slot >= log_.size()) {
            log_.resize(slot + 1);
            log_known_.resize(slot + 1, false);
        }
        if (!log_known_[slot]) {
            log_[slot].assign(values.begin(), values.end());
            log_known_[slot] = true;
        } else if (!std::equal(values.begin(), values.end(), log_[slot].begin(),
                               log_[slot].end())) {
            result_.failure = "agreement violated: node " + std::to_string(i) +
                              " applied another value in slot " + std::to_string(slot);
            return;
        }
        for (const std::uint64_t c : values) committed(i, c, at);
        const bool new_leader = crashed_ && i != topo_.leader.value &&
                                cluster_.replica_at(i).is_leader() && !values.empty();
        if (new_leader && !result_.recover_us) {
            result_.recover_us = at - crash_time_;
            finished_ = true;
        }
    }

    // Node i applied command c at `at`: the node the client gave it to replies.
    void committed(std::size_t i, std::uint64_t c, time_us at) {
        const std::uint64_t owner = c >> 32;
        if (owner == 0 || owner > clients_.size()) return;
        client& cl = clients_[owner - 1];
        if (!cl.waiting || cl.current != c || cl.submitted_to != i || cl.reply_pending) return;
        cl.reply_pending = true;
        if (options_.record && !crashed_ && i == topo_.leader.value) {
            result_.leader_latencies.push_back(at - cl.proposed_at);
        }
        schedule(at + client_delay(topo_.site_of[i], cl.site), event_kind::ok, owner - 1, i);
    }

    // ---- clients ----------------------------------------------------------------

    void client_step() {
        const client_event e = events_.top();
        events_.pop();
        client& cl = clients_[e.client];
        const bool current = cl.waiting && e.attempt == cl.attempt;
        switch (e.kind) {
            case event_kind::issue: issue(e.client); break;
            case event_kind::request:
                if (current) request(e.client, e.node);
                break;
            case event_kind::ok:
                if (current) acknowledge(e.client);
                break;
            case event_kind::redirect:
                if (current) redirect(e.client, e.hint);
                break;
            case event_kind::busy:
                if (current) schedule(now_ + timing_.tick_us, event_kind::resend, e.client);
                break;
            case event_kind::resend:
                if (current) submit(e.client);
                break;
            case event_kind::timeout:
                if (current && !cl.reply_pending) {
                    cl.suspect = cl.target;
                    cl.target = next_target(cl);
                    submit(e.client);
                }
                break;
        }
    }

    void issue(std::size_t c) {
        client& cl = clients_[c];
        if (!started_) {  // the steady phase starts with the first command
            started_ = true;
            counting_ = true;
            steady_start_ = now_;
        }
        cl.current = (std::uint64_t{c + 1} << 32) | ++cl.sequence;
        cl.waiting = true;
        cl.reply_pending = false;
        cl.submitted_to = none;
        cl.issued_at = now_;
        submit(c);
    }

    void submit(std::size_t c) {
        client& cl = clients_[c];
        ++cl.attempt;
        const std::size_t target_site = topo_.site_of[cl.target];
        schedule(now_ + client_delay(cl.site, target_site), event_kind::request, c, cl.target);
        schedule(now_ + timing_.client_retry_us, event_kind::timeout, c);
    }

    // The request reaches node `i`.
    void request(std::size_t c, std::size_t i) {
        client& cl = clients_[c];
        const auto& n = cluster_[i];
        if (!n.up) return;  // silence: the client's timeout moves it on
        if (n.busy()) {     // busy with its disk: the request waits in its queue
            schedule(n.sync_done + 1, event_kind::request, c, i);
            return;
        }
        const result res = n.replica->propose(cl.current);
        if (res.ok()) {  // before draining: with Q2 = 1 it is chosen in this drain
            cl.submitted_to = i;
            cl.proposed_at = now_;
        }
        cluster_.drain(i);
        if (res.ok()) return;
        const time_us back = now_ + client_delay(topo_.site_of[i], cl.site);
        if (res.code == reason::not_leader) {
            schedule(back, event_kind::redirect, c, i, res.leader);
        } else {
            schedule(back, event_kind::busy, c, i);
        }
    }

    void redirect(std::size_t c, node_id hint) {
        client& cl = clients_[c];
        const bool usable =
            hint.value < nodes_.size() && hint.value != cl.suspect && hint.value != cl.target;
        cl.target = usable ? hint.value : next_target(cl);
        submit(c);
    }

    // The client's own site first, then round the cluster, skipping the
    // node that kept silent.
    std::size_t next_target(const client& cl) const {
        if (cl.local != cl.suspect && cl.local != cl.target) return cl.local;
        std::size_t t = cl.target;
        for (std::size_t k = 0; k < nodes_.size(); ++k) {
            t = (t + 1) % nodes_.size();
            if (t != cl.suspect) return t;
        }
        return t;
    }

    void acknowledge(std::size_t c) {
        client& cl = clients_[c];
        cl.waiting = false;
        cl.reply_pending = false;
        if (!crashed_) {
            ++result_.acknowledged;
            if (options_.record) result_.client_latencies[cl.site].push_back(now_ - cl.issued_at);
            // The steady phase lasts until every client, near or far, has
            // had commands_per_client commands acknowledged.
            if (++cl.acknowledged == options_.commands_per_client) ++clients_done_;
            if (clients_done_ == clients_.size() && !crash_pending_) {
                crash_pending_ = true;
                crash_at_ = now_;
            }
        }
        schedule(now_ + load_.think_us, event_kind::issue, c);
    }

    // ---- the crash ----------------------------------------------------------------

    // The leader crashes when its disk is idle, so nothing it sent is undone.
    void crash() {
        const std::size_t i = topo_.leader.value;
        node& leader = nodes_[i];
        if (leader.disk_free_at > now_) {
            crash_at_ = leader.disk_free_at;
            return;
        }
        crash_pending_ = false;
        if (!cluster_.replica_at(i).is_leader()) {
            result_.failure = "the leader lost its role during the steady phase";
            return;
        }
        cluster_.crash(i, harness_type::crash_mode::lose_unsynced, 0);
        leader.leading = false;
        crashed_ = true;
        crash_time_ = now_;
        counting_ = false;
        result_.steady_us = now_ - steady_start_;
    }

    const topology& topo_;
    timing timing_;
    workload load_;
    trial_options options_;
    prng rng_;
    network<message_buffer> network_;
    std::vector<node> nodes_;
    harness_type cluster_;
    std::vector<client> clients_;
    std::priority_queue<client_event, std::vector<client_event>, later> events_;
    std::uint64_t event_sequence_ = 0;
    std::size_t clients_done_ = 0;                 // clients with commands_per_client acknowledged
    std::vector<std::vector<std::uint64_t>> log_;  // the first value applied per slot
    std::vector<bool> log_known_;
    trial_result result_;
    time_us now_ = 0;
    time_us steady_start_ = 0;
    time_us run_bound_us_ = 0;
    bool started_ = false;
    bool counting_ = false;
    bool crash_pending_ = false;
    time_us crash_at_ = 0;
    bool crashed_ = false;
    time_us crash_time_ = 0;
    bool finished_ = false;
};

// ===========================================================================
// The sweep: every configuration, its runs, its figures.

struct latency_summary {
    std::uint64_t count = 0;
    time_us p50 = 0;
    time_us p99 = 0;
};

// Nearest-rank percentiles (the p-th percentile is the smallest sample with
// at least p% of the samples at or below it).
inline latency_summary summarize(std::vector<time_us> samples) {
    latency_summary s;
    s.count = samples.size();
    if (samples.empty()) return s;
    std::sort(samples.begin(), samples.end());
    const auto rank = [&](std::uint64_t percent) {
        const std::uint64_t r = (s.count * percent + 99) / 100;
        return samples[std::max<std::uint64_t>(r, 1) - 1];
    };
    s.p50 = rank(50);
    s.p99 = rank(99);
    return s;
}

struct config_result {
    quorum_choice choice;
    failure_report failures;
    bool meets_failures = false;           // tolerates the requested number of failures
    time_us model_phase2_us = 0;           // the closed form for the leader's commit
    latency_summary leader;                // propose -> chosen at the leader
    std::vector<latency_summary> clients;  // per site: a client's send -> reply
    std::uint64_t throughput_milli = 0;    // commands per second, times 1000
    std::uint64_t messages_per_commit_milli = 0;
    std::vector<std::optional<time_us>> elect;    // per crash trial
    std::vector<std::optional<time_us>> recover;  // per crash trial
    std::optional<time_us> elect_p50;             // "never" (nullopt) if most trials never did
    std::optional<time_us> recover_p50;
    std::size_t recovered = 0;  // trials that recovered
    std::uint64_t leader_changes = 0;
    std::string failure;  // a run that broke (the figures are then not trusted)
    bool pareto = false;  // on the front of (failures tolerated up, latency down)
};

struct lab_options {
    topology topo;
    workload load;
    std::size_t failures = 1;  // analyse failure sets up to this size
    std::uint64_t seed = 1;
    sweep_options sweep;
};

// The resolution figures are printed with: 0.1 ms for wide-area matrices,
// 1 us when every round trip is below 10 ms.
inline time_us time_resolution_us(const topology& t) { return t.max_rtt() >= 10'000 ? 100 : 1; }

struct lab_result {
    lab_options options;
    timing times;
    std::vector<config_result> configs;
    std::vector<refused_choice> refused;
};

// One run of the replicas with quorum system `q` (built by a checking factory).
template <class Quorum>
trial_result run_trial(const lab_options& o, const timing& tm, const Quorum& q,
                       const trial_options& to) {
    trial<Quorum> run(o.topo, tm, o.load, q, to);
    return run.run();
}

namespace detail {

// The lower median, counting "never" (nullopt) as longer than any time.
inline std::optional<time_us> median_or_never(std::vector<std::optional<time_us>> v) {
    if (v.empty()) return std::nullopt;
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
        if (!a || !b) return a.has_value() && !b.has_value();
        return *a < *b;
    });
    return v[(v.size() + 1) / 2 - 1];
}

// Trial t's seed: the same for every configuration, so all of them meet the
// same random draws where their runs agree.
inline std::uint64_t trial_seed(std::uint64_t seed, std::size_t t) {
    prng mix(seed ^ (0x9E3779B97F4A7C15ull * (t + 1)));
    return mix.next();
}

inline trial_result run_choice_trial(const lab_options& o, const timing& tm, const quorum_choice& c,
                                     const trial_options& to) {
    if (c.threshold) return run_trial(o, tm, *c.threshold, to);
    if (c.weighted) return run_trial(o, tm, *c.weighted, to);
    PAXOS_ASSERT(c.grid.has_value());
    return run_trial(o, tm, *c.grid, to);
}

inline void add_trial(config_result& r, const trial_result& t, bool first) {
    if (!t.failure.empty() && r.failure.empty()) r.failure = t.failure;
    r.elect.push_back(t.elect_us);
    r.recover.push_back(t.recover_us);
    r.recovered += t.recover_us ? 1 : 0;
    r.leader_changes += t.leader_changes;
    if (!first) return;
    std::vector<time_us> all;
    for (const auto& site : t.client_latencies) all.insert(all.end(), site.begin(), site.end());
    r.leader = summarize(t.leader_latencies);
    for (const auto& site : t.client_latencies) r.clients.push_back(summarize(site));
    if (t.steady_us > 0) {
        r.throughput_milli = t.acknowledged * 1'000'000'000 / t.steady_us;
    }
    if (t.acknowledged > 0) r.messages_per_commit_milli = t.messages * 1000 / t.acknowledged;
}

// A point is on the front unless another tolerates at least as much with at
// most its latency, and is better in one of the two. Latencies are compared
// at the resolution they are printed with, so jitter of a few microseconds
// does not decide between two configurations that wait for the same replies.
inline void mark_pareto(std::vector<config_result>& configs, time_us resolution_us) {
    const auto latency = [&](const config_result& c) {
        return (c.leader.p50 + resolution_us / 2) / resolution_us;
    };
    for (config_result& p : configs) {
        if (!p.failure.empty() || p.leader.count == 0) continue;
        p.pareto = true;
        for (const config_result& q : configs) {
            if (!q.failure.empty() || q.leader.count == 0) continue;
            const bool no_worse =
                q.failures.score_permille >= p.failures.score_permille && latency(q) <= latency(p);
            const bool better =
                q.failures.score_permille > p.failures.score_permille || latency(q) < latency(p);
            if (no_worse && better) {
                p.pareto = false;
                break;
            }
        }
    }
}

}  // namespace detail

// Runs one configuration: the failure analysis, the closed form, and
// crash_trials runs (the first also gives the steady-state figures).
inline config_result run_choice(const lab_options& o, const timing& tm, const quorum_choice& c) {
    config_result r;
    r.choice = c;
    r.failures = analyse_failures(c, o.topo.node_count(), o.failures);
    r.meets_failures = r.failures.tolerated >= std::min(o.failures, o.topo.node_count());
    r.model_phase2_us = phase2_closed_form_us(c, o.topo);
    const std::size_t trials = std::max<std::size_t>(o.load.crash_trials, 1);
    for (std::size_t t = 0; t < trials; ++t) {
        trial_options to;
        to.seed = detail::trial_seed(o.seed, t);
        to.record = t == 0;
        to.commands_per_client =
            t == 0 ? o.load.commands_per_client
                   : std::min(o.load.commands_per_client, o.load.trial_commands_per_client);
        detail::add_trial(r, detail::run_choice_trial(o, tm, c, to), t == 0);
    }
    r.elect_p50 = detail::median_or_never(r.elect);
    r.recover_p50 = detail::median_or_never(r.recover);
    return r;
}

// Checks the options a caller may get wrong; empty when they are fine.
inline std::string check_lab_options(const lab_options& o) {
    const std::size_t clients = o.load.clients_per_site * o.topo.matrix.site_count();
    if (clients == 0) return "the workload needs at least one client";
    // Every outstanding command may need a slot of the leader's window.
    if (clients > window_slots / 2) {
        return "at most " + std::to_string(window_slots / 2) + " clients in all (" +
               std::to_string(clients) + " asked)";
    }
    if (o.load.commands_per_client == 0) return "the workload needs at least one command";
    if (o.topo.node_count() == 0 || o.topo.node_count() > nodes_max) return "bad node count";
    return {};
}

inline lab_result run_lab(const lab_options& o) {
    PAXOS_ASSERT(check_lab_options(o).empty());
    lab_result out;
    out.options = o;
    out.times = derive_timing(o.topo, o.load);
    sweep_plan plan = plan_sweep(o.topo, o.sweep);
    out.refused = std::move(plan.refused);
    for (const quorum_choice& c : plan.choices) out.configs.push_back(run_choice(o, out.times, c));
    detail::mark_pareto(out.configs, time_resolution_us(o.topo));
    return out;
}

}  // namespace paxos::sim::lab
