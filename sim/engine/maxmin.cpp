#include "sim/engine/maxmin.hpp"

#include <algorithm>
#include <functional>
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

const std::vector<double>& WeightedMaxMinSolver::solve(
    const std::vector<double>& capacity, const std::vector<double>& cap,
    const std::vector<std::uint32_t>& flow_begin, const std::vector<std::uint32_t>& flow_resources,
    const std::vector<double>& weights) {
  const std::size_t resources = capacity.size();
  const std::size_t flows = flow_begin.empty() ? 0 : flow_begin.size() - 1;
  remaining_.assign(capacity.begin(), capacity.end());
  unfrozen_weight_.assign(resources, 0.0);
  unfrozen_count_.assign(resources, 0);
  for (std::size_t f = 0; f < flows; ++f) {
    for (std::uint32_t k = flow_begin[f]; k < flow_begin[f + 1]; ++k) {
      if (!(weights[k] > 0))
        throw std::invalid_argument("a flow's weight on a resource must be above zero");
      ++unfrozen_count_[flow_resources[k]];
      unfrozen_weight_[flow_resources[k]] += weights[k];
    }
  }
  resource_begin_.assign(resources + 1, 0);
  for (std::size_t r = 0; r < resources; ++r)
    resource_begin_[r + 1] = resource_begin_[r] + unfrozen_count_[r];
  flows_on_resource_.resize(resource_begin_[resources]);
  fill_.assign(resource_begin_.begin(), resource_begin_.end() - 1);
  for (std::uint32_t f = 0; f < flows; ++f) {
    for (std::uint32_t k = flow_begin[f]; k < flow_begin[f + 1]; ++k)
      flows_on_resource_[fill_[flow_resources[k]]++] = f;
  }
  rate_.assign(flows, 0.0);
  frozen_.assign(flows, 0);
  // The flows by cap, lowest first (ties by index), so that the lowest cap of the unfrozen flows
  // is found by skipping the frozen ones at the front.
  by_cap_.resize(flows);
  for (std::uint32_t f = 0; f < flows; ++f)
    by_cap_[f] = f;
  std::sort(by_cap_.begin(), by_cap_.end(), [&](std::uint32_t a, std::uint32_t b) {
    return cap[a] < cap[b] || (cap[a] == cap[b] && a < b);
  });
  std::size_t lowest_cap = 0;
  // Each resource's fair share, remaining / unfrozen weight, in a heap ordered by (share,
  // index), so that each round finds the resource that saturates first (ties to the lowest
  // index) without scanning them all. A share changes only when a flow on it freezes; the
  // resource is then pushed again and its older entries are skipped when they surface.
  share_.assign(resources, 0.0);
  heap_.clear();
  const auto share_of = [&](std::uint32_t r) {
    return std::max(0.0, remaining_[r]) / unfrozen_weight_[r];
  };
  const auto push_share = [&](std::uint32_t r) {
    share_[r] = share_of(r);
    heap_.emplace_back(share_[r], r);
    std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
  };
  for (std::uint32_t r = 0; r < resources; ++r) {
    if (unfrozen_count_[r] > 0)
      push_share(r);
  }
  touched_mark_.assign(resources, 0);
  touched_.clear();
  std::size_t left = flows;
  const auto freeze = [&](std::uint32_t f, double level) {
    frozen_[f] = 1;
    rate_[f] = level;
    --left;
    for (std::uint32_t j = flow_begin[f]; j < flow_begin[f + 1]; ++j) {
      const std::uint32_t r = flow_resources[j];
      remaining_[r] -= weights[j] * level;
      unfrozen_weight_[r] -= weights[j];
      --unfrozen_count_[r];
      if (!touched_mark_[r]) {
        touched_mark_[r] = 1;
        touched_.push_back(r);
      }
    }
  };
  while (left > 0) {
    // The lowest level at which an unfrozen flow reaches its cap ...
    while (frozen_[by_cap_[lowest_cap]])
      ++lowest_cap;
    double level = cap[by_cap_[lowest_cap]];
    // ... or a resource saturates.
    while (!heap_.empty() && (unfrozen_count_[heap_.front().second] == 0 ||
                              heap_.front().first != share_[heap_.front().second])) {
      std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
      heap_.pop_back();
    }
    std::size_t bottleneck = resources;
    if (!heap_.empty() && heap_.front().first < level) {
      level = heap_.front().first;
      bottleneck = heap_.front().second;
    }
    if (bottleneck == resources) {
      for (std::uint32_t f = 0; f < flows; ++f) {
        if (!frozen_[f] && cap[f] <= level)
          freeze(f, cap[f]);
      }
    } else {
      for (std::uint32_t k = resource_begin_[bottleneck]; k < resource_begin_[bottleneck + 1];
           ++k) {
        const std::uint32_t f = flows_on_resource_[k];
        if (!frozen_[f])
          freeze(f, level);
      }
    }
    for (const std::uint32_t r : touched_) {
      touched_mark_[r] = 0;
      if (unfrozen_count_[r] > 0)
        push_share(r);
    }
    touched_.clear();
  }
  return rate_;
}

}  // namespace scaleplan
