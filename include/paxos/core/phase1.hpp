// paxos/core/phase1.hpp: a candidate's tally of promises (Paxos Made Simple
// §2.2, phase 1b) and the values it adopts from them (P2c).
//
// A promise arrives in one part or a few, in any order, possibly duplicated.
// A peer counts toward the phase-1 quorum only once all its parts are in: a
// promise missing a vote could hide a value that was already chosen. A peer
// whose votes we could not hold (beyond the window) is tainted and never
// counts in this ballot.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "message.hpp"
#include "slot_window.hpp"
#include "types.hpp"
#include "vocabulary.hpp"

namespace paxos::inline v0 {

template <class Ballot, class Batch, std::size_t W, std::size_t MaxNodes>
struct phase1_tally {
    using window_type = slot_window<Ballot, Batch, W>;

    slot_id from{};  // the first slot asked: everything below was known chosen
    node_set promised_by{};
    node_set tainted{};
    std::array<std::uint64_t, MaxNodes> parts_seen{};     // promise parts in, a bit each
    std::array<std::uint8_t, MaxNodes> parts_expected{};  // 0 until one part is in

    // A new ballot: nobody has promised, and only our own acceptor's votes
    // (read without a message) are adopted.
    template <bool VotesInOneBallot>
    void begin(window_type& w, slot_id first, node_id self) {
        from = first;
        promised_by.clear();
        tainted.clear();
        parts_seen.fill(0);
        parts_expected.fill(0);
        for (slot_id s = w.base; s.value < w.base.value + W; s = s.next()) {
            auto& rec = w.at(s);
            rec.proposed = false;
            if constexpr (VotesInOneBallot) rec.votes.clear();
            rec.adopt_ballot = Ballot{};
            if (!rec.chosen_aside) rec.spare.clear();  // else it holds a chosen value
        }
        for (slot_id s = from; s < w.end; s = s.next()) {
            auto& rec = w.at(s);
            if (!rec.chosen && !rec.accepted_ballot.is_zero()) {
                rec.adopt_ballot = rec.accepted_ballot;
                rec.spare = rec.values;
            }
        }
        promised_by.insert(self);
    }

    // Whether part m.part of m.from's promise is new; malformed when it
    // disagrees with the parts already in.
    reason admit(const basic_message<Ballot, typename Batch::value_type>& m) noexcept {
        if (m.part == 0 ? m.slot != from : m.slot < from) return reason::malformed;
        const std::size_t peer = m.from.value;
        if (parts_expected[peer] != 0 && parts_expected[peer] != m.parts) {
            return reason::malformed;  // two parts disagree on how many there are
        }
        const std::uint64_t bit = std::uint64_t{1} << m.part;
        if ((parts_seen[peer] & bit) != 0) return reason::ignored;  // duplicate
        parts_expected[peer] = m.parts;
        parts_seen[peer] |= bit;
        return reason::ok;
    }

    // Value adoption (P2c): keep the vote of the highest ballot. A chosen
    // slot needs none (and its spare may hold the chosen value).
    static void adopt(typename window_type::record& rec, Ballot b,
                      std::span<const typename Batch::value_type> values) {
        if (!rec.chosen && b > rec.adopt_ballot) {
            rec.adopt_ballot = b;
            rec.spare.assign(values);
        }
    }

    // The peer's promise counts once all its parts are in and it is untainted.
    // Returns whether it was counted now.
    bool count(node_id peer) noexcept {
        const std::size_t want = parts_expected[peer.value];
        const std::uint64_t all = want >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << want) - 1;
        if (want == 0 || parts_seen[peer.value] != all) return false;
        if (tainted.contains(peer)) return false;
        promised_by.insert(peer);
        return true;
    }
};

}  // namespace paxos::inline v0
