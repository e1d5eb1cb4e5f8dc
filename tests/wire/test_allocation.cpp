// encode() and decode() never allocate: the global operator new of this test
// binary counts calls while a flag is up, and the count must stay at zero
// across round trips (from a buffer and from a view), bit flips and
// truncations of every kind and of promises with no, one and many votes.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#include "wire_support.hpp"

namespace {

bool counting = false;
std::size_t allocations = 0;

}  // namespace

void* operator new(std::size_t size) {
    if (counting) ++allocations;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE("wire: encode and decode allocate nothing") {
    using M = wire_test::command_pair_8;
    using codec = paxos::wire::message_codec<M>;
    paxos::prng rng(11);
    std::size_t decodes = 0;
    std::size_t messages = 0;
    // Every kind with a full body, and promises with no vote, one vote, and
    // every vote with few values (no-ops among them).
    struct shape {
        paxos::message_kind kind;
        std::size_t values;
        std::size_t votes;
    };
    std::vector<shape> shapes;
    for (const paxos::message_kind kind : wire_test::all_kinds) {
        shapes.push_back({kind, M::values_max, M::votes_max});
    }
    shapes.push_back({paxos::message_kind::promise, 0, 0});
    shapes.push_back({paxos::message_kind::promise, 1, 1});
    shapes.push_back({paxos::message_kind::promise, 2, M::votes_max});
    for (const shape& sh : shapes) {
        const M m =
            wire_test::sample<M>(sh.kind, sh.values, rng, wire_test::fields::wide, sh.votes);
        const typename M::view_type view = m.view();
        paxos::wire::buffer_for<M> buffer{};
        paxos::wire::buffer_for<M> from_view{};
        M out{};
        counting = true;
        const auto res = paxos::wire::encode(m, buffer, wire_test::cluster);
        const auto res_view = codec::encode(view, from_view, wire_test::cluster);
        bool all_ok = res.ok() && res_view.ok() && res_view.size == res.size &&
                      paxos::wire::decode(std::span(buffer).first(res.size), out,
                                          wire_test::cluster) == paxos::wire::decode_reason::ok;
        for (std::size_t bit = 0; bit < res.size * 8; bit += 7) {
            buffer[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
            all_ok =
                all_ok && paxos::wire::decode(std::span(buffer).first(res.size), out,
                                              wire_test::cluster) != paxos::wire::decode_reason::ok;
            buffer[bit / 8] ^= static_cast<std::byte>(1u << (bit % 8));
            ++decodes;
        }
        for (std::size_t size = 0; size < res.size; ++size) {
            all_ok = all_ok &&
                     paxos::wire::decode(std::span(buffer).first(size), out, wire_test::cluster) !=
                         paxos::wire::decode_reason::ok;
            ++decodes;
        }
        counting = false;
        CHECK(all_ok);
        CHECK(out == m);
        CHECK(buffer == from_view);
        ++messages;
    }
    CHECK(messages == paxos::message_kind_count + 3);
    CHECK(allocations == 0);
    CHECK(decodes > 1000);
    // The counter works: an allocation while counting is seen. The planted
    // allocation goes through a volatile pointer to operator new: a
    // new-expression whose result is unused may be removed ([expr.new]; g++
    // -O3 does), and then this check would fail for a working counter.
    void* (*volatile allocate)(std::size_t) = &::operator new;
    counting = true;
    void* planted = allocate(sizeof(int));
    counting = false;
    ::operator delete(planted);
    CHECK(allocations == 1);
}
