// scaleplan-bench-cpu: the compute benchmarks with the Eigen backend.
#include "calibrate/cpu_backend.hpp"
#include "cli/bench/bench_cli.hpp"

int main(int argc, char** argv) {
  return scaleplan::compute_bench_main(argc, argv, "scaleplan-bench-cpu",
                                       [] { return std::make_unique<scaleplan::CpuBackend>(); });
}
