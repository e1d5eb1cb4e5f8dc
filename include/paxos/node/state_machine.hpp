// paxos/node/state_machine.hpp: what a state machine run by the node driver
// (node/driver.hpp) sees, and the concept it must satisfy.
//
//   apply(slot, commands, replies&)  every replica, every chosen slot, in
//                                    slot order; answer each command once
//   request_of(command)              the session request a command is
//                                    (client id, sequence number)
//   save_snapshot(writer) const      the whole state, through the last slot
//                                    applied
//   load_snapshot(reader)            the state back, at start()
//
// The session table (sm/sessions.hpp) is what makes a retried command run
// once; its decision is what apply() hands to replies::answer().
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "../core/types.hpp"
#include "../sm/client_session.hpp"
#include "../sm/sessions.hpp"
#include "../storage/snapshot_store.hpp"
#include "../wire/bytes.hpp"
#include "client_protocol.hpp"

namespace paxos::inline v0::node {

// ---- what the state machine sees ---------------------------------------------------

// How apply() answers the command it applied. answer() for an ordinary
// command (with the session table's decision and reply), registered() for a
// registration (the reply is the new id, 8 bytes little-endian). One call
// per command; a command nobody waits for costs one lookup.
class replies {
public:
    using sink_fn = void (*)(void* context, sm::request_id, answer_status,
                             std::span<const std::byte>);

    replies() noexcept = default;
    replies(void* context, sink_fn sink) noexcept : context_(context), sink_(sink) {}

    void answer(sm::request_id id, answer_status s, std::span<const std::byte> reply = {}) {
        if (sink_ != nullptr) sink_(context_, id, s, reply);
    }
    void answer(sm::request_id id, const sm::decide_result& d) {
        answer(id, answer_of(d.what), d.reply);
    }
    void registered(sm::request_id id, sm::client_id issued) {
        std::array<std::byte, 8> bytes{};
        wire::writer w(bytes);
        w.put_u64(issued.value);
        answer(id, answer_status::executed, bytes);
    }

private:
    void* context_ = nullptr;
    sink_fn sink_ = nullptr;  // none while replaying the log at start()
};

// save_snapshot() writes its state through this; load_snapshot() reads it.
class snapshot_writer {
public:
    explicit snapshot_writer(storage::snapshot_store<>& store) noexcept : store_(store) {}
    bool write(std::span<const std::byte> bytes) {
        return store_.append(bytes) == storage::snapshot_status::ok;
    }
    template <class T>
    requires std::is_trivially_copyable_v<T>
    bool write_object(const T& object) {
        return write(std::as_bytes(std::span<const T, 1>(&object, 1)));
    }

private:
    storage::snapshot_store<>& store_;
};

class snapshot_reader {
public:
    snapshot_reader(storage::snapshot_store<>& store, const storage::snapshot_info& info) noexcept
        : store_(store), info_(info) {}
    std::uint64_t size_bytes() const noexcept { return info_.size_bytes; }
    std::uint64_t remaining_bytes() const noexcept { return info_.size_bytes - offset_; }
    // Reads exactly out.size() bytes, or returns false (short or damaged).
    bool read(std::span<std::byte> out) {
        if (out.size() > remaining_bytes()) return false;
        const auto got = store_.read(info_.slot, offset_, out);
        if (got.code != storage::snapshot_status::ok || got.bytes != out.size()) return false;
        offset_ += out.size();
        return true;
    }
    template <class T>
    requires std::is_trivially_copyable_v<T>
    bool read_object(T& object) {
        return read(std::as_writable_bytes(std::span<T, 1>(&object, 1)));
    }

private:
    storage::snapshot_store<>& store_;
    storage::snapshot_info info_;
    std::uint64_t offset_ = 0;
};

// A state machine applies chosen commands in slot order and saves and loads
// its whole state. request_of(v) names the session request a command is
// (sm/sessions.hpp), which is how a chosen command finds its waiting client.
template <class S, class Config>
concept state_machine = requires(S& s, const S& cs, slot_id slot,
                                 std::span<const typename Config::value_type> cmds,
                                 const typename Config::value_type& v, replies& out,
                                 snapshot_writer& w, snapshot_reader& r) {
    s.apply(slot, cmds, out);
    { S::request_of(v) } -> std::same_as<sm::request_id>;
    { cs.save_snapshot(w) } -> std::same_as<bool>;
    { s.load_snapshot(r) } -> std::same_as<bool>;
};

}  // namespace paxos::inline v0::node
