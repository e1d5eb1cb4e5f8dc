// The dueling-proposers livelock, measured (shared/seeds, "Paxos Livelock").
//
// Two replicas of a 3-node Basic Paxos cluster propose at once. An adversarial
// network delivers Phase-1 messages (prepare, promise, reject) before Phase-2
// messages (accept, accepted), so each new prepare overtakes the accepts of
// the ballot it preempts. Over many seeds, for each leader policy, the table
// gives the Phase-1 rounds (distinct ballots) and ticks until the first value
// is chosen.
#include <paxos/paxos.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <vector>

namespace {

constexpr std::size_t nodes = 3;
constexpr std::size_t rounds_max = 1000;

struct outcome {
    bool chosen = false;
    std::size_t rounds = 0;  // distinct ballots proposed before the choice
    std::size_t ticks = 0;
};

template <class Leader>
outcome duel(std::uint64_t seed) {
    using config =
        paxos::config<int, paxos::counter_ballot<nodes>, paxos::majority<nodes>, Leader, nodes,
                      1, 1, true>;
    using replica = paxos::replica<config>;
    std::vector<replica> r;
    for (std::uint16_t id = 0; id < nodes; ++id) {
        r.emplace_back(typename replica::options{.self = paxos::node_id{id}, .seed = seed + id});
    }
    std::vector<typename replica::message_type> network;
    std::set<std::uint64_t> ballots;
    auto drain = [&](replica& x) {
        while (x.has_ready()) {
            const auto& rd = x.ready();  // (storage is omitted: nothing crashes here)
            for (const auto& m : rd.messages) {
                if (m.kind == paxos::message_kind::prepare) ballots.insert(m.ballot.raw());
                for (std::uint16_t to = 0; to < nodes; ++to) {
                    const bool for_to = m.to == paxos::node_id::broadcast()
                                            ? to != x.self().value
                                            : m.to.value == to;
                    if (!for_to) continue;
                    auto copy = m;
                    copy.to = paxos::node_id{to};
                    network.push_back(copy);
                }
            }
            x.advance(rd);
        }
    };
    auto phase1 = [](paxos::message_kind k) {
        return k == paxos::message_kind::prepare || k == paxos::message_kind::promise ||
               k == paxos::message_kind::promise_entry || k == paxos::message_kind::reject;
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
    outcome out;
    while (ballots.size() < rounds_max) {
        // Deliver, Phase-1 first, until the network is quiet or the duel has
        // gone on for rounds_max ballots.
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

template <class Leader>
void report(const char* name, std::uint64_t seeds) {
    std::vector<std::size_t> rounds, ticks;
    std::size_t stuck = 0;
    for (std::uint64_t s = 1; s <= seeds; ++s) {
        const outcome o = duel<Leader>(s);
        if (!o.chosen) {
            ++stuck;
            continue;
        }
        rounds.push_back(o.rounds);
        ticks.push_back(o.ticks);
    }
    std::sort(rounds.begin(), rounds.end());
    std::sort(ticks.begin(), ticks.end());
    auto at = [](const std::vector<std::size_t>& v, double q) {
        return v.empty() ? std::size_t{0} : v[static_cast<std::size_t>(q * (v.size() - 1))];
    };
    std::printf("%-20s %8llu %10zu", name, static_cast<unsigned long long>(seeds), stuck);
    if (rounds.empty()) {
        std::printf("   (no value chosen in %zu Phase-1 rounds, in any seed)\n", rounds_max);
        return;
    }
    std::printf(" %7zu %5zu %5zu %9zu %5zu %5zu\n", at(rounds, 0.5), at(rounds, 0.99),
                rounds.back(), at(ticks, 0.5), at(ticks, 0.99), ticks.back());
}

}  // namespace

int main(int argc, char** argv) {
    // Seeds to run (default 1,000); the test suite runs fewer in debug builds.
    const std::uint64_t seeds = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000;
    if (seeds == 0) {
        std::fprintf(stderr, "usage: livelock_demo [seeds > 0]\n");
        return 2;
    }
    std::printf("dueling proposers, 3 nodes, Phase-1 messages overtake Phase-2 messages\n\n");
    std::printf("%-20s %8s %10s %7s %5s %5s %9s %5s %5s\n", "policy", "seeds", "no choice",
                "rounds", "p99", "max", "ticks", "p99", "max");
    std::printf("%-20s %8s %10s %7s %5s %5s %9s %5s %5s\n", "", "", "", "median", "", "",
                "median", "", "");
    report<paxos::immediate>("immediate", seeds);
    report<paxos::randomized_backoff>("randomized_backoff", seeds);
    report<paxos::stable_leader>("stable_leader", seeds);
    return 0;
}
