// Fuzzing step() and restore(): arbitrary sequences of inputs -- messages,
// ticks, proposals, campaigns, a rival's prepare, restarts from what was
// persisted, and restarts from arbitrary recovered state -- into one replica
// of one of three configurations (Multi-Paxos on 3 nodes, Basic Paxos on 3,
// Flexible Paxos on 5 with Q1 = 4, Q2 = 2 and promises of at most 3 values,
// so a promise comes in up to 8 parts), with its invariants checked from
// outside after every input.
//
// The bytes are a program. Messages are built field by field from them, so
// most are well-formed enough to reach the handlers, and some are not:
// promises carry random votes (slots mostly increasing, value counts that
// mostly add up, chosen ones, parts of any number). A cooperative peer
// answers a candidate with a whole promise of random votes, split into parts
// as the replica splits its own and delivered in any order, sometimes one
// part twice or one never; a rival's prepare above the replica's promise
// makes it send every vote it holds (in parts, for the Flexible config).
// Peers here may say anything: stale, future, duplicated, misaddressed,
// malformed, slots near the top of the range (slot_id::limit and 2^64), and
// chosen announcements that contradict each other (the core must refuse
// those with contradicts_chosen, not assert). A recovery may be anything a
// broken store could hand back: a promise below its votes, votes out of
// order or outside the window, a first slot near or past the limit.
//
// Checked after every input:
//   * the result code is a valid reason;
//   * the promise never goes down, also across restarts from what was persisted;
//   * every vote's ballot is at most the promise;
//   * persist-before-send: each promise, prepare, reject or accept leaving in
//     a batch has a ballot at or below the promise persisted by then, and each
//     accepted is backed by a persisted vote of at least its ballot; a message
//     in send_now is backed by what was durable before the batch, one in
//     send_after_sync by what is durable once the batch is;
//   * each promise the replica sends is well formed: its parts all in the
//     batch, numbered 0..parts-1, each within promise_values_max values, its
//     votes in increasing slots from the first slot asked, below its ballot
//     (without a ballot only if chosen), their value counts adding up to its
//     values;
//   * chosen entries come out in order, without gaps;
//   * a restore() that succeeds restores the highest of the promise and every
//     vote's ballot.
// A violation aborts (the fuzzer reports it); the core's own PAXOS_ASSERTs
// abort likewise, so a run that completes saw zero assertions.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include <paxos/paxos.hpp>
#include <paxos/sim/harness.hpp>

// How far the programs got, so the driver can show (and check) that they
// reach the deep paths and not only the validation at the door.
struct fuzz_step_coverage {
    std::uint64_t inputs = 0;
    std::uint64_t accepted_inputs = 0;  // inputs answered ok
    std::uint64_t leaderships = 0;      // times the replica became leader
    std::uint64_t chosen = 0;           // slots it saw chosen
    std::uint64_t restarts = 0;
    std::uint64_t promises_taken = 0;  // promises with votes answered ok
    std::uint64_t parts_taken = 0;     // parts of multi-part promises answered ok
    std::uint64_t parts_sent = 0;      // parts of multi-part promises the replica sent
};
// One per configuration, in the order of the configs below.
fuzz_step_coverage fuzz_step_seen[3];

namespace {

using multi3 = paxos::multi_paxos<int, 3, 4, 2>;
using basic3 = paxos::basic_paxos<int, 3>;
// Window 8, batch 2, promises of at most 3 values: up to 8 parts.
struct flexible5 : paxos::flexible_paxos<int, 5, 4, 2, 8, 2> {
    static constexpr std::size_t promise_values_max = 3;
};
static_assert(paxos::replica<multi3>::promise_parts_max == 1);
static_assert(paxos::replica<flexible5>::promise_parts_max == 8);

class byte_reader {
public:
    byte_reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    bool empty() const { return at_ >= size_; }
    std::uint8_t next() { return at_ < size_ ? data_[at_++] : 0; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_step: invariant violated: %s\n", what);
    std::abort();
}

// What the driver made durable, as a restart would find it.
template <class Ballot>
struct durable_state {
    Ballot promised{};
    std::map<std::uint64_t, std::pair<Ballot, std::vector<int>>> votes;
};

// One replica of a cluster the fuzzer plays every other node of. Its ready
// batches go through paxos::sim::harness (sim/harness.hpp), the ready loop
// every simulation shares: send_now is checked against what was durable
// before the batch, the batch is persisted (into durable_, the fuzzer's own
// model of the disk, since restart_arbitrary() installs whatever a broken
// store might return), then send_after_sync is checked against it. What the
// replica sends goes nowhere: the fuzzer writes the peers' side itself.
template <class Config>
class fuzz_driver {
    using replica = paxos::replica<Config>;
    using message = typename replica::message_type;
    using report = typename replica::report_type;
    using ballot = typename Config::ballot;
    using record = typename replica::record_type;
    using durable_model = durable_state<ballot>;
    static constexpr std::uint16_t nodes = static_cast<std::uint16_t>(Config::max_nodes);
    static constexpr std::uint64_t ballots = 8 * Config::ballot::max_nodes;
    using harness_type = paxos::sim::harness<Config, fuzz_driver>;
    friend harness_type;

public:
    fuzz_driver(std::uint16_t self, fuzz_step_coverage& seen)
        : self_(self),
          seen_(seen),
          cluster_(*this, nodes, harness_options()),
          r_(cluster_[self].replica) {
        fresh();
    }

    void run(byte_reader& in) {
        while (!in.empty()) {
            const std::uint8_t op = in.next() % 10;
            const bool was_leader = r_->is_leader();
            paxos::result r{};
            switch (op) {
                case 0:
                case 1:
                case 2: r = step(make_message(in)); break;
                case 3: r = r_->tick(); break;
                case 4: r = r_->propose(static_cast<int>(in.next())); break;
                case 5: r = r_->campaign(); break;
                case 6: restart(); break;
                case 7: r = cooperative_answer(in); break;
                case 8: restart_arbitrary(in); break;
                default: r = rival_prepare(in); break;
            }
            ++seen_.inputs;
            if (r.ok()) ++seen_.accepted_inputs;
            check_code(r);
            drain();
            if (!was_leader && r_->is_leader()) ++seen_.leaderships;
        }
    }

private:
    static void check_code(paxos::result r) {
        if (static_cast<std::uint8_t>(r.code) >
            static_cast<std::uint8_t>(paxos::reason::lease_held)) {
            fail("result code out of range");
        }
    }

    paxos::result step(const message& m) {
        const paxos::result r = r_->step(m);
        if (r.ok() && m.kind == paxos::message_kind::promise) {
            if (!m.votes.empty()) ++seen_.promises_taken;
            if (m.parts > 1) ++seen_.parts_taken;
        }
        return r;
    }

    // A rival candidate's prepare, above every ballot the replica has
    // promised, from its own first slot (at or a little below the
    // replica's): the replica answers with every vote it holds from there,
    // in parts when they hold more than promise_values_max values.
    paxos::result rival_prepare(byte_reader& in) {
        const auto peer = static_cast<std::uint16_t>((self_ + 1 + in.next() % (nodes - 1)) % nodes);
        const auto b = ballot::next_above(r_->promised(), paxos::node_id{peer});
        if (!b) return {};
        message m{};
        m.kind = paxos::message_kind::prepare;
        m.from = paxos::node_id{peer};
        m.to = in.next() % 2 == 0 ? paxos::node_id{self_} : paxos::node_id::broadcast();
        m.ballot = *b;
        const std::uint64_t here = r_->chosen_end().value;
        m.slot = paxos::slot_id{here - std::min<std::uint64_t>(here, in.next() % 4)};
        m.chosen_end = m.slot;
        return step(m);
    }

    // A peer that answers the replica's own ballot correctly, so programs
    // get past Phase 1 and into Phase 2 and choice often enough. A candidate
    // gets a whole promise: random votes from its first slot on, below its
    // ballot, split greedily into parts of at most promise_values_max values
    // as the replica splits its own, delivered rotated or reversed, sometimes
    // one part twice or one never (then the peer must not count).
    paxos::result cooperative_answer(byte_reader& in) {
        const auto peer = static_cast<std::uint16_t>((self_ + 1 + in.next() % (nodes - 1)) % nodes);
        if (r_->current_role() != paxos::role::candidate) {
            message m{};
            m.from = paxos::node_id{peer};
            m.to = paxos::node_id{self_};
            m.ballot = r_->ballot();
            m.kind = paxos::message_kind::accepted;
            m.slot = paxos::slot_id{r_->chosen_end().value + in.next() % 3};
            return step(m);
        }
        const std::uint64_t from = r_->chosen_end().value;
        const ballot own = r_->ballot();
        std::vector<report> votes;
        std::vector<int> values;
        const std::size_t count = in.next() % (Config::window_slots + 1);
        for (std::uint64_t slot = from; votes.size() < count; ++slot) {
            if (in.next() % 4 == 0) ++slot;  // a slot without a vote
            if (slot >= from + Config::window_slots || slot >= paxos::slot_id::limit) break;
            report v{};
            v.slot = paxos::slot_id{slot};
            v.ballot = ballot::from_raw(in.next() % own.raw());
            v.chosen = in.next() % 8 == 0 || v.ballot.is_zero();
            v.value_count = in.next() % (Config::batch_values_max + 1);
            for (std::uint32_t i = 0; i < v.value_count; ++i) values.push_back(in.next() % 4);
            votes.push_back(v);
        }
        // Each part views a run of the votes and their values.
        std::vector<message> parts;
        std::size_t first_vote = 0;
        std::size_t first_value = 0;
        std::size_t part_values = 0;
        const auto close = [&](std::size_t end_vote) {
            message m{};
            m.kind = paxos::message_kind::promise;
            m.from = paxos::node_id{peer};
            m.to = paxos::node_id{self_};
            m.ballot = own;
            m.slot = parts.empty() ? paxos::slot_id{from} : votes[first_vote].slot;
            m.votes = std::span<const report>(votes).subspan(first_vote, end_vote - first_vote);
            m.values = std::span<const int>(values).subspan(first_value, part_values);
            parts.push_back(m);
            first_vote = end_vote;
            first_value += part_values;
            part_values = 0;
        };
        for (std::size_t i = 0; i < votes.size(); ++i) {
            if (part_values + votes[i].value_count > replica::promise_values_max) close(i);
            part_values += votes[i].value_count;
        }
        close(votes.size());
        if (parts.size() > replica::promise_parts_max) fail("the test split a promise too finely");
        for (std::size_t i = 0; i < parts.size(); ++i) {
            parts[i].part = static_cast<std::uint8_t>(i);
            parts[i].parts = static_cast<std::uint8_t>(parts.size());
        }
        std::rotate(parts.begin(),
                    parts.begin() + static_cast<std::ptrdiff_t>(in.next() % parts.size()),
                    parts.end());
        if (in.next() % 2 == 0) std::reverse(parts.begin(), parts.end());
        const std::uint8_t twist = in.next() % 8;
        if (twist == 0) parts.push_back(parts.front());        // a duplicate
        if (twist == 1 && parts.size() > 1) parts.pop_back();  // a part lost
        paxos::result r{};
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (i > 0) drain();
            r = step(parts[i]);
            check_code(r);
        }
        return r;
    }

    void fresh() { r_ = make_replica(7); }

    std::unique_ptr<replica> make_replica(std::uint64_t seed) const {
        typename replica::options o{};
        o.self = paxos::node_id{self_};
        o.seed = seed;
        return std::make_unique<replica>(o);
    }

    // A slot near the replica's own position, a small absolute one, or one
    // near the top of the range (the limit, and the wrap at 2^64).
    paxos::slot_id draw_slot(byte_reader& in) const {
        const std::uint8_t mode = in.next() % 8;
        const std::uint64_t x = in.next();
        const std::uint64_t here = r_->chosen_end().value;
        if (mode < 5) return paxos::slot_id{here - std::min<std::uint64_t>(here, 2) + x % 8};
        if (mode < 7) return paxos::slot_id{x % 12};
        if (x % 2 == 0) return paxos::slot_id{paxos::slot_id::limit - 3 + x % 6};
        return paxos::slot_id{~std::uint64_t{0} - x % 3};
    }

    // Storage for the body of the message make_message() builds: a view.
    std::vector<int> body_values_;
    std::vector<report> body_votes_;

    message make_message(byte_reader& in) {
        message m{};
        // Mostly valid kinds, `chosen` and `promise` included.
        m.kind = static_cast<paxos::message_kind>(in.next() % (paxos::message_kind_count + 2));
        m.from = paxos::node_id{static_cast<std::uint16_t>(in.next() % (nodes + 1))};
        const std::uint8_t to = in.next() % (nodes + 1);
        m.to = to == nodes ? paxos::node_id::broadcast() : paxos::node_id{to};
        m.ballot = ballot::from_raw(in.next() % ballots);
        m.slot = draw_slot(in);
        m.chosen_end = draw_slot(in);
        const bool valid_kind = paxos::is_message_kind(static_cast<std::uint8_t>(m.kind));
        const paxos::message_kind_info* kind = valid_kind ? &paxos::info(m.kind) : nullptr;
        // Fields the kind does not have stay default, but for a few
        // messages (which step() must refuse as malformed).
        const bool stray = in.next() % 16 == 0;
        if ((kind != nullptr && kind->accepted_ballot) || stray) {
            m.accepted_ballot = ballot::from_raw(in.next() % ballots);
            // A leader's chosen notice names its own ballot, or it is malformed.
            if (m.kind == paxos::message_kind::chosen && in.next() % 2 == 0) {
                m.accepted_ballot = m.ballot;
            }
        }
        body_values_.clear();
        body_votes_.clear();
        if ((kind != nullptr && kind->has_votes) || stray) {
            // Parts: mostly one; sometimes several, a part past the last, or none.
            const std::uint8_t p = in.next();
            m.parts = static_cast<std::uint8_t>(p % 4 == 0 ? p / 4 % 10 : 1);
            m.part = static_cast<std::uint8_t>(in.next() % (m.parts + 1));
            if (m.part == m.parts && in.next() % 2 == 0) m.part = 0;
            const std::size_t votes = in.next() % (Config::window_slots + 2);
            std::uint64_t slot = m.slot.value;
            for (std::size_t i = 0; i < votes; ++i) {
                report v{};
                // Mostly increasing from the first slot asked, sometimes anywhere.
                const std::uint8_t step_by = in.next() % 8;
                slot = step_by == 0 ? draw_slot(in).value : slot + (i == 0 ? 0 : 1) + step_by % 2;
                v.slot = paxos::slot_id{slot};
                v.ballot = ballot::from_raw(in.next() % ballots);
                v.chosen = in.next() % 4 == 0;
                v.value_count = in.next() % (Config::batch_values_max + 2);
                for (std::uint32_t k = 0; k < v.value_count; ++k) {
                    body_values_.push_back(in.next() % 4);
                }
                body_votes_.push_back(v);
            }
            // Value counts that do not add up, now and then.
            const std::uint8_t skew = in.next() % 16;
            if (skew == 0) body_values_.push_back(0);
            if (skew == 1 && !body_values_.empty()) body_values_.pop_back();
        } else if ((kind != nullptr && kind->has_values) || in.next() % 16 == 0) {
            // Few distinct values, so two announcements for a slot often agree
            // and sometimes contradict.
            const std::size_t values = in.next() % (Config::batch_values_max + 1);
            for (std::size_t i = 0; i < values; ++i) body_values_.push_back(in.next() % 4);
        }
        m.values = body_values_;
        m.votes = body_votes_;
        return m;
    }

    // A restart from whatever a broken store might return. restore() must
    // refuse what it cannot trust (and the old process goes on) or take it,
    // with the promise at least every vote's ballot; from then on the
    // driver's durable state is what was restored.
    void restart_arbitrary(byte_reader& in) {
        std::uint64_t first = 0;
        switch (in.next() % 4) {
            case 0: first = applied_; break;
            case 1: first = paxos::slot_id::limit - in.next() % 4; break;
            case 2: first = ~std::uint64_t{0} - in.next() % 4; break;
            default: first = in.next() % 16; break;
        }
        std::vector<std::vector<int>> values(in.next() % 5);
        std::vector<record> records;
        for (auto& v : values) {
            record rec{};
            rec.slot = paxos::slot_id{first + in.next() % (Config::window_slots + 2)};
            if (in.next() % 8 == 0) rec.slot = paxos::slot_id{in.next()};  // below, anywhere
            rec.ballot = ballot::from_raw(in.next() % ballots);
            v.resize(in.next() % (Config::batch_values_max + 2));
            for (int& x : v) x = in.next() % 4;
            rec.values = std::span<const int>(v);
            records.push_back(rec);
        }
        typename replica::recovery rec{};
        rec.promised = ballot::from_raw(in.next() % ballots);
        rec.first_unapplied = paxos::slot_id{first};
        rec.accepted = records;
        auto next = make_replica(13);
        if (!next->restore(rec).ok()) return;
        ballot expected = rec.promised;
        for (const record& r : records) expected = std::max(expected, r.ballot);
        if (!(next->promised() == expected)) fail("restore lost a vote's promise");
        r_ = std::move(next);
        durable_ = durable_model{};
        durable_.promised = expected;
        for (const record& r : records) {
            if (r.slot.value < first) continue;
            durable_.votes[r.slot.value] = {r.ballot,
                                            std::vector<int>(r.values.begin(), r.values.end())};
        }
        applied_ = first;
        ++seen_.restarts;
    }

    // A crash and a restart from what was persisted. A refused restore() is
    // the replica saying "do not start me on this"; the driver then keeps
    // the old process, so the program goes on.
    void restart() {
        std::vector<record> records;
        for (const auto& [slot, vote] : durable_.votes) {
            records.push_back(
                {paxos::slot_id{slot}, vote.first, std::span<const int>(vote.second)});
        }
        typename replica::recovery rec{};
        rec.promised = durable_.promised;
        rec.first_unapplied = paxos::slot_id{applied_};
        rec.accepted = records;
        auto next = make_replica(11);
        if (next->restore(rec).ok()) {
            r_ = std::move(next);
            ++seen_.restarts;
        }
    }

    void drain() { cluster_.drain(self_); }

    static paxos::sim::harness_options harness_options() {
        paxos::sim::harness_options o{};
        o.persist = false;  // durable_ is the disk
        o.instant_sync = true;
        return o;
    }

    // ---- the harness's driver hooks (sim/harness.hpp) ------------------------------

    // Every message leaving, send_now before the batch is persisted and
    // send_after_sync after: each vouches only for what is durable by then.
    void before_send(std::size_t, const message& m) const { check_backed(m); }

    // Persist, as a driver must, before the rest leaves.
    void durable(std::size_t, const typename replica::ready_type& rd) {
        if (rd.promised_changed) {
            if (rd.promised < durable_.promised) fail("the promise went down");
            durable_.promised = rd.promised;
        }
        for (const auto& v : rd.accepted) {
            if (durable_.promised < v.ballot) fail("a vote above the persisted promise");
            durable_.votes[v.slot.value] = {v.ballot,
                                            std::vector<int>(v.values.begin(), v.values.end())};
        }
        check_promises(rd.send_now);
        check_promises(rd.send_after_sync);
    }

    void apply(std::size_t, const paxos::chosen_entry<int>& c) {
        if (c.slot.value != applied_) fail("chosen entries out of order");
        ++applied_;
        ++seen_.chosen;
    }

    // After each drain: the live state against the persisted one.
    void drained(std::size_t) {
        if (r_->promised() < durable_.promised) fail("the live promise is below the persisted one");
        for (std::uint64_t s = applied_; s < applied_ + Config::window_slots; ++s) {
            const auto v = r_->vote(paxos::slot_id{s});
            if (v && r_->promised() < v->first) fail("a vote above the promise");
        }
    }

    void transmit(std::size_t, std::size_t, const typename replica::message_buffer&) {}
    void serve_catch_up(std::size_t, const paxos::catch_up_request&) {}
    paxos::sim::time_us sync_done_at(std::size_t) { return 0; }
    void storage_failed(std::size_t) {}
    void replayed(std::size_t, const typename replica::message_buffer&) {}

    // The promises of one batch: each well formed, and each split promise
    // whole (every part, once).
    void check_promises(std::span<const message> sent) {
        std::map<std::pair<std::uint16_t, std::uint64_t>, std::uint64_t> parts_seen;
        std::map<std::pair<std::uint16_t, std::uint64_t>, std::uint8_t> parts_expected;
        for (const message& m : sent) {
            if (m.kind != paxos::message_kind::promise) {
                if (!m.votes.empty() || m.part != 0 || m.parts != 1) {
                    fail("votes outside a promise");
                }
                continue;
            }
            if (m.parts == 0 || m.part >= m.parts || m.parts > replica::promise_parts_max) {
                fail("a promise part out of range");
            }
            if (m.values.size() > replica::promise_values_max) fail("a promise part too large");
            std::size_t values = 0;
            paxos::slot_id after = m.slot;
            for (const report& v : m.votes) {
                if (v.slot < after) fail("a promise's votes out of slot order");
                after = v.slot.next();
                // What the receiver's step() checks: a vote below the
                // promise, and without a ballot only if reported chosen.
                if (!v.ballot.is_zero() && !(v.ballot < m.ballot)) {
                    fail("a reported vote not below its promise");
                }
                if (v.ballot.is_zero() && !v.chosen) fail("a reported vote without a ballot");
                if (v.value_count > Config::batch_values_max) fail("a reported vote above a batch");
                values += v.value_count;
            }
            if (values != m.values.size()) fail("a promise's value counts do not add up");
            const auto key = std::make_pair(m.to.value, m.ballot.raw());
            if (parts_expected.count(key) != 0 && parts_expected[key] != m.parts) {
                fail("the parts of a promise disagree on their number");
            }
            parts_expected[key] = m.parts;
            const std::uint64_t bit = std::uint64_t{1} << m.part;
            if ((parts_seen[key] & bit) != 0) fail("a promise part sent twice");
            parts_seen[key] |= bit;
            if (m.parts > 1) ++seen_.parts_sent;
        }
        for (const auto& [key, seen] : parts_seen) {
            const std::uint8_t want = parts_expected[key];
            const std::uint64_t all =
                want >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << want) - 1;
            if (seen != all) fail("a promise's parts not all in one batch");
        }
    }

    void check_backed(const message& m) const {
        const auto it = durable_.votes.find(m.slot.value);
        const ballot vote = it == durable_.votes.end() ? ballot{} : it->second.first;
        if (!paxos::backed_by(m, durable_.promised, vote)) {
            fail(paxos::backing_of(m.kind) == paxos::durable_backing::vote
                     ? "sent accepted before its vote was persisted"
                     : "sent a ballot above the persisted promise");
        }
    }

    std::uint16_t self_;
    fuzz_step_coverage& seen_;
    harness_type cluster_;
    // The replica under test: the harness's node `self_` (the harness never
    // resizes its nodes, so the reference stays valid).
    std::unique_ptr<replica>& r_;
    durable_model durable_;
    std::uint64_t applied_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    byte_reader in(data, size);
    const std::uint8_t head = in.next();
    const auto self = static_cast<std::uint16_t>(head / 3);
    switch (head % 3) {
        case 0: fuzz_driver<multi3>(self % 3, fuzz_step_seen[0]).run(in); break;
        case 1: fuzz_driver<basic3>(self % 3, fuzz_step_seen[1]).run(in); break;
        default: fuzz_driver<flexible5>(self % 5, fuzz_step_seen[2]).run(in); break;
    }
    return 0;
}
