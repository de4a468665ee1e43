#include "calibrate/executor/cpu_kernels.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>

namespace scaleplan {

namespace {

bool is_matrix(const Kernel& k) {
  return (k.kind == KernelKind::gemm || k.kind == KernelKind::attention) && k.gemm.m > 0 &&
         k.gemm.n > 0 && k.gemm.k > 0;
}

std::int64_t triad_elements(const Kernel& k) {
  return std::max<std::int64_t>(1, std::llround(k.bytes / 12.0));
}

// Reading one element after each kernel keeps the compiler from dropping the work.
volatile float sink = 0;

}  // namespace

struct CpuKernels::Buffers {
  Eigen::MatrixXf a, b, c;
  Eigen::VectorXf x, y, z;
};

std::int64_t CpuKernels::gemm_calls(const Kernel& k) {
  const double one = 2.0 * static_cast<double>(k.gemm.m) * static_cast<double>(k.gemm.n) *
                     static_cast<double>(k.gemm.k);
  const auto by_flops = static_cast<std::int64_t>(std::llround(k.flops / one));
  return std::max<std::int64_t>({1, by_flops, k.kind == KernelKind::gemm ? k.gemm.batch : 1});
}

CpuKernels::CpuKernels(const std::vector<ComputeBlock>& blocks)
    : buffers_(std::make_unique<Buffers>()) {
  Eigen::Index m = 1, n = 1, k = 1, elements = 1;
  for (const ComputeBlock& block : blocks) {
    for (const Kernel& kernel : block.kernels) {
      if (is_matrix(kernel)) {
        m = std::max<Eigen::Index>(m, kernel.gemm.m);
        n = std::max<Eigen::Index>(n, kernel.gemm.n);
        k = std::max<Eigen::Index>(k, kernel.gemm.k);
      } else {
        elements = std::max<Eigen::Index>(elements, triad_elements(kernel));
      }
    }
  }
  buffers_->a = Eigen::MatrixXf::Random(m, k);
  buffers_->b = Eigen::MatrixXf::Random(k, n);
  buffers_->c = Eigen::MatrixXf::Zero(m, n);
  buffers_->x = Eigen::VectorXf::Zero(elements);
  buffers_->y = Eigen::VectorXf::Random(elements);
  buffers_->z = Eigen::VectorXf::Random(elements);
}

CpuKernels::~CpuKernels() = default;

void CpuKernels::run(const Kernel& kernel) {
  Buffers& bf = *buffers_;
  if (is_matrix(kernel)) {
    const auto m = static_cast<Eigen::Index>(kernel.gemm.m),
               n = static_cast<Eigen::Index>(kernel.gemm.n),
               k = static_cast<Eigen::Index>(kernel.gemm.k);
    // Contiguous operands of the kernel's shape, as the benchmark's.
    const Eigen::Map<const Eigen::MatrixXf> a(bf.a.data(), m, k);
    const Eigen::Map<const Eigen::MatrixXf> b(bf.b.data(), k, n);
    Eigen::Map<Eigen::MatrixXf> c(bf.c.data(), m, n);
    for (std::int64_t i = gemm_calls(kernel); i > 0; --i)
      c.noalias() = a * b;
    sink = bf.c(0, 0);
    return;
  }
  const Eigen::Index e = triad_elements(kernel);
  bf.x.head(e) = bf.y.head(e) + 3.0f * bf.z.head(e);
  sink = bf.x(0);
}

void CpuKernels::run(const ComputeBlock& block) {
  for (const Kernel& k : block.kernels)
    run(k);
}

}  // namespace scaleplan
