// A capacity report as people read it (text), as spreadsheets read it (CSV, one row per cluster
// and pricing) and as programs read it (JSON). docs/capacity.md lists the columns and keys.
#pragma once

#include <string>

#include "sim/capacity/capacity.hpp"

namespace scaleplan::capacity {

// The table, the Pareto front, the best option or, when none satisfies the spec, every reason.
std::string format_text(const CapacityReport& report);
// A header line and one line per row; numbers in SI units (seconds, bytes, watts, USD, MWh).
std::string format_csv(const CapacityReport& report);
// Indented JSON with a final newline.
std::string format_json(const CapacityReport& report);

}  // namespace scaleplan::capacity
