#include "sim/engine/maxmin.hpp"

#include <limits>
#include <stdexcept>

namespace scaleplan {

const std::vector<double>& MaxMinSolver::solve(const std::vector<double>& link_capacity,
                                               const std::vector<std::uint32_t>& flow_begin,
                                               const std::vector<std::uint32_t>& flow_links) {
  const std::size_t links = link_capacity.size();
  const std::size_t flows = flow_begin.empty() ? 0 : flow_begin.size() - 1;
  remaining_.assign(link_capacity.begin(), link_capacity.end());
  unfrozen_on_link_.assign(links, 0);
  for (std::size_t f = 0; f < flows; ++f) {
    if (flow_begin[f] == flow_begin[f + 1]) {
      throw std::invalid_argument("a flow must cross at least one link");
    }
    for (std::uint32_t k = flow_begin[f]; k < flow_begin[f + 1]; ++k)
      ++unfrozen_on_link_[flow_links[k]];
  }
  // Flows of each link in increasing order, as compressed rows.
  link_begin_.assign(links + 1, 0);
  for (std::size_t l = 0; l < links; ++l)
    link_begin_[l + 1] = link_begin_[l] + unfrozen_on_link_[l];
  flows_on_link_.resize(link_begin_[links]);
  fill_.assign(link_begin_.begin(), link_begin_.end() - 1);
  for (std::uint32_t f = 0; f < flows; ++f) {
    for (std::uint32_t k = flow_begin[f]; k < flow_begin[f + 1]; ++k) {
      flows_on_link_[fill_[flow_links[k]]++] = f;
    }
  }
  rate_.assign(flows, 0.0);
  frozen_.assign(flows, 0);
  std::size_t left = flows;
  while (left > 0) {
    std::size_t bottleneck = links;
    double share = std::numeric_limits<double>::infinity();
    for (std::size_t l = 0; l < links; ++l) {
      if (unfrozen_on_link_[l] == 0)
        continue;
      const double s = remaining_[l] / unfrozen_on_link_[l];
      if (s < share) {
        share = s;
        bottleneck = l;
      }
    }
    if (share < 0)
      share = 0;  // rounding can leave a saturated link a hair below zero
    for (std::uint32_t k = link_begin_[bottleneck]; k < link_begin_[bottleneck + 1]; ++k) {
      const std::uint32_t f = flows_on_link_[k];
      if (frozen_[f])
        continue;
      frozen_[f] = 1;
      rate_[f] = share;
      --left;
      for (std::uint32_t j = flow_begin[f]; j < flow_begin[f + 1]; ++j) {
        remaining_[flow_links[j]] -= share;
        --unfrozen_on_link_[flow_links[j]];
      }
    }
  }
  return rate_;
}

std::vector<double> max_min_rates(const std::vector<double>& link_capacity,
                                  const std::vector<std::vector<std::uint32_t>>& flow_links) {
  std::vector<std::uint32_t> begin{0};
  std::vector<std::uint32_t> flat;
  for (const auto& links : flow_links) {
    flat.insert(flat.end(), links.begin(), links.end());
    begin.push_back(static_cast<std::uint32_t>(flat.size()));
  }
  MaxMinSolver solver;
  return solver.solve(link_capacity, begin, flat);
}

}  // namespace scaleplan
