// The rules a parallel strategy must keep for a model, its training settings and a cluster: the
// degrees divide what they split (heads, FFN width, sequence, experts, vocabulary), their product
// is the device count, the batch splits into whole micro-batches, expert parallelism and ZeRO
// go with the model, virtual stages with the schedule, the plan stays within max_plan_ops.
//
// One function holds them for every caller: the scenario reader maps each problem to its key's
// file, line and column, the plan builder refuses a job that breaks one, and the planner prunes
// candidates with it. It is cheap: O(1) work and no allocation for a job without a problem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/cluster.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

// Micro-batches per pipeline per step beyond which a job is refused (its schedule and plan grow
// with them).
inline constexpr std::int64_t max_microbatches = 1 << 16;

// A rule the job breaks.
struct PlanProblem {
  // The scenario key the problem concerns, "parallelism.tp" (docs/scenario-format.md).
  std::string_view key;
  // Where a reader reports the problem when its file leaves `key` out (a default broke the rule),
  // or empty: "parallelism.tp" for a sequence_parallel that MoE with tp > 1 needs.
  std::string_view key_if_unwritten;
  // What is wrong and what would be valid: "6 does not divide heads (96); use one of 1, 2, ...".
  std::string message;
};

// Checks `job` on its own: its data-parallel degree is taken as given, its world size
// (tp·pp·cp·dp) as the device count. Problems come in the order of the rules above; the batch
// and plan-size rules are checked only when all others hold. Empty when the job can be built.
std::vector<PlanProblem> check_strategy(const TrainingJob& job);

// Checks `job` on `cluster`: the world size must be the cluster's device count and the device
// must have a peak for the training dtype, then everything check_strategy(job) checks.
std::vector<PlanProblem> check_strategy(const ClusterSpec& cluster, const TrainingJob& job);

// The plan-size rule for a plan built with `scope`: a problem when build_plan(job, scope) could
// hold more than max_plan_ops. check_strategy applies it to RankScope::one_replica, the plan that
// `run`, `validate` and the planner simulate; a caller simulating every rank checks all_ranks too.
std::optional<PlanProblem> plan_size_problem(const TrainingJob& job, RankScope scope);

// "1, 2, 4, 8": the first twelve divisors of `n` up to `limit`, for "use one of" hints.
std::string divisor_hint(std::int64_t n, std::int64_t limit = 1 << 20);

// The data-parallel degree that fills `cluster` with the job's tp, pp and cp; 1 when none does
// (check_strategy then says so).
int fitting_data_parallel_degree(const ClusterSpec& cluster, const ParallelismSpec& parallelism);

}  // namespace scaleplan
