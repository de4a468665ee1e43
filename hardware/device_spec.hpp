// What one accelerator is: its peak rates, memory, links, power and price, each figure with the
// source it came from.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/input/enum_names.hpp"

namespace scaleplan {

// cpu: ranks on host processors, as the CPU benchmarks run them (Eigen GEMMs, MPI collectives),
// so that a profile measured on a CPU machine can drive a scenario.
enum class DeviceKind { gpu, tpu, fpga, cpu };
enum class Dtype { fp32, tf32, bf16, fp16, fp8 };

inline constexpr EnumNames<DeviceKind, 4> device_kind_names{{{
    {DeviceKind::gpu, "gpu"},
    {DeviceKind::tpu, "tpu"},
    {DeviceKind::fpga, "fpga"},
    {DeviceKind::cpu, "cpu"},
}}};
inline constexpr EnumNames<Dtype, 5> dtype_names{{{
    {Dtype::fp32, "fp32"},
    {Dtype::tf32, "tf32"},
    {Dtype::bf16, "bf16"},
    {Dtype::fp16, "fp16"},
    {Dtype::fp8, "fp8"},
}}};

inline std::string_view to_string(DeviceKind kind) {
  return device_kind_names.name(kind);
}
inline std::string_view to_string(Dtype dtype) {
  return dtype_names.name(dtype);
}

// Bytes one element occupies in memory. tf32 is stored as fp32.
double bytes_per_element(Dtype dtype);

// A hardware figure and where it comes from (datasheet, paper, measurement).
struct Figure {
  double value = 0;
  std::string source;
};

struct DeviceSpec {
  std::string name;
  DeviceKind kind = DeviceKind::gpu;
  std::string vendor;
  std::map<Dtype, Figure> peak_flops_per_s;  // dense, per dtype the device supports
  Figure memory_bytes;
  Figure memory_bandwidth_bytes_per_s;
  Figure intra_node_link_bandwidth_bytes_per_s;  // per device, per direction
  Figure host_link_bandwidth_bytes_per_s;        // per device, per direction (PCIe to host/NIC)
  Figure intra_node_link_latency_s;
  // Links the intra-node bandwidth is split over (TPU ICI: one per torus neighbour); absent for
  // devices whose fabric is a switch.
  std::optional<Figure> intra_node_link_count;
  Figure power_w;
  std::optional<Figure> price_usd_per_hour;
  Figure compute_efficiency;  // fraction of peak large GEMMs approach (the curve's asymptote)
  // GEMM size, in FLOPs, at which a GEMM reaches half of compute_efficiency: efficiency(F) =
  // compute_efficiency · F / (F + this). Absent: every GEMM runs at compute_efficiency.
  std::optional<Figure> gemm_half_efficiency_flops;
  // Fraction of the intra-node link bandwidth collectives achieve (protocol overhead, measured
  // as nccl-tests bus bandwidth over line rate). Absent: the nominal bandwidth.
  std::optional<Figure> intra_node_link_efficiency;
  Figure memory_efficiency;  // fraction of peak bandwidth reached by streaming kernels
  Figure kernel_launch_overhead_s;
  Figure collective_step_latency_s;

  bool supports(Dtype dtype) const { return peak_flops_per_s.count(dtype) != 0; }
  // Throws std::invalid_argument naming the dtypes the device has when it lacks `dtype`.
  double peak_flops(Dtype dtype) const;
};

}  // namespace scaleplan
