// tests/scenario/env.hpp: the environment the scenario commands act on.
//
// One cluster of one configuration, in the manner of etcd's
// rafttest.InteractionEnv: real replicas driven by paxos::sim::harness
// (sim/harness.hpp, the ready loop every simulation shares, with a sync that
// takes no time here), a network the script controls message by message,
// partitions, crash and restart from each node's synced store, and the text
// every command prints. The commands themselves are in handlers.cpp, one
// handler each; the script format and main() are in runner.cpp.
//
// Two checks run from outside the replicas after every command and print a
// `!!` line on failure, so a golden file can never hold a silent violation:
// persist-before-send (sim/checkers.hpp's durable_view: every promise,
// prepare, accept and accepted is backed by synced state) and agreement
// (applied logs never differ in a slot).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <paxos/paxos.hpp>
#include <paxos/sim/checkers.hpp>
#include <paxos/sim/harness.hpp>
#include <paxos/storage/durable_state.hpp>
#include <paxos/storage/memory_store.hpp>

namespace scenario {

// A mistake in a script (unknown command, bad argument): fatal, never golden.
struct script_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct command {
    std::string text;  // the line as written
    std::vector<std::string> args;
    std::size_t line = 0;
};

using lines = std::vector<std::string>;

inline std::vector<std::string> split(std::string_view s) {
    std::vector<std::string> out;
    std::string word;
    for (char c : s) {
        if (c == ' ' || c == '\t') {
            if (!word.empty()) out.push_back(word);
            word.clear();
        } else {
            word.push_back(c);
        }
    }
    if (!word.empty()) out.push_back(word);
    return out;
}

inline std::uint64_t parse_u64(std::string_view s, std::string_view what) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
        throw script_error("expected a number for " + std::string(what) + ", got '" +
                           std::string(s) + "'");
    }
    return v;
}

inline int parse_int(std::string_view s, std::string_view what) {
    int v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
        throw script_error("expected an integer for " + std::string(what) + ", got '" +
                           std::string(s) + "'");
    }
    return v;
}

inline std::optional<paxos::message_kind> kind_by_name(std::string_view name) {
    for (std::uint8_t k = 1; k <= paxos::message_kind_count; ++k) {
        const auto kind = static_cast<paxos::message_kind>(k);
        if (name == paxos::to_string(kind)) return kind;
    }
    return std::nullopt;
}

inline bool is_phase1(paxos::message_kind k) {
    return k == paxos::message_kind::prepare || k == paxos::message_kind::promise ||
           k == paxos::message_kind::reject;
}

inline std::string values_text(std::span<const int> values) {
    if (values.empty()) return "noop";
    std::string s = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) s += ' ';
        s += std::to_string(values[i]);
    }
    return s + "]";
}

// Which messages a deliver/drop/duplicate command is about.
struct message_filter {
    int from = -1;  // -1: any
    int to = -1;
    std::set<paxos::message_kind> kinds;  // empty: any
    std::optional<std::uint64_t> slot;    // empty: any
    std::size_t limit = SIZE_MAX;
    bool phase1_first = false;  // deliver: Phase-1 traffic overtakes the rest
    bool quiet = false;         // deliver: counts instead of one line per message
};

// What runner.cpp sees of an environment: one command at a time.
class engine_base {
public:
    virtual ~engine_base() = default;
    virtual void run(const command& c, lines& out) = 0;
};

// `config <variant> <nodes...> [seed=K]`: a fresh environment (handlers.cpp).
std::unique_ptr<engine_base> make_engine(const std::vector<std::string>& a, lines& out);

template <class Config>
class env {
public:
    using replica_type = paxos::replica<Config>;
    using message_type = typename replica_type::message_type;
    using message_buffer = typename replica_type::message_buffer;
    using ballot_type = typename Config::ballot;
    using ready_type = typename replica_type::ready_type;
    using store_type = paxos::storage::memory_store<Config>;
    using harness_type = paxos::sim::harness<Config, env>;
    friend harness_type;

    // What the environment keeps per node beside the harness's replica and store.
    struct node {
        std::vector<std::vector<int>> log;  // the state machine: applied slots
        std::uint64_t restarts = 0;
    };
    struct envelope {
        std::size_t from = 0;
        std::size_t to = 0;
        message_buffer message;
    };

    explicit env(std::uint64_t s, bool check = true)
        : seed(s),
          check_quorum(check),
          cluster(*this, typename Config::quorum{}.node_count(), harness_options()) {
        const std::size_t n = cluster.size();
        nodes.resize(n);
        synced_.resize(n);
        for (std::size_t i = 0; i < n; ++i) cluster[i].replica = make_replica(i);
        group.assign(n, 0);
    }

    std::size_t size() const { return nodes.size(); }
    replica_type& replica(std::size_t i) { return cluster.replica_at(i); }
    const replica_type& replica(std::size_t i) const { return *cluster[i].replica; }
    bool down(std::size_t i) const { return !cluster[i].up; }

    // ---- formatting ----------------------------------------------------------------

    static std::string ballot_text(const ballot_type& b) {
        if (b.is_zero()) return "none";
        return std::to_string(b.counter()) + "." + std::to_string(b.node().value);
    }
    static std::string node_text(paxos::node_id n) {
        if (n == paxos::node_id::none()) return "none";
        if (n == paxos::node_id::broadcast()) return "*";
        return std::to_string(n.value);
    }
    static std::string role_text(paxos::role r) {
        switch (r) {
            case paxos::role::follower: return "follower";
            case paxos::role::candidate: return "candidate";
            case paxos::role::leader: return "leader";
        }
        return "?";
    }
    static std::string result_text(const paxos::result& r) {
        std::string s = paxos::to_string(r.code);
        if (r.code == paxos::reason::not_leader) s += " (leader=" + node_text(r.leader) + ")";
        return s;
    }

    // The body of a message: the fields its kind uses (core/message.hpp's table).
    static std::string message_text(const message_type& m) {
        using k = paxos::message_kind;
        std::string s = paxos::to_string(m.kind);
        s += " " + ballot_text(m.ballot);
        switch (m.kind) {
            case k::prepare:
            case k::accepted:
            case k::reject:
            case k::learn_request:
            case k::probe: s += " slot=" + std::to_string(m.slot.value); break;
            case k::probe_reply:
                s += m.slot.value == 1 ? " granted" : " refused";
                s += " promised=" + ballot_text(m.accepted_ballot);
                break;
            case k::promise: {
                s += " slot=" + std::to_string(m.slot.value);
                if (m.parts != 1) {
                    s += " part=" + std::to_string(m.part) + "/" + std::to_string(m.parts);
                }
                std::size_t at = 0;
                for (const auto& v : m.votes) {
                    s += " vote=" + std::to_string(v.slot.value) + "/" + ballot_text(v.ballot) +
                         "/" + values_text(m.values.subspan(at, v.value_count));
                    if (v.chosen) s += "/chosen";
                    at += v.value_count;
                }
                break;
            }
            case k::accept:
            case k::chosen:
                s += " slot=" + std::to_string(m.slot.value) + " " + values_text(m.values);
                break;
            case k::heartbeat:
            case k::heartbeat_reply:
                if (m.slot.value != 0) s += " round=" + std::to_string(m.slot.value);
                s += " chosen_end=" + std::to_string(m.chosen_end.value);
                break;
            case k::transfer: s += " chosen_end=" + std::to_string(m.chosen_end.value); break;
            case k::snapshot_chunk:
            case k::snapshot_ack:
                s += " slot=" + std::to_string(m.slot.value);
                if (m.snapshot == nullptr) break;
                s += " offset=" + std::to_string(m.snapshot->offset);
                s += " size=" + std::to_string(m.snapshot->size);
                if (m.kind == k::snapshot_chunk) {
                    s += " bytes=" + std::to_string(m.snapshot->bytes.size());
                }
                if (m.snapshot->resend) s += " resend";
                break;
        }
        return s;
    }
    static std::string envelope_text(const envelope& e) {
        return std::to_string(e.from) + "->" + std::to_string(e.to) + " " +
               message_text(e.message.view());
    }

    // ---- the driver ----------------------------------------------------------------

    std::unique_ptr<replica_type> make_replica(std::size_t i) {
        typename replica_type::options opts{};
        opts.self = paxos::node_id{static_cast<std::uint16_t>(i)};
        opts.seed = seed * 1000003 + i + 7919 * nodes[i].restarts;
        opts.check_quorum = check_quorum;
        return std::make_unique<replica_type>(opts);
    }

    std::size_t node_arg(const std::string& s) const {
        const std::uint64_t v = parse_u64(s, "a node");
        if (v >= nodes.size()) throw script_error("no node " + s);
        return static_cast<std::size_t>(v);
    }

    bool link_up(std::size_t from, std::size_t to) const {
        return group[from] == group[to] && !cuts.contains({from, to});
    }

    // The README's ready loop, through the harness: send what may leave at
    // once, persist, send the rest, apply, advance (the sync takes no time
    // here). With `show`, each batch is printed indented, in the order the
    // driver acts.
    void drain(std::size_t i, lines& out, bool show, bool serve_quiet = true) {
        out_ = &out;
        show_ = show;
        serve_quiet_ = serve_quiet;
        cluster.drain(i);
        out_ = nullptr;
    }

    // A state machine's snapshot: each applied slot as its count of values,
    // then the values, 4 bytes each (little-endian).
    static std::vector<std::byte> encode_state(const std::vector<std::vector<int>>& log) {
        std::vector<std::byte> out;
        auto put = [&](std::uint32_t v) {
            for (int b = 0; b < 4; ++b) out.push_back(static_cast<std::byte>(v >> (8 * b)));
        };
        for (const auto& entry : log) {
            put(static_cast<std::uint32_t>(entry.size()));
            for (int v : entry) put(static_cast<std::uint32_t>(v));
        }
        return out;
    }
    static bool decode_state(std::span<const std::byte> in, std::vector<std::vector<int>>& log) {
        std::size_t at = 0;
        auto get = [&](std::uint32_t& v) {
            if (in.size() - at < 4) return false;
            v = 0;
            for (int b = 0; b < 4; ++b) v |= std::to_integer<std::uint32_t>(in[at++]) << (8 * b);
            return true;
        };
        while (at < in.size()) {
            std::uint32_t n = 0;
            if (!get(n) || n > Config::batch_values_max) return false;
            std::vector<int> entry(n);
            for (auto& v : entry) {
                std::uint32_t x = 0;
                if (!get(x)) return false;
                v = static_cast<int>(x);
            }
            log.push_back(std::move(entry));
        }
        return true;
    }

    // The process dies; its store keeps only what was synced.
    void crash(std::size_t i) { cluster.crash(i, store_type::crash_mode::lose_unsynced, 0); }

    // Node i runs again on a replica the caller restored from its store.
    void restarted(std::size_t i) {
        cluster[i].up = true;
        synced_[i].absorb(checks_, 0, i, cluster[i].store.synced());
        take_violation();
    }

    void push(std::size_t from, std::size_t to, const message_buffer& m) {
        if (!link_up(from, to)) return;  // the partition swallows it
        net.push_back(envelope{from, to, m});
    }

    // What node i's store has synced, as the `durable` command prints it.
    struct durable_summary {
        ballot_type promised{};
        std::map<std::uint64_t, std::pair<ballot_type, std::vector<int>>> votes;
        std::uint64_t chosen = 0;
    };
    durable_summary durable_of(std::size_t i) const {
        durable_summary d;
        for (const auto& rec : cluster[i].store.synced()) {
            using rk = paxos::storage::record_kind;
            if (rec.kind == rk::promise || rec.kind == rk::vote) {
                d.promised = std::max(d.promised, rec.ballot);
            }
            if (rec.kind == rk::vote) {
                d.votes[rec.slot.value] = {rec.ballot,
                                           std::vector<int>(rec.values.begin(), rec.values.end())};
            }
            if (rec.kind == rk::chosen) ++d.chosen;
        }
        return d;
    }

    // Agreement: no two applied logs differ in a slot both have applied.
    void check(lines& out) {
        for (std::size_t a = 0; a < nodes.size() && violation_.empty(); ++a) {
            for (std::size_t b = a + 1; b < nodes.size(); ++b) {
                const auto& la = nodes[a].log;
                const auto& lb = nodes[b].log;
                for (std::size_t s = 0; s < std::min(la.size(), lb.size()); ++s) {
                    if (la[s] != lb[s]) {
                        note("agreement: slot " + std::to_string(s) + " is " + values_text(la[s]) +
                             " at node " + std::to_string(a) + " but " + values_text(lb[s]) +
                             " at node " + std::to_string(b));
                        break;
                    }
                }
            }
        }
        if (!violation_.empty() && !violation_reported_) {
            out.push_back("!! " + violation_);
            violation_reported_ = true;
        }
    }
    void note(const std::string& what) {
        if (violation_.empty()) violation_ = what;
    }

    // Delivers net[index]; prints a line (unless quiet) and the batch it
    // caused. Returns the step's reason, or nothing when the message was lost
    // (its destination is down, or a partition cut the link meanwhile).
    std::optional<paxos::reason> deliver_at(std::size_t index, lines& out, bool quiet) {
        const envelope e = net[index];
        net.erase(net.begin() + static_cast<std::ptrdiff_t>(index));
        if (down(e.to) || !link_up(e.from, e.to)) {
            if (!quiet) {
                out.push_back(envelope_text(e) + ": lost (" +
                              (down(e.to) ? "node down" : "partition") + ")");
            }
            return std::nullopt;
        }
        const paxos::result res = replica(e.to).step(e.message);
        if (!quiet) out.push_back(envelope_text(e) + ": " + result_text(res));
        drain(e.to, out, trace && !quiet, quiet);
        return res.code;
    }

    // README responsibility 8: slots the replica released from its window are
    // served from the driver's applied log.
    void serve_from_log(std::size_t self, const paxos::catch_up_request& asked, lines& out,
                        bool quiet) {
        replica_type& r = replica(self);
        const std::size_t peer = asked.peer.value;
        const std::uint64_t end = std::min<std::uint64_t>(asked.to.value, nodes[self].log.size());
        for (std::uint64_t s = asked.from.value; s < end; ++s) {
            const std::vector<int>& values = nodes[self].log[s];
            const message_type c =
                r.chosen_message_for(asked.peer, paxos::slot_id{s}, std::span<const int>(values));
            if (!quiet) {
                out.push_back("  serve from log " + std::to_string(self) + "->" +
                              std::to_string(peer) + " " + message_text(c));
            }
            cluster.fan_out(self, c);
        }
    }

    bool matches(const message_filter& f, const envelope& e) const {
        if (f.from >= 0 && static_cast<std::size_t>(f.from) != e.from) return false;
        if (f.to >= 0 && static_cast<std::size_t>(f.to) != e.to) return false;
        if (f.slot && e.message.slot.value != *f.slot) return false;
        return f.kinds.empty() || f.kinds.count(e.message.kind) != 0;
    }

    std::optional<std::size_t> pick(const message_filter& f) const {
        std::optional<std::size_t> first;
        for (std::size_t k = 0; k < net.size(); ++k) {
            if (!matches(f, net[k])) continue;
            if (!f.phase1_first) return k;
            if (is_phase1(net[k].message.kind)) return k;
            if (!first) first = k;
        }
        return first;
    }

    message_filter parse_filter(const std::vector<std::string>& a, bool for_delivery) const {
        message_filter f;
        for (const std::string& t : a) {
            if (t == "all") continue;
            if (const auto arrow = t.find("->"); arrow != std::string::npos) {
                const std::string from = t.substr(0, arrow), to = t.substr(arrow + 2);
                f.from = from == "*" ? -1 : static_cast<int>(node_arg(from));
                f.to = to == "*" ? -1 : static_cast<int>(node_arg(to));
            } else if (t.rfind("slot=", 0) == 0) {
                f.slot = parse_u64(t.substr(5), "slot=");
            } else if (t.rfind("n=", 0) == 0) {
                f.limit = static_cast<std::size_t>(parse_u64(t.substr(2), "n="));
            } else if (for_delivery && t == "phase1-first") {
                f.phase1_first = true;
            } else if (for_delivery && t == "quiet") {
                f.quiet = true;
            } else if (t == "phase1") {
                for (auto k : {paxos::message_kind::prepare, paxos::message_kind::promise,
                               paxos::message_kind::reject}) {
                    f.kinds.insert(k);
                }
            } else if (const auto k = kind_by_name(t)) {
                f.kinds.insert(*k);
            } else {
                throw script_error("unknown filter '" + t + "'");
            }
        }
        return f;
    }

    void require_up(std::size_t i) const {
        if (down(i)) throw script_error("node " + std::to_string(i) + " is down");
    }

    std::vector<std::size_t> node_list(const std::string& s) const {
        std::vector<std::size_t> v;
        if (s == "all") {
            for (std::size_t i = 0; i < nodes.size(); ++i) v.push_back(i);
        } else {
            v.push_back(node_arg(s));
        }
        return v;
    }

    ballot_type parse_ballot(const std::string& s) const {
        if (s == "none" || s == "0") return ballot_type{};
        const auto dot = s.find('.');
        if (dot == std::string::npos) throw script_error("a ballot is counter.node: '" + s + "'");
        const std::uint64_t counter = parse_u64(s.substr(0, dot), "a ballot counter");
        const std::uint64_t owner = parse_u64(s.substr(dot + 1), "a ballot node");
        if (owner >= Config::ballot::max_nodes) throw script_error("ballot node too large");
        return ballot_type::from_raw(counter * Config::ballot::max_nodes + owner);
    }

    // The leader every live node agrees on, if one exists.
    std::optional<std::size_t> agreed_leader() const {
        std::optional<std::size_t> leader;
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (!down(i) && replica(i).is_leader()) leader = i;
        }
        if (!leader) return std::nullopt;
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (down(i)) continue;
            if (replica(i).leader().value != *leader) return std::nullopt;
        }
        return leader;
    }

    static constexpr std::size_t deliveries_max = 100000;

    std::uint64_t seed;
    bool check_quorum = true;  // the replicas' option (config check_quorum=off)
    harness_type cluster;
    std::vector<node> nodes;
    std::vector<int> group;  // partition: nodes talk only within their group
    std::set<std::pair<std::size_t, std::size_t>> cuts;  // cut: one-way links down
    std::vector<envelope> net;
    bool trace = false;

private:
    static paxos::sim::harness_options harness_options() {
        paxos::sim::harness_options o{};
        o.apply = paxos::sim::apply_point::after_sync;
        o.instant_sync = true;
        return o;
    }

    // ---- the harness's driver hooks (sim/harness.hpp) ------------------------------

    void before_send(std::size_t i, const message_type& m) {
        synced_[i].check_backed(checks_, 0, i, m);
        take_violation();
        if (show_) {
            out_->push_back("  send " + std::to_string(i) + "->" + node_text(m.to) + " " +
                            message_text(m));
        }
    }

    void durable(std::size_t i, const ready_type& rd) {
        synced_[i].absorb(checks_, 0, i, cluster[i].store.synced());
        take_violation();
        if (!show_) return;
        if (rd.promised_changed) out_->push_back("  persist promised=" + ballot_text(rd.promised));
        for (const auto& v : rd.accepted) {
            out_->push_back("  persist vote slot=" + std::to_string(v.slot.value) + " " +
                            ballot_text(v.ballot) + " " + values_text(v.values));
        }
        if (rd.sync_needed) out_->push_back("  fsync");
    }

    void transmit(std::size_t from, std::size_t to, const message_buffer& m) { push(from, to, m); }

    void apply(std::size_t i, const paxos::chosen_entry<int>& e) {
        if (e.slot.value != nodes[i].log.size()) note("chosen entries out of order");
        nodes[i].log.emplace_back(e.values.begin(), e.values.end());
        if (show_) {
            out_->push_back("  apply slot=" + std::to_string(e.slot.value) + " " +
                            values_text(e.values));
        }
    }

    void serve_catch_up(std::size_t i, const paxos::catch_up_request& c) {
        serve_from_log(i, c, *out_, serve_quiet_);
    }

    // Confirmed reads are served from the state machine as it is now (the
    // batch's chosen entries are applied): what the client would read is
    // the last value applied.
    void reads(std::size_t i, std::span<const paxos::read_ready> confirmed,
               std::span<const paxos::read_tag> dropped) {
        if (out_ == nullptr) return;
        const auto& log = nodes[i].log;
        for (const paxos::read_ready& r : confirmed) {
            std::string line = "  read " + std::to_string(r.tag) + " served by " +
                               std::to_string(i) + " at slot=" + std::to_string(r.slot.value) +
                               ": applied=" + std::to_string(log.size()) + " last=";
            line += log.empty() ? std::string{"(none)"} : values_text(log.back());
            out_->push_back(line);
        }
        for (const paxos::read_tag t : dropped) {
            out_->push_back("  read " + std::to_string(t) + " dropped by " + std::to_string(i));
        }
    }

    // The harness installed a snapshot on node i's replica: its state
    // machine takes the snapshot's state (sim/harness.hpp).
    void snapshot_installed(std::size_t i, const paxos::sim::sim_snapshot& s) {
        std::vector<std::vector<int>> log;
        if (!decode_state(s.bytes, log) || log.size() != s.offer.slot.value) {
            note("node " + std::to_string(i) + " installed a snapshot it cannot read");
            return;
        }
        nodes[i].log = std::move(log);
        if (out_ != nullptr) {
            out_->push_back("  install " + std::to_string(i) +
                            " snapshot slot=" + std::to_string(s.offer.slot.value) + " from " +
                            std::to_string(s.bytes.size()) + " bytes");
        }
    }

    // memory_store::snapshot() rewrites the synced records: the view reads
    // all of them first, then only what is added after.
    void before_compaction(std::size_t i) {
        synced_[i].absorb(checks_, 0, i, cluster[i].store.synced());
        take_violation();
    }
    void after_compaction(std::size_t i) { synced_[i].skip_to(cluster[i].store.synced().size()); }

    void storage_failed(std::size_t i) { note("store of node " + std::to_string(i) + " failed"); }
    paxos::sim::time_us sync_done_at(std::size_t) { return 0; }
    void replayed(std::size_t, const message_buffer&) {}
    void drained(std::size_t) {}

    void take_violation() {
        const auto& v = checks_.first_violation();
        if (v) note(std::string(paxos::sim::to_string(v->kind)) + ": " + v->what);
    }

    std::vector<paxos::sim::durable_view<ballot_type>> synced_;  // what each store synced
    paxos::sim::checkers checks_;
    std::string violation_;
    bool violation_reported_ = false;
    lines* out_ = nullptr;
    bool show_ = false;
    bool serve_quiet_ = true;
};

}  // namespace scenario
