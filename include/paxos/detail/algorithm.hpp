// paxos/detail/algorithm.hpp: the few algorithms the core uses, without
// <algorithm>.
//
// In C++20 mode <algorithm> brings the ranges algorithms along: about 11,000
// preprocessed lines (libstdc++ 12), a third of what including the whole core
// costs. The core needs only min, max, a range comparison and a reverse, so
// it has its own; scripts/compile_cost.sh measures what a user's translation
// unit pays.
//
// No API promise (detail/).
#pragma once

#include <utility>

namespace paxos::inline v0::detail {

// As std::min and std::max: the first argument when the two are equivalent.
template <class T>
constexpr const T& min(const T& a, const T& b) noexcept(noexcept(b < a)) {
    return b < a ? b : a;
}
template <class T>
constexpr const T& max(const T& a, const T& b) noexcept(noexcept(a < b)) {
    return a < b ? b : a;
}
template <class T, class Less>
constexpr const T& max(const T& a, const T& b, Less less) {
    return less(a, b) ? b : a;
}

// Two sized ranges hold equal elements in the same order.
template <class A, class B>
constexpr bool equal(const A& a, const B& b) {
    if (a.size() != b.size()) return false;
    auto j = b.begin();
    for (const auto& x : a) {
        if (!(x == *j)) return false;
        ++j;
    }
    return true;
}

// Reverses [first, last) in place.
template <class It>
constexpr void reverse(It first, It last) {
    while (first != last && first != --last) {
        using std::swap;
        swap(*first, *last);
        ++first;
    }
}

}  // namespace paxos::inline v0::detail
