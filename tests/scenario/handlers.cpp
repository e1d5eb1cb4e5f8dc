// tests/scenario/handlers.cpp: one handler per scenario command, and the
// configurations a script may pick.
//
// Each handler reads its arguments, acts on the environment (env.hpp) and
// prints what happened; a bad argument is a script_error, never golden
// output. The dispatch from a command's name to its handler is engine::run,
// as etcd's rafttest.InteractionEnv.Handle does. README.md (tests/scenario)
// lists the commands.
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "env.hpp"

namespace scenario {
namespace {

template <class Config>
void cmd_propose(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.size() != 2) throw script_error("usage: propose <node> <value>");
    const std::size_t i = e.node_arg(a[0]);
    e.require_up(i);
    const paxos::result res = e.replica(i).propose(parse_int(a[1], "a value"));
    out.push_back(e.result_text(res));
    e.drain(i, out, true);
}

// `read <node> <tag>`: a linearizable read (core/reads.hpp); what serves
// it prints as `read <tag> served by ...`, when a quorum has confirmed it.
template <class Config>
void cmd_read(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.size() != 2) throw script_error("usage: read <node> <tag>");
    const std::size_t i = e.node_arg(a[0]);
    e.require_up(i);
    if constexpr (env<Config>::replica_type::reads_max == 0) {
        throw script_error("read: a single-decree config has no reads");
    } else {
        const paxos::result res = e.replica(i).read(parse_u64(a[1], "a read tag"));
        out.push_back(e.result_text(res));
        e.drain(i, out, true);
    }
}

// `transfer <node> <to>`: transfer_leadership(to) at the leader.
template <class Config>
void cmd_transfer(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.size() != 2) throw script_error("usage: transfer <node> <to>");
    const std::size_t i = e.node_arg(a[0]);
    const std::size_t to = e.node_arg(a[1]);
    e.require_up(i);
    const paxos::result res =
        e.replica(i).transfer_leadership(paxos::node_id{static_cast<std::uint16_t>(to)});
    out.push_back(e.result_text(res));
    e.drain(i, out, true);
}

template <class Config>
void cmd_campaign(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.size() != 1) throw script_error("usage: campaign <node>");
    const std::size_t i = e.node_arg(a[0]);
    e.require_up(i);
    const paxos::result res = e.replica(i).campaign();
    out.push_back(e.result_text(res));
    e.drain(i, out, true);
}

// Ticks print what changed: a role, or an input that was refused.
template <class Config>
void cmd_tick(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.empty() || a.size() > 2) throw script_error("usage: tick <node|all> [count]");
    const auto which = e.node_list(a[0]);
    const std::uint64_t count = a.size() == 2 ? parse_u64(a[1], "a tick count") : 1;
    std::size_t printed = out.size();
    for (std::uint64_t t = 1; t <= count; ++t) {
        for (const std::size_t i : which) {
            if (e.down(i)) continue;
            typename env<Config>::replica_type& r = e.replica(i);
            const paxos::role before = r.current_role();
            const paxos::result res = r.tick();
            if (!res.ok()) {
                out.push_back("tick " + std::to_string(t) + ": " + std::to_string(i) + " " +
                              e.result_text(res));
            }
            e.drain(i, out, e.trace);
            if (r.current_role() != before) {
                out.push_back("tick " + std::to_string(t) + ": " + std::to_string(i) + " " +
                              e.role_text(before) + " -> " + e.role_text(r.current_role()) +
                              " ballot=" + e.ballot_text(r.ballot()));
            }
        }
    }
    if (out.size() == printed) out.push_back("no change");
}

template <class Config>
void cmd_deliver(env<Config>& e, const message_filter& f, lines& out) {
    std::size_t delivered = 0;
    std::map<std::string, std::size_t> by_reason;
    const std::size_t printed = out.size();
    while (delivered < f.limit) {
        const auto k = e.pick(f);
        if (!k) break;
        if (delivered == e.deliveries_max) {
            out.push_back("stopped after " + std::to_string(e.deliveries_max) + " messages");
            break;
        }
        const auto why = e.deliver_at(*k, out, f.quiet);
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

template <class Config>
void cmd_drop(env<Config>& e, const message_filter& f, lines& out) {
    std::size_t dropped = 0;
    for (std::size_t k = 0; k < e.net.size() && dropped < f.limit;) {
        if (e.matches(f, e.net[k])) {
            out.push_back("dropped " + e.envelope_text(e.net[k]));
            e.net.erase(e.net.begin() + static_cast<std::ptrdiff_t>(k));
            ++dropped;
        } else {
            ++k;
        }
    }
    if (dropped == 0) out.push_back("nothing matched");
}

template <class Config>
void cmd_duplicate(env<Config>& e, const message_filter& f, lines& out) {
    std::vector<typename env<Config>::envelope> copies;
    for (const auto& x : e.net) {
        if (copies.size() < f.limit && e.matches(f, x)) copies.push_back(x);
    }
    for (const auto& x : copies) {
        out.push_back("duplicated " + e.envelope_text(x));
        e.net.push_back(x);
    }
    if (copies.empty()) out.push_back("nothing matched");
}

template <class Config>
void cmd_inflight(env<Config>& e, lines& out) {
    for (const auto& x : e.net) out.push_back(e.envelope_text(x));
    if (e.net.empty()) out.push_back("(none)");
}

// cut 1->0 2->0: the links from 1 to 0 and from 2 to 0 are cut, in that
// direction only (what partition does both ways); heal restores them.
template <class Config>
void cmd_cut(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.empty()) throw script_error("usage: cut <from>-><to> ...");
    for (const std::string& t : a) {
        const auto arrow = t.find("->");
        if (arrow == std::string::npos) throw script_error("cut: expected <from>-><to>, got " + t);
        e.cuts.insert({e.node_arg(t.substr(0, arrow)), e.node_arg(t.substr(arrow + 2))});
    }
    out.push_back("ok");
}

// partition 0 1 | 2: links between the groups are cut, in both directions.
template <class Config>
void cmd_partition(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    e.group.assign(e.nodes.size(), 0);
    int group = 1;
    for (const std::string& t : a) {
        if (t == "|") {
            ++group;
        } else {
            e.group[e.node_arg(t)] = group;
        }
    }
    if (group < 2) throw script_error("usage: partition <nodes> | <nodes> [| ...]");
    out.push_back("ok");
}

template <class Config>
void cmd_crash(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.size() != 1) throw script_error("usage: crash <node>");
    const std::size_t i = e.node_arg(a[0]);
    e.crash(i);  // what was never synced is gone
    out.push_back("ok");
}

// A new process: a fresh replica restored from the synced store only.
template <class Config>
void cmd_restart(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.size() != 1) throw script_error("usage: restart <node>");
    const std::size_t i = e.node_arg(a[0]);
    if (!e.down(i)) throw script_error("restart: node " + a[0] + " is not down");
    ++e.nodes[i].restarts;
    e.cluster[i].replica = e.make_replica(i);
    paxos::storage::replica_recovery<Config> recovered;
    if (e.cluster[i].store.recover(recovered) != paxos::storage::status::ok) {
        throw script_error("restart: the store refused to recover");
    }
    const auto rec = recovered.recovery(paxos::slot_id{e.nodes[i].log.size()});
    const paxos::result res = e.replica(i).restore(rec);
    out.push_back("restore promised=" + e.ballot_text(rec.promised) +
                  " votes=" + std::to_string(rec.accepted.size()) + " first_unapplied=" +
                  std::to_string(rec.first_unapplied.value) + ": " + e.result_text(res));
    e.cluster.resume_snapshots(i);
    e.restarted(i);
}

template <class Config>
void cmd_snapshot_of(env<Config>& e, std::size_t i, lines& out) {
    const auto& log = e.nodes[i].log;
    auto bytes = env<Config>::encode_state(log);
    const std::size_t size = bytes.size();
    const paxos::result res =
        e.cluster.save_snapshot(i, paxos::slot_id{log.size()}, std::move(bytes));
    out.push_back("snapshot slot=" + std::to_string(log.size()) + " size=" + std::to_string(size) +
                  ": " + e.result_text(res) +
                  " log_start=" + std::to_string(e.replica(i).log_start().value));
    e.drain(i, out, true);
}

// snapshot <node>: the node's state machine saves its state through its
// last applied slot; the harness offers it, writes the log's marker and
// compacts the replica to it (sim/harness.hpp's save_snapshot).
template <class Config>
void cmd_snapshot(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.size() != 1) throw script_error("usage: snapshot <node>");
    const std::size_t i = e.node_arg(a[0]);
    e.require_up(i);
    if constexpr (env<Config>::harness_type::transfers) {
        cmd_snapshot_of(e, i, out);
    } else {
        throw script_error("snapshot: this config has no snapshot transfer (single decree)");
    }
}

template <class Config>
void cmd_status(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.size() > 1) throw script_error("usage: status [node]");
    for (const std::size_t i : e.node_list(a.empty() ? "all" : a[0])) {
        const typename env<Config>::replica_type& r = e.replica(i);
        std::string s = std::to_string(i) + ": ";
        if (e.down(i)) {
            out.push_back(s + "down");
            continue;
        }
        s += e.role_text(r.current_role());
        if (r.current_role() != paxos::role::follower) {
            s += " ballot=" + e.ballot_text(r.ballot());
        }
        s += " promised=" + e.ballot_text(r.promised()) + " leader=" + e.node_text(r.leader()) +
             " chosen_end=" + std::to_string(r.chosen_end().value) +
             " applied=" + std::to_string(e.nodes[i].log.size());
        if (r.log_start().value != 0) s += " log_start=" + std::to_string(r.log_start().value);
        if (r.pending_count() != 0) s += " pending=" + std::to_string(r.pending_count());
        if constexpr (env<Config>::replica_type::reads_max != 0) {
            if (r.reads_waiting() != 0) s += " reads_waiting=" + std::to_string(r.reads_waiting());
        }
        out.push_back(s);
    }
}

template <class Config>
void cmd_log(env<Config>& e, lines& out) {
    for (std::size_t i = 0; i < e.nodes.size(); ++i) {
        std::string s = std::to_string(i) + ":";
        for (const auto& entry : e.nodes[i].log) {
            s += ' ';  // not `" " + ...`: a false -Wrestrict in g++ 12 -O2
            s += values_text(entry);
        }
        if (e.nodes[i].log.empty()) s += " (empty)";
        out.push_back(s);
    }
}

template <class Config>
void cmd_durable(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.size() != 1) throw script_error("usage: durable <node>");
    const std::size_t i = e.node_arg(a[0]);
    const auto d = e.durable_of(i);
    std::string s = "promised=" + e.ballot_text(d.promised);
    for (const auto& [slot, vote] : d.votes) {
        s += " slot" + std::to_string(slot) + "=" + e.ballot_text(vote.first) + ":" +
             values_text(vote.second);
    }
    s += " chosen_records=" + std::to_string(d.chosen);
    out.push_back(s);
}

// step <node> <kind> key=value...: a crafted message, as a peer (or an
// attacker, or a corrupted link) would send it. kind=<number> forges the
// kind byte itself.
template <class Config>
void cmd_step(env<Config>& e, const std::vector<std::string>& a, lines& out) {
    if (a.size() < 2) throw script_error("usage: step <node> <kind> [key=value...]");
    const std::size_t i = e.node_arg(a[0]);
    e.require_up(i);
    typename env<Config>::message_buffer m{};
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
            m.ballot = e.parse_ballot(val);
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
                               e.parse_ballot(parts[1]), count, parts.size() == 4});
        } else if (key == "vote") {
            m.accepted_ballot = e.parse_ballot(val);
        } else if (key == "part") {
            const auto slash = val.find('/');
            if (slash == std::string::npos) throw script_error("part is part/parts: '" + val + "'");
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
    const paxos::result res = e.replica(i).step(m.view());
    out.push_back(e.result_text(res));
    e.drain(i, out, true);
}

// run <ticks> [phase1-first] [until=leader|chosen]: rounds of "deliver
// everything, then tick every live node", for liveness stories.
template <class Config>
void cmd_run(env<Config>& e, const std::vector<std::string>& a, lines& out) {
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
    std::vector<std::uint64_t> start(e.nodes.size());
    for (std::size_t i = 0; i < e.nodes.size(); ++i) {
        start[i] = e.replica(i).chosen_end().value;
    }
    auto done = [&] {
        if (until == "leader") return e.agreed_leader().has_value();
        if (until == "chosen") {
            for (std::size_t i = 0; i < e.nodes.size(); ++i) {
                if (!e.down(i) && e.replica(i).chosen_end().value <= start[i]) {
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
        for (std::size_t n = 0; n < e.deliveries_max; ++n) {
            const auto k = e.pick(f);
            if (!k) break;
            (void)e.deliver_at(*k, sink, true);
            ++delivered;
        }
        if (done()) break;
        for (std::size_t i = 0; i < e.nodes.size(); ++i) {
            if (e.down(i)) continue;
            (void)e.replica(i).tick();
            e.drain(i, sink, false);
        }
    }
    std::string s =
        "after " + std::to_string(t) + " ticks, " + std::to_string(delivered) + " messages: ";
    if (until.empty()) {
        s += "done";
    } else if (done()) {
        s += until == "leader" ? "leader is " + std::to_string(*e.agreed_leader())
                               : "every live node learned a new slot";
    } else {
        s += "no " + until + " yet";
    }
    out.push_back(s);
}

// One environment of one configuration, behind the runner's interface.
template <class Config>
class engine final : public engine_base {
public:
    engine(std::uint64_t seed, bool check_quorum) : e_(seed, check_quorum) {}

    void run(const command& c, lines& out) override {
        const std::string& name = c.args[0];
        const std::vector<std::string> a(c.args.begin() + 1, c.args.end());
        if (name == "propose") {
            cmd_propose(e_, a, out);
        } else if (name == "campaign") {
            cmd_campaign(e_, a, out);
        } else if (name == "read") {
            cmd_read(e_, a, out);
        } else if (name == "transfer") {
            cmd_transfer(e_, a, out);
        } else if (name == "tick") {
            cmd_tick(e_, a, out);
        } else if (name == "deliver") {
            cmd_deliver(e_, e_.parse_filter(a, true), out);
        } else if (name == "settle") {
            message_filter f;
            f.quiet = true;
            cmd_deliver(e_, f, out);
        } else if (name == "drop") {
            cmd_drop(e_, e_.parse_filter(a, false), out);
        } else if (name == "duplicate") {
            cmd_duplicate(e_, e_.parse_filter(a, false), out);
        } else if (name == "inflight") {
            cmd_inflight(e_, out);
        } else if (name == "partition") {
            cmd_partition(e_, a, out);
        } else if (name == "cut") {
            cmd_cut(e_, a, out);
        } else if (name == "heal") {
            e_.group.assign(e_.size(), 0);
            e_.cuts.clear();
            out.push_back("ok");
        } else if (name == "crash") {
            cmd_crash(e_, a, out);
        } else if (name == "restart") {
            cmd_restart(e_, a, out);
        } else if (name == "snapshot") {
            cmd_snapshot(e_, a, out);
        } else if (name == "status") {
            cmd_status(e_, a, out);
        } else if (name == "log") {
            cmd_log(e_, out);
        } else if (name == "durable") {
            cmd_durable(e_, a, out);
        } else if (name == "step") {
            cmd_step(e_, a, out);
        } else if (name == "run") {
            cmd_run(e_, a, out);
        } else if (name == "trace") {
            if (a.size() != 1 || (a[0] != "on" && a[0] != "off")) {
                throw script_error("usage: trace on|off");
            }
            e_.trace = a[0] == "on";
            out.push_back("ok");
        } else {
            throw script_error("unknown command '" + name + "'");
        }
        e_.check(out);
    }

private:
    env<Config> e_;
};

// ---- the configurations a script may pick -----------------------------------------

template <class Leader, std::size_t N>
using single_decree =
    paxos::config<int, paxos::counter_ballot<N>, paxos::majority<N>, Leader, N, 1, 1, true>;
// Multi-Paxos with a window of 4 slots and batches of up to 2 commands: small
// enough that a script can fill the window and slide it; snapshot chunks of
// 16 bytes, so a snapshot of a few slots takes several.
template <std::size_t N>
struct multi : paxos::multi_paxos<int, N, 4, 2> {
    static constexpr std::size_t snapshot_chunk_bytes = 16;
};

bool check_quorum_option = true;  // the replicas' option, from `config`

template <class Cfg>
std::unique_ptr<engine_base> build(std::uint64_t seed, const char* description, lines& out) {
    out.push_back(description);
    return std::make_unique<engine<Cfg>>(seed, check_quorum_option);
}

}  // namespace

// `config <variant> <nodes...> [seed=K] [check_quorum=off]`: a fresh cluster,
// every node empty.
std::unique_ptr<engine_base> make_engine(const std::vector<std::string>& a, lines& out) {
    std::uint64_t seed = 1;
    std::string key;
    check_quorum_option = true;
    for (std::size_t k = 1; k < a.size(); ++k) {
        if (a[k].rfind("seed=", 0) == 0) {
            seed = parse_u64(a[k].substr(5), "seed");
        } else if (a[k] == "check_quorum=off") {
            check_quorum_option = false;
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

}  // namespace scenario
