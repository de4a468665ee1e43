// `scaleplan capacity SPEC.yaml`: which cluster to rent or buy for one job (docs/capacity.md).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace scaleplan {

// Registers the capacity subcommand on `app`. The returned function runs it (call it after
// parsing, when `capacity` was given) and returns the exit code: 0 whether or not a cluster meets
// the spec's deadline and budget (the report says which do and why the others do not). It throws
// InputError for a bad spec, which main reports with exit code 2.
std::function<int()> add_capacity_command(CLI::App& app);

}  // namespace scaleplan
