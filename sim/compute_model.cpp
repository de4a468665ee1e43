#include "sim/compute_model.hpp"

#include <algorithm>

namespace scaleplan {

double RooflineModel::kernel_time_s(const Kernel& kernel) const {
  double arithmetic_s = 0;
  if (kernel.flops > 0) {
    arithmetic_s =
        kernel.flops / (device_.peak_flops(kernel.dtype) * device_.compute_efficiency.value);
  }
  const double memory_s =
      kernel.bytes / (device_.memory_bandwidth_bytes_per_s.value * device_.memory_efficiency.value);
  return std::max(arithmetic_s, memory_s) + device_.kernel_launch_overhead_s.value;
}

std::string RooflineModel::description() const {
  return "roofline of " + device_.name + " at compute efficiency " +
         std::to_string(device_.compute_efficiency.value) + " (" +
         device_.compute_efficiency.source + ")";
}

double block_time_s(const ComputeModel& model, const ComputeBlock& block) {
  double total = 0;
  for (const Kernel& k : block.kernels)
    total += model.kernel_time_s(k);
  return total;
}

}  // namespace scaleplan
