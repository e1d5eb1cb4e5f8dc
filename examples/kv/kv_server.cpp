// examples/kv/kv_server.cpp: paxos_kv, the glue. One process per replica:
// the node driver (log, snapshots, TCP between replicas) embedded in this
// file's epoll loop, which serves Redis clients (RESP2) on the client port.
//
//   paxos_kv --id N --peers PEERS --clients CLIENTS --dir DIR [--tick-ms N]
//            [--snapshot-every N] [--cluster HEX] [--peer-fd FD] [--client-fd FD]
//
// PEERS and CLIENTS hold "ID 127.0.0.1:PORT" per line (3 or 5 lines): where
// each replica listens for its peers, and for Redis clients.
//
// Followers redirect, they do not forward: a command sent to a follower is
// answered "-MOVED <slot> 127.0.0.1:PORT" with the leader's client port
// (what `redis-cli -c` and cluster-aware clients follow), or "-TRYAGAIN ..."
// while no leader is known. Redirecting keeps each command at one hop to
// the log and tells the client where the leader is; forwarding would hide a
// second network hop and a second place to lose an answer.
//
// Sessions: RESP carries no client id, so each connection registers a
// session through the log before its first write (one extra round, once).
// Its writes carry (session, number). A write whose answer timed out in
// the driver (the leader lost its quorum for a while) is proposed again
// under the same number while this node is leader, up to retries_max times:
// the session table answers it from the saved reply if it ran already, so
// the server's own retries are exactly-once. When the server gives up it
// answers "-TRYAGAIN outcome unknown": a Redis client that then sends the
// command again sends a new command, which may run a second time (use
// SET ... IFEQ to make such a retry safe). Reads carry no session.
//
// Reads are linearizable and skip the log: a GET is a read index at the
// leader (one heartbeat round to a quorum, no write, no sync; read_path()).
//
// Test-only planted bugs (targets paxos_kv_plant_*; never in paxos_kv):
//   PAXOS_KV_PLANT_LOCAL_READ    GET answered from local state at once
//   PAXOS_KV_PLANT_EARLY_REPLY   a write answered +OK when proposed, before
//                                it is chosen (and durable on a quorum)
// and PAXOS_KV_PLANT_SNAPSHOT_WITHOUT_SESSIONS in kv_machine.hpp.
#include <paxos/node/process.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kv_machine.hpp"
#include "kv_resp.hpp"
#include "resp.hpp"

namespace {

using paxos::node::answer_status;
using paxos::node::submit_status;

volatile std::sig_atomic_t stop_requested = 0;
void on_stop(int) { stop_requested = 1; }

unsigned self_for_log = 0;
void log_line(const char* format, ...) __attribute__((format(printf, 1, 2)));
void log_line(const char* format, ...) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    char text[512];
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(text, sizeof text, format, ap);
    va_end(ap);
    std::fprintf(stderr, "%s.%03dZ kv node %u: %s\n", stamp, static_cast<int>(ms), self_for_log,
                 text);
}

constexpr std::size_t connections_max = 256;
constexpr std::size_t out_bytes_max = 64 * 1024;  // queued replies before we stop reading
constexpr int retries_max = 3;                    // server-side re-proposals after timed_out

enum class phase : std::uint8_t { idle, registering, waiting, reading };

struct connection {
    int fd = -1;
    std::uint32_t generation = 0;
    std::unique_ptr<paxos_kv::resp::request_buffer> in;
    std::string out;
    phase state = phase::idle;
    bool closing = false;  // a protocol error was answered: flush, then close
    std::uint32_t interest = 0;
    std::uint64_t session = 0;  // 0: not registered yet
    std::uint64_t seq = 0;
    paxos_kv::kv_command pending{};  // the command in the log (or waiting for the session)
    int retries = 0;
    bool early_replied = false;  // planted bug PAXOS_KV_PLANT_EARLY_REPLY only
    bool answered = false;       // an answer arrived in the driver's hook: act on it after poll
    bool read_ready = false;     // and for a read: true, safe to serve; false, handed back
    answer_status answer{};
    std::array<std::byte, paxos_kv::reply_bytes_max> reply{};
    std::size_t reply_bytes = 0;
};

template <std::size_t N>
class server {
public:
    using config = paxos::multi_paxos<paxos_kv::kv_command, N>;
    using wal_type = paxos::storage::posix_wal<config>;
    using driver_type =
        paxos::node::driver<config, wal_type, paxos::net::tcp_transport, paxos_kv::kv_machine>;

    server(const paxos::node::process_flags& f, std::vector<paxos::net::peer_address> clients)
        : flags_(f), clients_(std::move(clients)), conns_(connections_max) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
        // Nonces name registrations; every replica applies
        // every command, so they must differ across nodes and incarnations.
        nonce_base_ = (std::uint64_t{f.self.value} + 1) << 56 |
                      (static_cast<std::uint64_t>(ms) & 0xFFFFFF) << 32;
    }

    int run() {
        const auto peers = paxos::net::load_address_file(flags_.peers_file, flags_.self, N);
        if (!peers.ok()) return fail(peers.error);
        paxos::net::transport_options topt;
        topt.cluster = flags_.cluster;
        topt.frame_bytes_max = paxos::wire::encoded_size_max<typename driver_type::message_buffer>;
        topt.receive_buffer_bytes = 2 * topt.frame_bytes_max;
        topt.send_queue_bytes = 64 * topt.frame_bytes_max;
        topt.jitter_seed = flags_.cluster.value ^ (flags_.self.value + 1);
        // A replica that restarts must hear the leader before its own
        // election timeout (10 ticks at least), or it campaigns and deposes
        // a healthy leader: the leader's redial to it must come within a few
        // ticks, not after the transport's default cap of 2 s.
        topt.backoff_min_ms = 2 * flags_.tick_ms;
        topt.backoff_max_ms = 5 * flags_.tick_ms;
        paxos::net::tcp_transport net(flags_.self, peers.table, topt);
        const auto started = flags_.peer_fd >= 0 ? net.start(flags_.peer_fd) : net.start();
        if (!started.ok())
            return fail(std::string("peer port: ") + started.call + ": " +
                        std::strerror(started.error));
        if (::mkdir(flags_.dir.c_str(), 0755) != 0 && errno != EEXIST)
            return fail(flags_.dir + ": " + std::strerror(errno));
        wal_type wal(flags_.dir + "/wal");
        paxos::storage::snapshot_store<> snapshots(flags_.dir + "/snap");
        paxos::node::driver_options<config> opt;
        opt.self = flags_.self;
        opt.cluster = flags_.cluster;
        opt.tick_ms = flags_.tick_ms;
        opt.snapshot_every_slots = flags_.snapshot_every_slots;
#ifdef PAXOS_KV_PLANT_LOCAL_READ
        // The planted stale read needs a deposed leader that goes on serving:
        // check-quorum would make it step down within a period or two, which
        // narrows the window the nemesis must hit (it no longer hit it in
        // the CI-sized run). A read index closes the window; this does not.
        opt.check_quorum = false;
#endif
        static paxos_kv::kv_machine machine;  // the session table is large: not on the stack
        machine_ = &machine;
        node_ = std::make_unique<driver_type>(opt, wal, net, machine, &snapshots);
        if (const auto e = node_->start(); !e.ok()) return fail(e.what);
        node_->set_answer_hook(this, &server::on_answer);
        node_->set_read_hook(this, &server::on_read);

        listen_fd_ = flags_.client_fd >= 0
                         ? flags_.client_fd
                         : paxos::node::detail::listen_on(clients_[flags_.self.value]);
        if (listen_fd_ < 0) return fail(std::string("client port: ") + std::strerror(errno));
        (void)::fcntl(listen_fd_, F_SETFL, ::fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
        epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0 || !watch(node_->epoll_fd(), tag_node, EPOLLIN) ||
            !watch(listen_fd_, tag_listen, EPOLLIN))
            return fail(std::string("epoll: ") + std::strerror(errno));

        std::signal(SIGTERM, on_stop);
        std::signal(SIGINT, on_stop);
        std::signal(SIGPIPE, SIG_IGN);
        log_line("started: %zu replicas, clients on %s, applied through slot %llu, %zu keys", N,
                 clients_[flags_.self.value].to_string().c_str(),
                 static_cast<unsigned long long>(node_->applied_end().value), machine.size());
        loop();
        for (std::size_t i = 0; i < conns_.size(); ++i) close_connection(i);
        const auto& s = node_->stats();
        const std::string why = node_->error().what;
        log_line("stopped (%s): %llu slots, %llu commands, %llu syncs, %llu snapshots",
                 why.empty() ? "SIGTERM" : why.c_str(),
                 static_cast<unsigned long long>(s.slots_applied),
                 static_cast<unsigned long long>(s.commands_applied),
                 static_cast<unsigned long long>(s.syncs_requested),
                 static_cast<unsigned long long>(s.snapshots_taken));
        node_->close();
        ::close(listen_fd_);
        ::close(epoll_fd_);
        return why.empty() ? 0 : 1;
    }

private:
    static constexpr std::uint64_t tag_node = ~std::uint64_t{0};
    static constexpr std::uint64_t tag_listen = ~std::uint64_t{0} - 1;

    static int fail(const std::string& why) {
        log_line("error: %s", why.c_str());
        return 1;
    }

    bool watch(int fd, std::uint64_t tag, std::uint32_t events) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = tag;
        return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
    }

    void loop() {
        std::array<epoll_event, 64> events{};
        while (stop_requested == 0 && !node_->stopped()) {
            const int wait = work_pending_ ? 0 : node_->next_timeout_ms();
            work_pending_ = false;
            const int n = ::epoll_wait(epoll_fd_, events.data(), events.size(), wait);
            for (int i = 0; i < n; ++i) {
                const epoll_event& ev = events[static_cast<std::size_t>(i)];
                if (ev.data.u64 == tag_listen) {
                    accept_all();
                } else if (ev.data.u64 != tag_node) {
                    on_connection(static_cast<std::size_t>(ev.data.u64), ev.events);
                }
            }
            (void)node_->poll(0);
            // Answers arrived inside poll(); submitting from within the
            // driver's apply would re-enter it, so they are acted on here.
            for (std::size_t i = 0; i < conns_.size(); ++i) {
                if (conns_[i].fd >= 0 && conns_[i].answered) on_answered(i);
            }
            log_role();
        }
    }

    void log_role() {
        const bool leader = node_->is_leader();
        const paxos::node_id hint = node_->leader();
        if (leader == was_leader_ && hint == last_hint_) return;
        was_leader_ = leader;
        last_hint_ = hint;
        if (leader) {
            log_line("role: leader (ballot %llu)",
                     static_cast<unsigned long long>(node_->core().ballot().raw()));
        } else if (hint == paxos::node_id::none()) {
            log_line("role: follower, no leader known");
        } else {
            log_line("role: follower, leader is node %u", unsigned{hint.value});
        }
    }

    // ---- connections ---------------------------------------------------------------

    void accept_all() {
        for (int round = 0; round < 64; ++round) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;
            std::size_t i = 0;
            while (i < conns_.size() && conns_[i].fd >= 0) ++i;
            if (i == conns_.size()) {
                static constexpr char full[] = "-ERR max number of clients reached\r\n";
                (void)::send(fd, full, sizeof full - 1, MSG_NOSIGNAL);
                ::close(fd);
                continue;
            }
            connection& c = conns_[i];
            const std::uint32_t generation = c.generation + 1;
            auto buffer = std::move(c.in);
            c = connection{};
            c.generation = generation;
            c.in = buffer ? std::move(buffer) : std::make_unique<paxos_kv::resp::request_buffer>();
            c.in->reset();
            c.fd = fd;
            c.interest = EPOLLIN;
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = i;
            if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) close_connection(i);
        }
    }

    void close_connection(std::size_t i) {
        connection& c = conns_[i];
        if (c.fd < 0) return;
        ::close(c.fd);  // also leaves the epoll set
        c.fd = -1;
        ++c.generation;  // an answer still on its way finds a stranger and is dropped
    }

    void on_connection(std::size_t i, std::uint32_t events) {
        connection& c = conns_[i];
        if (c.fd < 0) return;
        if ((events & (EPOLLERR | EPOLLHUP)) != 0 && (events & EPOLLIN) == 0) {
            return close_connection(i);
        }
        if ((events & EPOLLIN) != 0 && c.state == phase::idle && !c.closing) {
            const auto room = c.in->writable();
            const ssize_t n = ::recv(c.fd, room.data(), room.size(), 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return close_connection(i);
            if (n > 0) c.in->commit(static_cast<std::size_t>(n));
            serve_input(i);
        }
        if (c.fd >= 0) flush(i);
    }

    // Parses and serves requests until one waits on the log: one command of a
    // connection in the log at a time, so replies keep the requests' order.
    void serve_input(std::size_t i) {
        connection& c = conns_[i];
        for (int round = 0; round < 1024 && c.state == phase::idle && !c.closing; ++round) {
            if (c.out.size() >= out_bytes_max) break;
            const auto st = c.in->next();
            if (st == paxos_kv::resp::parse_status::incomplete) break;
            if (st == paxos_kv::resp::parse_status::error) {
                c.out += "-ERR ";
                c.out += c.in->error_text();
                c.out += "\r\n";
                c.closing = true;
                break;
            }
            std::array<char, 512> buf;
            paxos_kv::resp::reply_writer w(buf);
            paxos_kv::kv_command cmd;
            if (paxos_kv::translate(c.in->args(), cmd, w) == paxos_kv::request_action::answered) {
                c.out.append(buf.data(), w.size());
                continue;
            }
            start_command(i, cmd);
        }
    }

    void start_command(std::size_t i, const paxos_kv::kv_command& cmd) {
        connection& c = conns_[i];
        c.pending = cmd;
        c.retries = 0;
        c.early_replied = false;
        if (!node_->is_leader()) return redirect(i);
        if (cmd.what == paxos_kv::op::get) return read_path(i);
#ifdef PAXOS_KV_PLANT_EARLY_REPLY
        if (cmd.what == paxos_kv::op::set) {  // a plain SET: its reply does not depend on state
            c.out += "+OK\r\n";
            c.early_replied = true;  // and nothing more is said about this command
        }
#endif
        if (c.session == 0) {
            paxos_kv::kv_command reg;
            reg.what = paxos_kv::op::register_client;
            reg.seq = nonce_base_ | (next_nonce_++ & 0xFFFFFFFF);
            return submit(i, reg, phase::registering);
        }
        c.pending.client = c.session;
        c.pending.seq = ++c.seq;
        submit(i, c.pending, phase::waiting);
    }

    // The single point where a read is served: the core's read index
    // (core/reads.hpp, through the driver's read()). The leader confirms
    // with one heartbeat round answered by a quorum that no newer leader
    // exists, and the driver calls back once the state machine has applied
    // every slot the read must see; the GET is then answered from local
    // state. Nothing is written to the log, nothing synced.
    void read_path(std::size_t i) {
#ifdef PAXOS_KV_PLANT_LOCAL_READ
        return serve_read(i);  // the planted bug: no round, a deposed leader serves stale state
#endif
        taken_or_refused(i, node_->read(cookie_of(i)), phase::reading);
    }

    void serve_read(std::size_t i) {
        std::array<std::byte, paxos_kv::reply_bytes_max> r{};
        const std::size_t n = machine_->local_get(conns_[i].pending.key_view(), r);
        answer_now(i, std::span(r).first(n));
    }

    std::uint64_t cookie_of(std::size_t i) const {
        return i | std::uint64_t{conns_[i].generation} << 16;
    }

    void submit(std::size_t i, const paxos_kv::kv_command& cmd, phase next) {
        taken_or_refused(i, node_->submit(cmd, cookie_of(i)), next);
    }

    // What the driver said to a command or a read: taken (wait in `next`),
    // or refused, answered now.
    void taken_or_refused(std::size_t i, submit_status s, phase next) {
        connection& c = conns_[i];
        work_pending_ = true;
        if (s == submit_status::taken) {
            c.state = next;
            return update_interest(i);
        }
        c.state = phase::idle;
        if (s == submit_status::not_leader) return redirect(i);
        unknown_or_refused(i, s == submit_status::busy ? "TRYAGAIN paxos_kv: busy, retry"
                                                       : "ERR paxos_kv: node stopped");
    }

    void redirect(std::size_t i) {
        connection& c = conns_[i];
        const paxos::node_id leader = node_->leader();
        char text[96];
        int n = 0;
        if (leader == paxos::node_id::none() || leader.value >= clients_.size()) {
            n = std::snprintf(text, sizeof text, "-TRYAGAIN no leader known, retry\r\n");
        } else {
            n = std::snprintf(text, sizeof text, "-MOVED %u %s\r\n",
                              unsigned{paxos_kv::key_slot(c.pending.key_view())},
                              clients_[leader.value].to_string().c_str());
        }
        if (!c.early_replied) c.out.append(text, static_cast<std::size_t>(n));
        c.state = phase::idle;
    }

    void unknown_or_refused(std::size_t i, const char* text) {
        connection& c = conns_[i];
        if (!c.early_replied) {
            c.out += "-";
            c.out += text;
            c.out += "\r\n";
        }
        c.state = phase::idle;
    }

    void answer_now(std::size_t i, std::span<const std::byte> reply) {
        std::array<char, 512> buf;
        paxos_kv::resp::reply_writer w(buf);
        paxos_kv::write_reply(reply, w);
        conns_[i].out.append(buf.data(), w.size());
        conns_[i].state = phase::idle;
    }

    static void on_answer(void* self, std::uint64_t cookie, answer_status s,
                          std::span<const std::byte> reply) {
        auto& me = *static_cast<server*>(self);
        const std::size_t i = cookie & 0xFFFF;
        if (i >= me.conns_.size()) return;
        connection& c = me.conns_[i];
        if (c.fd < 0 || c.generation != static_cast<std::uint32_t>(cookie >> 16)) return;
        if (c.state == phase::idle || c.answered) return;  // a second answer to a retry
        c.answered = true;
        c.answer = s;
        c.reply_bytes = std::min(reply.size(), c.reply.size());
        if (c.reply_bytes > 0) std::memcpy(c.reply.data(), reply.data(), c.reply_bytes);
    }

    static void on_read(void* self, std::uint64_t cookie, bool ready) {
        auto& me = *static_cast<server*>(self);
        const std::size_t i = cookie & 0xFFFF;
        if (i >= me.conns_.size()) return;
        connection& c = me.conns_[i];
        if (c.fd < 0 || c.generation != static_cast<std::uint32_t>(cookie >> 16)) return;
        if (c.state != phase::reading || c.answered) return;
        c.answered = true;
        c.read_ready = ready;
    }

    void on_answered(std::size_t i) {
        connection& c = conns_[i];
        c.answered = false;
        if (c.state == phase::reading) {
            // Handed back (this node stopped leading first): nothing was
            // read, so a redirect is a definite "not done".
            if (c.read_ready) {
                serve_read(i);
            } else {
                redirect(i);
            }
            serve_input(i);
            return flush(i);
        }
        const answer_status s = c.answer;
        const auto reply = std::span(c.reply).first(c.reply_bytes);
        if (c.state == phase::registering && s == answer_status::executed && reply.size() == 8) {
            std::uint64_t id = 0;
            for (std::size_t b = 0; b < 8; ++b)
                id |= std::uint64_t{std::to_integer<std::uint8_t>(reply[b])} << (8 * b);
            c.session = id;
            c.seq = 0;
            c.pending.client = c.session;
            c.pending.seq = ++c.seq;
            submit(i, c.pending, phase::waiting);
        } else if (s == answer_status::executed || s == answer_status::duplicate) {
            if (c.early_replied) {
                c.state = phase::idle;
            } else {
                answer_now(i, reply);
            }
        } else if ((s == answer_status::timed_out || s == answer_status::not_chosen) &&
                   c.retries < retries_max && node_->is_leader()) {
            // The same command again, under the same session number: the
            // session table answers it from the saved reply if it ran
            // (not_chosen: it did not, and will not, run from the old slot).
            ++c.retries;
            const paxos_kv::kv_command again =
                c.state == phase::registering ? registration_again(c) : c.pending;
            submit(i, again, c.state);
        } else if (s == answer_status::session_evicted || s == answer_status::session_unknown) {
            c.session = 0;
            unknown_or_refused(i, "TRYAGAIN paxos_kv: session evicted, outcome unknown");
        } else {
            // (not_chosen after earlier attempts timed out: one of those may have run.)
            unknown_or_refused(i, "TRYAGAIN paxos_kv: outcome unknown (no answer from the log)");
        }
        if (c.fd >= 0) {
            serve_input(i);
            flush(i);
        }
    }

    paxos_kv::kv_command registration_again(const connection&) {
        paxos_kv::kv_command reg;
        reg.what = paxos_kv::op::register_client;
        reg.seq = nonce_base_ | (next_nonce_++ & 0xFFFFFFFF);
        return reg;
    }

    void flush(std::size_t i) {
        connection& c = conns_[i];
        if (!c.out.empty()) {
            const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR) return close_connection(i);
            if (n > 0) c.out.erase(0, static_cast<std::size_t>(n));
        }
        if (c.out.empty() && c.closing) return close_connection(i);
        update_interest(i);
    }

    // Reads only while idle (one command in the log per connection) and
    // while the queued replies are small; writes while replies are queued.
    void update_interest(std::size_t i) {
        connection& c = conns_[i];
        std::uint32_t want = 0;
        if (c.state == phase::idle && !c.closing && c.out.size() < out_bytes_max) want |= EPOLLIN;
        if (!c.out.empty()) want |= EPOLLOUT;
        if (want == c.interest) return;
        epoll_event ev{};
        ev.events = want;
        ev.data.u64 = i;
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) != 0) return close_connection(i);
        c.interest = want;
    }

    paxos::node::process_flags flags_;
    std::vector<paxos::net::peer_address> clients_;
    std::vector<connection> conns_;
    std::unique_ptr<driver_type> node_;
    paxos_kv::kv_machine* machine_ = nullptr;
    int listen_fd_ = -1;
    int epoll_fd_ = -1;
    bool work_pending_ = false;
    bool was_leader_ = false;
    paxos::node_id last_hint_ = paxos::node_id::none();
    std::uint64_t nonce_base_ = 0;
    std::uint64_t next_nonce_ = 0;
};

}  // namespace

// `paxos_kv --pick-ports K`: K free loopback ports, chosen by the kernel
// (all bound at once, so they differ), for scripts/kv-cluster.
int pick_ports(const char* count) {
    const int k = std::atoi(count);
    if (k < 1 || k > 64) return std::fprintf(stderr, "paxos_kv: --pick-ports 1..64\n"), 2;
    std::vector<int> fds;
    for (int i = 0; i < k; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            return std::fprintf(stderr, "paxos_kv: bind: %s\n", std::strerror(errno)), 1;
        std::printf("%u\n", unsigned{ntohs(a.sin_port)});
        fds.push_back(fd);
    }
    for (const int fd : fds) ::close(fd);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 3 && std::string_view(argv[1]) == "--pick-ports") return pick_ports(argv[2]);
    const paxos::node::process_flags f = paxos::node::parse_process_flags(argc, argv);
    if (!f.error.empty()) return std::fprintf(stderr, "paxos_kv: %s\n", f.error.c_str()), 2;
    self_for_log = f.self.value;
    std::string error;
    auto clients = paxos::node::load_client_addresses(f.clients_file, error);
    if (!error.empty()) return std::fprintf(stderr, "paxos_kv: %s\n", error.c_str()), 2;
    if (f.self.value >= clients.size())
        return std::fprintf(stderr, "paxos_kv: %s: no line for node %u\n", f.clients_file.c_str(),
                            unsigned{f.self.value}),
               2;
    // The cluster size is a compile-time constant of the config (majority<N>).
    if (clients.size() == 3) return server<3>(f, std::move(clients)).run();
    if (clients.size() == 5) return server<5>(f, std::move(clients)).run();
    std::fprintf(stderr, "paxos_kv: %s: %zu replicas; paxos_kv runs 3 or 5\n",
                 f.clients_file.c_str(), clients.size());
    return 2;
}
