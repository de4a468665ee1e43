// scaleplan-bench-mpi: the collective benchmarks with MPI's own collectives on host memory.
#include "calibrate/mpi_backend.hpp"
#include "cli/bench/collective_bench_cli.hpp"

int main(int argc, char** argv) {
  return scaleplan::collective_bench_main(argc, argv, "scaleplan-bench-mpi",
                                          [] { return std::make_unique<scaleplan::MpiBackend>(); });
}
