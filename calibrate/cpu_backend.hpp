// The compute benchmarks on the CPU: Eigen GEMMs and streams, timed with the steady clock. It
// lets the measure → fit → predict loop run where there is no GPU (CI, laptops).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

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

 private:
  // The streams' arrays, kept between trials and sizes (filled once, as large as the largest
  // asked for), each kernel on their first elements, as the executor runs its triads.
  void reserve_streams(std::int64_t elements);
  std::vector<float> a_, b_, c_;
};

// One trial of `body`: `timing.warmup` untimed calls, then `timing.repeats` samples, each
// repeating the body until `timing.min_sample_s` has passed on `clock_s` (calls shorter than the
// clock's overhead are timed in bulk); the fastest sample's seconds per call, over
// timing.core_share when the clock is the thread's CPU time. The fastest: interference (another
// process's slice, its cache misses) only ever lengthens a sample.
template <class Clock, class Body>
double time_trial(const TimingOptions& timing, Clock&& clock_s, Body&& body) {
  for (int i = 0; i < timing.warmup; ++i)
    body();
  double fastest = std::numeric_limits<double>::infinity();
  for (int i = 0; i < std::max(1, timing.repeats); ++i) {
    const double start = clock_s();
    double elapsed_s = 0;
    int calls = 0;
    do {
      body();
      ++calls;
      elapsed_s = clock_s() - start;
    } while (elapsed_s < timing.min_sample_s);
    fastest = std::min(fastest, elapsed_s / calls);
  }
  const bool share = timing.clock == SampleClock::thread_cpu && timing.core_share > 0;
  return share ? fastest / timing.core_share : fastest;
}

// The clocks of a sample: the steady clock, and this thread's CPU time, in seconds.
double steady_clock_s();
double thread_cpu_clock_s();

// The host's name, and the CPU model from /proc/cpuinfo ("unknown CPU" elsewhere).
std::string host_name();
std::string cpu_model_name();

}  // namespace scaleplan
