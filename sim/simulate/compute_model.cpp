#include "sim/simulate/compute_model.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include <fmt/format.h>

#include "hardware/input/diagnostics.hpp"

namespace scaleplan {

double RooflineModel::kernel_time_s(const Kernel& kernel) const {
  double arithmetic_s = 0;
  if (kernel.flops > 0) {
    double efficiency = device_.compute_efficiency.value;
    const bool matrix = kernel.kind == KernelKind::gemm || kernel.kind == KernelKind::attention;
    if (matrix && device_.gemm_half_efficiency_flops) {
      efficiency *= kernel.flops / (kernel.flops + device_.gemm_half_efficiency_flops->value);
    }
    arithmetic_s = kernel.flops / (device_.peak_flops(kernel.dtype) * efficiency);
  }
  const double memory_s =
      kernel.bytes / (device_.memory_bandwidth_bytes_per_s.value * device_.memory_efficiency.value);
  return std::max(arithmetic_s, memory_s) + device_.kernel_launch_overhead_s.value;
}

std::string RooflineModel::description() const {
  char text[256];
  if (device_.gemm_half_efficiency_flops) {
    std::snprintf(text, sizeof text,
                  "roofline of %s from the catalog: GEMMs up to %.3g of peak, half of that at "
                  "%.3g GFLOP",
                  device_.name.c_str(), device_.compute_efficiency.value,
                  device_.gemm_half_efficiency_flops->value / 1e9);
  } else {
    std::snprintf(text, sizeof text, "roofline of %s from the catalog: GEMMs at %.3g of peak",
                  device_.name.c_str(), device_.compute_efficiency.value);
  }
  return text;
}

ProfiledComputeModel::ProfiledComputeModel(DeviceSpec device, Profile profile,
                                           std::string profile_name)
    : device_(std::move(device)),
      profile_(std::move(profile)),
      profile_name_(std::move(profile_name)) {}

double ProfiledComputeModel::kernel_time_s(const Kernel& kernel) const {
  if (kernel.kind == KernelKind::gemm || kernel.kind == KernelKind::attention) {
    auto it = profile_.gemm.find(kernel.dtype);
    if (it == profile_.gemm.end()) {
      throw std::invalid_argument("calibration profile " + profile_name_ + " has no " +
                                  std::string(to_string(kernel.dtype)) + " GEMM fit");
    }
    // The efficiency measured for the kernel's shape applies to all of its FLOPs, which are not
    // always those of one GEMM of that shape: a fused attention kernel is named by the shape of
    // QK^T but also runs PV (less the masked half when causal), and its backward 2.5 times the
    // forward's work. The measured GEMM time includes its launch.
    const GemmProfile& g = it->second;
    const GemmDims dims{kernel.gemm.m, kernel.gemm.n, kernel.gemm.k, kernel.gemm.batch};
    const double sustained =
        profile_.sustained_gemm_fraction ? profile_.sustained_gemm_fraction->value : 1.0;
    return kernel.flops / (g.efficiency(dims) * sustained * g.peak_flops_per_s.value);
  }
  double arithmetic_s = 0;
  if (kernel.flops > 0) {
    arithmetic_s =
        kernel.flops / (device_.peak_flops(kernel.dtype) * device_.compute_efficiency.value);
  }
  if (profile_.memory)
    return std::max(arithmetic_s, profile_.memory->time_s(kernel.bytes));
  const double memory_s =
      kernel.bytes / (device_.memory_bandwidth_bytes_per_s.value * device_.memory_efficiency.value);
  const double launch_s = profile_.kernel_launch_overhead_s
                              ? profile_.kernel_launch_overhead_s->value
                              : device_.kernel_launch_overhead_s.value;
  return std::max(arithmetic_s, memory_s) + launch_s;
}

std::string ProfiledComputeModel::description() const {
  std::string text = "calibration profile " + profile_name_ + " of " + profile_.device + ": GEMM";
  for (const auto& [dtype, gemm] : profile_.gemm) {
    text +=
        " " + std::string(to_string(dtype)) + " (" + std::to_string(gemm.table.size()) + " shapes)";
  }
  if (profile_.sustained_gemm_fraction) {
    text += fmt::format(" at {:.3g} of the measured throughput (sustained in a step)",
                        profile_.sustained_gemm_fraction->value);
  }
  if (profile_.memory) {
    text +=
        ", memory " +
        std::to_string(static_cast<long long>(profile_.memory->bandwidth_bytes_per_s.value / 1e9)) +
        " GB/s";
  } else {
    text += ", memory from the catalog";
  }
  return text;
}

double block_time_s(const ComputeModel& model, const ComputeBlock& block) {
  double total = 0;
  for (const Kernel& k : block.kernels)
    total += model.kernel_time_s(k);
  return total;
}

}  // namespace scaleplan
