// A sweep's plots as files, drawn without a window by the GUI's own charts (gui/views/charts.hpp,
// the heat map of gui/views/sweep_view.hpp) and rendered offscreen (gui/views/render.hpp): what
// `scaleplan report -o DIR` writes beside its summary where scaleplan is built with Qt, through
// scaleplan-report-plots (report_plots_main.cpp). No Qt in this header.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sim/sweep/sweep_summary.hpp"

namespace scaleplan::gui {

struct SweepPlotOptions {
  int width_px = 1000;  // each plot's size, for the PNG and the SVG alike
  int height_px = 640;
};

// One plot, written as an SVG and a PNG of the same name.
struct SweepPlot {
  std::string name;  // the files' name without the extension: "step-time-vs-parallelism.tp"
  std::string what;  // "step time against parallelism.tp"
};

// Writes into `directory` (created if need be), each as NAME.svg and NAME.png:
// - `<metric>-vs-<axis>` for each axis and each metric the results hold (step-time, throughput,
//   mfu, cost): the best and the mean of the scenarios that fit, for each value of the axis;
// - `cost-vs-step-time`: every scenario that fits, step time against the cost of a step, and
//   their Pareto front;
// - `heat-map`, with two axes or more: the lowest step time of the scenarios that fit at each
//   pair of values of the first two axes (blank where none fits).
// Axis characters other than letters, digits, '.', '-' and '_' are '_' in file names. Renders
// in this process's QApplication, or in one of its own on the offscreen platform (no display
// needed) when there is none. Returns the plots written; throws std::runtime_error naming a
// file that cannot be written, or when the process has a Qt application without widgets.
std::vector<SweepPlot> write_sweep_plots(const sweep::ResultTable& table,
                                         const std::filesystem::path& directory,
                                         const SweepPlotOptions& options = {});

}  // namespace scaleplan::gui
