// The CPU backend's compute: a plan's compute blocks run as Eigen kernels of the plan's shapes on
// synthetic data, the way scaleplan-bench-cpu times them (so that a profile fitted from that
// benchmark predicts them). A GEMM kernel is C = A·B of its m, n, k, batch times; an attention
// kernel is GEMMs of its shape until its FLOPs are done (the compute model charges all of its
// FLOPs at that shape's efficiency); every other kernel is a triad (a = b + s·c) over its bytes
// (read plus written, 12 bytes an element), as the profile's memory fit measures them. fp32
// only: Eigen has no fast GEMM of the other dtypes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sim/plan/plan.hpp"

namespace scaleplan {

class CpuKernels {
 public:
  // Allocates, once, operands large enough for every kernel of `blocks`.
  explicit CpuKernels(const std::vector<ComputeBlock>& blocks);
  ~CpuKernels();
  CpuKernels(const CpuKernels&) = delete;
  CpuKernels& operator=(const CpuKernels&) = delete;

  void run(const ComputeBlock& block);
  void run(const Kernel& kernel);

  // How many GEMM calls of its shape an attention or GEMM kernel runs (at least one per batch).
  static std::int64_t gemm_calls(const Kernel& kernel);

 private:
  struct Buffers;
  std::unique_ptr<Buffers> buffers_;
};

}  // namespace scaleplan
