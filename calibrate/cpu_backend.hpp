// The compute benchmarks on the CPU: Eigen GEMMs and streams, timed with the steady clock. It
// lets the measure → fit → predict loop run where there is no GPU (CI, laptops).
#pragma once

#include "calibrate/compute_bench.hpp"

namespace scaleplan {

class CpuBackend final : public ComputeBackend {
 public:
  Environment environment() const override;
  std::optional<std::string> unsupported(Dtype dtype) const override;
  double gemm_time_s(Dtype dtype, const GemmDims& dims, const TimingOptions& timing) override;
  double copy_time_s(std::int64_t elements, const TimingOptions& timing) override;
  double triad_time_s(std::int64_t elements, const TimingOptions& timing) override;
  // A 1×1×1 Eigen GEMM: a CPU has no kernel launch, so its fixed cost per call is the library's
  // dispatch.
  double launch_time_s(const TimingOptions& timing) override;
};

// The host's name, and the CPU model from /proc/cpuinfo ("unknown CPU" elsewhere).
std::string host_name();
std::string cpu_model_name();

}  // namespace scaleplan
