// bench/quorums/report.hpp: the quorum explorer's output, as a text table,
// CSV, Markdown and an SVG plot, all from one lab_result.
//
// Every number is formatted from integer microseconds with integer
// arithmetic, and every list is printed in the sweep's order, so the same
// result gives the same bytes on every compiler and platform.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "quorum_lab.hpp"

namespace paxos_quorums {

using paxos::sim::time_us;
namespace lab = paxos::sim::lab;

// What the report says about where it came from.
struct report_context {
    std::string title;    // e.g. "five-regions"
    std::string command;  // the command line that produced it (for Markdown)
};

// ---- numbers -----------------------------------------------------------------

// Microseconds as milliseconds at `resolution_us` (100: one decimal; 1: three).
inline std::string ms(time_us us, time_us resolution_us) {
    if (resolution_us >= 100) {
        const time_us tenths = (us + 50) / 100;
        return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
    }
    std::string frac = std::to_string(us % 1000);
    frac.insert(0, 3 - frac.size(), '0');
    return std::to_string(us / 1000) + "." + frac;
}

// A value stored times 1000, with `decimals` (1..3) decimals, rounded.
inline std::string milli(std::uint64_t v, unsigned decimals) {
    std::uint64_t scale = 1;
    for (unsigned d = decimals; d < 3; ++d) scale *= 10;
    const std::uint64_t r = (v + scale / 2) / scale;
    std::uint64_t unit = 1;
    for (unsigned d = 0; d < decimals; ++d) unit *= 10;
    std::string frac = std::to_string(r % unit);
    frac.insert(0, decimals - frac.size(), '0');
    return std::to_string(r / unit) + "." + frac;
}

inline std::string node_list(paxos::node_set s, std::size_t n) {
    std::string out = "{";
    bool first = true;
    for (std::size_t i = 0; i < n; ++i) {
        if (!s.contains(paxos::node_id{static_cast<std::uint16_t>(i)})) continue;
        if (!first) out += ',';
        out += std::to_string(i);
        first = false;
    }
    return out + "}";
}

// ---- a table, rendered as text or Markdown --------------------------------------

struct table {
    std::vector<std::string> header;
    std::vector<bool> right;  // per column: right-aligned (numbers)
    std::vector<std::vector<std::string>> rows;

    std::string text() const {
        std::vector<std::size_t> width(header.size(), 0);
        for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
        for (const auto& row : rows) {
            for (std::size_t c = 0; c < row.size(); ++c)
                width[c] = std::max(width[c], row[c].size());
        }
        std::string out = line(header, width);
        std::size_t total = 0;
        for (std::size_t w : width) total += w + 2;
        out += std::string(total - 2, '-') + "\n";
        for (const auto& row : rows) out += line(row, width);
        return out;
    }

    std::string markdown() const {
        std::string out = "|";
        for (const auto& h : header) out += " " + h + " |";
        out += "\n|";
        for (std::size_t c = 0; c < header.size(); ++c) out += right[c] ? " ---: |" : " --- |";
        out += "\n";
        for (const auto& row : rows) {
            out += "|";
            for (const auto& cell : row) out += " " + cell + " |";
            out += "\n";
        }
        return out;
    }

private:
    std::string line(const std::vector<std::string>& cells,
                     const std::vector<std::size_t>& width) const {
        std::string out;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const std::string pad(width[c] - cells[c].size(), ' ');
            out += right[c] ? pad + cells[c] : cells[c] + pad;
            if (c + 1 < cells.size()) out += "  ";
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        return out + "\n";
    }
};

// ---- the two tables ---------------------------------------------------------------

inline std::string or_never(const std::optional<time_us>& t, time_us res) {
    return t ? ms(*t, res) : std::string("never");
}

inline std::string latency_pair(const lab::latency_summary& s, time_us res) {
    if (s.count == 0) return "-";
    return ms(s.p50, res) + "/" + ms(s.p99, res);
}

// Latency, throughput, messages and recovery, one row per configuration.
inline table performance_table(const lab::lab_result& r) {
    const time_us res = lab::time_resolution_us(r.options.topo);
    const auto& sites = r.options.topo.matrix.sites;
    table t;
    t.header = {"config", "phase 1", "phase 2", "model", "leader"};
    t.right = {false, false, false, true, true};
    for (const auto& s : sites) {
        t.header.push_back(s);
        t.right.push_back(true);
    }
    for (const char* h : {"cmd/s", "msg/cmd", "elect", "recover"}) {
        t.header.push_back(h);
        t.right.push_back(true);
    }
    for (const lab::config_result& c : r.configs) {
        std::vector<std::string> row = {c.choice.name + (c.pareto ? " *" : ""),
                                        c.choice.phase1_rule, c.choice.phase2_rule,
                                        ms(c.model_phase2_us, res), latency_pair(c.leader, res)};
        for (std::size_t s = 0; s < sites.size(); ++s) {
            row.push_back(s < c.clients.size() ? latency_pair(c.clients[s], res) : "-");
        }
        row.push_back(milli(c.throughput_milli, 1));
        row.push_back(milli(c.messages_per_commit_milli, 1));
        row.push_back(or_never(c.elect_p50, res));
        std::string recover = or_never(c.recover_p50, res);
        if (c.recovered != c.recover.size()) {
            recover +=
                " (" + std::to_string(c.recovered) + "/" + std::to_string(c.recover.size()) + ")";
        }
        row.push_back(recover);
        t.rows.push_back(std::move(row));
    }
    return t;
}

inline std::string minimal_sets(const lab::config_result& c, std::size_t n, std::size_t shown_max) {
    const auto& sets = c.failures.minimal_breaking;
    if (sets.empty()) return "none";
    std::string out;
    for (std::size_t i = 0; i < sets.size() && i < shown_max; ++i) {
        if (i) out += ' ';
        out += node_list(sets[i], n);
    }
    if (sets.size() > shown_max) out += " +" + std::to_string(sets.size() - shown_max) + " more";
    return out;
}

// Which failure sets leave each phase possible, one row per configuration.
inline table availability_table(const lab::lab_result& r, std::size_t shown_max) {
    const std::size_t n = r.options.topo.node_count();
    table t;
    t.header = {"config", "tolerates", "score"};
    t.right = {false, true, true};
    const std::size_t levels = r.configs.empty() ? 0 : r.configs[0].failures.levels.size();
    for (std::size_t k = 1; k <= levels; ++k) {
        t.header.push_back(std::to_string(k) + " down: ok/p1/p2 of " +
                           std::to_string(r.configs[0].failures.levels[k - 1].sets));
        t.right.push_back(true);
    }
    t.header.push_back("minimal failure sets that stop progress");
    t.right.push_back(false);
    for (const lab::config_result& c : r.configs) {
        std::vector<std::string> row = {c.choice.name + (c.pareto ? " *" : ""),
                                        std::to_string(c.failures.tolerated),
                                        milli(c.failures.score_permille, 2)};
        for (const lab::failure_level& l : c.failures.levels) {
            row.push_back(std::to_string(l.both_ok) + "/" + std::to_string(l.phase1_ok) + "/" +
                          std::to_string(l.phase2_ok));
        }
        row.push_back(minimal_sets(c, n, shown_max));
        t.rows.push_back(std::move(row));
    }
    return t;
}

// ---- prose around the tables ---------------------------------------------------------

inline std::string setup_lines(const lab::lab_result& r, std::string_view prefix) {
    const lab::topology& t = r.options.topo;
    const lab::workload& w = r.options.load;
    const lab::timing& tm = r.times;
    const time_us res = lab::time_resolution_us(t);
    std::string out;
    std::string nodes;
    for (std::size_t i = 0; i < t.node_count(); ++i) {
        nodes += (i ? ", " : "") + std::to_string(i) + " " + t.matrix.sites[t.site_of[i]];
    }
    out += std::string(prefix) + "nodes: " + nodes + "; leader node " +
           std::to_string(t.leader.value) + "\n";
    out += std::string(prefix) + "workload: " + std::to_string(w.clients_per_site) +
           " client(s) per site, closed loop, think " + ms(w.think_us, res) + " ms; steady phase " +
           "until every client has " + std::to_string(w.commands_per_client) +
           " commands acknowledged; fsync " + std::to_string(w.fsync_us) + " us\n";
    out += std::string(prefix) + "network: the matrix's one-way delays + up to " +
           milli(t.matrix.jitter_permille * 100, 1) + "% jitter; " +
           milli(t.matrix.tail_permille * 100, 1) + "% of messages up to " +
           ms(t.matrix.tail_max_us, res) + " ms more\n";
    out += std::string(prefix) + "timing: tick " + ms(tm.tick_us, res) + " ms, heartbeat every " +
           std::to_string(tm.heartbeat_ticks) + " ticks, election timeout " +
           std::to_string(tm.election_ticks_min) + ".." + std::to_string(tm.election_ticks_max) +
           " ticks, client retry " + ms(tm.client_retry_us, res) + " ms; " +
           std::to_string(w.crash_trials) + " leader crash(es), seed " +
           std::to_string(r.options.seed) + "\n";
    return out;
}

inline std::string refused_line(const lab::lab_result& r) {
    if (r.refused.empty()) return "refused by the quorum factories: none\n";
    std::string names;
    for (std::size_t i = 0; i < r.refused.size(); ++i) {
        std::string name = r.refused[i].name;
        const std::string prefix = "flexible ";
        if (i > 0 && name.rfind(prefix, 0) == 0 && r.refused[i - 1].name.rfind(prefix, 0) == 0) {
            name = name.substr(prefix.size());
        }
        names += (i ? ", " : "") + name;
    }
    return "refused by the quorum factories (a phase-1 and a phase-2 quorum could miss each "
           "other), never run: " +
           names + "\n";
}

// The lowest leader p50 among configurations that tolerate the requested
// failures (the one-line answer), and the Pareto front.
inline std::string verdict_lines(const lab::lab_result& r) {
    const time_us res = lab::time_resolution_us(r.options.topo);
    const lab::config_result* best = nullptr;
    std::string front;
    for (const lab::config_result& c : r.configs) {
        if (c.pareto) {
            if (!front.empty()) front += ", ";
            front += c.choice.name;
        }
        if (!c.failure.empty() || !c.meets_failures || c.leader.count == 0) continue;
        if (best == nullptr || c.leader.p50 < best->leader.p50) best = &c;
    }
    std::string out = "Pareto front (*): " + (front.empty() ? std::string("none") : front) + "\n";
    out += "Fastest leader commit that survives any " + std::to_string(r.options.failures) +
           " failure(s): ";
    out += best ? best->choice.name + " (p50 " + ms(best->leader.p50, res) + " ms)\n"
                : std::string("none\n");
    for (const lab::config_result& c : r.configs) {
        if (!c.failure.empty()) out += "BROKEN RUN: " + c.choice.name + ": " + c.failure + "\n";
        if (c.leader_changes != 0) {
            out += "warning: " + c.choice.name + ": the leader changed " +
                   std::to_string(c.leader_changes) + " time(s) during a steady phase\n";
        }
    }
    return out;
}

inline std::string weights_lines(const lab::lab_result& r, std::string_view prefix) {
    std::string out;
    for (const lab::config_result& c : r.configs) {
        if (c.choice.kind != lab::family::weighted) continue;
        std::string w;
        for (std::size_t i = 0; i < c.choice.weights.size(); ++i) {
            if (i) w += ' ';
            w += std::to_string(c.choice.weights[i]);
        }
        out += std::string(prefix) + c.choice.name + ": node weights " + w + "\n";
    }
    return out;
}

inline const char* legend_text() {
    return "Latencies in ms as p50/p99. model: the closed form for the leader's commit (the "
           "smallest round trip from the leader within which a phase-2 quorum answers). "
           "leader: propose to chosen at the leader. A site's column: a client there, send to "
           "reply (the leader answers). elect / recover: leader crash to a new leader, and to "
           "a command committed by it (median of the crash trials; never = not within the "
           "bound). ok/p1/p2: failure sets after which both phases, phase 1 (elect), phase 2 "
           "(commit) remain possible. score: tolerated failures + the share of one more that "
           "is survived. * = on the Pareto front (score up, leader p50 down).";
}

// The whole stdout report.
inline std::string text_report(const lab::lab_result& r, const report_context& ctx) {
    std::string out = "paxos_quorums: " + ctx.title + ", " +
                      std::to_string(r.options.topo.node_count()) + " nodes, failures up to " +
                      std::to_string(r.options.failures) + "\n";
    out += setup_lines(r, "  ");
    out += weights_lines(r, "  ");
    out += "\n" + performance_table(r).text() + "\n" + availability_table(r, 6).text() + "\n";
    out += refused_line(r) + verdict_lines(r) + "\n" + legend_text() + "\n";
    return out;
}

inline std::string markdown_report(const lab::lab_result& r, const report_context& ctx) {
    std::string out = "## Quorum configurations: " + ctx.title + "\n\n";
    if (!ctx.command.empty()) out += "Produced by `" + ctx.command + "`.\n\n";
    out += setup_lines(r, "- ") + weights_lines(r, "- ") + "\n";
    out += "### Latency, throughput, recovery\n\n" + performance_table(r).markdown() + "\n";
    out += "### Failures\n\n" + availability_table(r, ~std::size_t{0}).markdown() + "\n";
    out += refused_line(r) + "\n" + verdict_lines(r) + "\n" + legend_text() + "\n";
    return out;
}

// ---- CSV --------------------------------------------------------------------------------

inline std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return out + "\"";
}

inline std::string csv_row(const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (i) out += ',';
        out += csv_field(cells[i]);
    }
    return out + "\n";
}

inline std::vector<std::string> csv_header(const lab::lab_result& r) {
    std::vector<std::string> h = {
        "config",        "family",       "phase1",  "phase2", "q1", "q2",
        "rows",          "cols",         "weights", "t1",     "t2", "model_phase2_ms",
        "leader_p50_ms", "leader_p99_ms"};
    for (const auto& s : r.options.topo.matrix.sites) {
        h.push_back("client_" + s + "_p50_ms");
        h.push_back("client_" + s + "_p99_ms");
    }
    for (const char* c :
         {"throughput_cmd_per_s", "messages_per_commit", "elect_p50_ms", "recover_p50_ms",
          "recovered_trials", "crash_trials", "tolerated", "score", "meets_failures", "pareto"}) {
        h.push_back(c);
    }
    const std::size_t levels = r.configs.empty() ? 0 : r.configs[0].failures.levels.size();
    for (std::size_t k = 1; k <= levels; ++k) {
        const std::string p = "down" + std::to_string(k) + "_";
        for (const char* c : {"sets", "both_ok", "phase1_ok", "phase2_ok"}) h.push_back(p + c);
    }
    h.push_back("minimal_failure_sets");
    h.push_back("error");
    return h;
}

inline std::string csv_report(const lab::lab_result& r) {
    const time_us res = 1;  // CSV keeps microsecond precision
    std::string out = csv_row(csv_header(r));
    for (const lab::config_result& c : r.configs) {
        const lab::quorum_choice& q = c.choice;
        std::vector<std::string> row = {q.name,
                                        lab::to_string(q.kind),
                                        q.phase1_rule,
                                        q.phase2_rule,
                                        std::to_string(q.q1),
                                        std::to_string(q.q2),
                                        std::to_string(q.rows),
                                        std::to_string(q.cols),
                                        lab::weights_text(q.weights),
                                        std::to_string(q.t1),
                                        std::to_string(q.t2),
                                        ms(c.model_phase2_us, res),
                                        ms(c.leader.p50, res),
                                        ms(c.leader.p99, res)};
        for (const lab::latency_summary& s : c.clients) {
            row.push_back(s.count ? ms(s.p50, res) : "");
            row.push_back(s.count ? ms(s.p99, res) : "");
        }
        row.push_back(milli(c.throughput_milli, 3));
        row.push_back(milli(c.messages_per_commit_milli, 3));
        row.push_back(c.elect_p50 ? ms(*c.elect_p50, res) : "never");
        row.push_back(c.recover_p50 ? ms(*c.recover_p50, res) : "never");
        row.push_back(std::to_string(c.recovered));
        row.push_back(std::to_string(c.recover.size()));
        row.push_back(std::to_string(c.failures.tolerated));
        row.push_back(milli(c.failures.score_permille, 3));
        row.push_back(c.meets_failures ? "yes" : "no");
        row.push_back(c.pareto ? "yes" : "no");
        for (const lab::failure_level& l : c.failures.levels) {
            for (std::uint64_t v : {l.sets, l.both_ok, l.phase1_ok, l.phase2_ok}) {
                row.push_back(std::to_string(v));
            }
        }
        row.push_back(minimal_sets(c, r.options.topo.node_count(), ~std::size_t{0}));
        row.push_back(c.failure);
        out += csv_row(row);
    }
    return out;
}

}  // namespace paxos_quorums
