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
  // Reports to `sink` (null: nothing) about a thousand times over the run, so that a step of
  // millions of ops costs the sink a thousand calls.
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
