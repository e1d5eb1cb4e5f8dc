// paxos/sm/client_session.hpp: the client's half of exactly-once sessions.
//
// It hands out sequence numbers, remembers where the leader is, and says how
// long to wait before a retry. It does no I/O and reads no clock: the caller
// sends, times out and sleeps; this only decides. The server half is
// sessions.hpp.
//
// The rules it keeps:
//   - One command outstanding at a time (the session table keeps one reply
//     per client). begin() numbers a new command; until on_reply(), every
//     retry sends current(), the same (client, seq), so a command chosen
//     twice is executed once.
//   - A not_leader answer that names the leader redirects there at once
//     (at most once per node per retry round, so stale hints cannot make it
//     spin); without a hint, or after a timeout, it tries the next node after
//     a backoff delay.
//   - Backoff is capped exponential with deterministic jitter: round k waits
//     a draw from [d/2, d] with d = min(retry_delay_ms_max,
//     retry_delay_ms_min * 2^k). The draw comes from the seed, so a test run
//     replays exactly; give each client its own seed, or clients that failed
//     together retry together.
//   - A session the cluster no longer knows (session_evicted or
//     session_unknown) leaves the outstanding command's outcome unknown: it
//     may have been executed before the eviction, its reply lost. Sending it
//     again under a new session could execute it twice, so on_session_lost()
//     drops it and tells the caller, who reports "unknown" (as a Jepsen
//     client records :info), then registers again.
#pragma once

#include <cstdint>

#include "../assert.hpp"
#include "../core/types.hpp"
#include "../policies/random.hpp"
#include "sessions.hpp"

namespace paxos::inline v0::sm {

struct client_options {
    std::uint16_t cluster_size = 3;  // node ids 0 .. cluster_size - 1
    node_id first_target = node_id{0};
    std::uint32_t retry_delay_ms_min = 10;
    std::uint32_t retry_delay_ms_max = 2000;
    std::uint64_t seed = 0;
};

// What a request carries to the state machine.
struct request_id {
    client_id client;
    std::uint64_t seq = 0;

    friend constexpr bool operator==(const request_id&, const request_id&) = default;
};

enum class begin_status : std::uint8_t {
    ok,
    not_registered,  // register first (on_registered), then begin()
    busy,            // a command is outstanding: retry current() until on_reply()
};

class client_session {
public:
    explicit client_session(const client_options& options) noexcept
        : options_(options), target_(options.first_target), rng_(options.seed) {
        PAXOS_ASSERT(options.cluster_size >= 1);
        PAXOS_ASSERT(options.first_target.value < options.cluster_size);
        PAXOS_ASSERT(options.retry_delay_ms_min >= 1);
        PAXOS_ASSERT(options.retry_delay_ms_min <= options.retry_delay_ms_max);
        reset_backoff();
    }

    // --- the session ----------------------------------------------------------

    bool registered() const noexcept { return client_.value != 0; }
    client_id client() const noexcept { return client_; }

    // The register command's reply: the id the table issued.
    void on_registered(client_id id) noexcept {
        PAXOS_ASSERT(id.value != 0);
        client_ = id;
        seq_ = 0;
        outstanding_ = false;
        reset_backoff();
    }

    // The cluster answered session_evicted or session_unknown. Returns true
    // if a command was outstanding: its outcome is now unknown (see above).
    [[nodiscard]] bool on_session_lost() noexcept {
        const bool lost = outstanding_;
        client_ = client_id{};
        seq_ = 0;
        outstanding_ = false;
        return lost;
    }

    // --- commands -------------------------------------------------------------

    // Numbers a new command; send current() with it.
    [[nodiscard]] begin_status begin() noexcept {
        if (!registered()) return begin_status::not_registered;
        if (outstanding_) return begin_status::busy;
        PAXOS_ASSERT(seq_ < ~std::uint64_t{0});
        ++seq_;
        outstanding_ = true;
        reset_backoff();
        return begin_status::ok;
    }

    bool outstanding() const noexcept { return outstanding_; }
    // The request to send, and to send again on every retry.
    request_id current() const noexcept {
        PAXOS_ASSERT(outstanding_);
        return request_id{client_, seq_};
    }

    // The outstanding command was answered (executed now, or a duplicate
    // answered from the table). The answering node is the leader.
    void on_reply(node_id from) noexcept {
        PAXOS_ASSERT(outstanding_);
        outstanding_ = false;
        if (from.value < options_.cluster_size) target_ = from;
        reset_backoff();
    }

    // --- routing and retries ------------------------------------------------

    // Where to send current() (or the registration) next.
    node_id target() const noexcept { return target_; }

    // A not_leader answer, with the core's leader hint (result::leader, or
    // node_id::none()). Returns the delay in milliseconds before resending:
    // 0 when redirected to a node not yet tried this round.
    [[nodiscard]] std::uint32_t on_not_leader(node_id hint) noexcept {
        const bool known = hint.value < options_.cluster_size;
        if (known && hint != target_ && !tried(hint)) {
            mark_tried(hint);
            target_ = hint;
            return 0;
        }
        return next_round();
    }

    // No answer in time: the target may be down. Returns the delay in
    // milliseconds before resending to the next node.
    [[nodiscard]] std::uint32_t on_timeout() noexcept { return next_round(); }

    // The retry rounds since the last progress (for giving up).
    std::uint32_t rounds() const noexcept { return rounds_; }

private:
    std::uint32_t next_round() noexcept {
        target_ = node_id{static_cast<std::uint16_t>((target_.value + 1) % options_.cluster_size)};
        tried_mask_ = 0;
        mark_tried(target_);
        const std::uint32_t delay = delay_ms(rounds_);
        if (rounds_ < 63) ++rounds_;
        return delay;
    }

    // A draw from [d/2, d], d = min(max, min * 2^round): capped, and never
    // less than half the cap, so retries thin out however unlucky the draw.
    std::uint32_t delay_ms(std::uint32_t round) noexcept {
        std::uint64_t d = options_.retry_delay_ms_min;
        for (std::uint32_t i = 0; i < round && d < options_.retry_delay_ms_max; ++i) d *= 2;
        if (d > options_.retry_delay_ms_max) d = options_.retry_delay_ms_max;
        const std::uint64_t delay = rng_.between(d / 2, d);
        PAXOS_ASSERT(delay <= options_.retry_delay_ms_max);
        return static_cast<std::uint32_t>(delay);
    }

    void reset_backoff() noexcept {
        rounds_ = 0;
        tried_mask_ = 0;
        mark_tried(target_);
    }
    // Nodes redirected to this round; ids of 64 and up share the last bit,
    // which only makes redirects more cautious.
    static std::uint64_t bit(node_id n) noexcept {
        return std::uint64_t{1} << (n.value < 63 ? n.value : 63);
    }
    bool tried(node_id n) const noexcept { return (tried_mask_ & bit(n)) != 0; }
    void mark_tried(node_id n) noexcept { tried_mask_ |= bit(n); }

    client_options options_;
    client_id client_;
    std::uint64_t seq_ = 0;  // the last number handed out
    bool outstanding_ = false;
    node_id target_;
    std::uint32_t rounds_ = 0;
    std::uint64_t tried_mask_ = 0;
    prng rng_;
};

}  // namespace paxos::inline v0::sm
