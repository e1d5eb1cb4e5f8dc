// tests/node/node_support.hpp: what the node driver tests share.
//
// - command, test_counter<Sessions>: the counter of examples/counter.cpp,
//   with a session table of a chosen size (small to test eviction) and a
//   planted allocation that the allocation test switches on.
// - listener: a listening socket on 127.0.0.1 at a port the kernel chose;
//   the tests keep it open across a node's restarts (the node gets a dup),
//   so no port is ever raced for.
// - temp_dir: a fresh directory under /tmp, removed at the end.
// - thread_cluster: three drivers, each on its own thread with its own loop,
//   real TCP on 127.0.0.1, each node's store from a factory (the POSIX log
//   in a temp dir, or a test store); stop(i) and restart(i) a node.
// - counter_client(): a node::client aimed at a cluster's client ports.
// - wait_until(): a condition polled, bounded in time.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <paxos/net/tcp_transport.hpp>
#include <paxos/node/client.hpp>
#include <paxos/node/driver.hpp>
#include <paxos/sm/sessions.hpp>
#include <paxos/storage/posix_wal.hpp>
#include <paxos/storage/snapshot_store.hpp>

namespace node_test {

using namespace std::chrono_literals;
using paxos::node_id;
using paxos::slot_id;

inline constexpr paxos::wire::cluster_id test_cluster{0x5eed'0013'0000'0003};

struct command {
    std::uint64_t client = 0, seq = 0;
    std::int64_t amount = 0;
    std::uint64_t is_registration = 0;
    friend bool operator==(const command&, const command&) = default;
};
using config = paxos::multi_paxos<command, 3>;

inline std::atomic<bool> plant_allocation{false};

template <std::size_t Sessions>
struct test_counter {
    std::int64_t value = 0;
    paxos::sm::session_table<Sessions, 8> sessions;
    std::uint64_t executed = 0;
    std::vector<std::vector<int>> planted;  // one allocation per command while plant_allocation

    static paxos::sm::request_id request_of(const command& c) {
        return {paxos::sm::client_id{c.client}, c.seq};
    }
    void apply(slot_id slot, std::span<const command> commands, paxos::node::replies& out) {
        for (const command& c : commands) {
            if (plant_allocation.load(std::memory_order_relaxed)) planted.emplace_back(4, 1);
            if (c.is_registration != 0) {
                out.registered(request_of(c), sessions.register_client(slot).client);
                continue;
            }
            out.answer(request_of(c), sessions.apply(request_of(c).client, c.seq, slot,
                                                     [&](std::span<std::byte, 8> r) {
                                                         value += c.amount;
                                                         ++executed;
                                                         std::memcpy(r.data(), &value, 8);
                                                         return std::size_t{8};
                                                     }));
        }
    }
    bool save_snapshot(paxos::node::snapshot_writer& w) const {
        std::vector<std::byte> image(sessions.image_bytes_max);
        const auto saved = sessions.save(image);
        return saved.status == paxos::sm::image_status::ok && w.write_object(value) &&
               w.write(std::span(image).first(saved.bytes));
    }
    bool load_snapshot(paxos::node::snapshot_reader& r) {
        std::vector<std::byte> image(r.size_bytes() - sizeof value);
        return r.read_object(value) && r.read(image) &&
               sessions.load(image) == paxos::sm::image_status::ok;
    }
};

inline std::int64_t value_of(const paxos::node::call_outcome& o) {
    std::int64_t v = 0;
    REQUIRE(o.reply_size == 8);
    std::memcpy(&v, o.reply.data(), 8);
    return v;
}

struct listener {
    int fd = -1;
    std::uint16_t port = 0;

    listener() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        const int one = 1;
        REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
        const auto any = paxos::net::peer_address::loopback(0);
        REQUIRE(::bind(fd, any.socket_address(), any.size()) == 0);
        REQUIRE(::listen(fd, 64) == 0);
        sockaddr_in local{};
        socklen_t size = sizeof local;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &size) == 0);
        port = ntohs(local.sin_port);
    }
    ~listener() {
        if (fd >= 0) ::close(fd);
    }
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;
    int dup() const {
        const int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        REQUIRE(d >= 0);
        return d;
    }
    paxos::net::peer_address address() const { return paxos::net::peer_address::loopback(port); }
};

struct temp_dir {
    std::string path;
    temp_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "paxos-node-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

inline paxos::net::transport_options transport_options_for_tests() {
    paxos::net::transport_options t;
    t.cluster = test_cluster;
    t.frame_bytes_max = paxos::wire::encoded_size_max<paxos::replica<config>::message_buffer>;
    t.receive_buffer_bytes = 2 * t.frame_bytes_max;
    t.send_queue_bytes = 64 * t.frame_bytes_max;
    t.backoff_min_ms = 5;
    t.backoff_max_ms = 100;
    t.hello_timeout_ms = 300;
    return t;
}

template <bool Wait>
bool wait_until_impl(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) return true;
        std::this_thread::sleep_for(2ms);
    }
    return done();
}
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    return wait_until_impl<true>(done, limit);
}

// Three drivers on three threads over real sockets.
template <class Store, class Machine>
class thread_cluster {
public:
    using driver_type = paxos::node::driver<config, Store, paxos::net::tcp_transport, Machine>;
    using store_factory = std::function<std::unique_ptr<Store>(std::size_t node)>;
    using snapshots_type = paxos::storage::snapshot_store<>;
    using snapshot_factory = std::function<std::unique_ptr<snapshots_type>(std::size_t node)>;
    static constexpr std::size_t nodes = 3;

    explicit thread_cluster(store_factory make_store, std::uint32_t tick_ms = 5,
                            snapshot_factory make_snapshots = {})
        : make_store_(std::move(make_store)),
          make_snapshots_(std::move(make_snapshots)),
          tick_ms_(tick_ms),
          slots_(nodes) {
        for (std::size_t i = 0; i < nodes; ++i) {
            REQUIRE(table_.add(id(i), peer_listeners_[i].address()) == paxos::net::add_status::ok);
        }
    }
    ~thread_cluster() {
        for (std::size_t i = 0; i < nodes; ++i) stop(i);
    }

    static node_id id(std::size_t i) { return node_id{static_cast<std::uint16_t>(i)}; }

    // Starts node i: a new store from the factory (the same directory after
    // a restart), a new state machine, a new transport on the kept port.
    void start(std::size_t i, paxos::node::driver_options<config> opt = {}) {
        slot& s = slots_[i];
        REQUIRE(!s.thread.joinable());
        s.store = make_store_(i);
        s.machine = std::make_unique<Machine>();
        s.net = std::make_unique<paxos::net::tcp_transport>(id(i), table_,
                                                            transport_options_for_tests());
        REQUIRE(s.net->start(peer_listeners_[i].dup()).ok());
        opt.self = id(i);
        opt.cluster = test_cluster;
        opt.tick_ms = tick_ms_;
        opt.client_listen_fd = client_listeners_[i].dup();
        s.snapshots = make_snapshots_ ? make_snapshots_(i) : nullptr;
        s.driver =
            std::make_unique<driver_type>(opt, *s.store, *s.net, *s.machine, s.snapshots.get());
        s.driver->on_snapshot_wanted(&s.wanted, [](void* ctx, node_id peer, slot_id) {
            auto& w = *static_cast<snapshot_wanted*>(ctx);
            w.peer.store(peer.value);
            ++w.calls;
        });
        const auto e = s.driver->start();
        REQUIRE_MESSAGE(e.ok(), e.what);
        s.running.store(true);
        s.finished.store(false);
        s.thread = std::thread([&s] {
            (void)s.driver->run([&s] { return s.running.load(std::memory_order_relaxed); });
            s.finished.store(true);  // asked to stop, or stopped by an error
        });
    }
    void start_all() {
        for (std::size_t i = 0; i < nodes; ++i) start(i);
    }
    // Stops node i's loop and closes its sockets; its store stays on disk.
    void stop(std::size_t i) {
        slot& s = slots_[i];
        if (!s.thread.joinable()) return;
        s.running.store(false);
        s.thread.join();
        s.driver->close();
        s.net->close();
    }
    // Lets heartbeats carry the last chosen slot to every follower (a
    // follower learns it from the leader's next accept or heartbeat), then
    // stops every node.
    void stop_all_settled() {
        std::this_thread::sleep_for(std::chrono::milliseconds(100 * tick_ms_));
        for (std::size_t i = 0; i < nodes; ++i) stop(i);
    }
    // After stop(i): forget the node's objects (its files stay).
    void discard(std::size_t i) {
        slot& s = slots_[i];
        REQUIRE(!s.thread.joinable());
        s.driver.reset();
        s.net.reset();
        s.machine.reset();
        s.snapshots.reset();
        s.store.reset();
    }

    driver_type& driver(std::size_t i) { return *slots_[i].driver; }
    Machine& machine(std::size_t i) { return *slots_[i].machine; }
    Store& store(std::size_t i) { return *slots_[i].store; }
    // What node i's snapshot hook heard: peers that need a snapshot.
    struct snapshot_wanted {
        std::atomic<int> calls{0};
        std::atomic<std::uint16_t> peer{0xFFFF};
    };
    const snapshot_wanted& wanted(std::size_t i) const { return slots_[i].wanted; }
    // Whether node i's loop has returned (an error stops it by itself).
    bool finished(std::size_t i) const { return slots_[i].finished.load(); }
    paxos::net::tcp_transport& transport(std::size_t i) { return *slots_[i].net; }
    const paxos::net::address_table& table() const { return table_; }
    std::uint16_t peer_port(std::size_t i) const { return peer_listeners_[i].port; }

    paxos::node::client_options client_options(std::uint64_t seed) const {
        paxos::node::client_options o;
        for (std::size_t i = 0; i < nodes; ++i) o.nodes.push_back(client_listeners_[i].address());
        o.attempt_timeout_ms = 300;
        o.give_up_ms = 15000;
        o.seed = seed;
        return o;
    }

private:
    struct slot {
        std::unique_ptr<Store> store;
        std::unique_ptr<snapshots_type> snapshots;
        std::unique_ptr<Machine> machine;
        std::unique_ptr<paxos::net::tcp_transport> net;
        std::unique_ptr<driver_type> driver;
        std::thread thread;
        std::atomic<bool> running{false};
        std::atomic<bool> finished{false};
        snapshot_wanted wanted;
    };

    store_factory make_store_;
    snapshot_factory make_snapshots_;
    std::uint32_t tick_ms_;
    std::array<listener, nodes> peer_listeners_{};
    std::array<listener, nodes> client_listeners_{};
    paxos::net::address_table table_{config::max_nodes};
    std::vector<slot> slots_;
};

inline command registration(paxos::sm::request_id id) { return command{id.client.value, 0, 0, 1}; }

// Registers `c`, requiring success.
template <class Client>
void register_or_fail(Client& c, std::uint64_t nonce) {
    const auto r = c.register_client(nonce, registration);
    REQUIRE_MESSAGE(c.session().registered(), paxos::node::to_string(r.status));
}

template <class Client>
paxos::node::call_outcome add(Client& c, std::int64_t amount) {
    return c.call([&](paxos::sm::request_id id) {
        return command{id.client.value, id.seq, amount, 0};
    });
}

}  // namespace node_test
