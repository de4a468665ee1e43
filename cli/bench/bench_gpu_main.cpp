// scaleplan-bench-gpu: the compute benchmarks with the CUDA + cuBLAS backend on one GPU
// (CUDA_VISIBLE_DEVICES picks which).
#include "calibrate/cuda_backend.hpp"
#include "cli/bench/bench_cli.hpp"

int main(int argc, char** argv) {
  return scaleplan::compute_bench_main(argc, argv, "scaleplan-bench-gpu",
                                       [] { return std::make_unique<scaleplan::CudaBackend>(0); });
}
