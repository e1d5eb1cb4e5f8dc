// tests/crash/test_fail_stop.cpp: after a failed fdatasync or write, the log
// returns io_error for every call, and a driver built on it sends and
// acknowledges nothing more, even when the disk would succeed again.
#include <doctest/doctest.h>

#include <cerrno>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <paxos/storage/posix_wal.hpp>

#include "fault_file_system.hpp"
#include "workload.hpp"

namespace {

using crash::fault_disk;
using crash::fault_file_system;
using crash::status;
using wal_type = paxos::storage::posix_wal<crash::config, fault_file_system>;

// Runs the workload until a call fails; returns the index of that call.
std::size_t run_until_failure(wal_type& wal, const std::vector<crash::step>& steps) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const status st = crash::apply_step(wal, steps[i]);
        if (st != status::ok) {
            CHECK(st == status::io_error);
            return i;
        }
    }
    FAIL("no call failed");
    return steps.size();
}

void check_stays_stopped(wal_type& wal, fault_disk& disk, const std::vector<crash::step>& steps,
                         std::size_t failed_at) {
    const std::int64_t writes = disk.write_calls;
    const std::int64_t syncs = disk.sync_calls;
    const std::size_t ops = disk.ops().size();
    for (std::size_t i = failed_at; i < steps.size(); ++i) {  // the same batch again, and more
        CHECK(crash::apply_step(wal, steps[i]) == status::io_error);
    }
    CHECK(wal.snapshot(paxos::slot_id{1'000}) == status::io_error);
    crash::recorder got;
    CHECK(wal.recover(got) == status::io_error);
    CHECK(got.records.empty());
    // The log did not even try: the disk, which would now succeed, saw nothing.
    CHECK(disk.write_calls == writes);
    CHECK(disk.sync_calls == syncs);
    CHECK(disk.ops().size() == ops);
    CHECK(wal.failed());
}

}  // namespace

TEST_CASE("an fdatasync error is fail-stop: that call and every later one return io_error") {
    fault_disk disk;
    disk.fail_sync_call = 4;  // recovery syncs nothing on an empty disk; the 5th batch sync
    wal_type wal("/wal", {}, fault_file_system{&disk});
    paxos::storage::null_visitor<crash::ballot, int> none;
    REQUIRE(wal.recover(none) == status::ok);
    const auto steps = crash::make_workload(1, 40);
    const std::size_t failed_at = run_until_failure(wal, steps);
    CHECK(disk.sync_calls == 5);
    CHECK(wal.last_error().code == status::io_error);
    CHECK(wal.last_error().system_error == EIO);
    CHECK(std::string(wal.last_error().what) == "fdatasync failed");
    CHECK(std::string(wal.last_error().file_name()) == "/wal/" + wal_type::segment_name(0));
    check_stays_stopped(wal, disk, steps, failed_at);
}

TEST_CASE("a write error is fail-stop too") {
    fault_disk disk;
    disk.fail_write_call = 3;
    wal_type wal("/wal", {}, fault_file_system{&disk});
    paxos::storage::null_visitor<crash::ballot, int> none;
    REQUIRE(wal.recover(none) == status::ok);
    const auto steps = crash::make_workload(2, 40);
    const std::size_t failed_at = run_until_failure(wal, steps);
    CHECK(failed_at == 3);
    CHECK(std::string(wal.last_error().what) == "write failed");
    check_stays_stopped(wal, disk, steps, failed_at);
}

namespace {

// Three replicas, each persisting through its own log on its own fault disk,
// driven as README responsibility 3-6 says: persist, then send, then apply,
// then advance. A node whose persist fails keeps its batch and retries the
// persist on every round (a driver that does not give up), and must never
// get past it.
struct node {
    explicit node(std::uint16_t id)
        : r(crash::replica_type::options{.self = paxos::node_id{id}}),
          wal("/wal", {}, fault_file_system{&disk}) {}
    fault_disk disk;
    crash::replica_type r;
    wal_type wal;
    const crash::ready_type* pending = nullptr;
    std::uint64_t sent = 0;
    std::uint64_t applied = 0;
    std::uint64_t persist_failures = 0;
};

class durable_cluster {
public:
    durable_cluster() {
        for (std::uint16_t id = 0; id < 3; ++id) {
            nodes_.push_back(std::make_unique<node>(id));
            paxos::storage::null_visitor<crash::ballot, int> none;
            REQUIRE(nodes_.back()->wal.recover(none) == status::ok);
        }
    }
    node& at(std::size_t i) { return *nodes_[i]; }

    void drain(node& n) {
        for (;;) {
            if (n.pending == nullptr) {
                if (!n.r.has_ready()) return;
                n.pending = &n.r.ready();
            }
            if (n.wal.persist(*n.pending) != status::ok) {
                ++n.persist_failures;
                return;  // nothing sent, nothing applied, nothing acknowledged
            }
            // (send_now may leave before the write too; this driver sends
            // both groups after it, which the contract also allows.)
            for (const auto* group : {&n.pending->send_now, &n.pending->send_after_sync}) {
                for (const auto& m : *group) {
                    network_.emplace_back(m);
                    ++n.sent;
                }
            }
            for (const auto& e : n.pending->chosen) n.applied += e.values.size();
            n.r.advance(*n.pending);
            n.pending = nullptr;
        }
    }
    void deliver() {
        for (int guard = 0; !network_.empty() && guard < 100'000; ++guard) {
            const auto m = network_.front();
            network_.pop_front();
            for (auto& np : nodes_) {
                node& n = *np;
                const bool to_me = m.to == n.r.self() ||
                                   (m.to == paxos::node_id::broadcast() && m.from != n.r.self());
                if (!to_me) continue;
                if (n.pending != nullptr) {  // stuck on a batch: no input, retry the persist
                    drain(n);
                    continue;
                }
                (void)n.r.step(m);
                drain(n);
            }
        }
    }
    bool propose(int command) {
        node& leader = at(0);
        if (leader.pending != nullptr) {
            drain(leader);
            return false;
        }
        if (!leader.r.propose(command).ok()) return false;
        drain(leader);
        deliver();
        return leader.pending == nullptr;  // false: stuck on a failed persist
    }

private:
    std::vector<std::unique_ptr<node>> nodes_;
    std::deque<crash::replica_type::message_buffer> network_;
};

}  // namespace

TEST_CASE("after an fsync error the driver sends no message and applies no chosen entry") {
    durable_cluster c;
    node& leader = c.at(0);
    REQUIRE(leader.r.campaign().ok());
    c.drain(leader);
    c.deliver();
    REQUIRE(leader.r.is_leader());
    for (int cmd = 0; cmd < 5; ++cmd) REQUIRE(c.propose(cmd));
    CHECK(leader.applied == 5);

    leader.disk.fail_sync_call = leader.disk.sync_calls;  // the next sync fails
    std::uint64_t sent_before = leader.sent;
    std::uint64_t applied_before = leader.applied;
    CHECK_FALSE(c.propose(5));  // proposed, but its accept is never sent
    REQUIRE(leader.pending != nullptr);
    CHECK(leader.persist_failures == 1);
    CHECK(leader.sent == sent_before);
    CHECK(leader.applied == applied_before);
    CHECK(leader.wal.failed());

    // The disk works again; the driver keeps retrying; nothing ever leaves.
    const std::int64_t syncs = leader.disk.sync_calls;
    for (int round = 0; round < 20; ++round) {
        CHECK_FALSE(c.propose(100 + round));
        c.deliver();
    }
    CHECK(leader.persist_failures == 21);
    CHECK(leader.sent == sent_before);
    CHECK(leader.applied == applied_before);
    CHECK(leader.disk.sync_calls == syncs);
    // The followers never saw the failed batch: no vote for its slot.
    CHECK(c.at(1).applied <= 5);
    CHECK_FALSE(c.at(1).r.vote(leader.r.chosen_end()).has_value());
    CHECK_FALSE(c.at(2).r.vote(leader.r.chosen_end()).has_value());
}
