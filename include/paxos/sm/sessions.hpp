// paxos/sm/sessions.hpp: exactly-once execution of retried commands, decided
// inside the replicated state machine.
//
// Why: a client that gets no answer (a leader crashed, a reply was lost)
// must retry, and a retried command can be chosen twice. Paxos makes every
// replica apply the same log, so the fix belongs at apply time: every replica
// keeps the same table of client sessions and makes the same decision for
// each command (Raft thesis, section 6.3; TigerBeetle's client sessions).
//
// The model:
//   1. A client registers through the log. register_client(slot) opens a
//      session and returns its id: the registration's rank among all
//      registrations (1, 2, 3, ...), the same on every replica. (The thesis
//      uses the registration's log index; a rank stays unique when several
//      registrations share one slot of a batch.)
//   2. Every command carries (client id, sequence number), numbers from 1
//      up, one command outstanding per client. A retry reuses its number.
//   3. At apply, decide(client, seq, slot) says: execute (a new number),
//      duplicate (answer with the saved reply, never execute again), stale
//      (older than the client's last command: it has moved on), or
//      session_unknown / session_evicted (not executed; the client must
//      register again). After an execute, save_reply() keeps the reply;
//      apply() does both around a callback.
//
// Eviction: the table has a fixed capacity. A registration into a full table
// evicts the session committed least recently (the smallest slot of its last
// command or registration; ties by the smaller id), as TigerBeetle does. The
// Raft thesis instead expires sessions by log time (the leader stamps
// entries with its clock; a session idle for longer than a timeout expires).
// We evict by commit order because the log carries no clock here (the core
// reads none), there is no timeout to tune, and a session lives as long as
// there is room. The cost is the same as the thesis's in kind: a client idle
// while many others register is evicted and told so, never silently
// re-executed. A client whose session was evicted cannot know whether its
// outstanding command was executed (see client_session.hpp).
//
// Invariants: at most SessionsMax sessions; sessions are sorted by id in
// by_id_; last_seq never decreases within a session; a saved reply is at
// most ReplyBytesMax bytes; slots passed in never decrease. Nothing here
// allocates: the table is one object of fixed size (about ReplyBytesMax + 40
// bytes per session; place a large one in static storage, or allocate it
// once at start-up).
//
// Snapshots: save() writes a versioned little-endian image with a CRC-32C;
// load() checks everything before it changes anything, so a corrupt or
// truncated image is refused with a reason and the table is left as it was.
// The image lists sessions in id order, so equal tables give equal bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>

#include "../assert.hpp"
#include "../core/types.hpp"
#include "../detail/crc32c.hpp"

namespace paxos::inline v0::sm {

// A client session's id; 0 is never issued.
struct client_id {
    std::uint64_t value = 0;

    constexpr client_id() = default;
    constexpr explicit client_id(std::uint64_t v) noexcept : value(v) {}

    friend constexpr bool operator==(client_id, client_id) = default;
    friend constexpr auto operator<=>(client_id, client_id) = default;
};

enum class decision : std::uint8_t {
    execute,          // a new command: execute it, then save_reply()
    duplicate,        // executed before: answer with the saved reply, do not execute
    stale,            // older than the client's last command: the client moved on; do nothing
    session_unknown,  // no session was ever registered under this id: do not execute
    session_evicted,  // the session was evicted: do not execute; the client registers again
};

constexpr const char* to_string(decision d) noexcept {
    switch (d) {
        case decision::execute: return "execute";
        case decision::duplicate: return "duplicate: answered from the session table";
        case decision::stale: return "stale: older than the client's last command";
        case decision::session_unknown: return "no such session: register first";
        case decision::session_evicted: return "session evicted: register again";
    }
    return "unknown decision";
}

struct decide_result {
    decision what = decision::session_unknown;
    // duplicate (and apply()'s execute): the reply saved for this command.
    // Valid until the table next changes.
    std::span<const std::byte> reply;
    // duplicate: the command was executed but its reply was too large to keep.
    bool reply_lost = false;

    constexpr bool executes() const noexcept { return what == decision::execute; }
};

struct registration {
    client_id client;   // the new session
    client_id evicted;  // the session evicted to make room, or client_id{} (0)
};

enum class reply_status : std::uint8_t {
    ok,
    too_large,  // longer than ReplyBytesMax: not kept; a duplicate gets reply_lost
};

enum class image_status : std::uint8_t {
    ok,
    buffer_too_small,     // save(): the buffer is shorter than image_size()
    truncated,            // shorter than its header or than the size it records
    bad_magic,            // not a session-table image
    unsupported_version,  // written by a newer format
    size_mismatch,        // longer than the size it records
    checksum_mismatch,    // the CRC-32C does not match: damaged
    too_many_sessions,    // more sessions than this table's SessionsMax
    reply_too_large,      // a saved reply longer than this table's ReplyBytesMax
    inconsistent,         // the checksum matches but the fields contradict each other
};

constexpr const char* to_string(image_status s) noexcept {
    switch (s) {
        case image_status::ok: return "ok";
        case image_status::buffer_too_small: return "buffer too small for the image";
        case image_status::truncated: return "image truncated";
        case image_status::bad_magic: return "not a session table image";
        case image_status::unsupported_version: return "unsupported image version";
        case image_status::size_mismatch: return "image longer than its recorded size";
        case image_status::checksum_mismatch: return "image checksum mismatch";
        case image_status::too_many_sessions: return "image holds more sessions than fit";
        case image_status::reply_too_large: return "image holds a reply larger than fits";
        case image_status::inconsistent: return "image fields inconsistent";
    }
    return "unknown image status";
}

// A reply passed as an object rather than as bytes.
template <class Reply>
concept reply_object = !std::is_convertible_v<const Reply&, std::span<const std::byte>>;

struct save_result {
    image_status status = image_status::ok;
    std::size_t bytes = 0;  // written, when ok
};

template <std::size_t SessionsMax, std::size_t ReplyBytesMax>
class session_table {
    static_assert(SessionsMax >= 1, "session_table: SessionsMax must be at least 1");
    static_assert(SessionsMax <= 0xFFFFFFFFu, "session_table: SessionsMax must fit 32 bits");
    static_assert(ReplyBytesMax <= 0xFFFFFFFFu, "session_table: ReplyBytesMax must fit 32 bits");

public:
    static constexpr std::size_t sessions_max = SessionsMax;
    static constexpr std::size_t reply_bytes_max = ReplyBytesMax;
    static constexpr std::uint16_t image_version = 1;
    static constexpr std::size_t image_header_bytes = 32;
    static constexpr std::size_t image_session_bytes = 29;  // without its reply
    static constexpr std::size_t image_bytes_max =
        image_header_bytes + SessionsMax * (image_session_bytes + ReplyBytesMax) + 4;
    static_assert(image_bytes_max <= 0xFFFFFFFFu,
                  "session_table: SessionsMax * ReplyBytesMax too large for a snapshot image");

    // Opens a session for a registration applied at `slot`; evicts the least
    // recently committed session if the table is full.
    registration register_client(slot_id slot) noexcept {
        PAXOS_ASSERT(pending_ == none);  // save_reply() follows every execute
        note_slot(slot);
        registration out;
        std::uint32_t index = count_;
        if (count_ == SessionsMax) {
            index = least_recent();
            out.evicted = client_id{sessions_[index].client};
            remove_from_order(index);
        } else {
            ++count_;
        }
        PAXOS_ASSERT(next_client_ < ~std::uint64_t{0});
        out.client = client_id{next_client_++};
        session& s = sessions_[index];
        s = session{};
        s.client = out.client.value;
        s.last_commit = slot.value;
        // Ids only grow, so the new session goes last in id order.
        by_id_[count_ - 1] = index;
        PAXOS_ASSERT(count_ == 1 || sessions_[by_id_[count_ - 2]].client < s.client);
        return out;
    }

    // Decides what to do with command `seq` of `client`, applied at `slot`.
    // After `execute`, call save_reply() before any other change to the table.
    decide_result decide(client_id client, std::uint64_t seq, slot_id slot) noexcept {
        PAXOS_ASSERT(pending_ == none);  // save_reply() follows every execute
        session* executing = nullptr;
        const decide_result out = decide_at(client, seq, slot, executing);
        if (executing != nullptr)
            pending_ = static_cast<std::uint32_t>(executing - sessions_.data());
        return out;
    }

    // Keeps the reply of the command decide() just said to execute. A reply
    // longer than ReplyBytesMax is not kept: it returns too_large, and a
    // duplicate of that command gets reply_lost (it is still never re-run).
    [[nodiscard]] reply_status save_reply(client_id client,
                                          std::span<const std::byte> reply) noexcept {
        PAXOS_ASSERT(pending_ != none);  // only after decide() said execute
        session& s = sessions_[pending_];
        PAXOS_ASSERT(s.client == client.value);
        pending_ = none;
        if (reply.size() > ReplyBytesMax) {
            s.reply_lost = true;
            return reply_status::too_large;
        }
        if (!reply.empty()) std::memcpy(s.reply.data(), reply.data(), reply.size());
        s.reply_bytes = static_cast<std::uint32_t>(reply.size());
        return reply_status::ok;
    }

    // The same for a reply of trivially copyable type (not bytes already):
    // its size is checked at compile time.
    template <reply_object Reply>
    [[nodiscard]] reply_status save_reply(client_id client, const Reply& reply) noexcept {
        static_assert(std::is_trivially_copyable_v<Reply>,
                      "session_table::save_reply: pass a trivially copyable reply, or its bytes "
                      "as std::span<const std::byte>");
        static_assert(sizeof(Reply) <= ReplyBytesMax,
                      "session_table::save_reply: the reply type is larger than ReplyBytesMax; "
                      "raise the table's ReplyBytesMax or shrink the reply");
        return save_reply(client, std::span<const std::byte>(
                                      std::as_bytes(std::span<const Reply, 1>(&reply, 1))));
    }

    // decide(), and on execute: runs `execute(buffer)`, which writes the reply
    // into `buffer` (std::span<std::byte, ReplyBytesMax>) and returns its
    // length, then keeps it. The reply cannot outgrow the table by construction.
    template <class Execute>
    decide_result apply(client_id client, std::uint64_t seq, slot_id slot, Execute&& execute) {
        PAXOS_ASSERT(pending_ == none);  // save_reply() follows every execute
        session* executing = nullptr;
        decide_result out = decide_at(client, seq, slot, executing);
        if (executing == nullptr) return out;
        const std::size_t length = execute(std::span<std::byte, ReplyBytesMax>(executing->reply));
        PAXOS_ASSERT(length <= ReplyBytesMax);
        executing->reply_bytes = static_cast<std::uint32_t>(length);
        out.reply = std::span<const std::byte>(executing->reply.data(), executing->reply_bytes);
        return out;
    }

    // --- queries ------------------------------------------------------------

    struct session_view {
        client_id client;
        std::uint64_t last_seq = 0;  // 0: registered, no command yet
        slot_id last_commit;
        std::span<const std::byte> reply;
        bool reply_lost = false;
    };

    std::size_t size() const noexcept { return count_; }
    bool contains(client_id client) const noexcept { return index_of(client) != none; }
    std::optional<session_view> session_of(client_id client) const noexcept {
        const std::uint32_t index = index_of(client);
        if (index == none) return std::nullopt;
        return view(sessions_[index]);
    }
    // Calls f(session_view) for each session, in id order.
    template <class F>
    void for_each(F&& f) const {
        for (std::uint32_t i = 0; i < count_; ++i) f(view(sessions_[by_id_[i]]));
    }

    // --- snapshots ----------------------------------------------------------

    std::size_t image_size() const noexcept {
        std::size_t bytes = image_header_bytes + 4;
        for (std::uint32_t i = 0; i < count_; ++i)
            bytes += image_session_bytes + sessions_[by_id_[i]].reply_bytes;
        return bytes;
    }

    // Writes the image into `out` (at most image_bytes_max bytes are needed).
    [[nodiscard]] save_result save(std::span<std::byte> out) const noexcept {
        PAXOS_ASSERT(pending_ == none);  // not between decide() and save_reply()
        const std::size_t total = image_size();
        if (out.size() < total) return {image_status::buffer_too_small, 0};
        std::size_t at = 0;
        for (const std::byte b : magic) out[at++] = b;
        at = put(out, at, image_version, 2);
        at = put(out, at, 0, 2);  // reserved
        at = put(out, at, total, 4);
        at = put(out, at, count_, 4);
        at = put(out, at, next_client_, 8);
        at = put(out, at, last_slot_, 8);
        PAXOS_ASSERT(at == image_header_bytes);
        for (std::uint32_t i = 0; i < count_; ++i) {
            const session& s = sessions_[by_id_[i]];
            at = put(out, at, s.client, 8);
            at = put(out, at, s.last_seq, 8);
            at = put(out, at, s.last_commit, 8);
            at = put(out, at, s.reply_bytes, 4);
            at = put(out, at, s.reply_lost ? 1u : 0u, 1);
            for (std::uint32_t b = 0; b < s.reply_bytes; ++b) out[at++] = s.reply[b];
        }
        at = put(out, at, detail::crc32c(out.first(at)), 4);
        PAXOS_ASSERT(at == total);
        return {image_status::ok, total};
    }

    // Replaces the table with an image from save(). Everything is checked
    // first; on any refusal the table is unchanged.
    [[nodiscard]] image_status load(std::span<const std::byte> image) noexcept {
        PAXOS_ASSERT(pending_ == none);
        if (const image_status st = check_image(image); st != image_status::ok) return st;
        count_ = static_cast<std::uint32_t>(get(image, 12, 4));
        next_client_ = get(image, 16, 8);
        last_slot_ = get(image, 24, 8);
        std::size_t at = image_header_bytes;
        for (std::uint32_t i = 0; i < count_; ++i) {
            session& s = sessions_[i];
            s = session{};
            s.client = get(image, at, 8);
            s.last_seq = get(image, at + 8, 8);
            s.last_commit = get(image, at + 16, 8);
            s.reply_bytes = static_cast<std::uint32_t>(get(image, at + 24, 4));
            s.reply_lost = get(image, at + 28, 1) != 0;
            at += image_session_bytes;
            for (std::uint32_t b = 0; b < s.reply_bytes; ++b) s.reply[b] = image[at++];
            by_id_[i] = i;
        }
        return image_status::ok;
    }

private:
    static constexpr std::uint32_t none = 0xFFFFFFFFu;
    static constexpr std::array<std::byte, 4> magic = {std::byte{'P'}, std::byte{'X'},
                                                       std::byte{'S'}, std::byte{'T'}};

    struct session {
        std::uint64_t client = 0;
        std::uint64_t last_seq = 0;
        std::uint64_t last_commit = 0;  // slot of its last command or its registration
        std::uint32_t reply_bytes = 0;
        bool reply_lost = false;
        std::array<std::byte, ReplyBytesMax> reply{};
    };

    // decide() without the bookkeeping of save_reply(): `executing` is set
    // to the session whose command is to run, if any.
    decide_result decide_at(client_id client, std::uint64_t seq, slot_id slot,
                            session*& executing) noexcept {
        note_slot(slot);
        decide_result out;
        const std::uint32_t index = index_of(client);
        if (index == none) {
            const bool issued = client.value != 0 && client.value < next_client_;
            out.what = issued ? decision::session_evicted : decision::session_unknown;
            return out;
        }
        session& s = sessions_[index];
        // Numbers start at 1; 0 names the registration itself and is stale.
        if (seq < s.last_seq || seq == 0) {
            out.what = decision::stale;
            return out;
        }
        s.last_commit = slot.value;  // the client is alive: refresh its place in eviction order
        if (seq == s.last_seq) {
            out.what = decision::duplicate;
            out.reply = std::span<const std::byte>(s.reply.data(), s.reply_bytes);
            out.reply_lost = s.reply_lost;
            return out;
        }
        PAXOS_ASSERT(seq > s.last_seq);
        s.last_seq = seq;
        s.reply_bytes = 0;
        s.reply_lost = false;
        executing = &s;
        out.what = decision::execute;
        return out;
    }

    void note_slot(slot_id slot) noexcept {
        PAXOS_ASSERT(slot.value < slot_id::limit);
        PAXOS_ASSERT(slot.value >= last_slot_);  // commands are applied in log order
        last_slot_ = slot.value;
    }

    static session_view view(const session& s) noexcept {
        return session_view{client_id{s.client}, s.last_seq, slot_id{s.last_commit},
                            std::span<const std::byte>(s.reply.data(), s.reply_bytes),
                            s.reply_lost};
    }

    // Binary search over by_id_.
    std::uint32_t index_of(client_id client) const noexcept {
        std::uint32_t low = 0;
        std::uint32_t high = count_;
        while (low < high) {
            const std::uint32_t mid = low + (high - low) / 2;
            const std::uint64_t id = sessions_[by_id_[mid]].client;
            if (id == client.value) return by_id_[mid];
            if (id < client.value) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return none;
    }

    // The session to evict: smallest last_commit, then smallest id.
    std::uint32_t least_recent() const noexcept {
        PAXOS_ASSERT(count_ > 0);
        std::uint32_t best = 0;
        for (std::uint32_t i = 1; i < count_; ++i) {
            const session& a = sessions_[i];
            const session& b = sessions_[best];
            if (a.last_commit < b.last_commit ||
                (a.last_commit == b.last_commit && a.client < b.client))
                best = i;
        }
        return best;
    }

    // Drops the session stored at `index` from the id order (count_ stays:
    // the caller reuses the storage).
    void remove_from_order(std::uint32_t index) noexcept {
        std::uint32_t i = 0;
        while (by_id_[i] != index) ++i;
        PAXOS_ASSERT(i < count_);
        for (; i + 1 < count_; ++i) by_id_[i] = by_id_[i + 1];
    }

    static std::size_t put(std::span<std::byte> out, std::size_t at, std::uint64_t v,
                           std::size_t bytes) noexcept {
        for (std::size_t i = 0; i < bytes; ++i) out[at + i] = std::byte((v >> (8 * i)) & 0xFF);
        return at + bytes;
    }
    static std::uint64_t get(std::span<const std::byte> in, std::size_t at,
                             std::size_t bytes) noexcept {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < bytes; ++i) v |= std::uint64_t(in[at + i]) << (8 * i);
        return v;
    }

    // Every check load() needs, touching nothing.
    image_status check_image(std::span<const std::byte> image) const noexcept {
        if (image.size() < image_header_bytes + 4) return image_status::truncated;
        for (std::size_t i = 0; i < magic.size(); ++i)
            if (image[i] != magic[i]) return image_status::bad_magic;
        if (get(image, 4, 2) != image_version) return image_status::unsupported_version;
        const std::uint64_t total = get(image, 8, 4);
        if (total > image.size()) return image_status::truncated;
        if (total < image.size()) return image_status::size_mismatch;
        const std::uint64_t crc = get(image, image.size() - 4, 4);
        if (detail::crc32c(image.first(image.size() - 4)) != crc)
            return image_status::checksum_mismatch;
        if (get(image, 6, 2) != 0) return image_status::inconsistent;
        const std::uint64_t count = get(image, 12, 4);
        if (count > SessionsMax) return image_status::too_many_sessions;
        const std::uint64_t next_client = get(image, 16, 8);
        const std::uint64_t last_slot = get(image, 24, 8);
        if (next_client == 0 || last_slot >= slot_id::limit) return image_status::inconsistent;
        std::size_t at = image_header_bytes;
        std::uint64_t previous = 0;
        for (std::uint64_t i = 0; i < count; ++i) {
            if (image.size() - 4 - at < image_session_bytes) return image_status::inconsistent;
            const std::uint64_t client = get(image, at, 8);
            const std::uint64_t last_commit = get(image, at + 16, 8);
            const std::uint64_t reply_bytes = get(image, at + 24, 4);
            const std::uint64_t flags = get(image, at + 28, 1);
            // Ids strictly increase and were issued; no commit after the image's slot.
            if (client <= previous || client >= next_client) return image_status::inconsistent;
            if (last_commit > last_slot || flags > 1) return image_status::inconsistent;
            if (flags == 1 && reply_bytes != 0) return image_status::inconsistent;
            if (reply_bytes > ReplyBytesMax) return image_status::reply_too_large;
            at += image_session_bytes;
            if (image.size() - 4 - at < reply_bytes) return image_status::inconsistent;
            at += reply_bytes;
            previous = client;
        }
        if (at != image.size() - 4) return image_status::inconsistent;
        return image_status::ok;
    }

    std::array<session, SessionsMax> sessions_{};     // [0, count_) in use
    std::array<std::uint32_t, SessionsMax> by_id_{};  // indices into sessions_, by client id
    std::uint32_t count_ = 0;
    std::uint64_t next_client_ = 1;
    std::uint64_t last_slot_ = 0;
    std::uint32_t pending_ = none;  // the session whose reply save_reply() is owed
};

}  // namespace paxos::inline v0::sm
