// `scaleplan execute` (run a plan or a scenario's plan on this machine's ranks under mpirun and
// record the measured step) and `scaleplan compare` (a measured trace beside a predicted one);
// docs/execute.md.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace scaleplan {

// Registers both commands on `app`; the function runs whichever was given. `argv`: the command
// line, which `execute --backend cuda` passes on to scaleplan-execute-gpu in a build whose
// scaleplan does not link CUDA.
std::function<int()> add_execute_commands(CLI::App& app, std::vector<std::string> argv);

}  // namespace scaleplan
