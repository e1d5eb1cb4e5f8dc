// paxos_sim: the swarm runner of the deterministic simulator.
//
//   paxos_sim --seed 42                      one run; on failure, its trace
//   paxos_sim --seeds 1-2000                 a swarm; prints failures and a summary
//   paxos_sim --seeds 1-500 --variant multi --nodes 5 --profile partitions
//   paxos_sim --seeds 1-20 --hashes          print each run's trace hash
//
// Each seed picks, unless fixed by a flag, the variant (basic, multi,
// flexible), the cluster size (3 or 5) and the fault profile, then the
// profile's rates. A failing seed prints the one command that replays it.
// Exit status: 0 when every run passed, 1 when any failed, 2 on bad usage.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <paxos/paxos.hpp>
#include <paxos/sim/simulation.hpp>

namespace {

using paxos::sim::command;
using paxos::sim::fault_profile;

// Small windows and batches, so window sliding and catch-up run often.
using basic3 = paxos::basic_paxos<command, 3>;
using basic5 = paxos::basic_paxos<command, 5>;
using multi3 = paxos::multi_paxos<command, 3, 16, 4>;
using multi5 = paxos::multi_paxos<command, 5, 16, 4>;
using flexible3 = paxos::flexible_paxos<command, 3, 3, 1, 16, 4>;
// Multi-Paxos with no distinguished leader: proposers back off at random.
template <std::size_t N>
using leaderless = paxos::config<command, paxos::counter_ballot<N>, paxos::majority<N>,
                                 paxos::randomized_backoff, N, 16, 4>;
using flexible5 = paxos::flexible_paxos<command, 5, 4, 2, 16, 4>;

constexpr const char* variants[] = {"basic", "multi", "flexible", "leaderless"};
constexpr const char* profiles[] = {"calm",  "lossy", "partitions", "crashes",
                                    "chaos", "stale", "compaction", "partial"};

fault_profile profile_named(std::string_view name) {
    fault_profile f{};
    f.name = "calm";
    if (name == "lossy" || name == "chaos") {
        f.loss_permille_max = 150;
        f.duplicate_permille_max = 80;
        f.tick_skew_permille_max = 300;
        f.long_tail_latency = true;
    }
    if (name == "partitions" || name == "chaos") {
        f.partition_permille = 120;
        f.one_way_permille = 80;
        f.isolate_leader_permille = 100;
        f.slow_permille = 60;
        f.heal_permille = 250;
    }
    if (name == "crashes" || name == "chaos") {
        f.crash_permille = 120;
        f.restart_permille = 350;
    }
    // Stale leaders: one-way links and isolated leaders keep deposed leaders
    // believing they lead, restarts make followers ask what they missed, and
    // held messages deliver those questions' answers rounds later. This is
    // how a zero-ballot chosen message reaches a leader that a newer one
    // has superseded (issue 15, sequence 1); the other profiles heal or
    // answer within a few milliseconds, before a second election completes.
    if (name == "stale") {
        f.crash_permille = 150;
        f.restart_permille = 400;
        f.one_way_permille = 200;
        f.isolate_leader_permille = 200;
        f.heal_permille = 150;
        f.hold_permille = 100;
        f.hold_us_max = 400'000;
    }
    // Compaction: every node snapshots and compacts its log every few
    // slots, so a node that misses a few (partitioned, slowed, crashed)
    // falls below every peer's log and must install a snapshot, often
    // while it is being cut off, restarted or raced by a newer one. The
    // padding spreads each snapshot over three 8 KiB chunks.
    if (name == "compaction") {
        f.crash_permille = 150;
        f.restart_permille = 300;
        f.partition_permille = 100;
        f.one_way_permille = 60;
        f.isolate_leader_permille = 80;
        f.slow_permille = 80;
        f.heal_permille = 250;
        f.loss_permille_max = 100;
        f.duplicate_permille_max = 50;
        f.compact_every_slots = 5;
        f.snapshot_padding_bytes = 20'000;
    }
    // Partial connectivity (OmniPaxos's three scenarios, issue 12): each
    // pattern holds for a few hundred milliseconds (many election timeouts
    // of 10-20 ticks of 1 ms), and the summary says how long the cluster
    // took to commit again after each.
    if (name == "partial") {
        f.nemesis_interval_us = 300'000;
        f.partial_permille = 600;
        f.heal_permille = 250;
    }
    for (const char* p : profiles) {
        if (name == p) f.name = p;
    }
    return f;
}

struct choice {
    std::string variant;    // empty: drawn per seed
    std::size_t nodes = 0;  // 0: drawn per seed
    std::string profile;    // empty: drawn per seed
};

struct outcome {
    paxos::sim::run_result result;
    std::string variant;
    std::size_t nodes = 0;
    std::string profile;
};

std::size_t readers_per_run = 2;  // --readers
// --lease on|off|mixed: the leader lease (core/lease.hpp) in stable-leader
// logs; mixed (the default) turns it on for seeds whose second bit is set,
// beside check-quorum on even seeds, so the swarm covers all four.
enum class lease_mode { off, on, mixed };
lease_mode lease_choice = lease_mode::mixed;
constexpr std::uint32_t sim_lease_ticks = 30;  // an election timeout is 10-20 ticks

template <class Config>
paxos::sim::run_result run_one(std::size_t nodes, std::uint64_t seed, fault_profile f, bool trace) {
    paxos::sim::run_options o{};
    // Without a distinguished leader, every client's node competes for each
    // slot; progress is certain but slow (see examples/livelock_demo.cpp), so the
    // bound on settling is wider.
    const bool leaderless_log = Config::leader::followers_propose && !Config::single_decree;
    o.liveness_bound_us = leaderless_log ? 30'000'000 : 3'000'000;
    o.nodes = nodes;
    o.seed = seed;
    o.faults = f;
    o.trace_events = trace ? 64 : 0;
    paxos::prng sizes(seed ^ 0x5EED);
    // The workload spans most of the safety phase, so faults hit it mid-way.
    o.clients = 1 + sizes.below(4);
    o.commands_per_client = 20 + sizes.below(80);
    o.client_think_us = 2'000 + sizes.below(18'000);
    // Readers beside the writers (stable-leader logs: simulation.hpp), two by default.
    o.readers = readers_per_run;
    o.reads_per_reader = o.commands_per_client;
    const bool lease =
        lease_choice == lease_mode::on || (lease_choice == lease_mode::mixed && (seed & 2) != 0);
    if (!Config::leader::followers_propose && !Config::single_decree && lease) {
        o.lease_ticks = sim_lease_ticks;
        o.lease_drift_permille = std::max<std::uint32_t>(300, f.tick_skew_permille_max);
    }
    return paxos::sim::simulation<Config>(o).run();
}

outcome run_seed(std::uint64_t seed, const choice& fixed, bool trace) {
    paxos::prng pick(seed * 0x9E3779B97F4A7C15ull + 1);
    outcome out;
    out.variant = !fixed.variant.empty() ? fixed.variant : variants[pick.below(4)];
    out.nodes = fixed.nodes ? fixed.nodes : (pick.below(2) == 0 ? 3 : 5);
    out.profile = !fixed.profile.empty() ? fixed.profile : profiles[pick.below(8)];
    const fault_profile f = profile_named(out.profile);
    const bool three = out.nodes == 3;
    if (out.variant == "basic") {
        out.result =
            three ? run_one<basic3>(3, seed, f, trace) : run_one<basic5>(5, seed, f, trace);
    } else if (out.variant == "leaderless") {
        out.result = three ? run_one<leaderless<3>>(3, seed, f, trace)
                           : run_one<leaderless<5>>(5, seed, f, trace);
    } else if (out.variant == "multi") {
        out.result =
            three ? run_one<multi3>(3, seed, f, trace) : run_one<multi5>(5, seed, f, trace);
    } else {
        out.result =
            three ? run_one<flexible3>(3, seed, f, trace) : run_one<flexible5>(5, seed, f, trace);
    }
    return out;
}

bool parse_range(const char* text, std::uint64_t& first, std::uint64_t& last) {
    char* end = nullptr;
    first = std::strtoull(text, &end, 10);
    if (end == text) return false;
    if (*end == '\0') {
        last = first;
        return true;
    }
    if (*end != '-') return false;
    const char* second = end + 1;
    last = std::strtoull(second, &end, 10);
    return end != second && *end == '\0' && first <= last;
}

int usage() {
    std::fprintf(
        stderr,
        "usage: paxos_sim (--seed N | --seeds A-B) [--variant basic|multi|flexible|leaderless]\n"
        "                 [--nodes 3|5]\n"
        "                 [--profile "
        "calm|lossy|partitions|crashes|chaos|stale|compaction|partial]\n"
        "                 [--readers N (default 2)] [--lease on|off|mixed (default mixed)]\n"
        "                 [--hashes] [--quiet]\n"
        "(the dueling-proposers table is examples/livelock_demo)\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t first = 1;
    std::uint64_t last = 0;
    choice fixed;
    bool hashes = false;
    bool quiet = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const bool has_value = i + 1 < argc;
        if ((arg == "--seed" || arg == "--seeds") && has_value) {
            if (!parse_range(argv[++i], first, last)) return usage();
        } else if (arg == "--variant" && has_value) {
            fixed.variant = argv[++i];
            if (fixed.variant != "basic" && fixed.variant != "multi" &&
                fixed.variant != "flexible" && fixed.variant != "leaderless") {
                return usage();
            }
        } else if (arg == "--nodes" && has_value) {
            fixed.nodes = std::strtoull(argv[++i], nullptr, 10);
            if (fixed.nodes != 3 && fixed.nodes != 5) return usage();
        } else if (arg == "--profile" && has_value) {
            fixed.profile = argv[++i];
            if (std::strcmp(profile_named(fixed.profile).name, argv[i]) != 0) return usage();
        } else if (arg == "--readers" && has_value) {
            readers_per_run = std::strtoull(argv[++i], nullptr, 10);
            if (readers_per_run > 256) return usage();
        } else if (arg == "--lease" && has_value) {
            const std::string_view v = argv[++i];
            if (v == "on") {
                lease_choice = lease_mode::on;
            } else if (v == "off") {
                lease_choice = lease_mode::off;
            } else if (v == "mixed") {
                lease_choice = lease_mode::mixed;
            } else {
                return usage();
            }
        } else if (arg == "--hashes") {
            hashes = true;
        } else if (arg == "--quiet") {
            quiet = true;
        } else {
            return usage();
        }
    }
    if (last < first) return usage();

    const auto started = std::chrono::steady_clock::now();
    std::uint64_t passed = 0;
    std::uint64_t failed = 0;
    std::uint64_t commands = 0;
    std::uint64_t deposed_by_repeat = 0;
    std::uint64_t snapshots_taken = 0;
    std::uint64_t snapshots_installed = 0;
    std::uint64_t snapshot_bytes = 0;
    std::uint64_t reads = 0;
    std::uint64_t reads_dropped = 0;
    std::uint64_t read_rounds = 0;
    std::uint64_t reads_at_once = 0;
    paxos::sim::time_us read_latency = 0;
    std::array<std::uint64_t, 3> patterns{};
    std::array<std::uint64_t, 3> recovered{};
    std::array<paxos::sim::time_us, 3> worst{};
    const bool single = first == last;
    for (std::uint64_t seed = first; seed <= last; ++seed) {
        const outcome o = run_seed(seed, fixed, single);
        commands += o.result.commands_acknowledged;
        deposed_by_repeat += o.result.leaders_deposed_by_repeat;
        snapshots_taken += o.result.snapshots_taken;
        snapshots_installed += o.result.snapshots_installed;
        snapshot_bytes += o.result.snapshot_bytes_sent;
        reads += o.result.reads_served;
        reads_dropped += o.result.reads_dropped;
        read_rounds += o.result.read_rounds;
        reads_at_once += o.result.reads_at_once;
        read_latency += o.result.read_latency_total_us;
        for (std::size_t k = 0; k < 3; ++k) {
            patterns[k] += o.result.partial_patterns[k];
            recovered[k] += o.result.partial_recovered[k];
            worst[k] = std::max(worst[k], o.result.partial_recovery_max_us[k]);
        }
        if (hashes) {
            std::printf("seed %llu %s %zu %s hash %016llx\n", static_cast<unsigned long long>(seed),
                        o.variant.c_str(), o.nodes, o.profile.c_str(),
                        static_cast<unsigned long long>(o.result.trace_hash));
        }
        if (o.result.ok) {
            ++passed;
            continue;
        }
        ++failed;
        const auto& v = *o.result.failure;
        std::printf("FAIL seed %llu (%s, %zu nodes, %s): %s at %.3f ms: %s\n",
                    static_cast<unsigned long long>(seed), o.variant.c_str(), o.nodes,
                    o.profile.c_str(), paxos::sim::to_string(v.kind),
                    static_cast<double>(v.at) / 1000.0, v.what.c_str());
        std::printf("  replay: paxos_sim --seed %llu --variant %s --nodes %zu --profile %s%s\n",
                    static_cast<unsigned long long>(seed), o.variant.c_str(), o.nodes,
                    o.profile.c_str(),
                    lease_choice == lease_mode::on    ? " --lease on"
                    : lease_choice == lease_mode::off ? " --lease off"
                                                      : "");
        if (single) {
            std::printf("  last events:\n");
            for (const auto& line : o.result.trace) std::printf("    %s\n", line.c_str());
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!quiet || failed > 0) {
        std::printf("%llu passed, %llu failed\n", static_cast<unsigned long long>(passed),
                    static_cast<unsigned long long>(failed));
        std::printf(
            "seeds %llu-%llu: %.1f seeds/s, %llu commands acknowledged, "
            "%llu stale leaders deposed by a repeated chosen message\n",
            static_cast<unsigned long long>(first), static_cast<unsigned long long>(last),
            static_cast<double>(passed + failed) / (seconds > 0 ? seconds : 1),
            static_cast<unsigned long long>(commands),
            static_cast<unsigned long long>(deposed_by_repeat));
        if (reads > 0) {
            std::printf(
                "reads: %llu served and checked linearizable, %llu handed back by a leader that "
                "stepped down, %llu read rounds sent; %llu answered at once (no message), "
                "%.3f ms from read() to answer on average\n",
                static_cast<unsigned long long>(reads),
                static_cast<unsigned long long>(reads_dropped),
                static_cast<unsigned long long>(read_rounds),
                static_cast<unsigned long long>(reads_at_once),
                static_cast<double>(read_latency) / 1000.0 / static_cast<double>(reads));
        }
        if (snapshots_taken > 0) {
            std::printf("snapshots: %llu taken, %llu installed, %llu bytes sent in chunks\n",
                        static_cast<unsigned long long>(snapshots_taken),
                        static_cast<unsigned long long>(snapshots_installed),
                        static_cast<unsigned long long>(snapshot_bytes));
        }
        // An election timeout is 10-20 ticks of 1 ms (stable_leader's default).
        constexpr const char* names[] = {"quorum loss", "constrained election", "chained"};
        for (std::size_t k = 0; k < 3; ++k) {
            if (patterns[k] == 0) continue;
            std::printf(
                "partial connectivity, %s: %llu patterns with a command waiting, %llu "
                "committed again before the next change, the slowest after %.1f ms "
                "(%.1f election timeouts of 20 ticks)\n",
                names[k], static_cast<unsigned long long>(patterns[k]),
                static_cast<unsigned long long>(recovered[k]),
                static_cast<double>(worst[k]) / 1000.0, static_cast<double>(worst[k]) / 20'000.0);
        }
    }
    return failed == 0 ? 0 : 1;
}
