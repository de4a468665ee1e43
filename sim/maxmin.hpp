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

}  // namespace scaleplan
