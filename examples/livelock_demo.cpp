// The dueling-proposers livelock, measured (shared/seeds, "Paxos Livelock").
//
// Two replicas of a 3-node Basic Paxos cluster propose at once, on a network
// where Phase-1 messages always overtake Phase-2 messages. For each leader
// policy, over many seeds: how many runs chose nothing, and the Phase-1
// rounds (distinct ballots) and ticks until the first value was chosen.
// Usage: livelock_demo [seeds]   (default 1,000)
#include <cstdio>
#include <cstdlib>

#include "livelock.hpp"

int main(int argc, char** argv) {
    const std::uint64_t seeds = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000;
    if (seeds == 0) {
        std::fprintf(stderr, "usage: livelock_demo [seeds > 0]\n");
        return 2;
    }
    livelock::print_duel_table(stdout, seeds);
    return 0;
}
