// tests/model/explorer.hpp: an exhaustive, breadth-first explorer of every
// interleaving of a small cluster, run on the real replica code.
//
// A world is N replicas (held by value: a replica is a plain object of fixed
// arrays, so a world copies like a struct), each node's durable store, the
// multiset of messages in flight, the budgets of the bounded actions left on
// this path, and the checkers' bookkeeping. From each world the explorer
// tries every action:
//
//   propose(p)    proposer p proposes its next value       (budget per proposer)
//   campaign(p)   proposer p starts Phase 1 now             (budget per proposer)
//   deliver(k)    in-flight message k reaches its node     (one per distinct message)
//   drop(k)       the network loses message k              (unbounded: it shrinks the world)
//   duplicate(k)  message k is duplicated: one copy is delivered now, one stays in
//                 flight                                   (budget per path)
//   crash(i)      node i dies and restarts from its store  (budget per path)
//   tick(i)       one unit of time at node i               (budget per path, 0 by default)
//   compact(i)    node i snapshots its state machine at its applied point and
//                 compacts its log to it               (budget per path, 0 by default)
//
//   sync(i)       node i's sync finishes                    (whenever one is under way)
//
// After each input the node's ready batches are drained as a correct driver
// does: send_now leaves and the chosen entries are applied at once; a batch
// that needs a sync leaves the node busy (it takes no input) until its sync
// action, which makes the promise and the votes durable and only then sends
// send_after_sync and calls advance(). A crash while a sync is under way
// loses that batch. A crash-restart rebuilds the replica through
// storage::replica_recovery and restore(), from the store alone, as a new
// process would. With compaction, a peer below a node's compaction point is
// sent its snapshot (one chunk: the state machine here is its applied slot
// count, the values being the chosen ones), installed after advance() as
// node/driver.hpp does, and a restart starts from the node's snapshot.
//
// Each world is hashed (the replicas' fingerprints, the sorted hashes of the
// messages in flight, the stores, the budgets, the bookkeeping) and expanded
// once. Breadth-first order plus a parent pointer per state means the first
// violation found is one of the shortest, and its path is printed by replaying
// the actions from the initial world.
//
// Checkers, in every state (an observer's view, not the replicas' own):
//   agreement           no two different values chosen in one slot, ever. A value is
//                       chosen when a phase-2 quorum voted for it in one ballot (counted
//                       from the votes the nodes persisted, across crashes), or when any
//                       node applied it.
//   learned_unchosen    a node applied a value that no phase-2 quorum ever accepted
//   validity            every chosen value was proposed (or is an empty no-op)
//   order               each node applies slots in order without gaps, so every applied
//                       log is a prefix of the one sequence of chosen values
//   persist_before_send no message leaves a node before what it vouches for is in the
//                       node's store (paxos::backed_by, core/message.hpp)
//   promise_regressed   a node's durable promise went down
//   vote_regressed      a node voted in a slot below an earlier vote of its own in that
//                       slot, or below the promise it had already made durable
//   restore_refused     restore() refused the store's own contents after a crash
//   assertion           the replica's own PAXOS_ASSERT fired (caught while exploring)
//
// Bounds keep the space finite: the action budgets above, plus worlds whose
// highest ballot round exceeds max_ballot_round, whose slots reach MaxSlots or
// whose messages exceed MaxMessages are checked but not expanded ("pruned").
//
// Reuse: explorer<Config> runs on any config whose value_type is constructible
// from an int (proposer p's k-th value is 100 * (p + 1) + k); a test can hand it
// a mutated core or a quorum system that is not proved at compile time and
// assert that it reports a violation.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <paxos/paxos.hpp>
#include <paxos/sim/checkers.hpp>
#include <paxos/storage/durable_state.hpp>

namespace paxos_model {

// ---- options and report ---------------------------------------------------------------

// A scripted start: inputs run, in order, before the search, so that the
// search explores every interleaving from a world deep in a story (a leader
// that chose slots while a peer was away, then compacted) instead of
// spending its states on reaching it. The inputs use the path budgets.
struct start_step {
    enum class kind : std::uint8_t {
        campaign,  // node `node` starts Phase 1
        propose,   // node `node` proposes its next value
        settle,    // every message delivered (and every sync done), except those
                   // from or to `node`, which are lost; until none is in flight
        compact,   // node `node` snapshots and compacts its log
        tick,      // node `node` ticks once
        deliver,   // the first message of kind `message` from `from` to `node`
                   // is delivered, then every sync under way completes
    };
    kind what = kind::settle;
    std::size_t node = 0;
    // settle: chosen messages to this node are lost too (it votes, but does
    // not hear what was chosen).
    std::size_t deaf = SIZE_MAX;
    // deliver: which message.
    paxos::message_kind message = paxos::message_kind::prepare;
    std::size_t from = 0;
};

struct explore_options {
    std::size_t proposers = 2;                 // nodes 0 .. proposers-1 take client commands
    std::uint32_t proposals_per_proposer = 1;  // propose() inputs per proposer per path
    std::uint32_t campaigns_per_proposer = 1;  // campaign() inputs per proposer per path
    std::uint32_t crashes = 1;                 // crash-restarts per path, all nodes together
    std::uint32_t duplications = 1;            // duplicated messages per path
    std::uint32_t ticks = 0;                   // tick() inputs per path, all nodes together
    std::uint32_t compactions = 0;             // compact() actions per path, all nodes together
    std::uint32_t reads = 0;                   // read() inputs per path, at leaders, all together
    std::vector<start_step> start{};           // run before the search (start_step)
    bool drops = true;                         // explore message loss
    std::uint64_t max_ballot_round = 3;        // worlds with a higher ballot round: pruned
    std::uint64_t max_states = 0;              // stop after this many states (0: no limit)
    std::uint32_t max_depth = 0;               // expand no state this deep (0: no limit)
    double max_seconds = 0;                    // stop after this long (0: no limit)
    std::uint32_t retransmit_ticks = 4;        // the replicas' option of that name
    // Planted driver faults and checker switches, for the explorer's own tests.
    bool driver_skips_persist = false;  // a driver that never writes its store
    bool check_persist_before_send = true;
    bool catch_assertions = true;  // a PAXOS_ASSERT becomes a reported violation
    bool progress = false;         // a line on stderr per BFS level
    // Directed links that carry messages: bit `to` of links[from]. A message on a
    // cut link is lost at send, as in a partition that lasts the whole path. A
    // partial network is how a larger cluster (5 nodes) stays explorable: it
    // prunes interleavings that cannot matter for the fault under study.
    std::array<std::uint64_t, 8> links = all_links();

    static constexpr std::array<std::uint64_t, 8> all_links() noexcept {
        std::array<std::uint64_t, 8> a{};
        a.fill(~std::uint64_t{0});
        return a;
    }
    // Links both ways between each listed pair (a, b); every other link cut.
    static constexpr std::array<std::uint64_t, 8> only_links(
        std::initializer_list<std::pair<std::size_t, std::size_t>> pairs) noexcept {
        std::array<std::uint64_t, 8> a{};
        for (const auto& [x, y] : pairs) {
            a[x] |= std::uint64_t{1} << y;
            a[y] |= std::uint64_t{1} << x;
        }
        return a;
    }
};

// One violation enum for every harness: the simulator's (sim/checkers.hpp),
// which names each kind and the rule it checks. The explorer keeps its own
// search and bookkeeping (fixed arrays, so a world copies like a struct) but
// decides and words persist-before-send, promise-regressed, vote-regressed
// and learned-unchosen with the same functions of sim/checkers.hpp, so a
// planted bug reads the same in both.
using violation_kind = paxos::sim::check;
using paxos::sim::to_string;

struct violation {
    violation_kind kind = violation_kind::agreement;
    std::string what;
    std::uint32_t depth = 0;        // actions from the initial world
    std::vector<std::string> path;  // the actions, in order, shortest first found
};

struct explore_report {
    std::uint64_t states = 0;       // distinct states seen (each checked once)
    std::uint64_t expanded = 0;     // states whose successors were generated
    std::uint64_t transitions = 0;  // successors generated, revisits included
    std::uint64_t pruned = 0;       // states beyond the ballot or slot bound: not expanded
    std::uint64_t overflowed = 0;   // transitions that overflowed the model's arrays
    std::uint32_t max_depth = 0;    // BFS depth of the deepest state
    double seconds = 0;
    bool complete = false;                // every state within the bounds was expanded
    std::uint32_t complete_to_depth = 0;  // every path of this many actions was explored
    std::size_t memory_bytes = 0;         // the search's own tables
    std::size_t world_bytes = 0;          // sizeof one world
    std::size_t peak_frontier = 0;        // most states in one BFS level
    std::optional<violation> found;

    std::uint64_t installs = 0;  // transitions in which a node installed a snapshot

    double states_per_second() const noexcept {
        return seconds > 0 ? static_cast<double>(states) / seconds : 0.0;
    }
};

inline void print_report(std::FILE* out, const char* name, const explore_report& r) {
    std::fprintf(
        out,
        "%s: %llu distinct states (%llu expanded, %llu at the ballot or slot bound), "
        "%llu transitions (%llu overflowed the model), max depth %u, %.2f s, "
        "%.0f states/s, %s\n",
        name, static_cast<unsigned long long>(r.states),
        static_cast<unsigned long long>(r.expanded), static_cast<unsigned long long>(r.pruned),
        static_cast<unsigned long long>(r.transitions),
        static_cast<unsigned long long>(r.overflowed), r.max_depth, r.seconds,
        r.states_per_second(), r.complete ? "complete within the bounds" : "stopped early");
    std::fprintf(out,
                 "%s: every path of up to %u actions explored; world %zu bytes, widest "
                 "level %zu states, search tables %.1f MiB\n",
                 name, r.complete_to_depth, r.world_bytes, r.peak_frontier,
                 static_cast<double>(r.memory_bytes) / (1024.0 * 1024.0));
    if (r.found) {
        std::fprintf(out, "%s: VIOLATION (%s) at depth %u: %s\n", name, to_string(r.found->kind),
                     r.found->depth, r.found->what.c_str());
        std::fprintf(out, "%s: shortest path:\n", name);
        for (std::size_t i = 0; i < r.found->path.size(); ++i) {
            std::fprintf(out, "  %2zu. %s\n", i + 1, r.found->path[i].c_str());
        }
    }
}

// A PAXOS_ASSERT inside the replica, turned into an exception so the
// explorer can report it with the path that led there.
struct replica_assertion : std::exception {
    const char* expression = "";
    const char* file = "";
    int line = 0;
    const char* what() const noexcept override { return "paxos assertion failed"; }
};

namespace detail {

// splitmix64's finalizer: every input bit reaches every output bit.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

struct hasher {
    std::uint64_t value = 0x243F6A8885A308D3ull;
    void add(std::uint64_t x) noexcept { value = mix(value ^ mix(x + 0x9E3779B97F4A7C15ull)); }
};

// A set of 64-bit state hashes: open addressing, linear probing, 8 bytes a
// slot (std::unordered_set spends an allocation and ~40 bytes per state).
// Zero marks an empty slot, so a zero hash is stored as one.
class hash_set {
public:
    void reserve(std::size_t n) {
        std::size_t want = 1024;
        while (want < 2 * n) want *= 2;
        if (want > slots_.size()) rehash(want);
    }
    // True if `h` was not in the set.
    bool insert(std::uint64_t h) {
        if (h == 0) h = 1;
        if (2 * (size_ + 1) > slots_.size()) rehash(slots_.empty() ? 1024 : 2 * slots_.size());
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = static_cast<std::size_t>(mix(h)) & mask;; i = (i + 1) & mask) {
            if (slots_[i] == h) return false;
            if (slots_[i] == 0) {
                slots_[i] = h;
                ++size_;
                return true;
            }
        }
    }
    std::size_t size() const noexcept { return size_; }
    std::size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(std::uint64_t); }

private:
    void rehash(std::size_t count) {
        std::vector<std::uint64_t> old(count, 0);
        old.swap(slots_);
        size_ = 0;
        for (std::uint64_t h : old) {
            if (h != 0) (void)insert(h);
        }
    }
    std::vector<std::uint64_t> slots_;
    std::size_t size_ = 0;
};

template <class Ballot>
std::uint64_t ballot_bits(const Ballot& b) noexcept {
    if constexpr (requires { b.raw(); }) {
        return b.raw();
    } else {
        return mix(b.round()) ^ b.node().value;
    }
}

template <class Ballot>
std::uint64_t ballot_round(const Ballot& b) noexcept {
    if constexpr (requires { b.counter(); }) {
        return b.counter();
    } else {
        return b.round();
    }
}

template <class Ballot>
std::string ballot_text(const Ballot& b) {
    if (b.is_zero()) return "0";
    return std::to_string(ballot_round(b)) + "." + std::to_string(b.owner().value);
}

template <class Value>
std::uint64_t value_bits(const Value& v) noexcept {
    if constexpr (requires { std::hash<Value>{}(v); }) {
        return std::hash<Value>{}(v);
    } else {
        static_assert(std::is_trivially_copyable_v<Value>,
                      "explorer: give value_type a std::hash specialization");
        hasher h;
        unsigned char bytes[sizeof(Value)];
        std::memcpy(bytes, &v, sizeof bytes);
        for (unsigned char c : bytes) h.add(c);
        return h.value;
    }
}

template <class Value>
std::string values_text(std::span<const Value> values) {
    if (values.empty()) return "no-op";
    std::string s = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) s += ",";
        if constexpr (std::is_arithmetic_v<Value>) {
            s += std::to_string(values[i]);
        } else {
            s += "?";
        }
    }
    return s + "]";
}

[[noreturn]] inline void throwing_assert_handler(const char* expression, const char* file,
                                                 int line) {
    replica_assertion a;
    a.expression = expression;
    a.file = file;
    a.line = line;
    throw a;
}

// Installs the throwing handler for the explorer's lifetime of a run.
class assert_handler_scope {
public:
    explicit assert_handler_scope(bool enable)
        : enabled_(enable),
          previous_(enable ? paxos::set_assert_handler(&throwing_assert_handler) : nullptr) {}
    ~assert_handler_scope() {
        if (enabled_) (void)paxos::set_assert_handler(previous_);
    }
    assert_handler_scope(const assert_handler_scope&) = delete;
    assert_handler_scope& operator=(const assert_handler_scope&) = delete;

private:
    bool enabled_;
    paxos::assert_handler previous_;
};

}  // namespace detail

// ---- the explorer -------------------------------------------------------------------------

template <class Config, std::size_t Nodes = Config::max_nodes, std::size_t MaxSlots = 4,
          std::size_t MaxMessages = 24>
class explorer {
public:
    using replica_type = paxos::replica<Config>;
    using message_type = typename replica_type::message_type;
    using message_buffer = typename replica_type::message_buffer;
    using value_type = typename Config::value_type;
    using ballot_type = typename Config::ballot;
    using quorum_type = typename Config::quorum;
    using batch_type = typename replica_type::batch_type;
    using ready_type = typename replica_type::ready_type;

    static constexpr std::size_t node_count = Nodes;
    static constexpr std::size_t max_slots = MaxSlots;
    static constexpr std::size_t max_messages = MaxMessages;
    static constexpr std::size_t max_proposers = 4;
    // Distinct (slot, ballot, value) votes remembered for the quorum count.
    static constexpr std::size_t max_tallies = 8 * MaxSlots;

    static_assert(Nodes >= 1 && Nodes <= Config::max_nodes);
    static_assert(Nodes <= 8, "explorer: at most 8 nodes (explore_options::links)");
    static_assert(std::is_constructible_v<value_type, int>,
                  "explorer: value_type must be constructible from an int (the proposals)");

    explicit explorer(explore_options opts, quorum_type quorum = quorum_type{})
        : options_(opts), quorum_(quorum) {
        PAXOS_ASSERT(quorum_.node_count() == Nodes);
        PAXOS_ASSERT(options_.proposers >= 1 && options_.proposers <= max_proposers);
        PAXOS_ASSERT(options_.proposers <= Nodes);
    }

    // Proposer p's k-th command: distinct across proposers and proposals, so
    // validity can name who proposed what.
    static value_type proposal_value(std::size_t proposer, std::uint32_t k) {
        return value_type(static_cast<int>(100 * (proposer + 1) + k));
    }

    explore_report run();

private:
    // ---- the world ----------------------------------------------------------------

    struct envelope {
        std::uint64_t hash = 0;
        message_buffer message{};  // message.to is the destination node
    };

    // What one node's store holds (the driver syncs every batch it persists).
    struct durable {
        ballot_type promised{};
        std::array<ballot_type, MaxSlots> vote_ballot{};  // zero: no vote in that slot
        std::array<batch_type, MaxSlots> vote_values{};
        std::uint32_t applied = 0;   // the state machine applied slots below (durable)
        std::uint32_t snapshot = 0;  // its saved snapshot: the state through this slot - 1
    };

    // Every acceptor that ever voted for `values` in `slot` at `ballot`.
    struct tally {
        std::uint64_t slot = 0;
        ballot_type ballot{};
        std::uint64_t values_hash = 0;
        batch_type values{};
        paxos::node_set voters{};
    };

    struct chosen_slot {
        bool known = false;
        batch_type values{};
    };

    struct world {
        std::array<replica_type, Nodes> nodes;
        std::array<durable, Nodes> stores{};
        paxos::fixed_vector<envelope, MaxMessages> messages{};  // sorted by hash
        std::array<chosen_slot, MaxSlots> chosen{};
        paxos::fixed_vector<tally, max_tallies> tallies{};   // sorted by (slot, ballot, hash)
        std::array<std::uint8_t, max_proposers> proposed{};  // proposals made per proposer
        std::array<std::uint8_t, max_proposers> campaigned{};
        std::array<bool, Nodes> syncing{};  // a batch is out, its sync under way
        std::uint8_t crashes = 0;
        std::uint8_t duplications = 0;
        std::uint8_t ticks = 0;
        std::uint8_t compactions = 0;
        std::uint8_t reads = 0;
        // Per node, the sum of (floor + 1) over its reads not yet served or
        // dropped: a read's tag is its floor, the longest log prefix any state
        // machine had applied when it began, which it must see.
        std::array<std::uint32_t, Nodes> reads_pending{};
    };

    // ---- actions --------------------------------------------------------------------

    enum class action_kind : std::uint8_t {
        propose,
        campaign,
        deliver,
        drop,
        duplicate,
        crash,
        tick,
        sync,
        compact,
        read,
    };
    struct action {
        action_kind kind{};
        std::uint16_t arg = 0;
        std::uint32_t pack() const noexcept { return static_cast<std::uint32_t>(kind) << 16 | arg; }
        static action unpack(std::uint32_t x) noexcept {
            return action{static_cast<action_kind>(x >> 16), static_cast<std::uint16_t>(x)};
        }
    };

    // What a transition found: a violation, or a model bound that stops expansion.
    // An overflowed world is not the world the protocol would reach (a
    // message or a vote did not fit the model's arrays): it is neither kept
    // nor expanded, so it cannot stand in for a real world with equal hash.
    struct outcome {
        bool pruned = false;    // beyond the ballot or slot bound: checked, kept, not expanded
        bool overflow = false;  // beyond an array bound of the model: checked, dropped
        std::optional<violation> bad;
    };

    // ---- construction ---------------------------------------------------------------

    typename replica_type::options node_options(std::size_t i) const {
        typename replica_type::options o{};
        o.self = paxos::node_id{static_cast<std::uint16_t>(i)};
        o.seed = 0x5EED0000u + i;  // the same seed after a restart: the space stays small
        o.retransmit_ticks = options_.retransmit_ticks;
        return o;
    }

    template <std::size_t... I>
    std::array<replica_type, Nodes> make_nodes(std::index_sequence<I...>) const {
        return {replica_type(node_options(I), quorum_)...};
    }

    world initial_world() const {
        world w{make_nodes(std::make_index_sequence<Nodes>{})};
        for (const start_step& s : options_.start) run_start(w, s);
        return w;
    }

    void run_start(world& w, const start_step& s) const {
        const auto node = static_cast<std::uint16_t>(s.node);
        switch (s.what) {
            case start_step::kind::campaign: (void)step(w, {action_kind::campaign, node}); break;
            case start_step::kind::propose: (void)step(w, {action_kind::propose, node}); break;
            case start_step::kind::compact: (void)step(w, {action_kind::compact, node}); break;
            case start_step::kind::tick:
                (void)step(w, {action_kind::tick, node});
                --w.ticks;
                break;
            case start_step::kind::deliver:
                for (std::size_t k = 0; k < w.messages.size(); ++k) {
                    const auto& m = w.messages[k].message;
                    if (m.kind != s.message || m.from.value != s.from || m.to.value != s.node) {
                        continue;
                    }
                    if (w.syncing[s.node]) (void)step(w, {action_kind::sync, node});
                    (void)step(w, {action_kind::deliver, static_cast<std::uint16_t>(k)});
                    break;
                }
                for (std::size_t i = 0; i < Nodes; ++i) {
                    while (w.syncing[i]) {
                        (void)step(w, {action_kind::sync, static_cast<std::uint16_t>(i)});
                    }
                }
                break;
            case start_step::kind::settle:
                for (int rounds = 0; rounds < 10'000; ++rounds) {
                    bool acted = false;
                    for (std::size_t i = 0; i < Nodes && !acted; ++i) {
                        if (!w.syncing[i]) continue;
                        (void)step(w, {action_kind::sync, static_cast<std::uint16_t>(i)});
                        acted = true;
                    }
                    for (std::size_t k = 0; k < w.messages.size() && !acted; ++k) {
                        const auto& m = w.messages[k].message;
                        const auto arg = static_cast<std::uint16_t>(k);
                        const bool deaf =
                            m.to.value == s.deaf && m.kind == paxos::message_kind::chosen;
                        if (m.from.value == s.node || m.to.value == s.node || deaf) {
                            (void)step(w, {action_kind::drop, arg});
                        } else if (!w.syncing[m.to.value]) {
                            (void)step(w, {action_kind::deliver, arg});
                        } else {
                            continue;
                        }
                        acted = true;
                    }
                    if (!acted) break;
                }
                break;
        }
        // The start's campaigns and compactions leave the search its budgets;
        // its proposals count (each proposal value is used once).
        if (s.what == start_step::kind::campaign) --w.campaigned[s.node];
        if (s.what == start_step::kind::compact) --w.compactions;
    }

    // ---- hashing ----------------------------------------------------------------------

    static std::uint64_t values_hash(std::span<const value_type> values) noexcept {
        detail::hasher h;
        h.add(values.size());
        for (const value_type& v : values) h.add(detail::value_bits(v));
        return h.value;
    }

    static std::uint64_t message_hash(const message_type& m) noexcept {
        detail::hasher h;
        h.add(static_cast<std::uint64_t>(m.kind));
        h.add(m.from.value);
        h.add(m.to.value);
        h.add(detail::ballot_bits(m.ballot));
        h.add(m.slot.value);
        h.add(m.chosen_end.value);
        h.add(detail::ballot_bits(m.accepted_ballot));
        h.add(m.part);
        h.add(m.parts);
        for (const auto& v : m.votes) {
            h.add(v.slot.value);
            h.add(detail::ballot_bits(v.ballot));
            h.add(v.value_count);
            h.add(v.chosen);
        }
        h.add(values_hash(m.values));
        return h.value;
    }

    std::uint64_t world_hash(const world& w) const noexcept {
        detail::hasher h;
        for (const replica_type& r : w.nodes) h.add(r.fingerprint());
        for (const durable& d : w.stores) {
            h.add(detail::ballot_bits(d.promised));
            for (std::size_t s = 0; s < MaxSlots; ++s) {
                h.add(detail::ballot_bits(d.vote_ballot[s]));
                h.add(values_hash(d.vote_values[s].view()));
            }
            h.add(d.applied);
            h.add(d.snapshot);
        }
        h.add(w.messages.size());
        for (const envelope& e : w.messages) h.add(e.hash);  // sorted: a multiset hash
        for (const chosen_slot& c : w.chosen) {
            h.add(c.known);
            h.add(values_hash(c.values.view()));
        }
        h.add(w.tallies.size());
        for (const tally& t : w.tallies) {
            h.add(t.slot);
            h.add(detail::ballot_bits(t.ballot));
            h.add(t.values_hash);
            h.add(t.voters.mask());
        }
        for (std::size_t p = 0; p < max_proposers; ++p) {
            h.add(w.proposed[p]);
            h.add(w.campaigned[p]);
        }
        for (bool busy : w.syncing) h.add(busy);
        h.add(w.crashes);
        h.add(w.duplications);
        h.add(w.ticks);
        h.add(w.compactions);
        h.add(w.reads);
        for (const std::uint32_t r : w.reads_pending) h.add(r);
        return h.value;
    }

    // ---- the driver -------------------------------------------------------------------

    static void fail(outcome& out, violation_kind kind, std::string what) {
        if (!out.bad) out.bad = violation{kind, std::move(what), 0, {}};
    }

    bool is_valid_value(const world& w, const value_type& v) const {
        for (std::size_t p = 0; p < options_.proposers; ++p) {
            for (std::uint32_t k = 0; k < w.proposed[p]; ++k) {
                if (proposal_value(p, k) == v) return true;
            }
        }
        return false;
    }

    void push_message(world& w, outcome& out, const message_type& m) const {
        if (w.messages.full()) {
            out.overflow = true;  // beyond the model's bound on messages in flight
            return;
        }
        envelope e{message_hash(m), message_buffer(m)};
        // Insertion keeps the multiset sorted: equal messages end up adjacent,
        // and the world hash is independent of the order they were sent in.
        w.messages.push_back(e);
        std::size_t k = w.messages.size() - 1;
        while (k > 0 && w.messages[k - 1].hash > w.messages[k].hash) {
            std::swap(w.messages[k - 1], w.messages[k]);
            --k;
        }
    }

    void erase_message(world& w, std::size_t k) const {
        for (std::size_t j = k + 1; j < w.messages.size(); ++j) w.messages[j - 1] = w.messages[j];
        w.messages.truncate(w.messages.size() - 1);
    }

    bool link_up(std::size_t from, std::size_t to) const noexcept {
        return ((options_.links[from] >> to) & 1u) != 0;
    }

    void send(world& w, outcome& out, std::size_t from, const message_type& m) const {
        if (m.to == paxos::node_id::broadcast()) {
            for (std::size_t to = 0; to < Nodes; ++to) {
                if (to == from || !link_up(from, to)) continue;
                message_type copy = m;
                copy.to = paxos::node_id{static_cast<std::uint16_t>(to)};
                push_message(w, out, copy);  // (a view: push_message copies the body)
            }
        } else if (m.to.value < Nodes && link_up(from, m.to.value)) {
            push_message(w, out, m);
        }
    }

    // A vote persisted by `node`: count it toward its (slot, ballot, value).
    void tally_vote(world& w, outcome& out, std::size_t node, std::uint64_t slot,
                    const ballot_type& b, std::span<const value_type> values) const {
        const std::uint64_t vh = values_hash(values);
        auto before = [&](const tally& t) {
            if (t.slot != slot) return t.slot < slot;
            if (t.ballot != b) return t.ballot < b;
            return t.values_hash < vh;
        };
        std::size_t k = 0;
        while (k < w.tallies.size() && before(w.tallies[k])) ++k;
        if (k == w.tallies.size() || w.tallies[k].slot != slot || w.tallies[k].ballot != b ||
            w.tallies[k].values_hash != vh) {
            if (w.tallies.full()) {
                out.overflow = true;
                return;
            }
            tally t{slot, b, vh, {}, {}};
            t.values.assign(values);
            w.tallies.push_back(t);
            for (std::size_t j = w.tallies.size() - 1; j > k; --j) {
                std::swap(w.tallies[j], w.tallies[j - 1]);
            }
        }
        tally& t = w.tallies[k];
        t.voters.insert(paxos::node_id{static_cast<std::uint16_t>(node)});
        if (quorum_.is_phase2_quorum(t.voters)) {
            note_chosen(w, out, slot, t.values.view(),
                        "a phase-2 quorum voted for it at ballot " + detail::ballot_text(b));
        }
    }

    void note_chosen(world& w, outcome& out, std::uint64_t slot, std::span<const value_type> values,
                     const std::string& how) const {
        if (slot >= MaxSlots) {
            out.overflow = true;
            return;
        }
        chosen_slot& c = w.chosen[slot];
        const std::span<const value_type> known = c.values.view();
        if (c.known && !std::equal(known.begin(), known.end(), values.begin(), values.end())) {
            fail(out, violation_kind::agreement,
                 "slot " + std::to_string(slot) + ": " + detail::values_text<value_type>(values) +
                     " chosen (" + how + ") but " + detail::values_text<value_type>(known) +
                     " was chosen before");
            return;
        }
        for (const value_type& v : values) {
            if (!is_valid_value(w, v)) {
                fail(out, violation_kind::validity,
                     "slot " + std::to_string(slot) + ": chosen value " +
                         detail::values_text<value_type>(values) + " was never proposed");
                return;
            }
        }
        c.known = true;
        c.values.assign(values);
    }

    // Persist-before-send, from outside the replica: each message that
    // vouches for durable state must be backed by the store already.
    void check_send(const world& w, outcome& out, std::size_t i, const message_type& m) const {
        if (!options_.check_persist_before_send) return;
        const durable& d = w.stores[i];
        // Slots past the model's range carry no votes of interest here.
        if (m.kind == paxos::message_kind::accepted && m.slot.value >= MaxSlots) return;
        const ballot_type vote =
            m.slot.value < MaxSlots ? d.vote_ballot[m.slot.value] : ballot_type{};
        std::string why = paxos::sim::unbacked_send(i, m, d.promised, vote);
        if (!why.empty()) fail(out, violation_kind::persist_before_send, std::move(why));
    }

    void persist(world& w, outcome& out, std::size_t i, const ready_type& rd) const {
        durable& d = w.stores[i];
        const ballot_type promised_before = d.promised;
        if (rd.promised_changed && !options_.driver_skips_persist) {
            std::string why = paxos::sim::promise_regression(i, rd.promised, d.promised);
            if (!why.empty()) fail(out, violation_kind::promise_regressed, std::move(why));
            d.promised = rd.promised;
        }
        for (const auto& rec : rd.accepted) {
            if (rec.slot.value >= MaxSlots) {
                out.overflow = true;
                continue;
            }
            // PMS §2.2: an acceptor accepts n only if it promised nothing above n,
            // and an accept counts as a promise (Lamport's TLA+ Phase2b sets
            // maxBal). So a vote is never below an earlier vote in its slot, nor
            // below the promise already on disk.
            const ballot_type floor = std::max(d.vote_ballot[rec.slot.value], promised_before);
            std::string why = paxos::sim::vote_regression(i, rec.slot.value, rec.ballot, floor);
            if (!why.empty()) fail(out, violation_kind::vote_regressed, std::move(why));
            if (!options_.driver_skips_persist) {
                d.vote_ballot[rec.slot.value] = rec.ballot;
                d.vote_values[rec.slot.value].assign(rec.values);
            }
            tally_vote(w, out, i, rec.slot.value, rec.ballot, rec.values);
        }
    }

    void apply(world& w, outcome& out, std::size_t i,
               const paxos::chosen_entry<value_type>& e) const {
        durable& d = w.stores[i];
        if (e.slot.value != d.applied) {
            fail(out, violation_kind::order,
                 "node " + std::to_string(i) + " applied slot " + std::to_string(e.slot.value) +
                     " but its next slot is " + std::to_string(d.applied));
        }
        if (e.slot.value >= MaxSlots) {
            out.overflow = true;
            return;
        }
        const chosen_slot& c = w.chosen[e.slot.value];
        if (!c.known) {
            fail(out, violation_kind::learned_unchosen,
                 paxos::sim::unchosen_learned(i, e.slot.value));
        } else {
            note_chosen(w, out, e.slot.value, e.values,
                        "node " + std::to_string(i) + " applied it");
        }
        d.applied = static_cast<std::uint32_t>(e.slot.value + 1);
    }

    void drain(world& w, outcome& out, std::size_t i) const {
        replica_type& r = w.nodes[i];
        while (!w.syncing[i] && r.has_ready()) {
            const ready_type& rd = r.ready();
            for (const message_type& m : rd.send_now) {  // at once
                check_send(w, out, i, m);
                send(w, out, i, m);
            }
            for (const auto& e : rd.chosen) apply(w, out, i, e);
            if constexpr (replica_type::reads_max != 0) serve_reads(w, out, i, rd);
            if (rd.sync_needed) {
                w.syncing[i] = true;  // the rest waits for the sync action
                return;
            }
            finish(w, out, i, rd);
        }
    }

    // The part of a batch that follows its sync.
    void finish(world& w, outcome& out, std::size_t i, const ready_type& rd) const {
        persist(w, out, i, rd);
        for (const message_type& m : rd.send_after_sync) {
            check_send(w, out, i, m);
            send(w, out, i, m);
        }
        for (const auto& c : rd.catch_up) serve_from_log(w, out, i, c);
        std::optional<paxos::snapshot_offer> install;
        if constexpr (transfers) {
            for (const auto& c : rd.snapshot_chunks) {
                if (c.snapshot != offer_of(w.stores[i].snapshot)) continue;  // retired
                const auto bytes = snapshot_bytes(w.stores[i].snapshot);
                send(w, out, i, w.nodes[i].snapshot_chunk_for(c, bytes));
            }
            for (const auto& c : rd.snapshot_received) {
                // One chunk: the whole snapshot, checked by its CRC already.
                if (c.last()) install = c.snapshot;
            }
        }
        w.nodes[i].advance(rd);
        if (install) install_snapshot(w, out, i, *install);
    }

    // Confirmed reads are served once the batch's chosen entries are applied:
    // each must see every slot any state machine had applied when it began.
    void serve_reads(world& w, outcome& out, std::size_t i, const ready_type& rd) const {
        for (const paxos::read_ready& r : rd.reads) {
            w.reads_pending[i] -= static_cast<std::uint32_t>(r.tag + 1);
            if (w.stores[i].applied < r.tag) {
                fail(out, violation_kind::linearizable_read,
                     "node " + std::to_string(i) + " served a read from the slots below " +
                         std::to_string(w.stores[i].applied) +
                         ", but a state machine had applied the slots below " +
                         std::to_string(r.tag) + " before the read began");
            }
        }
        for (const paxos::read_tag t : rd.reads_dropped) {
            w.reads_pending[i] -= static_cast<std::uint32_t>(t + 1);
        }
    }

    // ---- snapshots (configs with a snapshot transfer) -----------------------------

    static constexpr bool transfers = replica_type::snapshot_chunk_bytes != 0;

    // A snapshot's bytes: its slot, the state machine being the chosen
    // values below it.
    static std::array<std::byte, 8> snapshot_bytes(std::uint64_t slot) noexcept {
        std::array<std::byte, 8> b{};
        for (std::size_t k = 0; k < 8; ++k) b[k] = static_cast<std::byte>(slot >> (8 * k));
        return b;
    }
    static paxos::snapshot_offer offer_of(std::uint64_t slot) noexcept {
        const auto b = snapshot_bytes(slot);
        return paxos::snapshot_offer{paxos::slot_id{slot}, b.size(), paxos::detail::crc32c(b)};
    }

    // Node i saves its state machine and compacts its log to it.
    void compact(world& w, outcome& out, std::size_t i) const {
        if constexpr (transfers) {
            durable& d = w.stores[i];
            d.snapshot = d.applied;
            (void)w.nodes[i].offer_snapshot(offer_of(d.snapshot));
            (void)w.nodes[i].compact(paxos::slot_id{d.snapshot});
            drain(w, out, i);
        } else {
            (void)w;
            (void)out;
            (void)i;
        }
    }

    // A snapshot received whole: the replica moves to it, the state machine
    // loads it (every slot below it must be chosen), and it is the node's.
    void install_snapshot(world& w, outcome& out, std::size_t i,
                          const paxos::snapshot_offer& s) const {
        if constexpr (transfers) {
            replica_type& r = w.nodes[i];
            if (!(r.chosen_end() < s.slot)) return;  // caught up meanwhile
            if (!r.install_snapshot(s).ok()) return;
            ++installs_;
            durable& d = w.stores[i];
            for (std::uint64_t slot = d.applied; slot < s.slot.value && slot < MaxSlots; ++slot) {
                if (!w.chosen[slot].known) {
                    fail(out, violation_kind::learned_unchosen,
                         "node " + std::to_string(i) + " installed a snapshot holding slot " +
                             std::to_string(slot) + ", which is not chosen");
                }
            }
            d.applied = static_cast<std::uint32_t>(s.slot.value);
            d.snapshot = d.applied;
        } else {
            (void)w;
            (void)out;
            (void)i;
            (void)s;
        }
    }

    // The driver's half of catch-up: slots the replica released from its
    // window are served from the applied log, which equals the chosen values.
    void serve_from_log(world& w, outcome& out, std::size_t self,
                        const paxos::catch_up_request& asked) const {
        const replica_type& r = w.nodes[self];
        const std::uint64_t end = std::min<std::uint64_t>(asked.to.value, w.stores[self].applied);
        for (std::uint64_t s = asked.from.value; s < end && s < MaxSlots; ++s) {
            send(w, out, self,
                 r.chosen_message_for(asked.peer, paxos::slot_id{s}, w.chosen[s].values.view()));
        }
    }

    void deliver(world& w, outcome& out, const message_type& m) const {
        const std::size_t to = m.to.value;
        (void)w.nodes[to].step(m);
        drain(w, out, to);
    }

    void restart(world& w, outcome& out, std::size_t i) const {
        const durable& d = w.stores[i];
        paxos::storage::replica_recovery<Config> rec;
        if (d.snapshot != 0) rec.on_snapshot(paxos::slot_id{d.snapshot});
        rec.on_promise(d.promised);
        for (std::size_t s = 0; s < MaxSlots; ++s) {
            if (d.vote_ballot[s].is_zero()) continue;
            rec.on_vote(paxos::slot_id{s}, d.vote_ballot[s], d.vote_values[s].view());
        }
        w.syncing[i] = false;    // a batch under way is lost with the process
        w.reads_pending[i] = 0;  // and so are its reads
        w.nodes[i] = replica_type(node_options(i), quorum_);
        const paxos::result res = w.nodes[i].restore(rec.recovery(paxos::slot_id{d.applied}));
        if (!res.ok()) {
            fail(out, violation_kind::restore_refused,
                 "node " + std::to_string(i) +
                     ": restore() refused its store: " + paxos::to_string(res.code));
        }
        if constexpr (transfers) {
            if (res.ok() && d.snapshot != 0) {
                (void)w.nodes[i].offer_snapshot(offer_of(d.snapshot));
                (void)w.nodes[i].compact(paxos::slot_id{d.snapshot});
            }
        }
        drain(w, out, i);
    }

    // Applies `a` to `w`. The caller has checked that `a` is enabled.
    outcome step(world& w, action a) const {
        outcome out;
        const std::size_t arg = a.arg;
        switch (a.kind) {
            case action_kind::propose: {
                const value_type v = proposal_value(arg, w.proposed[arg]);
                ++w.proposed[arg];
                (void)w.nodes[arg].propose(v);  // refused or not, the input happened
                drain(w, out, arg);
                break;
            }
            case action_kind::campaign:
                ++w.campaigned[arg];
                (void)w.nodes[arg].campaign();
                drain(w, out, arg);
                break;
            case action_kind::deliver: {
                const message_buffer m = w.messages[arg].message;
                erase_message(w, arg);
                deliver(w, out, m);
                break;
            }
            case action_kind::drop: erase_message(w, arg); break;
            case action_kind::duplicate: {
                // The network duplicates the message and delivers one copy;
                // the other stays in flight. (A duplicate that waits while its
                // twin is delivered first gives the same worlds one step later.)
                ++w.duplications;
                const message_buffer m = w.messages[arg].message;
                deliver(w, out, m);
                break;
            }
            case action_kind::crash:
                ++w.crashes;
                restart(w, out, arg);
                break;
            case action_kind::tick:
                ++w.ticks;
                (void)w.nodes[arg].tick();
                drain(w, out, arg);
                break;
            case action_kind::sync:
                w.syncing[arg] = false;
                finish(w, out, arg, w.nodes[arg].outstanding());
                drain(w, out, arg);
                break;
            case action_kind::compact:
                ++w.compactions;
                compact(w, out, arg);
                break;
            case action_kind::read:
                if constexpr (replica_type::reads_max != 0) {
                    ++w.reads;
                    std::uint32_t floor = 0;
                    for (const durable& d : w.stores) floor = std::max(floor, d.applied);
                    if (w.nodes[arg].read(floor).ok()) w.reads_pending[arg] += floor + 1;
                    drain(w, out, arg);
                }
                break;
        }
        if (!out.bad) check_state(w, out);
        if (!out.pruned) out.pruned = beyond_bounds(w);
        return out;
    }

    // The per-state checkers that do not need the transition's events:
    // every node's applied log is a prefix of the chosen sequence, and every
    // chosen value is valid.
    void check_state(const world& w, outcome& out) const {
        for (std::size_t i = 0; i < Nodes; ++i) {
            const std::uint32_t applied = w.stores[i].applied;
            // (While a sync is under way the batch's entries are applied
            // and advance() has yet to say so.)
            if (!w.syncing[i] && w.nodes[i].applied_end().value != applied) {
                fail(out, violation_kind::order,
                     "node " + std::to_string(i) + " reports applied_end " +
                         std::to_string(w.nodes[i].applied_end().value) +
                         " but its state machine applied " + std::to_string(applied));
            }
            for (std::uint32_t s = 0; s < applied && s < MaxSlots; ++s) {
                if (!w.chosen[s].known) {
                    fail(out, violation_kind::order,
                         "node " + std::to_string(i) + " applied slot " + std::to_string(s) +
                             " that is not chosen");
                }
            }
        }
        for (std::size_t s = 0; s < MaxSlots; ++s) {
            if (!w.chosen[s].known) continue;
            for (const value_type& v : w.chosen[s].values) {
                if (!is_valid_value(w, v)) {
                    fail(out, violation_kind::validity,
                         "slot " + std::to_string(s) + " holds a value never proposed");
                }
            }
        }
    }

    bool beyond_bounds(const world& w) const noexcept {
        for (const replica_type& r : w.nodes) {
            if (detail::ballot_round(r.promised()) > options_.max_ballot_round) return true;
            if (detail::ballot_round(r.ballot()) > options_.max_ballot_round) return true;
            if (r.chosen_end().value >= MaxSlots) return true;
        }
        return false;
    }

    // Every action enabled in `w`, in a fixed order.
    void enabled_actions(const world& w, std::vector<action>& out) const {
        out.clear();
        for (std::size_t p = 0; p < options_.proposers; ++p) {
            const auto arg = static_cast<std::uint16_t>(p);
            if (w.syncing[p]) continue;  // a busy node takes no input
            if (w.proposed[p] < options_.proposals_per_proposer) {
                out.push_back({action_kind::propose, arg});
            }
            if (w.campaigned[p] < options_.campaigns_per_proposer) {
                out.push_back({action_kind::campaign, arg});
            }
        }
        for (std::size_t k = 0; k < w.messages.size(); ++k) {
            // Equal messages are adjacent; acting on either gives the same world.
            if (k > 0 && w.messages[k].hash == w.messages[k - 1].hash) continue;
            const auto arg = static_cast<std::uint16_t>(k);
            const bool busy = w.syncing[w.messages[k].message.to.value];
            if (!busy) out.push_back({action_kind::deliver, arg});
            if (options_.drops) out.push_back({action_kind::drop, arg});
            if (!busy && w.duplications < options_.duplications) {
                out.push_back({action_kind::duplicate, arg});
            }
        }
        for (std::size_t i = 0; i < Nodes; ++i) {
            const auto arg = static_cast<std::uint16_t>(i);
            if (w.crashes < options_.crashes) out.push_back({action_kind::crash, arg});
            if (w.syncing[i]) {
                out.push_back({action_kind::sync, arg});
            } else if (w.ticks < options_.ticks) {
                out.push_back({action_kind::tick, arg});
            }
            if (replica_type::reads_max != 0 && !w.syncing[i] && w.reads < options_.reads &&
                w.nodes[i].is_leader()) {
                out.push_back({action_kind::read, arg});
            }
            if (transfers && !w.syncing[i] && w.compactions < options_.compactions &&
                w.stores[i].applied > w.stores[i].snapshot) {
                out.push_back({action_kind::compact, arg});
            }
        }
    }

    std::string describe(const world& w, action a) const {
        const std::string n = std::to_string(a.arg);
        switch (a.kind) {
            case action_kind::propose: {
                const value_type v = proposal_value(a.arg, w.proposed[a.arg]);
                return "node " + n + " proposes " +
                       detail::values_text<value_type>(std::span<const value_type>(&v, 1));
            }
            case action_kind::campaign: return "node " + n + " campaigns (starts Phase 1)";
            case action_kind::crash: return "node " + n + " crashes and restarts from its store";
            case action_kind::tick: return "node " + n + " ticks";
            case action_kind::sync: return "node " + n + "'s sync completes";
            case action_kind::read: return "node " + n + " takes a read (read index)";
            case action_kind::compact:
                return "node " + n + " snapshots through slot " +
                       std::to_string(w.stores[a.arg].applied) + " - 1 and compacts its log";
            case action_kind::deliver: return "deliver " + describe(w.messages[a.arg].message);
            case action_kind::drop: return "drop " + describe(w.messages[a.arg].message);
            case action_kind::duplicate:
                return "deliver a duplicate of " + describe(w.messages[a.arg].message) +
                       " (the original stays in flight)";
        }
        return "?";
    }

    static std::string describe(const message_buffer& b) {
        const message_type m = b.view();
        std::string s = paxos::to_string(m.kind);
        s += " " + std::to_string(m.from.value) + "->" + std::to_string(m.to.value);
        s += " ballot " + detail::ballot_text(m.ballot) + " slot " + std::to_string(m.slot.value);
        switch (m.kind) {
            case paxos::message_kind::promise: {
                if (m.parts > 1) {
                    s += " part " + std::to_string(m.part + 1) + "/" + std::to_string(m.parts);
                }
                std::size_t at = 0;
                for (const auto& v : m.votes) {
                    s += " vote slot " + std::to_string(v.slot.value) + " " +
                         detail::ballot_text(v.ballot) + " " +
                         detail::values_text<value_type>(m.values.subspan(at, v.value_count));
                    if (v.chosen) s += " (chosen)";
                    at += v.value_count;
                }
                break;
            }
            case paxos::message_kind::accept:
            case paxos::message_kind::chosen:
                s += " " + detail::values_text<value_type>(m.values);
                break;
            default: break;
        }
        return s;
    }

    // Replays the actions from the initial world, describing each one.
    std::vector<std::string> replay(const std::vector<std::uint32_t>& actions) const {
        std::vector<std::string> lines;
        world w = initial_world();
        for (std::uint32_t packed : actions) {
            const action a = action::unpack(packed);
            lines.push_back(describe(w, a));
            try {
                (void)step(w, a);
            } catch (const replica_assertion& e) {
                lines.back() += std::string(" -> PAXOS_ASSERT(") + e.expression + ") failed";
                break;
            }
        }
        return lines;
    }

    explore_options options_;
    mutable std::uint64_t installs_ = 0;  // counted for the report
    quorum_type quorum_;
};

// ---- breadth-first search -------------------------------------------------------------
//
// Memory: a world is several KiB, and a BFS level can hold hundreds of
// thousands of states, so levels are not kept as worlds. Each state is 8 bytes
// (its parent and the action from it), and its world is rebuilt by replaying
// the actions from the root. States of a level are numbered in the order they
// were found, which is the lexicographic order of their paths, so consecutive
// states share most of their path: a stack of worlds along the last path
// rebuilt turns the replay into one or two steps per state on average, like a
// depth-first walk of the BFS tree.

template <class Config, std::size_t Nodes, std::size_t MaxSlots, std::size_t MaxMessages>
explore_report explorer<Config, Nodes, MaxSlots, MaxMessages>::run() {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const detail::assert_handler_scope handler(options_.catch_assertions);

    explore_report report;
    report.world_bytes = sizeof(world);

    // The high bit of `action` marks a state that is checked but not expanded.
    struct origin {
        std::uint32_t parent;
        std::uint32_t action;
    };
    constexpr std::uint32_t not_expanded = 0x80000000u;
    std::vector<origin> origins;
    detail::hash_set visited;
    if (options_.max_states) {
        origins.reserve(std::min<std::uint64_t>(options_.max_states, 1u << 26));
        visited.reserve(std::min<std::uint64_t>(options_.max_states, 1u << 26));
    }

    world root = initial_world();
    visited.insert(world_hash(root));
    origins.push_back(origin{0, 0});

    auto path_to = [&](std::uint32_t id) {
        std::vector<std::uint32_t> path;
        while (id != 0) {
            path.push_back(origins[id].action & ~not_expanded);
            id = origins[id].parent;
        }
        std::reverse(path.begin(), path.end());
        return path;
    };
    auto elapsed = [&] { return std::chrono::duration<double>(clock::now() - start).count(); };

    // stack[d] is the world of stack_id[d], the depth-d ancestor of the last
    // state rebuilt; entries 0 .. top are valid.
    std::vector<world> stack{root};
    std::vector<std::uint32_t> stack_id{0};
    std::size_t top = 0;
    std::vector<std::uint32_t> chain;
    auto rebuild = [&](std::uint32_t id, std::size_t depth) -> const world& {
        chain.clear();
        std::size_t k = depth;
        std::uint32_t x = id;
        while (k > top || stack_id[k] != x) {
            chain.push_back(x);
            x = origins[x].parent;
            --k;
        }
        if (stack.size() < depth + 1) {
            stack.resize(depth + 1, root);
            stack_id.resize(depth + 1, 0);
        }
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
            ++k;
            stack[k] = stack[k - 1];
            (void)step(stack[k], action::unpack(origins[*it].action & ~not_expanded));
            stack_id[k] = *it;
        }
        top = depth;
        return stack[depth];
    };

    std::vector<action> actions;
    std::size_t level_begin = 0;
    std::size_t level_end = 1;
    std::uint32_t depth = 0;
    bool stopped = false;
    bool depth_cut = false;
    while (level_begin < level_end && !stopped) {
        if (options_.max_depth && depth >= options_.max_depth) {
            depth_cut = true;
            break;
        }
        for (std::size_t id = level_begin; id < level_end && !stopped; ++id) {
            if (origins[id].action & not_expanded) continue;
            const world& parent = rebuild(static_cast<std::uint32_t>(id), depth);
            enabled_actions(parent, actions);
            ++report.expanded;
            for (const action a : actions) {
                world w = parent;
                outcome out;
                try {
                    out = step(w, a);
                } catch (const replica_assertion& e) {
                    out.bad = violation{violation_kind::assertion,
                                        std::string("PAXOS_ASSERT(") + e.expression + ") at " +
                                            e.file + ":" + std::to_string(e.line),
                                        0,
                                        {}};
                }
                ++report.transitions;
                if (out.bad) {
                    std::vector<std::uint32_t> path = path_to(static_cast<std::uint32_t>(id));
                    path.push_back(a.pack());
                    report.found = std::move(out.bad);
                    report.found->depth = static_cast<std::uint32_t>(path.size());
                    report.found->path = replay(path);
                    stopped = true;
                    break;
                }
                if (out.overflow) {
                    ++report.overflowed;
                    continue;
                }
                if (!visited.insert(world_hash(w))) continue;
                std::uint32_t packed = a.pack();
                if (out.pruned) {
                    ++report.pruned;
                    packed |= not_expanded;
                }
                origins.push_back(origin{static_cast<std::uint32_t>(id), packed});
                report.max_depth = depth + 1;
                if (options_.max_states && origins.size() >= options_.max_states) {
                    stopped = true;
                    break;
                }
            }
            if (options_.max_seconds > 0 && (id & 255) == 0 && elapsed() > options_.max_seconds) {
                stopped = true;
            }
        }
        report.peak_frontier = std::max(report.peak_frontier, origins.size() - level_end);
        level_begin = level_end;
        level_end = origins.size();
        ++depth;
        if (options_.progress) {
            std::fprintf(stderr, "explore: depth %u: %zu states, %zu new, %.1f s\n", depth,
                         origins.size(), level_end - level_begin, elapsed());
        }
    }
    report.states = origins.size();
    report.installs = installs_;
    report.complete = !stopped && !depth_cut;
    // Stopped while expanding level depth - 1: every state up to it was found.
    report.complete_to_depth =
        stopped ? (depth > 0 ? depth - 1 : 0) : (report.complete ? report.max_depth : depth);
    report.seconds = elapsed();
    report.memory_bytes = origins.capacity() * sizeof(origin) + visited.memory_bytes() +
                          stack.capacity() * sizeof(world);
    return report;
}

}  // namespace paxos_model
