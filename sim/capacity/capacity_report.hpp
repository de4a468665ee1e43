// A capacity report as people read it (text), as spreadsheets read it (CSV, one row per cluster
// and pricing) and as programs read it (JSON). docs/capacity.md lists the columns and keys.
#pragma once

#include <string>

#include "sim/capacity/capacity.hpp"

namespace scaleplan::capacity {

// A duration in the unit a reader takes in at a glance: seconds with a decimal while they are few
// (a checkpoint written in half a second), then minutes, hours, days: "0.5 s", "24 min",
// "12.4 h", "43.4 days".
std::string duration_text(double seconds);
// "$950", "$310.5k", "$2.42M".
std::string money_text(double usd);

// The table, the Pareto front, the best option or, when none satisfies the spec, every reason.
std::string format_text(const CapacityReport& report);
// A header line and one line per row; numbers in SI units (seconds, bytes, watts, USD, MWh).
std::string format_csv(const CapacityReport& report);
// Indented JSON with a final newline.
std::string format_json(const CapacityReport& report);

}  // namespace scaleplan::capacity
