// The command lines of the benchmark programs: every compute bench (scaleplan-bench-gpu,
// scaleplan-bench-cpu) takes the same options and writes the same measurements format, whatever
// its backend; only the backend differs.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "calibrate/compute_bench.hpp"

namespace scaleplan {

// "8", "64K", "1M", "8G" (powers of 1024) to bytes; nullopt for anything else.
std::optional<double> parse_byte_size(const std::string& text);

// Parses the command line, builds the backend, runs the sweep and writes the measurements file.
// Returns the process exit code: 0 done, 1 failure, 2 bad arguments. `timing` holds the
// program's defaults for the timing options (trials, clock).
int compute_bench_main(int argc, char** argv, const std::string& program,
                       const std::function<std::unique_ptr<ComputeBackend>()>& make_backend,
                       TimingOptions timing = {});

}  // namespace scaleplan
