// How long a kernel takes on a device.
#pragma once

#include <string>

#include "hardware/device_spec.hpp"
#include "hardware/profile.hpp"
#include "models/kernel.hpp"
#include "sim/plan/plan.hpp"

namespace scaleplan {

class ComputeModel {
 public:
  virtual ~ComputeModel() = default;
  virtual double kernel_time_s(const Kernel& kernel) const = 0;
  // One line saying where the figures come from, for reports on a job whose GEMMs run in
  // `dtype` (training.dtype).
  virtual std::string description(Dtype dtype) const = 0;
  // Where the figure of a fused attention kernel of `library` in `dtype` (the training dtype's
  // 16-bit type under fp8) comes from, for reports on jobs that run one; empty where the model
  // has nothing to say beyond description().
  virtual std::string attention_description(AttentionLibrary, Dtype) const { return {}; }
};

// The share of the tile slots a GEMM of `shape` keeps busy on a device with `tiling`: C cut into
// tiles (tile quantisation: a partial tile costs a whole one), the tiles run in waves of
// sm_count (wave quantisation: the last wave leaves processors idle), the library choosing the
// tile that wastes least among those of power-of-two sides from min_tile (or the side's own
// extent rounded up to a power of two, where that is less) up to the largest tile's area. A GEMM
// whose tiles fill less than one wave has its reduction split (split-K) into up to as many slices
// as fill the wave, each at least min_tile deep. 1 when every tile is full and every wave is whole;
// in (0, 1] always. O(log² tile · log sm_count) time.
double gemm_wave_efficiency(const GemmTiling& tiling, const GemmShape& shape);

// The catalog's efficiency for a kernel's arithmetic: compute_efficiency_of(dtype) (fused
// attention kernels: their library's attention figure at their keys per query, where the device
// has one; materialised attention's products run as GEMMs) times the device's sustained_share,
// and for GEMM and attention kernels the size curve F / (F + gemm_half_efficiency_flops_of(dtype))
// on top where the device has one, and for GEMM kernels gemm_wave_efficiency where it has a tiling.
// (Attention kernels are left out of the tiling: a fused attention kernel is not one GEMM of the
// shape it is named by.)
double catalog_compute_efficiency(const DeviceSpec& device, const Kernel& kernel);

// Roofline with the catalog's single efficiency figures: the larger of arithmetic time at
// compute_efficiency × peak for the kernel's dtype and memory time at memory_efficiency × peak
// bandwidth, plus the launch overhead.
class RooflineModel final : public ComputeModel {
 public:
  explicit RooflineModel(DeviceSpec device) : device_(std::move(device)) {}
  double kernel_time_s(const Kernel& kernel) const override;
  std::string description(Dtype dtype) const override;
  std::string attention_description(AttentionLibrary library, Dtype dtype) const override;

 private:
  DeviceSpec device_;
};

// Times from a calibration profile (hardware/profile.hpp): GEMM and attention kernels run their
// FLOPs at the profile's efficiency for their shape and dtype (its table interpolated over its
// fitted model); other kernels the larger of their arithmetic at the catalog's efficiency and
// their bytes at the profile's streaming bandwidth and latency. Whatever the profile lacks comes
// from the catalog device: GEMMs in a dtype it has no fit for (a profile fitted from nccl-tests
// alone has none) run at the catalog's GEMM curve, as in RooflineModel; memory and launch
// overhead are the catalog's where it measured none. The description says which is which.
class ProfiledComputeModel final : public ComputeModel {
 public:
  // `profile_name` (its file) is named in descriptions.
  ProfiledComputeModel(DeviceSpec device, Profile profile, std::string profile_name);
  double kernel_time_s(const Kernel& kernel) const override;
  std::string description(Dtype dtype) const override;
  std::string attention_description(AttentionLibrary library, Dtype dtype) const override;

 private:
  DeviceSpec device_;
  Profile profile_;
  std::string profile_name_;
};

double block_time_s(const ComputeModel& model, const ComputeBlock& block);

}  // namespace scaleplan
