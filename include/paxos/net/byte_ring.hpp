// paxos/net/byte_ring.hpp: a fixed-capacity FIFO of bytes, the TCP
// transport's per-peer send queue.
//
// The buffer is allocated once, in the constructor; push, pop and the views
// never allocate. push is all or nothing, so a queue holds whole frames only
// and a frame that does not fit is refused whole (the transport's drop
// policy). The queued bytes are at most two contiguous runs (before and after
// the wrap), which is what one writev/sendmsg takes.
//
// Invariants: 0 < capacity(); size() <= capacity(); head_ < capacity(); the
// queued bytes are data_[head_ ..] followed by
// data_[0 ..] when they wrap.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

#include "../assert.hpp"

namespace paxos::inline v0::net {

class byte_ring {
public:
    explicit byte_ring(std::size_t capacity)
        : data_(std::make_unique<std::byte[]>(capacity)), capacity_(capacity) {
        PAXOS_ASSERT(capacity > 0);
    }

    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t size() const noexcept { return size_; }
    std::size_t room() const noexcept { return capacity_ - size_; }
    bool empty() const noexcept { return size_ == 0; }

    // Appends all of `bytes`, or nothing when they do not fit.
    [[nodiscard]] bool push(std::span<const std::byte> bytes) noexcept {
        if (bytes.size() > room()) return false;
        // head_ < capacity_ and size_ <= capacity_, so one subtraction wraps.
        std::size_t tail = head_ + size_;
        if (tail >= capacity_) tail -= capacity_;
        const std::size_t until_end = capacity_ - tail;
        if (bytes.size() <= until_end) {
            copy(bytes, data_.get() + tail);
        } else {
            copy(bytes.first(until_end), data_.get() + tail);
            copy(bytes.subspan(until_end), data_.get());
        }
        size_ += bytes.size();
        PAXOS_ASSERT(size_ <= capacity_);
        return true;
    }

    // The queued bytes, oldest first, as two runs (the second may be empty).
    std::array<std::span<const std::byte>, 2> runs() const noexcept {
        const std::size_t first = std::min(size_, capacity_ - head_);
        return {std::span<const std::byte>(data_.get() + head_, first),
                std::span<const std::byte>(data_.get(), size_ - first)};
    }

    // Copies out.size() queued bytes starting `offset` bytes from the front.
    void copy_out(std::size_t offset, std::span<std::byte> out) const noexcept {
        PAXOS_ASSERT(offset <= size_);
        PAXOS_ASSERT(out.size() <= size_ - offset);
        for (std::size_t i = 0; i < out.size(); ++i) {
            out[i] = data_[(head_ + offset + i) % capacity_];
        }
    }

    // Forgets the oldest `n` bytes.
    void pop(std::size_t n) noexcept {
        PAXOS_ASSERT(n <= size_);
        size_ -= n;
        head_ = size_ == 0 ? 0 : (head_ + n) % capacity_;
    }

    void clear() noexcept {
        size_ = 0;
        head_ = 0;
    }

private:
    static void copy(std::span<const std::byte> from, std::byte* to) noexcept {
        if (!from.empty()) std::memcpy(to, from.data(), from.size());
    }

    std::unique_ptr<std::byte[]> data_;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace paxos::inline v0::net
