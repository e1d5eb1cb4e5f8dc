// The transport with the codec's own frame_sizer: encoded messages travel
// unchanged and decode on the other side, and the codec's peek_size never
// mistakes a hello for a message. This is the one test of the suite that
// knows the message type; the transport itself does not.
#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include <paxos/paxos.hpp>
#include <paxos/wire/codec.hpp>

#include "net_support.hpp"

namespace {

using message = paxos::replica<paxos::multi_paxos<int, 3>>::message_buffer;
using codec = paxos::wire::message_codec<message>;
using codec_transport = paxos::net::basic_tcp_transport<codec>;

struct decoded_inbox {
    std::vector<message> messages;
    std::size_t refused = 0;

    auto callback() {
        return [this](paxos::node_id from, std::span<const std::byte> frame) {
            message m;
            if (paxos::wire::decode(frame, m, net_test::test_cluster) ==
                    paxos::wire::decode_reason::ok &&
                m.from == from) {
                messages.push_back(m);
            } else {
                ++refused;
            }
        };
    }
};

}  // namespace

TEST_CASE("codec frames: message_codec as the framer, messages decode on arrival") {
    static_assert(paxos::net::frame_sizer<codec>);
    const auto hello =
        paxos::net::encode_hello(net_test::test_cluster, {paxos::node_id{0}, paxos::node_id{1}});
    CHECK(codec::peek_size(hello) == 0);  // the hello kind is no message kind

    net_test::bound_socket l0 = net_test::listen_ephemeral();
    net_test::bound_socket l1 = net_test::listen_ephemeral();
    paxos::net::address_table table(3);
    REQUIRE(table.add(paxos::node_id{0}, paxos::net::peer_address::loopback(l0.port)) ==
            paxos::net::add_status::ok);
    REQUIRE(table.add(paxos::node_id{1}, paxos::net::peer_address::loopback(l1.port)) ==
            paxos::net::add_status::ok);
    paxos::net::transport_options o = net_test::fast_options();
    o.frame_bytes_max = codec::encoded_size_max;
    o.send_queue_bytes = 64 * codec::encoded_size_max;
    o.receive_buffer_bytes = codec::encoded_size_max;
    codec_transport a(paxos::node_id{0}, table, o);
    codec_transport b(paxos::node_id{1}, table, o);
    REQUIRE(a.start(l0.fd).ok());
    REQUIRE(b.start(l1.fd).ok());

    message heartbeat;
    heartbeat.kind = paxos::message_kind::heartbeat;
    heartbeat.from = paxos::node_id{0};
    heartbeat.to = paxos::node_id{1};
    message accept;
    accept.kind = paxos::message_kind::accept;
    accept.from = paxos::node_id{1};
    accept.to = paxos::node_id{0};
    accept.slot = paxos::slot_id{7};
    accept.values.push_back(42);
    accept.values.push_back(-1);

    paxos::wire::buffer_for<message> buf;
    const auto e1 = paxos::wire::encode(heartbeat, buf, net_test::test_cluster);
    REQUIRE(e1.ok());
    CHECK(paxos::net::header_framer::peek_size(std::span(buf).first(e1.size)) == e1.size);
    CHECK(a.send(paxos::node_id{1}, std::span(buf).first(e1.size)) ==
          paxos::net::send_result::queued);
    const auto e2 = paxos::wire::encode(accept, buf, net_test::test_cluster);
    REQUIRE(e2.ok());
    CHECK(b.send(paxos::node_id{0}, std::span(buf).first(e2.size)) ==
          paxos::net::send_result::queued);

    decoded_inbox at_a;
    decoded_inbox at_b;
    const auto start = std::chrono::steady_clock::now();
    while ((at_a.messages.empty() || at_b.messages.empty()) &&
           std::chrono::steady_clock::now() - start < std::chrono::seconds(3)) {
        (void)a.poll(1, at_a.callback());
        (void)b.poll(1, at_b.callback());
    }
    REQUIRE(at_b.messages.size() == 1);
    REQUIRE(at_a.messages.size() == 1);
    CHECK(at_b.messages[0] == heartbeat);
    CHECK(at_a.messages[0] == accept);
    CHECK(at_a.refused + at_b.refused == 0);
}
