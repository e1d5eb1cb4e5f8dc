// paxos/core/phase2.hpp: a leader's pipeline of slots (Paxos Made Simple §3,
// phase 2a) and the commands waiting for one.
//
// A leader fills slots in order from `next_slot`, up to the window. Commands
// proposed between two ready() calls share the open slot's batch, so one
// accept and one fsync carry them all. Commands taken while this replica is
// not the leader (leader-free policies) wait in `pending`.
#pragma once

#include <cstddef>

#include "fixed_vector.hpp"
#include "ready.hpp"
#include "slot_window.hpp"
#include "types.hpp"

namespace paxos::inline v0 {

template <class Ballot, class Batch, std::size_t W>
struct phase2_pipeline {
    using window_type = slot_window<Ballot, Batch, W>;

    slot_id next_slot{};  // the next slot to fill
    bool open = false;    // open_slot is collecting a batch
    slot_id open_slot{};
    Batch open_batch{};
    Batch pending{};                   // taken while not leader
    bool proposer_unfinished = false;  // stepped down with our own slots unchosen
    // The callers' tags, one per command of open_batch and of pending.
    using tags_type = fixed_vector<proposal_tag, Batch::capacity()>;
    tags_type open_tags{};
    tags_type pending_tags{};

    // Reserves the next slot for a batch: the window bound is checked once
    // per slot, not per command.
    reason open_next(window_type& w, slot_id applied_end) noexcept {
        if (next_slot.value >= slot_id::limit) return reason::slot_exhausted;
        if (!w.make_room(next_slot, applied_end)) return reason::window_full;
        open = true;
        open_slot = next_slot;
        next_slot = next_slot.next();
        w.use(open_slot);
        return reason::ok;
    }

    // A leader that steps down keeps the commands that never reached a slot
    // (when followers may propose, they go out again when it next leads);
    // `lose(tag)` hears of each one it cannot keep.
    template <bool KeepOpen, class Lose>
    void stop(Lose&& lose) {
        if (open) {
            for (std::size_t i = 0; i < open_batch.size(); ++i) {
                if (KeepOpen && !pending.full()) {
                    pending.push_back(open_batch[i]);
                    pending_tags.push_back(open_tags[i]);
                } else {
                    lose(open_tags[i]);
                }
            }
        }
        open = false;
        open_batch.clear();
        open_tags.clear();
    }

    // The pending commands are dropped (a single decree was decided).
    template <class Lose>
    void drop_pending(Lose&& lose) {
        for (const proposal_tag t : pending_tags) lose(t);
        pending.clear();
        pending_tags.clear();
    }
};

}  // namespace paxos::inline v0
