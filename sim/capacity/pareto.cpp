#include "sim/capacity/pareto.hpp"

#include <algorithm>
#include <numeric>

namespace scaleplan::capacity {

std::vector<std::size_t> pareto_front(const std::vector<TimeCost>& points) {
  std::vector<std::size_t> order(points.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // Fastest first; among equally fast, cheapest first; then as listed.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (points[a].time_s != points[b].time_s)
      return points[a].time_s < points[b].time_s;
    return points[a].cost_usd < points[b].cost_usd;
  });
  // Walking from the fastest, a point is on the front when it is cheaper than every faster one.
  std::vector<std::size_t> front;
  for (std::size_t i : order) {
    if (front.empty() || points[i].cost_usd < points[front.back()].cost_usd)
      front.push_back(i);
  }
  return front;
}

}  // namespace scaleplan::capacity
