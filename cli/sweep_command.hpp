// `scaleplan sweep SWEEP.yaml -o RESULTS`: every scenario of a sweep (docs/sweep-format.md),
// predicted on every core (or shared across the ranks of mpirun), each row written as it
// finishes.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace scaleplan {

// Registers the sweep subcommand on `app`. The returned function runs it (call it after parsing,
// when `sweep` was given) and returns the exit code: 0 when every scenario has its row, failed
// scenarios included (their rows hold their errors). It throws InputError for a bad sweep file
// or a results file that is not the sweep's, which main reports with exit code 2.
std::function<int()> add_sweep_command(CLI::App& app);

// Registers `scaleplan report RESULTS [-o DIR] [--no-plots]`: what a sweep's results say (the
// fastest scenario that fits, the fastest for each value of each axis, the sensitivity of step
// time to each axis), printed, and written to DIR/summary.txt with -o; with -o, the sweep's plots
// too, by scaleplan-report-plots beside this program (gui/report: the GUI's charts, with Qt),
// which it hands over to, and a note on stderr that says why there are none where that program
// is not built.
std::function<int()> add_report_command(CLI::App& app);

}  // namespace scaleplan
