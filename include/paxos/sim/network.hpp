// paxos/sim/network.hpp: a deterministic simulated network.
//
// Messages travel with a latency drawn from a per-link model, and may be
// lost, duplicated, delayed by slow nodes, or blocked by partitions (both
// ways or one way). Delivery order is by arrival time, ties broken by send
// order, so one seed always gives one schedule. Reordering is what random
// latencies do: two messages on one link can overtake each other.
//
// Randomness comes only from the prng handed in, and every distribution is
// integer arithmetic of our own: <random>'s distributions differ between
// standard libraries, and a replay must be byte-for-byte the same with g++
// and clang++.
//
// Wide-area models give each link its own base delay (set_link_delays): a
// matrix of one-way delays plus a jitter proportional to each base, on top
// of the latency model. Without a matrix every link draws the latency model
// alone, exactly as before, so existing seeds replay unchanged.
#pragma once

#include <algorithm>
#include <cstdint>
#include <queue>
#include <utility>
#include <vector>

#include "../assert.hpp"
#include "../core/vocabulary.hpp"
#include "../policies/random.hpp"

namespace paxos::inline v0::sim {

using time_us = std::uint64_t;  // simulated time, in microseconds

// A one-way latency distribution.
struct latency_model {
    enum class shape : std::uint8_t {
        fixed,      // always `low`
        uniform,    // uniform in [low, high]
        long_tail,  // uniform in [low, high], but tail_permille of draws uniform in (high,
                    // tail_max]
    };
    shape kind = shape::uniform;
    time_us low = 500;
    time_us high = 1500;
    std::uint32_t tail_permille = 0;
    time_us tail_max = 0;

    time_us draw(prng& rng) const noexcept {
        switch (kind) {
            case shape::fixed: return low;
            case shape::uniform: return rng.between(low, high);
            case shape::long_tail:
                if (tail_max > high && rng.below(1000) < tail_permille) {
                    return rng.between(high + 1, tail_max);
                }
                return rng.between(low, high);
        }
        return low;
    }
};

// Per-link base delays: a message from `from` to `to` takes
//   base[from * nodes + to]
//   + a jitter uniform in [0, that base * jitter_permille / 1000]
//   + a draw of the network's latency model (set it to fixed 0 for nothing more).
struct link_delays {
    std::size_t nodes = 0;
    std::vector<time_us> base;  // row-major, nodes * nodes; the diagonal is unused
    std::uint32_t jitter_permille = 0;

    time_us at(node_id from, node_id to) const noexcept {
        PAXOS_ASSERT(from.value < nodes && to.value < nodes);
        return base[std::size_t{from.value} * nodes + to.value];
    }
};

struct network_faults {
    std::uint32_t loss_permille = 0;
    std::uint32_t duplicate_permille = 0;
    // A held message (stuck in a retransmit queue, a paused proxy) arrives
    // up to hold_us_max late: far behind elections and whole commits, as
    // when a restarted node's first learn_request reaches a newer leader.
    std::uint32_t hold_permille = 0;
    time_us hold_us_max = 0;
};

template <class Message>
class network {
public:
    struct delivery {
        time_us at = 0;
        std::uint64_t sequence = 0;  // send order: the tie-breaker
        node_id from{};
        node_id to{};
        Message message{};
    };

    explicit network(std::size_t nodes) : nodes_(nodes), slow_extra_(nodes, 0) {}

    latency_model latency{};
    network_faults faults{};

    // Sends `m` from `from` to `to` at time `now`. Returns false if it was lost.
    bool send(time_us now, node_id from, node_id to, const Message& m, prng& rng) {
        ++sent_;
        if (blocked(from, to) || rng.below(1000) < faults.loss_permille) {
            ++lost_;
            return false;
        }
        enqueue(now, from, to, m, rng);
        if (rng.below(1000) < faults.duplicate_permille) {
            ++duplicated_;
            enqueue(now, from, to, m, rng);
        }
        return true;
    }

    bool has_next() const noexcept { return !queue_.empty(); }
    time_us next_time() const noexcept { return queue_.top().at; }
    delivery pop() {
        delivery d = queue_.top();
        queue_.pop();
        return d;
    }

    // Drops everything in flight (used when a run is reset).
    void clear() {
        while (!queue_.empty()) queue_.pop();
    }

    // Gives every link its own base delay (see link_delays); the latency
    // model is still drawn and added on top.
    void set_link_delays(link_delays links) {
        PAXOS_ASSERT(links.nodes == nodes_);
        PAXOS_ASSERT(links.base.size() == links.nodes * links.nodes);
        links_ = std::move(links);
    }
    const link_delays& links() const noexcept { return links_; }

    // ---- partitions and slow nodes -------------------------------------------

    void block(node_id from, node_id to) { blocked_[from.value] |= bit(to); }
    void unblock(node_id from, node_id to) { blocked_[from.value] &= ~bit(to); }
    bool blocked(node_id from, node_id to) const { return (blocked_[from.value] & bit(to)) != 0; }
    // Cuts every link between the two sides, both ways.
    void partition(node_set a, node_set b) {
        for (std::size_t i = 0; i < nodes_; ++i) {
            for (std::size_t j = 0; j < nodes_; ++j) {
                const node_id x{static_cast<std::uint16_t>(i)};
                const node_id y{static_cast<std::uint16_t>(j)};
                if ((a.contains(x) && b.contains(y)) || (b.contains(x) && a.contains(y))) {
                    block(x, y);
                }
            }
        }
    }
    void isolate(node_id n) {
        const node_set self = node_set{std::uint64_t{1} << n.value};
        partition(self, self.complement(nodes_));
    }
    void heal() { std::fill(std::begin(blocked_), std::end(blocked_), 0); }
    // Every message from or to `n` takes `extra` longer.
    void slow(node_id n, time_us extra) { slow_extra_[n.value] = extra; }
    void unslow_all() { std::fill(slow_extra_.begin(), slow_extra_.end(), 0); }

    std::uint64_t sent() const noexcept { return sent_; }
    std::uint64_t lost() const noexcept { return lost_; }
    std::uint64_t duplicated() const noexcept { return duplicated_; }
    std::uint64_t held() const noexcept { return held_; }
    std::size_t in_flight() const noexcept { return queue_.size(); }

private:
    static constexpr std::uint64_t bit(node_id n) { return std::uint64_t{1} << n.value; }

    void enqueue(time_us now, node_id from, node_id to, const Message& m, prng& rng) {
        time_us delay = link_delay(from, to, rng) + slow_extra_[from.value] + slow_extra_[to.value];
        // Drawn only when holds are on, so runs without them replay unchanged.
        if (faults.hold_permille > 0 && rng.below(1000) < faults.hold_permille) {
            ++held_;
            delay += rng.between(faults.hold_us_max / 4, faults.hold_us_max);
        }
        queue_.push(delivery{now + delay, sequence_++, from, to, m});
    }

    // Without a matrix this is exactly one draw of the latency model, as it
    // always was; the matrix path draws the jitter first, then the model.
    time_us link_delay(node_id from, node_id to, prng& rng) const {
        if (links_.base.empty()) return latency.draw(rng);
        const time_us base = links_.at(from, to);
        time_us jitter = 0;
        if (links_.jitter_permille > 0) {
            jitter = rng.below(base * links_.jitter_permille / 1000 + 1);
        }
        return base + jitter + latency.draw(rng);
    }

    struct later {
        bool operator()(const delivery& a, const delivery& b) const noexcept {
            return a.at != b.at ? a.at > b.at : a.sequence > b.sequence;
        }
    };

    std::size_t nodes_;
    std::priority_queue<delivery, std::vector<delivery>, later> queue_;
    std::uint64_t blocked_[node_set::capacity] = {};
    std::vector<time_us> slow_extra_;
    link_delays links_{};
    std::uint64_t sequence_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t lost_ = 0;
    std::uint64_t duplicated_ = 0;
    std::uint64_t held_ = 0;
};

}  // namespace paxos::inline v0::sim
