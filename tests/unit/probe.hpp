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
    using message_type = typename replica_type::message_buffer;
    using ballot_type = typename Config::ballot;
    using kind = paxos::message_kind;

    struct batch {
        ballot_type promised{};
        bool promised_changed = false;
        std::vector<std::pair<std::uint64_t, ballot_type>> accepted;  // (slot, ballot)
        std::vector<message_type> messages;  // both groups: send_now, then send_after_sync
        std::size_t sent_now = 0;            // how many of them were in send_now
        std::vector<std::uint64_t> chosen;
        std::vector<std::vector<paxos::proposal_tag>> chosen_tags;  // per chosen entry
        std::vector<paxos::dropped_proposal> dropped;
        std::vector<paxos::read_ready> reads;
        std::vector<paxos::read_tag> reads_dropped;

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
        // The read round the batch's heartbeat carries (0: none sent).
        std::uint64_t round() const {
            const message_type* hb = first(kind::heartbeat);
            return hb == nullptr ? 0 : hb->slot.value;
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

    // One vote a promise reports: (slot, ballot, values), or a slot known chosen.
    struct reported {
        std::uint64_t slot = 0;
        ballot_type ballot{};
        std::initializer_list<int> values{};
        bool chosen = false;
    };

    // A promise of ballot b for every slot from `from_slot`, reporting `votes`.
    static message_type promise(std::uint16_t from, std::uint16_t to, ballot_type b,
                                std::uint64_t from_slot, std::initializer_list<reported> votes = {},
                                std::uint8_t part = 0, std::uint8_t parts = 1) {
        message_type m = make(kind::promise, from, to, b, from_slot);
        m.part = part;
        m.parts = parts;
        for (const reported& v : votes) {
            m.votes.push_back(paxos::vote_report<ballot_type>{
                paxos::slot_id{v.slot}, v.ballot, static_cast<std::uint32_t>(v.values.size()),
                v.chosen});
            for (int x : v.values) m.values.push_back(typename Config::value_type(x));
        }
        return m;
    }

    // A follower's answer to read round `round` of leader 0 in ballot `b`.
    static message_type heartbeat_reply(std::uint16_t from, ballot_type b, std::uint64_t round) {
        return make(kind::heartbeat_reply, from, 0, b, round);
    }

    // Makes `r` leader: campaign(), then a promise from `voter` for every
    // slot. Returns its ballot.
    static ballot_type elect(replica_type& r, std::uint16_t voter) {
        REQUIRE(r.campaign().ok());
        const auto out = take(r);
        const message_type* prepare = out.first(kind::prepare);
        REQUIRE(prepare != nullptr);
        const ballot_type b = prepare->ballot;
        REQUIRE(r.step(promise(voter, r.self().value, b, 0)).ok());
        (void)take(r);
        REQUIRE(r.is_leader());
        return b;
    }

    // Takes the replica's ready batch (if any) and acknowledges it.
    static batch take(replica_type& r) {
        batch out;
        if (!r.has_ready()) return out;
        const auto& rd = r.ready();
        out.promised = rd.promised;
        out.promised_changed = rd.promised_changed;
        for (const auto& a : rd.accepted) out.accepted.emplace_back(a.slot.value, a.ballot);
        for (const auto& m : rd.send_now) out.messages.emplace_back(m);
        out.sent_now = out.messages.size();
        for (const auto& m : rd.send_after_sync) out.messages.emplace_back(m);
        for (const auto& c : rd.chosen) {
            out.chosen.push_back(c.slot.value);
            out.chosen_tags.emplace_back(c.tags.begin(), c.tags.end());
        }
        out.dropped.assign(rd.dropped.begin(), rd.dropped.end());
        out.reads.assign(rd.reads.begin(), rd.reads.end());
        out.reads_dropped.assign(rd.reads_dropped.begin(), rd.reads_dropped.end());
        r.advance(rd);
        return out;
    }
};

}  // namespace paxos_test
