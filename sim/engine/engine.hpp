// The discrete-event core. The engine owns time; everything else schedules events on it.
//
// Events are ordered by (time, sequence number of scheduling), so one input gives one order and
// one result, bit for bit. The queue is a binary heap: O(log n) to schedule and to pop. An Engine
// is an ordinary object; a process may hold many.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

#include "sim/engine/time.hpp"

namespace scaleplan {

// Receives the events it scheduled. `payload` is whatever the scheduler passed.
class EventHandler {
 public:
  virtual void on_event(std::uint64_t payload) = 0;

 protected:
  ~EventHandler() = default;
};

// Asked once the last event of an instant has run, before time moves on: models that gather the
// changes of one instant (transfers starting and ending together) handle them there, at once.
class InstantEndHandler {
 public:
  virtual void on_instant_end() = 0;

 protected:
  ~InstantEndHandler() = default;
};

class Engine {
 public:
  SimTime now() const { return now_; }
  std::uint64_t events_processed() const { return events_processed_; }
  std::size_t pending() const { return queue_.size(); }

  // Schedules `handler->on_event(payload)` at absolute time `at` (not before now()). Throws
  // std::overflow_error past sim_time_max, so that time never wraps around.
  void schedule_at(SimTime at, EventHandler* handler, std::uint64_t payload);
  // `delay` must not be negative.
  void schedule_after(SimTime delay, EventHandler* handler, std::uint64_t payload) {
    schedule_at(delay > sim_time_max - now_ ? sim_time_max + 1 : now_ + delay, handler, payload);
  }

  // Calls `handler->on_instant_end()` after the last event at now() has run, before the first
  // event at a later time (or before run() returns). Ask once per instant: each request is one
  // call. A handler may schedule events at now(); they run before time moves on, and their
  // requests are served after them. O(1) per request; an instant without requests costs one
  // comparison.
  void at_instant_end(InstantEndHandler* handler) { instant_end_.push_back(handler); }

  // Runs until no event is left. Returns the time of the last event.
  SimTime run();

 private:
  struct Event {
    SimTime time;
    std::uint64_t sequence;
    EventHandler* handler;
    std::uint64_t payload;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time != b.time ? a.time > b.time : a.sequence > b.sequence;
    }
  };

  SimTime now_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t events_processed_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  std::vector<InstantEndHandler*> instant_end_;  // requests for the current instant
  std::vector<InstantEndHandler*> serving_;
};

}  // namespace scaleplan
