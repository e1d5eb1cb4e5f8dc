// bench/bench_step.cpp: the cost of one replica input or output, each alone.
//
// Every message kind step() handles, in the role where it does real work,
// plus one stale-ballot rejection and one malformed message; propose() at a
// leader; tick() at an idle follower and at an idle leader; ready() with
// advance() on a typical batch. Multi-Paxos with 64-bit commands:
// multi_paxos<std::uint64_t, 3> (window 64, 8 commands per slot), some with
// 5 nodes, and one unbatched config (1 command per slot).
//
// Method. An input changes the replica, so it cannot simply be repeated:
// each benchmark iteration is a chunk of `ops` inputs, timed as a whole
// with steady_clock (UseManualTime), between two untimed steps that bring
// the state to where the next chunk can start. Where the input can take a
// fresh slot or ballot each time (accept, accepted, prepare, a promise part,
// propose, tick), a chunk works one replica; where it moves the replica
// somewhere it must be led back from (campaign, a promise that completes
// Phase 1, a reject that deposes a leader, ready/advance), a chunk works
// `ops` copies of one replica, each led back by protocol inputs, not by
// copying 50 KB. No PauseTiming/ResumeTiming, which costs hundreds of
// nanoseconds a pair: a steady_clock read costs about 18 ns here, and one
// read's worth lands in each chunk of 16 to 96 inputs (at most about 1 ns
// per input, in the 16-input chunks).
//
// The time column is per chunk; read `ns_per_op`. Counters:
//   ns_per_op      timed nanoseconds per input
//   ops            inputs per chunk (one benchmark iteration)
//   allocs         operator new calls over the whole loop, resets included
//                  (must be 0; the program aborts otherwise)
//   replica_bytes  sizeof(paxos::replica<Config>)
// Each input's result is checked against the reason it must return, and
// each reset checks the state the chunk should have left, so a benchmark
// cannot silently measure a different path.
//
// Run from the release preset:
//   cmake --preset release && cmake --build --preset release --target bench_step
//   ./build/release/bench/bench_step --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include <paxos/paxos.hpp>

#include "alloc_counter.hpp"

namespace {

using multi3 = paxos::multi_paxos<std::uint64_t, 3>;
using multi5 = paxos::multi_paxos<std::uint64_t, 5>;
using multi3_unbatched = paxos::multi_paxos<std::uint64_t, 3, 64, 1>;
// multi3 with promises split into parts of one batch each, so one promise
// part reports one vote: the input promise_part_at_candidate times.
struct multi3_promise_parts : multi3 {
    static constexpr std::size_t promise_values_max = multi3::batch_values_max;
};

using paxos::message_kind;
using paxos::node_id;
using paxos::reason;
using paxos::slot_id;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "bench_step: %s\n", what);
    std::abort();
}

void expect(bool condition, const char* what) {
    if (!condition) fail(what);
}

template <class Result>
void expect_ok(const Result& r, const char* what) {
    if (!r.ok()) {
        std::fprintf(stderr, "bench_step: %s: %s\n", what, paxos::to_string(r.code));
        std::abort();
    }
}

// Acknowledges whatever a replica has to hand out, as a driver would after
// persisting, sending and applying it. A leader's own votes count at
// advance(), which may choose slots and queue more output: drain it all.
template <class Replica>
void discard(Replica& r) {
    while (r.has_ready()) r.advance(r.ready());
}

// Every message of a batch, sent at once or after the sync.
template <class Ready>
std::size_t messages_in(const Ready& rd) {
    return rd.send_now.size() + rd.send_after_sync.size();
}

template <class Config>
struct kit {
    using replica = paxos::replica<Config>;
    // Crafted messages are kept across inputs, so they own their bodies.
    using message = typename replica::message_buffer;
    using ballot = typename replica::ballot_type;
    static constexpr std::size_t nodes = Config::max_nodes;
    static constexpr std::size_t batch = Config::batch_values_max;
    // Peers whose accepted make a majority with the leader's own vote are
    // nodes 1 .. quorum_peers; the last of them completes it.
    static constexpr std::uint16_t quorum_peers = static_cast<std::uint16_t>(nodes / 2);

    static message make(message_kind kind, std::uint16_t from, node_id to, ballot b,
                        slot_id s = slot_id{}, slot_id chosen_end = slot_id{}) {
        message m{};
        m.kind = kind;
        m.from = node_id{from};
        m.to = to;
        m.ballot = b;
        m.slot = s;
        m.chosen_end = chosen_end;
        if (kind == message_kind::chosen) m.accepted_ballot = b;  // chosen in its ballot
        return m;
    }

    // A full batch: a loaded leader seals a slot when its batch fills.
    static void fill(message& m, std::uint64_t first, std::size_t count = batch) {
        m.values.clear();
        for (std::size_t i = 0; i < count; ++i) m.values.push_back(first + i);
    }

    static ballot above(ballot seen, std::uint16_t owner) {
        const std::optional<ballot> b = ballot::next_above(seen, node_id{owner});
        if (!b) fail("ballot space exhausted");
        return *b;
    }
};

// ---- a cluster on a perfect network, used only to build states -----------------

template <class Config>
class cluster {
public:
    using k = kit<Config>;
    using replica = typename k::replica;
    using message = typename k::message;

    explicit cluster(typename Config::leader::options leader = {}, std::uint32_t lease_ticks = 0) {
        replicas_.reserve(k::nodes);
        for (std::uint16_t id = 0; id < k::nodes; ++id) {
            typename replica::options o{};
            o.self = node_id{id};
            o.seed = id + 1u;
            o.leader = leader;
            o.lease_ticks = lease_ticks;
            replicas_.emplace_back(o);
        }
    }

    replica& node(std::size_t id) { return replicas_[id]; }

    // The steady state most benchmarks start from: node 2 led once, node 0
    // took over with a higher ballot (so a ballot older than the leader's
    // exists, owned by a live node), and a few slots are chosen everywhere.
    static std::unique_ptr<cluster> steady(typename Config::leader::options leader = {}) {
        auto c = std::make_unique<cluster>(leader);
        c->elect(2);
        c->elect(0);
        c->commit(0, 4);
        return c;
    }

    // Node 0 leads with the leader lease on (core/lease.hpp) and holds a
    // lease: every replica waited out its start, and a heartbeat round of
    // node 0's ballot was answered.
    static std::unique_ptr<cluster> leased() {
        constexpr std::uint32_t lease_ticks = 8;  // below the policy's election timeout
        auto c = std::make_unique<cluster>(typename Config::leader::options{}, lease_ticks);
        for (std::uint32_t t = 0; t < lease_ticks; ++t) {
            for (std::size_t id = 0; id < k::nodes; ++id) (void)c->node(id).tick();
        }
        c->settle();
        c->elect(0);
        c->commit(0, 4);
        (void)c->node(0).tick();  // a heartbeat, and with it a round
        c->settle();
        expect(c->node(0).lease_ticks_left() > 0, "set-up: the leader holds no lease");
        return c;
    }

    void elect(std::uint16_t id) {
        expect_ok(node(id).campaign(), "campaign");
        settle();
        expect(node(id).is_leader(), "set-up: election failed");
    }

    // The leader fills `slots` batches; every replica learns them chosen.
    void commit(std::uint16_t leader, std::size_t slots) {
        const slot_id target{node(leader).chosen_end().value + slots};
        for (std::size_t i = 0; i < slots * k::batch; ++i) {
            expect_ok(node(leader).propose(seq_++), "set-up propose");
        }
        settle();
        // Followers learn the last slots from the leader's next heartbeat.
        for (int t = 0; t < 4 && !all_chosen(target); ++t) {
            (void)node(leader).tick();
            settle();
        }
        expect(all_chosen(target), "set-up: not chosen");
    }

    bool all_chosen(slot_id target) {
        for (replica& r : replicas_) {
            if (r.chosen_end() != target) return false;
        }
        return true;
    }

    // Delivers every message, in FIFO order, until no replica has output.
    void settle() {
        for (;;) {
            for (std::size_t id = 0; id < k::nodes; ++id) collect(id);
            if (queue_.empty()) return;
            for (std::size_t i = 0; i < queue_.size(); ++i) {
                const message m = queue_[i];  // a copy: collect() may grow the queue
                for (std::size_t to = 0; to < k::nodes; ++to) {
                    const bool addressed = m.to == node_id::broadcast() || m.to.value == to;
                    if (!addressed || to == m.from.value) continue;
                    (void)node(to).step(m);  // refusals are part of a normal run
                    collect(to);
                }
            }
            queue_.clear();
        }
    }

private:
    // A bound, not a reservation: a queued message owns a body of up to
    // promise_values_max values, so 2^14 of them would reserve 100 MB.
    static constexpr std::size_t queue_capacity = 1 << 14;

    void collect(std::size_t id) {
        replica& r = node(id);
        while (r.has_ready()) {
            const auto& rd = r.ready();
            for (const auto& group : {rd.send_now, rd.send_after_sync}) {
                for (const auto& m : group) {
                    expect(queue_.size() < queue_capacity, "set-up: message queue full");
                    queue_.emplace_back(m);
                }
            }
            r.advance(rd);
        }
    }

    std::vector<replica> replicas_;
    std::vector<message> queue_;
    std::uint64_t seq_ = 1;
};

// Has the leader's vote counted by the peers it needs, so `s` is chosen.
template <class Config>
void choose(typename kit<Config>::replica& leader, slot_id s, std::uint16_t peers) {
    using k = kit<Config>;
    for (std::uint16_t p = 1; p <= peers; ++p) {
        const auto m = k::make(message_kind::accepted, p, node_id{0}, leader.ballot(), s, s);
        expect_ok(leader.step(m), "accepted");
    }
}

// ---- the runner ---------------------------------------------------------------------

using bench_clock = std::chrono::steady_clock;

// A fixture has: ops (inputs per chunk); expected (the reason each input
// returns); before() and after() (untimed resets); op(i) (the timed input);
// replica (for sizeof).
//
// The timed inputs of one chunk. Not inlined, so callgrind can collect
// inside it alone (scripts/instructions_per_step.sh); one call per chunk
// costs next to nothing.
template <class Fixture>
[[gnu::noinline]] void paxos_step_chunk(Fixture& f) {
    for (std::size_t i = 0; i < Fixture::ops; ++i) {
        const reason r = f.op(i);
        if (r != Fixture::expected) [[unlikely]] {
            std::fprintf(stderr, "bench_step: %s: input %zu returned %s, not %s\n", Fixture::what,
                         i, paxos::to_string(r), paxos::to_string(Fixture::expected));
            std::abort();
        }
    }
}

template <class Fixture>
void run(benchmark::State& state) {
    auto f = std::make_unique<Fixture>();
    std::int64_t timed_ns = 0;
    const std::uint64_t allocs_before = alloc_counter::count();
    for (auto _ : state) {
        f->before();
        const auto start = bench_clock::now();
        paxos_step_chunk(*f);
        const auto stop = bench_clock::now();
        f->after();
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(stop - start);
        timed_ns += ns.count();
        state.SetIterationTime(static_cast<double>(ns.count()) * 1e-9);
    }
    const std::uint64_t allocs = alloc_counter::count() - allocs_before;
    if (allocs != 0) {
        std::fprintf(stderr, "bench_step: %s: %llu allocations in the loop\n", Fixture::what,
                     static_cast<unsigned long long>(allocs));
        std::abort();
    }
    const double inputs = static_cast<double>(state.iterations()) * Fixture::ops;
    state.counters["ns_per_op"] = static_cast<double>(timed_ns) / inputs;
    state.counters["ops"] = static_cast<double>(Fixture::ops);
    state.counters["allocs"] = static_cast<double>(allocs);
    state.counters["replica_bytes"] = static_cast<double>(sizeof(typename Fixture::replica));
}

// ---- acceptor and learner: Phase 2 at a follower ---------------------------------

// A follower of a stable leader, in the pipeline: accept for a fresh slot
// (a vote and an accepted reply), then chosen for it (learned, applied in
// the next batch). TimeChosen picks which of the two is timed; the other
// one is the reset, so the window keeps sliding.
template <class Config, bool TimeChosen>
struct follower_phase2 {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 32;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = TimeChosen ? "chosen at follower" : "accept at follower";

    std::unique_ptr<cluster<Config>> c = cluster<Config>::steady();
    replica& f = c->node(1);
    slot_id next = f.chosen_end();
    std::array<typename k::message, ops> accepts{};
    std::array<typename k::message, ops> chosens{};

    follower_phase2() {
        const auto b = c->node(0).ballot();
        for (std::size_t i = 0; i < ops; ++i) {
            accepts[i] = k::make(message_kind::accept, 0, node_id::broadcast(), b);
            chosens[i] = k::make(message_kind::chosen, 0, node_id::broadcast(), b);
            k::fill(accepts[i], 8 * i);
            k::fill(chosens[i], 8 * i);
        }
    }

    void before() {
        for (std::size_t i = 0; i < ops; ++i) {
            accepts[i].slot = chosens[i].slot = slot_id{next.value + i};
            accepts[i].chosen_end = chosens[i].chosen_end = next;
        }
        if (TimeChosen) accept_all();
    }
    reason op(std::size_t i) { return f.step(TimeChosen ? chosens[i] : accepts[i]).code; }
    void after() {
        discard(f);
        if (!TimeChosen) choose_all();
        next = slot_id{next.value + ops};
        expect(f.applied_end() == next, "follower did not apply the chunk");
    }

    void accept_all() {
        for (const auto& m : accepts) expect_ok(f.step(m), "accept");
        discard(f);
    }
    void choose_all() {
        for (const auto& m : chosens) expect_ok(f.step(m), "chosen");
        discard(f);
    }
};

// A heartbeat from the leader to an up-to-date follower: its only output is
// the heartbeat_reply check-quorum counts (nothing to persist or apply).
template <class Config>
struct heartbeat_at_follower {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 64;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "heartbeat at follower";

    std::unique_ptr<cluster<Config>> c = cluster<Config>::steady();
    replica& f = c->node(1);
    typename k::message m = k::make(message_kind::heartbeat, 0, node_id::broadcast(),
                                    c->node(0).ballot(), slot_id{}, f.chosen_end());

    void before() {}
    reason op(std::size_t) { return f.step(m).code; }
    void after() {
        expect(f.has_ready(), "heartbeat produced no reply");
        const auto& rd = f.ready();
        expect(!rd.sync_needed && rd.chosen.empty() && rd.send_after_sync.empty() &&
                   rd.send_now.size() == ops,
               "heartbeat produced more than its replies");
        f.advance(rd);
        discard(f);
    }
};

// Linearizable reads at the leader (core/reads.hpp): 32 read() inputs, the
// first of which queues the batch's read round (one heartbeat); untimed, a
// follower's answer confirms all 32. What a read costs the leader beyond
// its share of that answer (step/heartbeat_reply/leader_confirms_32_reads).
template <class Config>
struct read_at_leader {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 32;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "read at leader";

    std::unique_ptr<cluster<Config>> c = cluster<Config>::steady();
    replica& leader = c->node(0);

    void before() {}
    reason op(std::size_t i) { return leader.read(i).code; }
    void after() {
        expect(confirm_reads(leader) == ops, "the reads were not all confirmed by one answer");
    }

    // Hands out the round, answers it as node 1, and counts the reads served.
    static std::size_t confirm_reads(replica& r) {
        expect(r.has_ready(), "a read queued no round");
        const auto& rd = r.ready();
        std::uint64_t round = 0;
        for (const auto& m : rd.send_now) {
            if (m.kind == message_kind::heartbeat) round = m.slot.value;
        }
        r.advance(rd);
        expect(round != 0, "no read round left with the batch");
        expect_ok(r.step(k::make(message_kind::heartbeat_reply, 1, node_id{0}, r.ballot(),
                                 slot_id{round}, r.chosen_end())),
                  "heartbeat_reply");
        std::size_t served = 0;
        while (r.has_ready()) {
            const auto& out = r.ready();
            served += out.reads.size();
            r.advance(out);
        }
        return served;
    }
};

// The answer that confirms 32 waiting reads: the leader hands them out.
template <class Config>
struct read_confirmed_at_leader {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 1;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "heartbeat_reply confirming reads";

    std::unique_ptr<cluster<Config>> c = cluster<Config>::steady();
    replica& leader = c->node(0);
    typename k::message reply{};

    void before() {
        for (std::size_t i = 0; i < 32; ++i) expect_ok(leader.read(i), "read");
        const auto& rd = leader.ready();
        std::uint64_t round = 0;
        for (const auto& m : rd.send_now) {
            if (m.kind == message_kind::heartbeat) round = m.slot.value;
        }
        leader.advance(rd);
        reply = k::make(message_kind::heartbeat_reply, 1, node_id{0}, leader.ballot(),
                        slot_id{round}, leader.chosen_end());
    }
    reason op(std::size_t) { return leader.step(reply).code; }
    void after() {
        expect(leader.has_ready(), "one answer confirmed nothing");
        const auto& rd = leader.ready();
        expect(rd.reads.size() == 32, "one answer did not confirm the 32 reads");
        leader.advance(rd);
        discard(leader);
    }
};

// A read at a leader holding a lease: confirmed inside read() itself, no
// round and no message; the batch lists it at once.
template <class Config>
struct read_under_lease {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 32;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "read under a lease";

    std::unique_ptr<cluster<Config>> c = cluster<Config>::leased();
    replica& leader = c->node(0);

    void before() {}
    reason op(std::size_t i) { return leader.read(i).code; }
    void after() {
        expect(leader.has_ready(), "no read confirmed under the lease");
        const auto& rd = leader.ready();
        expect(rd.reads.size() == ops, "reads under a lease were not confirmed at once");
        expect(messages_in(rd) == 0, "a read under a lease sent a message");
        leader.advance(rd);
        discard(leader);
        expect(leader.lease_ticks_left() > 0, "the lease ended without a tick");
    }
};

// Phase 1 at an acceptor: a rival candidate (node 2) asks with a higher
// ballot each time. Votes: unchosen votes the follower holds and must report,
// all in one promise (Votes * 8 values fit one part). This used to be
// Votes + 1 messages per prepare (a promise_entry per vote, then the
// promise header); it is one promise now, whatever Votes is.
//
// A follower takes an input only while its outbox has room for the worst
// one (votes_per_input_max votes free, of 2 * votes_per_input_max), so with
// 8 votes one batch holds 9 promises: the 16 prepares of a chunk go in turn
// to 2 copies of the follower, 8 each.
template <class Config, std::size_t Votes>
struct prepare_at_follower {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = Votes == 0 ? 32 : 16;
    static constexpr std::size_t copies = Votes == 0 ? 1 : 2;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "prepare at follower";
    static_assert(Votes * k::batch <= replica::promise_values_max, "one promise part");
    static_assert(ops % copies == 0);
    static_assert(ops / copies + replica::messages_per_input_max <= replica::outbox_messages_max);
    static_assert((ops / copies - 1) * Votes <= replica::votes_per_input_max);

    std::vector<replica> fs;
    std::array<typename k::message, ops> prepares{};

    prepare_at_follower() {
        auto c = cluster<Config>::steady();
        replica& f = c->node(1);
        // The leader proposes Votes slots; only this follower gets the accepts.
        replica& leader = c->node(0);
        for (std::size_t i = 0; i < Votes * k::batch; ++i) expect_ok(leader.propose(i), "propose");
        const auto& rd = leader.ready();
        for (const auto& group : {rd.send_now, rd.send_after_sync}) {
            for (const auto& m : group) {
                if (m.kind == message_kind::accept) expect_ok(f.step(m), "accept");
            }
        }
        leader.advance(rd);
        discard(f);
        for (auto& m : prepares) {
            m = k::make(message_kind::prepare, 2, node_id::broadcast(), {}, f.chosen_end(),
                        f.chosen_end());
        }
        fs.assign(copies, f);
    }

    void before() {
        for (std::size_t j = 0; j < copies; ++j) {
            auto b = fs[j].promised();
            for (std::size_t i = j; i < ops; i += copies) prepares[i].ballot = b = k::above(b, 2);
        }
    }
    reason op(std::size_t i) { return fs[i % copies].step(prepares[i]).code; }
    void after() {
        for (replica& f : fs) {
            const auto& rd = f.ready();
            expect(messages_in(rd) == ops / copies, "prepare: not one promise each");
            for (const auto& m : rd.send_after_sync) {
                expect(m.kind == message_kind::promise && m.votes.size() == Votes,
                       "prepare: the promise does not report every vote");
            }
            f.advance(rd);
        }
    }
};

// ---- proposer -----------------------------------------------------------------------

// Phase 1b pieces at a candidate: promise parts from node 1, each reporting
// one vote of an older ballot (node 1's), which the candidate adopts. This
// was one promise_entry message per slot; promise_entry is gone, and what
// carries one vote alone now is one part of a split promise, so the config
// splits promises into parts of one batch (multi3_promise_parts). The
// promise has ops + 1 parts and the last never comes, so it is never
// counted; the next chunk starts a new Phase 1.
template <class Config>
struct promise_part_at_candidate {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 32;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "promise part at candidate";
    static_assert(replica::promise_values_max == k::batch, "one vote per part");
    static_assert(ops + 1 <= replica::promise_parts_max);

    cluster<Config> c{};
    replica& r = c.node(0);
    std::array<typename k::message, ops> parts{};
    typename k::ballot old = k::ballot::first(node_id{1});

    promise_part_at_candidate() {
        // Node 1 once ran Phase 1 here, so our ballot will be above its own.
        const auto p = k::make(message_kind::prepare, 1, node_id{0}, old);
        expect_ok(r.step(p), "prepare");
        discard(r);
        for (std::size_t i = 0; i < ops; ++i) {
            // Part i starts at its one vote's slot (part 0 at the first slot asked, 0).
            parts[i] = k::make(message_kind::promise, 1, node_id{0}, {}, slot_id{i});
            parts[i].part = static_cast<std::uint8_t>(i);
            parts[i].parts = static_cast<std::uint8_t>(ops + 1);
            k::fill(parts[i], 8 * i);
            parts[i].votes.push_back(
                {slot_id{i}, old, static_cast<std::uint32_t>(k::batch), false});
        }
    }

    void before() {
        expect_ok(r.campaign(), "campaign");
        discard(r);
        expect(r.current_role() == paxos::role::candidate, "not a candidate");
        for (auto& m : parts) m.ballot = r.ballot();
    }
    reason op(std::size_t i) { return r.step(parts[i]).code; }
    void after() {
        expect(r.current_role() == paxos::role::candidate, "an incomplete promise was counted");
    }
};

// `ops` copies of node 0 of a three-node cluster with a chosen log, each
// cycling follower -> candidate (campaign(): Phase 1 with a new ballot) ->
// leader (node 1's promise completes the phase-1 quorum) -> follower (node
// 1's reject with a higher ballot). One step of the cycle is timed; the
// others are the reset.
enum class cycle_step { campaign, promise_completes_phase1, reject_deposes_leader };

template <class Config, cycle_step Timed>
struct leader_cycle {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 16;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = Timed == cycle_step::campaign ? "campaign"
                                        : Timed == cycle_step::promise_completes_phase1
                                            ? "promise at candidate"
                                            : "reject at leader";
    // The role the timed step leaves the replica in.
    static constexpr paxos::role role_after() {
        if (Timed == cycle_step::campaign) return paxos::role::candidate;
        if (Timed == cycle_step::promise_completes_phase1) return paxos::role::leader;
        return paxos::role::follower;
    }
    static_assert(Config::max_nodes == 3, "one promise makes a phase-1 quorum of 3 only");

    std::vector<replica> rs;
    std::array<typename k::message, ops> inputs{};

    leader_cycle() {
        auto c = cluster<Config>::steady();
        rs.assign(ops, c->node(0));
    }

    void before() {
        for (std::size_t i = 0; i < ops; ++i) {
            replica& r = rs[i];
            if (r.current_role() != paxos::role::follower) depose(r);
            if (Timed == cycle_step::campaign) continue;
            expect_ok(r.campaign(), "campaign");
            discard(r);
            const auto promise = k::make(message_kind::promise, 1, node_id{0}, r.ballot(),
                                         r.chosen_end(), r.chosen_end());
            if (Timed == cycle_step::promise_completes_phase1) {
                inputs[i] = promise;
                continue;
            }
            expect_ok(r.step(promise), "promise");
            discard(r);
            inputs[i] = reject_for(r);
        }
    }
    reason op(std::size_t i) {
        if constexpr (Timed == cycle_step::campaign) {
            return rs[i].campaign().code;
        } else {
            return rs[i].step(inputs[i]).code;
        }
    }
    void after() {
        for (replica& r : rs) {
            expect(r.current_role() == role_after(), "the cycle step did not change the role");
            discard(r);
        }
    }

    // Node 1's promise is above ours: a leader or a candidate steps down.
    static typename k::message reject_for(const replica& r) {
        return k::make(message_kind::reject, 1, node_id{0}, k::above(r.promised(), 1),
                       r.chosen_end(), r.chosen_end());
    }
    static void depose(replica& r) {
        expect_ok(r.step(reject_for(r)), "reject");
        discard(r);
    }
};

// Phase 2b at the leader: the accepted that completes a slot's phase-2
// quorum (chosen; a chosen message goes out). With five nodes node 1's
// accepted arrives first, untimed, and node 2's completes the quorum.
template <class Config>
struct accepted_at_leader {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 32;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "accepted at leader";

    std::unique_ptr<cluster<Config>> c = cluster<Config>::steady();
    replica& leader = c->node(0);
    slot_id next = leader.chosen_end();
    std::array<typename k::message, ops> accepteds{};
    std::uint64_t seq = 0;

    accepted_at_leader() {
        for (auto& m : accepteds) {
            m = k::make(message_kind::accepted, k::quorum_peers, node_id{0}, leader.ballot());
        }
    }

    void before() {
        for (std::size_t i = 0; i < ops * k::batch; ++i) {
            expect_ok(leader.propose(seq++), "propose");
        }
        discard(leader);
        for (std::size_t i = 0; i < ops; ++i) {
            const slot_id s{next.value + i};
            for (std::uint16_t p = 1; p < k::quorum_peers; ++p) {
                const auto m = k::make(message_kind::accepted, p, node_id{0}, leader.ballot(), s);
                expect_ok(leader.step(m), "accepted below quorum");
            }
            accepteds[i].slot = accepteds[i].chosen_end = s;
        }
    }
    reason op(std::size_t i) { return leader.step(accepteds[i]).code; }
    void after() {
        discard(leader);
        next = slot_id{next.value + ops};
        expect(leader.applied_end() == next, "leader did not choose the chunk");
    }
};

// A client command at the leader. It joins the open batch; every
// batch_values_max-th command seals the batch into a slot (vote + accept
// broadcast), so with 8 per slot the figure is the average over 7 appends
// and one seal, and unbatched every command seals a slot.
template <class Config>
struct propose_at_leader {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 32;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "propose at leader";
    static_assert(ops % k::batch == 0, "a chunk seals whole batches");
    static constexpr std::size_t slots = ops / k::batch;

    std::unique_ptr<cluster<Config>> c = cluster<Config>::steady();
    replica& leader = c->node(0);
    slot_id next = leader.chosen_end();
    std::uint64_t seq = 0;

    void before() {}
    reason op(std::size_t) { return leader.propose(seq++).code; }
    void after() {
        discard(leader);
        for (std::size_t i = 0; i < slots; ++i) {
            choose<Config>(leader, slot_id{next.value + i}, k::quorum_peers);
        }
        discard(leader);
        next = slot_id{next.value + slots};
        expect(leader.applied_end() == next, "leader did not choose the chunk");
    }
};

// ---- catch-up ---------------------------------------------------------------------

// A learn_request at the leader. Behind = 8: a follower that missed 8 slots
// (8 chosen messages go back). Behind = 0: the anti-entropy request of an
// up-to-date follower, which is answered with silence.
template <class Config, std::size_t Behind>
struct learn_request_at_leader {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = Behind == 0 ? 64 : 16;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "learn_request at leader";
    static_assert(ops * Behind + replica::messages_per_input_max <= replica::outbox_messages_max);

    std::unique_ptr<cluster<Config>> c = cluster<Config>::steady();
    replica& leader = c->node(0);
    typename k::message m{};

    learn_request_at_leader() {
        c->commit(0, Behind);
        const slot_id from{leader.chosen_end().value - Behind};
        m = k::make(message_kind::learn_request, 2, node_id{0}, c->node(2).promised(), from, from);
    }

    void before() {}
    reason op(std::size_t) { return leader.step(m).code; }
    void after() {
        if (Behind == 0) {
            expect(!leader.has_ready(), "learn_request: an up-to-date peer got an answer");
            return;
        }
        const auto& rd = leader.ready();
        expect(messages_in(rd) == ops * Behind, "learn_request: wrong number of answers");
        leader.advance(rd);
    }
};

// ---- refused inputs -------------------------------------------------------------------

// The rejected path: a deposed leader (node 2) still sends accept with its
// old ballot; the follower answers with a reject carrying its promise.
template <class Config>
struct stale_accept_at_follower {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 64;
    static constexpr reason expected = reason::stale_ballot;
    static constexpr const char* what = "stale accept at follower";

    std::unique_ptr<cluster<Config>> c = cluster<Config>::steady();
    replica& f = c->node(1);
    typename k::message m = k::make(message_kind::accept, 2, node_id::broadcast(),
                                    c->node(2).ballot(), f.chosen_end(), f.chosen_end());

    stale_accept_at_follower() {
        expect(m.ballot < f.promised(), "set-up: the old ballot is not stale");
        k::fill(m, 0);
    }
    void before() {}
    reason op(std::size_t) { return f.step(m).code; }
    void after() {
        const auto& rd = f.ready();
        expect(messages_in(rd) == ops, "stale accept: one reject each");
        f.advance(rd);
    }
};

// A malformed message: node 1 sends accept under the leader's ballot (a
// proposer speaks only with its own). Refused by validation, nothing changes.
template <class Config>
struct malformed_at_follower {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 64;
    static constexpr reason expected = reason::malformed;
    static constexpr const char* what = "malformed at follower";

    std::unique_ptr<cluster<Config>> c = cluster<Config>::steady();
    replica& f = c->node(2);
    typename k::message m = k::make(message_kind::accept, 1, node_id::broadcast(),
                                    c->node(0).ballot(), f.chosen_end(), f.chosen_end());

    void before() {}
    reason op(std::size_t) { return f.step(m).code; }
    void after() { expect(!f.has_ready(), "a malformed message produced output"); }
};

// ---- tick ---------------------------------------------------------------------------

// An idle follower: a heartbeat (untimed) starts each chunk, as one arrives
// every heartbeat_ticks in a live cluster. The election timeout is raised
// to 64..128 ticks only so a chunk of 24 ticks fits before it; the path a
// tick takes is the same as with the default 10..20.
template <class Config>
struct tick_at_idle_follower {
    using k = kit<Config>;
    using replica = typename k::replica;
    // Copies of the follower, ticked in turn, make a chunk long enough that
    // reading the clock is lost in it.
    static constexpr std::size_t copies = 4;
    static constexpr std::size_t ops = copies * 24;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "tick at follower";

    static typename Config::leader::options slow_elections() {
        typename Config::leader::options o{};
        o.election_ticks_min = 64;
        o.election_ticks_max = 128;
        return o;
    }

    std::vector<replica> rs;
    typename k::message heartbeat{};

    tick_at_idle_follower() {
        auto c = cluster<Config>::steady(slow_elections());
        rs.assign(copies, c->node(1));
        heartbeat = k::make(message_kind::heartbeat, 0, node_id::broadcast(), c->node(0).ballot(),
                            slot_id{}, c->node(1).chosen_end());
    }

    void before() {
        for (replica& f : rs) {
            expect_ok(f.step(heartbeat), "heartbeat");
            discard(f);  // its heartbeat_reply
        }
    }
    reason op(std::size_t i) { return rs[i % copies].tick().code; }
    void after() {
        for (const replica& f : rs) {
            expect(!f.has_ready(), "an idle follower's tick produced output");
            expect(f.current_role() == paxos::role::follower, "the follower started an election");
        }
    }
};

// An idle leader with every slot chosen, default options: a heartbeat every
// 2nd tick and a retransmission pass (nothing to resend, one more heartbeat)
// every 4th, so the figure is the average over that cycle.
template <class Config>
struct tick_at_idle_leader {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 32;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "tick at leader";

    // Check-quorum runs every election_ticks_max ticks: 128 here, longer
    // than a round of ops, and before() gives it its followers' answers to
    // the last heartbeats, so it stays leader (a heartbeat_reply changes
    // nothing else).
    static typename Config::leader::options long_check() {
        typename Config::leader::options o{};
        o.election_ticks_min = 64;
        o.election_ticks_max = 128;
        return o;
    }
    std::unique_ptr<cluster<Config>> c = cluster<Config>::steady(long_check());
    replica& leader = c->node(0);

    void before() {
        for (std::uint16_t from = 1; from < 3; ++from) {
            const auto reply = k::make(message_kind::heartbeat_reply, from, node_id{0},
                                       leader.ballot(), slot_id{}, leader.chosen_end());
            expect_ok(leader.step(reply), "heartbeat_reply");
        }
        expect(!leader.has_ready(), "a heartbeat_reply produced output");
    }
    reason op(std::size_t) { return leader.tick().code; }
    void after() {
        const auto& rd = leader.ready();
        expect(messages_in(rd) == ops / 2 + ops / 4, "idle leader: unexpected heartbeats");
        leader.advance(rd);
    }
};

// ---- ready() + advance() ------------------------------------------------------------

// A typical batch, on `ops` copies of one replica. Leader: one command
// proposed since the last batch (ready() seals it: a vote to persist and an
// accept to broadcast, whose chosen_end announces the previous slot, chosen
// meanwhile: one entry to apply). Follower: one accept (a vote, an accepted
// reply) whose chosen_end says the previous slot is chosen (one entry to
// apply).
template <class Config, bool AtLeader>
struct ready_advance {
    using k = kit<Config>;
    using replica = typename k::replica;
    static constexpr std::size_t ops = 16;
    static constexpr reason expected = reason::ok;
    static constexpr const char* what = "ready+advance";

    std::vector<replica> rs;
    slot_id prev{};  // proposed (leader) or accepted (follower) in the last batch
    typename k::message last_accept{};  // follower: the accept for prev
    std::uint64_t seq = 0;

    ready_advance() {
        auto c = cluster<Config>::steady();
        replica& r = c->node(AtLeader ? 0 : 1);
        prev = r.chosen_end();
        const auto leader_ballot = c->node(0).ballot();
        last_accept =
            k::make(message_kind::accept, 0, node_id::broadcast(), leader_ballot, prev, prev);
        k::fill(last_accept, seq, 1);
        if (AtLeader) {
            expect_ok(r.propose(seq), "propose");
        } else {
            expect_ok(r.step(last_accept), "accept");
        }
        ++seq;
        discard(r);
        rs.assign(ops, r);
    }

    void before() {
        const slot_id s = prev.next();
        last_accept.slot = last_accept.chosen_end = s;
        k::fill(last_accept, seq, 1);
        for (replica& r : rs) {
            if (AtLeader) {
                expect_ok(r.propose(seq), "propose");
                choose<Config>(r, prev, k::quorum_peers);
            } else {
                // The accept's chosen_end covers prev: the follower learns it
                // from its own vote, with no chosen message.
                expect_ok(r.step(last_accept), "accept");
            }
        }
        ++seq;
        prev = s;
    }
    reason op(std::size_t i) {
        replica& r = rs[i];
        const auto& rd = r.ready();
        benchmark::DoNotOptimize(rd.send_now.data());
        benchmark::DoNotOptimize(rd.send_after_sync.data());
        r.advance(rd);
        return reason::ok;
    }
    void after() {
        for (const replica& r : rs) {
            expect(!r.has_ready(), "ready+advance left output");
            expect(r.applied_end() == prev, "ready+advance: the chosen slot was not applied");
        }
    }
};

// ---- registration -----------------------------------------------------------------

// Timed seconds per benchmark, whatever --benchmark_min_time says: the
// untimed resets cost up to 20 times the timed inputs, so the library's 0.5 s
// default made a full run take over a minute. 0.05 s is still 10^5 chunks
// or more of every benchmark. PAXOS_BENCH_STEP_ITERATIONS=<n> runs exactly n
// chunks instead (scripts/instructions_per_step.sh, under callgrind).
constexpr double timed_seconds_min = 0.05;

benchmark::IterationCount fixed_iterations() {
    const char* text = std::getenv("PAXOS_BENCH_STEP_ITERATIONS");
    if (text == nullptr || *text == '\0') return 0;
    char* end = nullptr;
    const unsigned long long n = std::strtoull(text, &end, 10);
    if (*end != '\0' || n == 0) fail("PAXOS_BENCH_STEP_ITERATIONS: want a positive integer");
    return static_cast<benchmark::IterationCount>(n);
}

template <class Fixture>
void add(const char* name) {
    auto* b = benchmark::RegisterBenchmark(name, &run<Fixture>)->UseManualTime();
    if (const benchmark::IterationCount n = fixed_iterations(); n > 0) {
        b->Iterations(n);
    } else {
        b->MinTime(timed_seconds_min);
    }
}

const bool registered = [] {
    using cs = cycle_step;
    add<prepare_at_follower<multi3, 0>>("step/prepare/follower/3_nodes");
    add<prepare_at_follower<multi3, 8>>("step/prepare/follower_8_votes/3_nodes");
    add<promise_part_at_candidate<multi3_promise_parts>>("step/promise_part/candidate/3_nodes");
    add<leader_cycle<multi3, cs::campaign>>("campaign/follower_to_candidate/3_nodes");
    add<leader_cycle<multi3, cs::promise_completes_phase1>>(
        "step/promise/candidate_to_leader/3_nodes");
    add<follower_phase2<multi3, false>>("step/accept/follower/3_nodes");
    add<follower_phase2<multi5, false>>("step/accept/follower/5_nodes");
    add<accepted_at_leader<multi3>>("step/accepted/leader_quorum/3_nodes");
    add<accepted_at_leader<multi5>>("step/accepted/leader_quorum/5_nodes");
    add<follower_phase2<multi3, true>>("step/chosen/follower/3_nodes");
    add<heartbeat_at_follower<multi3>>("step/heartbeat/follower/3_nodes");
    add<learn_request_at_leader<multi3, 8>>("step/learn_request/leader_8_behind/3_nodes");
    add<learn_request_at_leader<multi3, 0>>("step/learn_request/leader_up_to_date/3_nodes");
    add<leader_cycle<multi3, cs::reject_deposes_leader>>("step/reject/leader_deposed/3_nodes");
    add<stale_accept_at_follower<multi3>>("step/stale_accept/follower_rejects/3_nodes");
    add<malformed_at_follower<multi3>>("step/malformed/follower/3_nodes");
    add<propose_at_leader<multi3>>("propose/leader_batch8/3_nodes");
    add<read_at_leader<multi3>>("read/leader_32_per_round/3_nodes");
    add<read_confirmed_at_leader<multi3>>("step/heartbeat_reply/leader_confirms_32_reads/3_nodes");
    add<read_under_lease<multi3>>("read/leader_under_lease/3_nodes");
    add<propose_at_leader<multi3_unbatched>>("propose/leader_unbatched/3_nodes");
    add<tick_at_idle_follower<multi3>>("tick/follower_idle/3_nodes");
    add<tick_at_idle_leader<multi3>>("tick/leader_idle/3_nodes");
    add<ready_advance<multi3, true>>("ready_advance/leader_typical/3_nodes");
    add<ready_advance<multi3, false>>("ready_advance/follower_typical/3_nodes");
    return true;
}();

}  // namespace
