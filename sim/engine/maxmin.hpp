// Max-min fair sharing of link bandwidth among flows (progressive filling).
//
// Every flow gets the largest rate such that no link is over capacity and no flow could gain
// without taking from a flow whose rate is no larger. Each round saturates the link with the
// smallest fair share (ties to the lowest index) and freezes the flows crossing it, so the result
// is unique and deterministic. O(rounds · links) with rounds ≤ flows.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace scaleplan {

// `flow_links[f]` lists the indices (into `link_capacity`) of the links flow f crosses; every flow
// crosses at least one link. Returns the rate of each flow, in the unit of the capacities.
std::vector<double> max_min_rates(const std::vector<double>& link_capacity,
                                  const std::vector<std::vector<std::uint32_t>>& flow_links);

// The same computation for callers that solve many small problems (the network reshares on
// every flow start and end): flat arrays in, and no allocation once the buffers have grown.
class MaxMinSolver {
 public:
  // Flow f crosses the links flow_links[flow_begin[f]] .. flow_links[flow_begin[f + 1] - 1],
  // indices into `link_capacity`. Returns the rates, valid until the next call.
  const std::vector<double>& solve(const std::vector<double>& link_capacity,
                                   const std::vector<std::uint32_t>& flow_begin,
                                   const std::vector<std::uint32_t>& flow_links);

 private:
  std::vector<double> remaining_;
  std::vector<double> rate_;
  std::vector<std::uint32_t> unfrozen_on_link_;
  std::vector<std::uint32_t> link_begin_;
  std::vector<std::uint32_t> flows_on_link_;
  std::vector<std::uint32_t> fill_;
  std::vector<char> frozen_;
};

// Weighted max-min sharing with a cap per flow: flow f runs at rate r_f ≤ cap_f and takes
// weight_fl · r_f of each resource l it uses (weights > 0); every resource l keeps
// Σ_f weight_fl · r_f ≤ capacity_l. Progressive filling raises the rates of all unfrozen flows
// together; a round ends at the lowest level where a resource saturates (ties to the lowest
// index: its unfrozen flows freeze there) or where flows reach their caps (those freeze). So
// flows limited by the same resource get the same rate, and the result is unique and
// deterministic. The resource that saturates next comes from a heap of the resources' fair
// shares, so a solve costs O((flows + uses) · log resources) rather than a scan of every
// resource each round. With all weights and caps 1 it is MaxMinSolver's sharing, capped.
class WeightedMaxMinSolver {
 public:
  // Flow f uses resources flow_resources[flow_begin[f]] .. [flow_begin[f + 1] - 1] with the
  // weights at the same positions of `weights`. Returns the rates, valid until the next call.
  const std::vector<double>& solve(const std::vector<double>& capacity,
                                   const std::vector<double>& cap,
                                   const std::vector<std::uint32_t>& flow_begin,
                                   const std::vector<std::uint32_t>& flow_resources,
                                   const std::vector<double>& weights);

 private:
  std::vector<double> remaining_;
  std::vector<double> unfrozen_weight_;
  std::vector<std::uint32_t> unfrozen_count_;
  std::vector<std::uint32_t> resource_begin_;
  std::vector<std::uint32_t> flows_on_resource_;
  std::vector<std::uint32_t> fill_;
  std::vector<double> rate_;
  std::vector<char> frozen_;
  std::vector<std::uint32_t> by_cap_;
  std::vector<double> share_;
  std::vector<std::pair<double, std::uint32_t>> heap_;
  std::vector<char> touched_mark_;
  std::vector<std::uint32_t> touched_;
};

}  // namespace scaleplan
