// paxos/version.hpp: the single source of the library's version.
// CMake parses these three lines; keep each on its own line.
#pragma once

#define PAXOS_VERSION_MAJOR 0
#define PAXOS_VERSION_MINOR 1
#define PAXOS_VERSION_PATCH 0

namespace paxos {
inline constexpr int version_major = PAXOS_VERSION_MAJOR;
inline constexpr int version_minor = PAXOS_VERSION_MINOR;
inline constexpr int version_patch = PAXOS_VERSION_PATCH;
}  // namespace paxos
