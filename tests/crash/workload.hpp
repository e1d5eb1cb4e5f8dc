// tests/crash/workload.hpp: a recorded workload for the write-ahead log and
// the visitor that collects what recovery hands back.
//
// The workload drives posix_wal directly with ready batches built by hand
// (no replica), so every record is known and unique: a vote is identified by
// (slot, ballot) and its values are a function of both; a chosen entry by
// its slot. That is what lets a check say "this returned record was written
// whole" and "this synced record is missing".
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <paxos/paxos.hpp>
#include <paxos/storage/durable_state.hpp>

namespace crash {

using config = paxos::multi_paxos<int, 3, 64, 8>;
using ballot = config::ballot;
using replica_type = paxos::replica<config>;
using ready_type = replica_type::ready_type;
using record_type = replica_type::record_type;
using chosen_type = replica_type::chosen_type;
using paxos::slot_id;
using paxos::storage::record_kind;
using paxos::storage::status;

struct logical_record {
    record_kind kind = record_kind::promise;
    std::uint64_t slot = 0;
    std::uint64_t ballot_raw = 0;
    std::vector<int> values;
    friend bool operator==(const logical_record&, const logical_record&) = default;
};

// What recover() replayed, in order.
struct recorder {
    std::vector<logical_record> records;  // promises, votes and chosen entries
    std::uint64_t snapshot = 0;
    int snapshot_calls = 0;

    void on_promise(ballot b) { records.push_back({record_kind::promise, 0, b.raw(), {}}); }
    void on_vote(slot_id s, ballot b, std::span<const int> v) {
        records.push_back({record_kind::vote, s.value, b.raw(), {v.begin(), v.end()}});
    }
    void on_chosen(slot_id s, std::span<const int> v) {
        records.push_back({record_kind::chosen, s.value, 0, {v.begin(), v.end()}});
    }
    void on_snapshot(slot_id s) {
        snapshot = s.value;
        ++snapshot_calls;
    }
    std::vector<logical_record> slotted() const {  // votes and chosen entries only
        std::vector<logical_record> out;
        for (const auto& r : records) {
            if (r.kind != record_kind::promise) out.push_back(r);
        }
        return out;
    }
};

inline std::vector<int> vote_values(std::uint64_t slot, std::uint64_t ballot_raw) {
    std::vector<int> v;
    const std::uint64_t count = (slot + ballot_raw) % 4;  // 0 (a no-op) to 3 commands
    for (std::uint64_t i = 0; i < count; ++i) {
        v.push_back(static_cast<int>(slot * 1000 + (ballot_raw % 100) * 10 + i));
    }
    return v;
}

// One persist() or snapshot() call.
struct step {
    bool is_snapshot = false;
    std::uint64_t snapshot_slot = 0;
    bool promise_changed = false;
    std::uint64_t promise = 0;
    std::vector<logical_record> votes;
    std::vector<logical_record> chosen;
    bool sync = false;

    // The records this call writes, in the order the log writes them.
    std::vector<logical_record> records() const {
        std::vector<logical_record> out;
        if (is_snapshot) return {{record_kind::snapshot, snapshot_slot, 0, {}}};
        if (promise_changed) out.push_back({record_kind::promise, 0, promise, {}});
        out.insert(out.end(), votes.begin(), votes.end());
        out.insert(out.end(), chosen.begin(), chosen.end());
        return out;
    }
};

template <class Wal>
status apply_step(Wal& wal, const step& s) {
    if (s.is_snapshot) return wal.snapshot(slot_id{s.snapshot_slot});
    std::vector<record_type> accepted;
    std::vector<chosen_type> chosen;
    for (const auto& v : s.votes) {
        accepted.push_back(record_type{slot_id{v.slot}, ballot::from_raw(v.ballot_raw),
                                       std::span<const int>(v.values)});
    }
    for (const auto& c : s.chosen) {
        chosen.push_back(chosen_type{slot_id{c.slot}, std::span<const int>(c.values)});
    }
    ready_type rd{};
    rd.promised = ballot::from_raw(s.promise);
    rd.promised_changed = s.promise_changed;
    rd.accepted = accepted;
    rd.sync_needed = s.sync;
    rd.chosen = chosen;
    return wal.persist(rd);
}

// A deterministic workload: promises that rise, votes in new slots (and a
// re-vote after each new promise), chosen entries that follow the votes
// (written without a sync, as the replica asks), and a snapshot now and then.
inline std::vector<step> make_workload(std::uint64_t seed, std::size_t steps) {
    paxos::prng rng(seed);
    std::vector<step> out;
    std::uint64_t promise = 3;
    std::uint64_t next_slot = 0;
    std::uint64_t chosen_end = 0;
    std::uint64_t snapshot = 0;
    std::vector<std::uint64_t> last_ballot;  // per slot
    for (std::size_t i = 0; i < steps; ++i) {
        step s;
        if (i % 12 == 11 && chosen_end > snapshot + 2) {
            s.is_snapshot = true;
            s.snapshot_slot = snapshot = chosen_end - 2;
            out.push_back(s);
            continue;
        }
        if (i == 0 || rng.below(5) == 0) {
            promise += 3 * (1 + rng.below(3));
            s.promise_changed = true;
            s.promise = promise;
            if (next_slot > chosen_end) {  // re-vote the newest open slot
                const std::uint64_t slot = next_slot - 1;
                s.votes.push_back({record_kind::vote, slot, promise, vote_values(slot, promise)});
                last_ballot[slot] = promise;
            }
        }
        const std::uint64_t new_votes = rng.below(4);
        for (std::uint64_t v = 0; v < new_votes; ++v) {
            const std::uint64_t slot = next_slot++;
            s.votes.push_back({record_kind::vote, slot, promise, vote_values(slot, promise)});
            last_ballot.push_back(promise);
        }
        const std::uint64_t newly_chosen = rng.below(3);
        for (std::uint64_t c = 0; c < newly_chosen && chosen_end < next_slot; ++c) {
            const std::uint64_t slot = chosen_end++;
            s.chosen.push_back(
                {record_kind::chosen, slot, 0, vote_values(slot, last_ballot[slot])});
        }
        if (!s.promise_changed && s.votes.empty() && s.chosen.empty()) {
            const std::uint64_t slot = next_slot++;
            s.votes.push_back({record_kind::vote, slot, promise, vote_values(slot, promise)});
            last_ballot.push_back(promise);
        }
        s.sync = s.promise_changed || !s.votes.empty();  // as ready().sync_needed
        out.push_back(s);
    }
    return out;
}

}  // namespace crash
