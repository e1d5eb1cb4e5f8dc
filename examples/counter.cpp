// examples/counter.cpp: a replicated counter, three processes, each one a
// node with its own write-ahead log; kill -9 any of them, the leader
// included, and restart it: no acknowledged increment is lost or applied
// twice. Everything but the state machine is paxos::node's.
//
//   counter node --id 0 --peers peers.conf --clients clients.conf --dir /tmp/c0   (and 1, 2)
//   counter add 5 clients.conf        # prints the counter after adding 5
//
// examples/counter_demo.sh runs all of it, with a kill -9 of the leader.
// peers.conf and clients.conf hold "ID ADDRESS:PORT" per line (README, "Node driver").
#include <paxos/node/client.hpp>
#include <paxos/node/process.hpp>
#include <paxos/sm/sessions.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

struct command {  // no padding: the default codec sends its bytes
    std::uint64_t client = 0, seq = 0;
    std::int64_t amount = 0;
    std::uint64_t is_registration = 0;
    friend bool operator==(const command&, const command&) = default;
};
using config = paxos::multi_paxos<command, 3>;

struct counter {
    std::int64_t value = 0;
    paxos::sm::session_table<1024, 8> sessions;

    static paxos::sm::request_id request_of(const command& c) {
        return {paxos::sm::client_id{c.client}, c.seq};
    }
    void apply(paxos::slot_id slot, std::span<const command> commands, paxos::node::replies& out) {
        for (const command& c : commands) {
            if (c.is_registration != 0) {
                out.registered(request_of(c), sessions.register_client(slot).client);
                continue;
            }
            out.answer(request_of(c),
                       sessions.apply(request_of(c).client, c.seq, slot, [&](auto r) {
                           value += c.amount;
                           std::memcpy(r.data(), &value, sizeof value);
                           return sizeof value;
                       }));
        }
    }
    bool save_snapshot(paxos::node::snapshot_writer& w) const {
        static std::array<std::byte, decltype(sessions)::image_bytes_max> image;
        const auto saved = sessions.save(image);
        return saved.status == paxos::sm::image_status::ok && w.write_object(value) &&
               w.write(std::span(image).first(saved.bytes));
    }
    bool load_snapshot(paxos::node::snapshot_reader& r) {
        static std::array<std::byte, decltype(sessions)::image_bytes_max> image;
        const std::size_t n = r.size_bytes() - sizeof value;
        return r.read_object(value) && n <= image.size() && r.read(std::span(image).first(n)) &&
               sessions.load(std::span(image).first(n)) == paxos::sm::image_status::ok;
    }
};

int main(int argc, char** argv) {
    if (argc >= 2 && std::string(argv[1]) == "node") {
        static counter machine;  // the session table is 40 KB: not on the stack
        return paxos::node::run_node<config>(argc - 1, argv + 1, machine);
    }
    if (argc != 4 || std::string(argv[1]) != "add") {
        std::fprintf(stderr, "usage: counter node FLAGS... | counter add N CLIENTS_FILE\n");
        return 2;
    }
    std::string error;
    paxos::node::client_options options;
    options.nodes = paxos::node::load_client_addresses(argv[3], error);
    if (!error.empty()) return std::fprintf(stderr, "%s\n", error.c_str()), 2;
    options.seed = static_cast<std::uint64_t>(::getpid());
    paxos::node::client<command> client(options);
    const auto reg = client.register_client(options.seed, [](paxos::sm::request_id id) {
        return command{id.client.value, 0, 0, 1};
    });
    if (!client.session().registered())
        return std::fprintf(stderr, "register: %s\n", to_string(reg.status)), 1;
    const auto got = client.call([&](paxos::sm::request_id id) {
        return command{id.client.value, id.seq, std::atoll(argv[2]), 0};
    });
    if (!got.answered()) return std::fprintf(stderr, "add: %s\n", to_string(got.status)), 1;
    std::int64_t value = 0;
    std::memcpy(&value, got.reply.data(), sizeof value);
    std::printf("%lld\n", static_cast<long long>(value));
    std::fprintf(stderr, "answered by node %u, the leader\n", unsigned{got.from.value});
}
