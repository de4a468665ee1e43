// The planner: the fastest plans for one cluster, model and batch.
//
// search_plans enumerates every plan of a SearchSpace (tp, pp, dp, cp, ep, micro-batch, schedule
// and virtual stages, recompute, ZeRO, sequence parallelism), drops those that break the
// strategy rules (check_strategy), estimates the rest (PlanEstimator: closed form, the
// simulator's compute, memory and collective models), drops those whose estimated peak memory
// does not fit, and simulates the best K in full (predict), in parallel, re-ranking them by the
// simulated figures. A simulated plan that does not fit after all is dropped and the next
// estimated one simulated in its place, so the ranked list holds only plans that fit.
//
// Values in, values out: the caller builds the network and the compute model once
// (prepare_network, make_compute_model) and may search many jobs on them. Deterministic: the
// same inputs give the same ranked list, bit for bit, whatever the thread count (ties broken by
// enumeration order). docs/planner.md describes the search and measures the estimate.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "hardware/cluster.hpp"
#include "hardware/input/progress.hpp"
#include "sim/planner/plan_estimate.hpp"
#include "sim/report/prediction.hpp"
#include "sim/strategy/search_space.hpp"

namespace scaleplan {

// What the ranking minimises per step. On one cluster, whose every device the plans use, cost
// and energy are the step time scaled by the cluster's price and power: they rank alike, and
// differ in the figures reported. A capacity planner comparing clusters sets the rates.
enum class PlanObjective { time, cost, energy };

inline constexpr EnumNames<PlanObjective, 3> plan_objective_names{{{
    {PlanObjective::time, "time"},
    {PlanObjective::cost, "cost"},
    {PlanObjective::energy, "energy"},
}}};
inline std::string_view to_string(PlanObjective objective) {
  return plan_objective_names.name(objective);
}

enum class SearchPhase { estimating, simulating, done };

// Where a search stands: `done` of `total` candidates estimated, or plans simulated.
struct SearchProgress {
  SearchPhase phase = SearchPhase::estimating;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
};

// Hands a search's progress to `sink` as a task of plans: "estimating plans" then "simulating
// plans", done of total (the GUI's status line and the command line's). A null sink reports
// nothing.
std::function<void(const SearchProgress&)> search_progress_to(ProgressSink* sink);

struct SearchOptions {
  int top_k = 20;  // plans simulated in full and ranked
  PlanObjective objective = PlanObjective::time;
  // Rates for the cost and energy figures: per device, all-in (a capacity planner adds node
  // overhead, PUE, amortisation). Absent: the catalog's price per hour and power of the device;
  // cost then needs a catalog price (search_plans throws std::invalid_argument otherwise).
  std::optional<double> usd_per_device_hour;
  std::optional<double> watts_per_device;
  // Worker threads for the estimates and the simulations; 0: every core
  // (std::thread::hardware_concurrency).
  int threads = 0;
  // How the top plans are simulated (the network model, the allocator headroom, which also
  // enters the estimate's memory).
  RunSettings settings = {};
  // Checked between candidates and between simulations: a stopped search returns what it has
  // (PlanSearch::cancelled). A GUI runs the search off its UI thread and stops it here.
  std::stop_token stop = {};
  // Called on the thread that called search_plans, never concurrently, a few times a second at
  // most and once at the end of each phase. Keep it short: the search's own thread waits.
  std::function<void(const SearchProgress&)> progress = {};
};

struct RankedPlan {
  TrainingJob job;  // the base job with this plan's parallelism and micro-batch
  PlanEstimate estimate;
  std::optional<Prediction> simulated;  // for the plans simulated in full
  // Per step, from the simulated step time where there is one, the estimate's otherwise.
  double step_time_s = 0;
  double cost_usd = 0;
  double energy_j = 0;
  double objective = 0;     // the one minimised: step_time_s, cost_usd or energy_j
  std::uint64_t index = 0;  // position in the enumeration, which breaks ties
};

struct SearchCounts {
  std::uint64_t enumerated = 0;        // candidates in the space
  std::uint64_t pruned_by_rule = 0;    // broke a strategy rule (check_strategy)
  std::uint64_t pruned_by_memory = 0;  // estimated peak over the device's memory
  std::uint64_t estimated = 0;         // estimated and fitting
  // Of those, left out of the ranking: another variant of the same degrees and micro-batch
  // takes the same estimated time in less memory (ZeRO 1 against 2; selective recompute, which
  // recomputes nothing under fused attention, against none).
  std::uint64_t same_time_more_memory = 0;
  std::uint64_t simulated = 0;              // simulated in full
  std::uint64_t simulated_over_memory = 0;  // of those, the simulated peak did not fit
};

struct SearchTimings {
  double estimate_s = 0;  // wall: enumerating, checking and estimating
  double simulate_s = 0;  // wall: the full simulations
  double total_s = 0;
  double estimate_cpu_s = 0;  // summed over the threads: estimates per CPU second
  int threads = 1;
};

struct PlanSearch {
  // The simulated plans that fit, best objective first (at most top_k).
  std::vector<RankedPlan> ranked;
  // The best estimated candidates beyond them, best estimate first, for reports that list more
  // than was simulated (at most top_k).
  std::vector<RankedPlan> estimated_only;
  SearchCounts counts;
  SearchTimings timings;
  bool cancelled = false;
};

// Searches `space` for `base` (its model and training; its parallelism supplies what the space
// does not range over: overlap_grad_reduce, grad_bucket_bytes) on `cluster`, whose network
// `network` was prepared from it and `compute` times its device. Throws std::invalid_argument
// for a space with an impossible value (a degree below 1, zero above 3) or options it cannot
// honour.
PlanSearch search_plans(const SearchSpace& space, const ClusterSpec& cluster,
                        const ClusterNetwork& network, const ComputeModel& compute,
                        const TrainingJob& base, const SearchOptions& options = {});

// Why a search ranked no plan, from its counts, for a device of `device_memory_bytes`: that its
// space held no candidate (every degree must divide the devices; the scenario's search: section
// and --fix narrow it), or how many of its candidates broke a strategy rule and how many needed
// more memory than a device has, by the estimate and by the full simulation.
std::string why_no_plan(const SearchCounts& counts, double device_memory_bytes);

// One line on why `first` beats `second`: the part of the step (compute, exposed
// communication, bubble) that differs most, by how much, and the settings that differ; or, when
// their step times are within 0.05 %, that they tie.
std::string explain_difference(const RankedPlan& first, const RankedPlan& second);

}  // namespace scaleplan
