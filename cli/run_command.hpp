// `scaleplan run SCENARIO` and `scaleplan simulate PLAN --cluster SCENARIO`: one training step
// simulated and reported, from a scenario or from a plan file (docs/plan-format.md) on a
// scenario's cluster.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace scaleplan {

// Registers `run` and `simulate` on `app`. The returned function runs the one the command line
// chose (call it after parsing, when either was given) and returns the exit code; it throws
// InputError for bad input, which main reports with exit code 2.
std::function<int()> add_run_commands(CLI::App& app);

}  // namespace scaleplan
