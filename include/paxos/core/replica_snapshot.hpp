// paxos/core/replica_snapshot.hpp: the replica's compaction point, its
// snapshot transfers, and installing a snapshot on a running replica, on the
// transfer unit (snapshot_transfer.hpp).
//
// Part of replica.hpp, which includes it; included alone it brings the class.
#pragma once

#include <span>

#include "../detail/algorithm.hpp"
#include "../detail/crc32c.hpp"
#include "replica.hpp"

namespace paxos::inline v0 {

template <class Config>
result replica<Config>::offer_snapshot(const snapshot_offer& s) {
    static_assert(snapshot_chunk_bytes != 0, "offer_snapshot: the config has no snapshot transfer");
    const input_guard guard{*this};
    if (s.slot.value == 0 || s.size_bytes == 0) return {reason::malformed, p_.leader};
    if (s.slot > l_.applied_end) return {reason::not_applied, p_.leader};
    if (s.slot < x_.offered.slot) return {reason::stale_snapshot, p_.leader};
    x_.offered = s;
    return {reason::ok, p_.leader};
}

template <class Config>
result replica<Config>::compact(slot_id s) {
    static_assert(snapshot_chunk_bytes != 0, "compact: the config has no snapshot transfer");
    const input_guard guard{*this};
    if (s > l_.applied_end) return {reason::not_applied, p_.leader};
    if (s > x_.offered.slot) return {reason::no_snapshot, p_.leader};
    x_.log_start = detail::max(x_.log_start, s);
    return {reason::ok, p_.leader};
}

template <class Config>
result replica<Config>::send_snapshot(node_id to) {
    static_assert(snapshot_chunk_bytes != 0, "send_snapshot: the config has no snapshot transfer");
    const input_guard guard{*this};
    if (to.value >= node_count_ || to == options_.self) return {reason::unknown_sender, p_.leader};
    if (x_.offered.slot.value == 0) return {reason::no_snapshot, p_.leader};
    x_.start(to.value, x_.offered);
    note_output();
    return {reason::ok, p_.leader};
}

template <class Config>
void replica<Config>::abort_snapshot(node_id to) noexcept {
    PAXOS_ASSERT(!o_.outstanding);
    if (to.value < Config::max_nodes) x_.stop(x_.out[to.value]);
}

template <class Config>
auto replica<Config>::snapshot_chunk_for(const snapshot_chunk_request& c,
                                         std::span<const std::byte> bytes) -> message_type {
    PAXOS_ASSERT(o_.outstanding);  // between ready() and advance()
    PAXOS_ASSERT(&c >= x_.requests.begin() && &c < x_.requests.end());  // one of rd.snapshot_chunks
    PAXOS_ASSERT(bytes.size() == c.length);
    snapshot_part& p = x_.parts[static_cast<std::size_t>(&c - x_.requests.begin())];
    p.offset = c.offset;
    p.size = c.snapshot.size_bytes;
    p.crc = c.snapshot.crc;
    p.chunk_crc = detail::crc32c(bytes);
    p.resend = false;
    p.bytes = bytes;
    message_type m;
    static_cast<message_header<ballot_type>&>(m) =
        header(c.to, message_kind::snapshot_chunk, ballot_type{}, c.snapshot.slot);
    m.snapshot = &p;
    return m;
}

// A peer asked for slots below our window: from the driver's log if it
// still holds them, or else a snapshot. Asked for at most a window's worth
// from `from` on: what the peer's window can take (it asks for the next
// once it has applied these; see advance()).
template <class Config>
void replica<Config>::serve_below_window(node_id to, slot_id from) {
    PAXOS_ASSERT(from < w_.base);
    note_output();
    if constexpr (snapshot_chunk_bytes != 0) {
        if (from < x_.log_start) {
            PAXOS_ASSERT(x_.offered.slot >= x_.log_start);  // compact() keeps it so
            x_.start(to.value, x_.offered);
            return;
        }
    }
    const slot_id until{detail::min<std::uint64_t>(from.value + window_slots, w_.base.value)};
    l_.ask_catch_up(to, from, until);
}

template <class Config>
void replica<Config>::send_snapshot_ack(node_id to, slot_id s, const snapshot_offer& of,
                                        std::uint64_t held, bool resend) {
    message_type& a = send(to, message_kind::snapshot_ack, ballot_type{}, s);
    snapshot_part p{};
    p.offset = held;
    p.size = of.size_bytes;
    p.crc = of.crc;
    p.resend = resend;
    a.snapshot = o_.box.put_snapshot(p);
}

// A chunk of a snapshot a peer sends us (checked by validate.hpp: its place
// in the snapshot and its CRC).
template <class Config>
auto replica<Config>::on_snapshot_chunk(const message_type& m) -> handled {
    if constexpr (snapshot_chunk_bytes == 0) {
        return {reason::malformed};
    } else {
        const snapshot_offer of{m.slot, m.snapshot->size, m.snapshot->crc};
        // We know every slot below it chosen already (learned from the log,
        // or installed another): not needed; the ack ends the transfer.
        if (m.slot <= l_.chosen_end) {
            send_snapshot_ack(m.from, m.slot, of, of.size_bytes, false);
            return {reason::stale_snapshot};
        }
        // One chunk at a time: the one we hold is not written yet. A driver
        // that drains and steps again (outbox_full) gets it taken.
        if (!x_.received.empty()) return {reason::outbox_full};
        auto& in = x_.in;
        if (!in.active || in.snapshot != of) {
            const bool replace =
                !in.active || m.slot > in.snapshot.slot || x_.in_idle(options_.retransmit_ticks);
            if (!replace) {
                // An older or another encoding while ours makes progress.
                send_snapshot_ack(m.from, m.slot, of, of.size_bytes, false);
                return {reason::ignored};
            }
            const std::uint64_t kept = x_.resume == of ? x_.resume_bytes : 0;
            in = typename snapshot_type::incoming{true, m.from, of, kept, 0};
            x_.resume = snapshot_offer{};
        } else if (m.from != in.from && !x_.in_idle(options_.retransmit_ticks)) {
            // The same snapshot from a second sender (we asked everyone):
            // one is enough while it makes progress.
            send_snapshot_ack(m.from, m.slot, of, of.size_bytes, false);
            return {reason::ignored};
        }
        if (m.snapshot->offset != in.taken) {
            // A chunk was lost, or the sender (re)started elsewhere: say
            // where we are. Once per chunk refused, and answered at once.
            send_snapshot_ack(m.from, m.slot, of, in.taken, true);
            return {reason::ignored};
        }
        in.from = m.from;
        in.idle_ticks = 0;
        l_.announced_chosen_end = detail::max(l_.announced_chosen_end, m.chosen_end);
        x_.chunk.assign(m.snapshot->bytes);
        x_.received.push_back(received_chunk{m.from, of, in.taken, x_.chunk.view()});
        in.taken += m.snapshot->bytes.size();
        note_output();
        return {reason::ok};
    }
}

template <class Config>
auto replica<Config>::on_snapshot_ack(const message_type& m) -> handled {
    if constexpr (snapshot_chunk_bytes == 0) {
        return {reason::malformed};
    } else {
        if (!x_.acked(m.from.value, m.slot, *m.snapshot)) return {reason::ignored};
        note_output();
        return {reason::ok};
    }
}

// advance(): the driver wrote the chunk it was handed; tell its sender.
template <class Config>
void replica<Config>::snapshot_advance() {
    x_.requests.clear();
    // More to ask for than one batch lists (requests_max): the next batch.
    if (x_.wants_chunk(options_.snapshot_chunks_in_flight)) note_output();
    if (x_.received.empty()) return;
    const received_chunk& c = x_.received[0];
    send_snapshot_ack(c.from, c.snapshot.slot, c.snapshot, c.offset + c.bytes.size(), false);
    x_.received.clear();
    x_.chunk.clear();
}

// Releases every slot below s from the window, without applying it: the
// snapshot holds its effect (a proposal of ours there comes back unknown). A vote not yet handed
// out is dropped with its slot (it was never acknowledged, since an accepted waits for the sync).
template <class Config>
void replica<Config>::release_below(slot_id s) {
    const slot_id stop = detail::min(s, w_.end);
    for (slot_id at = w_.base; at < stop; at = at.next()) {
        slot_type& rec = w_.at(at);
        // A slot handed out already gave its tags back in its chosen entry.
        if (rec.own != own_proposal::none && at >= l_.handed_end) {
            drop_own(rec, proposal_fate::unknown);
        }
        if (rec.chosen_aside) --l_.chosen_aside_count;
        rec.reset();
    }
    auto& dirty = a_.dirty_slots;
    std::size_t kept = 0;
    for (std::size_t i = 0; i < dirty.size(); ++i) {
        if (!(dirty[i] < s)) dirty[kept++] = dirty[i];
    }
    dirty.truncate(kept);
    if (w_.base < s) w_.base = s;
    if (w_.end < s) w_.end = s;
}

template <class Config>
result replica<Config>::install_snapshot(const snapshot_offer& s) {
    static_assert(snapshot_chunk_bytes != 0,
                  "install_snapshot: the config has no snapshot transfer");
    const input_guard guard{*this};
    if (!has_outbox_room()) return {reason::outbox_full, p_.leader};
    if (s.slot.value == 0 || s.slot.value > slot_id::limit || s.size_bytes == 0) {
        return {reason::malformed, p_.leader};
    }
    if (s.slot <= l_.chosen_end) return {reason::stale_snapshot, p_.leader};
    // A proposer behind a chosen prefix: someone got further than it.
    if (p_.current != role::follower) (void)step_down();
    if constexpr (!rules::install_keeps_votes) {
        // The broken rule (a test-only config): the votes above s go with the
        // slots below it, as if the snapshot replaced the whole log.
        for (slot_id at = detail::max(w_.base, s.slot); at < w_.end; at = at.next()) {
            slot_type& rec = w_.at(at);
            if (rec.own != own_proposal::none) drop_own(rec, proposal_fate::unknown);
            if (rec.chosen_aside) --l_.chosen_aside_count;
            rec.reset();
        }
        a_.dirty_slots.clear();
        if (w_.end > s.slot) w_.end = detail::max(w_.base, s.slot);
    }
    release_below(s.slot);
    l_.applied_end = l_.handed_end = l_.chosen_end = s.slot;
    l_.advance_chosen_end(w_);  // votes at or above s may be chosen already
    l_.announced_chosen_end = detail::max(l_.announced_chosen_end, s.slot);
    l_.asked_until = s.slot;  // ask for what follows at the next advance()
    p2_.next_slot = detail::max(p2_.next_slot, s.slot);
    if (l_.chosen_end >= w_.end) p2_.proposer_unfinished = false;
    if (x_.in.active) l_.teacher = x_.in.from;  // it knows what follows s
    x_.in = typename snapshot_type::incoming{};
    x_.received.clear();  // a chunk of another transfer, not handed out yet
    x_.chunk.clear();
    x_.offered = detail::max(x_.offered, s, [](const snapshot_offer& a, const snapshot_offer& b) {
        return a.slot < b.slot;
    });
    x_.log_start = detail::max(x_.log_start, s.slot);
    note_output();
    return {reason::ok, p_.leader};
}

}  // namespace paxos::inline v0
