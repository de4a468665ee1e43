// scaleplan-bench-nccl: the collective benchmarks with NCCL, one process per GPU under mpirun
// or srun.
#include "calibrate/nccl_backend.hpp"
#include "cli/bench/collective_bench_cli.hpp"

int main(int argc, char** argv) {
  return scaleplan::collective_bench_main(argc, argv, "scaleplan-bench-nccl", [] {
    return std::make_unique<scaleplan::NcclBackend>(MPI_COMM_WORLD);
  });
}
