// paxos/core/slot_window.hpp: the slots a replica holds, one record per role.
//
// The window is W consecutive slots from `base`, in a ring of W records
// (W a power of two, so a slot's record is one mask away). Each record has
// one part per role, and each role's unit (acceptor.hpp, phase1.hpp,
// phase2.hpp, learner.hpp) reads and writes only its own part: the parts
// share a record so that one message costs one index computation, not
// four. Slots are released only when chosen and applied, and only when room
// is needed, so a lagging peer can still learn them for as long as possible.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "../assert.hpp"
#include "fixed_vector.hpp"
#include "ready.hpp"
#include "types.hpp"
#include "vocabulary.hpp"

namespace paxos::inline v0 {

// Whether a slot holds commands this replica proposed, and their fate.
enum class own_proposal : std::uint8_t { none, pending, chosen };

template <class Ballot, class Batch>
struct slot_record {
    // acceptor.hpp: the vote (zero ballot: none) and whether it changed since
    // the last ready(). Once the slot is chosen and the vote handed out,
    // `values` holds the chosen value.
    Ballot accepted_ballot{};
    Batch values{};
    bool durable_dirty = false;
    // learner.hpp: chosen, the ballot it was chosen in (zero: not known), and
    // whether the chosen value waits in `spare` because our vote for another
    // value is still to be handed out (a durable record is always the vote
    // as cast, never its ballot with another value).
    bool chosen = false;
    bool chosen_aside = false;
    Ballot chosen_ballot{};
    // phase2.hpp: our proposal in the leader's ballot and its votes.
    bool proposed = false;
    bool sent_this_round = false;  // proposed since the last retransmit round
    node_set votes{};
    // The tags of commands this replica proposed here (ready.hpp), while
    // their fate is open (own_proposal::pending: `values` is then exactly
    // what we proposed) or once chosen, for the chosen entry to hand back.
    own_proposal own = own_proposal::none;
    fixed_vector<proposal_tag, Batch::capacity()> tags{};
    // phase1.hpp: the highest-ballot vote reported in Phase 1.
    Ballot adopt_ballot{};
    // Phase 1's adopted value while the slot is open, or the learner's chosen
    // value set aside once it is chosen: never both, so one batch serves.
    Batch spare{};

    // Back to a fresh record, member by member: cheaper than assigning a
    // new record, and a member added above and not reset here does not
    // compile (the binding names every member).
    void reset() noexcept {
        auto& [vote_ballot, vote_values, dirty, is_chosen, aside, chosen_in, is_proposed, sent,
               voters, own_state, own_tags, adopted_ballot, spare_values] = *this;
        vote_ballot = Ballot{};
        vote_values.clear();
        dirty = false;
        is_chosen = false;
        aside = false;
        chosen_in = Ballot{};
        is_proposed = false;
        sent = false;
        voters = node_set{};
        own_state = own_proposal::none;
        own_tags.clear();
        adopted_ballot = Ballot{};
        spare_values.clear();
    }
};

template <class Ballot, class Batch, std::size_t W>
struct slot_window {
    static_assert(W != 0 && (W & (W - 1)) == 0, "the window is a power of two");
    using record = slot_record<Ballot, Batch>;

    std::array<record, W> slots{};
    slot_id base{};  // lowest slot held
    slot_id end{};   // one past the highest slot in use

    // One unsigned comparison: below base the difference wraps to a huge value.
    bool holds(slot_id s) const noexcept { return s.value - base.value < W; }
    record& at(slot_id s) noexcept {
        PAXOS_ASSERT(holds(s));
        return slots[s.value & (W - 1)];
    }
    const record& at(slot_id s) const noexcept {
        PAXOS_ASSERT(holds(s));
        return slots[s.value & (W - 1)];
    }
    void use(slot_id s) noexcept {
        if (end < s.next()) end = s.next();
    }

    // Slides forward over slots below `applied_end` until `s` fits.
    bool make_room(slot_id s, slot_id applied_end) noexcept {
        if (holds(s)) return true;  // the common case: no slide
        if (s < base || s.value >= slot_id::limit) return false;
        do {
            if (!(base < applied_end)) return false;
            record& released = at(base);
            PAXOS_ASSERT(released.chosen);
            PAXOS_ASSERT(!released.durable_dirty);
            PAXOS_ASSERT(!released.chosen_aside);
            PAXOS_ASSERT(released.own != own_proposal::pending);  // settled when chosen
            released.reset();
            base = base.next();
        } while (!holds(s));
        return true;
    }
};

}  // namespace paxos::inline v0
