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
// The library a fused attention kernel comes from: the catalog's attention_efficiency is
// cuDNN's, and a device may give another library's apart (on H100 FlashAttention-2 reaches some
// 0.6 of cuDNN's: FlashAttention-3 paper, Shah et al. 2024, figures 5 and 6). flash-attention-
// triton is Tri Dao's FlashAttention in Triton (flash_attn/flash_attn_triton.py), which
// llm-foundry's attn_impl: triton runs.
enum class AttentionLibrary { cudnn, flash_attention_2, flash_attention_triton };

inline constexpr EnumNames<DeviceKind, 4> device_kind_names{{{
    {DeviceKind::gpu, "gpu"},
    {DeviceKind::tpu, "tpu"},
    {DeviceKind::fpga, "fpga"},
    {DeviceKind::cpu, "cpu"},
}}};
inline constexpr EnumNames<AttentionLibrary, 3> attention_library_names{{{
    {AttentionLibrary::cudnn, "cudnn"},
    {AttentionLibrary::flash_attention_2, "flash-attention-2"},
    {AttentionLibrary::flash_attention_triton, "flash-attention-triton"},
}}};
inline std::string_view to_string(AttentionLibrary library) {
  return attention_library_names.name(library);
}
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

// How the device's GEMM library divides a GEMM among its processors (NVIDIA: CTA tiles on SMs):
// C is cut into tiles of tile_m × tile_n, one tile per processor at a time, so a GEMM runs in
// waves of sm_count tiles. The library picks among tiles whose sides are powers of two from
// min_tile to the largest (max_tile_m × max_tile_n, no larger in area) the one that wastes least:
// wave_efficiency (sim/simulate/compute_model.hpp). Every figure carries its source.
struct GemmTiling {
  Figure sm_count;
  Figure max_tile_m;
  Figure max_tile_n;
  Figure min_tile;
  // The SMs an NCCL collective's kernel holds while it runs, a thread block per channel that a
  // GEMM's tiles cannot share: the compute beside it runs on the rest. Absent: no slowdown.
  std::optional<Figure> collective_kernel_sms;
};

// What one library's fused attention kernels reach: `efficiency` of the dtype's peak on long
// sequences, less on short ones, where each query row's fixed work (its softmax rescaling, the
// causal diagonal's part-masked tiles) weighs more: efficiency · keys / (keys +
// half_efficiency_keys), keys per query counted as the sequence the kernel attends over (the
// published benchmarks' x axis). Without half_efficiency_keys the figure holds at every length.
struct AttentionFigures {
  Figure efficiency;
  std::optional<Figure> half_efficiency_keys;

  // keys ≤ 0 (a kernel without its shape) reads the long-sequence figure.
  double efficiency_at(double keys) const;
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
  // Network ports on the device itself (Intel Gaudi's RoCE), per device, per direction over the
  // ports that leave the node: its scale-out traffic reaches them without the host link. Absent:
  // the NICs sit on PCIe, behind host_link_bandwidth.
  std::optional<Figure> on_chip_nic_bandwidth_bytes_per_s;
  // TPU hosts: the data-centre network (DCN) bandwidth of one host (a node), per direction, which
  // joins slices (pods) of a multi-slice cluster; absent where the catalog has no figure.
  std::optional<Figure> dcn_bandwidth_per_host_bytes_per_s;
  Figure power_w;
  std::optional<Figure> price_usd_per_hour;  // rented: cloud price per device-hour
  // Bought: the price of one device (list or street price; "estimate:" where none is public).
  std::optional<Figure> purchase_price_usd;
  Figure compute_efficiency;  // fraction of peak large GEMMs approach (the curve's asymptote)
  // The same fraction for GEMMs of one dtype where it differs from compute_efficiency (H100's fp8
  // GEMMs reach less of the fp8 peak than bf16 GEMMs of the bf16 peak). Only dtypes the device
  // has a peak for.
  std::map<Dtype, Figure> compute_efficiency_by_dtype;
  // What the fused attention kernels (FlashAttention-style: QK^T, softmax and PV in one kernel)
  // of each library reach, in place of compute_efficiency_of for attention kernels. cuDNN's
  // stands for a library the device gives no figure of; with neither, attention runs as a GEMM
  // of its FLOPs.
  std::map<AttentionLibrary, AttentionFigures> attention;
  // The share of the figures above (compute_efficiency, compute_efficiency_by_dtype and
  // attention's efficiencies, single-kernel benchmark figures) that kernels sustain inside training
  // steps, fitted to measured steps where a benchmark is all the catalog has (`scaleplan
  // calibrate fit-catalog`). Absent: those figures are already what steps sustain.
  std::optional<Figure> sustained_share;
  // The GEMM library's tiles and processors; absent: no tile or wave quantisation.
  std::optional<GemmTiling> gemm_tiling;
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
  // compute_efficiency_by_dtype's figure for `dtype`, else compute_efficiency.
  const Figure& compute_efficiency_of(Dtype dtype) const;
  // The fused attention figures of kernels from `library`: its own where the catalog gives them,
  // else cuDNN's; null with neither.
  const AttentionFigures* attention_of(AttentionLibrary library) const;
  // sustained_share's value, 1 without it.
  double sustained_share_value() const { return sustained_share ? sustained_share->value : 1.0; }
  // The size at which a GEMM in `dtype` reaches half its efficiency: gemm_half_efficiency_flops
  // (stated for the 16-bit rate: bf16, else fp16) scaled by the dtype's peak over that rate, as a
  // faster unit needs proportionally more work to amortise the same fixed time. Absent with
  // gemm_half_efficiency_flops.
  std::optional<double> gemm_half_efficiency_flops_of(Dtype dtype) const;
};

}  // namespace scaleplan
