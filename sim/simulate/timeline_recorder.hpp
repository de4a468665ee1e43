// Records a simulated step's Timeline: an observer on the simulation's list.
#pragma once

#include "sim/plan/plan.hpp"
#include "sim/simulate/simulation_observer.hpp"
#include "sim/timeline/timeline.hpp"

namespace scaleplan {

class TimelineRecorder final : public SimulationObserver {
 public:
  // Link rates cost the network per-link bookkeeping on every reshare: recorded only when
  // asked. `plan` must outlive the recorder.
  explicit TimelineRecorder(const Plan& plan, bool record_link_rates = false);

  void on_op(int rank, std::uint32_t op, SimTime start, SimTime end) override;
  void on_memory(int rank, SimTime time, double bytes) override;
  bool observes_link_rates() const override { return record_link_rates_; }
  // Several rates at one instant leave the last standing, and a rate equal to the one before
  // adds no sample.
  void on_link_rate(LinkId link, SimTime time, double bytes_per_s) override;

  const Timeline& timeline() const& { return timeline_; }
  Timeline timeline() && { return std::move(timeline_); }

 private:
  const Plan* plan_;
  bool record_link_rates_;
  Timeline timeline_;
};

}  // namespace scaleplan
