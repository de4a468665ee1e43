// What a simulation tells those who listen: statistics, the timeline recorder, a GUI. The engine
// does not know who listens; any number of observers subscribe to one run.
#pragma once

#include <cstdint>
#include <vector>

#include "hardware/topology.hpp"
#include "sim/engine/time.hpp"

namespace scaleplan {

// Each method has an empty default, so that an observer overrides only what it reads. `rank` is
// the program's index in Plan::ranks (the rank itself unless the plan lists one replica).
class SimulationObserver {
 public:
  virtual ~SimulationObserver() = default;
  // An op ran from `start` to `end` on `rank` (communication: from when every participant was
  // ready to when the data had arrived).
  virtual void on_op(int /*rank*/, std::uint32_t /*op*/, SimTime /*start*/, SimTime /*end*/) {}
  // The activation memory of `rank` changed to `bytes` at `time`.
  virtual void on_memory(int /*rank*/, SimTime /*time*/, double /*bytes*/) {}
  // Whether on_link_rate should be called. Link rates cost the network per-link bookkeeping on
  // every reshare, so a run tracks them only when some observer asks.
  virtual bool observes_link_rates() const { return false; }
  // The total rate of `link` (flows and fast-path traffic) changed to `bytes_per_s` at `time`;
  // several calls at one instant leave the last standing.
  virtual void on_link_rate(LinkId /*link*/, SimTime /*time*/, double /*bytes_per_s*/) {}
};

// The observers of one run, each told every event in list order; null entries are left out.
class ObserverList {
 public:
  explicit ObserverList(const std::vector<SimulationObserver*>& observers) {
    for (SimulationObserver* observer : observers) {
      if (!observer)
        continue;
      observers_.push_back(observer);
      if (observer->observes_link_rates())
        link_rate_observers_.push_back(observer);
    }
  }

  void op(int rank, std::uint32_t op, SimTime start, SimTime end) const {
    for (SimulationObserver* observer : observers_)
      observer->on_op(rank, op, start, end);
  }
  void memory(int rank, SimTime time, double bytes) const {
    for (SimulationObserver* observer : observers_)
      observer->on_memory(rank, time, bytes);
  }
  void link_rate(LinkId link, SimTime time, double bytes_per_s) const {
    for (SimulationObserver* observer : link_rate_observers_)
      observer->on_link_rate(link, time, bytes_per_s);
  }
  bool observes_link_rates() const { return !link_rate_observers_.empty(); }

 private:
  std::vector<SimulationObserver*> observers_;
  std::vector<SimulationObserver*> link_rate_observers_;
};

}  // namespace scaleplan
