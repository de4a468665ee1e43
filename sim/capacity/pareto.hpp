// The time/cost Pareto front: the points no other point beats on both.
#pragma once

#include <cstddef>
#include <vector>

namespace scaleplan::capacity {

struct TimeCost {
  double time_s = 0;
  double cost_usd = 0;
};

// Indices of the points on the front, fastest first. A point is on it unless another is no
// slower and no dearer, and better on one of the two; of points equal on both, the first listed
// stands for them. O(n log n).
std::vector<std::size_t> pareto_front(const std::vector<TimeCost>& points);

}  // namespace scaleplan::capacity
