#include "sim/simulate/compute_model.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "hardware/input/diagnostics.hpp"

namespace scaleplan {

namespace {

bool is_matrix(const Kernel& kernel) {
  return kernel.kind == KernelKind::gemm || kernel.kind == KernelKind::attention;
}

// "bf16 GEMMs up to 0.77 of peak, half of that at 20.7 GFLOP, tiles in waves over 108 SMs, 24
// of them held by each NCCL collective running beside": the catalog's curve for GEMMs in `dtype`
// and what communication kernels take from it (RankScheduler).
std::string catalog_gemm_curve(const DeviceSpec& device, Dtype dtype) {
  std::string text =
      fmt::format("{} GEMMs {} {:.3g} of peak", to_string(dtype),
                  device.gemm_half_efficiency_flops ? "up to" : "at",
                  device.compute_efficiency_of(dtype).value * device.sustained_share_value());
  if (auto f0 = device.gemm_half_efficiency_flops_of(dtype))
    text += fmt::format(", half of that at {:.3g} GFLOP", *f0 / 1e9);
  if (device.gemm_tiling) {
    text += fmt::format(", tiles in waves over {} SMs",
                        static_cast<long long>(device.gemm_tiling->sm_count.value));
    if (const auto& held = device.gemm_tiling->collective_kernel_sms) {
      text += fmt::format(", {} of them held by each NCCL collective running beside",
                          static_cast<long long>(held->value));
    }
  }
  return text;
}

// The figure a fused attention kernel of `library` runs at on the device, as catalog_compute_
// efficiency reads it: its own curve, cuDNN's in its place, or (neither in the catalog) the GEMM
// curve, which the text then says.
std::string catalog_attention_curve(const DeviceSpec& device, AttentionLibrary library,
                                    Dtype dtype) {
  const AttentionFigures* figures = device.attention_of(library);
  if (!figures) {
    return fmt::format(
        "fused attention at the GEMM curve: the catalog gives {} no attention figure", device.name);
  }
  const bool own = device.attention.count(library) > 0;
  std::string text =
      fmt::format("fused attention ({}{}) in {} up to {:.3g} of peak", to_string(library),
                  own ? "" : fmt::format(", at {}'s figure", to_string(AttentionLibrary::cudnn)),
                  to_string(dtype), figures->efficiency.value * device.sustained_share_value());
  if (figures->half_efficiency_keys)
    text += fmt::format(", half of that at {:.0f} keys", figures->half_efficiency_keys->value);
  return text;
}

}  // namespace

double gemm_wave_efficiency(const GemmTiling& tiling, const GemmShape& shape) {
  if (shape.m <= 0 || shape.n <= 0 || shape.batch <= 0)
    return 1;
  const double m = static_cast<double>(shape.m);
  const double n = static_cast<double>(shape.n);
  const double k = static_cast<double>(std::max<std::int64_t>(shape.k, 1));
  const double batch = static_cast<double>(shape.batch);
  const double processors = tiling.sm_count.value;
  const double largest_area = tiling.max_tile_m.value * tiling.max_tile_n.value;
  const double largest_side = std::max(tiling.max_tile_m.value, tiling.max_tile_n.value);
  // The reduction is split in slices of at least one block of min_tile, so that a slice still
  // runs the tile's main loop; the slices' fp32 partial sums are added by a short second kernel
  // (m·n elements per slice) whose time is left out: it matters only where m·n is small.
  const double most_slices = std::max(1.0, std::floor(k / tiling.min_tile.value));
  // A side shorter than the smallest tile (an MLP's one output, a GEMV) runs in a kernel of
  // narrow tiles, as the libraries keep for thin GEMMs, not padded to min_tile: such a GEMM is
  // bound by reading its operands, which the roofline's memory term then decides.
  const auto smallest_side = [&](double extent) {
    return std::min(tiling.min_tile.value, std::exp2(std::ceil(std::log2(extent))));
  };
  double best = 0;
  for (double tile_m = smallest_side(m); tile_m <= largest_side; tile_m *= 2) {
    for (double tile_n = smallest_side(n); tile_n <= largest_side; tile_n *= 2) {
      if (tile_m * tile_n > largest_area)
        continue;
      const double tiles = std::ceil(m / tile_m) * std::ceil(n / tile_n) * batch;
      // Split-K: a GEMM whose tiles do not fill one wave (a weight gradient of few rows and
      // columns and a long reduction: convolutions' filters, thin MLPs) has its reduction split
      // so that more processors work on it, as cuBLAS's and cuDNN's heuristics do.
      for (double slices = 1;
           slices == 1 || (slices <= most_slices && tiles * slices <= processors); slices *= 2) {
        const double waves = std::ceil(tiles * slices / processors);
        const double slice_k = std::ceil(k / slices);
        best = std::max(best, m * n * batch * k / (waves * processors * tile_m * tile_n * slice_k));
      }
    }
  }
  return best > 0 ? std::min(best, 1.0) : 1.0;
}

double catalog_compute_efficiency(const DeviceSpec& device, const Kernel& kernel) {
  const double share = device.sustained_share_value();
  double efficiency = device.compute_efficiency_of(kernel.dtype).value * share;
  if (!is_matrix(kernel))
    return efficiency;
  if (kernel.kind == KernelKind::attention && !kernel.attention_product) {
    // A fused kernel is named by the shape of QK^T: its n is the keys each query attends over.
    if (const AttentionFigures* fused = device.attention_of(kernel.attention_library))
      efficiency = fused->efficiency_at(static_cast<double>(kernel.gemm.n)) * share;
  }
  if (auto f0 = device.gemm_half_efficiency_flops_of(kernel.dtype))
    efficiency *= kernel.flops / (kernel.flops + *f0);
  if (kernel.kind == KernelKind::gemm && device.gemm_tiling)
    efficiency *= gemm_wave_efficiency(*device.gemm_tiling, kernel.gemm);
  return efficiency;
}

double RooflineModel::kernel_time_s(const Kernel& kernel) const {
  double arithmetic_s = 0;
  if (kernel.flops > 0) {
    arithmetic_s = kernel.flops /
                   (device_.peak_flops(kernel.dtype) * catalog_compute_efficiency(device_, kernel));
  }
  const double memory_s =
      kernel.bytes / (device_.memory_bandwidth_bytes_per_s.value * device_.memory_efficiency.value);
  return std::max(arithmetic_s, memory_s) + device_.kernel_launch_overhead_s.value;
}

std::string RooflineModel::description(Dtype dtype) const {
  return "roofline of " + device_.name + " from the catalog: " + catalog_gemm_curve(device_, dtype);
}

std::string RooflineModel::attention_description(AttentionLibrary library, Dtype dtype) const {
  return catalog_attention_curve(device_, library, dtype);
}

ProfiledComputeModel::ProfiledComputeModel(DeviceSpec device, Profile profile,
                                           std::string profile_name)
    : device_(std::move(device)),
      profile_(std::move(profile)),
      profile_name_(std::move(profile_name)) {}

double ProfiledComputeModel::kernel_time_s(const Kernel& kernel) const {
  auto it = is_matrix(kernel) ? profile_.gemm.find(kernel.dtype) : profile_.gemm.end();
  if (it != profile_.gemm.end()) {
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
  // Other kernels, and GEMMs of a dtype the profile has no fit for: the catalog's efficiency.
  double arithmetic_s = 0;
  if (kernel.flops > 0) {
    arithmetic_s = kernel.flops /
                   (device_.peak_flops(kernel.dtype) * catalog_compute_efficiency(device_, kernel));
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

std::string ProfiledComputeModel::description(Dtype dtype) const {
  // Each part of the model with where it comes from: the profile's fits, or the catalog's
  // figures for what the profile lacks.
  std::string text = "calibration profile " + profile_name_ + " of " + profile_.device + ": ";
  if (!profile_.gemm.empty()) {
    text += "GEMM";
    for (const auto& [fitted, gemm] : profile_.gemm) {
      text += fmt::format(" {} ({})", to_string(fitted),
                          counted(static_cast<std::int64_t>(gemm.table.size()), "shape"));
    }
    if (profile_.sustained_gemm_fraction) {
      text += fmt::format(" at {:.3g} of the measured throughput (sustained in a step)",
                          profile_.sustained_gemm_fraction->value);
    }
    text += ", ";
  }
  if (profile_.memory) {
    text += fmt::format("memory {} GB/s",
                        static_cast<long long>(profile_.memory->bandwidth_bytes_per_s.value / 1e9));
  } else {
    text += "memory from the catalog";
  }
  text += profile_.kernel_launch_overhead_s
              ? fmt::format(", launch overhead {:.3g} us",
                            profile_.kernel_launch_overhead_s->value * 1e6)
              : std::string(", launch overhead from the catalog");
  if (!profile_.gemm.count(dtype)) {
    text += fmt::format("; no {0} GEMM fit, so {0} GEMMs from the catalog's roofline of {1}: {2}",
                        to_string(dtype), device_.name, catalog_gemm_curve(device_, dtype));
  }
  return text;
}

std::string ProfiledComputeModel::attention_description(AttentionLibrary library,
                                                        Dtype dtype) const {
  // A dtype the profile fits runs attention by its GEMM fit (kernel_time_s); another by the
  // catalog's figure.
  if (!profile_.gemm.count(dtype))
    return catalog_attention_curve(device_, library, dtype);
  return fmt::format("fused attention in {} at the profile's GEMM fit for the shape of QK^T",
                     to_string(dtype));
}

double block_time_s(const ComputeModel& model, const ComputeBlock& block) {
  double total = 0;
  for (const Kernel& k : block.kernels)
    total += model.kernel_time_s(k);
  return total;
}

}  // namespace scaleplan
