// examples/livelock.hpp: the dueling-proposers livelock, as an experiment,
// kept with its program (livelock_demo.cpp) rather than in the public headers:
// it is a tool built on the simulator's harness, not part of the library.
//
// Two replicas of a 3-node single-decree cluster propose at once (seed
// documents "Paxos Livelock" and "dueling proposers"). An adversarial network
// holds Phase-2 messages (accept, accepted) while any Phase-1 message
// (prepare, promise) is in flight, so every new prepare overtakes the
// accepts of the ballot it preempts: "DB-1 PREPARE(5), DB-2 PREPARE(7), DB-1's
// ACCEPT(5) rejected, DB-1 PREPARE(9), ...". Messages take a seeded number of
// ticks, so the policies' timers race real delays. duel() runs one such race
// and reports how many Phase-1 rounds (distinct ballots) and ticks passed
// before a value was chosen, if one was; duel_table() runs many seeds and
// summarizes them. The replicas are driven by paxos::sim::harness
// (sim/harness.hpp), the ready loop every simulation shares; nothing crashes
// here, so nothing is stored and a sync takes no time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <set>
#include <vector>

#include <paxos/config.hpp>
#include <paxos/core/replica.hpp>
#include <paxos/policies/random.hpp>
#include <paxos/sim/harness.hpp>

namespace livelock {

using namespace paxos;

struct duel_outcome {
    bool chosen = false;
    std::size_t rounds = 0;  // distinct ballots proposed before the choice (or in all)
    std::size_t ticks = 0;
};

// The adversary of the seed document, with latency. Each message takes
// 1..latency_ticks_max ticks (drawn per message from the seed), and the
// scheduler never delivers a Phase-2 message (accept, accepted) while any
// Phase-1 message (prepare, promise) is still in flight: every new prepare
// overtakes the accepts of the ballot it preempts. A policy makes
// progress only if it leaves a quiet gap long enough for Phase 2 to get
// through; how long that takes is the distribution duel_table() reports.
struct duel_options {
    std::size_t rounds_max = 1000;        // give up after this many distinct ballots
    std::uint32_t latency_ticks_max = 3;  // one-way delay: 1..this many ticks
};

template <class Leader>
class duel_run {
public:
    static constexpr std::size_t nodes = 3;
    using config =
        paxos::config<int, counter_ballot<nodes>, majority<nodes>, Leader, nodes, 1, 1, true>;
    using replica_type = replica<config>;
    using message_type = typename replica_type::message_type;
    using message_buffer = typename replica_type::message_buffer;
    using ready_type = typename replica_type::ready_type;
    using harness_type = sim::harness<config, duel_run>;
    friend harness_type;

    duel_run(std::uint64_t seed, const duel_options& opts)
        : opts_(opts), rng_(seed), cluster_(*this, nodes, harness_options()) {
        for (std::uint16_t id = 0; id < nodes; ++id) {
            typename replica_type::options o{};
            o.self = node_id{id};
            o.seed = rng_.next();
            cluster_[id].replica = std::make_unique<replica_type>(o);
        }
    }

    duel_outcome run() {
        // Both proposers start at once: the leader-free policies take the
        // command and campaign for it; the stable leader campaigns, then takes it.
        for (std::uint16_t p = 0; p < 2; ++p) {
            if constexpr (Leader::followers_propose) {
                (void)cluster_.replica_at(p).propose(100 + p);
            } else {
                (void)cluster_.replica_at(p).campaign();
            }
            cluster_.drain(p);
        }
        duel_outcome out;
        while (ballots_.size() < opts_.rounds_max) {
            deliver_due();
            for (std::size_t i = 0; i < nodes; ++i) {
                replica_type& x = cluster_.replica_at(i);
                if (x.chosen_end().value > 0) {
                    out.chosen = true;
                    out.rounds = ballots_.size();
                    return out;
                }
                if (x.is_leader() && !Leader::followers_propose && x.pending_count() == 0) {
                    (void)x.propose(7);
                    cluster_.drain(i);
                }
            }
            for (std::size_t i = 0; i < nodes; ++i) {
                (void)cluster_.replica_at(i).tick();
                cluster_.drain(i);
            }
            ++now_;
            ++out.ticks;
        }
        out.rounds = ballots_.size();
        return out;
    }

private:
    struct in_flight {
        std::size_t due = 0;  // the tick at which it may arrive
        message_buffer message{};
    };

    static sim::harness_options harness_options() {
        sim::harness_options h{};
        h.persist = false;  // no crashes, so nothing to persist
        h.instant_sync = true;
        return h;
    }

    // The seed's schedule: a prepare (and the promises it draws) overtakes the
    // accepts and acceptances of the ballot it preempts. Everything else,
    // rejects included, arrives when due.
    static bool phase1(message_kind k) {
        return k == message_kind::prepare || k == message_kind::promise;
    }
    static bool phase2(message_kind k) {
        return k == message_kind::accept || k == message_kind::accepted;
    }

    // The next message the adversary lets through at tick `now_`, if any.
    auto next() {
        const bool phase1_in_flight = std::any_of(
            network_.begin(), network_.end(), [](const auto& f) { return phase1(f.message.kind); });
        return std::find_if(network_.begin(), network_.end(), [&](const auto& f) {
            return f.due <= now_ && !(phase2(f.message.kind) && phase1_in_flight);
        });
    }

    void deliver_due() {
        for (auto it = next(); it != network_.end() && ballots_.size() < opts_.rounds_max;
             it = next()) {
            const message_buffer m = it->message;
            network_.erase(it);
            (void)cluster_.replica_at(m.to.value).step(m);
            cluster_.drain(m.to.value);
        }
    }

    // ---- the harness's driver hooks (sim/harness.hpp) ---------------------------

    void before_send(std::size_t, const message_type& m) {
        if (m.kind == message_kind::prepare) ballots_.insert(ballot_bits(m.ballot));
    }
    void transmit(std::size_t, std::size_t, const message_buffer& copy) {
        network_.push_back({now_ + rng_.between(1, opts_.latency_ticks_max), copy});
    }
    void apply(std::size_t, const chosen_entry<int>&) {}
    void durable(std::size_t, const ready_type&) {}
    void serve_catch_up(std::size_t, const catch_up_request&) {}
    sim::time_us sync_done_at(std::size_t) { return 0; }
    void storage_failed(std::size_t) {}
    void replayed(std::size_t, const message_buffer&) {}
    void drained(std::size_t) {}

    duel_options opts_;
    prng rng_;
    harness_type cluster_;
    std::vector<in_flight> network_;
    std::set<std::uint64_t> ballots_;
    std::size_t now_ = 0;
};

template <class Leader>
duel_outcome duel(std::uint64_t seed, const duel_options& opts = {}) {
    return duel_run<Leader>(seed, opts).run();
}

struct duel_summary {
    std::uint64_t seeds = 0;
    std::uint64_t no_choice = 0;  // runs that chose nothing within rounds_max
    std::size_t rounds_median = 0, rounds_p99 = 0, rounds_max = 0;
    std::size_t ticks_median = 0, ticks_p99 = 0, ticks_max = 0;
};

template <class Leader>
duel_summary duel_table(std::uint64_t seeds, const duel_options& opts = {}) {
    std::vector<std::size_t> rounds, ticks;
    duel_summary s;
    s.seeds = seeds;
    for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
        const duel_outcome o = duel<Leader>(seed, opts);
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
void print_duel_row(std::FILE* out, const char* name, std::uint64_t seeds,
                    const duel_options& opts) {
    const duel_summary s = duel_table<Leader>(seeds, opts);
    std::fprintf(out, "%-20s %8llu %10llu", name, static_cast<unsigned long long>(s.seeds),
                 static_cast<unsigned long long>(s.no_choice));
    if (s.no_choice == s.seeds) {
        std::fprintf(out, "   (no value chosen in %zu Phase-1 rounds, in any seed)\n",
                     opts.rounds_max);
        return;
    }
    std::fprintf(out, " %7zu %5zu %5zu %9zu %5zu %5zu\n", s.rounds_median, s.rounds_p99,
                 s.rounds_max, s.ticks_median, s.ticks_p99, s.ticks_max);
}
}  // namespace detail

// The table of the three stock leader policies over `seeds` duels.
inline void print_duel_table(std::FILE* out, std::uint64_t seeds, const duel_options& opts = {}) {
    std::fprintf(out,
                 "dueling proposers, 3 nodes, one-way latency 1..%u ticks; no Phase-2 message\n"
                 "is delivered while a Phase-1 message is in flight\n\n",
                 opts.latency_ticks_max);
    std::fprintf(out, "%-20s %8s %10s %7s %5s %5s %9s %5s %5s\n", "policy", "seeds", "no choice",
                 "rounds", "p99", "max", "ticks", "p99", "max");
    std::fprintf(out, "%-20s %8s %10s %7s %5s %5s %9s %5s %5s\n", "", "", "", "median", "", "",
                 "median", "", "");
    detail::print_duel_row<immediate>(out, "immediate", seeds, opts);
    detail::print_duel_row<randomized_backoff>(out, "randomized_backoff", seeds, opts);
    detail::print_duel_row<stable_leader>(out, "stable_leader", seeds, opts);
}

}  // namespace livelock
