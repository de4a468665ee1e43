// `scaleplan balance SCENARIO`: the pipeline split (parallelism.stage_layers) whose simulated step
// is shortest, a thin shell over propose_stage_split (sim/report/stage_split.hpp).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace scaleplan {

// Registers the balance subcommand on `app`. The returned function runs it (call it after
// parsing, when `balance` was given) and returns the exit code; it throws InputError for bad
// input (the scenario; one pipeline stage or an interleaved schedule, at parallelism.pp or
// parallelism.schedule), which main reports with exit code 2.
std::function<int()> add_balance_command(CLI::App& app);

}  // namespace scaleplan
