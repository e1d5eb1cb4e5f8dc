// tests/model/explore_main.cpp: the exhaustive explorer's command line.
//
//   paxos_explore --config basic|multi|multi-immediate [--max-states N] [--max-seconds S]
//                 [--max-depth N] [--min-states N] [--proposals N] [--campaigns N] [--crashes N]
//                 [--duplications N] [--ticks N] [--ballots N] [--no-drops] [--progress]
//
// Configurations (three acceptors; nodes 0 and 1 are the proposers):
//   basic  Basic Paxos: basic_paxos<int, 3> (one slot, randomized backoff)
//   multi  Multi-Paxos with randomized backoff, a window of 2 slots, one
//          command per slot
//   multi-immediate  the same with the `immediate` leader policy: a preempted
//          proposer starts Phase 1 again at once, from inside the input that
//          preempted it
//
// Exit status: 0 when no violation was found and at least --min-states
// distinct states were checked (or the whole bounded space was, if smaller);
// 1 on a violation (the shortest path is printed); 2 on too few states or a
// bad argument. The last line is a one-line summary for ctest -V.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "explorer.hpp"

namespace {

using basic_config = paxos::basic_paxos<int, 3>;
using multi_config = paxos::config<int, paxos::counter_ballot<3>, paxos::majority<3>,
                                   paxos::randomized_backoff, 3, 2, 1, false>;
using multi_immediate_config = paxos::config<int, paxos::counter_ballot<3>, paxos::majority<3>,
                                             paxos::immediate, 3, 2, 1, false>;

struct arguments {
    std::string config = "basic";
    paxos_model::explore_options options{};
    std::uint64_t min_states = 0;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "paxos_explore: %s\n"
                 "usage: paxos_explore --config basic|multi|multi-immediate "
                 "[--max-states N] [--max-seconds S] [--max-depth N] [--min-states N] "
                 "[--proposals N] [--campaigns N] [--crashes N] [--duplications N] [--ticks N] "
                 "[--ballots N] [--no-drops] [--progress]\n",
                 why);
    std::exit(2);
}

std::uint64_t number(const char* text) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (end == text || *end != '\0') usage("expected a number");
    return v;
}

arguments parse(int argc, char** argv) {
    arguments a;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        if (flag == "--no-drops") {
            a.options.drops = false;
            continue;
        }
        if (flag == "--progress") {
            a.options.progress = true;
            continue;
        }
        if (i + 1 >= argc) usage("missing value");
        const char* value = argv[++i];
        if (flag == "--config") {
            a.config = value;
        } else if (flag == "--max-states") {
            a.options.max_states = number(value);
        } else if (flag == "--max-seconds") {
            a.options.max_seconds = static_cast<double>(number(value));
        } else if (flag == "--max-depth") {
            a.options.max_depth = static_cast<std::uint32_t>(number(value));
        } else if (flag == "--min-states") {
            a.min_states = number(value);
        } else if (flag == "--proposals") {
            a.options.proposals_per_proposer = static_cast<std::uint32_t>(number(value));
        } else if (flag == "--campaigns") {
            a.options.campaigns_per_proposer = static_cast<std::uint32_t>(number(value));
        } else if (flag == "--crashes") {
            a.options.crashes = static_cast<std::uint32_t>(number(value));
        } else if (flag == "--duplications") {
            a.options.duplications = static_cast<std::uint32_t>(number(value));
        } else if (flag == "--ticks") {
            a.options.ticks = static_cast<std::uint32_t>(number(value));
        } else if (flag == "--ballots") {
            a.options.max_ballot_round = number(value);
        } else {
            usage("unknown flag");
        }
    }
    return a;
}

template <class Explorer>
int run(const arguments& a) {
    const paxos_model::explore_options& o = a.options;
    std::printf(
        "explore %s: 3 acceptors, %zu proposers, %u proposals and %u campaigns each, "
        "%u crash-restarts, %u duplications, %u ticks, %s, ballot rounds <= %llu, "
        "max states %llu\n",
        a.config.c_str(), o.proposers, o.proposals_per_proposer, o.campaigns_per_proposer,
        o.crashes, o.duplications, o.ticks, o.drops ? "loss" : "no loss",
        static_cast<unsigned long long>(o.max_ballot_round),
        static_cast<unsigned long long>(o.max_states));
    Explorer e(o);
    const paxos_model::explore_report r = e.run();
    paxos_model::print_report(stdout, ("explore " + a.config).c_str(), r);
    std::printf("explore: %llu distinct states, depth %u, %.1f s\n",
                static_cast<unsigned long long>(r.states), r.max_depth, r.seconds);
    if (r.found) return 1;
    if (!r.complete && r.states < a.min_states) {
        std::printf("explore: FAILED: fewer than %llu distinct states\n",
                    static_cast<unsigned long long>(a.min_states));
        return 2;
    }
    if (r.complete && r.states < a.min_states) {
        std::printf("explore: note: the whole bounded space has fewer than %llu states\n",
                    static_cast<unsigned long long>(a.min_states));
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const arguments a = parse(argc, argv);
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (a.config == "basic") return run<paxos_model::explorer<basic_config, 3, 2>>(a);
    if (a.config == "multi") return run<paxos_model::explorer<multi_config, 3, 4>>(a);
    if (a.config == "multi-immediate") {
        return run<paxos_model::explorer<multi_immediate_config, 3, 4>>(a);
    }
    usage("unknown --config (basic, multi or multi-immediate)");
}
