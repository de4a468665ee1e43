// `scaleplan plan SCENARIO`: the fastest plans for the scenario's cluster, model and batch
// (docs/planner.md), a thin shell over search_plans.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace scaleplan {

// Registers the plan subcommand on `app`. The returned function runs it (call it after parsing,
// when `plan` was given) and returns the exit code; it throws InputError for bad input (the
// scenario, its search section, --fix, --emit-scenario), which main reports with exit code 2.
std::function<int()> add_plan_command(CLI::App& app);

}  // namespace scaleplan
