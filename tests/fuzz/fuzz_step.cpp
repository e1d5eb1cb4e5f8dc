// Fuzzing step() and restore(): arbitrary sequences of inputs -- messages,
// ticks, proposals, campaigns, restarts from what was persisted, and restarts
// from arbitrary recovered state -- into one replica of one of three
// configurations (Multi-Paxos on 3 nodes, Basic Paxos on 3, Flexible Paxos on
// 5 with Q1 = 4, Q2 = 2), with its invariants checked from outside after every
// input.
//
// The bytes are a program. Messages are built field by field from them, so
// most are well-formed enough to reach the handlers, and some are not. Peers
// here may say anything: stale, future, duplicated, misaddressed, malformed,
// slots near the top of the range (slot_id::limit and 2^64), and chosen
// announcements that contradict each other (the core must refuse those with
// contradicts_chosen, not assert). A recovery may be anything a broken store
// could hand back: a promise below its votes, votes out of order or outside
// the window, a first slot near or past the limit.
//
// Checked after every input:
//   * the result code is a valid reason;
//   * the promise never goes down, also across restarts from what was persisted;
//   * every vote's ballot is at most the promise;
//   * persist-before-send: each promise, promise_entry, prepare or accept
//     leaving in a batch has a ballot at or below the promise persisted by then,
//     and each accepted is backed by a persisted vote of at least its ballot;
//   * chosen entries come out in order, without gaps;
//   * a restore() that succeeds restores the highest of the promise and every
//     vote's ballot.
// A violation aborts (the fuzzer reports it); the core's own PAXOS_ASSERTs
// abort likewise, so a run that completes saw zero assertions.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

#include <paxos/paxos.hpp>

// How far the programs got, so the driver can show (and check) that they
// reach the deep paths and not only the validation at the door.
struct fuzz_step_coverage {
    std::uint64_t inputs = 0;
    std::uint64_t accepted_inputs = 0;  // inputs answered ok
    std::uint64_t leaderships = 0;      // times the replica became leader
    std::uint64_t chosen = 0;           // slots it saw chosen
    std::uint64_t restarts = 0;
};
// One per configuration, in the order of the configs below.
fuzz_step_coverage fuzz_step_seen[3];

namespace {

using multi3 = paxos::multi_paxos<int, 3, 4, 2>;
using basic3 = paxos::basic_paxos<int, 3>;
using flexible5 = paxos::flexible_paxos<int, 5, 4, 2, 8, 2>;

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

template <class Config>
class harness {
    using replica = paxos::replica<Config>;
    using message = typename replica::message_type;
    using ballot = typename Config::ballot;
    using record = typename replica::record_type;
    using durable = durable_state<ballot>;
    static constexpr std::uint16_t nodes = static_cast<std::uint16_t>(Config::max_nodes);
    static constexpr std::uint64_t ballots = 8 * Config::ballot::max_nodes;

public:
    harness(std::uint16_t self, fuzz_step_coverage& seen) : self_(self), seen_(seen) { fresh(); }

    void run(byte_reader& in) {
        while (!in.empty()) {
            const std::uint8_t op = in.next() % 10;
            const bool was_leader = r_->is_leader();
            paxos::result r{};
            switch (op) {
                case 0:
                case 1:
                case 2: r = r_->step(make_message(in)); break;
                case 3: r = r_->tick(); break;
                case 4: r = r_->propose(static_cast<int>(in.next())); break;
                case 5: r = r_->campaign(); break;
                case 6: restart(); break;
                case 7: r = r_->step(cooperative_answer(in)); break;
                case 8: restart_arbitrary(in); break;
                default: break;  // only drain
            }
            ++seen_.inputs;
            if (r.ok()) ++seen_.accepted_inputs;
            const auto code = static_cast<std::uint8_t>(r.code);
            if (code > static_cast<std::uint8_t>(paxos::reason::bad_recovery)) {
                fail("result code out of range");
            }
            drain();
            if (!was_leader && r_->is_leader()) ++seen_.leaderships;
        }
    }

private:
    // A peer that answers the replica's own ballot correctly, so programs
    // get past Phase 1 and into Phase 2 and choice often enough.
    message cooperative_answer(byte_reader& in) {
        message m{};
        const auto peer = static_cast<std::uint16_t>((self_ + 1 + in.next() % (nodes - 1)) % nodes);
        m.from = paxos::node_id{peer};
        m.to = paxos::node_id{self_};
        m.ballot = r_->ballot();
        if (r_->current_role() == paxos::role::candidate) {
            m.kind = paxos::message_kind::promise;
            m.slot = r_->chosen_end();
            m.count = 0;
        } else {
            m.kind = paxos::message_kind::accepted;
            m.slot = paxos::slot_id{r_->chosen_end().value + in.next() % 3};
        }
        return m;
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

    message make_message(byte_reader& in) {
        message m{};
        // Mostly valid kinds, `chosen` included.
        m.kind = static_cast<paxos::message_kind>(in.next() % 11);
        m.from = paxos::node_id{static_cast<std::uint16_t>(in.next() % (nodes + 1))};
        const std::uint8_t to = in.next() % (nodes + 1);
        m.to = to == nodes ? paxos::node_id::broadcast() : paxos::node_id{to};
        m.ballot = ballot::from_raw(in.next() % ballots);
        m.slot = draw_slot(in);
        m.chosen_end = draw_slot(in);
        m.accepted_ballot = ballot::from_raw(in.next() % ballots);
        // A leader's chosen notice names its own ballot, or it is malformed.
        if (m.kind == paxos::message_kind::chosen && in.next() % 2 == 0) {
            m.accepted_ballot = m.ballot;
        }
        m.count = in.next() % 6;
        m.is_chosen = in.next() % 4 == 0;
        const std::size_t values = in.next() % (Config::batch_values_max + 1);
        // Few distinct values, so two announcements for a slot often agree
        // and sometimes contradict.
        for (std::size_t i = 0; i < values; ++i) m.values.push_back(in.next() % 4);
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
        durable_ = durable{};
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

    void drain() {
        while (r_->has_ready()) {
            const auto& rd = r_->ready();
            // Persist first, as a driver must.
            if (rd.promised_changed) {
                if (rd.promised < durable_.promised) fail("the promise went down");
                durable_.promised = rd.promised;
            }
            for (const auto& v : rd.accepted) {
                if (durable_.promised < v.ballot) fail("a vote above the persisted promise");
                durable_.votes[v.slot.value] = {v.ballot,
                                                std::vector<int>(v.values.begin(), v.values.end())};
            }
            for (const message& m : rd.messages) check_backed(m);
            for (const auto& c : rd.chosen) {
                if (c.slot.value != applied_) fail("chosen entries out of order");
                ++applied_;
                ++seen_.chosen;
            }
            r_->advance(rd);
        }
        if (r_->promised() < durable_.promised) fail("the live promise is below the persisted one");
        for (std::uint64_t s = applied_; s < applied_ + Config::window_slots; ++s) {
            const auto v = r_->vote(paxos::slot_id{s});
            if (v && r_->promised() < v->first) fail("a vote above the promise");
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
    std::unique_ptr<replica> r_;
    durable durable_;
    std::uint64_t applied_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    byte_reader in(data, size);
    const std::uint8_t head = in.next();
    const auto self = static_cast<std::uint16_t>(head / 3);
    switch (head % 3) {
        case 0: harness<multi3>(self % 3, fuzz_step_seen[0]).run(in); break;
        case 1: harness<basic3>(self % 3, fuzz_step_seen[1]).run(in); break;
        default: harness<flexible5>(self % 5, fuzz_step_seen[2]).run(in); break;
    }
    return 0;
}
