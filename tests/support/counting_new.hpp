// tests/support/counting_new.hpp: global operator new and delete that count
// the allocations made inside an allocation_region, for the zero-allocation
// tests of each test binary. Include it from exactly one source file of a
// binary: it defines the replaceable allocation functions.
//
// Counting is on only inside a region, so the test framework's own
// allocations elsewhere do not matter. Every test using it also plants an
// allocation and checks that the counter sees it: a counter that cannot fail
// proves nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace paxos_test::counting_new {
inline std::atomic<bool> counting{false};
inline std::atomic<std::uint64_t> allocations{0};

inline void* counted_allocate(std::size_t size) {
    if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc{};
}

inline void* counted_allocate_aligned(std::size_t size, std::align_val_t align) {
    if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1);
    const auto a = static_cast<std::size_t>(align);
    const std::size_t rounded = (size + a - 1) / a * a;
    if (void* p = std::aligned_alloc(a, rounded == 0 ? a : rounded)) return p;
    throw std::bad_alloc{};
}

// RAII region: counts allocations made while it lives.
class allocation_region {
public:
    allocation_region() {
        allocations.store(0);
        counting.store(true);
    }
    ~allocation_region() { counting.store(false); }
    std::uint64_t count() const { return allocations.load(); }
};
}  // namespace paxos_test::counting_new

using paxos_test::counting_new::allocation_region;

void* operator new(std::size_t size) { return paxos_test::counting_new::counted_allocate(size); }
void* operator new[](std::size_t size) { return paxos_test::counting_new::counted_allocate(size); }
void* operator new(std::size_t size, std::align_val_t a) {
    return paxos_test::counting_new::counted_allocate_aligned(size, a);
}
void* operator new[](std::size_t size, std::align_val_t a) {
    return paxos_test::counting_new::counted_allocate_aligned(size, a);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return paxos_test::counting_new::counted_allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return paxos_test::counting_new::counted_allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
