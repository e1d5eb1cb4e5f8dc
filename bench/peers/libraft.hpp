// bench/peers/libraft.hpp: canonical raft (the C library of Debian's libraft-dev,
// 0.15) driven through the same end-to-end workload as our replicas, so the
// benchmark can print a ratio measured in one binary.
//
// Two drivers of the same raft instances, both in memory, both single-threaded:
//
//   fixture_cluster  raft's own test cluster, raft_fixture: initialize, grow
//                    with an FSM per server, bootstrap, start, elect server 0,
//                    raft_apply at the leader, raft_fixture_step until idle.
//   fifo_cluster     the raft instances on a minimal raft_io written here, the
//                    exact analogue of our driver loop: one FIFO of events,
//                    a sent message is copied once and delivered in order,
//                    a disk append is acknowledged on the next turn of the
//                    loop without writing anything, the clock never moves.
//
// A batch reaches raft's log in one of two layouts (`packing`):
//
//   entry_per_command  one raft_apply of n buffers, so n log entries: raft's
//                      own batching, which still pays raft's per-entry costs
//                      (an entry, a payload malloc, a slot in every
//                      AppendEntries and in every log) for each command.
//   one_entry          the n commands in one buffer, so one entry, which the
//                      state machine unpacks and applies one by one. This is
//                      what paxos does with a batch (one slot holds all n), so
//                      it is the like-for-like comparison of the two cores.
//
// What raft_fixture itself costs. It is a test harness, not a transport: on
// every raft_fixture_step it (1) scans every server's request queue for the
// lowest completion time, (2) mallocs a request per send and per append, and
// per delivered AppendEntries a deep copy of its entries, (3) appends every
// persisted entry to an in-memory "disk" array (realloc of the whole array
// plus one malloc and memcpy per entry), (4) checks election safety over all
// pairs of servers, and (5) copies the leader's whole log, one malloc and
// memcpy per entry, and compares it byte by byte with the copy taken at the
// previous step (the Leader Append-Only check). (5) makes a step cost
// O(log length), so the fixture's cost per command grows with the log: a
// fixture_cluster is rebuilt, untimed, every commands_per_life (128)
// commands, and its whole figure is for logs of 1 to 129 entries.
//
// How it is isolated, two independent ways that agree:
//   * fifo_cluster runs the same raft core with none of (1)-(5): its figure
//     is raft's core, our client code (payload malloc + raft_apply) and FSM,
//     plus one copy per message (the analogue of our driver's queue copy).
//   * scripts/instructions_per_command.sh runs the fixture under callgrind and
//     splits inclusive cost with callgrind_annotate: raft's entry points (the
//     client's submit, recvCb, raft's I/O completion callbacks) minus the
//     fixture's I/O stubs they call is the core; the rest is the fixture.
// Callgrind, 3 nodes, 8-byte commands, one in flight, per command:
// raft_fixture 675,000 instructions and 847 allocations in all, of which raft's
// core is 9,900 (98.5% is the fixture); raft_fifo 10,200 in all, of which the
// core is 9,000 and its transport 11%; 19 allocations, 4 of them the
// transport's entry copies. Batched 64: fixture 20,200 in all, core 2,700;
// fifo 2,800, core 2,700; fifo with the 64 packed in one entry 203, core 180,
// 0.3 allocations. The two core figures differ by up to 10% either
// way across workloads: the same code, but another event order, and a heap
// the fixture churns, where malloc takes longer paths (_int_malloc: 1,870
// against 750 instructions per command in the case above).
//
// Fair to the peer: snapshots are off (they would otherwise start at 1024
// entries), heartbeats and elections cannot fire during a run (the fifo clock
// never moves; the fixture's network and disk latencies are set to zero after
// the election, so its fake clock moves only when the cluster is idle, and
// every timeout is pushed out of reach), batching uses raft_apply with n
// buffers, and each payload has the size of our value and is applied by an FSM
// that copies and counts it exactly as our state machine does.
//
// Followers in raft learn the commit index from the next AppendEntries, so a
// round ends when the cluster is idle: the leader has applied every command,
// each follower has stored it and applied all before it. Over many rounds
// every server applies every command, as in our driver.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>

extern "C" {
#include <raft.h>
#include <raft/fixture.h>
}

namespace peers::libraft {

// ---- allocation counting through raft's own heap hook ---------------------------

// Every raft_malloc family call of the library (core and fixture) and of our
// client code; raft never calls operator new, so nothing is counted twice.
inline std::uint64_t heap_allocations = 0;

extern "C" {
inline void* counting_malloc(void*, std::size_t size) {
    ++heap_allocations;
    return std::malloc(size);
}
inline void counting_free(void*, void* ptr) { std::free(ptr); }
inline void* counting_calloc(void*, std::size_t count, std::size_t size) {
    ++heap_allocations;
    return std::calloc(count, size);
}
inline void* counting_realloc(void*, void* ptr, std::size_t size) {
    ++heap_allocations;
    return std::realloc(ptr, size);
}
inline void* counting_aligned_alloc(void*, std::size_t alignment, std::size_t size) {
    ++heap_allocations;
    return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}
inline void counting_aligned_free(void*, std::size_t, void* ptr) { std::free(ptr); }
}

inline void install_counting_heap() {
    static raft_heap heap{
        nullptr,          counting_malloc,        counting_free,        counting_calloc,
        counting_realloc, counting_aligned_alloc, counting_aligned_free};
    raft_heap_set(&heap);
}

[[noreturn]] inline void fail(const char* what, int code) {
    std::fprintf(stderr, "raft peer: %s (%d: %s)\n", what, code, raft_strerror(code));
    std::abort();
}

// Timeouts no run reaches (milliseconds); raft_start wants heartbeat < election.
inline constexpr unsigned timeout_unreachable_ms = 1u << 30;
inline constexpr unsigned snapshot_threshold_never = ~0u;

// ---- the state machine, equal to ours -------------------------------------------

// Copies each command into `last` and adds its first word to a checksum, as
// the paxos driver's state machine does with a value of the same size. An
// entry holds one command, or several back to back (packing::one_entry).
template <std::size_t Bytes>
struct state_machine {
    raft_fsm fsm{};
    std::array<std::byte, Bytes> last{};
    std::uint64_t applied = 0;
    std::uint64_t checksum = 0;

    state_machine() {
        fsm.version = 1;
        fsm.data = this;
        fsm.apply = &apply;
    }
    state_machine(const state_machine&) = delete;
    state_machine& operator=(const state_machine&) = delete;

    static int apply(raft_fsm* fsm, const raft_buffer* buf, void** result) {
        auto& self = *static_cast<state_machine*>(fsm->data);
        if (buf->len == 0 || buf->len % Bytes != 0) std::abort();
        const auto* command = static_cast<const std::byte*>(buf->base);
        const auto* end = command + buf->len;
        for (; command != end; command += Bytes) {
            std::memcpy(self.last.data(), command, Bytes);
            std::uint64_t word = 0;
            std::memcpy(&word, self.last.data(), sizeof word);
            self.checksum += word;
            ++self.applied;
        }
        *result = nullptr;
        return 0;
    }
};

// The client: one raft_apply of `count` commands, numbered from `seq`, each in
// its own raft_malloc'ed payload (raft takes ownership; the API requires it).
// Out of line and with C linkage, so callgrind can attribute it by name.
extern "C" [[gnu::noinline]] inline int raft_bench_submit(raft* leader, struct raft_apply* req,
                                                          std::uint64_t seq, unsigned count,
                                                          std::size_t bytes, raft_apply_cb done) {
    std::array<raft_buffer, 64> bufs{};
    if (count == 0 || count > bufs.size()) std::abort();
    for (unsigned i = 0; i < count; ++i) {
        bufs[i].len = bytes;
        bufs[i].base = raft_malloc(bytes);
        if (bufs[i].base == nullptr) std::abort();
        std::memset(bufs[i].base, 0, bytes);
        const std::uint64_t value = seq + i;
        std::memcpy(bufs[i].base, &value, sizeof value);
    }
    return raft_apply(leader, req, bufs.data(), count, done);
}

// The same commands packed into one payload, so one raft_apply of one buffer
// and one log entry (packing::one_entry).
extern "C" [[gnu::noinline]] inline int raft_bench_submit_packed(raft* leader,
                                                                 struct raft_apply* req,
                                                                 std::uint64_t seq, unsigned count,
                                                                 std::size_t bytes,
                                                                 raft_apply_cb done) {
    if (count == 0 || count > 64) std::abort();
    raft_buffer buf{};
    buf.len = bytes * count;
    buf.base = raft_malloc(buf.len);
    if (buf.base == nullptr) std::abort();
    std::memset(buf.base, 0, buf.len);
    auto* command = static_cast<std::byte*>(buf.base);
    for (unsigned i = 0; i < count; ++i, command += bytes) {
        const std::uint64_t value = seq + i;
        std::memcpy(command, &value, sizeof value);
    }
    return raft_apply(leader, req, &buf, 1, done);
}

// How a batch of commands becomes log entries (see the top of this file).
enum class packing : std::uint8_t { entry_per_command, one_entry };

// The client at the leader and the state machines of all servers, shared by
// both drivers: it submits the commands and checks they were all applied.
template <std::size_t Nodes, std::size_t Bytes, packing Packing = packing::entry_per_command>
class raft_client {
public:
    raft_client() : fsm_(std::make_unique<state_machine<Bytes>[]>(Nodes)) {}

    raft_fsm* fsm(std::size_t i) { return &fsm_[i].fsm; }

    // One raft_apply of `count` commands at `leader`.
    bool submit(raft* leader, std::uint64_t seq, unsigned count) {
        struct raft_apply* req = &requests_[submitted_ % requests_.size()];
        req->data = this;
        const int rv = Packing == packing::one_entry
                           ? raft_bench_submit_packed(leader, req, seq, count, Bytes, &done)
                           : raft_bench_submit(leader, req, seq, count, Bytes, &done);
        if (rv != 0) {
            failed_ = true;
            return false;
        }
        ++submitted_;
        proposed_ += count;
        return true;
    }

    std::uint64_t proposed() const noexcept { return proposed_; }

    // Every request acknowledged, the leader (server 0) applied every command,
    // followers trail by at most the last round (they learn the commit index
    // from the next AppendEntries).
    bool consistent(std::uint64_t last_round) const noexcept {
        if (failed_ || completed_ != submitted_) return false;
        if (fsm_[0].applied != proposed_) return false;
        for (std::size_t i = 1; i < Nodes; ++i) {
            if (fsm_[i].applied + last_round < proposed_) return false;
        }
        return true;
    }

private:
    // raft calls back once per raft_apply, when the first of its entries is
    // applied (0.15's getRequest matches req->index only).
    static void done(struct raft_apply* req, int status, void*) {
        if (status != 0) fail("apply failed", status);
        ++static_cast<raft_client*>(req->data)->completed_;
    }

    std::unique_ptr<state_machine<Bytes>[]> fsm_;
    std::array<struct raft_apply, 64> requests_{};  // a round has at most 64 in flight
    std::uint64_t submitted_ = 0;
    std::uint64_t completed_ = 0;
    std::uint64_t proposed_ = 0;
    bool failed_ = false;
};

// ---- fifo_cluster: raft on a minimal in-memory raft_io ------------------------------

template <std::size_t Nodes, std::size_t Bytes, packing Packing = packing::entry_per_command>
class fifo_cluster {
    static_assert(Nodes >= 1 && Nodes <= 16);

public:
    fifo_cluster() : events_(std::make_unique<event[]>(events_capacity)) { build(); }
    ~fifo_cluster() { teardown(); }
    fifo_cluster(const fifo_cluster&) = delete;
    fifo_cluster& operator=(const fifo_cluster&) = delete;

    // One command in its own entry (one raft_apply).
    bool propose(std::uint64_t seq) { return client_->submit(&rafts_[0], seq, 1); }
    // `count` commands in one raft_apply: one entry each, or all in one entry.
    bool propose_batch(std::uint64_t seq, unsigned count) {
        return client_->submit(&rafts_[0], seq, count);
    }

    // Runs the loop until no event is left: every message delivered, every
    // append acknowledged.
    void settle() {
        while (head_ != tail_) {
            event& e = events_[head_ & (events_capacity - 1)];
            switch (e.what) {
                case event_kind::deliver:
                    ++messages_;
                    (*nodes_)[e.to].recv(&(*nodes_)[e.to].io, &e.message);
                    break;
                case event_kind::sent: e.send_cb(e.send, 0); break;
                case event_kind::appended: e.append_cb(e.append, 0); break;
            }
            ++head_;  // only now may the slot be reused
        }
    }

    std::uint64_t messages() const noexcept { return messages_; }
    std::uint64_t transport_allocations() const noexcept { return transport_allocations_; }
    static constexpr std::size_t state_bytes() noexcept { return sizeof(raft); }
    bool needs_rebuild() const noexcept {
        return client_->proposed() >= commands_per_life + warmup_commands;
    }
    void rebuild() {
        teardown();
        build();
    }
    bool consistent(std::uint64_t last_round) const noexcept {
        return client_->consistent(last_round);
    }

private:
    // raft's log grows without snapshots; a fresh cluster every so often
    // bounds the memory of a long run (untimed).
    static constexpr std::uint64_t commands_per_life = 1u << 16;
    static constexpr unsigned warmup_commands = 1;
    static constexpr std::size_t events_capacity = 1u << 13;

    enum class event_kind : std::uint8_t { deliver, sent, appended };
    struct event {
        event_kind what = event_kind::deliver;
        unsigned to = 0;
        raft_message message{};
        raft_io_send* send = nullptr;
        raft_io_send_cb send_cb = nullptr;
        raft_io_append* append = nullptr;
        raft_io_append_cb append_cb = nullptr;
    };

    struct node {
        raft_io io{};
        fifo_cluster* cluster = nullptr;
        unsigned index = 0;
        raft_id id = 0;
        std::array<char, 16> address{};
        raft_io_tick_cb tick = nullptr;
        raft_io_recv_cb recv = nullptr;
        raft_term term = 0;
        raft_id vote = 0;
        raft_buffer configuration{};  // the bootstrap entry, encoded
    };

    event& push(event_kind what) {
        if (tail_ - head_ >= events_capacity) {
            std::fprintf(stderr, "raft peer: event queue full\n");
            std::abort();
        }
        event& e = events_[tail_ & (events_capacity - 1)];
        ++tail_;
        e.what = what;
        return e;
    }

    // ---- raft_io: what raft asks of its disk and network ----------------------------

    static node& self(raft_io* io) { return *static_cast<node*>(io->impl); }

    static int io_init(raft_io*, raft_id, const char*) { return 0; }
    static void io_close(raft_io* io, raft_io_close_cb cb) {
        if (cb != nullptr) cb(io);
    }
    static int io_load(raft_io* io, raft_term* term, raft_id* vote, raft_snapshot** snapshot,
                       raft_index* start_index, raft_entry** entries, std::size_t* n) {
        node& s = self(io);
        *term = s.term;
        *vote = s.vote;
        *snapshot = nullptr;
        *start_index = 1;
        *entries = nullptr;
        *n = 0;
        if (s.configuration.len == 0) return 0;
        // Raft owns what load returns: an entry array and one batch.
        auto* batch = raft_malloc(s.configuration.len);
        auto* array = static_cast<raft_entry*>(raft_calloc(1, sizeof(raft_entry)));
        if (batch == nullptr || array == nullptr) return RAFT_NOMEM;
        std::memcpy(batch, s.configuration.base, s.configuration.len);
        array[0].term = 1;
        array[0].type = RAFT_CHANGE;
        array[0].buf = raft_buffer{batch, s.configuration.len};
        array[0].batch = batch;
        *entries = array;
        *n = 1;
        return 0;
    }
    static int io_start(raft_io* io, unsigned, raft_io_tick_cb tick, raft_io_recv_cb recv) {
        self(io).tick = tick;
        self(io).recv = recv;
        return 0;
    }
    static int io_bootstrap(raft_io* io, const raft_configuration* conf) {
        node& s = self(io);
        if (s.term != 0) return RAFT_CANTBOOTSTRAP;
        const int rv = raft_configuration_encode(conf, &s.configuration);
        if (rv != 0) return rv;
        s.term = 1;
        return 0;
    }
    static int io_recover(raft_io*, const raft_configuration*) { return RAFT_NOTFOUND; }
    static int io_set_term(raft_io* io, raft_term term) {
        self(io).term = term;
        self(io).vote = 0;
        return 0;
    }
    static int io_set_vote(raft_io* io, raft_id id) {
        self(io).vote = id;
        return 0;
    }
    // The write completes on the next turn; the peer gets its own copy of the
    // entries (one batch + one array, what a real transport's decoder makes),
    // which raft's receive path takes over and frees.
    static int io_send(raft_io* io, raft_io_send* req, const raft_message* m, raft_io_send_cb cb) {
        node& s = self(io);
        fifo_cluster& c = *s.cluster;
        if (m->server_id == 0 || m->server_id > Nodes) return RAFT_NOCONNECTION;
        event& sent = c.push(event_kind::sent);
        sent.send = req;
        sent.send_cb = cb;
        event& d = c.push(event_kind::deliver);
        d.to = static_cast<unsigned>(m->server_id - 1);
        d.message = *m;
        d.message.server_id = s.id;
        d.message.server_address = s.address.data();
        if (m->type == RAFT_IO_APPEND_ENTRIES) c.copy_entries(d.message.append_entries);
        if (m->type == RAFT_IO_INSTALL_SNAPSHOT) fail("unexpected snapshot", RAFT_NOTFOUND);
        return 0;
    }
    static int io_append(raft_io* io, raft_io_append* req, const raft_entry*, unsigned,
                         raft_io_append_cb cb) {
        event& e = self(io).cluster->push(event_kind::appended);
        e.append = req;
        e.append_cb = cb;
        return 0;
    }
    static int io_truncate(raft_io*, raft_index) { return 0; }
    static int io_snapshot_put(raft_io*, unsigned, raft_io_snapshot_put*, const raft_snapshot*,
                               raft_io_snapshot_put_cb) {
        fail("unexpected snapshot", RAFT_NOTFOUND);
    }
    static int io_snapshot_get(raft_io*, raft_io_snapshot_get*, raft_io_snapshot_get_cb) {
        fail("unexpected snapshot", RAFT_NOTFOUND);
    }
    static raft_time io_time(raft_io* io) { return self(io).cluster->now_; }
    // Server 0 draws the shortest election timeout, so it is the one elected.
    static int io_random(raft_io* io, int min, int max) { return self(io).index == 0 ? min : max; }
    static int io_async_work(raft_io*, raft_io_async_work*, raft_io_async_work_cb) {
        fail("unexpected async work", RAFT_NOTFOUND);
    }

    void copy_entries(raft_append_entries& ae) {
        if (ae.n_entries == 0) {
            ae.entries = nullptr;
            return;
        }
        std::size_t total = 0;
        for (unsigned i = 0; i < ae.n_entries; ++i) total += ae.entries[i].buf.len;
        auto* batch = static_cast<std::uint8_t*>(raft_malloc(total == 0 ? 1 : total));
        auto* copy = static_cast<raft_entry*>(raft_malloc(ae.n_entries * sizeof(raft_entry)));
        if (batch == nullptr || copy == nullptr) std::abort();
        transport_allocations_ += 2;
        std::size_t offset = 0;
        for (unsigned i = 0; i < ae.n_entries; ++i) {
            const raft_entry& src = ae.entries[i];
            copy[i].term = src.term;
            copy[i].type = src.type;
            copy[i].buf = raft_buffer{batch + offset, src.buf.len};
            copy[i].batch = batch;
            std::memcpy(batch + offset, src.buf.base, src.buf.len);
            offset += src.buf.len;
        }
        ae.entries = copy;
    }

    void wire(node& n, unsigned index) {
        n.cluster = this;
        n.index = index;
        n.id = index + 1;
        std::snprintf(n.address.data(), n.address.size(), "%u", index + 1);
        raft_io& io = n.io;
        io.version = 2;
        io.impl = &n;
        io.init = io_init;
        io.close = io_close;
        io.load = io_load;
        io.start = io_start;
        io.bootstrap = io_bootstrap;
        io.recover = io_recover;
        io.set_term = io_set_term;
        io.set_vote = io_set_vote;
        io.send = io_send;
        io.append = io_append;
        io.truncate = io_truncate;
        io.snapshot_put = io_snapshot_put;
        io.snapshot_get = io_snapshot_get;
        io.time = io_time;
        io.random = io_random;
        io.async_work = io_async_work;
    }

    void build() {
        nodes_ = std::make_unique<std::array<node, Nodes>>();
        rafts_ = std::make_unique<raft[]>(Nodes);
        client_ = std::make_unique<raft_client<Nodes, Bytes, Packing>>();
        now_ = 0;
        head_ = tail_ = 0;
        messages_ = transport_allocations_ = 0;
        raft_configuration conf;
        raft_configuration_init(&conf);
        for (unsigned i = 0; i < Nodes; ++i) {
            node& n = (*nodes_)[i];
            wire(n, i);
            int rv = raft_init(&rafts_[i], &n.io, client_->fsm(i), n.id, n.address.data());
            if (rv != 0) fail("raft_init", rv);
            raft_set_snapshot_threshold(&rafts_[i], snapshot_threshold_never);
            rv = raft_configuration_add(&conf, n.id, n.address.data(), RAFT_VOTER);
            if (rv != 0) fail("raft_configuration_add", rv);
        }
        for (unsigned i = 0; i < Nodes; ++i) {
            int rv = raft_bootstrap(&rafts_[i], &conf);
            if (rv != 0) fail("raft_bootstrap", rv);
            rv = raft_start(&rafts_[i]);
            if (rv != 0) fail("raft_start", rv);
        }
        raft_configuration_close(&conf);
        elect();
    }

    // Server 0's election timer expires first; the vote and the first
    // heartbeat round put every follower in pipeline mode. Then one command
    // warms the path, and the clock stops for good.
    void elect() {
        now_ = rafts_[0].election_timeout;
        (*nodes_)[0].tick(&(*nodes_)[0].io);
        settle();
        if (raft_state(&rafts_[0]) != RAFT_LEADER) fail("server 0 not elected", 0);
        if (!client_->submit(&rafts_[0], 0, warmup_commands)) fail("warm-up apply", 0);
        settle();
        if (!client_->consistent(warmup_commands)) fail("warm-up not applied", 0);
        messages_ = transport_allocations_ = 0;
    }

    void teardown() {
        if (!rafts_) return;
        settle();
        for (unsigned i = 0; i < Nodes; ++i) raft_close(&rafts_[i], nullptr);
        for (node& n : *nodes_) raft_free(n.configuration.base);
        rafts_.reset();
        nodes_.reset();
        client_.reset();
    }

    std::unique_ptr<event[]> events_;
    std::uint64_t head_ = 0;
    std::uint64_t tail_ = 0;
    std::unique_ptr<std::array<node, Nodes>> nodes_;
    std::unique_ptr<raft[]> rafts_;
    std::unique_ptr<raft_client<Nodes, Bytes, Packing>> client_;
    raft_time now_ = 0;
    std::uint64_t messages_ = 0;
    std::uint64_t transport_allocations_ = 0;
};

// ---- fixture_cluster: raft's own raft_fixture ---------------------------------------

// The fixture and a count of its I/O requests not yet completed. Each send
// completes in two fixture events (the write, then the delivery) and each
// append in one; the fixture's hook sees every event, even those of the
// steps inside raft_fixture_elect, so `outstanding` is exact and zero means
// idle. (A tick cannot tell: with zero latencies a tick and a request due at
// the same time are ordered by server index, not by age.)
struct fixture_box {
    raft_fixture fixture{};  // first member: the hook gets its address
    std::int64_t outstanding = 0;
    int (*send)(raft_io*, raft_io_send*, const raft_message*, raft_io_send_cb) = nullptr;
    int (*append)(raft_io*, raft_io_append*, const raft_entry[], unsigned,
                  raft_io_append_cb) = nullptr;

    static fixture_box& of(raft_io* io) {
        return *static_cast<fixture_box*>(static_cast<raft*>(io->data)->data);
    }
    // Wrappers around the fixture's own send and append: count, then forward.
    static int counted_send(raft_io* io, raft_io_send* req, const raft_message* m,
                            raft_io_send_cb cb) {
        fixture_box& box = of(io);
        const int rv = box.send(io, req, m, cb);
        if (rv == 0) box.outstanding += 2;
        return rv;
    }
    static int counted_append(raft_io* io, raft_io_append* req, const raft_entry entries[],
                              unsigned n, raft_io_append_cb cb) {
        fixture_box& box = of(io);
        const int rv = box.append(io, req, entries, n, cb);
        if (rv == 0) box.outstanding += 1;
        return rv;
    }
    static void hook(raft_fixture* f, raft_fixture_event* event) {
        static_assert(std::is_standard_layout_v<fixture_box>);
        auto& box = *reinterpret_cast<fixture_box*>(f);
        if (event->type == RAFT_FIXTURE_NETWORK || event->type == RAFT_FIXTURE_DISK) {
            --box.outstanding;
        }
    }
};

template <std::size_t Nodes, std::size_t Bytes>
class fixture_cluster {
    static_assert(Nodes >= 1 && Nodes <= RAFT_FIXTURE_MAX_SERVERS);

public:
    static constexpr std::size_t node_count = Nodes;
    // The fixture copies and compares the leader's whole log on every step, so
    // its cost per command grows with the log; a fresh fixture every this
    // many commands (untimed) keeps the log at most this long.
    static constexpr std::uint64_t commands_per_life = 128;

    fixture_cluster() : box_(std::make_unique<fixture_box>()) { build(); }
    ~fixture_cluster() { teardown(); }
    fixture_cluster(const fixture_cluster&) = delete;
    fixture_cluster& operator=(const fixture_cluster&) = delete;

    bool propose(std::uint64_t seq) { return client_->submit(leader(), seq, 1); }
    bool propose_batch(std::uint64_t seq, unsigned count) {
        return client_->submit(leader(), seq, count);
    }

    // Steps until every send has been delivered and every append completed.
    void settle() {
        while (box_->outstanding > 0) (void)raft_fixture_step(&box_->fixture);
        if (box_->outstanding != 0) fail("fixture request count out of step", 0);
    }

    // Messages delivered (AppendEntries, its result, RequestVote, its result,
    // InstallSnapshot). Not TimeoutNow: the fixture's n_recv array has one
    // slot fewer than message types, so that counter reads past its end.
    std::uint64_t messages() const noexcept {
        std::uint64_t total = 0;
        for (unsigned i = 0; i < Nodes; ++i) {
            for (int type = RAFT_IO_APPEND_ENTRIES; type <= RAFT_IO_INSTALL_SNAPSHOT; ++type) {
                total += raft_fixture_n_recv(&box_->fixture, i, type);
            }
        }
        return total;
    }
    static constexpr std::uint64_t transport_allocations() noexcept { return 0; }
    static constexpr std::size_t state_bytes() noexcept { return sizeof(raft); }
    bool needs_rebuild() const noexcept {
        return client_->proposed() >= commands_per_life + warmup_commands;
    }
    void rebuild() {
        teardown();
        build();
    }
    bool consistent(std::uint64_t last_round) const noexcept {
        return client_->consistent(last_round);
    }

private:
    static constexpr unsigned warmup_commands = 1;

    raft* leader() const { return raft_fixture_get(&box_->fixture, 0); }

    void build() {
        fixture_box& box = *box_;
        raft_fixture* f = &box.fixture;
        client_ = std::make_unique<raft_client<Nodes, Bytes>>();
        box.fixture = raft_fixture{};  // initialize() does not reset the server count
        box.outstanding = 0;
        int rv = raft_fixture_initialize(f);
        if (rv != 0) fail("raft_fixture_initialize", rv);
        for (unsigned i = 0; i < Nodes; ++i) {
            rv = raft_fixture_grow(f, client_->fsm(i));
            if (rv != 0) fail("raft_fixture_grow", rv);
            raft* r = raft_fixture_get(f, i);
            raft_set_snapshot_threshold(r, snapshot_threshold_never);
            r->data = &box;
            box.send = r->io->send;
            box.append = r->io->append;
            r->io->send = &fixture_box::counted_send;
            r->io->append = &fixture_box::counted_append;
        }
        raft_fixture_hook(f, &fixture_box::hook);
        raft_configuration conf;
        rv = raft_fixture_configuration(f, Nodes, &conf);
        if (rv != 0) fail("raft_fixture_configuration", rv);
        rv = raft_fixture_bootstrap(f, &conf);
        raft_configuration_close(&conf);
        if (rv != 0) fail("raft_fixture_bootstrap", rv);
        rv = raft_fixture_start(f);
        if (rv != 0) fail("raft_fixture_start", rv);
        raft_fixture_elect(f, 0);
        warm_up_and_freeze();
    }

    // One command with the fixture's default latencies (heartbeats carry the
    // commit to the followers), then the clock is frozen: zero latencies and
    // every timeout out of reach, so no tick finds anything to do.
    void warm_up_and_freeze() {
        raft_fixture* f = &box_->fixture;
        if (!client_->submit(leader(), 0, warmup_commands)) fail("warm-up apply", 0);
        const raft_index last = raft_last_index(leader());
        if (!raft_fixture_step_until_applied(f, Nodes, last, 10000)) {
            fail("warm-up not applied", 0);
        }
        for (unsigned i = 0; i < Nodes; ++i) {
            raft* r = raft_fixture_get(f, i);
            raft_fixture_set_network_latency(f, i, 0);
            raft_fixture_set_disk_latency(f, i, 0);
            raft_fixture_set_randomized_election_timeout(f, i, timeout_unreachable_ms);
            raft_set_election_timeout(r, timeout_unreachable_ms);
            raft_set_heartbeat_timeout(r, timeout_unreachable_ms - 1);
            if (raft_state(r) == RAFT_FOLLOWER) {
                r->follower_state.randomized_election_timeout = timeout_unreachable_ms;
            }
        }
        settle();
        if (raft_state(leader()) != RAFT_LEADER) fail("server 0 lost leadership", 0);
    }

    void teardown() {
        if (!client_) return;
        settle();
        raft_fixture_close(&box_->fixture);
        client_.reset();
    }

    std::unique_ptr<fixture_box> box_;
    std::unique_ptr<raft_client<Nodes, Bytes>> client_;
};

}  // namespace peers::libraft
