// The planner's fast estimate of one plan: its step time, where the time goes and its peak
// memory, in closed form per pipeline stage, from the same models the simulator uses:
// - compute: every kernel of the job's blocks (models/transformer.hpp, as the plan builder makes
//   them) timed by the device's ComputeModel (the catalog roofline or a calibration profile's
//   GEMM curves);
// - communication: each collective expanded by the algorithm the simulator would choose for it
//   (choose_algorithm), on the same groups of devices, with the copies that run at the same time
//   on other groups of the stage, and timed by estimate_collective_time_s, the simulator's
//   alpha-beta path; pipeline messages likewise;
// - memory: the plan builder's static memory per stage (static_memory_of_stage), activations in
//   flight by schedule and recompute from the blocks' stored bytes, NCCL's buffers
//   (nccl_buffer_bytes_for) and the caching allocator's headroom.
// What it leaves to the simulation: the schedule's exact interleaving (the bubble is the
// textbook one per schedule, stage by stage), contention between different kinds of traffic, and
// the flow model's sharing inside the fabric. docs/planner.md measures how far it lands from the
// simulation.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "hardware/cluster.hpp"
#include "sim/report/prediction.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

struct MemoryEstimate {
  int stage = 0;  // the pipeline stage with the highest peak, whose parts these are
  double weights_bytes = 0;
  double gradients_bytes = 0;
  double optimizer_bytes = 0;
  double communication_buffer_bytes = 0;
  double activations_bytes = 0;  // in flight at the stage's peak
  double nccl_buffer_bytes = 0;
  double allocator_headroom_bytes = 0;
  double peak_bytes = 0;
  double capacity_bytes = 0;
  bool fits = true;
};

struct PlanEstimate {
  double step_time_s = 0;
  // The step of the stage that finishes last, split as the simulator splits it: its compute,
  // its communication not hidden behind compute, and the rest (pipeline bubble, waiting).
  double compute_s = 0;
  double exposed_comm_s = 0;
  double bubble_s = 0;
  MemoryEstimate memory;
};

// Estimates plans for one cluster, model and batch. Builds what does not depend on the plan
// once, and remembers the work of each layer partition (tp, cp, ep, sequence parallelism,
// micro-batch) and the time of each collective it has priced, so that plans sharing them cost a
// few lookups and some arithmetic (bench/planner_bench: BM_EstimatePlan).
//
// Not thread-safe (its caches): give each thread its own. Estimates are pure functions of their
// job, whatever the caches hold, so threads get the same numbers.
class PlanEstimator {
 public:
  // `network` prepared from `cluster` (prepare_network), `compute` for its device; both outlive
  // the estimator. `allocator_headroom_fraction` as in RunSettings.
  PlanEstimator(const ClusterSpec& cluster, const ClusterNetwork& network,
                const ComputeModel& compute, double allocator_headroom_fraction);
  ~PlanEstimator();
  PlanEstimator(PlanEstimator&&) noexcept;
  PlanEstimator& operator=(PlanEstimator&&) = delete;

  // The job must keep the strategy rules on the cluster (check_strategy(cluster, job) empty);
  // throws std::invalid_argument otherwise, as build_plan does.
  PlanEstimate estimate(const TrainingJob& job);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace scaleplan
