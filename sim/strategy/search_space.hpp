// The axes a plan search ranges over, as values: each axis lists the values to try, and an empty
// list leaves the axis to the planner (every value the strategy rules allow). One value fixes
// the axis. The scenario's `search:` section and `scaleplan plan --fix` fill it
// (docs/planner.md); the planner (sim/planner) enumerates it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/strategy/strategy.hpp"

namespace scaleplan {

struct SearchSpace {
  std::vector<int> tp;
  std::vector<int> pp;
  std::vector<int> dp;  // empty: whatever fills the cluster (devices / (tp·pp·cp))
  std::vector<int> cp;
  std::vector<int> ep;
  std::vector<std::int64_t> micro_batch;
  std::vector<PipelineSchedule> schedule;
  // interleaved-1f1b only; empty: 2 to max_default_virtual_stages, where every model chunk keeps
  // a layer.
  std::vector<int> virtual_stages;
  std::vector<Recompute> recompute;
  std::vector<int> zero;
  std::vector<bool> sequence_parallel;  // empty: both where tp > 1, off where tp is 1
};

// The most virtual stages the planner tries when the space does not list them: Megatron-LM's
// published configurations interleave by 2 to 6 (Narayanan et al. SC'21, table 1 and figure
// 13), and the bubble gained beyond 8 is under 1/8 of 1F1B's while the point-to-point traffic
// grows with it.
inline constexpr int max_default_virtual_stages = 8;

// The axis names, as the search section and --fix write them (the parallelism keys, plus
// micro_batch).
const std::vector<std::string>& search_axis_names();

// Fixes the axes `text` names to one value each: "tp=8,pp=4,schedule=1f1b,recompute=full,
// sequence_parallel=true" (`scaleplan plan --fix`). Throws InputError, every problem at once,
// each at `source` with the axis as its key: an unknown axis (with the closest name), a value
// that is not one the axis takes, an axis given twice.
void fix_axes(SearchSpace& space, std::string_view text, const std::string& source = "--fix");

}  // namespace scaleplan
