// Unit tests of paxos/core/fixed_vector.hpp: a large buffer constructs and
// copies only its live elements (no constructor runs for the room, not even
// an element type's default member initializers), every element it holds is
// alive exactly while it is below size(), and a small buffer stays a
// constant-expression-friendly array.
#include <paxos/core/fixed_vector.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include <paxos/core/message.hpp>
#include <paxos/policies/ballot.hpp>

namespace {

using paxos::fixed_vector;

// Counts its default constructions: a command type with a default member
// initializer, as users write them.
struct counted_command {
    static inline int default_constructed = 0;
    std::array<std::uint8_t, 128> bytes{};
    counted_command() { ++default_constructed; }
    explicit counted_command(std::uint8_t b) { bytes.fill(b); }
    friend bool operator==(const counted_command&, const counted_command&) = default;
};
static_assert(std::is_trivially_copyable_v<counted_command>);

// Tracks how many objects are alive, to check lifetimes: every constructor
// counts up, the destructor counts down, and each object knows whether it
// was constructed (a read of raw room would see `alive` false).
struct tracked {
    static inline int live = 0;
    int value = 0;
    bool alive = true;
    tracked() { ++live; }
    explicit tracked(int v) : value(v) { ++live; }
    tracked(const tracked& o) : value(o.value) {
        REQUIRE(o.alive);
        ++live;
    }
    tracked& operator=(const tracked& o) {
        REQUIRE(alive);
        REQUIRE(o.alive);
        value = o.value;
        return *this;
    }
    ~tracked() {
        REQUIRE(alive);
        alive = false;
        --live;
    }
    friend bool operator==(const tracked& a, const tracked& b) { return a.value == b.value; }
};
static_assert(!paxos::detail::copy_whole_buffer<tracked, 32>);

TEST_CASE("fixed_vector: a large buffer constructs no element of its room") {
    counted_command::default_constructed = 0;
    fixed_vector<counted_command, 64> v;
    CHECK(counted_command::default_constructed == 0);

    v.push_back(counted_command{1});
    v.push_back(counted_command{2});
    const fixed_vector<counted_command, 64> copy = v;  // copy construction
    fixed_vector<counted_command, 64> assigned;
    assigned = v;  // copy assignment
    CHECK(counted_command::default_constructed == 0);
    CHECK(copy == v);
    CHECK(assigned == v);
    CHECK(copy[1].bytes[127] == 2);

    // grow() default-initializes the one element it adds, nothing else.
    counted_command& grown = v.grow();
    CHECK(counted_command::default_constructed == 1);
    CHECK(grown.bytes[0] == 0);
    grown = counted_command{3};
    CHECK(v.size() == 3);
    CHECK(v.back().bytes[5] == 3);
}

TEST_CASE("fixed_vector: a message buffer with a large batch copies only what it holds") {
    using message = paxos::basic_message_buffer<paxos::counter_ballot<3>, counted_command, 64, 8>;
    static_assert(sizeof(message) > 64 * sizeof(counted_command));
    counted_command::default_constructed = 0;
    message m{};  // value-initialized, as the replica makes a fresh message
    m.values.push_back(counted_command{9});
    const message copy = m;
    message assigned;
    assigned = copy;
    CHECK(counted_command::default_constructed == 0);
    CHECK(assigned == m);
    CHECK(assigned.values[0].bytes[64] == 9);
}

TEST_CASE("fixed_vector: elements of a large buffer live exactly while below size()") {
    tracked::live = 0;
    {
        fixed_vector<tracked, 32> v;
        CHECK(tracked::live == 0);
        for (int i = 0; i < 5; ++i) v.push_back(tracked{i});
        CHECK(tracked::live == 5);

        v.truncate(2);
        CHECK(tracked::live == 2);
        v.push_back(tracked{7});  // into room whose old element was destroyed
        CHECK(tracked::live == 3);
        CHECK(v[2].value == 7);

        fixed_vector<tracked, 32> w;
        w.push_back(tracked{40});
        w = v;  // grows: one assigned, two constructed
        CHECK(tracked::live == 6);
        CHECK(w == v);
        fixed_vector<tracked, 32> one;
        one.push_back(tracked{50});
        w = one;  // shrinks: one assigned, two destroyed (v 3, w 1, one 1 live)
        CHECK(tracked::live == 5);
        CHECK(w.size() == 1);
        CHECK(w[0].value == 50);

        v.assign(v.view());  // from itself
        CHECK(v.size() == 3);
        CHECK(v[1].value == 1);
        CHECK(tracked::live == 5);

        const fixed_vector<tracked, 32> copy = v;
        CHECK(tracked::live == 8);
        v.clear();
        CHECK(tracked::live == 5);
        CHECK(copy.size() == 3);
    }
    CHECK(tracked::live == 0);  // the destructors destroyed what was live
}

TEST_CASE("fixed_vector: assign replaces the contents of a large buffer") {
    fixed_vector<std::uint64_t, 64> v;
    const std::array<std::uint64_t, 3> three{1, 2, 3};
    v.assign(three);
    CHECK(v.size() == 3);
    CHECK(v[2] == 3);
    v.assign(std::span<const std::uint64_t>{v.view().subspan(1)});  // overlapping
    CHECK(v.size() == 2);
    CHECK(v[0] == 2);
    CHECK(v[1] == 3);
}

// The small path: a whole-array copy, and usable at compile time.
constexpr int small_sum() {
    fixed_vector<int, 8> v;
    for (int i = 1; i <= 4; ++i) v.push_back(i);
    v.truncate(3);
    fixed_vector<int, 8> copy = v;
    copy.grow() = 10;
    int sum = 0;
    for (int x : copy) sum += x;
    return sum;
}
static_assert(small_sum() == 16);
static_assert(paxos::detail::copy_whole_buffer<int, 8>);
static_assert(std::is_trivially_copyable_v<fixed_vector<int, 8>>);
static_assert(std::is_trivially_destructible_v<fixed_vector<counted_command, 64>>);

TEST_CASE("fixed_vector: a small buffer value-initializes its array once") {
    struct small_command {
        int value = 5;
    };
    static_assert(paxos::detail::copy_whole_buffer<small_command, 4>);
    fixed_vector<small_command, 4> v;
    small_command& grown = v.grow();
    CHECK(grown.value == 5);
    CHECK(small_sum() == 16);
}

}  // namespace
