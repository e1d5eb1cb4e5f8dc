// tests/unit/probe.hpp: drive one replica by hand with crafted messages.
//
// The safety-rule tests talk to a single replica as its peers would, so each
// test can name the exact message that a rule is about.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include <paxos/paxos.hpp>

namespace paxos_test {

template <class Config>
struct probe {
    using replica_type = paxos::replica<Config>;
    using message_type = typename replica_type::message_type;
    using ballot_type = typename Config::ballot;
    using kind = paxos::message_kind;

    struct batch {
        ballot_type promised{};
        bool promised_changed = false;
        std::vector<std::pair<std::uint64_t, ballot_type>> accepted;  // (slot, ballot)
        std::vector<message_type> messages;
        std::vector<std::uint64_t> chosen;

        std::size_t count(kind k) const {
            std::size_t n = 0;
            for (const auto& m : messages) n += m.kind == k ? 1 : 0;
            return n;
        }
        const message_type* first(kind k) const {
            for (const auto& m : messages) {
                if (m.kind == k) return &m;
            }
            return nullptr;
        }
    };

    // counter_ballot<N>: ballot `counter` of `node`.
    static ballot_type ballot(std::uint64_t counter, std::uint16_t node) {
        return ballot_type::from_raw(counter * Config::ballot::max_nodes + node);
    }

    static typename replica_type::options options(std::uint16_t self) {
        typename replica_type::options o{};
        o.self = paxos::node_id{self};
        o.seed = 42 + self;
        return o;
    }

    static message_type make(kind k, std::uint16_t from, std::uint16_t to, ballot_type b,
                             std::uint64_t slot = 0, std::initializer_list<int> values = {}) {
        message_type m{};
        m.kind = k;
        m.from = paxos::node_id{from};
        m.to = paxos::node_id{to};
        m.ballot = b;
        m.slot = paxos::slot_id{slot};
        // A leader's own chosen notice says it chose in its ballot.
        if (k == kind::chosen) m.accepted_ballot = b;
        for (int v : values) m.values.push_back(typename Config::value_type(v));
        return m;
    }

    // A promise_entry reporting a vote (accepted_ballot, values) for `slot`.
    static message_type entry(std::uint16_t from, std::uint16_t to, ballot_type promise,
                              std::uint64_t slot, ballot_type vote,
                              std::initializer_list<int> values) {
        message_type m = make(kind::promise_entry, from, to, promise, slot, values);
        m.accepted_ballot = vote;
        return m;
    }
    static message_type promise(std::uint16_t from, std::uint16_t to, ballot_type b,
                                std::uint64_t from_slot, std::uint32_t count) {
        message_type m = make(kind::promise, from, to, b, from_slot);
        m.count = count;
        return m;
    }

    // Takes the replica's ready batch (if any) and acknowledges it.
    static batch take(replica_type& r) {
        batch out;
        if (!r.has_ready()) return out;
        const auto& rd = r.ready();
        out.promised = rd.promised;
        out.promised_changed = rd.promised_changed;
        for (const auto& a : rd.accepted) out.accepted.emplace_back(a.slot.value, a.ballot);
        out.messages.assign(rd.messages.begin(), rd.messages.end());
        for (const auto& c : rd.chosen) out.chosen.push_back(c.slot.value);
        r.advance(rd);
        return out;
    }
};

}  // namespace paxos_test
