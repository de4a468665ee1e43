// The candidates of a SearchSpace for one cluster and job, in a fixed order: shapes (the degrees,
// the micro-batch and sequence parallelism, which decide the layer costs) and, inside each,
// the schedule, virtual stages, recompute and ZeRO stage. Part of sim/planner.
#pragma once

#include <cstdint>
#include <vector>

#include "hardware/cluster.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/search_space.hpp"

namespace scaleplan {

struct SearchShape {
  int tp = 1;
  int pp = 1;
  int dp = 1;
  int cp = 1;
  int ep = 1;
  std::int64_t micro_batch = 1;
  bool sequence_parallel = false;
};

// The rest of a candidate, enumerated inside a shape.
struct SearchVariant {
  PipelineSchedule schedule = PipelineSchedule::one_f_one_b;
  int virtual_stages = 1;
  Recompute recompute = Recompute::none;
  int zero = 0;
};

// Axes the space leaves open take every value that can keep the rules: degrees that divide the
// device count, micro-batches that divide the batch per pipeline. Values that would change
// nothing are left out unless the space lists them: sequence parallelism without tensor
// parallelism, ZeRO stages without data-parallel replicas to shard over, schedules other than
// 1F1B without pipeline stages, expert parallelism for a dense model.
std::vector<SearchShape> search_shapes(const SearchSpace& space, const ClusterSpec& cluster,
                                       const TrainingJob& base);
std::vector<SearchVariant> search_variants(const SearchSpace& space, const SearchShape& shape,
                                           const TrainingJob& base);

// `base` with the shape's and the variant's values.
TrainingJob candidate_job(const TrainingJob& base, const SearchShape& shape,
                          const SearchVariant& variant);

// Throws std::invalid_argument naming the first value of `space` no plan could take (a degree
// below 1, a ZeRO stage above 3, virtual stages below 2).
void check_search_space(const SearchSpace& space);

}  // namespace scaleplan
