// scaleplan-bench-gpu: the compute benchmarks with the CUDA + cuBLAS backend on one GPU
// (CUDA_VISIBLE_DEVICES picks which).
#include "calibrate/bench_cli.hpp"
#include "calibrate/cuda_backend.hpp"

int main(int argc, char** argv) {
  return scaleplan::compute_bench_main(argc, argv, "scaleplan-bench-gpu",
                                       [] { return std::make_unique<scaleplan::CudaBackend>(0); });
}
