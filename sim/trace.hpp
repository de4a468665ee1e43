// Chrome / Perfetto trace of a simulated step: a process per rank, a thread per stream, a slice
// per op, and a counter track of each rank's activation memory. Opens in ui.perfetto.dev.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "sim/plan.hpp"
#include "sim/simulator.hpp"

namespace scaleplan {

class ChromeTraceRecorder final : public SimulationObserver {
 public:
  // `rank_names[r]` titles rank r's process (its place in the parallel layout, say).
  ChromeTraceRecorder(const Plan& plan, std::vector<std::string> rank_names);

  void on_op(int rank, std::uint32_t op, SimTime start, SimTime end) override;
  void on_memory(int rank, SimTime time, double bytes) override;

  // Writes the trace as JSON (the Trace Event Format's object form).
  void write(std::ostream& out) const;

 private:
  struct Slice {
    int rank;
    std::uint32_t op;
    SimTime start;
    SimTime end;
  };
  struct Sample {
    int rank;
    SimTime time;
    double bytes;
  };
  const Plan* plan_;
  std::vector<std::string> rank_names_;
  std::vector<Slice> slices_;
  std::vector<Sample> samples_;
};

}  // namespace scaleplan
