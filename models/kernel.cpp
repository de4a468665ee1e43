#include "models/kernel.hpp"

namespace scaleplan {

Kernel make_gemm(std::string name, GemmShape shape, Dtype dtype) {
  const double m = static_cast<double>(shape.m);
  const double n = static_cast<double>(shape.n);
  const double k = static_cast<double>(shape.k);
  const double batch = static_cast<double>(shape.batch);
  Kernel kernel;
  kernel.name = std::move(name);
  kernel.kind = KernelKind::gemm;
  kernel.dtype = dtype;
  kernel.flops = 2.0 * m * n * k * batch;
  kernel.bytes = (m * k + k * n + m * n) * batch * bytes_per_element(dtype);
  kernel.gemm = shape;
  return kernel;
}

}  // namespace scaleplan
