// `scaleplan calibrate import | fit | compare`: the calibration workflow on the command line
// (docs/calibration.md).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace scaleplan {

// Registers the calibrate subcommands on `app`. The returned function runs the one the command
// line chose (call it after parsing, when `calibrate` was given) and returns the exit code; it
// throws InputError for bad input files, which main reports with exit code 2.
std::function<int()> add_calibrate_commands(CLI::App& app);

}  // namespace scaleplan
