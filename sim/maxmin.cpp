#include "sim/maxmin.hpp"

#include <limits>
#include <stdexcept>

namespace scaleplan {

std::vector<double> max_min_rates(const std::vector<double>& link_capacity,
                                  const std::vector<std::vector<std::uint32_t>>& flow_links) {
  const std::size_t links = link_capacity.size();
  std::vector<double> remaining = link_capacity;
  std::vector<std::uint32_t> unfrozen_on_link(links, 0);
  std::vector<std::vector<std::uint32_t>> flows_on_link(links);
  for (std::uint32_t f = 0; f < flow_links.size(); ++f) {
    if (flow_links[f].empty())
      throw std::invalid_argument("a flow must cross at least one link");
    for (std::uint32_t l : flow_links[f]) {
      ++unfrozen_on_link[l];
      flows_on_link[l].push_back(f);
    }
  }
  std::vector<double> rate(flow_links.size(), 0.0);
  std::vector<bool> frozen(flow_links.size(), false);
  std::size_t left = flow_links.size();
  while (left > 0) {
    std::size_t bottleneck = links;
    double share = std::numeric_limits<double>::infinity();
    for (std::size_t l = 0; l < links; ++l) {
      if (unfrozen_on_link[l] == 0)
        continue;
      const double s = remaining[l] / unfrozen_on_link[l];
      if (s < share) {
        share = s;
        bottleneck = l;
      }
    }
    if (share < 0)
      share = 0;  // rounding can leave a saturated link a hair below zero
    for (std::uint32_t f : flows_on_link[bottleneck]) {
      if (frozen[f])
        continue;
      frozen[f] = true;
      rate[f] = share;
      --left;
      for (std::uint32_t l : flow_links[f]) {
        remaining[l] -= share;
        --unfrozen_on_link[l];
      }
    }
  }
  return rate;
}

}  // namespace scaleplan
