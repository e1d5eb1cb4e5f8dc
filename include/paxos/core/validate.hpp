// paxos/core/validate.hpp: nothing in a message or a recovery is trusted
// before these checks.
//
// They check only what the input claims about itself and the cluster (kind,
// sender, destination, who owns which ballot, internal consistency); the
// replica's handlers then check it against their state. A malformed input
// changes nothing: an unchecked `from` would index arrays, and an unchecked
// ballot owner would let a node speak for another's ballot. The generic
// checks follow the kind's row of message_kinds (core/message.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "../detail/crc32c.hpp"
#include "message.hpp"
#include "ready.hpp"
#include "types.hpp"

namespace paxos::inline v0 {

template <class Ballot, class Value, std::size_t BatchMax, std::size_t PromiseValuesMax,
          std::size_t W, std::size_t PartsMax, std::size_t ChunkBytesMax = 0>
struct input_checks {
    using message_type = basic_message<Ballot, Value>;
    using record_type = accepted_record<Ballot, Value>;

    node_id self{};
    std::size_t node_count = 0;

    bool owned_by_cluster(Ballot b) const noexcept {
        return b.is_zero() || b.owner().value < node_count;
    }

    // The checks for a message of kind K (replica::step() dispatches on the
    // kind, and refuses an unknown one as malformed). The kind's row is a
    // constant, so each check that does not apply to K compiles to nothing:
    // an accept costs a dozen comparisons. Sets `owner` to the owner of
    // m.ballot (none for a zero ballot) once it is checked, so handlers need
    // not compute it again (a division for counter ballots).
    template <message_kind K>
    [[gnu::always_inline]] reason message_as(const message_type& m, node_id& owner) const noexcept {
        constexpr message_kind_info k = info(K);
        if (m.from.value >= node_count || m.from == self) return reason::unknown_sender;
        if (m.to != self && m.to != node_id::broadcast()) return reason::wrong_destination;
        // No slot in use reaches the limit, so no slot arithmetic can wrap.
        // (A prepare, promise or learn_request may name the limit itself as
        // the first slot asked: everything below it is chosen.)
        if constexpr (k.has_slot) {
            if (m.slot.value > (k.one_slot ? slot_id::limit - 1 : slot_id::limit)) {
                return reason::malformed;
            }
        } else if (m.slot.value > slot_id::limit) {
            return reason::malformed;
        }
        if (m.chosen_end.value > slot_id::limit) return reason::malformed;
        // A body only where the kind has one, and never more than it holds.
        constexpr std::size_t values_max = !k.has_values ? 0
                                           : k.has_votes ? PromiseValuesMax
                                                         : BatchMax;
        if (m.values.size() > values_max) return reason::malformed;
        if constexpr (!k.has_votes) {
            if (!m.votes.empty() || m.part != 0 || m.parts != 1) return reason::malformed;
        }
        if constexpr (!k.accepted_ballot) {
            if (!m.accepted_ballot.is_zero()) return reason::malformed;
        } else if (!owned_by_cluster(m.accepted_ballot)) {
            return reason::malformed;
        }
        // The snapshot body, one pointer: only where the kind has one.
        if constexpr (!k.has_position) {
            if (m.snapshot != nullptr) return reason::malformed;
        } else if (m.snapshot == nullptr) {
            return reason::malformed;
        }
        const bool zero = m.ballot.is_zero();
        if constexpr (k.ballot == ballot_rule::zero) {
            if (!zero) return reason::malformed;
        } else if constexpr (k.ballot == ballot_rule::sender || k.ballot == ballot_rule::receiver) {
            // A proposer speaks only with its own ballot; an answer names one of ours.
            if (zero) return reason::malformed;
            owner = m.ballot.owner();
            if (owner != (k.ballot == ballot_rule::sender ? m.from : self))
                return reason::malformed;
        } else {
            if constexpr (k.ballot == ballot_rule::nonzero) {
                if (zero) return reason::malformed;
            }
            owner = zero ? node_id::none() : m.ballot.owner();
            if (!zero && owner.value >= node_count) return reason::malformed;
        }
        // A leader announcing its own choice chose it in its ballot.
        if constexpr (K == message_kind::chosen) {
            if (!zero && m.accepted_ballot != m.ballot) return reason::malformed;
        }
        // A leader hands over to a later ballot than its own.
        if constexpr (K == message_kind::prepare) {
            if (!m.accepted_ballot.is_zero() && !(m.accepted_ballot < m.ballot)) {
                return reason::malformed;
            }
        }
        // A probe reply grants (1) or not (0), and reports the replier's
        // promise, which the probe's ballot beats when it grants.
        if constexpr (K == message_kind::probe_reply) {
            if (m.slot.value > 1) return reason::malformed;
            if (m.slot.value == 1 && !(m.accepted_ballot < m.ballot)) return reason::malformed;
        }
        if constexpr (k.has_votes) return votes(m);
        if constexpr (k.has_position) return snapshot(m, k.has_bytes);
        return reason::ok;
    }

    // A snapshot chunk or ack: about a snapshot of at least one slot and one
    // byte, inside it, and a chunk of at least one byte whose bytes are what
    // its CRC says (checked last: the one check that reads the bytes).
    reason snapshot(const message_type& m, bool chunk) const noexcept {
        const snapshot_part& p = *m.snapshot;
        if (m.slot.value == 0 || p.size == 0 || p.offset > p.size) return reason::malformed;
        if (!chunk) return p.chunk_crc == 0 && p.bytes.empty() ? reason::ok : reason::malformed;
        if (p.resend || p.bytes.empty() || p.bytes.size() > ChunkBytesMax) return reason::malformed;
        if (p.bytes.size() > p.size - p.offset) return reason::malformed;
        if (detail::crc32c(p.bytes) != p.chunk_crc) return reason::bad_checksum;
        return reason::ok;
    }

    // A promise's votes: slots from the first one asked, strictly increasing,
    // each owned by the cluster, each vote's values in the body, and (unless
    // only chosen is reported) a vote below the promise it travels with.
    reason votes(const message_type& m) const noexcept {
        if (m.parts == 0 || m.parts > PartsMax || m.part >= m.parts) return reason::malformed;
        if (m.votes.size() > W) return reason::malformed;
        std::size_t values = 0;
        slot_id after = m.slot;
        for (const vote_report<Ballot>& v : m.votes) {
            if (v.slot < after || v.slot.value >= slot_id::limit) return reason::malformed;
            after = v.slot.next();
            if (!owned_by_cluster(v.ballot)) return reason::malformed;
            if (v.value_count > BatchMax) return reason::malformed;
            values += v.value_count;
            if (!v.chosen && v.ballot.is_zero()) return reason::malformed;
            // A reported vote predates the promise it travels with: an
            // acceptor raises its promise to every ballot it accepts.
            if (!v.ballot.is_zero() && !(v.ballot < m.ballot)) return reason::malformed;
        }
        if (values != m.values.size()) return reason::malformed;
        return reason::ok;
    }

    // restore()'s checks, before anything changes. Every slot is below the
    // limit, so the window arithmetic that follows cannot wrap.
    reason recovery(Ballot promised, slot_id first_unapplied,
                    std::span<const record_type> accepted) const noexcept {
        if (first_unapplied.value > slot_id::limit) return reason::bad_recovery;
        if (!owned_by_cluster(promised)) return reason::bad_recovery;
        for (std::size_t i = 0; i < accepted.size(); ++i) {
            const record_type& rec = accepted[i];
            if (rec.slot.value >= slot_id::limit) return reason::bad_recovery;
            if (rec.ballot.is_zero() || !owned_by_cluster(rec.ballot)) return reason::bad_recovery;
            if (rec.values.size() > BatchMax) return reason::malformed;
            if (rec.slot >= first_unapplied && rec.slot.value - first_unapplied.value >= W) {
                return reason::slot_out_of_window;
            }
            // A later record for the same slot replaces an earlier one, and
            // only with a ballot at least as high. Quadratic in the records,
            // once per life; a store's replica_recovery hands back at most
            // one per slot of the window.
            for (std::size_t j = 0; j < i; ++j) {
                const record_type& prev = accepted[j];
                if (prev.slot == rec.slot && rec.ballot < prev.ballot) return reason::bad_recovery;
            }
        }
        return reason::ok;
    }
};

}  // namespace paxos::inline v0
