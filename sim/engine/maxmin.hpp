// Max-min fair sharing of link bandwidth among flows (progressive filling).
//
// Every flow gets the largest rate such that no link is over capacity and no flow could gain
// without taking from a flow whose rate is no larger. Each round saturates the link with the
// smallest fair share (ties to the lowest index) and freezes the flows crossing it, so the result
// is unique and deterministic. O(rounds · links) with rounds ≤ flows.
#pragma once

#include <cstdint>
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

}  // namespace scaleplan
