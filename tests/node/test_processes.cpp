// Three processes of examples/counter on 127.0.0.1, each with its own
// write-ahead log and snapshots in a temp dir: they commit, survive SIGKILL
// of the leader and of all three with nothing acknowledged lost, and answer
// a command retried twice across a leader change exactly once.
//
// The test binds every port (port 0, the kernel picks) and keeps the
// listening sockets open for the whole test; each process inherits its two
// (--peer-fd, --client-fd), so a restarted node listens where it did and no
// port is raced for. Every process is stopped by its PID, SIGTERM then
// SIGKILL, and reaped.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <string>

#include <sys/wait.h>

#include "node_support.hpp"

#ifdef PAXOS_COUNTER_BINARY

namespace {

using namespace node_test;
using client = paxos::node::client<command>;
using paxos::node::answer_status;

class process_cluster {
public:
    process_cluster() {
        std::ofstream peers(dir_.path + "/peers.conf");
        std::ofstream clients(dir_.path + "/clients.conf");
        for (std::size_t i = 0; i < 3; ++i) {
            peers << i << " 127.0.0.1:" << peer_[i].port << "\n";
            clients << i << " 127.0.0.1:" << client_[i].port << "\n";
        }
    }
    ~process_cluster() {
        for (std::size_t i = 0; i < 3; ++i) stop(i);
    }

    void start(std::size_t i) {
        REQUIRE(pid_[i] < 0);
        const std::string log = dir_.path + "/node" + std::to_string(i) + ".log";
        const std::string id = std::to_string(i);
        const std::string data = dir_.path + "/n" + id;
        const std::string peer_fd = std::to_string(peer_[i].fd);
        const std::string client_fd = std::to_string(client_[i].fd);
        const std::string peers = dir_.path + "/peers.conf";
        const std::string clients = dir_.path + "/clients.conf";
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            // The child: keep its two listeners across exec, log to a file.
            ::fcntl(peer_[i].fd, F_SETFD, 0);
            ::fcntl(client_[i].fd, F_SETFD, 0);
            const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (out >= 0) {
                ::dup2(out, 1);
                ::dup2(out, 2);
            }
            const char* argv[] = {PAXOS_COUNTER_BINARY,
                                  "node",
                                  "--id",
                                  id.c_str(),
                                  "--peers",
                                  peers.c_str(),
                                  "--clients",
                                  clients.c_str(),
                                  "--dir",
                                  data.c_str(),
                                  "--peer-fd",
                                  peer_fd.c_str(),
                                  "--client-fd",
                                  client_fd.c_str(),
                                  "--snapshot-every",
                                  "16",
                                  "--tick-ms",
                                  "5",
                                  nullptr};
            ::execv(argv[0], const_cast<char* const*>(argv));
            ::_exit(127);
        }
        pid_[i] = pid;
    }
    void start_all() {
        for (std::size_t i = 0; i < 3; ++i) start(i);
    }

    void kill9(std::size_t i) {
        REQUIRE(pid_[i] > 0);
        REQUIRE(::kill(pid_[i], SIGKILL) == 0);
        int status = 0;
        REQUIRE(::waitpid(pid_[i], &status, 0) == pid_[i]);
        pid_[i] = -1;
    }

    // SIGTERM, then SIGKILL after 5 s; reaps the process. Returns its exit
    // status if it exited by itself after SIGTERM.
    int stop(std::size_t i) {
        if (pid_[i] < 0) return -1;
        ::kill(pid_[i], SIGTERM);
        int status = 0;
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (::waitpid(pid_[i], &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > until) {
                ::kill(pid_[i], SIGKILL);
                ::waitpid(pid_[i], &status, 0);
                break;
            }
            std::this_thread::sleep_for(5ms);
        }
        pid_[i] = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    paxos::node::client_options client_options(std::uint64_t seed) const {
        paxos::node::client_options o;
        for (std::size_t i = 0; i < 3; ++i) o.nodes.push_back(client_[i].address());
        o.attempt_timeout_ms = 300;
        o.give_up_ms = 20000;
        o.seed = seed;
        return o;
    }
    std::string log(std::size_t i) const {
        std::ifstream in(dir_.path + "/node" + std::to_string(i) + ".log");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

private:
    temp_dir dir_;
    std::array<listener, 3> peer_{};
    std::array<listener, 3> client_{};
    std::array<pid_t, 3> pid_{-1, -1, -1};
};

std::size_t count(const std::string& text, const std::string& word) {
    std::size_t n = 0;
    for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1))
        ++n;
    return n;
}

void add_ones(client& c, int count, std::int64_t& total) {
    for (int k = 0; k < count; ++k) {
        const auto r = add(c, 1);
        REQUIRE_MESSAGE(r.answered(), paxos::node::to_string(r.status));
        ++total;
        REQUIRE(value_of(r) == total);  // applied exactly once, nothing acknowledged lost
    }
}

TEST_CASE(
    "node processes: commit, SIGKILL of the leader, its restart, and SIGKILL and restart "
    "of all three lose nothing acknowledged") {
    process_cluster cluster;
    cluster.start_all();
    client c(cluster.client_options(51));
    register_or_fail(c, 5001);
    std::int64_t total = 0;
    add_ones(c, 40, total);  // past two snapshots (every 16 slots)
    const std::size_t leader = c.session().target().value;
    cluster.kill9(leader);
    add_ones(c, 20, total);  // a new leader, elected by the other two
    cluster.start(leader);   // restarts from its snapshot and log
    add_ones(c, 20, total);
    for (std::size_t i = 0; i < 3; ++i) cluster.kill9(i);
    cluster.start_all();
    add_ones(c, 20, total);  // the same session: the table came back with the state
    CHECK(total == 100);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(cluster.stop(i) == 0);
        // Every start after the first recovered applied state (its snapshot
        // and log) before running.
        const std::string log = cluster.log(i);
        // (The restarted leader may be killed again before it says "running".)
        CHECK_MESSAGE(count(log, "running") >= 2u, log);
        CHECK_MESSAGE(count(log, "applied through slot 0\n") == 1u, log);
        CHECK_MESSAGE(log.find("stopped;") != std::string::npos, log);
    }
}

// Sends `cmd` (request `id`) to every node in turn until one answers it, bounded.
paxos::node::call_outcome resend(client& c, const command& cmd, paxos::sm::request_id id) {
    const auto until = std::chrono::steady_clock::now() + 15s;
    node_id to{0};
    paxos::node::call_outcome r;
    while (std::chrono::steady_clock::now() < until) {
        r = c.send_once(to, cmd, id);
        if (r.answered()) return r;
        to = r.status == answer_status::not_leader && r.from.value < 3
                 ? r.from
                 : node_id{static_cast<std::uint16_t>((to.value + 1) % 3)};
        std::this_thread::sleep_for(10ms);
    }
    return r;
}

TEST_CASE("node processes: every command sent twice, across a leader change, is applied once") {
    process_cluster cluster;
    cluster.start_all();
    client c(cluster.client_options(61));
    register_or_fail(c, 6001);
    constexpr int commands = 30;
    int duplicates = 0;
    for (int k = 1; k <= commands; ++k) {
        command sent{};
        const auto first = c.call([&](paxos::sm::request_id id) {
            sent = command{id.client.value, id.seq, 1, 0};
            return sent;
        });
        REQUIRE_MESSAGE(first.answered(), paxos::node::to_string(first.status));
        CHECK(value_of(first) == k);
        if (k == commands / 2) cluster.kill9(first.from.value);  // the leader that answered
        const auto again = resend(c, sent, first.request);
        REQUIRE_MESSAGE(again.answered(), paxos::node::to_string(again.status));
        CHECK(again.status == answer_status::duplicate);  // from the session table
        CHECK(value_of(again) == k);                      // the first execution's reply
        duplicates += again.status == answer_status::duplicate ? 1 : 0;
    }
    CHECK(duplicates == commands);
    const auto last = add(c, 0);
    REQUIRE(last.answered());
    CHECK(value_of(last) == commands);  // each of the 30 ran once
}

}  // namespace

#endif  // PAXOS_COUNTER_BINARY
