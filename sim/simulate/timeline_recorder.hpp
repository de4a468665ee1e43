// Records a simulated step's Timeline: an observer on the simulation's list.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "sim/plan/plan.hpp"
#include "sim/simulate/simulation_observer.hpp"
#include "sim/timeline/timeline.hpp"

namespace scaleplan {

// The most events (ops and memory samples) a timeline records. A trace takes about 155 bytes of
// JSON per event (the gpt3-175b example on 64 A100s: 0.91 million events, 142 MB), so a trace
// stays under about 330 MB, and the timeline in memory (about 56 bytes an event) under 120 MB.
inline constexpr std::uint64_t max_timeline_events = 1 << 21;

// What a recorder keeps of a run.
struct TimelineSelection {
  // The ranks recorded (rank numbers, as in RankProgram::rank); empty: every rank of the plan.
  std::vector<int> ranks;
  // Only ops that overlap [from, to] and memory and link samples in it; the values before `from`
  // show as samples at `from`. Absent: the whole step.
  std::optional<std::pair<SimTime, SimTime>> window;
  std::uint64_t max_events = max_timeline_events;
};

// A selection that names a rank the plan does not list, or a timeline that would exceed its
// max_events.
class TimelineSelectionError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Events (ops, memory samples, process and thread names) a timeline of `plan` holds at most with
// `selection`, before the window is applied: an upper bound computed without simulating. Throws
// TimelineSelectionError for a rank the plan does not list.
std::uint64_t timeline_event_bound(const Plan& plan, const TimelineSelection& selection);

class TimelineRecorder final : public SimulationObserver {
 public:
  // Link rates cost the network per-link bookkeeping on every reshare: recorded only when
  // asked. `plan` must outlive the recorder. Throws TimelineSelectionError for a rank the plan
  // does not list; recording throws it when the timeline reaches selection.max_events.
  explicit TimelineRecorder(const Plan& plan, bool record_link_rates = false,
                            TimelineSelection selection = {});

  void on_op(int rank, std::uint32_t op, SimTime start, SimTime end) override;
  void on_memory(int rank, SimTime time, double bytes) override;
  bool observes_link_rates() const override { return record_link_rates_; }
  // Several rates at one instant leave the last standing, and a rate equal to the one before
  // adds no sample.
  void on_link_rate(LinkId link, SimTime time, double bytes_per_s) override;

  const Timeline& timeline() const& { return timeline_; }
  Timeline timeline() && { return std::move(timeline_); }

 private:
  // Counts one more event against the limit.
  void count_event();
  // Writes the memory held before the window as samples at its start, once time reaches it.
  void open_window(SimTime now);

  const Plan* plan_;
  bool record_link_rates_;
  TimelineSelection selection_;
  SimTime from_ = 0;
  SimTime to_ = sim_time_max;
  std::vector<int> traced_;  // per plan index: the index into Timeline::ranks, -1 if not traced
  std::vector<std::optional<double>> memory_before_window_;  // per Timeline rank
  bool window_open_ = false;
  // Per link: its last sample in timeline_.link_rates, or no_sample.
  static constexpr LinkRateSample no_sample{-1, 0.0};
  std::vector<LinkRateSample> last_rate_;
  std::uint64_t events_ = 0;
  Timeline timeline_;
};

}  // namespace scaleplan
