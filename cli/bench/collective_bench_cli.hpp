// The command line of the collective benchmark programs (scaleplan-bench-mpi,
// scaleplan-bench-nccl): the same options and measurements format whatever the backend.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "calibrate/collective_bench.hpp"

namespace scaleplan {

// Parses the command line, initialises MPI, runs the sweep and writes the measurements file
// from rank 0. Returns the process exit code.
int collective_bench_main(int argc, char** argv, const std::string& program,
                          const std::function<std::unique_ptr<CollectiveBackend>()>& make_backend);

}  // namespace scaleplan
