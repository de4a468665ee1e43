// The plan finder `scaleplan capacity` uses: the planner's search (sim/planner) on each cluster.
#pragma once

#include "hardware/io/catalog.hpp"
#include "sim/capacity/capacity.hpp"

namespace scaleplan::capacity {

// Builds the option's network (with the catalog's link figures) and compute model, searches every
// plan of `base` on it (the planner's fast estimate of each, the best `top_k` simulated in full,
// on `threads` threads, 0 for every core) and keeps the fastest simulated plan. Throws InputError
// at the option's network key when its network cannot be built.
PlanOutcome find_plan_with_planner(const ClusterOption& option, const TrainingJob& base, int top_k,
                                   const Catalog& catalog, int threads = 0);

// find_plan_with_planner on `catalog`, as a PlanFinder.
PlanFinder planner_finder(const Catalog& catalog, int threads = 0);

}  // namespace scaleplan::capacity
