// bench/alloc_counter.hpp: counts every global operator new of the program
// that includes it, so a benchmark can report allocations per commit.
//
// The replaceable global operator new and delete (all the forms a C++17
// program can call) are defined here and forward to std::malloc/std::free;
// each allocation adds one to a relaxed atomic. Replacement functions must be
// defined once per program: include this header from exactly one translation
// unit (the benchmark's main file).
//
// A benchmark reads alloc_counter::count() before and after its timed loop
// and divides the difference by the commands it committed. The core must
// show zero there; a value type that allocates when copied (std::string)
// would show up at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace alloc_counter {

inline std::atomic<std::uint64_t> allocations{0};

// Allocations so far through the global operator new, any form.
inline std::uint64_t count() noexcept { return allocations.load(std::memory_order_relaxed); }

inline void* allocate(std::size_t size) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    // malloc(0) may return null; operator new must not.
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc{};
}

inline void* allocate_aligned(std::size_t size, std::align_val_t align) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    const auto a = static_cast<std::size_t>(align);
    // aligned_alloc wants a size that is a multiple of the alignment.
    const std::size_t rounded = (size + a - 1) / a * a;
    if (void* p = std::aligned_alloc(a, rounded == 0 ? a : rounded)) return p;
    throw std::bad_alloc{};
}

}  // namespace alloc_counter

// ---- the replaceable global allocation functions ---------------------------------

void* operator new(std::size_t size) { return alloc_counter::allocate(size); }
void* operator new[](std::size_t size) { return alloc_counter::allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return alloc_counter::allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
    try {
        return alloc_counter::allocate(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new(std::size_t size, std::align_val_t align) {
    return alloc_counter::allocate_aligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align) {
    return alloc_counter::allocate_aligned(size, align);
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
