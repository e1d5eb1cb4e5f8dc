// tests/scenario/runner.cpp: the interpreter behind the scenario scripts.
//
// A script (testdata/*.txt) is a list of commands, each followed by `----`
// and the output it must print, in the manner of etcd's data-driven tests:
//
//   # goal: a comment; blank lines and comments are kept as they are
//   propose 0 100
//   ----
//   ok
//
// The runner executes every command against an in-process cluster of real
// replicas and compares what it prints with the expected block. With
// --rewrite it writes the actual output back into the file instead, so a new
// script needs only its commands (see README.md for the command list).
//
// The runner is also the driver of the README's responsibilities: for every
// ready batch it persists into a paxos::storage::memory_store (synced when
// the batch asks), then queues the messages, then applies the chosen entries.
// Two checks run from outside the replicas after every command and print a
// `!!` line on failure, so a golden file can never hold a silent violation:
// persist-before-send (every promise, prepare, accept and accepted is backed
// by synced state) and agreement (applied logs never differ in a slot).
#include <paxos/paxos.hpp>
#include <paxos/storage/durable_state.hpp>
#include <paxos/storage/memory_store.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

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

std::vector<std::string> split(std::string_view s) {
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

std::uint64_t parse_u64(std::string_view s, std::string_view what) {
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
        throw script_error("expected a number for " + std::string(what) + ", got '" +
                           std::string(s) + "'");
    }
    return v;
}

int parse_int(std::string_view s, std::string_view what) {
    int v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) {
        throw script_error("expected an integer for " + std::string(what) + ", got '" +
                           std::string(s) + "'");
    }
    return v;
}

std::optional<paxos::message_kind> kind_by_name(std::string_view name) {
    for (std::uint8_t k = 1; k <= paxos::message_kind_count; ++k) {
        const auto kind = static_cast<paxos::message_kind>(k);
        if (name == paxos::to_string(kind)) return kind;
    }
    return std::nullopt;
}

bool is_phase1(paxos::message_kind k) {
    return k == paxos::message_kind::prepare || k == paxos::message_kind::promise ||
           k == paxos::message_kind::reject;
}

std::string values_text(std::span<const int> values) {
    if (values.empty()) return "noop";
    std::string s = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) s += ' ';
        s += std::to_string(values[i]);
    }
    return s + "]";
}

// ---- the engine: one cluster of one configuration ------------------------------------

class engine_base {
public:
    virtual ~engine_base() = default;
    virtual void run(const command& c, lines& out) = 0;
};

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

template <class Config>
class engine final : public engine_base {
public:
    using replica_type = paxos::replica<Config>;
    using message_type = typename replica_type::message_type;
    using message_buffer = typename replica_type::message_buffer;
    using ballot_type = typename Config::ballot;
    using ready_type = typename replica_type::ready_type;
    using store_type = paxos::storage::memory_store<Config>;

    explicit engine(std::uint64_t seed) : seed_(seed) {
        const std::size_t n = typename Config::quorum{}.node_count();
        nodes_.resize(n);
        for (std::size_t i = 0; i < n; ++i) nodes_[i].replica = make_replica(i);
        group_.assign(n, 0);
    }

    void run(const command& c, lines& out) override {
        const std::string& name = c.args[0];
        const std::vector<std::string> a(c.args.begin() + 1, c.args.end());
        if (name == "propose") {
            cmd_propose(a, out);
        } else if (name == "campaign") {
            cmd_campaign(a, out);
        } else if (name == "tick") {
            cmd_tick(a, out);
        } else if (name == "deliver") {
            cmd_deliver(parse_filter(a, true), out);
        } else if (name == "settle") {
            message_filter f;
            f.quiet = true;
            cmd_deliver(f, out);
        } else if (name == "drop") {
            cmd_drop(parse_filter(a, false), out);
        } else if (name == "duplicate") {
            cmd_duplicate(parse_filter(a, false), out);
        } else if (name == "inflight") {
            cmd_inflight(out);
        } else if (name == "partition") {
            cmd_partition(a, out);
        } else if (name == "heal") {
            group_.assign(nodes_.size(), 0);
            out.push_back("ok");
        } else if (name == "crash") {
            cmd_crash(a, out);
        } else if (name == "restart") {
            cmd_restart(a, out);
        } else if (name == "status") {
            cmd_status(a, out);
        } else if (name == "log") {
            cmd_log(out);
        } else if (name == "durable") {
            cmd_durable(a, out);
        } else if (name == "step") {
            cmd_step(a, out);
        } else if (name == "run") {
            cmd_run(a, out);
        } else if (name == "trace") {
            if (a.size() != 1 || (a[0] != "on" && a[0] != "off")) {
                throw script_error("usage: trace on|off");
            }
            trace_ = a[0] == "on";
            out.push_back("ok");
        } else {
            throw script_error("unknown command '" + name + "'");
        }
        check(out);
    }

private:
    struct node {
        std::unique_ptr<replica_type> replica;
        store_type store;
        std::vector<std::vector<int>> log;  // the state machine: applied slots
        bool down = false;
        std::uint64_t restarts = 0;
    };
    struct envelope {
        std::size_t from = 0;
        std::size_t to = 0;
        message_buffer message;
    };

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
            case k::learn_request: s += " slot=" + std::to_string(m.slot.value); break;
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
            case k::heartbeat: s += " chosen_end=" + std::to_string(m.chosen_end.value); break;
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
        opts.seed = seed_ * 1000003 + i + 7919 * nodes_[i].restarts;
        return std::make_unique<replica_type>(opts);
    }

    std::size_t node_arg(const std::string& s) const {
        const std::uint64_t v = parse_u64(s, "a node");
        if (v >= nodes_.size()) throw script_error("no node " + s);
        return static_cast<std::size_t>(v);
    }

    bool link_up(std::size_t from, std::size_t to) const { return group_[from] == group_[to]; }

    // Send what may leave at once, persist, send the rest, apply, advance:
    // the README's ready loop (the sync takes no time here). With `show`,
    // each batch is printed indented, in the order the driver acts.
    void drain(std::size_t i, lines& out, bool show, bool serve_quiet = true) {
        replica_type& r = *nodes_[i].replica;
        while (r.has_ready()) {
            const ready_type& rd = r.ready();
            check_sends(i, rd.send_now);
            for (const message_type& m : rd.send_now) {
                if (show)
                    out.push_back("  send " + std::to_string(i) + "->" + node_text(m.to) + " " +
                                  message_text(m));
                enqueue(i, m);
            }
            if (nodes_[i].store.persist(rd) != paxos::storage::status::ok) {
                note("store of node " + std::to_string(i) + " failed");
            }
            if (show) {
                if (rd.promised_changed)
                    out.push_back("  persist promised=" + ballot_text(rd.promised));
                for (const auto& v : rd.accepted) {
                    out.push_back("  persist vote slot=" + std::to_string(v.slot.value) + " " +
                                  ballot_text(v.ballot) + " " + values_text(v.values));
                }
                if (rd.sync_needed) out.push_back("  fsync");
            }
            check_sends(i, rd.send_after_sync);
            for (const message_type& m : rd.send_after_sync) {
                if (show)
                    out.push_back("  send " + std::to_string(i) + "->" + node_text(m.to) + " " +
                                  message_text(m));
                enqueue(i, m);
            }
            for (const auto& e : rd.chosen) {
                if (e.slot.value != nodes_[i].log.size()) note("chosen entries out of order");
                nodes_[i].log.emplace_back(e.values.begin(), e.values.end());
                if (show)
                    out.push_back("  apply slot=" + std::to_string(e.slot.value) + " " +
                                  values_text(e.values));
            }
            for (const auto& c : rd.catch_up) serve_from_log(i, c, out, serve_quiet);
            r.advance(rd);
        }
    }

    void enqueue(std::size_t from, const message_type& m) {
        if (m.to == paxos::node_id::broadcast()) {
            for (std::size_t to = 0; to < nodes_.size(); ++to) {
                if (to != from) push(from, to, m);
            }
        } else {
            push(from, m.to.value, m);
        }
    }
    void push(std::size_t from, std::size_t to, const message_type& m) {
        if (to >= nodes_.size()) return;  // a reply to a crafted, unknown sender
        if (!link_up(from, to)) return;   // the partition swallows it
        envelope e{from, to, message_buffer(m)};
        e.message.to = paxos::node_id{static_cast<std::uint16_t>(to)};
        net_.push_back(e);
    }

    // Persist-before-send, checked from outside: what the store has synced
    // must cover every promise, prepare, accept and accepted in the batch.
    void check_sends(std::size_t i, std::span<const message_type> messages) {
        const auto d = durable_of(i);
        for (const message_type& m : messages) {
            const auto it = d.votes.find(m.slot.value);
            const ballot_type vote = it == d.votes.end() ? ballot_type{} : it->second.first;
            if (paxos::backed_by(m, d.promised, vote)) continue;
            if (paxos::backing_of(m.kind) == paxos::durable_backing::vote) {
                note("persist-before-send: node " + std::to_string(i) + " sent " +
                     paxos::to_string(m.kind) + " for slot " + std::to_string(m.slot.value) +
                     " before its vote was synced");
            } else {
                note("persist-before-send: node " + std::to_string(i) + " sent " +
                     paxos::to_string(m.kind) + " " + ballot_text(m.ballot) +
                     " above its synced promise " + ballot_text(d.promised));
            }
        }
    }

    struct durable_view {
        ballot_type promised{};
        std::map<std::uint64_t, std::pair<ballot_type, std::vector<int>>> votes;
        std::uint64_t chosen = 0;
    };
    durable_view durable_of(std::size_t i) const {
        durable_view d;
        for (const auto& rec : nodes_[i].store.synced()) {
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
        for (std::size_t a = 0; a < nodes_.size() && violation_.empty(); ++a) {
            for (std::size_t b = a + 1; b < nodes_.size(); ++b) {
                const auto& la = nodes_[a].log;
                const auto& lb = nodes_[b].log;
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

    // Delivers net_[index]; prints a line (unless quiet) and the batch it
    // caused. Returns the step's reason, or nothing when the message was lost
    // (its destination is down, or a partition cut the link meanwhile).
    std::optional<paxos::reason> deliver_at(std::size_t index, lines& out, bool quiet) {
        const envelope e = net_[index];
        net_.erase(net_.begin() + static_cast<std::ptrdiff_t>(index));
        if (nodes_[e.to].down || !link_up(e.from, e.to)) {
            if (!quiet) {
                out.push_back(envelope_text(e) + ": lost (" +
                              (nodes_[e.to].down ? "node down" : "partition") + ")");
            }
            return std::nullopt;
        }
        const paxos::result res = nodes_[e.to].replica->step(e.message);
        if (!quiet) out.push_back(envelope_text(e) + ": " + result_text(res));
        drain(e.to, out, trace_ && !quiet, quiet);
        return res.code;
    }

    // README responsibility 8: slots the replica released from its window are
    // served from the driver's applied log.
    void serve_from_log(std::size_t self, const paxos::catch_up_request& asked, lines& out,
                        bool quiet) {
        replica_type& r = *nodes_[self].replica;
        const std::size_t peer = asked.peer.value;
        const std::uint64_t end = std::min<std::uint64_t>(asked.to.value, nodes_[self].log.size());
        for (std::uint64_t s = asked.from.value; s < end; ++s) {
            const std::vector<int>& values = nodes_[self].log[s];
            const message_type c =
                r.chosen_message_for(asked.peer, paxos::slot_id{s}, std::span<const int>(values));
            if (!quiet) {
                out.push_back("  serve from log " + std::to_string(self) + "->" +
                              std::to_string(peer) + " " + message_text(c));
            }
            push(self, peer, c);
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
        for (std::size_t k = 0; k < net_.size(); ++k) {
            if (!matches(f, net_[k])) continue;
            if (!f.phase1_first) return k;
            if (is_phase1(net_[k].message.kind)) return k;
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

    // ---- commands ------------------------------------------------------------------

    void cmd_propose(const std::vector<std::string>& a, lines& out) {
        if (a.size() != 2) throw script_error("usage: propose <node> <value>");
        const std::size_t i = node_arg(a[0]);
        require_up(i);
        const paxos::result res = nodes_[i].replica->propose(parse_int(a[1], "a value"));
        out.push_back(result_text(res));
        drain(i, out, true);
    }

    void cmd_campaign(const std::vector<std::string>& a, lines& out) {
        if (a.size() != 1) throw script_error("usage: campaign <node>");
        const std::size_t i = node_arg(a[0]);
        require_up(i);
        const paxos::result res = nodes_[i].replica->campaign();
        out.push_back(result_text(res));
        drain(i, out, true);
    }

    void require_up(std::size_t i) const {
        if (nodes_[i].down) throw script_error("node " + std::to_string(i) + " is down");
    }

    std::vector<std::size_t> node_list(const std::string& s) const {
        std::vector<std::size_t> v;
        if (s == "all") {
            for (std::size_t i = 0; i < nodes_.size(); ++i) v.push_back(i);
        } else {
            v.push_back(node_arg(s));
        }
        return v;
    }

    // Ticks print what changed: a role, or an input that was refused.
    void cmd_tick(const std::vector<std::string>& a, lines& out) {
        if (a.empty() || a.size() > 2) throw script_error("usage: tick <node|all> [count]");
        const auto which = node_list(a[0]);
        const std::uint64_t count = a.size() == 2 ? parse_u64(a[1], "a tick count") : 1;
        std::size_t printed = out.size();
        for (std::uint64_t t = 1; t <= count; ++t) {
            for (const std::size_t i : which) {
                if (nodes_[i].down) continue;
                replica_type& r = *nodes_[i].replica;
                const paxos::role before = r.current_role();
                const paxos::result res = r.tick();
                if (!res.ok()) {
                    out.push_back("tick " + std::to_string(t) + ": " + std::to_string(i) + " " +
                                  result_text(res));
                }
                drain(i, out, trace_);
                if (r.current_role() != before) {
                    out.push_back("tick " + std::to_string(t) + ": " + std::to_string(i) + " " +
                                  role_text(before) + " -> " + role_text(r.current_role()) +
                                  " ballot=" + ballot_text(r.ballot()));
                }
            }
        }
        if (out.size() == printed) out.push_back("no change");
    }

    void cmd_deliver(const message_filter& f, lines& out) {
        std::size_t delivered = 0;
        std::map<std::string, std::size_t> by_reason;
        const std::size_t printed = out.size();
        while (delivered < f.limit) {
            const auto k = pick(f);
            if (!k) break;
            if (delivered == deliveries_max) {
                out.push_back("stopped after " + std::to_string(deliveries_max) + " messages");
                break;
            }
            const auto why = deliver_at(*k, out, f.quiet);
            ++by_reason[why ? paxos::to_string(*why) : "lost"];
            ++delivered;
        }
        if (!f.quiet) {
            if (out.size() == printed) out.push_back("nothing to deliver");
            return;
        }
        std::string s = "delivered " + std::to_string(delivered);
        for (const auto& [why, n] : by_reason) s += ", " + why + " " + std::to_string(n);
        out.push_back(s);
    }

    void cmd_drop(const message_filter& f, lines& out) {
        std::size_t dropped = 0;
        for (std::size_t k = 0; k < net_.size() && dropped < f.limit;) {
            if (matches(f, net_[k])) {
                out.push_back("dropped " + envelope_text(net_[k]));
                net_.erase(net_.begin() + static_cast<std::ptrdiff_t>(k));
                ++dropped;
            } else {
                ++k;
            }
        }
        if (dropped == 0) out.push_back("nothing matched");
    }

    void cmd_duplicate(const message_filter& f, lines& out) {
        std::vector<envelope> copies;
        for (const envelope& e : net_) {
            if (copies.size() < f.limit && matches(f, e)) copies.push_back(e);
        }
        for (const envelope& e : copies) {
            out.push_back("duplicated " + envelope_text(e));
            net_.push_back(e);
        }
        if (copies.empty()) out.push_back("nothing matched");
    }

    void cmd_inflight(lines& out) {
        for (const envelope& e : net_) out.push_back(envelope_text(e));
        if (net_.empty()) out.push_back("(none)");
    }

    // partition 0 1 | 2: links between the groups are cut, in both directions.
    void cmd_partition(const std::vector<std::string>& a, lines& out) {
        group_.assign(nodes_.size(), 0);
        int group = 1;
        for (const std::string& t : a) {
            if (t == "|") {
                ++group;
            } else {
                group_[node_arg(t)] = group;
            }
        }
        if (group < 2) throw script_error("usage: partition <nodes> | <nodes> [| ...]");
        out.push_back("ok");
    }

    void cmd_crash(const std::vector<std::string>& a, lines& out) {
        if (a.size() != 1) throw script_error("usage: crash <node>");
        const std::size_t i = node_arg(a[0]);
        nodes_[i].down = true;
        nodes_[i].store.crash();  // what was never synced is gone
        out.push_back("ok");
    }

    // A new process: a fresh replica restored from the synced store only.
    void cmd_restart(const std::vector<std::string>& a, lines& out) {
        if (a.size() != 1) throw script_error("usage: restart <node>");
        const std::size_t i = node_arg(a[0]);
        if (!nodes_[i].down) throw script_error("restart: node " + a[0] + " is not down");
        ++nodes_[i].restarts;
        nodes_[i].replica = make_replica(i);
        paxos::storage::replica_recovery<Config> recovered;
        if (nodes_[i].store.recover(recovered) != paxos::storage::status::ok) {
            throw script_error("restart: the store refused to recover");
        }
        const auto rec = recovered.recovery(paxos::slot_id{nodes_[i].log.size()});
        const paxos::result res = nodes_[i].replica->restore(rec);
        out.push_back("restore promised=" + ballot_text(rec.promised) +
                      " votes=" + std::to_string(rec.accepted.size()) + " first_unapplied=" +
                      std::to_string(rec.first_unapplied.value) + ": " + result_text(res));
        nodes_[i].down = false;
    }

    void cmd_status(const std::vector<std::string>& a, lines& out) {
        if (a.size() > 1) throw script_error("usage: status [node]");
        for (const std::size_t i : node_list(a.empty() ? "all" : a[0])) {
            const replica_type& r = *nodes_[i].replica;
            std::string s = std::to_string(i) + ": ";
            if (nodes_[i].down) {
                out.push_back(s + "down");
                continue;
            }
            s += role_text(r.current_role());
            if (r.current_role() != paxos::role::follower) {
                s += " ballot=" + ballot_text(r.ballot());
            }
            s += " promised=" + ballot_text(r.promised()) + " leader=" + node_text(r.leader()) +
                 " chosen_end=" + std::to_string(r.chosen_end().value) +
                 " applied=" + std::to_string(nodes_[i].log.size());
            if (r.pending_count() != 0) s += " pending=" + std::to_string(r.pending_count());
            out.push_back(s);
        }
    }

    void cmd_log(lines& out) {
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            std::string s = std::to_string(i) + ":";
            for (const auto& entry : nodes_[i].log) {
                s += ' ';  // not `" " + ...`: a false -Wrestrict in g++ 12 -O2
                s += values_text(entry);
            }
            if (nodes_[i].log.empty()) s += " (empty)";
            out.push_back(s);
        }
    }

    void cmd_durable(const std::vector<std::string>& a, lines& out) {
        if (a.size() != 1) throw script_error("usage: durable <node>");
        const std::size_t i = node_arg(a[0]);
        const durable_view d = durable_of(i);
        std::string s = "promised=" + ballot_text(d.promised);
        for (const auto& [slot, vote] : d.votes) {
            s += " slot" + std::to_string(slot) + "=" + ballot_text(vote.first) + ":" +
                 values_text(vote.second);
        }
        s += " chosen_records=" + std::to_string(d.chosen);
        out.push_back(s);
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

    // step <node> <kind> key=value...: a crafted message, as a peer (or an
    // attacker, or a corrupted link) would send it. kind=<number> forges the
    // kind byte itself.
    void cmd_step(const std::vector<std::string>& a, lines& out) {
        if (a.size() < 2) throw script_error("usage: step <node> <kind> [key=value...]");
        const std::size_t i = node_arg(a[0]);
        require_up(i);
        message_buffer m{};
        if (a[1].rfind("kind=", 0) == 0) {
            m.kind = static_cast<paxos::message_kind>(parse_u64(a[1].substr(5), "kind"));
        } else if (const auto k = kind_by_name(a[1])) {
            m.kind = *k;
        } else {
            throw script_error("unknown message kind '" + a[1] + "'");
        }
        m.to = paxos::node_id{static_cast<std::uint16_t>(i)};
        for (std::size_t k = 2; k < a.size(); ++k) {
            const std::string& t = a[k];
            const auto eq = t.find('=');
            const std::string key = t.substr(0, eq);
            const std::string val = eq == std::string::npos ? "" : t.substr(eq + 1);
            auto id = [&](std::string_view what) {
                return paxos::node_id{static_cast<std::uint16_t>(parse_u64(val, what))};
            };
            if (key == "from") {
                m.from = id("from");
            } else if (key == "to") {
                m.to = id("to");
            } else if (key == "ballot") {
                m.ballot = parse_ballot(val);
            } else if (key == "vote" && val.find('/') != std::string::npos) {
                // A promise's reported vote: slot/ballot/values[/chosen].
                std::string v = val;
                std::replace(v.begin(), v.end(), '/', ' ');
                const auto parts = split(v);
                if (parts.size() < 3 || parts.size() > 4 ||
                    (parts.size() == 4 && parts[3] != "chosen")) {
                    throw script_error("a vote is slot/ballot/values[/chosen]: '" + val + "'");
                }
                std::string values = parts[2];
                std::replace(values.begin(), values.end(), ',', ' ');
                std::uint32_t count = 0;
                if (values != "noop") {
                    for (const std::string& x : split(values)) {
                        if (m.values.full()) throw script_error("too many values");
                        m.values.push_back(parse_int(x, "a value"));
                        ++count;
                    }
                }
                if (m.votes.full()) throw script_error("too many votes");
                m.votes.push_back({paxos::slot_id{parse_u64(parts[0], "a vote's slot")},
                                   parse_ballot(parts[1]), count, parts.size() == 4});
            } else if (key == "vote") {
                m.accepted_ballot = parse_ballot(val);
            } else if (key == "part") {
                const auto slash = val.find('/');
                if (slash == std::string::npos)
                    throw script_error("part is part/parts: '" + val + "'");
                m.part = static_cast<std::uint8_t>(parse_u64(val.substr(0, slash), "part"));
                m.parts = static_cast<std::uint8_t>(parse_u64(val.substr(slash + 1), "parts"));
            } else if (key == "slot") {
                m.slot = paxos::slot_id{parse_u64(val, "slot")};
            } else if (key == "chosen_end") {
                m.chosen_end = paxos::slot_id{parse_u64(val, "chosen_end")};
            } else if (key == "values") {
                std::string v = val;
                std::replace(v.begin(), v.end(), ',', ' ');
                for (const std::string& x : split(v)) {
                    if (m.values.full()) throw script_error("too many values");
                    m.values.push_back(parse_int(x, "a value"));
                }
            } else {
                throw script_error("unknown message field '" + key + "'");
            }
        }
        const paxos::result res = nodes_[i].replica->step(m.view());
        out.push_back(result_text(res));
        drain(i, out, true);
    }

    // run <ticks> [phase1-first] [until=leader|chosen]: rounds of "deliver
    // everything, then tick every live node", for liveness stories.
    void cmd_run(const std::vector<std::string>& a, lines& out) {
        if (a.empty()) throw script_error("usage: run <ticks> [phase1-first] [until=...]");
        const std::uint64_t ticks = parse_u64(a[0], "a tick count");
        message_filter f;
        f.quiet = true;
        std::string until;
        for (std::size_t k = 1; k < a.size(); ++k) {
            if (a[k] == "phase1-first") {
                f.phase1_first = true;
            } else if (a[k] == "until=leader" || a[k] == "until=chosen") {
                until = a[k].substr(6);
            } else {
                throw script_error("unknown run option '" + a[k] + "'");
            }
        }
        std::vector<std::uint64_t> start(nodes_.size());
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            start[i] = nodes_[i].replica->chosen_end().value;
        }
        auto done = [&] {
            if (until == "leader") return agreed_leader().has_value();
            if (until == "chosen") {
                for (std::size_t i = 0; i < nodes_.size(); ++i) {
                    if (!nodes_[i].down && nodes_[i].replica->chosen_end().value <= start[i]) {
                        return false;
                    }
                }
                return true;
            }
            return false;
        };
        std::size_t delivered = 0;
        lines sink;
        std::uint64_t t = 0;
        for (; t < ticks && !done(); ++t) {
            for (std::size_t n = 0; n < deliveries_max; ++n) {
                const auto k = pick(f);
                if (!k) break;
                (void)deliver_at(*k, sink, true);
                ++delivered;
            }
            if (done()) break;
            for (std::size_t i = 0; i < nodes_.size(); ++i) {
                if (nodes_[i].down) continue;
                (void)nodes_[i].replica->tick();
                drain(i, sink, false);
            }
        }
        std::string s =
            "after " + std::to_string(t) + " ticks, " + std::to_string(delivered) + " messages: ";
        if (until.empty()) {
            s += "done";
        } else if (done()) {
            s += until == "leader" ? "leader is " + std::to_string(*agreed_leader())
                                   : "every live node learned a new slot";
        } else {
            s += "no " + until + " yet";
        }
        out.push_back(s);
    }

    // The leader every live node agrees on, if one exists.
    std::optional<std::size_t> agreed_leader() const {
        std::optional<std::size_t> leader;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (!nodes_[i].down && nodes_[i].replica->is_leader()) leader = i;
        }
        if (!leader) return std::nullopt;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (nodes_[i].down) continue;
            if (nodes_[i].replica->leader().value != *leader) return std::nullopt;
        }
        return leader;
    }

    static constexpr std::size_t deliveries_max = 100000;

    std::uint64_t seed_;
    std::vector<node> nodes_;
    std::vector<int> group_;  // partition: nodes talk only within their group
    std::vector<envelope> net_;
    bool trace_ = false;
    std::string violation_;
    bool violation_reported_ = false;
};

// ---- the configurations a script may pick -----------------------------------------

template <class Leader, std::size_t N>
using single_decree =
    paxos::config<int, paxos::counter_ballot<N>, paxos::majority<N>, Leader, N, 1, 1, true>;
// Multi-Paxos with a window of 4 slots and batches of up to 2 commands: small
// enough that a script can fill the window and slide it.
template <std::size_t N>
using multi = paxos::multi_paxos<int, N, 4, 2>;

template <class Cfg>
std::unique_ptr<engine_base> build(std::uint64_t seed, const char* description, lines& out) {
    out.push_back(description);
    return std::make_unique<engine<Cfg>>(seed);
}

// `config <variant> <nodes...> [seed=K]`: a fresh cluster, every node empty.
std::unique_ptr<engine_base> make_engine(const std::vector<std::string>& a, lines& out) {
    std::uint64_t seed = 1;
    std::string key;
    for (std::size_t k = 1; k < a.size(); ++k) {
        if (a[k].rfind("seed=", 0) == 0) {
            seed = parse_u64(a[k].substr(5), "seed");
        } else {
            key += (key.empty() ? "" : " ") + a[k];
        }
    }
    if (key == "multi 3") {
        return build<multi<3>>(seed, "multi-paxos, 3 nodes, quorums of 2, stable leader, window 4",
                               out);
    }
    if (key == "multi 4") {
        return build<multi<4>>(seed, "multi-paxos, 4 nodes, quorums of 3, stable leader, window 4",
                               out);
    }
    if (key == "multi 5") {
        return build<multi<5>>(seed, "multi-paxos, 5 nodes, quorums of 3, stable leader, window 4",
                               out);
    }
    if (key == "flexible 5 4 2") {
        return build<paxos::flexible_paxos<int, 5, 4, 2, 4, 2>>(
            seed,
            "flexible paxos, 5 nodes, phase-1 quorums of 4, phase-2 quorums of 2, stable "
            "leader, window 4",
            out);
    }
    if (key == "basic 3") {
        return build<paxos::basic_paxos<int, 3>>(
            seed, "basic paxos (single decree), 3 nodes, quorums of 2, randomized backoff", out);
    }
    if (key == "immediate 3") {
        return build<single_decree<paxos::immediate, 3>>(
            seed, "basic paxos (single decree), 3 nodes, quorums of 2, immediate retry", out);
    }
    throw script_error("unknown config '" + key +
                       "' (known: multi 3|4|5, flexible 5 4 2, basic 3, immediate 3)");
}

// ---- the script file ------------------------------------------------------------------

// A file is a sequence of items: a verbatim line (comment or blank), or a
// command with its expected output (absent when the script has no `----`).
struct item {
    bool is_command = false;
    std::string verbatim;
    command cmd;
    bool has_expected = false;
    lines expected;
};

std::vector<item> parse_script(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw script_error("cannot open " + path);
    lines all;
    for (std::string l; std::getline(in, l);) all.push_back(l);
    std::vector<item> items;
    for (std::size_t k = 0; k < all.size();) {
        const std::string& l = all[k];
        if (l.empty() || l[0] == '#') {
            items.push_back(item{false, l, {}, false, {}});
            ++k;
            continue;
        }
        if (l == "----")
            throw script_error(path + ":" + std::to_string(k + 1) + ": `----` without a command");
        item it;
        it.is_command = true;
        it.cmd = command{l, split(l), k + 1};
        ++k;
        if (k < all.size() && all[k] == "----") {
            it.has_expected = true;
            for (++k; k < all.size() && !all[k].empty(); ++k) it.expected.push_back(all[k]);
        }
        items.push_back(std::move(it));
    }
    return items;
}

// Runs one script; returns the number of mismatching commands.
std::size_t run_script(const std::string& path, bool rewrite, bool verbose) {
    std::vector<item> items = parse_script(path);
    std::unique_ptr<engine_base> eng;
    std::size_t mismatches = 0;
    std::ostringstream rewritten;
    for (std::size_t k = 0; k < items.size(); ++k) {
        item& it = items[k];
        if (!it.is_command) {
            rewritten << it.verbatim << '\n';
            continue;
        }
        lines actual;
        try {
            if (it.cmd.args[0] == "config") {
                eng = make_engine(it.cmd.args, actual);
            } else if (!eng) {
                throw script_error("the first command must be `config ...`");
            } else {
                eng->run(it.cmd, actual);
            }
        } catch (const script_error& e) {
            throw script_error(path + ":" + std::to_string(it.cmd.line) + ": " + e.what());
        }
        for (auto& l : actual) {
            if (l.empty()) l = "(empty)";  // a blank line would end the block
        }
        if (verbose) {
            std::cout << it.cmd.text << "\n----\n";
            for (const auto& l : actual) std::cout << l << '\n';
            std::cout << '\n';
        }
        rewritten << it.cmd.text << "\n----\n";
        for (const auto& l : actual) rewritten << l << '\n';
        // Keep commands apart by one blank line, even where the author wrote
        // the next command straight after this one.
        if (k + 1 < items.size() && items[k + 1].is_command) rewritten << '\n';
        if (rewrite) continue;
        if (!it.has_expected || it.expected != actual) {
            ++mismatches;
            std::cerr << path << ":" << it.cmd.line << ": " << it.cmd.text << "\n";
            if (!it.has_expected) std::cerr << "  no expected output (no `----`)\n";
            std::cerr << "  expected:\n";
            for (const auto& l : it.expected) std::cerr << "    " << l << '\n';
            std::cerr << "  actual:\n";
            for (const auto& l : actual) std::cerr << "    " << l << '\n';
        }
    }
    if (rewrite) {
        std::ofstream outf(path, std::ios::trunc);
        outf << rewritten.str();
        if (!outf) throw script_error("cannot write " + path);
    }
    return mismatches;
}

}  // namespace

int main(int argc, char** argv) {
    bool rewrite = false, verbose = false;
    std::vector<std::string> files;
    for (int k = 1; k < argc; ++k) {
        const std::string_view arg = argv[k];
        if (arg == "--rewrite") {
            rewrite = true;
        } else if (arg == "-v" || arg == "--verbose") {
            verbose = true;
        } else if (arg.starts_with("-")) {
            std::cerr << "usage: scenario_runner [--rewrite] [-v] <script.txt>...\n";
            return 2;
        } else {
            files.emplace_back(arg);
        }
    }
    if (files.empty()) {
        std::cerr << "usage: scenario_runner [--rewrite] [-v] <script.txt>...\n";
        return 2;
    }
    std::size_t failed = 0;
    for (const std::string& f : files) {
        try {
            const std::size_t bad = run_script(f, rewrite, verbose);
            if (rewrite) {
                std::cout << "rewrote " << f << '\n';
            } else if (bad != 0) {
                std::cerr << f << ": " << bad << " command(s) differ from the golden output"
                          << " (after a deliberate change: scenario_runner --rewrite " << f
                          << ")\n";
                ++failed;
            }
        } catch (const script_error& e) {
            std::cerr << "error: " << e.what() << '\n';
            return 2;
        }
    }
    return failed == 0 ? 0 : 1;
}
