// What happened in one training step, as a value: each op of each rank's streams with its start
// and end, each rank's activation memory over time and, when recorded, each link's rate over
// time. The simulator's TimelineRecorder fills one from a simulated step, and a measured run can
// fill one as well; the Chrome trace writer, the GUI's timeline and the comparison of measured
// with predicted steps read it. It needs neither the engine nor the plan it came from.
//
// Times are integer picoseconds from the start of the step (the engine's SimTime unit).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/plan/plan.hpp"

namespace scaleplan {

struct TimelineOp {
  int rank = 0;             // index into Timeline::ranks
  std::uint32_t op = 0;     // index of the op in that rank's program
  std::uint32_t label = 0;  // index into Timeline::labels
  std::int32_t microbatch = -1;
  OpKind kind = OpKind::compute;
  Stream stream = Stream::compute;
  double bytes = 0;  // communication: the collective's buffer or the message
  std::int64_t start_ps = 0;
  std::int64_t end_ps = 0;  // communication: when the data had arrived
};

struct MemorySample {
  int rank = 0;
  std::int64_t time_ps = 0;
  double activation_bytes = 0;  // from this time on
};

struct LinkRateSample {
  std::int64_t time_ps = 0;
  double bytes_per_s = 0;  // from this time on, until the next sample
};

struct Timeline {
  std::vector<int> ranks;            // the rank each program runs (Plan::ranks[i].rank)
  std::vector<std::string> labels;   // the plan's op labels
  std::vector<TimelineOp> ops;       // in the order they ended
  std::vector<MemorySample> memory;  // in time order
  // Per link (index: LinkId), each change of its total rate, in time order; empty where the
  // link never carried anything or rates were not recorded.
  std::vector<std::vector<LinkRateSample>> link_rates;

  // When the last op ended; 0 for no ops.
  std::int64_t end_ps() const;
  // The ops of one rank's stream in the order they ran, as indices into `ops`.
  std::vector<std::uint32_t> ops_on(int rank, Stream stream) const;
};

}  // namespace scaleplan
