// Simulated time: an integer count of picoseconds, so that event order and results never depend
// on floating-point rounding. int64 picoseconds reach about 106 days.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace scaleplan {

using SimTime = std::int64_t;

inline constexpr SimTime picoseconds_per_second = 1'000'000'000'000;
inline constexpr SimTime sim_time_max = std::numeric_limits<SimTime>::max() / 4;

// Rounds a non-negative duration up to whole picoseconds, so that a positive duration never
// becomes zero. Throws std::overflow_error past sim_time_max.
inline SimTime to_sim_time(double seconds) {
  if (!(seconds >= 0))
    throw std::domain_error("negative or NaN duration: " + std::to_string(seconds));
  const double ps = std::ceil(seconds * static_cast<double>(picoseconds_per_second));
  if (ps >= static_cast<double>(sim_time_max)) {
    throw std::overflow_error("duration of " + std::to_string(seconds) +
                              " s is beyond what the simulator represents (about 26 days)");
  }
  return static_cast<SimTime>(ps);
}

inline double to_seconds(SimTime t) {
  return static_cast<double>(t) / static_cast<double>(picoseconds_per_second);
}

}  // namespace scaleplan
