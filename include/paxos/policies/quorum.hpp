// paxos/policies/quorum.hpp: quorum systems, all in one include.
//
//   quorum_system.hpp   the concept, check_quorum_system, the intersection
//                       proof and the counterexample search
//   quorum_static.hpp   majority, flexible, grid, weighted (proved while
//                       compiling)
//   quorum_runtime.hpp  runtime_threshold, runtime_weighted (checked by their
//                       factories at start-up)
#pragma once

#include "quorum_runtime.hpp"
#include "quorum_static.hpp"
#include "quorum_system.hpp"
