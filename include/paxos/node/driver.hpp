// paxos/node/driver.hpp: a node driver, the shell that does the README's
// responsibilities 1 to 8 around one replica, so an application writes only
// its state machine.
//
// Generic over the environment, as TigerBeetle's ReplicaType(StateMachine,
// MessageBus, Storage): driver<Config, Store, Transport, StateMachine> runs
// the same replica on the POSIX write-ahead log and the TCP transport, or on
// a store and a transport a test or a user supplies. The core stays pure;
// every system call is here or below (Linux: epoll).
//
// One loop step, poll(timeout):
//   1. wait in epoll (the transport's epoll descriptor, the client listener
//      and its connections) for at most the next deadline: the next tick,
//      the transport's next reconnect;
//   2. decode every frame that arrived and step() it (a frame the codec
//      refuses, or whose `from` is not the connection's peer, is counted and
//      dropped); take every client request that arrived and propose() it;
//   3. tick() if the tick interval has passed;
//   4. drain: while has_ready(), send send_now (and flush, so the followers'
//      writes overlap ours), persist with one sync (group commit: everything
//      that arrived in this step shares it), send send_after_sync, apply the
//      chosen entries, serve catch-up from the log, advance(); then take a
//      snapshot when one is due.
// An input refused for room (outbox_full, window_full) is given again once
// the batch is drained; only a second refusal is an answer (busy).
//
// Fail-stop: a storage error (persist, compaction, a catch-up read, a
// snapshot write) stops the driver at once. It sends, applies and
// acknowledges nothing more (submit() answers `stopped`; clients waiting on
// the port time out and retry elsewhere), and error() says which call
// failed and why: a failed fsync cannot be retried into success.
// A refused restore() stops it the same way before it ever runs.
//
// Answering proposals. A command that is chosen is answered by its session
// request (client id, sequence number; sm/sessions.hpp): the state
// machine's apply() answers each command it applies through `replies`, and
// the driver hands that answer to the client that waits for this request
// here, if any (every replica applies, only the one the client asked
// answers). A command that will not be chosen here is answered at once by
// its proposal tag (replica::propose; the batch's `dropped`): `not_chosen`
// when it never was and never will be, `timed_out` when its fate cannot be
// known here (a newer leader overwrote our vote for it). Either way the
// client retries, and the session table keeps a retry from running twice.
//
// Catch-up and snapshots. A peer that asks for slots below the window (the
// batch's catch_up) is served from the store's read_chosen() when the store
// has one (the POSIX log does). With a snapshot store, the driver saves the
// state machine every options.snapshot_every_slots applied slots, offers
// that snapshot to the replica, then compacts the log (the order of
// storage/snapshot_recovery.hpp) to the snapshot before that one, so the log
// keeps at least that many slots for lagging peers, and tells the replica
// (compact). A peer below the compaction point is sent the offered snapshot
// by the replica's transfer (core/snapshot_transfer.hpp): the driver reads
// the chunks the batch asks for from the snapshot store and sends them, and
// on the receiving side appends each chunk to the store's receive, commits
// it with the last one, and after advance() loads it into the state machine,
// installs it (install_snapshot) and only then records the log's marker. A
// catch-up the log cannot serve (a gap) starts a transfer too, and calls the
// hook on_snapshot_wanted. start() restores from the newest snapshot and the
// log after it, offers it, and resumes a receive the store kept.
//
// No allocation after start(): every buffer (frames, waiting proposals,
// client connections) is allocated in the constructor.
//
// Beside this file: state_machine.hpp (what apply() and the snapshot calls
// see, and the concept), client_port.hpp (the client connections, served in
// this loop), client_protocol.hpp (their frames), client.hpp (a blocking
// client), process.hpp (a whole node process: flags, log, snapshots,
// transport, signals).
#pragma once

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <sys/epoll.h>
#include <unistd.h>

#include "../assert.hpp"
#include "../core/replica.hpp"
#include "../sm/client_session.hpp"
#include "../storage/durable_state.hpp"
#include "../storage/snapshot_recovery.hpp"
#include "../storage/snapshot_store.hpp"
#include "../wire/codec.hpp"
#include "client_port.hpp"
#include "client_protocol.hpp"
#include "state_machine.hpp"

namespace paxos::inline v0::node {

// ---- concepts ----------------------------------------------------------------------

namespace detail {
struct frame_probe {
    void operator()(node_id, std::span<const std::byte>) const noexcept {}
};
}  // namespace detail

// A transport moves whole encoded frames between nodes; net::tcp_transport
// is one. send() only queues (and may drop: Paxos tolerates loss); poll(0,
// f) delivers what has arrived and runs the transport's timers; epoll_fd()
// is readable when poll has work; next_timeout_ms() is its next deadline.
template <class T>
concept transport = requires(T& t, node_id to, std::span<const std::byte> frame,
                             detail::frame_probe f) {
    t.send(to, frame);
    t.flush();
    t.poll(0, f);
    { t.epoll_fd() } -> std::convertible_to<int>;
    { t.next_timeout_ms() } -> std::convertible_to<int>;
};

// ---- options, errors, counters --------------------------------------------------

template <class Config>
struct driver_options {
    node_id self{};
    wire::cluster_id cluster{};
    // The leader policy's seed. 0: derived from the cluster id and `self`,
    // so every node draws differently. Seeds must differ between nodes: with
    // one seed, every follower draws the same election timeout and they all
    // campaign in the same tick, again and again (split votes).
    std::uint64_t seed = 0;
    // One tick of the replica every tick_ms of the monotonic clock. With the
    // stable leader's defaults (heartbeat 2 ticks, election timeout 10-20
    // ticks, retransmit 4 ticks), 10 ms gives a heartbeat every 20 ms, a
    // new election 100 to 200 ms after the leader went silent, and resends
    // after 40 ms.
    std::uint32_t tick_ms = 10;
    typename Config::leader::options leader{};
    std::uint32_t retransmit_ticks = 4;
    // The replica's check-quorum (core/replica.hpp): a leader that heard
    // from no phase-2 quorum for election_ticks_max ticks steps down.
    bool check_quorum = true;
    // A waiting proposal not answered after this many ticks is answered
    // timed_out (the client retries, under the same sequence number).
    std::uint32_t answer_timeout_ticks = 100;
    // With a snapshot store: save the state machine every this many applied
    // slots, then compact the log. 0: never.
    std::uint64_t snapshot_every_slots = 0;
    // Slots served per catch-up request and batch (the peer asks again).
    std::size_t catch_up_slots_max = 64;
    // A listening socket for clients (node/client_protocol.hpp), owned by the
    // driver from start() on; -1: no client port (use submit()).
    int client_listen_fd = -1;
};

struct driver_error {
    std::string what;  // empty: no error
    bool ok() const noexcept { return what.empty(); }
};

struct driver_stats {
    std::uint64_t ticks = 0;
    std::uint64_t ready_batches = 0;
    std::uint64_t syncs_requested = 0;  // batches with sync_needed
    std::uint64_t slots_applied = 0;
    std::uint64_t commands_applied = 0;
    std::uint64_t frames_received = 0;
    std::uint64_t frames_undecodable = 0;    // the codec refused them
    std::uint64_t frames_misattributed = 0;  // `from` is not the connection's peer
    std::uint64_t frames_sent = 0;
    std::uint64_t frames_not_queued = 0;  // the transport dropped or refused them
    std::uint64_t steps_refused = 0;      // step() said anything but ok
    std::uint64_t inputs_retried = 0;     // refused for room, given again after a drain
    std::uint64_t proposals = 0;
    std::uint64_t proposals_refused = 0;
    std::uint64_t answers = 0;  // answers handed to waiting clients
    std::uint64_t answers_timed_out = 0;
    std::uint64_t answers_dropped = 0;  // answered at once: the replica dropped the proposal
    std::uint64_t catch_up_slots_served = 0;
    std::uint64_t snapshots_wanted = 0;  // a peer needs slots only a snapshot has
    std::uint64_t snapshots_taken = 0;
    std::uint64_t snapshot_chunks_sent = 0;
    std::uint64_t snapshot_bytes_sent = 0;
    std::uint64_t snapshot_reads_failed = 0;  // the transfer to that peer was dropped
    std::uint64_t snapshot_chunks_received = 0;
    std::uint64_t snapshot_bytes_resumed = 0;  // a receive kept across a restart
    std::uint64_t snapshots_installed = 0;
    std::uint64_t reads = 0;          // read() calls
    std::uint64_t reads_refused = 0;  // not taken: not_leader, busy
    std::uint64_t reads_served = 0;   // handed to the read hook as safe
    std::uint64_t reads_dropped = 0;  // handed back: the replica stopped leading
};

// ---- the driver ------------------------------------------------------------------

template <class Config, class Store, class Transport, class StateMachine>
class driver {
    static_assert(storage::durable_store<Store, Config>,
                  "paxos::node::driver: Store must be a paxos::storage::durable_store "
                  "(persist(ready), snapshot(slot), recover(visitor)); see "
                  "storage/durable_state.hpp");
    static_assert(transport<Transport>,
                  "paxos::node::driver: Transport needs send(node_id, span<const byte>), "
                  "flush(), poll(int, on_frame), epoll_fd() and next_timeout_ms(); "
                  "net::tcp_transport is one");
    static_assert(state_machine<StateMachine, Config>,
                  "paxos::node::driver: the state machine needs "
                  "apply(slot_id, std::span<const value_type>, paxos::node::replies&), "
                  "static sm::request_id request_of(const value_type&), "
                  "bool save_snapshot(paxos::node::snapshot_writer&) const and "
                  "bool load_snapshot(paxos::node::snapshot_reader&)");

public:
    using replica_type = replica<Config>;
    using value_type = typename Config::value_type;
    using message_buffer = typename replica_type::message_buffer;
    using message_type = typename replica_type::message_type;
    using codec = wire::message_codec<message_buffer>;
    using value_codec = wire::value_codec<value_type>;
    using options = driver_options<Config>;
    using clock = std::chrono::steady_clock;

    static constexpr std::size_t frame_bytes_max = codec::encoded_size_max;

    // Bounds of the client side, fixed at construction.
    struct capacity {
        std::size_t waiting_max = 1024;           // proposals waiting for their answer
        std::size_t clients_max = 64;             // client connections
        std::size_t client_out_bytes = 64 << 10;  // reply bytes queued per client (a reply
                                                  // that does not fit is dropped, counted)
    };

    driver(const options& opts, Store& store, Transport& net, StateMachine& machine,
           storage::snapshot_store<>* snapshots = nullptr, capacity cap = capacity{})
        : options_(opts),
          store_(store),
          net_(net),
          machine_(machine),
          snapshots_(snapshots),
          replica_(replica_options(opts)),
          clients_(cap.clients_max, cap.client_out_bytes) {
        PAXOS_ASSERT(opts.tick_ms >= 1);
        PAXOS_ASSERT(cap.waiting_max >= 1);
        waiting_.resize(cap.waiting_max);
        events_.resize(16 + cap.clients_max);
        chunk_.resize(replica_type::snapshot_chunk_bytes == 0 ? 1
                                                              : replica_type::snapshot_chunk_bytes);
    }

    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;
    ~driver() { close(); }

    // Recovers the state machine and the replica from the store (and the
    // newest snapshot), checks restore()'s answer, and opens the loop's
    // epoll set. The transport must be started already. On an error the
    // driver does not run: error() says why.
    driver_error start() {
        PAXOS_ASSERT(!started_);
        if (const driver_error e = recover(); !e.ok()) return stop_with(e.what);
        epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0) return stop_with(system_error("epoll_create1"));
        if (!watch(net_.epoll_fd(), tag_transport, EPOLLIN)) {
            return stop_with(system_error("epoll_ctl(transport)"));
        }
        if (options_.client_listen_fd >= 0) {
            if (const char* call = clients_.open(options_.client_listen_fd, epoll_fd_, tag_clients))
                return stop_with(std::string("client port: ") + system_error(call));
        }
        started_ = true;
        next_tick_ = clock::now() + tick_interval();
        return {};
    }

    // ---- the two ways to run -----------------------------------------------------

    // Its own loop: poll until `keep_running()` says no or the driver stops.
    // Returns the error that stopped it (empty if asked to stop).
    template <class KeepRunning>
    driver_error run(KeepRunning&& keep_running) {
        while (keep_running() && poll(-1)) {
        }
        return error_;
    }

    // One loop step (see the top). timeout_ms -1 waits until the next
    // deadline; 0 does not wait (the embedded mode: call it when epoll_fd()
    // is readable or next_timeout_ms() has passed). False once stopped.
    bool poll(int timeout_ms) {
        if (!started_ || stopped()) return false;
        int wait = next_timeout_ms();
        if (timeout_ms >= 0) wait = std::min(wait, timeout_ms);
        int n = ::epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()), wait);
        if (n < 0) {
            PAXOS_ASSERT(errno == EINTR);  // anything else is a descriptor of ours gone bad
            n = 0;
        }
        for (int i = 0; i < n && !stopped(); ++i) dispatch(events_[static_cast<std::size_t>(i)]);
        if (!stopped()) {
            net_.poll(0, [this](node_id from, std::span<const std::byte> frame) {
                on_frame(from, frame);
            });
        }
        if (!stopped() && clock::now() >= next_tick_) on_tick();
        drain();
        net_.flush();
        clients_.flush();
        return !stopped();
    }

    // For the user's loop: add epoll_fd() to your epoll set (readable when
    // there is work) and wait at most next_timeout_ms(), then call poll(0).
    int epoll_fd() const noexcept { return epoll_fd_; }
    int next_timeout_ms() const noexcept {
        const auto now = clock::now();
        const auto until_tick =
            next_tick_ <= now
                ? 0
                : std::chrono::ceil<std::chrono::milliseconds>(next_tick_ - now).count();
        int wait = static_cast<int>(std::min<std::int64_t>(until_tick, options_.tick_ms));
        const int net_wait = net_.next_timeout_ms();
        if (net_wait >= 0) wait = std::min(wait, net_wait);
        return wait;
    }

    // ---- proposals without the client port --------------------------------------

    // Proposes `v` for a waiting caller named by `cookie` (below 2^63). Once
    // taken, its answer arrives through the hook set with set_answer_hook:
    // hook(context, cookie, status, reply), with the state machine's answer
    // or timed_out. Not taken: not_leader (leader() names the leader when
    // known), busy (no room: retry later) or stopped.
    using answer_hook = void (*)(void* context, std::uint64_t cookie, answer_status,
                                 std::span<const std::byte> reply);
    void set_answer_hook(void* context, answer_hook hook) noexcept {
        hook_context_ = context;
        hook_ = hook;
    }
    submit_status submit(const value_type& v, std::uint64_t cookie) {
        PAXOS_ASSERT(cookie < client_cookie_bit);
        return propose_waiting(v, cookie);
    }

    // ---- linearizable reads (core/reads.hpp) --------------------------------------

    // Asks for a linearizable read at the leader, for a caller named by
    // `cookie`. Once taken, the cookie comes back exactly once through the
    // hook set with set_read_hook: hook(context, cookie, true) when the
    // read is safe to serve: the state machine has applied every slot it
    // must see, so read it then or at any later time (the state only moves
    // forward); hook(context, cookie, false) when this replica stopped
    // leading before the read was confirmed (nothing was read: retry at the
    // leader). The hook runs inside poll(), never inside read(). Not taken: not_leader, busy
    // (Config::reads_max reads wait) or stopped. A read writes nothing to the log and costs no
    // sync: one heartbeat round to a phase-2 quorum, shared by every read waiting when it leaves.
    // The driver does not time reads out: a leader cut off from its quorum steps down by
    // check-quorum and hands them back.
    //
    // (The leader lease, options::lease_ticks of the replica, is not offered
    // here: this driver skips ticks it missed rather than catching up, and a
    // lease counts on a leader whose ticks come at most one period late.)
    using read_hook = void (*)(void* context, std::uint64_t cookie, bool ready);
    void set_read_hook(void* context, read_hook hook) noexcept {
        read_context_ = context;
        read_hook_ = hook;
    }
    submit_status read(std::uint64_t cookie) {
        if (stopped()) return submit_status::stopped;
        ++stats_.reads;
        result r = replica_.read(cookie);
        if (r.code == reason::outbox_full) {
            ++stats_.inputs_retried;
            drain();
            if (stopped()) return submit_status::stopped;
            r = replica_.read(cookie);
        }
        if (r.ok()) return submit_status::taken;  // its round leaves at the next poll()
        ++stats_.reads_refused;
        return r.code == reason::not_leader ? submit_status::not_leader : submit_status::busy;
    }

    // Called with the peer and the first slot it lacks when a peer needs
    // slots only a snapshot holds (the hook of the snapshot-transfer issue).
    using snapshot_wanted_hook = void (*)(void* context, node_id peer, slot_id from);
    void on_snapshot_wanted(void* context, snapshot_wanted_hook hook) noexcept {
        snapshot_context_ = context;
        snapshot_hook_ = hook;
    }

    // ---- observers ----------------------------------------------------------------

    bool started() const noexcept { return started_; }
    bool stopped() const noexcept { return !error_.ok(); }
    const driver_error& error() const noexcept { return error_; }
    const driver_stats& stats() const noexcept { return stats_; }
    const client_port_stats& client_stats() const noexcept { return clients_.stats(); }
    const replica_type& core() const noexcept { return replica_; }
    bool is_leader() const noexcept { return replica_.is_leader(); }
    node_id leader() const noexcept { return replica_.leader(); }
    slot_id applied_end() const noexcept { return replica_.applied_end(); }
    std::size_t waiting_count() const noexcept { return waiting_count_; }
    std::uint64_t seed() const noexcept { return replica_seed(options_); }

    // Closes the client connections, the client listener and the epoll set
    // (not the transport, which the caller owns).
    void close() noexcept {
        clients_.close();
        if (epoll_fd_ >= 0) ::close(epoll_fd_);
        epoll_fd_ = -1;
    }

private:
    static constexpr std::uint64_t client_cookie_bit = std::uint64_t{1} << 63;
    static constexpr std::uint64_t tag_transport = 1;
    static constexpr std::uint8_t tag_clients = 2;  // the client port's events

    struct waiter {
        sm::request_id request{};
        std::uint64_t cookie = 0;
        std::uint64_t deadline_tick = 0;
        proposal_tag tag = 0;  // what the replica hands back if not chosen here
    };

    static std::uint64_t replica_seed(const options& o) noexcept {
        if (o.seed != 0) return o.seed;
        // splitmix64 of (cluster, self): distinct per node, stable per cluster.
        std::uint64_t z = o.cluster.value + 0x9E3779B97F4A7C15ull * (o.self.value + 1ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    static typename replica_type::options replica_options(const options& o) {
        typename replica_type::options r;
        r.self = o.self;
        r.seed = replica_seed(o);
        r.leader = o.leader;
        r.retransmit_ticks = o.retransmit_ticks;
        r.check_quorum = o.check_quorum;
        return r;
    }
    clock::duration tick_interval() const noexcept {
        return std::chrono::milliseconds(options_.tick_ms);
    }
    static std::string system_error(const char* call) {
        return std::string(call) + ": " + std::strerror(errno);
    }
    driver_error stop_with(std::string what) {
        if (error_.ok()) error_.what = std::move(what);
        return error_;
    }

    // ---- start: recovery --------------------------------------------------------

    driver_error recover() {
        storage::replica_recovery<Config> rec;
        replies none;  // nobody waits for what the log replays
        auto apply = [&](slot_id s, std::span<const value_type> values) {
            machine_.apply(s, values, none);
        };
        slot_id first_unapplied{};
        bool recovered = false;
        if constexpr (requires(Store & s) { s.snapshot_slot(); }) {
            if (snapshots_ != nullptr) {
                auto load = [&](const storage::snapshot_info& info) {
                    snapshot_reader reader(*snapshots_, info);
                    return machine_.load_snapshot(reader) && reader.remaining_bytes() == 0;
                };
                const auto got =
                    storage::recover_with_snapshot<Config>(store_, *snapshots_, rec, load, apply);
                if (got.code != storage::restart_status::ok) {
                    return {std::string("recovery: ") + storage::to_string(got.code) +
                            store_detail() + snapshot_detail()};
                }
                first_unapplied = got.first_unapplied;
                last_snapshot_ = got.snapshot;
                recovered = true;
            }
        } else {
            // Snapshots need a log that records its snapshot marker (posix_wal).
            PAXOS_ASSERT(snapshots_ == nullptr);
        }
        if (!recovered) {
            const storage::status st = storage::recover_into(store_, rec, apply);
            if (st != storage::status::ok)
                return {std::string("recovery: ") + storage::to_string(st) + store_detail()};
            first_unapplied = rec.first_unapplied();
        }
        // Never run a replica that forgot its promises: a refused restore is fatal.
        const result r = replica_.restore(rec.recovery(first_unapplied));
        if (!r.ok()) return {std::string("restore refused: ") + to_string(r.code)};
        if constexpr (transfers) {
            if (snapshots_ != nullptr) {
                offer_newest();
                tell_compacted();
                if (const auto& part = snapshots_->partial()) {
                    replica_.resume_snapshot_receive(
                        snapshot_offer{part->slot, part->size_bytes, part->crc},
                        part->received_bytes);
                    stats_.snapshot_bytes_resumed += part->received_bytes;
                }
            }
        }
        return {};
    }

    static constexpr bool transfers = replica_type::snapshot_chunk_bytes != 0;

    // The replica offers peers the newest durable snapshot.
    void offer_newest() {
        if constexpr (transfers) {
            if (const auto newest = snapshots_->newest()) {
                (void)replica_.offer_snapshot({newest->slot, newest->size_bytes, newest->crc});
            }
        }
    }
    // The replica serves no slot below the log's marker from the log.
    void tell_compacted() {
        if constexpr (transfers && requires(Store & st) { st.snapshot_slot(); }) {
            const slot_id s = store_.snapshot_slot();
            if (s.value != 0) (void)replica_.compact(s);
        }
    }

    std::string store_detail() const {
        if constexpr (requires(const Store& s) { s.last_error().file_name(); }) {
            const auto& e = store_.last_error();
            if (e.code == storage::status::ok) return {};
            std::string out = std::string(" (") + e.what + " " + e.file_name();
            if (e.system_error != 0) out += std::string(": ") + std::strerror(e.system_error);
            if (e.code == storage::status::corrupt) out += " at offset " + std::to_string(e.offset);
            return out + ")";
        } else {
            return {};
        }
    }
    std::string snapshot_detail() const {
        if (snapshots_ == nullptr || !snapshots_->failed()) return {};
        const auto& e = snapshots_->last_error();
        std::string out = std::string(" (snapshots: ") + e.what + " " + e.file_name();
        if (e.system_error != 0) out += std::string(": ") + std::strerror(e.system_error);
        return out + ")";
    }

    // ---- epoll ------------------------------------------------------------------

    bool watch(int fd, std::uint64_t tag, std::uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = tag;
        return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
    }

    void dispatch(const epoll_event& ev) {
        if (clients_.owns(ev)) {
            clients_.handle(ev, [this](const value_type& v, std::uint64_t cookie) {
                on_client_request(v, cookie);
            });
        }
        // tag_transport: net_.poll(0) below runs every step.
    }

    // ---- peer messages ----------------------------------------------------------

    void on_frame(node_id from, std::span<const std::byte> frame) {
        if (stopped()) return;
        ++stats_.frames_received;
        if (codec::decode(frame, in_, options_.cluster) != wire::decode_reason::ok) {
            ++stats_.frames_undecodable;  // dropped, as a lost message
            return;
        }
        if (in_.from != from) {  // the hello said otherwise: trust neither
            ++stats_.frames_misattributed;
            return;
        }
        result r = replica_.step(in_);
        if (r.code == reason::outbox_full) {
            ++stats_.inputs_retried;
            drain();
            if (stopped()) return;
            r = replica_.step(in_);
        }
        if (!r.ok()) ++stats_.steps_refused;  // stale, moot, compacted...: none is fatal
    }

    void on_tick() {
        const auto now = clock::now();
        // One tick per step, and missed ticks are skipped rather than caught up:
        // after a long sync, inputs that waited go first, and an election
        // timeout stretches instead of firing on messages not yet read.
        next_tick_ += tick_interval();
        if (next_tick_ <= now) next_tick_ = now + tick_interval();
        ++tick_count_;
        ++stats_.ticks;
        result r = replica_.tick();
        if (r.code == reason::outbox_full) {
            ++stats_.inputs_retried;
            drain();
            if (!stopped()) r = replica_.tick();
        }
        expire_waiting();
    }

    // ---- the ready loop -----------------------------------------------------------

    void drain() {
        while (!stopped() && replica_.has_ready()) {
            const auto& rd = replica_.ready();
            ++stats_.ready_batches;
            send_all(rd.send_now, rd.peers);
            net_.flush();  // our own write overlaps the followers'
            if (rd.sync_needed) ++stats_.syncs_requested;
            if (const storage::status st = store_.persist(rd); st != storage::status::ok) {
                // Fail-stop: send nothing more, apply nothing, never advance(rd).
                stop_with(std::string("persist: ") + storage::to_string(st) + store_detail());
                return;
            }
            send_all(rd.send_after_sync, rd.peers);
            replies answers(this, &driver::on_applied_answer);
            for (const auto& e : rd.chosen) {
                machine_.apply(e.slot, e.values, answers);
                ++stats_.slots_applied;
                stats_.commands_applied += e.values.size();
            }
            for (const auto& d : rd.dropped) answer_dropped(d);
            // The chosen entries above reach every read's slot: safe now.
            for (const auto& rr : rd.reads) read_answered(rr.tag, true);
            for (const read_tag t : rd.reads_dropped) read_answered(t, false);
            for (const auto& want : rd.catch_up) serve_catch_up(want);
            if constexpr (transfers) {
                for (const auto& c : rd.snapshot_chunks) send_chunk(c);
                for (const auto& c : rd.snapshot_received) receive_chunk(c);
            }
            if (stopped()) return;
            replica_.advance(rd);
            after_advance();
            maybe_snapshot();
        }
    }

    // ---- snapshot transfer (core/snapshot_transfer.hpp) --------------------------

    // The sender's side: the bytes the batch asks for, from the store.
    void send_chunk(const snapshot_chunk_request& c) {
        const std::span<std::byte> out(chunk_.data(), c.length);
        const auto got = snapshots_ != nullptr
                             ? snapshots_->read(c.snapshot.slot, c.offset, out)
                             : storage::snapshot_read{storage::snapshot_status::not_found, 0, 0};
        if (got.code == storage::snapshot_status::io_error) {
            snapshot_failed("read", got.code);
            return;
        }
        if (got.code != storage::snapshot_status::ok || got.bytes != c.length) {
            // Retired, damaged or never here: this transfer cannot go on.
            ++stats_.snapshot_reads_failed;
            abort_to_.insert(c.to);
            return;
        }
        send_one(replica_.snapshot_chunk_for(c, out), node_set{});
        ++stats_.snapshot_chunks_sent;
        stats_.snapshot_bytes_sent += c.length;
    }

    // The receiver's side: append in order; the last chunk makes the
    // snapshot durable, to be installed after advance().
    void receive_chunk(const received_chunk& c) {
        if (snapshots_ == nullptr) return;  // nowhere to keep it: never installed
        using storage::snapshot_status;
        ++stats_.snapshot_chunks_received;
        if (!receiving_ || *receiving_ != c.snapshot) {
            const auto st =
                snapshots_->begin_receive(c.snapshot.slot, c.snapshot.size_bytes, c.snapshot.crc);
            if (st == snapshot_status::stale) return;  // we hold one as new: never installed
            if (st != snapshot_status::ok) return snapshot_failed("receive", st);
            receiving_ = c.snapshot;
        }
        if (snapshots_->written_bytes() != c.offset) {
            // The store and the replica disagree on where the receive stands
            // (the store dropped a damaged tail): start it over.
            (void)snapshots_->abort();
            receiving_.reset();
            return;
        }
        if (const auto st = snapshots_->append(c.bytes); st != snapshot_status::ok)
            return snapshot_failed("receive", st);
        if (!c.last()) return;
        receiving_.reset();
        if (const auto st = snapshots_->commit(); st != snapshot_status::ok) {
            if (st == snapshot_status::mismatch) return;  // not what was declared: refused
            return snapshot_failed("commit", st);
        }
        install_ = c.snapshot;
    }

    // Inputs the batch asked for, which may only follow advance().
    void after_advance() {
        if constexpr (transfers) {
            for (std::uint16_t id = 0; id < Config::max_nodes && !abort_to_.empty(); ++id) {
                if (abort_to_.contains(node_id{id})) replica_.abort_snapshot(node_id{id});
            }
            abort_to_ = node_set{};
            for (std::uint16_t id = 0; id < Config::max_nodes && !send_to_.empty(); ++id) {
                if (send_to_.contains(node_id{id})) (void)replica_.send_snapshot(node_id{id});
            }
            send_to_ = node_set{};
            if (install_) install(*install_);
            install_.reset();
        }
    }

    // Load what is durable, then move the replica, then compact the log:
    // a crash between any two leaves the newest snapshot and a log that
    // holds everything after it.
    void install(const snapshot_offer& s) {
        if (!(replica_.chosen_end() < s.slot)) return;  // caught up meanwhile: not needed
        const auto kept = snapshots_->snapshots();
        const auto it =
            std::find_if(kept.begin(), kept.end(),
                         [&](const storage::snapshot_info& i) { return i.slot == s.slot; });
        if (it == kept.end()) return;
        snapshot_reader reader(*snapshots_, *it);
        if (!machine_.load_snapshot(reader) || reader.remaining_bytes() != 0) {
            return (void)stop_with("snapshot install: load_snapshot() failed" + snapshot_detail());
        }
        const result r = replica_.install_snapshot(s);
        if (!r.ok()) {
            // The machine holds the snapshot's state, the replica does not:
            // never run like that.
            return (void)stop_with(std::string("snapshot install refused: ") + to_string(r.code));
        }
        if constexpr (requires(Store & st) { st.snapshot(s.slot); }) {
            if (store_.snapshot(s.slot) != storage::status::ok)
                return (void)stop_with(std::string("compaction after install: ") + store_detail());
        }
        last_snapshot_ = s.slot;
        ++stats_.snapshots_installed;
    }

    void send_all(std::span<const message_type> messages, node_set peers) {
        for (const message_type& m : messages) send_one(m, peers);
    }

    void send_one(const message_type& m, node_set peers) {
        const auto enc = codec::encode(m, frame_, options_.cluster);
        PAXOS_ASSERT(enc.ok());  // frame_ holds encoded_size_max; values the codec refused
                                 // never reached the replica (the log would have stopped)
        const std::span<const std::byte> bytes(frame_.data(), enc.size);
        if (m.to != node_id::broadcast()) return send_frame(m.to, bytes);
        for (std::uint16_t id = 0; id < Config::max_nodes; ++id) {
            if (peers.contains(node_id{id})) send_frame(node_id{id}, bytes);
        }
    }

    void send_frame(node_id to, std::span<const std::byte> bytes) {
        ++stats_.frames_sent;
        using queued_t = decltype(net_.send(to, bytes));
        if constexpr (std::is_same_v<queued_t, void>) {
            net_.send(to, bytes);
        } else if constexpr (requires { queued_t::queued; }) {
            if (net_.send(to, bytes) != queued_t::queued) ++stats_.frames_not_queued;
        } else {
            if (!net_.send(to, bytes)) ++stats_.frames_not_queued;
        }
    }

    // Responsibility 8: slots a peer lacks, from the log's segment files.
    void serve_catch_up(const catch_up_request& want) {
        if constexpr (requires {
                          store_.read_chosen(want.from, std::size_t{1},
                                             [](slot_id, std::span<const value_type>) {});
                      }) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(
                want.to.value - want.from.value, options_.catch_up_slots_max));
            const auto got = store_.read_chosen(
                want.from, n, [&](slot_id s, std::span<const value_type> values) {
                    send_one(replica_.chosen_message_for(want.peer, s, values), node_set{});
                    ++stats_.catch_up_slots_served;
                });
            if (got.code != storage::status::ok) {
                stop_with(std::string("catch-up read: ") + storage::to_string(got.code) +
                          store_detail());
                return;
            }
            using stop = decltype(got.stop);
            if (got.stop == stop::compacted || got.stop == stop::gap)
                snapshot_wanted(want.peer, got.next);
        } else {
            snapshot_wanted(want.peer, want.from);  // this store keeps no chosen entries
        }
    }

    void snapshot_wanted(node_id peer, slot_id from) {
        ++stats_.snapshots_wanted;
        if constexpr (transfers) {
            if (snapshots_ != nullptr) send_to_.insert(peer);  // after advance()
        }
        if (snapshot_hook_ != nullptr) snapshot_hook_(snapshot_context_, peer, from);
    }

    // Saves the state machine through applied_end - 1, then compacts the log:
    // that order, or a crash in between loses slots (snapshot_recovery.hpp).
    void maybe_snapshot() {
        if (snapshots_ == nullptr || options_.snapshot_every_slots == 0) return;
        const slot_id at = replica_.applied_end();
        if (at.value < last_snapshot_.value + options_.snapshot_every_slots) return;
        using storage::snapshot_status;
        if (const auto st = snapshots_->begin(at); st != snapshot_status::ok)
            return snapshot_failed("begin", st);
        snapshot_writer writer(*snapshots_);
        if (!machine_.save_snapshot(writer)) {
            return snapshots_->failed() ? snapshot_failed("write", snapshot_status::io_error)
                                        : (void)stop_with("snapshot: save_snapshot() failed");
        }
        if (const auto st = snapshots_->commit(); st != snapshot_status::ok)
            return snapshot_failed("commit", st);
        offer_newest();  // durable: peers below the compaction point get it
        // Compact only to the snapshot before this one, so the log keeps at
        // least snapshot_every_slots chosen slots behind the newest snapshot
        // for peers that fall behind a little (serve_catch_up, cheaper than
        // a snapshot).
        const auto kept = snapshots_->snapshots();  // newest first, durable
        if (kept.size() >= 2 && store_.snapshot(kept[1].slot) != storage::status::ok)
            return (void)stop_with(std::string("compaction: ") + store_detail());
        tell_compacted();
        last_snapshot_ = at;
        ++stats_.snapshots_taken;
    }
    void snapshot_failed(const char* step, storage::snapshot_status st) {
        stop_with(std::string("snapshot ") + step + ": " + storage::to_string(st) +
                  snapshot_detail());
    }

    // ---- waiting proposals --------------------------------------------------------

    submit_status propose_waiting(const value_type& v, std::uint64_t cookie) {
        if (stopped()) return submit_status::stopped;
        ++stats_.proposals;
        if (waiting_count_ == waiting_.size()) {
            ++stats_.proposals_refused;
            return submit_status::busy;
        }
        const proposal_tag tag = ++last_tag_;
        result r = replica_.propose(v, tag);
        if (r.code == reason::outbox_full || r.code == reason::window_full) {
            ++stats_.inputs_retried;
            drain();  // applies and advances: room again, unless the window waits on peers
            if (stopped()) return submit_status::stopped;
            r = replica_.propose(v, tag);
        }
        if (r.ok()) {
            waiting_[waiting_count_++] = waiter{StateMachine::request_of(v), cookie,
                                                tick_count_ + options_.answer_timeout_ticks, tag};
            return submit_status::taken;
        }
        ++stats_.proposals_refused;
        return r.code == reason::not_leader ? submit_status::not_leader : submit_status::busy;
    }

    static void on_applied_answer(void* self, sm::request_id id, answer_status s,
                                  std::span<const std::byte> reply) {
        static_cast<driver*>(self)->answer_waiting(id, s, reply);
    }

    // Hands an answer to every caller waiting for this request (a client that
    // retried on the same node waits twice; both get it).
    void answer_waiting(sm::request_id id, answer_status s, std::span<const std::byte> reply) {
        for (std::size_t i = 0; i < waiting_count_;) {
            if (waiting_[i].request != id) {
                ++i;
                continue;
            }
            const std::uint64_t cookie = waiting_[i].cookie;
            waiting_[i] = waiting_[--waiting_count_];
            ++stats_.answers;
            deliver(cookie, id, s, reply);
        }
    }

    // The replica says a proposal of ours will not be chosen here.
    void answer_dropped(const dropped_proposal& d) {
        for (std::size_t i = 0; i < waiting_count_; ++i) {
            if (waiting_[i].tag != d.tag) continue;
            const waiter w = waiting_[i];
            waiting_[i] = waiting_[--waiting_count_];
            ++stats_.answers_dropped;
            deliver(w.cookie, w.request,
                    d.fate == proposal_fate::lost ? answer_status::not_chosen
                                                  : answer_status::timed_out,
                    {});
            return;
        }
    }

    void read_answered(std::uint64_t cookie, bool ready) {
        ++(ready ? stats_.reads_served : stats_.reads_dropped);
        if (read_hook_ != nullptr) read_hook_(read_context_, cookie, ready);
    }

    void expire_waiting() {
        for (std::size_t i = 0; i < waiting_count_;) {
            if (waiting_[i].deadline_tick > tick_count_) {
                ++i;
                continue;
            }
            const waiter w = waiting_[i];
            waiting_[i] = waiting_[--waiting_count_];
            ++stats_.answers_timed_out;
            deliver(w.cookie, w.request, answer_status::timed_out, {});
        }
    }

    void deliver(std::uint64_t cookie, sm::request_id id, answer_status s,
                 std::span<const std::byte> reply) {
        if ((cookie & client_cookie_bit) == 0) {
            if (hook_ != nullptr) hook_(hook_context_, cookie, s, reply);
            return;
        }
        clients_.reply(cookie & ~client_cookie_bit, reply_view{s, replica_.leader(), id, reply});
    }

    // A request from the client port: proposed, or answered at once.
    void on_client_request(const value_type& v, std::uint64_t cookie) {
        const submit_status s = propose_waiting(v, cookie | client_cookie_bit);
        if (s == submit_status::taken) return;
        clients_.reply(
            cookie, reply_view{answer_of(s), replica_.leader(), StateMachine::request_of(v), {}});
    }

    options options_;
    Store& store_;
    Transport& net_;
    StateMachine& machine_;
    storage::snapshot_store<>* snapshots_;
    replica_type replica_;
    message_buffer in_{};
    wire::buffer_for<message_buffer> frame_{};
    std::vector<waiter> waiting_;
    std::size_t waiting_count_ = 0;
    proposal_tag last_tag_ = 0;  // each proposal's own tag
    client_port<value_type> clients_;
    std::vector<epoll_event> events_;
    int epoll_fd_ = -1;
    bool started_ = false;
    driver_error error_{};
    driver_stats stats_{};
    clock::time_point next_tick_{};
    std::uint64_t tick_count_ = 0;
    slot_id last_snapshot_{};
    std::vector<std::byte> chunk_;               // one snapshot chunk read to send
    std::optional<snapshot_offer> receiving_{};  // the receive open in the store
    std::optional<snapshot_offer> install_{};    // received whole: install after advance()
    node_set abort_to_{};                        // transfers whose snapshot is unreadable
    node_set send_to_{};                         // catch-ups only a snapshot can serve
    void* hook_context_ = nullptr;
    answer_hook hook_ = nullptr;
    void* snapshot_context_ = nullptr;
    snapshot_wanted_hook snapshot_hook_ = nullptr;
    void* read_context_ = nullptr;
    read_hook read_hook_ = nullptr;
};

}  // namespace paxos::inline v0::node
