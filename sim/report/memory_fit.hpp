// When a plan does not fit in its devices' memory: what would make it fit. Each candidate's
// memory is evaluated on its own plan (built, never guessed), so that what is suggested fits as
// the simulator counts memory.
#pragma once

#include <cstddef>
#include <vector>

#include "sim/report/prediction.hpp"

namespace scaleplan {

// The memory of the rank of `job` that needs the most on `cluster`'s devices, as predict would
// report it, without simulating: the plan of one data-parallel replica is built and its
// activation peaks taken in program order (activation_peak_bytes). Throws std::invalid_argument
// for a job that check_strategy refuses.
MemoryBreakdown peak_memory(const ClusterSpec& cluster, const TrainingJob& job,
                            double allocator_headroom_fraction);

// Up to `count` changes of strategy that make the job of `inputs` fit, fastest first. For each
// setting (ZeRO stage, sequence parallelism, recompute, micro-batch size, tensor-parallel degree
// within a node, pipeline stages), the smallest change that check_strategy accepts and whose
// peak_memory fits: the next ZeRO stage, selective before full recompute, the largest smaller
// micro-batch, the least doubling of tp or pp (dp shrinking to keep the device count). Where no
// single setting is enough, pairs of them are tried the same way. The first 2·count changes found
// (in the order of the settings above) are then simulated on the inputs' network and compute
// model, and the fastest `count` are returned.
// Empty when nothing tried fits.
std::vector<MemoryFitChange> changes_that_fit(const PredictionInputs& inputs,
                                              std::size_t count = 3);

}  // namespace scaleplan
