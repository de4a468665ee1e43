// What a sweep's results say, read back from any of its result files: the fastest scenario that
// fits, the fastest for each value of each axis, and how much step time moves with each axis
// (`scaleplan report`). Plots of the same are the GUI's chart views' (not here).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sim/sweep/sweep_output.hpp"

namespace scaleplan::sweep {

// A results file as a table: its columns (result_columns of the sweep that wrote it), which of
// them are the axes, and its rows.
struct ResultTable {
  std::string file;
  std::vector<std::string> columns;
  std::vector<std::string> axes;
  std::vector<std::vector<Cell>> rows;
};

// Reads a results file of any format (by its extension). Throws InputError, with the file and
// line, for a file that is not a sweep's results.
ResultTable read_results(const std::filesystem::path& path);

// How many scenarios ran and failed, the fastest that fits, the fastest for each value of each
// axis, and the sensitivity of step time to each axis: the ratio of the slowest to the fastest
// mean step time over the axis's values, among the scenarios that fit, largest first.
std::string format_summary(const ResultTable& table);

}  // namespace scaleplan::sweep
