// tests/jepsen/fault_proxy.cpp: paxos_fault_proxy, the TCP fault proxy of
// the Jepsen-style tests as a process (the faults are described in proxy.hpp).
//
//   paxos_fault_proxy --listen [127.0.0.1:]PORT --target [127.0.0.1:]PORT
//                     [--queue-bytes N] [--seed N]
//
// First line on stdout: "listening 127.0.0.1:PORT" (PORT 0 lets the kernel
// choose; the line says which). Then one command per line on stdin
// (pass, partition, oneway up|down, delay MS [JITTER_MS], close, status,
// quit), each answered by one line on stdout, "ok ..." or "error ...", after
// it has taken effect: a test that waits for the answer knows the fault is on.
// The proxy exits on `quit`, on end of stdin (so it never outlives the test
// that started it) and on SIGTERM. Exit status 2: bad arguments; 1: cannot
// listen.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <unistd.h>

#include "proxy.hpp"

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) { stop_requested = 1; }

int usage(const char* why) {
    std::fprintf(stderr,
                 "paxos_fault_proxy: %s\nusage: paxos_fault_proxy --listen [127.0.0.1:]PORT "
                 "--target [127.0.0.1:]PORT [--queue-bytes N] [--seed N]\n",
                 why);
    return 2;
}

void reply(const std::string& line) {
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    paxos_jepsen::proxy_options options;
    bool have_listen = false;
    bool have_target = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (i + 1 >= argc) return usage("a flag without its value");
        const std::string_view value = argv[++i];
        if (flag == "--listen") {
            if (!paxos_jepsen::parse_loopback(value, options.listen)) {
                return usage("--listen takes a port or 127.x.y.z:PORT (loopback only)");
            }
            have_listen = true;
        } else if (flag == "--target") {
            if (!paxos_jepsen::parse_loopback(value, options.target)) {
                return usage("--target takes a port or 127.x.y.z:PORT (loopback only)");
            }
            have_target = true;
        } else if (flag == "--queue-bytes") {
            options.queue_bytes_max = std::strtoull(std::string(value).c_str(), nullptr, 10);
            if (options.queue_bytes_max == 0) return usage("--queue-bytes must be positive");
        } else if (flag == "--seed") {
            options.seed = std::strtoull(std::string(value).c_str(), nullptr, 10);
        } else {
            return usage("unknown flag");
        }
    }
    if (!have_listen || !have_target) return usage("--listen and --target are required");

    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    paxos_jepsen::fault_proxy proxy(options);
    std::string error;
    if (!proxy.start(error)) {
        std::fprintf(stderr, "paxos_fault_proxy: %s\n", error.c_str());
        return 1;
    }
    reply("listening 127.0.0.1:" + std::to_string(proxy.port()));

    std::string pending;  // a command line not yet ended by '\n'
    while (stop_requested == 0) {
        if (!proxy.poll_once(200, STDIN_FILENO)) continue;
        char buf[512];
        const ::ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n <= 0) break;  // end of stdin: the test that started us is gone
        pending.append(buf, static_cast<std::size_t>(n));
        if (pending.size() > 4096) return usage("a control line over 4096 bytes");
        for (std::size_t nl = pending.find('\n'); nl != std::string::npos;
             nl = pending.find('\n')) {
            const std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            if (line == "quit" || line == "quit\r") {
                reply("ok quit");
                return 0;
            }
            reply(proxy.control(line));
        }
    }
    return 0;
}
