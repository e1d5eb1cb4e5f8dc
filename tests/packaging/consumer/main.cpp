// A downstream program: it sees paxos only through paxos::paxos.
//
// The asserts check what the target must carry: the include path (this
// compiles at all), C++20 (the consumer's CMakeLists asks for no standard),
// and the version CMake reported matching the one in the headers.
#include <paxos/paxos.hpp>
#include <paxos/version.hpp>

#include <cstdio>

static_assert(__cplusplus >= 202002L, "paxos::paxos must bring cxx_std_20 to its consumers");
static_assert(PAXOS_VERSION_MAJOR == PAXOS_EXPECTED_MAJOR, "header and package disagree");
static_assert(PAXOS_VERSION_MINOR == PAXOS_EXPECTED_MINOR, "header and package disagree");
static_assert(PAXOS_VERSION_PATCH == PAXOS_EXPECTED_PATCH, "header and package disagree");

// A one-node cluster chooses a command by itself: the consumer links and
// runs real replica code, not only the version header. (Its own vote counts
// once durable, at advance(), so the choice shows in the next batch.)
static bool one_node_commit() {
    paxos::replica<paxos::multi_paxos<int, 1>> r({});
    if (!r.campaign().ok() || !r.propose(41).ok()) return false;
    bool chosen = false;
    for (int batch = 0; batch < 4 && r.has_ready(); ++batch) {
        const auto& rd = r.ready();
        for (const auto& e : rd.chosen)
            chosen = chosen || (e.values.size() == 1 && e.values[0] == 41);
        r.advance(rd);
    }
    return chosen;
}

int main() {
    std::printf("paxos %d.%d.%d\n", paxos::version_major, paxos::version_minor,
                paxos::version_patch);
    if (!one_node_commit()) return 2;
    return paxos::version_major == PAXOS_EXPECTED_MAJOR ? 0 : 1;
}
