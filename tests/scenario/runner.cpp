// tests/scenario/runner.cpp: the interpreter behind the scenario scripts.
//
// A script (testdata/*.txt) is a list of commands, each followed by `----`
// and the output it must print, in the manner of etcd's data-driven tests:
//
//   # goal: a comment; blank lines and comments are kept as they are
//   propose 0 100
//   ----
//   ok
//
// The runner executes every command against an in-process cluster of real
// replicas and compares what it prints with the expected block. With
// --rewrite it writes the actual output back into the file instead, so a new
// script needs only its commands (see README.md for the command list).
//
// This file is the script format and main(). The environment the commands
// act on (a cluster on sim/harness.hpp, its network and checks) is env.hpp;
// the commands are handlers.cpp, one handler each, as etcd's rafttest/ splits
// InteractionEnv from its handlers.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "env.hpp"

namespace scenario {
namespace {

// ---- the script file ------------------------------------------------------------------

// A file is a sequence of items: a verbatim line (comment or blank), or a
// command with its expected output (absent when the script has no `----`).
struct item {
    bool is_command = false;
    std::string verbatim;
    command cmd;
    bool has_expected = false;
    lines expected;
};

std::vector<item> parse_script(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw script_error("cannot open " + path);
    lines all;
    for (std::string l; std::getline(in, l);) all.push_back(l);
    std::vector<item> items;
    for (std::size_t k = 0; k < all.size();) {
        const std::string& l = all[k];
        if (l.empty() || l[0] == '#') {
            items.push_back(item{false, l, {}, false, {}});
            ++k;
            continue;
        }
        if (l == "----")
            throw script_error(path + ":" + std::to_string(k + 1) + ": `----` without a command");
        item it;
        it.is_command = true;
        it.cmd = command{l, split(l), k + 1};
        ++k;
        if (k < all.size() && all[k] == "----") {
            it.has_expected = true;
            for (++k; k < all.size() && !all[k].empty(); ++k) it.expected.push_back(all[k]);
        }
        items.push_back(std::move(it));
    }
    return items;
}

// Runs one script; returns the number of mismatching commands.
std::size_t run_script(const std::string& path, bool rewrite, bool verbose) {
    std::vector<item> items = parse_script(path);
    std::unique_ptr<engine_base> eng;
    std::size_t mismatches = 0;
    std::ostringstream rewritten;
    for (std::size_t k = 0; k < items.size(); ++k) {
        item& it = items[k];
        if (!it.is_command) {
            rewritten << it.verbatim << '\n';
            continue;
        }
        lines actual;
        try {
            if (it.cmd.args[0] == "config") {
                eng = make_engine(it.cmd.args, actual);
            } else if (!eng) {
                throw script_error("the first command must be `config ...`");
            } else {
                eng->run(it.cmd, actual);
            }
        } catch (const script_error& e) {
            throw script_error(path + ":" + std::to_string(it.cmd.line) + ": " + e.what());
        }
        for (auto& l : actual) {
            if (l.empty()) l = "(empty)";  // a blank line would end the block
        }
        if (verbose) {
            std::cout << it.cmd.text << "\n----\n";
            for (const auto& l : actual) std::cout << l << '\n';
            std::cout << '\n';
        }
        rewritten << it.cmd.text << "\n----\n";
        for (const auto& l : actual) rewritten << l << '\n';
        // Keep commands apart by one blank line, even where the author wrote
        // the next command straight after this one.
        if (k + 1 < items.size() && items[k + 1].is_command) rewritten << '\n';
        if (rewrite) continue;
        if (!it.has_expected || it.expected != actual) {
            ++mismatches;
            std::cerr << path << ":" << it.cmd.line << ": " << it.cmd.text << "\n";
            if (!it.has_expected) std::cerr << "  no expected output (no `----`)\n";
            std::cerr << "  expected:\n";
            for (const auto& l : it.expected) std::cerr << "    " << l << '\n';
            std::cerr << "  actual:\n";
            for (const auto& l : actual) std::cerr << "    " << l << '\n';
        }
    }
    if (rewrite) {
        std::ofstream outf(path, std::ios::trunc);
        outf << rewritten.str();
        if (!outf) throw script_error("cannot write " + path);
    }
    return mismatches;
}

}  // namespace
}  // namespace scenario

int main(int argc, char** argv) {
    bool rewrite = false, verbose = false;
    std::vector<std::string> files;
    for (int k = 1; k < argc; ++k) {
        const std::string_view arg = argv[k];
        if (arg == "--rewrite") {
            rewrite = true;
        } else if (arg == "-v" || arg == "--verbose") {
            verbose = true;
        } else if (arg.starts_with("-")) {
            std::cerr << "usage: scenario_runner [--rewrite] [-v] <script.txt>...\n";
            return 2;
        } else {
            files.emplace_back(arg);
        }
    }
    if (files.empty()) {
        std::cerr << "usage: scenario_runner [--rewrite] [-v] <script.txt>...\n";
        return 2;
    }
    std::size_t failed = 0;
    for (const std::string& f : files) {
        try {
            const std::size_t bad = scenario::run_script(f, rewrite, verbose);
            if (rewrite) {
                std::cout << "rewrote " << f << '\n';
            } else if (bad != 0) {
                std::cerr << f << ": " << bad << " command(s) differ from the golden output"
                          << " (after a deliberate change: scenario_runner --rewrite " << f
                          << ")\n";
                ++failed;
            }
        } catch (const scenario::script_error& e) {
            std::cerr << "error: " << e.what() << '\n';
            return 2;
        }
    }
    return failed == 0 ? 0 : 1;
}
