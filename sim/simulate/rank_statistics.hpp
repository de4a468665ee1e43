// Per-rank statistics of a run, kept by an observer: when each rank finished, how its time split
// into compute, exposed communication and idle (pipeline bubble), and its activation peak.
#pragma once

#include <array>
#include <utility>
#include <vector>

#include "sim/plan/plan.hpp"
#include "sim/simulate/simulation_observer.hpp"

namespace scaleplan {

struct RankResult {
  int rank = 0;
  double finish_s = 0;
  double compute_s = 0;       // compute stream busy
  double exposed_comm_s = 0;  // compute idle while this rank's communication is in flight
  double idle_s = 0;          // compute idle, nothing in flight: waiting on other ranks
  double peak_activation_bytes = 0;
  // Per communication stream (index: Stream; compute's entry stays 0): the time the stream had
  // an op in flight while the compute stream was idle. Streams in flight together each count the
  // time, so these may add up to more than exposed_comm_s.
  std::array<double, stream_count> exposed_by_stream_s{};
};

class RankStatistics final : public SimulationObserver {
 public:
  explicit RankStatistics(const Plan& plan);

  void on_op(int rank, std::uint32_t op, SimTime start, SimTime end) override;
  void on_memory(int rank, SimTime time, double bytes) override;

  // When the last rank finished.
  SimTime step_end() const;
  // The plan's listed ranks, in its order. O(ops log ops) per rank: the busy intervals are
  // sorted and merged.
  std::vector<RankResult> results() const;

 private:
  using Intervals = std::vector<std::pair<SimTime, SimTime>>;
  struct PerRank {
    SimTime finish = 0;
    Intervals compute_busy;
    std::array<Intervals, stream_count> comm_busy_by_stream;  // index: Stream
    double peak_activation_bytes = 0;
  };

  const Plan* plan_;
  std::vector<PerRank> ranks_;
};

}  // namespace scaleplan
