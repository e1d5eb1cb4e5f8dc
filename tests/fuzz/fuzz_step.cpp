// Fuzzing step(): arbitrary sequences of inputs -- messages, ticks, proposals,
// campaigns, restarts -- into one replica, with its invariants checked from
// outside after every input.
//
// The bytes are a program. Messages are built field by field from them, so
// most are well-formed enough to reach the handlers, and some are not. Peers
// here may say anything except announce a chosen value (the crash-fault model:
// a replica trusts what peers report as chosen, and two different
// announcements for one slot would be a Byzantine peer, which the core
// asserts against). Everything else is fair: stale, future, duplicated,
// misaddressed, malformed.
//
// Checked after every input:
//   * the result code is a valid reason;
//   * the promise never goes down, also across restarts from what was persisted;
//   * every vote's ballot is at most the promise;
//   * persist-before-send: each promise, promise_entry, prepare or accept
//     leaving in a batch has a ballot at or below the promise persisted by then,
//     and each accepted is backed by a persisted vote of at least its ballot;
//   * chosen entries come out in order, without gaps.
// A violation aborts (the fuzzer reports it); the core's own PAXOS_ASSERTs
// abort likewise.
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
fuzz_step_coverage fuzz_step_seen;

namespace {

using config = paxos::multi_paxos<int, 3, 4, 2>;
using replica = paxos::replica<config>;
using message = replica::message_type;
using ballot = config::ballot;

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
struct durable {
    ballot promised{};
    std::map<std::uint64_t, std::pair<ballot, std::vector<int>>> votes;
};

class harness {
public:
    explicit harness(std::uint16_t self) : self_(self) { fresh(); }

    void run(byte_reader& in) {
        while (!in.empty()) {
            const std::uint8_t op = in.next() % 9;
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
                default: break;  // only drain
            }
            ++fuzz_step_seen.inputs;
            if (r.ok()) ++fuzz_step_seen.accepted_inputs;
            const auto code = static_cast<std::uint8_t>(r.code);
            if (code > static_cast<std::uint8_t>(paxos::reason::ignored)) {
                fail("result code out of range");
            }
            drain();
            if (!was_leader && r_->is_leader()) ++fuzz_step_seen.leaderships;
        }
    }

private:
    // A peer that answers the replica's own ballot correctly, so programs
    // get past Phase 1 and into Phase 2 and choice often enough.
    message cooperative_answer(byte_reader& in) {
        message m{};
        const auto peer = static_cast<std::uint16_t>((self_ + 1 + in.next() % 2) % 3);
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

    void fresh() {
        replica::options o{};
        o.self = paxos::node_id{self_};
        o.seed = 7;
        r_ = std::make_unique<replica>(o);
    }

    message make_message(byte_reader& in) {
        message m{};
        const std::uint8_t kind = in.next();
        // Mostly valid kinds, never `chosen` (see the header comment).
        std::uint8_t k = static_cast<std::uint8_t>(kind % 11);
        if (k == static_cast<std::uint8_t>(paxos::message_kind::chosen)) k = 0;
        m.kind = static_cast<paxos::message_kind>(k);
        m.from = paxos::node_id{static_cast<std::uint16_t>(in.next() % 4)};
        const std::uint8_t to = in.next() % 4;
        m.to = to == 3 ? paxos::node_id::broadcast() : paxos::node_id{to};
        m.ballot = ballot::from_raw(in.next() % 24);
        m.slot = paxos::slot_id{static_cast<std::uint64_t>(in.next() % 12)};
        m.chosen_end = paxos::slot_id{static_cast<std::uint64_t>(in.next() % 12)};
        m.accepted_ballot = ballot::from_raw(in.next() % 24);
        m.count = in.next() % 6;
        m.is_chosen = false;
        const std::size_t values = in.next() % (config::batch_values_max + 1);
        for (std::size_t i = 0; i < values; ++i) m.values.push_back(in.next());
        return m;
    }

    // A crash and a restart from what was persisted. A refused restore() is
    // the replica saying "do not start me on this"; the driver then keeps
    // the old process, so the program goes on.
    void restart() {
        std::vector<replica::record_type> records;
        for (const auto& [slot, vote] : durable_.votes) {
            records.push_back(
                {paxos::slot_id{slot}, vote.first, std::span<const int>(vote.second)});
        }
        replica::recovery rec{};
        rec.promised = durable_.promised;
        rec.first_unapplied = paxos::slot_id{applied_};
        rec.accepted = records;
        replica::options o{};
        o.self = paxos::node_id{self_};
        o.seed = 11;
        auto next = std::make_unique<replica>(o);
        if (next->restore(rec).ok()) {
            r_ = std::move(next);
            ++fuzz_step_seen.restarts;
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
                ++fuzz_step_seen.chosen;
            }
            r_->advance(rd);
        }
        if (r_->promised() < durable_.promised) fail("the live promise is below the persisted one");
        for (std::uint64_t s = applied_; s < applied_ + config::window_slots; ++s) {
            const auto v = r_->vote(paxos::slot_id{s});
            if (v && r_->promised() < v->first) fail("a vote above the promise");
        }
    }

    void check_backed(const message& m) const {
        switch (m.kind) {
            case paxos::message_kind::promise:
            case paxos::message_kind::promise_entry:
            case paxos::message_kind::prepare:
            case paxos::message_kind::accept:
                if (durable_.promised < m.ballot) {
                    fail("sent a ballot above the persisted promise");
                }
                break;
            case paxos::message_kind::accepted: {
                const auto it = durable_.votes.find(m.slot.value);
                if (it == durable_.votes.end() || it->second.first < m.ballot) {
                    fail("sent accepted before its vote was persisted");
                }
                break;
            }
            default: break;
        }
    }

    std::uint16_t self_;
    std::unique_ptr<replica> r_;
    durable durable_;
    std::uint64_t applied_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    byte_reader in(data, size);
    harness h(static_cast<std::uint16_t>(in.next() % 3));
    h.run(in);
    return 0;
}
