// paxos/version.hpp: the single source of the library's version.
// CMake parses these three lines; keep each on its own line.
//
// Every declaration lives in the inline namespace paxos::v0, named for the
// major version: code writes paxos::replica, while the mangled names carry
// the version, so two incompatible versions linked into one program fail to
// link instead of mixing layouts silently.
#pragma once

#define PAXOS_VERSION_MAJOR 0
#define PAXOS_VERSION_MINOR 1
#define PAXOS_VERSION_PATCH 0

namespace paxos::inline v0 {
inline constexpr int version_major = PAXOS_VERSION_MAJOR;
inline constexpr int version_minor = PAXOS_VERSION_MINOR;
inline constexpr int version_patch = PAXOS_VERSION_PATCH;
}  // namespace paxos::inline v0
