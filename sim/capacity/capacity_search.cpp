#include "sim/capacity/capacity_search.hpp"

#include <optional>

#include <fmt/format.h>

#include "sim/planner/planner.hpp"

namespace scaleplan::capacity {

PlanOutcome find_plan_with_planner(const ClusterOption& option, const TrainingJob& base, int top_k,
                                   const Catalog& catalog, int threads) {
  std::optional<ClusterNetwork> network;
  try {
    network.emplace(prepare_network(option.cluster, catalog));
  } catch (const TopologyError& e) {
    throw InputError({{option.network_location, option.network_key, e.what()}});
  }
  const auto compute = make_compute_model(option.cluster.device);
  SearchOptions options;
  options.top_k = top_k;
  options.objective = PlanObjective::time;
  options.threads = threads;
  const PlanSearch search =
      search_plans(SearchSpace{}, option.cluster, *network, *compute, base, options);
  PlanOutcome outcome;
  outcome.candidates = search.counts.estimated;
  outcome.search_s = search.timings.total_s;
  if (search.ranked.empty()) {
    outcome.why_none = why_no_plan(search.counts, option.cluster.device.memory_bytes.value);
    return outcome;
  }
  const RankedPlan& best = search.ranked.front();
  outcome.plan = ChosenPlan{best.job, *best.simulated, best.estimate.step_time_s};
  return outcome;
}

PlanFinder planner_finder(const Catalog& catalog, int threads) {
  return [&catalog, threads](const ClusterOption& option, const TrainingJob& base, int top_k) {
    return find_plan_with_planner(option, base, top_k, catalog, threads);
  };
}

}  // namespace scaleplan::capacity
