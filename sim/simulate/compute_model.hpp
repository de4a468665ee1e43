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
  // One line saying where the figures come from, for reports.
  virtual std::string description() const = 0;
};

// Roofline with the catalog's single efficiency figures: the larger of arithmetic time at
// compute_efficiency × peak for the kernel's dtype and memory time at memory_efficiency × peak
// bandwidth, plus the launch overhead.
class RooflineModel final : public ComputeModel {
 public:
  explicit RooflineModel(DeviceSpec device) : device_(std::move(device)) {}
  double kernel_time_s(const Kernel& kernel) const override;
  std::string description() const override;

 private:
  DeviceSpec device_;
};

// Times from a calibration profile (hardware/profile.hpp): GEMM and attention kernels run their
// FLOPs at the profile's efficiency for their shape and dtype (its table interpolated over its
// fitted model);
// other kernels the larger of their arithmetic at the catalog's efficiency and their bytes at the
// profile's streaming bandwidth and latency. Whatever the profile lacks (memory, launch overhead)
// comes from the catalog device. Throws std::invalid_argument for a GEMM in a dtype the profile
// has no fit for.
class ProfiledComputeModel final : public ComputeModel {
 public:
  // `profile_name` (its file) is named in descriptions.
  ProfiledComputeModel(DeviceSpec device, Profile profile, std::string profile_name);
  double kernel_time_s(const Kernel& kernel) const override;
  std::string description() const override;

 private:
  DeviceSpec device_;
  Profile profile_;
  std::string profile_name_;
};

double block_time_s(const ComputeModel& model, const ComputeBlock& block);

}  // namespace scaleplan
