// Chrome / Perfetto trace of a simulated step: a process per rank, a thread per stream, a slice
// per op, a counter track of each rank's activation memory, and a process of counter tracks for
// the busiest links, each link's rate over the step. Opens in ui.perfetto.dev.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/plan/plan.hpp"
#include "sim/simulate/simulation_observer.hpp"

namespace scaleplan {

// A link that gets a counter track, and the name the track shows.
struct TracedLink {
  LinkId link = 0;
  std::string name;
};

class ChromeTraceRecorder final : public SimulationObserver {
 public:
  // A link whose rate changes more often than this is drawn as its mean rate over this many equal
  // intervals of the step instead, so that the trace of a big run stays small.
  static constexpr std::size_t max_link_points = 1000;

  // `rank_names[r]` titles rank r's process (its place in the parallel layout, say).
  ChromeTraceRecorder(const Plan& plan, std::vector<std::string> rank_names);

  void on_op(int rank, std::uint32_t op, SimTime start, SimTime end) override;
  void on_memory(int rank, SimTime time, double bytes) override;
  bool observes_link_rates() const override { return true; }
  void on_link_rate(LinkId link, SimTime time, double bytes_per_s) override;

  // The links whose rates the trace shows (those `run --links` lists, say), in track order.
  // Rates are recorded for every link during the simulation; the choice can come after it.
  void trace_links(std::vector<TracedLink> links) { traced_links_ = std::move(links); }

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
  struct Rate {
    SimTime time;
    double bytes_per_s;
  };
  static std::vector<Rate> mean_rates(const std::vector<Rate>& rates, SimTime end,
                                      std::size_t intervals);

  const Plan* plan_;
  std::vector<std::string> rank_names_;
  std::vector<Slice> slices_;
  std::vector<Sample> samples_;
  std::vector<std::vector<Rate>> link_rates_;  // per link, in time order
  std::vector<TracedLink> traced_links_;
};

}  // namespace scaleplan
