// Checks of command-line values that CLI11 does not make.
#pragma once

#include <CLI/CLI.hpp>

namespace scaleplan {

// A finite decimal number (the syntax of every input, decimal_number): CLI::Range lets NaN
// through, since every comparison with it is false.
extern const CLI::Validator finite_number;

}  // namespace scaleplan
