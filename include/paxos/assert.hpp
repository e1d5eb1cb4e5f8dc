// paxos/assert.hpp: PAXOS_ASSERT and its replaceable failure handler.
//
// Two kinds of failure are kept apart in this library. An operating error
// (a stale ballot, a malformed message, a full window) is a returned reason
// the caller acts on. A programmer error (a broken invariant) is
// PAXOS_ASSERT: it calls the installed handler, which must not return.
// Assertions stay on in release builds; the checks are cheap next to an
// fsync, and a consensus bug that runs on is worse than one that stops.
// Defining PAXOS_ASSERT_OFF before the first include turns them off (the
// condition is then not evaluated); the README's benchmark section gives
// what that saves.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace paxos::inline v0 {

using assert_handler = void (*)(const char* expression, const char* file, int line);

namespace detail {
[[noreturn]] inline void default_assert_handler(const char* expression, const char* file,
                                                int line) {
    std::fprintf(stderr, "paxos: assertion failed: %s (%s:%d)\n", expression, file, line);
    std::abort();
}
inline assert_handler current_assert_handler = &default_assert_handler;
}  // namespace detail

// Installs `handler` and returns the previous one. The handler must not
// return (abort, or longjmp out in a test); if it does, the library aborts.
inline assert_handler set_assert_handler(assert_handler handler) noexcept {
    assert_handler previous = detail::current_assert_handler;
    detail::current_assert_handler = handler ? handler : &detail::default_assert_handler;
    return previous;
}

namespace detail {
[[noreturn]] inline void assertion_failed(const char* expression, const char* file, int line) {
    current_assert_handler(expression, file, line);
    std::abort();  // a handler that returns would let a broken invariant run on
}
}  // namespace detail

}  // namespace paxos::inline v0

#if defined(PAXOS_ASSERT_OFF)
#define PAXOS_ASSERT(condition) static_cast<void>(sizeof(!(condition)))
#else
#define PAXOS_ASSERT(condition)         \
    ((condition) ? static_cast<void>(0) \
                 : ::paxos::detail::assertion_failed(#condition, __FILE__, __LINE__))
#endif
