// How long a kernel takes on a device.
#pragma once

#include <string>

#include "hardware/device_spec.hpp"
#include "models/kernel.hpp"
#include "sim/plan.hpp"

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

double block_time_s(const ComputeModel& model, const ComputeBlock& block);

}  // namespace scaleplan
