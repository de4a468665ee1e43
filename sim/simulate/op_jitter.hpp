// The per-op jitter of a slowed device (cluster.slow_devices[].jitter, OpJitter in
// hardware/cluster.hpp): the factor its k-th compute op's time is multiplied by.
#pragma once

#include <cstdint>

#include "hardware/cluster.hpp"

namespace scaleplan {

// The draw for compute op `op_index` (counted from 0 in the order the device starts them) of
// device `device`. Counter-based: a hash of (seed, device, op_index) gives two uniform numbers,
// the Box-Muller transform a standard normal Z, and the distribution its factor
// (lognormal: exp(sigma·Z); normal: max(0, 1 + sigma·Z)). No generator state: the draw does not
// depend on the order in which the engine interleaves ranks, and the same seed gives the same
// factors bit for bit on a given platform (std::log, std::cos and std::exp of its C library).
// O(1).
double op_jitter_factor(const OpJitter& jitter, int device, std::uint64_t op_index);

// The mean of the factor: exp(sigma²/2) for lognormal; 1 for normal (the cut at zero, at least
// four standard deviations away, moves it by less than 1e-5 · sigma).
double op_jitter_mean(const OpJitter& jitter);
// Its standard deviation: sqrt((exp(sigma²) − 1) · exp(sigma²)) for lognormal; sigma for normal.
double op_jitter_stddev(const OpJitter& jitter);

}  // namespace scaleplan
