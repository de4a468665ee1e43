// The capacity planner: for each cluster of a spec, the best plan the planner finds, and from its
// simulated step the time to train (ideal, and effective with failures, checkpoints and the data
// pipeline), the cost rented or bought, the energy; which clusters miss the deadline or the
// budget; and the time/cost Pareto front.
//
// The search is a function the caller passes (PlanFinder), so that what follows from a plan is a
// pure function of values and can be tested with plans made by hand; find_plan_with_planner
// (capacity_search.hpp) is the one `scaleplan capacity` uses.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/capacity/capacity_spec.hpp"
#include "sim/capacity/economics.hpp"
#include "sim/capacity/goodput.hpp"
#include "sim/report/prediction.hpp"

namespace scaleplan::capacity {

// The plan chosen for one cluster: its job (parallelism, micro-batch) and its simulated step.
struct ChosenPlan {
  TrainingJob job;
  Prediction prediction;
  double estimate_step_time_s = 0;  // the planner's fast estimate of the same plan
};

// What a search found for one cluster: the best plan, or why there is none.
struct PlanOutcome {
  std::optional<ChosenPlan> plan;
  std::string why_none;
  std::uint64_t candidates = 0;  // plans the search estimated (they fit by the estimate)
  double search_s = 0;           // wall time of the search
};

// Finds the fastest plan of `base` (the spec's model and training) on the option's cluster,
// simulating the best `top_k` estimates in full. Throws InputError for a cluster whose network
// cannot be built.
using PlanFinder =
    std::function<PlanOutcome(const ClusterOption& option, const TrainingJob& base, int top_k)>;

// One cluster paid for one way.
struct OptionResult {
  std::size_t cluster = 0;  // the option's index in CapacitySpec::options
  std::string option;
  Pricing pricing = Pricing::rent;
  std::string device;
  ClusterSize size;
  PlanOutcome outcome;
  // Time to train: steps × the simulated step time; then held to the data pipeline's rate; then
  // stretched by failures, checkpoints and restarts (Daly's model) into the effective time.
  double ideal_s = 0;
  double data_limited_s = 0;
  DataRate data;
  double checkpoint_bytes = 0;
  Goodput goodput;  // goodput.wall_s is the effective time to train
  double facility_power_w = 0;
  double energy_mwh = 0;
  Cost cost;
  std::string price_source;  // where the price per device (or per hour) comes from
  bool meets_deadline = true;
  bool meets_budget = true;
  bool on_front = false;
  // Why the row does not satisfy the spec: no plan fits, or the deadline or budget it misses.
  std::vector<std::string> misses;

  bool has_plan() const { return outcome.plan.has_value(); }
  bool satisfies() const { return has_plan() && meets_deadline && meets_budget; }
};

struct CapacityReport {
  std::string spec;
  std::string model;
  double tokens = 0;
  std::int64_t steps = 0;
  std::int64_t global_batch = 0;
  std::int64_t seq_len = 0;
  std::optional<double> deadline_s;
  std::optional<double> budget_usd;
  std::vector<OptionResult> rows;  // in the spec's order: each cluster rented, then bought
  std::vector<std::size_t> front;  // rows on the time/cost Pareto front, fastest first
  // The best row that satisfies the spec: cheapest, then fastest; absent when none does.
  std::optional<std::size_t> best;
};

// The unique state a checkpoint writes: every parameter's weight and optimizer state once (the
// plan builder's static memory of the whole model on one rank; gradients are not saved).
double checkpoint_bytes(const TrainingJob& job);

// The figures of one cluster paid for one way, given what its search found.
OptionResult evaluate_option(const CapacitySpec& spec, const ClusterOption& option, Pricing pricing,
                             const PlanOutcome& outcome);

// Searches every option once and evaluates it for each way it may be paid for; marks the front
// and the best row.
CapacityReport evaluate_capacity(const CapacitySpec& spec, const PlanFinder& find);

}  // namespace scaleplan::capacity
