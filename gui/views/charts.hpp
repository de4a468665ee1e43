// The charts, as functions from values to a QChart, so that the window shows them in a
// QChartView and the reports render the same chart offscreen (render.hpp): one chart code path.
// Every axis names its quantity and unit.
#pragma once

#include <memory>
#include <vector>

#include <QtCharts/QChart>

#include "gui/models/simulation_job.hpp"
#include "sim/report/prediction.hpp"
#include "sim/sweep/sweep_summary.hpp"

namespace scaleplan::gui {

// Per pipeline stage, stacked bars of weights, gradients, optimizer state, activations and
// buffers (communication, NCCL, allocator headroom), in GiB, against the device's capacity.
QChart* make_memory_chart(const Prediction& prediction);

// Runs side by side: each one's step time split into compute, exposed communication and bubble,
// in seconds, labelled with its strategy, MFU and peak memory.
QChart* make_compare_chart(const std::vector<std::shared_ptr<const RunResult>>& runs);

// A point of a trade-off: two quantities, both to minimise.
struct TradeOffPoint {
  double x = 0;
  double y = 0;
};
// Which points no other point beats on both quantities (and ties on neither), by x (ties in
// their order). O(n log n).
std::vector<std::size_t> pareto_front(const std::vector<TradeOffPoint>& points);

// The points as a scatter, the Pareto front joined by a line; axis titles name the quantities
// and their units.
QChart* make_pareto_chart(const QString& title, const QString& x_title, const QString& y_title,
                          const std::vector<TradeOffPoint>& points,
                          const QString& points_name = "plans");

// The capacity planner's clusters that have a plan as time to train (days) against cost
// (million USD), rented and bought alike, with the time/cost Pareto front.
QChart* make_capacity_chart(const CapacityResult& capacity);

// Runs as step time (s) against the cost of a step in GPU-hours (devices × step time).
QChart* make_runs_pareto_chart(const std::vector<std::shared_ptr<const RunResult>>& runs);

// A plan search's ranked plans as step time (s) against peak memory per device (GiB): on one
// cluster the cost of a step follows its time, and memory is what a faster plan spends.
QChart* make_search_pareto_chart(const SearchResult& search);

// A sweep's metric against one of its axes (sweep::sweep_axis_series): for each value of the
// axis, the best (fastest, highest, cheapest) and the mean of the scenarios that ran and fit with
// it, as two lines over the axis's values; a value with which none fits is marked on the axis
// and breaks the lines. Throughput is drawn in tokens/s (thousands or millions), MFU in percent.
// `scaleplan report` renders the same chart offscreen (gui/report).
QChart* make_sweep_axis_chart(const sweep::SweepAxisSeries& series);

// A sweep's scenarios that fit as step time (s) against the cost of a step (USD, or device-hours
// where a device has no price), with their time/cost Pareto front.
QChart* make_sweep_cost_chart(const sweep::SweepCostPoints& points);

}  // namespace scaleplan::gui
