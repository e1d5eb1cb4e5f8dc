// paxos_quorums: compare quorum configurations on a latency matrix.
//
//   paxos_quorums                              the five-regions preset
//   paxos_quorums --preset three-regions --failures 2
//   paxos_quorums --matrix my-sites.txt --nodes 7 --leader ireland
//   paxos_quorums --print-preset five-regions > my-sites.txt   (a file to edit)
//
// Sweeps majority, every flexible (Q1, Q2) with Q1 + Q2 > N, the grids that
// factor N and a few weightings; runs each in the deterministic simulator on
// the real replica (quorum_lab.hpp); prints two tables and writes
// <out-dir>/<name>.csv, .md and .svg. The same flags and seed give the same
// bytes. `--help` lists the flags.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "plot.hpp"
#include "quorum_lab.hpp"
#include "report.hpp"

namespace {

namespace lab = paxos::sim::lab;

constexpr const char* usage =
    "usage: paxos_quorums [options]\n"
    "  --preset NAME          one-datacenter, three-regions, five-regions (default)\n"
    "  --matrix FILE          a latency matrix file instead (see --print-preset)\n"
    "  --nodes N              node count (default: the matrix's, else one per site)\n"
    "  --placement LIST       round-robin (default), or one site name per node: a,a,b,c\n"
    "  --leader SITE          the steady-phase leader's site (default: the matrix's)\n"
    "  --failures F           analyse failure sets up to F nodes (default: (N-1)/2)\n"
    "  --clients-per-site C   closed-loop clients at every site (default 2)\n"
    "  --commands K           commands every client gets acknowledged before the leader\n"
    "                         crashes (default 200)\n"
    "  --think-ms T           a client's pause between commands (default 0)\n"
    "  --fsync-us U           cost of a durable write, serial per node (default 0)\n"
    "  --jitter P%            replace the matrix's jitter\n"
    "  --crash-trials R       leader crashes measured per configuration (default 5)\n"
    "  --families LIST        any of majority,flexible,grid,weighted (default all)\n"
    "  --seed S               (default 1)\n"
    "  --quick                30 commands per client, 2 crash trials: a smoke run\n"
    "  --out-dir DIR          where the CSV, Markdown and SVG go (default .)\n"
    "  --name BASE            their file name (default quorums-<preset or matrix file>)\n"
    "  --no-files             print the tables only\n"
    "  --print-preset NAME    print a preset's matrix file and exit\n"
    "  --list-presets         list the presets and exit\n";

struct cli {
    std::string preset = "five-regions";
    std::string matrix_file;
    std::size_t nodes = 0;
    std::string placement;
    std::string leader;
    std::optional<std::size_t> failures;
    lab::workload load;
    std::optional<std::uint32_t> jitter_permille;
    std::string families;
    std::uint64_t seed = 1;
    std::string out_dir = ".";
    std::string name;
    bool files = true;
    std::string command;  // as typed, less where the files go (for the Markdown)
};

std::optional<std::uint64_t> number(std::string_view s, std::uint64_t max) {
    return lab::detail::parse_count(s, max);
}

int fail(const std::string& why) {
    std::fprintf(stderr, "paxos_quorums: %s\n", why.c_str());
    return 2;
}

// Applies one flag with its value; returns an error sentence, or empty.
std::string apply_flag(cli& c, std::string_view flag, std::string_view value) {
    const auto count = [&](std::uint64_t max) { return number(value, max); };
    if (flag == "--preset") {
        c.preset = std::string(value);
    } else if (flag == "--matrix") {
        c.matrix_file = std::string(value);
    } else if (flag == "--nodes") {
        const auto n = count(lab::nodes_max);
        if (!n || *n == 0) return "--nodes takes 1.." + std::to_string(lab::nodes_max);
        c.nodes = static_cast<std::size_t>(*n);
    } else if (flag == "--placement") {
        c.placement = std::string(value);
    } else if (flag == "--leader") {
        c.leader = std::string(value);
    } else if (flag == "--failures") {
        const auto n = count(lab::nodes_max);
        if (!n) return "--failures takes a count";
        c.failures = static_cast<std::size_t>(*n);
    } else if (flag == "--clients-per-site") {
        const auto n = count(64);
        if (!n || *n == 0) return "--clients-per-site takes 1..64";
        c.load.clients_per_site = static_cast<std::size_t>(*n);
    } else if (flag == "--commands") {
        const auto n = count(1'000'000);
        if (!n || *n == 0) return "--commands takes 1..1000000";
        c.load.commands_per_client = *n;
    } else if (flag == "--think-ms") {
        const auto us = lab::detail::parse_ms(value);
        if (!us) return "--think-ms takes milliseconds, e.g. 5 or 0.5";
        c.load.think_us = *us;
    } else if (flag == "--fsync-us") {
        const auto n = count(1'000'000);
        if (!n) return "--fsync-us takes microseconds";
        c.load.fsync_us = *n;
    } else if (flag == "--jitter") {
        const auto p = lab::detail::parse_percent(value);
        if (!p) return "--jitter takes a percentage such as 2%";
        c.jitter_permille = *p;
    } else if (flag == "--crash-trials") {
        const auto n = count(100);
        if (!n || *n == 0) return "--crash-trials takes 1..100";
        c.load.crash_trials = static_cast<std::size_t>(*n);
    } else if (flag == "--families") {
        c.families = std::string(value);
    } else if (flag == "--seed") {
        const auto n = count(~std::uint64_t{0} / 10);
        if (!n) return "--seed takes a number";
        c.seed = *n;
    } else if (flag == "--out-dir") {
        c.out_dir = std::string(value);
    } else if (flag == "--name") {
        c.name = std::string(value);
    } else {
        return "unknown flag " + std::string(flag) + "\n" + usage;
    }
    return {};
}

std::optional<lab::sweep_options> families(std::string_view list) {
    if (list.empty()) return lab::sweep_options{};
    lab::sweep_options s{false, false, false};
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view f = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (f == "flexible") {
            s.flexible = true;
        } else if (f == "grid") {
            s.grid = true;
        } else if (f == "weighted") {
            s.weighted = true;
        } else if (f != "majority") {  // majority is always run: the baseline
            return std::nullopt;
        }
    }
    return s;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    return static_cast<bool>(out);
}

// The matrix named on the command line, or why there is none.
lab::parsed<lab::latency_matrix> load_matrix(const cli& c) {
    if (!c.matrix_file.empty()) {
        const auto text = read_file(c.matrix_file);
        if (!text) return {std::nullopt, "cannot read " + c.matrix_file};
        auto m = lab::parse_latency_matrix(*text);
        if (!m) m.error = c.matrix_file + ": " + m.error;
        return m;
    }
    const lab::latency_preset* p = lab::find_latency_preset(c.preset);
    if (p == nullptr) return {std::nullopt, "no preset " + c.preset + " (see --list-presets)"};
    return {lab::preset_matrix(*p), {}};
}

std::string base_name(const cli& c) {
    if (!c.name.empty()) return c.name;
    if (c.matrix_file.empty()) return "quorums-" + c.preset;
    std::string stem = c.matrix_file.substr(c.matrix_file.find_last_of('/') + 1);
    return "quorums-" + stem.substr(0, stem.find('.'));
}

// Parses argv; returns an exit code when the program should stop (help,
// presets, errors), else nullopt.
std::optional<int> parse(int argc, char** argv, cli& c) {
    c.command = "paxos_quorums";
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        c.command += " " + std::string(flag);
        if (flag == "--help" || flag == "-h") {
            std::fputs(usage, stdout);
            return 0;
        }
        if (flag == "--list-presets") {
            for (const auto& p : lab::latency_presets) {
                std::printf("%-16s %s\n", std::string(p.name).c_str(),
                            std::string(p.summary).c_str());
            }
            return 0;
        }
        if (flag == "--quick") {
            c.load.commands_per_client = 30;
            c.load.crash_trials = 2;
            c.load.trial_commands_per_client = 10;
            continue;
        }
        if (flag == "--no-files") {
            c.files = false;
            c.command.resize(c.command.size() - flag.size() - 1);
            continue;
        }
        if (i + 1 >= argc) return fail(std::string(flag) + " needs a value\n" + usage);
        const std::string_view value = argv[++i];
        // Where the files go is not part of what produced them.
        if (flag == "--out-dir" || flag == "--name") {
            c.command.resize(c.command.size() - flag.size() - 1);
        } else {
            c.command += " " + std::string(value);
        }
        if (flag == "--print-preset") {
            const lab::latency_preset* p = lab::find_latency_preset(value);
            if (p == nullptr) return fail("no preset " + std::string(value));
            std::fputs(std::string(p->text).c_str(), stdout);
            return 0;
        }
        if (std::string why = apply_flag(c, flag, value); !why.empty()) return fail(why);
    }
    return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
    cli c;
    if (const auto stop = parse(argc, argv, c)) return *stop;
    auto matrix = load_matrix(c);
    if (!matrix) return fail(matrix.error);
    if (c.jitter_permille) matrix.value->jitter_permille = *c.jitter_permille;
    auto topo = lab::make_topology(std::move(*matrix.value), c.nodes, c.placement, c.leader);
    if (!topo) return fail(topo.error);
    const auto sweep = families(c.families);
    if (!sweep) return fail("--families takes a list of majority, flexible, grid, weighted");

    lab::lab_options o;
    o.topo = std::move(*topo.value);
    o.load = c.load;
    o.failures = c.failures.value_or((o.topo.node_count() - 1) / 2);
    o.seed = c.seed;
    o.sweep = *sweep;
    if (std::string why = lab::check_lab_options(o); !why.empty()) return fail(why);

    const lab::lab_result result = lab::run_lab(o);
    const std::string name = base_name(c);
    const paxos_quorums::report_context ctx{c.matrix_file.empty() ? c.preset : c.matrix_file,
                                            c.command};
    std::fputs(paxos_quorums::text_report(result, ctx).c_str(), stdout);
    if (c.files) {
        std::error_code ignored;  // a failure shows when the files are written
        std::filesystem::create_directories(c.out_dir, ignored);
        const std::string base = c.out_dir + "/" + name;
        const bool ok = write_file(base + ".csv", paxos_quorums::csv_report(result)) &&
                        write_file(base + ".md", paxos_quorums::markdown_report(result, ctx)) &&
                        write_file(base + ".svg", paxos_quorums::svg_plot(result, ctx));
        if (!ok) return fail("cannot write " + base + ".{csv,md,svg}");
        std::printf("wrote %s.csv, %s.md, %s.svg\n", base.c_str(), base.c_str(), base.c_str());
    }
    for (const auto& cfg : result.configs) {
        if (!cfg.failure.empty()) return 1;  // a broken run: the figures are not trusted
    }
    return 0;
}
