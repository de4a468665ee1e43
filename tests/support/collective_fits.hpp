// A calibration profile's collective fit of one line, for the tests that time collectives by fits.
#pragma once

#include <string>

#include "hardware/profile.hpp"

namespace scaleplan::test {

// `op` measured on `ranks` ranks over `nodes` nodes: `latency_s` plus nccl-tests' bus traffic at
// `bus_bytes_per_s`, in one regime for every size.
inline CollectiveProfile collective_fit(CollectiveOp op, int ranks, int nodes, double latency_s,
                                        double bus_bytes_per_s,
                                        const std::string& algorithm = "nccl") {
  CollectiveProfile c;
  c.op = op;
  c.algorithm = algorithm;
  c.ranks = ranks;
  c.nodes = nodes;
  c.latency_s = {latency_s, "test"};
  c.bus_bandwidth_bytes_per_s = {bus_bytes_per_s, "test"};
  return c;
}

}  // namespace scaleplan::test
