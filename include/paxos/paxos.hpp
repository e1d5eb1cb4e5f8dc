// paxos/paxos.hpp: the umbrella header: policies, config and core.
//
// It includes no storage, wire or simulator code and nothing POSIX; those
// layers have headers of their own.
#pragma once

#include "assert.hpp"
#include "config.hpp"
#include "core/fixed_vector.hpp"
#include "core/message.hpp"
#include "core/ready.hpp"
#include "core/replica.hpp"
#include "core/types.hpp"
#include "core/vocabulary.hpp"
#include "policies/ballot.hpp"
#include "policies/leader.hpp"
#include "policies/quorum.hpp"
#include "policies/random.hpp"
#include "version.hpp"
