// The charts, as functions from values to a QChart, so that the window shows them in a
// QChartView and the reports render the same chart offscreen (render.hpp): one chart code path.
// Every axis names its quantity and unit.
#pragma once

#include <memory>
#include <vector>

#include <QtCharts/QChart>

#include "gui/models/simulation_job.hpp"
#include "sim/report/prediction.hpp"

namespace scaleplan::gui {

// Per pipeline stage, stacked bars of weights, gradients, optimizer state, activations and
// buffers (communication, NCCL, allocator headroom), in GiB, against the device's capacity.
QChart* make_memory_chart(const Prediction& prediction);

// Runs side by side: each one's step time split into compute, exposed communication and bubble,
// in seconds, labelled with its strategy, MFU and peak memory.
QChart* make_compare_chart(const std::vector<std::shared_ptr<const RunResult>>& runs);

// Runs as points of step time (s) against the cost of a step in GPU-hours (devices × step time),
// the time/cost plane of the plans view; the Pareto front (no other run both faster and cheaper)
// joined by a line.
QChart* make_pareto_chart(const std::vector<std::shared_ptr<const RunResult>>& runs);

// Which runs are on the time/cost Pareto front, by index.
std::vector<std::size_t> pareto_front(const std::vector<std::shared_ptr<const RunResult>>& runs);

}  // namespace scaleplan::gui
