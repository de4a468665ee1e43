// The split of a model's layers over pipeline stages whose slowest stage is fastest
// (`parallelism.balance: time`): each layer's forward and backward timed by a compute model,
// the embedding charged to the first layer and the output head to the last.
#pragma once

#include <cstdint>
#include <vector>

#include "hardware/cluster.hpp"

#include "sim/simulate/compute_model.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

// Seconds of one micro-batch's forward and backward of each layer, in model order.
std::vector<double> layer_times_s(const TrainingJob& job, const ComputeModel& compute);

// Layers per stage (parallelism.pp of them) minimising the largest stage's time
// (balance_layers over layer_times_s). Communication is not counted.
std::vector<std::int64_t> balanced_stage_layers(const TrainingJob& job,
                                                const ComputeModel& compute);

// The same on a cluster whose devices differ in speed (node groups of different devices,
// slowed devices): each stage's layers timed on each kind of device among its ranks (rank r
// on device r) by its catalog roofline, times its slowdown factor and its jitter's mean
// (balance_layers_by_stage: a stage as slow as its slowest device), so that stages on slower
// devices get fewer layers. On a cluster whose ranks do not differ, the split above.
std::vector<std::int64_t> balanced_stage_layers(const TrainingJob& job, const ClusterSpec& cluster);

}  // namespace scaleplan
