// paxos/core/outbox.hpp: the messages of one ready batch, in two groups, and
// the arena that holds their bodies.
//
// Headers live in one array: messages that may leave at once fill it from the
// front, messages that must wait for the batch's sync fill it from the back
// (ready() puts the latter back in the order they were queued). Bodies are
// copied into two pools, values and reported votes, so a message is complete
// on its own until advance() clears the outbox, whatever the replica does to
// its window meanwhile. Every capacity is a template parameter: nothing
// allocates.
#pragma once

#include <cstddef>
#include <span>

#include "../assert.hpp"
#include "../detail/algorithm.hpp"
#include "fixed_vector.hpp"
#include "message.hpp"

namespace paxos::inline v0 {

// When a message may leave its sender (ready.hpp).
enum class send_group : std::uint8_t {
    now,         // nothing it vouches for is still to be synced
    after_sync,  // only once the batch's durable part is synced
};

// InputMessages, InputValues and InputVotes bound what one input may queue
// (open_input); each pool holds at least that much.
template <class Ballot, class Value, std::size_t MessagesMax, std::size_t ValuesMax,
          std::size_t VotesMax, std::size_t InputMessages, std::size_t InputValues,
          std::size_t InputVotes>
class outbox {
    static_assert(InputMessages <= MessagesMax && InputValues <= ValuesMax &&
                  InputVotes <= VotesMax);

public:
    using message_type = basic_message<Ballot, Value>;
    using report_type = vote_report<Ballot>;

    outbox() = default;
    // A copy's views point into its own pools (the replica is a value: the
    // explorer copies whole clusters).
    outbox(const outbox& other) { copy_from(other); }
    outbox& operator=(const outbox& other) {
        if (this != &other) copy_from(other);
        return *this;
    }

    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return size() == 0; }
    std::size_t messages_free() const noexcept { return MessagesMax - size(); }
    std::size_t values_free() const noexcept { return ValuesMax - values_.size(); }
    std::size_t votes_free() const noexcept { return VotesMax - votes_.size(); }

    // Room for one input: false, with nothing changed, unless the input
    // bound is free in every pool. Until the next call, every add asserts
    // that the input keeps within it, so an input that could overflow the
    // outbox is caught where it queues too much, not later. An empty
    // outbox already has its bound set (clear()), so the common case is
    // one test.
    bool open_input() noexcept {
        if (count_ == 0) return true;
        if (messages_free() < InputMessages || values_free() < InputValues ||
            votes_free() < InputVotes || parts_.capacity() - parts_.size() < parts_per_input) {
            return false;
        }
        messages_end_ = count_ + InputMessages;
        values_end_ = values_.size() + InputValues;
        votes_end_ = votes_.size() + InputVotes;
        parts_end_ = parts_.size() + parts_per_input;
        return true;
    }

    // A new message with header `h` and an empty body, in `group`.
    message_type& add(send_group group, const message_header<Ballot>& h) noexcept {
        PAXOS_ASSERT(count_ < messages_end_);
        ++count_;
        message_type& m =
            group == send_group::now ? headers_[now_++] : headers_[MessagesMax - ++after_];
        static_cast<message_header<Ballot>&>(m) = h;
        m.values = {};
        m.votes = {};
        m.snapshot = nullptr;
        return m;
    }

    // Copies `values` into the pool; the view stays valid until clear().
    [[gnu::always_inline]] std::span<const Value> put_values(std::span<const Value> values) {
        PAXOS_ASSERT(values.size() <= values_end_ - values_.size());
        const std::size_t at = values_.size();
        values_.append(values);
        return {values_.begin() + at, values.size()};
    }
    // Copies a snapshot ack's body into its pool (at most parts_per_input per
    // input: a snapshot kind answers one chunk or acks one).
    static constexpr std::size_t parts_per_input = 2;
    const snapshot_part* put_snapshot(const snapshot_part& p) noexcept {
        PAXOS_ASSERT(parts_.size() < parts_end_);
        parts_.push_back(p);
        return &parts_[parts_.size() - 1];
    }

    // Appends one reported vote, whose values come next in the values pool.
    void put_vote(const report_type& v) noexcept {
        PAXOS_ASSERT(votes_.size() < votes_end_);
        votes_.push_back(v);
    }
    // The values and votes put since the marks were taken, as views.
    std::size_t values_mark() const noexcept { return values_.size(); }
    std::size_t votes_mark() const noexcept { return votes_.size(); }
    std::span<const Value> values_since(std::size_t mark) const noexcept {
        return {values_.begin() + mark, values_.size() - mark};
    }
    std::span<const report_type> votes_since(std::size_t mark) const noexcept {
        return {votes_.begin() + mark, votes_.size() - mark};
    }

    // Puts the after-sync group back in the order it was queued; once per batch.
    void seal() noexcept {
        if (after_ > 1) detail::reverse(headers_.begin() + (MessagesMax - after_), headers_.end());
    }

    std::span<const message_type> now() const noexcept { return {headers_.data(), now_}; }
    std::span<const message_type> after_sync() const noexcept {
        return {headers_.data() + (MessagesMax - after_), after_};
    }
    // Every message queued, for a caller that does not care about the group.
    template <class F>
    void for_each(F&& f) const {
        for (const message_type& m : now()) f(m);
        for (const message_type& m : after_sync()) f(m);
    }

    // Empties the outbox and opens it for one input (open_input). What
    // advance() itself queues (our own votes counted, commands that waited
    // for leadership) keeps within that bound too.
    void clear() noexcept {
        now_ = after_ = count_ = 0;
        values_.clear();
        votes_.clear();
        parts_.clear();
        messages_end_ = InputMessages;
        values_end_ = InputValues;
        votes_end_ = InputVotes;
        parts_end_ = parts_per_input;
    }

private:
    void copy_from(const outbox& other) {
        values_ = other.values_;
        votes_ = other.votes_;
        parts_ = other.parts_;
        parts_end_ = other.parts_end_;
        now_ = other.now_;
        after_ = other.after_;
        count_ = other.count_;
        messages_end_ = other.messages_end_;
        values_end_ = other.values_end_;
        votes_end_ = other.votes_end_;
        const auto rebase = [&](message_type& m, const message_type& src) {
            m = src;
            // An empty view may point nowhere; a non-empty one points into other's pools.
            m.values = {};
            m.votes = {};
            if (!src.values.empty()) {
                m.values = {values_.begin() + (src.values.data() - other.values_.begin()),
                            src.values.size()};
            }
            if (!src.votes.empty()) {
                m.votes = {votes_.begin() + (src.votes.data() - other.votes_.begin()),
                           src.votes.size()};
            }
            if (src.snapshot != nullptr) m.snapshot = &parts_[src.snapshot - other.parts_.begin()];
        };
        for (std::size_t i = 0; i < now_; ++i) rebase(headers_[i], other.headers_[i]);
        for (std::size_t i = MessagesMax - after_; i < MessagesMax; ++i) {
            rebase(headers_[i], other.headers_[i]);
        }
    }

    std::array<message_type, MessagesMax> headers_{};
    std::size_t now_ = 0;
    std::size_t after_ = 0;
    std::size_t count_ = 0;  // now_ + after_
    fixed_vector<Value, ValuesMax> values_{};
    fixed_vector<report_type, VotesMax> votes_{};
    fixed_vector<snapshot_part, 8 * parts_per_input> parts_{};  // snapshot acks' bodies
    // Where the input under way must stop (open_input).
    std::size_t messages_end_ = InputMessages;
    std::size_t values_end_ = InputValues;
    std::size_t votes_end_ = InputVotes;
    std::size_t parts_end_ = parts_per_input;
};

}  // namespace paxos::inline v0
