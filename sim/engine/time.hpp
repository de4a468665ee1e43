// Simulated time: an integer count of picoseconds, so that event order and results never depend
// on floating-point rounding. int64 picoseconds reach about 106 days.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace scaleplan {

using SimTime = std::int64_t;

inline constexpr SimTime picoseconds_per_second = 1'000'000'000'000;
inline constexpr SimTime sim_time_max = std::numeric_limits<SimTime>::max() / 4;

// A time past sim_time_max, and what made it: one compute op, one communication, or the step as
// a whole (the engine's clock), so that a caller can name the input to change.
class TimeOverflow : public std::overflow_error {
 public:
  enum class Cause { step, compute, communication };
  TimeOverflow(Cause cause, const std::string& message)
      : std::overflow_error(message), cause_(cause) {}
  Cause cause() const { return cause_; }

 private:
  Cause cause_;
};

// `seconds` as a reader reads it: three significant digits, never 300 of them.
inline std::string seconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g s", seconds);
  return text;
}

// Rounds a non-negative duration up to whole picoseconds, so that a positive duration never
// becomes zero. Throws TimeOverflow (with `cause`) past sim_time_max.
inline SimTime to_sim_time(double seconds, TimeOverflow::Cause cause = TimeOverflow::Cause::step) {
  if (!(seconds >= 0))
    throw std::domain_error("negative or NaN duration: " + std::to_string(seconds));
  const double ps = std::ceil(seconds * static_cast<double>(picoseconds_per_second));
  if (ps >= static_cast<double>(sim_time_max)) {
    throw TimeOverflow(cause, "a duration of " + seconds_text(seconds) +
                                  " is beyond what the simulator represents (about 26 days)");
  }
  return static_cast<SimTime>(ps);
}

inline double to_seconds(SimTime t) {
  return static_cast<double>(t) / static_cast<double>(picoseconds_per_second);
}

}  // namespace scaleplan
