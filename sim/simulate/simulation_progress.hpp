// A simulation's progress for a ProgressSink: an observer counting the ops that have run against
// the ops of the plan's listed ranks (task "simulating", units "ops").
#pragma once

#include <cstdint>

#include "hardware/input/progress.hpp"
#include "sim/plan/plan.hpp"
#include "sim/simulate/simulation_observer.hpp"

namespace scaleplan {

class SimulationProgress final : public SimulationObserver {
 public:
  // Reports to `sink` (null: nothing) every (plan's ops / 1000) ops: 1,000 to 2,000 reports over
  // a run of at least 1,000 ops, so that a step of millions of ops costs the sink as few calls.
  SimulationProgress(const Plan& plan, ProgressSink* sink);

  void on_op(int rank, std::uint32_t op, SimTime start, SimTime end) override;
  // The run is over (call after simulate returns): the last report.
  void finish();

 private:
  ProgressCounter counter_;
  std::uint64_t ops_per_report_;
  std::uint64_t unreported_ = 0;
};

}  // namespace scaleplan
