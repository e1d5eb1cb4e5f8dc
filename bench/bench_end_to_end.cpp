// bench/bench_end_to_end.cpp: commits per second of a whole in-process
// cluster, ours beside canonical raft, measured in one binary.
//
// Every replica's work is counted: the leader's and every follower's, in
// memory, one thread. The durable part of each ready batch is acknowledged
// as synced and dropped (no storage I/O); messages go through one FIFO queue,
// copied once, a broadcast delivered to every other replica in turn.
//
// Workloads, named <impl>/<N>_nodes/<mode>/<bytes>B:
//   impl   paxos_basic     Basic Paxos: a fresh single-decree instance per
//                          command (or per batch), each running Phase 1 and
//                          Phase 2 from a proposer at node 0; no pipelining,
//                          as independent instances share no work.
//          paxos_multi     multi_paxos<V, N, 64, B>: a stable leader, window 64
//          paxos_flexible  flexible_paxos<V, N, N-1, 2, 64, B>: phase-2 quorums
//                          of 2 (for N = 3 that is the majority). Every accept
//                          still goes to all N-1 followers, so on one CPU its
//                          cost equals Multi-Paxos; the smaller quorum pays
//                          off in latency (see the quorum explorer).
//          raft_fifo       canonical raft on a minimal FIFO raft_io (peers/libraft.hpp)
//          raft_fifo_packed  the same, batched mode only: the 64 commands of a
//                          batch packed into one raft entry (one raft_apply of
//                          one buffer), which the state machine applies one by
//                          one; the like-for-like peer of a paxos batch in one slot
//          raft_fixture    canonical raft in its own raft_fixture (peers/libraft.hpp)
//   mode   one_in_flight   propose one command, settle, repeat (B = 1)
//          pipelined       64 commands, one per slot or raft entry, then settle (B = 1)
//          batched         64 commands in one slot (B = 64); raft_fifo and
//                          raft_fixture: one raft_apply of 64 buffers, so 64
//                          entries; raft_fifo_packed: one buffer, one entry
//   bytes  8               std::uint64_t
//          128             a trivially copyable struct of std::array<std::byte, 128>
//
// Counters: commands/s; allocs/commit (operator new over the timed loop,
// plus raft_malloc for raft: 0 for ours); msgs/commit (messages delivered, a
// broadcast counting once per receiver); state_bytes (sizeof one replica, or
// of struct raft, which holds more on the heap); transport_allocs/commit
// (raft_fifo: the entry copies of its transport, included in allocs).
//
// Run from the release preset:
//   cmake --preset release && cmake --build --preset release --target bench_end_to_end
//   ./build/release/bench/bench_end_to_end --benchmark_repetitions=9
//       --benchmark_enable_random_interleaving=true
//       --benchmark_report_aggregates_only=true                     (one line)
// (interleaving spreads a shared machine's changing load over every workload)
// Instructions per command (callgrind): scripts/instructions_per_command.sh,
// which runs this binary's counting mode:
//   bench_end_to_end --count=<workload>,<commands>   (or --count=all,<commands>)
// It runs the workload for that many commands and prints messages and
// allocations; under callgrind, collect only inside paxos_bench_round
// (--collect-atstart=no --toggle-collect=paxos_bench_round) and take the
// difference of two command counts, so set-up and tear-down cancel out.
// One caveat: in the batched 128-byte workloads our messages are 8 KiB each
// (a message holds its batch's full capacity inline), and glibc copies blocks
// that large with `rep movsb`, which callgrind counts as one instruction per
// byte; the wall-clock figure is the one to read there.
#include <benchmark/benchmark.h>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <paxos/paxos.hpp>

#include "alloc_counter.hpp"

#if PAXOS_BENCH_HAVE_RAFT
#include "peers/libraft.hpp"
#endif

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

// ---- commands and the state machine -------------------------------------------------

struct value128 {
    std::array<std::byte, 128> bytes{};
    friend bool operator==(const value128&, const value128&) = default;
};

// Command `seq`: its number in the first eight bytes, the rest zero (raft's
// payloads are built the same way).
template <class V>
V make_value(std::uint64_t seq) {
    if constexpr (std::is_same_v<V, std::uint64_t>) {
        return seq;
    } else {
        V v{};
        std::memcpy(v.bytes.data(), &seq, sizeof seq);
        return v;
    }
}

template <class V>
std::uint64_t first_word(const V& v) {
    if constexpr (std::is_same_v<V, std::uint64_t>) {
        return v;
    } else {
        std::uint64_t word = 0;
        std::memcpy(&word, v.bytes.data(), sizeof word);
        return word;
    }
}

// Copies each command and adds its first word to a checksum: the same work as
// peers::libraft::state_machine::apply.
template <class V>
struct state_machine {
    V last{};
    std::uint64_t applied = 0;
    std::uint64_t checksum = 0;

    void apply(const V& v) {
        last = v;
        checksum += first_word(last);
        ++applied;
    }
};

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "bench_end_to_end: %s\n", what);
    std::abort();
}

// ---- our cluster ------------------------------------------------------------------

// A FIFO of messages, each copied once: its header into a ring of
// messages, its body into rings of values and reported votes (each body
// contiguous), so a queued message is a view that step() takes as it is.
// The same work as raft_fifo's one copy of each message.
template <class Message, std::size_t Capacity, std::size_t ValuesCapacity,
          std::size_t VotesCapacity>
class message_fifo {
public:
    using value = typename Message::value_type;
    using report = typename Message::report_type;
    static_assert(std::has_single_bit(Capacity) && std::has_single_bit(ValuesCapacity) &&
                  std::has_single_bit(VotesCapacity));

    message_fifo()
        : messages_(std::make_unique<queued[]>(Capacity)),
          values_(std::make_unique<value[]>(ValuesCapacity)),
          votes_(std::make_unique<report[]>(VotesCapacity)) {}

    bool empty() const noexcept { return head_ == tail_; }
    const Message& front() const noexcept { return messages_[head_ & (Capacity - 1)].m; }

    void pop() noexcept {
        const queued& q = messages_[head_ & (Capacity - 1)];
        values_.head = q.values_end;
        votes_.head = q.votes_end;
        ++head_;
    }

    void push(const Message& m) {
        if (tail_ - head_ >= Capacity) fail("message queue full");
        queued& q = messages_[tail_ & (Capacity - 1)];
        static_cast<typename Message::header_type&>(q.m) = m.header();
        q.m.values = m.values.empty() ? std::span<const value>{} : copy(values_, m.values);
        q.m.votes = m.votes.empty() ? std::span<const report>{} : copy(votes_, m.votes);
        q.values_end = values_.tail;
        q.votes_end = votes_.tail;
        ++tail_;
    }

private:
    struct queued {
        Message m;
        std::uint64_t values_end = 0;  // the body rings' tails after this message
        std::uint64_t votes_end = 0;
    };
    template <class T>
    struct ring {
        std::unique_ptr<T[]> items;
        std::uint64_t head = 0;
        std::uint64_t tail = 0;
        explicit ring(std::unique_ptr<T[]> p) : items(std::move(p)) {}
    };

    // A contiguous copy of `body` at the ring's tail (skipping the ring's
    // end when it does not fit there).
    template <class T, std::size_t N>
    static std::span<const T> copy_ring(ring<T>& r, std::span<const T> body) {
        std::uint64_t at = r.tail;
        if ((at & (N - 1)) + body.size() > N) at = (at | (N - 1)) + 1;
        if (at + body.size() - r.head > N) fail("message queue: bodies full");
        T* out = r.items.get() + (at & (N - 1));
        for (std::size_t i = 0; i < body.size(); ++i) out[i] = body[i];
        r.tail = at + body.size();
        return {out, body.size()};
    }
    std::span<const value> copy(ring<value>& r, std::span<const value> body) {
        return copy_ring<value, ValuesCapacity>(r, body);
    }
    std::span<const report> copy(ring<report>& r, std::span<const report> body) {
        return copy_ring<report, VotesCapacity>(r, body);
    }

    std::unique_ptr<queued[]> messages_;
    ring<value> values_;
    ring<report> votes_;
    std::uint64_t head_ = 0;
    std::uint64_t tail_ = 0;
};

// N replicas and a FIFO network. For a single-decree config every proposal
// starts a fresh instance: the replicas are rebuilt in place (no allocation)
// and node 0 runs both phases for that one command or batch.
template <class Config, std::size_t Nodes, std::size_t QueueCapacity>
class paxos_cluster {
public:
    using replica = paxos::replica<Config>;
    using message = typename replica::message_type;
    using value = typename Config::value_type;
    static constexpr std::size_t node_count = Nodes;
    // Room for a queue full of batches, and a few promises of a whole window.
    using fifo = message_fifo<message, QueueCapacity,
                              std::bit_ceil(QueueCapacity* replica::batch_values_max +
                                            4 * replica::body_values_max),
                              std::bit_ceil(4 * replica::window_slots)>;

    paxos_cluster()
        : nodes_(std::make_unique<std::array<std::optional<replica>, Nodes>>()),
          queue_(std::make_unique<fifo>()) {
        renew();
        if constexpr (!Config::single_decree) {
            (void)node(0).campaign();
            settle();
            if (!node(0).is_leader()) fail("node 0 not elected");
        }
    }

    bool propose(std::uint64_t seq) {
        if constexpr (Config::single_decree) renew();
        return submit(seq);
    }
    bool propose_batch(std::uint64_t seq, unsigned count) {
        if constexpr (Config::single_decree) renew();
        bool ok = true;
        for (unsigned i = 0; i < count; ++i) ok = submit(seq + i) && ok;
        return ok;
    }

    // Runs the network until no message is left.
    void settle() {
        drain(0);  // the only node given input since the last settle()
        fifo& q = *queue_;
        while (!q.empty()) {
            // A reference into the ring: push() refuses to overwrite it.
            const message& m = q.front();
            if (m.to == paxos::node_id::broadcast()) {
                for (std::size_t to = 0; to < Nodes; ++to) {
                    if (to != m.from.value) deliver(to, m);
                }
            } else {
                deliver(m.to.value, m);
            }
            q.pop();
        }
    }

    std::uint64_t messages() const noexcept { return messages_; }
    static constexpr std::uint64_t transport_allocations() noexcept { return 0; }
    static constexpr std::size_t state_bytes() noexcept { return sizeof(replica); }
    static constexpr bool needs_rebuild() noexcept { return false; }
    static constexpr void rebuild() noexcept {}

    // Nothing was refused, the leader (node 0) applied every command, and
    // followers trail by at most the last round: as raft's followers learn the
    // commit index from the next AppendEntries, ours learn a chosen slot from
    // the next accept or heartbeat. A single decree announces each choice.
    bool consistent(std::uint64_t last_round) const noexcept {
        if (failed_ || fsm_[0].applied != proposed_) return false;
        const std::uint64_t trail = Config::single_decree ? 0 : last_round;
        for (std::size_t i = 1; i < Nodes; ++i) {
            if (fsm_[i].applied + trail < proposed_) return false;
        }
        return true;
    }

private:
    replica& node(std::size_t id) { return *(*nodes_)[id]; }

    void renew() {
        for (std::uint16_t id = 0; id < Nodes; ++id) {
            typename replica::options o{};
            o.self = paxos::node_id{id};
            o.seed = ++seed_;
            (*nodes_)[id].emplace(o);
        }
    }

    bool submit(std::uint64_t seq) {
        if (!node(0).propose(make_value<value>(seq)).ok()) {
            failed_ = true;
            return false;
        }
        ++proposed_;
        return true;
    }

    void deliver(std::size_t to, const message& m) {
        ++messages_;
        (void)node(to).step(m);  // a refused message returns why; none is fatal here
        drain(to);
    }

    // The ready loop: messages queued (both groups: the durable part counts
    // as synced at once), chosen commands applied.
    void drain(std::size_t id) {
        replica& r = node(id);
        while (r.has_ready()) {
            const auto& rd = r.ready();
            for (const message& m : rd.send_now) queue_->push(m);
            for (const message& m : rd.send_after_sync) queue_->push(m);
            for (const auto& e : rd.chosen) {
                for (const value& v : e.values) fsm_[id].apply(v);
            }
            r.advance(rd);
        }
    }

    std::unique_ptr<std::array<std::optional<replica>, Nodes>> nodes_;
    std::unique_ptr<fifo> queue_;
    std::array<state_machine<value>, Nodes> fsm_{};
    std::uint64_t messages_ = 0;
    std::uint64_t proposed_ = 0;
    std::uint64_t seed_ = 0;
    bool failed_ = false;
};

// ---- workloads ------------------------------------------------------------------

enum class mode { one_in_flight, pipelined, batched };

constexpr unsigned round_commands(mode m) { return m == mode::one_in_flight ? 1 : 64; }

constexpr const char* to_string(mode m) {
    switch (m) {
        case mode::one_in_flight: return "one_in_flight";
        case mode::pipelined: return "pipelined";
        case mode::batched: return "batched";
    }
    return "?";
}

// One round: propose, then settle. Called through paxos_bench_round so that
// callgrind can collect exactly the rounds.
template <class Cluster, mode M>
struct round_job {
    Cluster* cluster = nullptr;
    std::uint64_t seq = 0;

    static void run(void* p) {
        auto& job = *static_cast<round_job*>(p);
        Cluster& c = *job.cluster;
        if constexpr (M == mode::one_in_flight) {
            (void)c.propose(job.seq);
        } else if constexpr (M == mode::pipelined) {
            for (unsigned i = 0; i < round_commands(M); ++i) (void)c.propose(job.seq + i);
        } else {
            (void)c.propose_batch(job.seq, round_commands(M));
        }
        c.settle();
        job.seq += round_commands(M);
    }
};

}  // namespace

// The measured region. C linkage and a call through a volatile pointer keep
// its name intact (no inlining, no cloning), so callgrind's
// --toggle-collect=paxos_bench_round finds it.
extern "C" [[gnu::noinline]] void paxos_bench_round(void* job, void (*run)(void*)) { run(job); }

namespace {

void (*volatile round_entry)(void*, void (*)(void*)) = &paxos_bench_round;

std::uint64_t heap_allocations() {
#if PAXOS_BENCH_HAVE_RAFT
    return alloc_counter::count() + peers::libraft::heap_allocations;
#else
    return alloc_counter::count();
#endif
}

// Counters over the measured rounds only: a rebuild in between is left out.
struct tally {
    std::uint64_t commands = 0;
    std::uint64_t messages = 0;
    std::uint64_t allocations = 0;
    std::uint64_t transport_allocations = 0;
};

template <class Cluster>
struct meter {
    const Cluster& cluster;
    tally total{};
    std::uint64_t messages0 = 0, allocations0 = 0, transport0 = 0;

    explicit meter(const Cluster& c) : cluster(c) { start(); }
    void start() {
        messages0 = cluster.messages();
        transport0 = cluster.transport_allocations();
        allocations0 = heap_allocations();
    }
    void stop() {
        total.allocations += heap_allocations() - allocations0;
        total.messages += cluster.messages() - messages0;
        total.transport_allocations += cluster.transport_allocations() - transport0;
    }
};

template <class Cluster, mode M, bool MustNotAllocate>
void run_benchmark(benchmark::State& state) {
    auto cluster = std::make_unique<Cluster>();
    round_job<Cluster, M> job{cluster.get(), 0};
    meter<Cluster> m(*cluster);
    for (auto _ : state) {
        if (cluster->needs_rebuild()) {
            state.PauseTiming();
            m.stop();
            cluster->rebuild();
            m.start();
            state.ResumeTiming();
        }
        round_entry(&job, &round_job<Cluster, M>::run);
    }
    m.stop();
    if (!cluster->consistent(round_commands(M))) {
        state.SkipWithError("a command was refused or not applied everywhere");
        return;
    }
    if (MustNotAllocate && m.total.allocations != 0) {
        state.SkipWithError("the replicas allocated during the timed loop");
        return;
    }
    const auto commands = static_cast<double>(job.seq);
    state.SetItemsProcessed(static_cast<std::int64_t>(job.seq));
    state.counters["commands/s"] = benchmark::Counter(commands, benchmark::Counter::kIsRate);
    state.counters["allocs/commit"] = static_cast<double>(m.total.allocations) / commands;
    state.counters["msgs/commit"] = static_cast<double>(m.total.messages) / commands;
    state.counters["state_bytes"] = static_cast<double>(Cluster::state_bytes());
    if (m.total.transport_allocations != 0) {
        state.counters["transport_allocs/commit"] =
            static_cast<double>(m.total.transport_allocations) / commands;
    }
}

// The counting driver: `commands` commands (whole rounds), no Google Benchmark
// loop, so two runs under callgrind differ only in the number of rounds.
template <class Cluster, mode M>
bool run_count(std::uint64_t commands, tally& out, bool must_not_allocate) {
    auto cluster = std::make_unique<Cluster>();
    round_job<Cluster, M> job{cluster.get(), 0};
    meter<Cluster> m(*cluster);
    while (job.seq < commands) {
        if (cluster->needs_rebuild()) {
            m.stop();
            cluster->rebuild();
            m.start();
        }
        round_entry(&job, &round_job<Cluster, M>::run);
    }
    m.stop();
    out = m.total;
    out.commands = job.seq;
    return cluster->consistent(round_commands(M)) && (!must_not_allocate || out.allocations == 0);
}

// ---- the registry: one entry per workload, for both drivers ----------------------

struct workload {
    std::string name;
    void (*bench)(benchmark::State&);
    bool (*count)(std::uint64_t, tally&);
};

std::vector<workload>& workloads() {
    static std::vector<workload> all;
    return all;
}

template <class Cluster, mode M, bool Ours>
void add(const char* impl, std::size_t nodes, std::size_t bytes) {
    std::string name = impl;
    name +=
        "/" + std::to_string(nodes) + "_nodes/" + to_string(M) + "/" + std::to_string(bytes) + "B";
    workloads().push_back(workload{std::move(name), &run_benchmark<Cluster, M, Ours>,
                                   [](std::uint64_t commands, tally& out) {
                                       return run_count<Cluster, M>(commands, out, Ours);
                                   }});
}

// Queue room: a window of 64 single-command slots keeps up to about
// 64 * (N + 2) messages in the queue; one slot at a time, a few dozen.
constexpr std::size_t queue_pipelined = 1024;
constexpr std::size_t queue_single_slot = 64;

template <class Config, mode M>
void add_paxos(const char* impl) {
    constexpr std::size_t nodes = Config::max_nodes;
    constexpr std::size_t queue = M == mode::pipelined ? queue_pipelined : queue_single_slot;
    add<paxos_cluster<Config, nodes, queue>, M, true>(impl, nodes,
                                                      sizeof(typename Config::value_type));
}

template <std::size_t N, class V>
void add_ours() {
    using basic = paxos::basic_paxos<V, N>;
    using basic_batched = paxos::config<V, paxos::counter_ballot<N>, paxos::majority<N>,
                                        paxos::randomized_backoff, N, 1, 64, true>;
    add_paxos<basic, mode::one_in_flight>("paxos_basic");
    add_paxos<basic_batched, mode::batched>("paxos_basic");

    using multi = paxos::multi_paxos<V, N, 64, 1>;
    using multi_batched = paxos::multi_paxos<V, N, 64, 64>;
    add_paxos<multi, mode::one_in_flight>("paxos_multi");
    add_paxos<multi, mode::pipelined>("paxos_multi");
    add_paxos<multi_batched, mode::batched>("paxos_multi");

    using flexible = paxos::flexible_paxos<V, N, N - 1, 2, 64, 1>;
    using flexible_batched = paxos::flexible_paxos<V, N, N - 1, 2, 64, 64>;
    add_paxos<flexible, mode::one_in_flight>("paxos_flexible");
    add_paxos<flexible, mode::pipelined>("paxos_flexible");
    add_paxos<flexible_batched, mode::batched>("paxos_flexible");
}

#if PAXOS_BENCH_HAVE_RAFT
template <class Cluster>
void add_raft(const char* impl, std::size_t nodes, std::size_t bytes) {
    add<Cluster, mode::one_in_flight, false>(impl, nodes, bytes);
    add<Cluster, mode::pipelined, false>(impl, nodes, bytes);
    add<Cluster, mode::batched, false>(impl, nodes, bytes);
}

// Packing changes nothing for a single command, so only the batched mode.
template <std::size_t N, std::size_t Bytes>
void add_raft_packed() {
    using packed = peers::libraft::fifo_cluster<N, Bytes, peers::libraft::packing::one_entry>;
    add<packed, mode::batched, false>("raft_fifo_packed", N, Bytes);
}
#else
void skip_raft(benchmark::State& state) {
    state.SkipWithError("canonical raft not installed: apt-get install libraft-dev");
}
bool count_nothing(std::uint64_t, tally&) { return true; }  // nothing to count
void add_raft_placeholders(const char* impl, std::size_t nodes, std::size_t bytes,
                           std::initializer_list<mode> modes) {
    for (const mode m : modes) {
        std::string name = impl;
        name += "/" + std::to_string(nodes) + "_nodes/" + to_string(m) + "/" +
                std::to_string(bytes) + "B";
        workloads().push_back(workload{std::move(name), &skip_raft, &count_nothing});
    }
}
#endif

template <std::size_t N>
void add_nodes() {
    add_ours<N, std::uint64_t>();
    add_ours<N, value128>();
#if PAXOS_BENCH_HAVE_RAFT
    add_raft<peers::libraft::fifo_cluster<N, 8>>("raft_fifo", N, 8);
    add_raft<peers::libraft::fifo_cluster<N, 128>>("raft_fifo", N, 128);
    add_raft_packed<N, 8>();
    add_raft_packed<N, 128>();
    add_raft<peers::libraft::fixture_cluster<N, 8>>("raft_fixture", N, 8);
    add_raft<peers::libraft::fixture_cluster<N, 128>>("raft_fixture", N, 128);
#else
    const std::initializer_list<mode> all_modes = {mode::one_in_flight, mode::pipelined,
                                                   mode::batched};
    for (const std::size_t bytes : {std::size_t{8}, std::size_t{128}}) {
        add_raft_placeholders("raft_fifo", N, bytes, all_modes);
        add_raft_placeholders("raft_fifo_packed", N, bytes, {mode::batched});
        add_raft_placeholders("raft_fixture", N, bytes, all_modes);
    }
#endif
}

void register_workloads() {
    add_nodes<3>();
    add_nodes<5>();
    add_nodes<7>();
    for (const workload& w : workloads()) benchmark::RegisterBenchmark(w.name.c_str(), w.bench);
}

// --count=<workload>,<commands> or --count=all,<commands>
int count_main(std::string_view spec) {
    const auto comma = spec.rfind(',');
    if (comma == std::string_view::npos) {
        std::fprintf(stderr, "usage: --count=<workload|all>,<commands>\n");
        return 2;
    }
    const std::string which(spec.substr(0, comma));
    const std::uint64_t commands =
        std::strtoull(std::string(spec.substr(comma + 1)).c_str(), nullptr, 10);
    int failures = 0;
    bool found = false;
    for (const workload& w : workloads()) {
        if (which != "all" && which != w.name) continue;
        found = true;
        tally t{};
        const bool ok = w.count(commands, t);
        if (ok && t.commands == 0) {
            std::printf("%-40s skipped (canonical raft not installed)\n", w.name.c_str());
            continue;
        }
        const double n = t.commands == 0 ? 1.0 : static_cast<double>(t.commands);
        std::printf(
            "%-40s commands %8llu  msgs/commit %7.3f  allocs/commit %8.3f  "
            "transport_allocs/commit %6.3f  %s\n",
            w.name.c_str(), static_cast<unsigned long long>(t.commands),
            static_cast<double>(t.messages) / n, static_cast<double>(t.allocations) / n,
            static_cast<double>(t.transport_allocations) / n, ok ? "ok" : "FAILED");
        std::fflush(stdout);
        if (!ok) ++failures;
    }
    if (!found) {
        std::fprintf(stderr, "no workload named %s\n", which.c_str());
        return 2;
    }
    return failures == 0 ? 0 : 1;
}

// Raft keeps its whole log in memory (snapshots are off), so each untimed
// rebuild frees megabytes. Left to itself, glibc may return them to the
// kernel, and the next life pays a page fault per 4 KiB (raft_fifo_packed at
// 128 B: 3.6 M instead of 13 M commands/s); whether it does depends on which
// benchmarks ran before, as freeing a large mapped block raises the trim
// threshold. A fixed threshold keeps the memory, so figures do not depend on
// the order. Only this one: fixing the mmap threshold as well would turn
// raft's growth of its log array from mremap into copies. Our replicas
// allocate nothing while measured, so this can only help the peer.
void keep_freed_memory() {
#if defined(__GLIBC__)
    constexpr int trim_threshold_bytes = 1 << 30;
    // A sanitizer's allocator refuses (ASan intercepts malloc): the figures
    // then only lose this stability, and counting runs are unaffected.
    if (mallopt(M_TRIM_THRESHOLD, trim_threshold_bytes) == 0) {
        std::fprintf(stderr,
                     "bench_end_to_end: mallopt refused the trim threshold; "
                     "wall-clock figures may depend on benchmark order\n");
    }
#endif
}

}  // namespace

int main(int argc, char** argv) {
    keep_freed_memory();
#if PAXOS_BENCH_HAVE_RAFT
    peers::libraft::install_counting_heap();
#endif
    register_workloads();
    std::vector<char*> args(argv, argv + argc);
    bool min_time_given = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg.substr(0, 8) == "--count=") return count_main(arg.substr(8));
        if (arg.substr(0, 21) == "--benchmark_min_time=") min_time_given = true;
    }
    // A short default keeps the whole suite well under two minutes.
    static char default_min_time[] = "--benchmark_min_time=0.1";
    if (!min_time_given) args.insert(args.begin() + 1, default_min_time);
    int args_count = static_cast<int>(args.size());
    benchmark::Initialize(&args_count, args.data());
    if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
