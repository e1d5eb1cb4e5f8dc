// tests/jepsen/linearizability.hpp: a linearizability checker for histories of
// read, write and compare-and-set on registers, one register per key.
//
// Test machinery, not a public header: it allocates freely.
//
// A history is what concurrent clients saw: each operation has a client, a key,
// an invoke time, a completion time and an outcome:
//   ok       it took effect once, between invoke and completion, with the
//            result recorded (the value read; whether a cas swapped);
//   fail     it definitely did not take effect (the server refused it);
//   unknown  a timeout or a lost connection: it may have taken effect at any
//            time after invoke, or never. It never completes (completion is
//            +infinity), so it constrains nothing that follows it in real time.
//            Recording such an op as failed would be a checker bug that hides
//            lost or duplicated writes (Jepsen's Redis-Raft report, redisraft#23).
//
// The history is linearizable (Herlihy and Wing 1990) when there is one total
// order of the ok ops and some of the unknown ones that respects real time (an
// op that completed before another was invoked comes first) and that a single
// register explains. Linearizability is local, so each key is checked alone.
//
// The search is Wing and Gong's (1993) with Lowe's memoization (2017): walk the
// invocations and completions in time order; at an invocation, try to take the
// op now (apply it to the model register); at a completion whose op was not
// taken yet, undo the last choice. Lowe's cache of (set of ops taken, register
// value) pairs prunes every state reached before by another order, which is
// what makes histories of thousands of ops tractable. Knossos and Porcupine
// use the same algorithm; this is an independent implementation of the idea.
//
// Unknown ops are the hard part: each stays open to the end of the history
// and may or may not be taken, so k of them can multiply the states by 2^k
// (the usual blow-up of these checkers). Beyond Lowe's memo, the search
// prunes a state dominated by a finished one with fewer unknown ops taken,
// and treats unknown ops with the same effect as one (see key_search); every
// reduction is exact, and a test compares the verdicts with brute force.
// Checking stays NP-complete in general (Gibbons and Korach 1997), hence:
//
// The search has a step budget and a memory budget per key. Exceeding either
// yields verdict::unknown, never a wrong answer. On failure the report names
// the key, the longest linearizable prefix the search found, the op that could
// not be placed after it and why, and the ops that were still open.
//
// Time ties: an invocation at the same time as a completion counts as
// concurrent with it (invocations sort first), so a coarse clock can hide a
// violation but never invent one.
//
// The history file format (write_history, parse_history) is one op per line;
// see write_history for the grammar. A failing history can be saved, read by
// a person, and re-checked.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace jepsen {

// A register's content: nullopt is "no value" (never written, or deleted).
using value = std::optional<std::int64_t>;

enum class op_kind : std::uint8_t { read, write, cas };
enum class outcome : std::uint8_t { ok, fail, unknown };

// The completion time of an op that never completed (outcome::unknown).
inline constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

struct operation {
    std::uint64_t client = 0;
    std::string key;
    op_kind kind = op_kind::read;
    value written;   // write: the value written (nullopt: a delete); cas: the new value
    value expected;  // cas: the value compared with
    outcome result = outcome::ok;
    value observed;                 // read, ok: the value returned
    bool cas_swapped = false;       // cas, ok: true if it swapped, false if it found another value
    std::int64_t invoke = 0;        // any monotonic clock, one for the whole history
    std::int64_t complete = never;  // ignored (taken as never) when the outcome is unknown
};

inline operation make_read(std::uint64_t client, std::string key, std::int64_t invoke,
                           std::int64_t complete, value observed, outcome r = outcome::ok) {
    operation op;
    op.client = client;
    op.key = std::move(key);
    op.kind = op_kind::read;
    op.result = r;
    op.observed = observed;
    op.invoke = invoke;
    op.complete = r == outcome::unknown ? never : complete;
    return op;
}

inline operation make_write(std::uint64_t client, std::string key, std::int64_t invoke,
                            std::int64_t complete, value written, outcome r = outcome::ok) {
    operation op;
    op.client = client;
    op.key = std::move(key);
    op.kind = op_kind::write;
    op.written = written;
    op.result = r;
    op.invoke = invoke;
    op.complete = r == outcome::unknown ? never : complete;
    return op;
}

inline operation make_cas(std::uint64_t client, std::string key, std::int64_t invoke,
                          std::int64_t complete, value expected, value written, bool swapped,
                          outcome r = outcome::ok) {
    operation op;
    op.client = client;
    op.key = std::move(key);
    op.kind = op_kind::cas;
    op.expected = expected;
    op.written = written;
    op.cas_swapped = swapped;
    op.result = r;
    op.invoke = invoke;
    op.complete = r == outcome::unknown ? never : complete;
    return op;
}

inline std::string to_string(const value& v) { return v ? std::to_string(*v) : "nil"; }

inline const char* to_string(outcome o) {
    switch (o) {
        case outcome::ok: return "ok";
        case outcome::fail: return "fail";
        case outcome::unknown: return "unknown";
    }
    return "?";
}

// One line a person reads: "client 2: cas 1 -> 3, ok, swapped (invoke 10, complete 20)".
inline std::string describe(const operation& op) {
    std::string s = "client " + std::to_string(op.client) + ": ";
    switch (op.kind) {
        case op_kind::read: s += "read"; break;
        case op_kind::write: s += "write " + to_string(op.written); break;
        case op_kind::cas:
            s += "cas " + to_string(op.expected) + " -> " + to_string(op.written);
            break;
    }
    s += ", ";
    s += to_string(op.result);
    if (op.result == outcome::ok && op.kind == op_kind::read)
        s += ", got " + to_string(op.observed);
    if (op.result == outcome::ok && op.kind == op_kind::cas)
        s += op.cas_swapped ? ", swapped" : ", unchanged";
    s += " (invoke " + std::to_string(op.invoke) + ", ";
    s += op.result == outcome::unknown ? std::string("never completed)")
                                       : "complete " + std::to_string(op.complete) + ")";
    return s;
}

enum class verdict : std::uint8_t { linearizable, not_linearizable, unknown, malformed };

inline const char* to_string(verdict v) {
    switch (v) {
        case verdict::linearizable: return "linearizable";
        case verdict::not_linearizable: return "NOT linearizable";
        case verdict::unknown: return "unknown (search budget exhausted)";
        case verdict::malformed: return "malformed history";
    }
    return "?";
}

struct check_options {
    // Per key. One step is one invocation tried or one choice undone; a
    // linearizable history of n ops with 5 clients takes a few n steps.
    std::uint64_t steps_max = 20'000'000;
    // Per key: the memo cache's table and stored op sets.
    std::size_t cache_bytes_max = std::size_t{512} << 20;
};

struct key_report {
    std::string key;
    verdict result = verdict::linearizable;
    std::size_t ops_checked = 0;  // ok ops and unknown writes and cas; fails and unknown reads drop
    std::uint64_t steps = 0;
    std::size_t cache_entries = 0;
    // Not linearizable: the longest linearizable prefix found (indices into
    // the history given to check(), in linearization order), the op that could
    // not be placed after it, and the register's value after the prefix.
    std::vector<std::size_t> prefix;
    std::optional<std::size_t> stuck_op;
    value state_after_prefix;
    std::string explanation;  // empty when linearizable
};

struct check_report {
    verdict result = verdict::linearizable;
    std::vector<key_report> keys;  // sorted by key
    std::string explanation;       // malformed: what is wrong; otherwise the failing keys'

    bool linearizable() const { return result == verdict::linearizable; }
    const key_report* first_failure() const {
        for (const auto& k : keys)
            if (k.result == verdict::not_linearizable) return &k;
        return nullptr;
    }
    // "linearizable: 3 keys, 9000 ops, 27000 steps", then each failing key's explanation.
    std::string summary() const;
};

namespace detail {

inline std::uint64_t mix64(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

inline std::uint64_t hash_of(const value& v) {
    return v ? mix64(static_cast<std::uint64_t>(*v) + 0x9E3779B97F4A7C15ull)
             : 0x2545F4914F6CDD1Dull;
}

// The register model. Applies `op` to `state` if the op can take effect
// there with the result it reported; returns false (state untouched) if not.
// An unknown cas that would not swap is refused: taking it would change
// nothing, which is the same as never taking it, so that branch is pruned.
inline bool apply(const operation& op, value& state) {
    switch (op.kind) {
        case op_kind::read: return op.observed == state;
        case op_kind::write: state = op.written; return true;
        case op_kind::cas:
            if (op.result == outcome::ok && !op.cas_swapped) return state != op.expected;
            if (state != op.expected) return false;
            state = op.written;
            return true;
    }
    return false;
}

// Why `op` cannot take effect on `state` (for the report).
inline std::string why_not(const operation& op, const value& state) {
    switch (op.kind) {
        case op_kind::read:
            return "it read " + to_string(op.observed) + " but the register holds " +
                   to_string(state);
        case op_kind::write: return "";
        case op_kind::cas:
            if (op.result == outcome::ok && !op.cas_swapped)
                return "it found a value other than " + to_string(op.expected) +
                       ", but the register holds exactly that";
            return "it expected " + to_string(op.expected) + " but the register holds " +
                   to_string(state);
    }
    return "";
}

// The set of completed ops taken so far, as a bitset with an incremental
// Zobrist hash. Its normal form for the cache skips the leading all-ones
// words and the trailing zero words: the ops taken are mostly a prefix of the
// history plus a few open ones, so a cached set costs a word or two, not n / 64.
class op_set {
public:
    explicit op_set(std::size_t n) : words_((n + 63) / 64, 0), n_(n) {}

    void set(std::size_t i) {
        words_[i / 64] |= bit(i);
        hash_ ^= key(i);
        const std::size_t w = i / 64;
        if (w + 1 > top_) top_ = w + 1;
        while (lead_ < words_.size() && words_[lead_] == full(lead_)) ++lead_;
    }
    void clear(std::size_t i) {
        const std::size_t w = i / 64;
        words_[w] &= ~bit(i);
        hash_ ^= key(i);
        if (w < lead_) lead_ = w;
        while (top_ > 0 && words_[top_ - 1] == 0) --top_;
    }
    std::uint64_t hash() const { return hash_; }
    std::size_t lead() const { return lead_; }
    std::span<const std::uint64_t> tail() const {
        if (top_ <= lead_) return {};
        return std::span<const std::uint64_t>(words_).subspan(lead_, top_ - lead_);
    }
    std::span<const std::uint64_t> words() const { return words_; }

private:
    static std::uint64_t bit(std::size_t i) { return std::uint64_t{1} << (i % 64); }
    static std::uint64_t key(std::size_t i) { return mix64(i * 0x9E3779B97F4A7C15ull + 1); }
    std::uint64_t full(std::size_t w) const {
        const std::size_t bits = std::min<std::size_t>(64, n_ - w * 64);
        return bits == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
    }

    std::vector<std::uint64_t> words_;
    std::size_t n_ = 0;
    std::size_t lead_ = 0;  // words [0, lead_) are full
    std::size_t top_ = 0;   // words [top_, end) are zero
    std::uint64_t hash_ = 0;
};

// Lowe's memo, extended for ops that never completed.
//
// A search state is (C, U, v): the completed ops taken, the unknown ops
// taken, the register's value. Lowe prunes a state seen before. Unknown ops
// stay open to the end of the history, so every subset of them makes a new
// U and plain memoization blows up (2^k states for k open unknown writes).
// But (C, U', v) with U' a subset of U can do everything (C, U, v) can: the
// same completed ops remain, and more unknown ops, which never block anyone
// (they have no completion). So once (C, U', v) has been searched to the end
// without success, (C, U, v) is pruned too. Only finished states prune this
// way; a state still on the search stack prunes only its exact repeats
// (which cannot occur below it: every step takes one more op).
class memo_cache {
public:
    memo_cache(std::size_t unknown_ops, std::size_t bytes_max)
        : unknown_words_((unknown_ops + 63) / 64), bytes_max_(bytes_max) {
        slots_.resize(1024);
    }

    // Enters (C, U, v); returns the id of its record, or nothing if pruned.
    std::optional<std::size_t> enter(const op_set& c, std::span<const std::uint64_t> u,
                                     const value& v) {
        const std::uint64_t h = c.hash() ^ hash_of(v);
        const auto tail = c.tail();
        std::size_t mask = slots_.size() - 1;
        std::size_t i = h & mask;
        for (; slots_[i].used; i = (i + 1) & mask) {
            if (slots_[i].hash == h && same_key(slots_[i], c.lead(), tail, v)) break;
        }
        if (slots_[i].used) {
            for (std::size_t r = slots_[i].records; r != none; r = records_[r].next) {
                const auto stored = unknown_of(r);
                if (std::equal(stored.begin(), stored.end(), u.begin())) return std::nullopt;
                if (records_[r].finished && subset(stored, u)) return std::nullopt;
            }
            return add_record(i, u);
        }
        if ((keys_ + 1) * 2 > slots_.size()) {
            grow();
            mask = slots_.size() - 1;
            i = h & mask;
            while (slots_[i].used) i = (i + 1) & mask;
        }
        slots_[i] =
            slot{h, v.value_or(0), words_.size(), c.lead(), tail.size(), none, true, v.has_value()};
        words_.insert(words_.end(), tail.begin(), tail.end());
        ++keys_;
        return add_record(i, u);
    }
    // The search below a record ended without success.
    void finish(std::size_t record) { records_[record].finished = true; }

    std::size_t entries() const { return records_.size(); }
    std::size_t bytes() const {
        return slots_.capacity() * sizeof(slot) + words_.capacity() * sizeof(std::uint64_t) +
               records_.capacity() * sizeof(record);
    }
    bool over_budget() const { return bytes() > bytes_max_; }

private:
    static constexpr std::size_t none = ~std::size_t{0};

    struct slot {  // one (C, v)
        std::uint64_t hash = 0;
        std::int64_t value = 0;
        std::size_t offset = 0;  // C's tail in words_
        std::size_t lead = 0;
        std::size_t length = 0;
        std::size_t records = none;  // the U seen with this (C, v), a list
        bool used = false;
        bool present = false;
    };
    struct record {              // one U
        std::size_t offset = 0;  // in words_
        std::size_t next = none;
        bool finished = false;
    };

    bool same_key(const slot& s, std::size_t lead, std::span<const std::uint64_t> tail,
                  const value& v) const {
        if (s.present != v.has_value()) return false;
        if (v && s.value != *v) return false;
        if (s.lead != lead || s.length != tail.size()) return false;
        return std::equal(tail.begin(), tail.end(), words_.begin() + std::ptrdiff_t(s.offset));
    }
    std::span<const std::uint64_t> unknown_of(std::size_t r) const {
        return std::span<const std::uint64_t>(words_).subspan(records_[r].offset, unknown_words_);
    }
    static bool subset(std::span<const std::uint64_t> a, std::span<const std::uint64_t> b) {
        for (std::size_t w = 0; w < a.size(); ++w)
            if ((a[w] & ~b[w]) != 0) return false;
        return true;
    }
    std::size_t add_record(std::size_t slot_index, std::span<const std::uint64_t> u) {
        records_.push_back(record{words_.size(), slots_[slot_index].records, false});
        words_.insert(words_.end(), u.begin(), u.end());
        slots_[slot_index].records = records_.size() - 1;
        return records_.size() - 1;
    }
    void grow() {
        std::vector<slot> old(slots_.size() * 2);
        old.swap(slots_);
        const std::size_t mask = slots_.size() - 1;
        for (const slot& s : old) {
            if (!s.used) continue;
            std::size_t i = s.hash & mask;
            while (slots_[i].used) i = (i + 1) & mask;
            slots_[i] = s;
        }
    }

    std::size_t unknown_words_ = 0;
    std::vector<slot> slots_;
    std::vector<std::uint64_t> words_;
    std::vector<record> records_;
    std::size_t keys_ = 0;
    std::size_t bytes_max_ = 0;
};

struct search_result {
    verdict result = verdict::linearizable;
    std::uint64_t steps = 0;
    std::size_t cache_entries = 0;
    std::string budget_note;
    std::vector<std::size_t> prefix;  // local op indices
    std::optional<std::size_t> stuck;
};

// Wing and Gong's search over the ops of one key, with the memo above.
//
// Events (invocations and completions) sort by time. The completed ops live
// in a doubly linked list of their events; taking an op unlinks its two
// events and undoing relinks them (Knuth's dancing links). An op may be taken
// next only if it was invoked before the first completion still in the list.
// Unknown ops sit in a list of their own and are tried after the completed
// ones, so the search prefers states with fewer unknown ops taken, which are
// the ones that prune the others. Three more reductions keep unknown ops from
// multiplying the search (each is exact, not a heuristic):
//  - unknown ops with the same effect (same kind, expected and written value)
//    are interchangeable, and the earliest invoked is available whenever a
//    later one is; so only the first untaken one of each class is tried, and
//    k such ops give k + 1 states instead of 2^k. check() first maps every
//    value no op can observe to one representative, which puts, for example,
//    all unknown writes that nobody read into one class;
//  - an unknown op that leaves the register as it was is never taken: not
//    taking it leaves strictly more choices;
//  - a write is never taken right after an unknown op: the write hides what
//    that op did, so the order without the unknown op reaches the same
//    register with more choices left (and is searched from the same parent).
class key_search {
public:
    key_search(const std::vector<const operation*>& ops, const check_options& options)
        : ops_(ops), options_(options) {
        build_events();
        completed_taken_ = std::make_unique<op_set>(completed_count_);
        unknown_taken_.assign((unknown_.size() + 63) / 64, 0);
        cache_ = std::make_unique<memo_cache>(unknown_.size(), options.cache_bytes_max);
    }

    search_result run() {
        search_result out;
        cursor at = restart();
        while (true) {
            if (open_completed_ == 0) return finish(out, verdict::linearizable);
            if (++out.steps > options_.steps_max) {
                out.budget_note = "step budget of " + std::to_string(options_.steps_max) +
                                  " exhausted (check_options::steps_max)";
                return finish(out, verdict::unknown);
            }
            if (cache_->over_budget()) {
                out.budget_note = "memo cache over " + std::to_string(options_.cache_bytes_max) +
                                  " bytes (check_options::cache_bytes_max)";
                return finish(out, verdict::unknown);
            }
            if (!at.in_unknown) {
                // An open completion always lies ahead of the scan.
                if (at.pos == tail()) throw std::logic_error("linearizability: scan ran off");
                if (!events_[at.pos].is_completion) {
                    at = try_take_completed(at.pos) ? restart() : cursor{false, next_[at.pos], 0};
                    continue;
                }
                at = cursor{true, unext_[unknown_head()], at.pos};  // the first open completion
                continue;
            }
            if (at.pos != unknown_tail() && rank_[at.pos] < at.first_completion) {
                at = try_take_unknown(at.pos, at.first_completion)
                         ? restart()
                         : cursor{true, unext_[at.pos], at.first_completion};
                continue;
            }
            // Nothing open fits before the first open completion: the op
            // that completed there cannot be placed after this prefix.
            note_stuck(out, events_[at.first_completion].op);
            if (stack_.empty()) return finish(out, verdict::not_linearizable);
            at = undo_last();
        }
    }

private:
    struct event {
        std::int64_t time = 0;
        bool is_completion = false;
        std::size_t op = 0;
    };
    // Where the scan is: an event of the completed-op list, or an unknown op
    // (with the rank of the first open completion, which bounds it).
    struct cursor {
        bool in_unknown = false;
        std::size_t pos = 0;
        std::size_t first_completion = 0;
    };
    struct choice {
        cursor at;  // the op taken (a call event, or an unknown op's index)
        value state_before;
        std::size_t record = 0;
    };

    static constexpr std::size_t head() { return 0; }
    std::size_t tail() const { return events_.size() - 1; }
    std::size_t unknown_head() const { return unknown_.size(); }
    std::size_t unknown_tail() const { return unknown_.size() + 1; }
    cursor restart() const { return cursor{false, next_[head()], 0}; }

    void build_events() {
        std::vector<event> ev;
        ev.reserve(ops_.size() * 2);
        for (std::size_t i = 0; i < ops_.size(); ++i) {
            ev.push_back({ops_[i]->invoke, false, i});
            if (ops_[i]->result == outcome::ok) ev.push_back({ops_[i]->complete, true, i});
        }
        // Invocations before completions at equal times: ties count as concurrent.
        std::sort(ev.begin(), ev.end(), [](const event& a, const event& b) {
            if (a.time != b.time) return a.time < b.time;
            if (a.is_completion != b.is_completion) return !a.is_completion;
            return a.op < b.op;
        });
        events_.assign(1, event{});  // head sentinel
        events_.insert(events_.end(), ev.begin(), ev.end());
        events_.push_back(event{});  // tail sentinel
        completion_of_.assign(ops_.size(), 0);
        local_.assign(ops_.size(), 0);
        // The completed-op list links only completed ops' events, in time order.
        next_.assign(events_.size(), tail());
        prev_.assign(events_.size(), head());
        std::size_t last = head();
        for (std::size_t i = 1; i < tail(); ++i) {
            const std::size_t op = events_[i].op;
            if (ops_[op]->result != outcome::ok) {
                local_[op] = unknown_.size();
                unknown_.push_back(op);
                rank_.push_back(i);
                continue;
            }
            if (events_[i].is_completion) {
                completion_of_[op] = i;
                ++open_completed_;
            } else {
                local_[op] = completed_count_++;
            }
            next_[last] = i;
            prev_[i] = last;
            last = i;
        }
        next_[last] = tail();
        prev_[tail()] = last;
        // Classes of interchangeable unknown ops, members in invocation order.
        std::map<std::tuple<op_kind, value, value>, std::size_t> classes;
        for (const std::size_t op : unknown_) {
            const auto key = std::make_tuple(ops_[op]->kind, ops_[op]->expected, ops_[op]->written);
            const auto [it, added] = classes.emplace(key, class_taken_.size());
            if (added) {
                class_taken_.push_back(0);
                class_size_.push_back(0);
            }
            class_of_.push_back(it->second);
            member_.push_back(class_size_[it->second]++);
        }
        // The unknown-op list, in invocation order, with sentinels at the end.
        rank_.push_back(0);
        rank_.push_back(tail());
        unext_.resize(unknown_.size() + 2);
        uprev_.resize(unknown_.size() + 2);
        std::size_t ulast = unknown_head();
        for (std::size_t u = 0; u < unknown_.size(); ++u) {
            unext_[ulast] = u;
            uprev_[u] = ulast;
            ulast = u;
        }
        unext_[ulast] = unknown_tail();
        uprev_[unknown_tail()] = ulast;
    }

    static void unlink(std::vector<std::size_t>& next, std::vector<std::size_t>& prev,
                       std::size_t x) {
        next[prev[x]] = next[x];
        prev[next[x]] = prev[x];
    }
    static void relink(std::vector<std::size_t>& next, std::vector<std::size_t>& prev,
                       std::size_t x) {
        next[prev[x]] = x;
        prev[next[x]] = x;
    }

    // Takes the completed op invoked at event e if the register allows it and
    // the resulting state is not pruned; returns whether it did.
    bool try_take_completed(std::size_t e) {
        const std::size_t op = events_[e].op;
        if (hides_unknown(op)) return false;
        value after = state_;
        if (!apply(*ops_[op], after)) return false;
        completed_taken_->set(local_[op]);
        const auto record = cache_->enter(*completed_taken_, unknown_taken_, after);
        if (!record) {
            completed_taken_->clear(local_[op]);
            return false;
        }
        stack_.push_back({cursor{false, e, 0}, state_, *record});
        state_ = after;
        unlink(next_, prev_, e);
        unlink(next_, prev_, completion_of_[op]);
        --open_completed_;
        return true;
    }

    bool try_take_unknown(std::size_t u, std::size_t first_completion) {
        if (member_[u] != class_taken_[class_of_[u]]) return false;  // an earlier twin is open
        if (hides_unknown(unknown_[u])) return false;
        value after = state_;
        if (!apply(*ops_[unknown_[u]], after)) return false;
        if (after == state_) return false;  // a no-op: not taking it keeps more choices
        unknown_taken_[u / 64] ^= std::uint64_t{1} << (u % 64);
        const auto record = cache_->enter(*completed_taken_, unknown_taken_, after);
        if (!record) {
            unknown_taken_[u / 64] ^= std::uint64_t{1} << (u % 64);
            return false;
        }
        stack_.push_back({cursor{true, u, first_completion}, state_, *record});
        state_ = after;
        unlink(unext_, uprev_, u);
        ++class_taken_[class_of_[u]];
        return true;
    }

    // Whether taking `op` now would only overwrite what the unknown op taken
    // last did.
    bool hides_unknown(std::size_t op) const {
        return ops_[op]->kind == op_kind::write && !stack_.empty() && stack_.back().at.in_unknown;
    }

    // Undoes the last choice; returns where to scan next.
    cursor undo_last() {
        const choice c = stack_.back();
        stack_.pop_back();
        cache_->finish(c.record);
        state_ = c.state_before;
        if (c.at.in_unknown) {
            const std::size_t u = c.at.pos;
            unknown_taken_[u / 64] ^= std::uint64_t{1} << (u % 64);
            relink(unext_, uprev_, u);
            --class_taken_[class_of_[u]];
            return cursor{true, unext_[u], c.at.first_completion};
        }
        const std::size_t op = events_[c.at.pos].op;
        completed_taken_->clear(local_[op]);
        relink(next_, prev_, completion_of_[op]);  // the reverse order of unlinking
        relink(next_, prev_, c.at.pos);
        ++open_completed_;
        return cursor{false, next_[c.at.pos], 0};
    }

    void note_stuck(search_result& out, std::size_t op) {
        if (out.stuck && stack_.size() <= out.prefix.size()) return;
        out.prefix.clear();
        for (const choice& c : stack_)
            out.prefix.push_back(c.at.in_unknown ? unknown_[c.at.pos] : events_[c.at.pos].op);
        out.stuck = op;
    }

    search_result& finish(search_result& out, verdict v) {
        out.result = v;
        out.cache_entries = cache_->entries();
        return out;
    }

    const std::vector<const operation*>& ops_;
    check_options options_;
    std::vector<event> events_;
    std::vector<std::size_t> next_, prev_;    // the completed-op list over events_
    std::vector<std::size_t> completion_of_;  // each completed op's completion event
    std::vector<std::size_t> local_;          // op -> index among completed or unknown ops
    std::size_t completed_count_ = 0;
    std::size_t open_completed_ = 0;
    std::vector<std::size_t> unknown_;            // unknown ops (indices into ops_), by invocation
    std::vector<std::size_t> rank_;               // each unknown op's invocation event
    std::vector<std::size_t> unext_, uprev_;      // the unknown-op list
    std::vector<std::size_t> class_of_, member_;  // per unknown op: its class, its rank there
    std::vector<std::size_t> class_taken_;        // per class: how many are taken (a prefix)
    std::vector<std::size_t> class_size_;
    std::unique_ptr<op_set> completed_taken_;
    std::vector<std::uint64_t> unknown_taken_;
    std::unique_ptr<memo_cache> cache_;
    std::vector<choice> stack_;
    value state_;  // the register starts empty
};

inline void append_op_line(std::string& s, std::size_t index, const operation& op) {
    s += "      [#" + std::to_string(index) + "] " + describe(op) + "\n";
}

// The readable explanation of a failing key.
inline std::string explain(const key_report& r, std::span<const operation> history) {
    constexpr std::size_t shown_max = 10;
    std::string s = "key \"" + r.key + "\": NOT linearizable (" + std::to_string(r.ops_checked) +
                    " ops, " + std::to_string(r.steps) + " search steps)\n";
    s += "  longest linearizable prefix found: " + std::to_string(r.prefix.size()) + " ops";
    if (r.prefix.size() > shown_max) {
        s += "; the last " + std::to_string(shown_max) + ":\n";
    } else {
        s += r.prefix.empty() ? " (none)\n" : ":\n";
    }
    const std::size_t from = r.prefix.size() > shown_max ? r.prefix.size() - shown_max : 0;
    for (std::size_t i = from; i < r.prefix.size(); ++i)
        append_op_line(s, r.prefix[i], history[r.prefix[i]]);
    s += "  after it the register holds " + to_string(r.state_after_prefix) + "\n";
    if (!r.stuck_op) return s;
    const operation& stuck = history[*r.stuck_op];
    s += "  this op completed but cannot be placed next:\n";
    append_op_line(s, *r.stuck_op, stuck);
    value probe = r.state_after_prefix;
    if (!apply(stuck, probe)) {
        s += "    because " + why_not(stuck, r.state_after_prefix) + "\n";
    } else {
        s += "    it can take effect here, but every continuation from there was refused\n";
    }
    // The other ops open at that point: each was also tried first.
    std::vector<bool> in_prefix(history.size(), false);
    for (const std::size_t i : r.prefix) in_prefix[i] = true;
    std::string open;
    std::size_t open_count = 0;
    for (std::size_t i = 0; i < history.size(); ++i) {
        const operation& op = history[i];
        if (i == *r.stuck_op || in_prefix[i] || op.key != r.key) continue;
        if (op.result == outcome::fail) continue;
        if (op.result == outcome::unknown && op.kind == op_kind::read) continue;
        if (op.invoke > stuck.complete) continue;
        if (++open_count <= shown_max) append_op_line(open, i, op);
    }
    if (open_count == 0) {
        s += "  and no other op was open before its completion\n";
    } else {
        s += "  none of the " + std::to_string(open_count) +
             " other ops open before its completion, taken first, makes it fit:\n" + open;
        if (open_count > shown_max) s += "      ...\n";
    }
    return s;
}

// Copies of the ops `ids` of one key, where every value written that no op
// can observe (no read returned it, no cas compared with it) is replaced by
// one representative such value. The register then behaves the same for
// every op, and more search states coincide.
inline std::vector<operation> canonical_values(std::span<const operation> history,
                                               const std::vector<std::size_t>& ids) {
    std::vector<value> observed;
    for (const std::size_t i : ids) {
        const operation& op = history[i];
        if (op.kind == op_kind::read) observed.push_back(op.observed);
        if (op.kind == op_kind::cas) observed.push_back(op.expected);
    }
    std::sort(observed.begin(), observed.end());
    auto seen = [&](const value& v) {
        return std::binary_search(observed.begin(), observed.end(), v);
    };
    std::vector<operation> out;
    out.reserve(ids.size());
    std::optional<value> representative;
    for (const std::size_t i : ids) {
        out.push_back(history[i]);
        operation& op = out.back();
        if (op.kind == op_kind::read || seen(op.written)) continue;
        if (!representative) representative = op.written;
        op.written = *representative;
    }
    return out;
}

inline std::string check_well_formed(std::span<const operation> history) {
    std::map<std::uint64_t, std::vector<std::size_t>> by_client;
    for (std::size_t i = 0; i < history.size(); ++i) {
        const operation& op = history[i];
        if (op.result == outcome::unknown) continue;
        const auto where = [&] { return "op #" + std::to_string(i) + " (" + describe(op) + ")"; };
        if (op.complete == never) return where() + ": completed ops need a completion time";
        if (op.complete < op.invoke) return where() + ": completes before it is invoked";
        by_client[op.client].push_back(i);
    }
    // A client runs one op at a time; overlap means the recorder is wrong.
    for (auto& [client, ids] : by_client) {
        std::sort(ids.begin(), ids.end(), [&](std::size_t a, std::size_t b) {
            return history[a].invoke < history[b].invoke;
        });
        for (std::size_t k = 1; k < ids.size(); ++k) {
            if (history[ids[k]].invoke < history[ids[k - 1]].complete)
                return "client " + std::to_string(client) + " runs op #" + std::to_string(ids[k]) +
                       " before its op #" + std::to_string(ids[k - 1]) + " completed";
        }
    }
    return "";
}

}  // namespace detail

// Checks one history, key by key.
inline check_report check(std::span<const operation> history, const check_options& options = {}) {
    check_report report;
    report.explanation = detail::check_well_formed(history);
    if (!report.explanation.empty()) {
        report.result = verdict::malformed;
        return report;
    }
    std::map<std::string, std::vector<std::size_t>> by_key;
    for (std::size_t i = 0; i < history.size(); ++i) {
        const operation& op = history[i];
        // A failed op did not happen, and an unknown read returned nothing:
        // neither constrains the register.
        if (op.result == outcome::fail) continue;
        if (op.result == outcome::unknown && op.kind == op_kind::read) {
            by_key[op.key];  // the key is still reported
            continue;
        }
        by_key[op.key].push_back(i);
    }
    bool any_unknown = false;
    for (const auto& [key, ids] : by_key) {
        const std::vector<operation> canonical = detail::canonical_values(history, ids);
        std::vector<const operation*> ops;
        ops.reserve(canonical.size());
        for (const operation& op : canonical) ops.push_back(&op);
        detail::key_search search(ops, options);
        const detail::search_result r = search.run();
        key_report k;
        k.key = key;
        k.result = r.result;
        k.ops_checked = ops.size();
        k.steps = r.steps;
        k.cache_entries = r.cache_entries;
        if (r.result == verdict::not_linearizable) {
            for (const std::size_t local : r.prefix) k.prefix.push_back(ids[local]);
            if (r.stuck) k.stuck_op = ids[*r.stuck];
            // Replayed on the real values (the search ran on canonical ones).
            for (const std::size_t i : k.prefix)
                (void)detail::apply(history[i], k.state_after_prefix);
            k.explanation = detail::explain(k, history);
            report.explanation += k.explanation;
            report.result = verdict::not_linearizable;
        } else if (r.result == verdict::unknown) {
            k.explanation = "key \"" + key + "\": unknown: " + r.budget_note + "\n";
            any_unknown = true;
        }
        report.keys.push_back(std::move(k));
    }
    if (report.result != verdict::not_linearizable && any_unknown) {
        report.result = verdict::unknown;
        for (const auto& k : report.keys) report.explanation += k.explanation;
    }
    return report;
}

inline std::string check_report::summary() const {
    if (result == verdict::malformed) return std::string("malformed history: ") + explanation;
    std::size_t ops = 0;
    std::uint64_t steps = 0;
    for (const auto& k : keys) {
        ops += k.ops_checked;
        steps += k.steps;
    }
    std::string s = std::string(to_string(result)) + ": " + std::to_string(keys.size()) +
                    " keys, " + std::to_string(ops) + " ops, " + std::to_string(steps) + " steps\n";
    return s + explanation;
}

// --- the history file format ------------------------------------------------

namespace detail {

// Keys are written percent-encoded where they hold a space, '%', '#' or a
// byte outside printable ASCII, so every key is one token.
inline std::string encode_key(std::string_view key) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string s;
    for (const char ch : key) {
        const auto b = static_cast<unsigned char>(ch);
        if (b <= 0x20 || b >= 0x7F || ch == '%' || ch == '#') {
            s += '%';
            s += hex[b >> 4];
            s += hex[b & 0xF];
        } else {
            s += ch;
        }
    }
    return s.empty() ? "%" : s;  // a lone '%' is the empty key
}

inline std::optional<std::string> decode_key(std::string_view token) {
    if (token == "%") return std::string();
    std::string s;
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] != '%') {
            s += token[i];
            continue;
        }
        if (i + 2 >= token.size()) return std::nullopt;  // '%' needs two hex digits
        unsigned v = 0;
        const auto r = std::from_chars(token.data() + i + 1, token.data() + i + 3, v, 16);
        if (r.ec != std::errc{} || r.ptr != token.data() + i + 3) return std::nullopt;
        s += static_cast<char>(v);
        i += 2;
    }
    return s;
}

inline std::optional<std::int64_t> parse_int(std::string_view t) {
    std::int64_t v = 0;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (r.ec != std::errc{} || r.ptr != t.data() + t.size()) return std::nullopt;
    return v;
}

// A value token: an integer or nil. Outer nullopt: not a value.
inline std::optional<value> parse_value(std::string_view t) {
    if (t == "nil") return value{};
    if (const auto v = parse_int(t)) return value{*v};
    return std::nullopt;
}

inline std::vector<std::string_view> tokens_of(std::string_view line) {
    if (const auto hash = line.find('#'); hash != std::string_view::npos)
        line = line.substr(0, hash);
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
        if (i > start) out.push_back(line.substr(start, i - start));
    }
    return out;
}

}  // namespace detail

inline constexpr std::string_view history_header = "# paxos linearizability history, format 1";

// Writes one op per line, in the order given:
//
//   CLIENT KEY INVOKE COMPLETE OP OUTCOME
//     OP       read | write V | cas OLD NEW     (V, OLD, NEW: an integer or nil)
//     COMPLETE an integer, or - for an unknown outcome
//     OUTCOME  fail | unknown | ok, and after ok: the value a read got, or
//              swapped / unchanged for a cas
//
//   1 x 10 20 write 5 ok
//   2 x 12 30 read ok 5
//   3 x 15 - cas 5 7 unknown
//
// '#' starts a comment; blank lines are ignored.
inline std::string write_history(std::span<const operation> history) {
    std::ostringstream out;
    out << history_header << "\n"
        << "# CLIENT KEY INVOKE COMPLETE OP OUTCOME   (see tests/jepsen/linearizability.hpp)\n";
    for (const operation& op : history) {
        out << op.client << ' ' << detail::encode_key(op.key) << ' ' << op.invoke << ' ';
        if (op.result == outcome::unknown) {
            out << '-';
        } else {
            out << op.complete;
        }
        switch (op.kind) {
            case op_kind::read: out << " read"; break;
            case op_kind::write: out << " write " << to_string(op.written); break;
            case op_kind::cas:
                out << " cas " << to_string(op.expected) << ' ' << to_string(op.written);
                break;
        }
        out << ' ' << to_string(op.result);
        if (op.result == outcome::ok && op.kind == op_kind::read)
            out << ' ' << to_string(op.observed);
        if (op.result == outcome::ok && op.kind == op_kind::cas)
            out << (op.cas_swapped ? " swapped" : " unchanged");
        out << '\n';
    }
    return out.str();
}

struct parse_result {
    std::vector<operation> history;
    std::string error;  // "line N: ..." on failure; history is then empty
    bool ok() const { return error.empty(); }
};

namespace detail {

// Parses the tokens of one op line into `op`; returns an error or "".
inline std::string parse_op(const std::vector<std::string_view>& t, operation& op) {
    if (t.size() < 6) return "expected CLIENT KEY INVOKE COMPLETE OP OUTCOME";
    const auto client = parse_int(t[0]);
    if (!client || *client < 0) return "bad client id '" + std::string(t[0]) + "'";
    op.client = static_cast<std::uint64_t>(*client);
    const auto key = decode_key(t[1]);
    if (!key) return "bad key '" + std::string(t[1]) + "'";
    op.key = *key;
    const auto invoke = parse_int(t[2]);
    if (!invoke) return "bad invoke time '" + std::string(t[2]) + "'";
    op.invoke = *invoke;
    std::optional<std::int64_t> complete;
    if (t[3] != "-") {
        complete = parse_int(t[3]);
        if (!complete) return "bad completion time '" + std::string(t[3]) + "'";
    }
    std::size_t i = 5;
    if (t[4] == "read") {
        op.kind = op_kind::read;
    } else if (t[4] == "write") {
        op.kind = op_kind::write;
        const auto v = parse_value(t[5]);
        if (!v) return "bad value written '" + std::string(t[5]) + "'";
        op.written = *v;
        i = 6;
    } else if (t[4] == "cas") {
        op.kind = op_kind::cas;
        if (t.size() < 8) return "a cas needs OLD NEW and an outcome";
        const auto old = parse_value(t[5]);
        const auto neu = parse_value(t[6]);
        if (!old || !neu)
            return "bad cas values '" + std::string(t[5]) + " " + std::string(t[6]) + "'";
        op.expected = *old;
        op.written = *neu;
        i = 7;
    } else {
        return "unknown op '" + std::string(t[4]) + "' (read, write or cas)";
    }
    if (i >= t.size()) return "missing outcome";
    const std::string_view o = t[i++];
    std::size_t expect_tokens = i;
    if (o == "ok") {
        op.result = outcome::ok;
        if (op.kind != op_kind::write) ++expect_tokens;
        if (t.size() < expect_tokens)
            return "ok needs the result (a read's value, or swapped/unchanged)";
        if (op.kind == op_kind::read) {
            const auto v = parse_value(t[i]);
            if (!v) return "bad value read '" + std::string(t[i]) + "'";
            op.observed = *v;
        } else if (op.kind == op_kind::cas) {
            if (t[i] != "swapped" && t[i] != "unchanged")
                return "a cas ok is 'swapped' or 'unchanged', not '" + std::string(t[i]) + "'";
            op.cas_swapped = t[i] == "swapped";
        }
    } else if (o == "fail") {
        op.result = outcome::fail;
    } else if (o == "unknown") {
        op.result = outcome::unknown;
    } else {
        return "unknown outcome '" + std::string(o) + "' (ok, fail or unknown)";
    }
    if (t.size() != expect_tokens) return "trailing tokens after the outcome";
    if (op.result == outcome::unknown) {
        if (complete) return "an unknown op has completion '-'";
        op.complete = never;
    } else {
        if (!complete) return "a completed op needs a completion time, not '-'";
        op.complete = *complete;
    }
    return "";
}

}  // namespace detail

inline parse_result parse_history(std::string_view text) {
    parse_result out;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        const std::size_t nl = text.find('\n');
        const std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.starts_with("# paxos linearizability history, format ") &&
            line != history_header) {
            out.error = "line " + std::to_string(line_number) +
                        ": unsupported format: " + std::string(line);
            out.history.clear();
            return out;
        }
        const auto t = detail::tokens_of(line);
        if (t.empty()) continue;
        operation op;
        if (std::string e = detail::parse_op(t, op); !e.empty()) {
            out.error = "line " + std::to_string(line_number) + ": " + e;
            out.history.clear();
            return out;
        }
        out.history.push_back(std::move(op));
    }
    return out;
}

// Saves a history to a file; returns "" or the reason it could not.
inline std::string save_history(const std::string& path, std::span<const operation> history) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f) return "cannot open " + path + " for writing";
    const std::string text = write_history(history);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.close();
    if (!f) return "cannot write " + path;
    return "";
}

inline parse_result load_history(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return parse_result{{}, "cannot open " + path};
    std::ostringstream text;
    text << f.rdbuf();
    return parse_history(text.str());
}

}  // namespace jepsen
