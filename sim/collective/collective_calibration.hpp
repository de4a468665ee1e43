// Collectives and messages timed from a calibration profile's fits of their own kind, size regime
// and group shape, in place of the network model's time (docs/calibration.md, "Collectives").
//
// A fit applies to a group of the shape it was measured on, and between two measured shapes on
// one line: the same node count with rank counts on either side (a group inside a node between
// two measured ones, or more ranks per node over the same nodes), or the same ranks per node with
// node counts on either side (both over several nodes). Between them the time is interpolated
// linearly in the rank count, per term: the latency of each fit's own regime for the size, and
// its seconds per byte of bus traffic (nccl-tests' bus-bandwidth convention, doc/PERFORMANCE.md),
// so that a ring, whose latency grows as its 2(n-1) steps and whose bus bandwidth does not depend
// on n, is reproduced exactly between two measurements of it. Anything else (a kind the profile
// has no fit for, a shape beyond the measured ones, a group with unequal members per node) gets
// no time and the reason, which the report lists: it is never extrapolated.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hardware/profile.hpp"
#include "hardware/topology.hpp"
#include "sim/plan/collective_kind.hpp"

namespace scaleplan {

// The collective a profile measures for a plan's collective kind.
CollectiveOp measured_op(CollectiveKind kind);

// A group as a fit is chosen for it: its ranks, the nodes they are on, and whether every node
// holds the same number of them (a fit over several nodes was measured so).
struct CollectiveGroupShape {
  int ranks = 0;
  int nodes = 0;
  bool same_ranks_per_node = true;
};

// The shape of the group of `devices` on `topology`.
CollectiveGroupShape group_shape(const std::vector<int>& devices, const Topology& topology);

// What a fit charges one collective or message: its regime's latency, and its bytes of bus
// traffic over the regime's bandwidth (the part that the alpha-beta fast path shares with other
// traffic on the ports it crosses).
struct FittedCollectiveTime {
  double latency_s = 0;
  double bandwidth_s = 0;
};

// The fitted time of one collective, or none with the reason; `basis` says which fits, or why
// none, for the report ("fit mpi 2 ranks / 1 node", "between the fits of 2 and 4 ranks / 1
// node", "no all-to-all fit in the profile").
struct CollectiveFitOutcome {
  std::optional<FittedCollectiveTime> time;
  std::string basis;
};

class CollectiveCalibration {
 public:
  CollectiveCalibration() = default;
  explicit CollectiveCalibration(std::vector<CollectiveProfile> fits);

  // The time of `op` on a group of `shape` for `bytes` of nccl-tests' size (the all-reduce buffer,
  // the all-gather output, the reduce-scatter input, the all-to-all send buffer, the broadcast
  // buffer, the send/recv message). A shape measured by several fits (other algorithms) takes the
  // first in the profile's order. `shape.ranks` must be at least 2.
  CollectiveFitOutcome time(CollectiveOp op, const CollectiveGroupShape& shape, double bytes) const;

  bool empty() const { return fits_.empty(); }

 private:
  std::vector<CollectiveProfile> fits_;
};

}  // namespace scaleplan
