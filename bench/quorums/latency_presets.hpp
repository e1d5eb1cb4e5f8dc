// bench/quorums/latency_presets.hpp: latency matrices for the quorum explorer.
//
// Each preset is the text a user would write in a matrix file (the format is
// described in quorum_lab.hpp and parsed by parse_latency_matrix), so the
// presets go through the same parser as a user's file, and
// `paxos_quorums --print-preset NAME` prints one to start editing from.
//
// Where the figures come from is written in each preset's comments. The
// wide-area presets use published average round-trip times between AWS
// regions; the one-datacenter preset uses round numbers that are assumptions,
// not measurements.
#pragma once

#include <string_view>

namespace paxos::sim::lab {

struct latency_preset {
    std::string_view name;
    std::string_view summary;
    std::string_view text;  // a latency matrix in the text format
};

// One site: every link is the same short hop, so configurations differ only
// through the jitter and the tail (a larger quorum waits for a slower reply).
inline constexpr std::string_view one_datacenter_matrix =
    R"(# one-datacenter: five replicas in one datacenter.
# Assumed round numbers, not a measurement: 0.1 ms one way between two
# machines of one datacenter (0.2 ms round trip), 20% jitter, and 1% of
# messages delayed by up to 2 ms more (a busy host or a retransmitted packet).
sites dc
nodes 5
leader dc
jitter 20%
tail 1% 2
# one-way delay in milliseconds, row = from, column = to
dc 0.1
)";

// Figures shared by the two wide-area presets.
//
// Source: the table "Latency Between AWS Global Regions" as reproduced in the
// blog post "AWS Regions" (acomputerscientistlearnsaws.blogspot.com, April
// 2017): average ping round-trip times, in milliseconds, between EC2
// instances in each pair of regions, one figure per direction. For each pair
// we take the mean of the two directions, rounded to a whole millisecond, and
// halve it for the one-way delay below:
//
//   round trip (ms)   virginia  california  oregon  ireland  tokyo
//   virginia                 -          72      88       81    145
//   california              72           -      19      153    103
//   oregon                  88          19       -      137     89
//   ireland                 81         153     137        -    212
//   tokyo                  145         103      89      212      -
//
// These are averages of one measurement campaign, not medians and not today's
// figures; routes change. The diagonal (two replicas in one region, in
// different availability zones) is an assumption: 0.5 ms one way.

inline constexpr std::string_view three_regions_matrix =
    R"(# three-regions: six replicas, two in each of three AWS regions.
# Round trips (ms, rounded): virginia-oregon 88, virginia-ireland 81,
# oregon-ireland 137; mean of both directions of the average ping times in the
# table "Latency Between AWS Global Regions" as reproduced in the blog post
# "AWS Regions" (acomputerscientistlearnsaws.blogspot.com, April 2017).
# One-way delays are half of those. Within a region: 0.5 ms one way (assumed).
# Jitter 2%; 1% of messages delayed by up to 20 ms more (assumed).
sites virginia oregon ireland
nodes 6
leader virginia
jitter 2%
tail 1% 20
# one-way delay in milliseconds, row = from, column = to
virginia  0.5  44    40.5
oregon    44   0.5   68.5
ireland   40.5 68.5  0.5
)";

inline constexpr std::string_view five_regions_matrix =
    R"(# five-regions: five replicas, one in each of five AWS regions (the five
# regions of the EPaxos paper's wide-area evaluation).
# Round trips (ms, rounded), mean of both directions of the average ping
# times in the table "Latency Between AWS Global Regions" as reproduced in the
# blog post "AWS Regions" (acomputerscientistlearnsaws.blogspot.com, April
# 2017):
#              virginia california oregon ireland tokyo
#   virginia          -         72     88      81   145
#   california       72          -     19     153   103
#   oregon           88         19      -     137    89
#   ireland          81        153    137       -   212
#   tokyo           145        103     89     212     -
# One-way delays are half of those. Within a region: 0.5 ms one way (assumed).
# Jitter 2%; 1% of messages delayed by up to 20 ms more (assumed).
sites virginia california oregon ireland tokyo
nodes 5
leader virginia
jitter 2%
tail 1% 20
# one-way delay in milliseconds, row = from, column = to
virginia    0.5   36    44    40.5  72.5
california  36    0.5   9.5   76.5  51.5
oregon      44    9.5   0.5   68.5  44.5
ireland     40.5  76.5  68.5  0.5   106
tokyo       72.5  51.5  44.5  106   0.5
)";

inline constexpr latency_preset latency_presets[] = {
    {"one-datacenter", "5 replicas in one datacenter (assumed 0.1 ms one way)",
     one_datacenter_matrix},
    {"three-regions", "6 replicas, 2 per region: virginia, oregon, ireland (AWS, 2017)",
     three_regions_matrix},
    {"five-regions", "5 replicas: virginia, california, oregon, ireland, tokyo (AWS, 2017)",
     five_regions_matrix},
};

// The preset called `name`, or nullptr.
constexpr const latency_preset* find_latency_preset(std::string_view name) noexcept {
    for (const latency_preset& p : latency_presets) {
        if (p.name == name) return &p;
    }
    return nullptr;
}

}  // namespace paxos::sim::lab
