// The compute microbenchmarks, independent of where they run: which GEMM shapes to sweep (those
// transformer plans produce, plus a grid), which memory sizes, and the driver that times them on
// a backend (CUDA + cuBLAS in scaleplan-bench-gpu, Eigen on the CPU in scaleplan-bench-cpu) and
// writes one measurement run.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "calibrate/measurements.hpp"

namespace scaleplan {

struct GemmSweepOptions {
  // GEMM and attention shapes of one transformer layer, its output layer and their backward,
  // for these presets (models/transformer.hpp) and tensor-parallel degrees.
  std::vector<std::string> presets{"gpt3-175b", "llama2-7b", "llama3-70b"};
  std::vector<int> tp{1, 2, 4, 8};
  std::int64_t micro_batch = 1;
  bool transformer = true;
  // Every (m, n, k) with each dimension in grid_min, grid_min·factor, ..., up to grid_max, for
  // every batch in grid_batches.
  bool grid = true;
  std::int64_t grid_min = 256;
  std::int64_t grid_max = 16384;
  std::int64_t grid_factor = 4;
  std::vector<std::int64_t> grid_batches{1};
  // Shapes given by the caller (the GEMM and attention shapes of a plan, say).
  std::vector<GemmDims> extra;
  // Shapes above this many FLOPs are left out (a CPU would take minutes on transformer shapes).
  double max_flops = std::numeric_limits<double>::infinity();
};

// Sorted, without duplicates. Throws std::invalid_argument for an unknown preset or a grid that
// does not grow.
std::vector<GemmDims> gemm_sweep(const GemmSweepOptions& options);

struct TimingOptions {
  int warmup = 3;
  int repeats = 10;
  // A timed sample repeats the call until this much time has passed (a backend that times calls
  // one by one, as the CPU's does): calls shorter than the clock's overhead are timed in bulk,
  // and a sample of several scheduler slices (tens of milliseconds) measures the share of a core
  // a process gets where more processes than cores run at once, not a call that ran alone.
  double min_sample_s = 20e-6;
};

struct ComputeBenchOptions {
  GemmSweepOptions sweep;
  std::vector<Dtype> dtypes{Dtype::fp32, Dtype::tf32, Dtype::bf16, Dtype::fp16, Dtype::fp8};
  bool gemm = true;
  bool memory = true;
  bool launch = true;
  // Elements of fp32 per array for copy and triad: memory_min, ·memory_factor, ... memory_max.
  std::int64_t memory_min_elements = 1 << 18;
  std::int64_t memory_max_elements = 1 << 28;
  std::int64_t memory_factor = 4;
  TimingOptions timing;
};

// Where the benchmarks run. Every time is the median of `repeats` timed calls after `warmup`
// untimed ones, in seconds per call.
class ComputeBackend {
 public:
  virtual ~ComputeBackend() = default;
  virtual Environment environment() const = 0;
  // Why `dtype` cannot be measured here, or nullopt when it can.
  virtual std::optional<std::string> unsupported(Dtype dtype) const = 0;
  // Why this one shape cannot be measured (it does not fit in memory), or nullopt.
  virtual std::optional<std::string> cannot_run(Dtype, const GemmDims&) const {
    return std::nullopt;
  }
  virtual double gemm_time_s(Dtype dtype, const GemmDims& dims, const TimingOptions& timing) = 0;
  // a = b over `elements` fp32 values (2 · 4 · elements bytes moved).
  virtual double copy_time_s(std::int64_t elements, const TimingOptions& timing) = 0;
  // a = b + s · c over `elements` fp32 values (3 · 4 · elements bytes moved).
  virtual double triad_time_s(std::int64_t elements, const TimingOptions& timing) = 0;
  // One empty kernel (the backend's smallest unit of work), launched back to back.
  virtual double launch_time_s(const TimingOptions& timing) = 0;
};

// Runs the sweep, writing progress and skipped dtypes to `log`.
MeasurementRun run_compute_bench(ComputeBackend& backend, const ComputeBenchOptions& options,
                                 std::ostream& log);

// The median of `samples` (not empty).
double median_of(std::vector<double> samples);

}  // namespace scaleplan
