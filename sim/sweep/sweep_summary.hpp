// What a sweep's results say, read back from any of its result files: the fastest scenario that
// fits, the fastest for each value of each axis, and how much step time moves with each axis
// (`scaleplan report`); and the series its plots draw (a metric against each axis, step time
// against cost), as values: the charts that draw them are the GUI's (gui/views/sweep_charts.hpp),
// rendered offscreen by `scaleplan report` where it is built with Qt (gui/report).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
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

// What a sweep's plots show on their vertical axis, each from its column: step time
// (step_time_s, s), throughput (tokens_per_s), MFU (mfu, a fraction of peak) and cost (the rent of
// a step, usd_per_step, USD).
enum class SweepMetric { step_time, throughput, mfu, cost };
inline constexpr SweepMetric sweep_metrics[] = {SweepMetric::step_time, SweepMetric::throughput,
                                                SweepMetric::mfu, SweepMetric::cost};
// "step time", "throughput", "MFU", "cost".
std::string sweep_metric_name(SweepMetric metric);
// Step time and cost are best low, throughput and MFU high.
bool lower_is_better(SweepMetric metric);
// A row's value of `metric`; nullopt where it has none (a failed scenario; a device without a
// price in the catalog).
std::optional<double> sweep_metric_value(const ResultTable& table, const std::vector<Cell>& row,
                                         SweepMetric metric);
// The rows of the scenarios that ran ("ok") and fit in memory, in the table's order.
std::vector<std::size_t> sweep_fitting_rows(const ResultTable& table);
// Whether a scenario that ran and fits has a value of `metric` (cost needs the catalog's prices).
bool has_sweep_metric(const ResultTable& table, SweepMetric metric);

// One value of an axis, and `metric` over the scenarios that ran and fit with it.
struct SweepAxisPoint {
  std::string value;           // as the results hold it
  std::optional<double> best;  // the lowest step time or cost, the highest throughput or MFU
  std::optional<double> mean;
  std::size_t scenarios = 0;  // rows with this value
  std::size_t fitting = 0;    // of them, those that ran and fit, which best and mean are over
};
struct SweepAxisSeries {
  std::string axis;
  SweepMetric metric = SweepMetric::step_time;
  bool numeric = false;                // every value is a number: the points go in numeric order
  std::vector<SweepAxisPoint> points;  // else in the order the results first hold them
};
// `metric` against the axis `axis` (an index into table.axes). O(rows × values).
SweepAxisSeries sweep_axis_series(const ResultTable& table, std::size_t axis, SweepMetric metric);

// The scenarios that ran and fit as step time (s) against the cost of a step: in USD where every
// one of them has a price, else in device-hours (devices × step time / 3600), which the
// time/cost Pareto front is drawn from. With a fixed global batch (the shipped sweeps), a step
// is the same work in every scenario.
struct SweepCostPoints {
  bool usd = false;  // else device-hours
  std::vector<double> step_time_s;
  std::vector<double> cost;
  std::vector<std::size_t> rows;  // each point's row in the table
};
SweepCostPoints sweep_cost_points(const ResultTable& table);

}  // namespace scaleplan::sweep
