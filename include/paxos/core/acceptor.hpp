// paxos/core/acceptor.hpp: the acceptor's promise and votes (Paxos Made
// Simple §2.2, phase 1b and 2b) and what of them must reach the disk.
//
// The acceptor is the only role whose state must survive a crash: its
// promise and its votes. It keeps the promise as of the last acknowledged
// batch (`durable_promised`) beside the current one, which is what decides
// whether a message that vouches for the promise may leave before the
// batch's sync (message.hpp, backed_by).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "../assert.hpp"
#include "../detail/algorithm.hpp"
#include "fixed_vector.hpp"
#include "message.hpp"
#include "outbox.hpp"
#include "ready.hpp"
#include "slot_window.hpp"
#include "types.hpp"

namespace paxos::inline v0 {

template <class Rules, class Ballot, class Batch, std::size_t W>
struct acceptor_state {
    using window_type = slot_window<Ballot, Batch, W>;
    using record_type = accepted_record<Ballot, typename Batch::value_type>;

    Ballot promised{};
    bool promised_dirty = false;             // raised since the last ready()
    Ballot durable_promised{};               // as of the last acknowledged batch
    fixed_vector<slot_id, W> dirty_slots{};  // votes cast since the last ready()

    void raise_promise(Ballot b) noexcept {
        PAXOS_ASSERT(b >= promised);  // the promise never goes down
        if (b == promised) return;
        promised = b;
        if constexpr (Rules::promise_is_durable) promised_dirty = true;
    }

    // P1a: promise only a ballot above every one promised. `>=` would let two
    // proposers that share a ballot both pass Phase 1.
    bool may_promise(Ballot b) const noexcept {
        if constexpr (Rules::promise_needs_higher_ballot) return b > promised;
        return !(b < promised);
    }
    // P2a: accept unless the ballot is below the promise.
    bool may_accept(Ballot b) const noexcept { return !(b < promised); }
    // Accepting also promises (unless the rules are broken on purpose).
    void promise_by_accepting(Ballot b) noexcept {
        if constexpr (Rules::accept_raises_promise) raise_promise(b);
    }

    // A vote in slot s (rec is its record): at most one value per ballot, and
    // only up in ballots, never above the promise.
    [[gnu::always_inline]] void cast_vote(slot_id s, typename window_type::record& rec, Ballot b,
                                          std::span<const typename Batch::value_type> values) {
        PAXOS_ASSERT(b <= promised);
        PAXOS_ASSERT(rec.accepted_ballot <= b);
        rec.accepted_ballot = b;
        rec.values.assign(values);
        if (!rec.durable_dirty) dirty_slots.push_back(s);  // once per slot per batch
        rec.durable_dirty = true;
    }

    // ready(): the votes cast since the last batch, newest value per slot.
    template <std::size_t N>
    // Inlined into ready() (see there).
    [[gnu::always_inline]] void hand_out(window_type& w, fixed_vector<record_type, N>& out) {
        for (const slot_id s : dirty_slots) {
            auto& rec = w.at(s);
            PAXOS_ASSERT(rec.durable_dirty);
            rec.durable_dirty = false;
            out.push_back(record_type{s, rec.accepted_ballot, rec.values.view()});
        }
        dirty_slots.clear();
    }
    // advance(): what the batch carried is durable.
    void synced(bool promise_written, Ballot written) noexcept {
        if (promise_written) durable_promised = written;
        promised_dirty = false;
    }

    // Which group a message of ours joins: it leaves at once unless what it
    // vouches for (backed_by) is still to be synced. A vote is always cast in
    // the batch that answers it, so accepted always waits.
    send_group group_of(message_kind kind, Ballot b) const noexcept {
        switch (backing_of(kind)) {
            case durable_backing::none: return send_group::now;
            case durable_backing::vote: return send_group::after_sync;
            case durable_backing::promise: break;
        }
        if constexpr (!Rules::prepare_waits_for_promise) {
            if (kind == message_kind::prepare) return send_group::now;
        }
        return b <= durable_promised ? send_group::now : send_group::after_sync;
    }

    // The votes of one promise: every vote held from `from` on and every slot
    // known chosen there, in parts of at most ValuesMax values. Each part
    // starts at its first reported slot (the first at `from`), so the parts
    // cover consecutive ranges. `new_part(slot)` queues an empty promise.
    template <std::size_t PartsMax, std::size_t ValuesMax, class Outbox, class NewPart>
    void report_votes(const window_type& w, slot_id from, Outbox& out, NewPart&& new_part) const {
        using report_type = vote_report<Ballot>;
        auto* part = &new_part(from);
        std::array<decltype(part), PartsMax> parts{};
        std::size_t count = 0;
        std::size_t values_at = out.values_mark();
        std::size_t votes_at = out.votes_mark();
        const auto close_part = [&] {
            part->values = out.values_since(values_at);
            part->votes = out.votes_since(votes_at);
            parts[count++] = part;
        };
        for (slot_id s = from; s < w.end; s = s.next()) {
            if (!w.holds(s)) continue;
            const auto& rec = w.at(s);
            if (rec.accepted_ballot.is_zero() && !rec.chosen) continue;
            const Batch& values = rec.chosen_aside ? rec.spare : rec.values;
            if (out.values_mark() - values_at + values.size() > ValuesMax) {
                close_part();
                part = &new_part(s);
                values_at = out.values_mark();
                votes_at = out.votes_mark();
            }
            out.put_vote(report_type{s, rec.accepted_ballot,
                                     static_cast<std::uint32_t>(values.size()), rec.chosen});
            (void)out.put_values(values.view());
        }
        close_part();
        for (std::size_t i = 0; i < count; ++i) {
            parts[i]->part = static_cast<std::uint8_t>(i);
            parts[i]->parts = static_cast<std::uint8_t>(count);
        }
    }
};

}  // namespace paxos::inline v0
