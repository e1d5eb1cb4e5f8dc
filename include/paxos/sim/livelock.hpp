// paxos/sim/livelock.hpp: the dueling-proposers livelock, as an experiment.
//
// Two replicas of a 3-node single-decree cluster propose at once (seed
// documents "Paxos Livelock" and "dueling proposers"). An adversarial network
// delivers Phase-1 messages (prepare, promise, reject) before Phase-2 messages
// (accept, accepted), so every new prepare overtakes the accepts of the ballot
// it preempts: "DB-1 PREPARE(5), DB-2 PREPARE(7), DB-1's ACCEPT(5) rejected,
// DB-1 PREPARE(9), ...". duel() runs one such race and reports how many
// Phase-1 rounds (distinct ballots) and ticks passed before a value was
// chosen, if one was; duel_table() runs many seeds and summarizes them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>
#include <vector>

#include "../config.hpp"
#include "../core/replica.hpp"

namespace paxos::sim {

struct duel_outcome {
    bool chosen = false;
    std::size_t rounds = 0;  // distinct ballots proposed before the choice (or in all)
    std::size_t ticks = 0;
};

// The network drains between ticks: messages are fast next to the timeouts,
// as partial synchrony assumes after its stabilization time. (With a network
// slower than the retry timers, no policy can promise progress.)
template <class Leader>
duel_outcome duel(std::uint64_t seed, std::size_t rounds_max = 1000) {
    constexpr std::size_t nodes = 3;
    using config =
        paxos::config<int, counter_ballot<nodes>, majority<nodes>, Leader, nodes, 1, 1, true>;
    using replica_type = replica<config>;
    std::vector<replica_type> r;
    r.reserve(nodes);
    for (std::uint16_t id = 0; id < nodes; ++id) {
        typename replica_type::options o{};
        o.self = node_id{id};
        o.seed = seed * 3 + id;
        r.emplace_back(o);
    }
    std::vector<typename replica_type::message_type> network;
    std::set<std::uint64_t> ballots;
    auto drain = [&](replica_type& x) {
        while (x.has_ready()) {
            const auto& rd = x.ready();  // no crashes here, so nothing to persist
            for (const auto& m : rd.messages) {
                if (m.kind == message_kind::prepare) ballots.insert(m.ballot.raw());
                for (std::uint16_t to = 0; to < nodes; ++to) {
                    const bool addressed =
                        m.to == node_id::broadcast() ? to != x.self().value : m.to.value == to;
                    if (!addressed) continue;
                    auto copy = m;
                    copy.to = node_id{to};
                    network.push_back(copy);
                }
            }
            x.advance(rd);
        }
    };
    auto phase1 = [](message_kind k) {
        return k == message_kind::prepare || k == message_kind::promise ||
               k == message_kind::promise_entry || k == message_kind::reject;
    };
    // Both proposers start at once: the leader-free policies take the command
    // and campaign for it; the stable leader campaigns, then takes it.
    for (std::uint16_t p = 0; p < 2; ++p) {
        if constexpr (Leader::followers_propose) {
            (void)r[p].propose(100 + p);
        } else {
            (void)r[p].campaign();
        }
        drain(r[p]);
    }
    duel_outcome out;
    while (ballots.size() < rounds_max) {
        while (!network.empty() && ballots.size() < rounds_max) {
            auto it = std::find_if(network.begin(), network.end(),
                                   [&](const auto& m) { return phase1(m.kind); });
            if (it == network.end()) it = network.begin();
            const auto m = *it;
            network.erase(it);
            (void)r[m.to.value].step(m);
            drain(r[m.to.value]);
        }
        for (auto& x : r) {
            if (x.chosen_end().value > 0) {
                out.chosen = true;
                out.rounds = ballots.size();
                return out;
            }
            if (x.is_leader() && !Leader::followers_propose && x.pending_count() == 0) {
                (void)x.propose(7);
                drain(x);
            }
        }
        for (auto& x : r) {
            (void)x.tick();
            drain(x);
        }
        ++out.ticks;
    }
    out.rounds = ballots.size();
    return out;
}

struct duel_summary {
    std::uint64_t seeds = 0;
    std::uint64_t no_choice = 0;  // runs that chose nothing within rounds_max
    std::size_t rounds_median = 0, rounds_p99 = 0, rounds_max = 0;
    std::size_t ticks_median = 0, ticks_p99 = 0, ticks_max = 0;
};

template <class Leader>
duel_summary duel_table(std::uint64_t seeds, std::size_t rounds_max = 1000) {
    std::vector<std::size_t> rounds, ticks;
    duel_summary s;
    s.seeds = seeds;
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
        const duel_outcome o = duel<Leader>(seed, rounds_max);
        if (!o.chosen) {
            ++s.no_choice;
            continue;
        }
        rounds.push_back(o.rounds);
        ticks.push_back(o.ticks);
    }
    std::sort(rounds.begin(), rounds.end());
    std::sort(ticks.begin(), ticks.end());
    auto at = [](const std::vector<std::size_t>& v, std::size_t percent) {
        return v.empty() ? std::size_t{0} : v[(v.size() - 1) * percent / 100];
    };
    s.rounds_median = at(rounds, 50);
    s.rounds_p99 = at(rounds, 99);
    s.rounds_max = rounds.empty() ? 0 : rounds.back();
    s.ticks_median = at(ticks, 50);
    s.ticks_p99 = at(ticks, 99);
    s.ticks_max = ticks.empty() ? 0 : ticks.back();
    return s;
}

namespace detail {
template <class Leader>
void print_duel_row(std::FILE* out, const char* name, std::uint64_t seeds, std::size_t rounds_max) {
    const duel_summary s = duel_table<Leader>(seeds, rounds_max);
    std::fprintf(out, "%-20s %8llu %10llu", name, static_cast<unsigned long long>(s.seeds),
                 static_cast<unsigned long long>(s.no_choice));
    if (s.no_choice == s.seeds) {
        std::fprintf(out, "   (no value chosen in %zu Phase-1 rounds, in any seed)\n", rounds_max);
        return;
    }
    std::fprintf(out, " %7zu %5zu %5zu %9zu %5zu %5zu\n", s.rounds_median, s.rounds_p99,
                 s.rounds_max, s.ticks_median, s.ticks_p99, s.ticks_max);
}
}  // namespace detail

// The table of the three stock leader policies over `seeds` duels.
inline void print_duel_table(std::FILE* out, std::uint64_t seeds, std::size_t rounds_max = 1000) {
    std::fprintf(out, "dueling proposers, 3 nodes, Phase-1 messages overtake Phase-2 messages\n\n");
    std::fprintf(out, "%-20s %8s %10s %7s %5s %5s %9s %5s %5s\n", "policy", "seeds", "no choice",
                 "rounds", "p99", "max", "ticks", "p99", "max");
    std::fprintf(out, "%-20s %8s %10s %7s %5s %5s %9s %5s %5s\n", "", "", "", "median", "", "",
                 "median", "", "");
    detail::print_duel_row<immediate>(out, "immediate", seeds, rounds_max);
    detail::print_duel_row<randomized_backoff>(out, "randomized_backoff", seeds, rounds_max);
    detail::print_duel_row<stable_leader>(out, "stable_leader", seeds, rounds_max);
}

}  // namespace paxos::sim
