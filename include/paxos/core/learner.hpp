// paxos/core/learner.hpp: what a replica knows to be chosen, how far it has
// handed chosen slots to the state machine, and who asked it for slots it
// has released.
//
// Slots may be learned out of order; they are handed out only in order,
// without gaps: chosen_end is the first slot not known chosen, applied_end
// the first not yet handed out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "../assert.hpp"
#include "../detail/algorithm.hpp"
#include "fixed_vector.hpp"
#include "ready.hpp"
#include "slot_window.hpp"
#include "types.hpp"

namespace paxos::inline v0 {

template <class Ballot, class Batch, std::size_t W, std::size_t MaxNodes>
struct learner_state {
    using window_type = slot_window<Ballot, Batch, W>;
    using record = typename window_type::record;
    using value_type = typename Batch::value_type;

    slot_id applied_end{};               // first slot not yet handed out for applying
    slot_id chosen_end{};                // first slot not known chosen
    slot_id handed_end{};                // chosen_end when the outstanding batch was collected
    slot_id announced_chosen_end{};      // furthest chosen_end heartbeats announced
    std::uint32_t quiet_ticks = 0;       // follower: ticks since a leader was last heard
    std::size_t chosen_aside_count = 0;  // records with chosen_aside set
    // Catching up: we asked `teacher` for chosen slots up to asked_until
    // (a window's worth: what we can hold), and ask again from chosen_end
    // once we have applied them all and the teacher said it knows more.
    slot_id asked_until{};
    node_id teacher = node_id::none();
    std::uint32_t asked_ticks = 0;  // ticks since that ask
    fixed_vector<catch_up_request, MaxNodes> catch_up{};

    // The chosen value of a chosen slot (see slot_record::chosen_aside).
    static const Batch& chosen_values(const record& rec) noexcept {
        PAXOS_ASSERT(rec.chosen);
        return rec.chosen_aside ? rec.spare : rec.values;
    }
    static bool same_values(std::span<const value_type> a, std::span<const value_type> b) {
        return detail::equal(a, b);
    }

    // Records that slot s (rec) is chosen with `values` in ballot `in` (zero
    // when the teller did not know it) and advances chosen_end over the
    // contiguous prefix. `values` may be rec.values itself (a leader's own
    // proposal): assign() then copies each element onto itself.
    void mark_chosen(window_type& w, slot_id s, record& rec, std::span<const value_type> values,
                     Ballot in) {
        PAXOS_ASSERT(!rec.chosen);
        PAXOS_ASSERT(!rec.chosen_aside);
        rec.chosen = true;
        rec.chosen_ballot = in;
        if (rec.durable_dirty && !same_values(rec.values.view(), values)) {
            // Our vote for another value is still to be handed out: the record
            // must name the vote as cast, so the chosen value waits aside.
            rec.spare.assign(values);
            rec.chosen_aside = true;
            ++chosen_aside_count;
        } else {
            // Our vote is on disk (or agrees): the chosen value replaces it in
            // memory; any later report of this slot is flagged chosen.
            rec.values.assign(values);
        }
        w.use(s);
        advance_chosen_end(w);
    }

    // The same for a slot chosen with the value of our own vote (a leader's
    // proposal, or a follower's vote in the ballot that chose it): nothing
    // to compare or copy.
    void mark_chosen_as_voted(window_type& w, slot_id s, record& rec, Ballot in) noexcept {
        set_chosen_as_voted(rec, in);
        w.use(s);
        advance_chosen_end(w);
    }
    // Its first half, for a caller that marks a run of slots in use and
    // then advances chosen_end once.
    static void set_chosen_as_voted(record& rec, Ballot in) noexcept {
        PAXOS_ASSERT(!rec.chosen);
        PAXOS_ASSERT(!rec.chosen_aside);
        PAXOS_ASSERT(rec.accepted_ballot == in);
        rec.chosen = true;
        rec.chosen_ballot = in;
    }

    void advance_chosen_end(const window_type& w) noexcept {
        while (w.holds(chosen_end) && w.slots[chosen_end.value % W].chosen) {
            chosen_end = chosen_end.next();
        }
    }

    // advance(): the votes as cast are durable now, so a slot chosen with
    // another value while its vote waited takes the chosen value back.
    template <class Records>
    void take_back_aside(window_type& w, const Records& handed) {
        for (std::size_t i = 0; chosen_aside_count > 0 && i < handed.size(); ++i) {
            record& rec = w.at(handed[i].slot);
            if (!rec.chosen_aside) continue;
            rec.values = rec.spare;
            rec.spare.clear();
            rec.chosen_aside = false;
            --chosen_aside_count;
        }
        PAXOS_ASSERT(chosen_aside_count == 0);
    }

    bool contradicts_at(const window_type& w, slot_id s, std::span<const value_type> values) const {
        if (!w.holds(s) || !w.at(s).chosen) return false;
        return !same_values(chosen_values(w.at(s)).view(), values);
    }

    // The batch tells the driver what to serve from below the window.
    void ask_catch_up(node_id peer, slot_id from, slot_id base) {
        PAXOS_ASSERT(from < base);
        for (catch_up_request& c : catch_up) {
            if (c.peer != peer) continue;
            c.from = detail::min(c.from, from);
            return;
        }
        catch_up.push_back(catch_up_request{peer, from, base});
    }
};

}  // namespace paxos::inline v0
