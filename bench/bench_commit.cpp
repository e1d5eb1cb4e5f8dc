// bench/bench_commit.cpp: the cost of committing commands through a whole
// in-process cluster (every replica's work, in-memory storage, a perfect
// network), one command per slot and in batches.
//
// Run from the release preset:
//   cmake --preset release && cmake --build --preset release
//   ./build/release/bench/bench_commit
// Instruction counts, which the shared machine cannot disturb:
//   valgrind --tool=callgrind ./build/release/bench/bench_commit
//       --benchmark_filter=three_nodes_batch_1 --benchmark_min_time=0.05
//   (one line), then divide Ir by the commands it reports.
//
// A peer (canonical raft) measured side by side belongs to the benchmark
// suite proper; this file measures only this library.
#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <paxos/paxos.hpp>

namespace {

template <class Config, std::size_t Nodes>
class bench_cluster {
public:
    using replica = paxos::replica<Config>;
    using message = typename replica::message_type;

    bench_cluster() {
        for (std::uint16_t id = 0; id < Nodes; ++id) {
            typename replica::options o{};
            o.self = paxos::node_id{id};
            nodes_[id] = std::make_unique<replica>(o);
        }
        (void)nodes_[0]->campaign();
        settle();
    }

    // Proposes `count` commands at the leader, then runs the cluster until
    // quiet; returns the number of commands applied at the leader.
    std::uint64_t commit(std::uint64_t count) {
        std::uint64_t proposed = 0;
        while (proposed < count) {
            if (!nodes_[0]->propose(static_cast<int>(proposed)).ok()) break;
            ++proposed;
        }
        settle();
        return proposed;
    }

private:
    void drain(replica& r) {
        while (r.has_ready()) {
            const auto& rd = r.ready();
            for (const message& m : rd.messages) push(m, r.self());
            for (const auto& e : rd.chosen) applied_ += e.values.size();
            r.advance(rd);
        }
    }
    void push(const message& m, paxos::node_id from) {
        for (std::uint16_t to = 0; to < Nodes; ++to) {
            const bool addressed = m.to == paxos::node_id::broadcast() ? to != from.value
                                                                       : m.to.value == to;
            if (!addressed) continue;
            queue_[tail_ % queue_.size()] = m;
            queue_[tail_ % queue_.size()].to = paxos::node_id{to};
            ++tail_;
        }
    }
    void settle() {
        for (auto& n : nodes_) drain(*n);
        while (head_ != tail_) {
            const message m = queue_[head_ % queue_.size()];
            ++head_;
            replica& r = *nodes_[m.to.value];
            (void)r.step(m);
            drain(r);
        }
    }

    std::array<std::unique_ptr<replica>, Nodes> nodes_{};
    std::array<message, 4096> queue_{};
    std::uint64_t head_ = 0;
    std::uint64_t tail_ = 0;
    std::uint64_t applied_ = 0;
};

template <std::size_t Nodes, std::size_t Batch>
void commit_commands(benchmark::State& state) {
    using config = paxos::multi_paxos<int, Nodes, 64, Batch>;
    bench_cluster<config, Nodes> cluster;
    std::uint64_t commands = 0;
    for (auto _ : state) commands += cluster.commit(Batch);
    state.SetItemsProcessed(static_cast<std::int64_t>(commands));
    state.counters["commands/s"] =
        benchmark::Counter(static_cast<double>(commands), benchmark::Counter::kIsRate);
}

void three_nodes_batch_1(benchmark::State& s) { commit_commands<3, 1>(s); }
void three_nodes_batch_64(benchmark::State& s) { commit_commands<3, 64>(s); }
void five_nodes_batch_1(benchmark::State& s) { commit_commands<5, 1>(s); }
void five_nodes_batch_64(benchmark::State& s) { commit_commands<5, 64>(s); }

BENCHMARK(three_nodes_batch_1);
BENCHMARK(three_nodes_batch_64);
BENCHMARK(five_nodes_batch_1);
BENCHMARK(five_nodes_batch_64);

}  // namespace
