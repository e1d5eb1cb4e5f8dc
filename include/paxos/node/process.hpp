// paxos/node/process.hpp: a whole node process in one call, for programs
// whose only own part is the state machine (examples/counter.cpp).
//
// run_node<Config>(argc, argv, machine) reads the flags below, opens the
// POSIX write-ahead log and the snapshot store under --dir, starts the TCP
// transport and the client port, runs the driver's own loop until SIGTERM or
// SIGINT, and returns the process's exit status (0 after a signal, 1 with
// the reason on stderr after an error: a bad flag, a refused recovery, a
// storage error).
//
//   --id N              this node's id
//   --peers FILE        "ID ADDRESS:PORT" per line: where nodes listen for peers
//   --clients FILE      the same format: where each node listens for clients
//   --dir DIR           its log (DIR/wal) and snapshots (DIR/snap)
//   --cluster HEX       the cluster id (default 0x70617830; one per cluster)
//   --tick-ms N         the tick interval (default 10)
//   --snapshot-every N  save a snapshot every N applied slots (default 1000; 0: never)
//   --peer-fd FD, --client-fd FD
//                       listen on these inherited sockets instead of binding
//                       (a supervisor or a test that bound port 0 keeps the
//                       ports across restarts)
#pragma once

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>
#include <sys/stat.h>

#include "../net/address_table.hpp"
#include "../net/tcp_transport.hpp"
#include "../storage/posix_wal.hpp"
#include "driver.hpp"

namespace paxos::inline v0::node {

struct process_flags {
    node_id self{};
    std::string peers_file;
    std::string clients_file;
    std::string dir;
    wire::cluster_id cluster{0x70617830};
    std::uint32_t tick_ms = 10;
    std::uint64_t snapshot_every_slots = 1000;
    int peer_fd = -1;
    int client_fd = -1;
    std::string error;  // empty: parsed
};

inline process_flags parse_process_flags(int argc, const char* const* argv) {
    process_flags f;
    bool have_id = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (i + 1 >= argc) {
            f.error = std::string(a) + ": missing its value";
            return f;
        }
        const char* v = argv[++i];
        char* end = nullptr;
        const unsigned long long n = std::strtoull(v, &end, a == "--cluster" ? 16 : 10);
        const bool numeric = end != v && *end == '\0';
        if (a == "--peers") {
            f.peers_file = v;
        } else if (a == "--clients") {
            f.clients_file = v;
        } else if (a == "--dir") {
            f.dir = v;
        } else if (!numeric) {
            f.error = std::string(a) + " " + v + ": not a number";
            return f;
        } else if (a == "--id" && n < node_set::capacity) {
            f.self = node_id{static_cast<std::uint16_t>(n)};
            have_id = true;
        } else if (a == "--cluster") {
            f.cluster = wire::cluster_id{n};
        } else if (a == "--tick-ms" && n >= 1 && n <= 10000) {
            f.tick_ms = static_cast<std::uint32_t>(n);
        } else if (a == "--snapshot-every") {
            f.snapshot_every_slots = n;
        } else if (a == "--peer-fd" && n <= 65535) {
            f.peer_fd = static_cast<int>(n);
        } else if (a == "--client-fd" && n <= 65535) {
            f.client_fd = static_cast<int>(n);
        } else {
            f.error = std::string(a) + " " + v + ": unknown flag or value out of range";
            return f;
        }
    }
    if (!have_id || f.peers_file.empty() || f.clients_file.empty() || f.dir.empty())
        f.error =
            "usage: --id N --peers FILE --clients FILE --dir DIR [--cluster HEX] "
            "[--tick-ms N] [--snapshot-every N] [--peer-fd FD] [--client-fd FD]";
    return f;
}

// The client port addresses of an address file, indexed by node id.
inline std::vector<net::peer_address> load_client_addresses(const std::string& path,
                                                            std::string& error) {
    auto t = net::load_address_file(path, node_id{0}, node_set::capacity);
    std::vector<net::peer_address> out;
    if (!t.ok()) {
        error = t.error;
        return out;
    }
    out.resize(t.table.size());
    for (const auto& e : t.table) {
        if (e.id.value >= out.size()) {
            error = path + ": node ids must be 0 .. N-1";
            return {};
        }
        out[e.id.value] = e.address;
    }
    return out;
}

namespace detail {
inline volatile std::sig_atomic_t stop_requested = 0;
inline void on_stop_signal(int) { stop_requested = 1; }

inline int listen_on(const net::peer_address& a) {
    const int fd = ::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    const int one = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(fd, a.socket_address(), a.size()) != 0 || ::listen(fd, 128) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}
}  // namespace detail

template <class Config, class StateMachine>
int run_node(int argc, const char* const* argv, StateMachine& machine) {
    auto fail = [](const std::string& why) {
        std::fprintf(stderr, "node: %s\n", why.c_str());
        return 1;
    };
    const process_flags f = parse_process_flags(argc, argv);
    if (!f.error.empty()) return fail(f.error);
    const auto peers = net::load_address_file(f.peers_file, f.self, Config::max_nodes);
    if (!peers.ok()) return fail(peers.error);
    std::string error;
    const auto clients = load_client_addresses(f.clients_file, error);
    if (!error.empty()) return fail(error);
    if (f.self.value >= clients.size()) return fail(f.clients_file + ": no line for this node");

    using replica_type = replica<Config>;
    net::transport_options topt;
    topt.cluster = f.cluster;
    topt.frame_bytes_max = wire::encoded_size_max<typename replica_type::message_buffer>;
    topt.receive_buffer_bytes = 2 * topt.frame_bytes_max;
    topt.send_queue_bytes = 64 * topt.frame_bytes_max;
    topt.jitter_seed = f.cluster.value ^ (f.self.value + 1);
    net::tcp_transport net(f.self, peers.table, topt);
    const net::net_error started = f.peer_fd >= 0 ? net.start(f.peer_fd) : net.start();
    if (!started.ok())
        return fail(std::string("peer port: ") + started.call + ": " +
                    std::strerror(started.error));

    if (::mkdir(f.dir.c_str(), 0755) != 0 && errno != EEXIST)
        return fail(f.dir + ": " + std::strerror(errno));
    storage::posix_wal<Config> wal(f.dir + "/wal");
    storage::snapshot_store<> snapshots(f.dir + "/snap");
    driver_options<Config> opt;
    opt.self = f.self;
    opt.cluster = f.cluster;
    opt.tick_ms = f.tick_ms;
    opt.snapshot_every_slots = f.snapshot_every_slots;
    opt.client_listen_fd =
        f.client_fd >= 0 ? f.client_fd : detail::listen_on(clients[f.self.value]);
    if (opt.client_listen_fd < 0) return fail(std::string("client port: ") + std::strerror(errno));
    // The driver holds the replica and every buffer: one allocation, here.
    using driver_type =
        driver<Config, storage::posix_wal<Config>, net::tcp_transport, StateMachine>;
    auto node = std::make_unique<driver_type>(opt, wal, net, machine, &snapshots);
    if (const driver_error e = node->start(); !e.ok()) return fail(e.what);

    std::signal(SIGTERM, detail::on_stop_signal);
    std::signal(SIGINT, detail::on_stop_signal);
    std::printf("node %u: running, applied through slot %llu\n", unsigned{f.self.value},
                static_cast<unsigned long long>(node->applied_end().value));
    std::fflush(stdout);
    const driver_error e = node->run([] { return detail::stop_requested == 0; });
    const auto& s = node->stats();
    std::printf(
        "node %u: stopped; %llu slots, %llu commands applied, %llu ready batches, "
        "%llu syncs, %llu snapshots, %llu frames undecodable\n",
        unsigned{f.self.value}, static_cast<unsigned long long>(s.slots_applied),
        static_cast<unsigned long long>(s.commands_applied),
        static_cast<unsigned long long>(s.ready_batches),
        static_cast<unsigned long long>(s.syncs_requested),
        static_cast<unsigned long long>(s.snapshots_taken),
        static_cast<unsigned long long>(s.frames_undecodable));
    return e.ok() ? 0 : fail(e.what);
}

}  // namespace paxos::inline v0::node
