#include "sim/engine/engine.hpp"

#include <stdexcept>

namespace scaleplan {

void Engine::schedule_at(SimTime at, EventHandler* handler, std::uint64_t payload) {
  if (at < now_)
    throw std::logic_error("event scheduled in the past");
  if (at > sim_time_max) {
    throw TimeOverflow(TimeOverflow::Cause::step,
                       "the simulated step runs past " + seconds_text(to_seconds(sim_time_max)) +
                           " (about 26 days), beyond what the simulator represents");
  }
  queue_.push({at, next_sequence_++, handler, payload});
}

SimTime Engine::run() {
  for (;;) {
    if (!instant_end_.empty() && (queue_.empty() || queue_.top().time != now_)) {
      // In the order asked; requests made while serving wait for the next round.
      serving_.swap(instant_end_);
      for (InstantEndHandler* handler : serving_)
        handler->on_instant_end();
      serving_.clear();
      continue;
    }
    if (queue_.empty())
      break;
    const Event event = queue_.top();
    queue_.pop();
    now_ = event.time;
    ++events_processed_;
    event.handler->on_event(event.payload);
  }
  return now_;
}

}  // namespace scaleplan
