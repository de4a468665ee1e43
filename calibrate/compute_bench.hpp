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

// Which clock a CPU sample is timed with.
enum class SampleClock {
  // The steady clock: what the caller waits, including the time other processes take the core.
  wall,
  // The calling thread's CPU time, over TimingOptions::core_share: what the call costs on the
  // share of a core the executor gives a rank (calibrate/executor/core_share.hpp), whatever else
  // runs. Other processes then lengthen a sample only through the caches and memory they share.
  thread_cpu,
};

struct TimingOptions {
  int warmup = 3;
  // Timed samples per trial; a trial keeps its fastest (the CPU backend) or median (the GPU
  // backend) sample.
  int repeats = 10;
  // A timed sample repeats the call until this much time has passed (a backend that times calls
  // one by one, as the CPU's does): calls shorter than the clock's overhead are timed in bulk.
  double min_sample_s = 20e-6;
  // Trials per measurement, taken in separate passes over the whole sweep so that a burst of
  // interference meets one trial of several measurements rather than every trial of one. The
  // kept time is the median of the `trials` trials that agree best (agreeing_trials); while
  // those disagree by more than `tolerance` (their range over their median), another pass
  // re-measures such measurements, up to `max_trials` trials in all.
  int trials = 1;
  int max_trials = 1;
  double tolerance = 0.03;
  // The CPU backend's clock, and the share of a core a rank computes on (thread_cpu only: the
  // thread's CPU time over the share is the time a rank held to that share takes).
  SampleClock clock = SampleClock::wall;
  double core_share = 1;
};

// What several trials of one measurement agree on: the `window` trials whose range is the
// smallest relative to their median (sorted, consecutive), that median, and that range over it.
// An outlier among more than `window` trials is left out; with exactly `window` trials the
// spread says how far they disagree.
struct TrialAgreement {
  double time_s = 0;
  double spread = 0;  // (largest - smallest) / median of the agreeing trials
  int trials = 0;     // trials taken in all
};
// `trials` not empty; `window` is clamped to 1..trials.size().
TrialAgreement agreeing_trials(std::vector<double> trials, int window);

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

// Where the benchmarks run. Each call is one trial: `warmup` untimed calls, then `repeats` timed
// samples, in seconds per call; run_compute_bench takes the trials and keeps what they agree on.
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

// Runs the sweep, writing progress and skipped dtypes to `log`: options.timing.trials passes
// over every measurement, then more passes over those whose trials still disagree by more than
// the tolerance (up to max_trials). Each measurement records its spread and trials.
MeasurementRun run_compute_bench(ComputeBackend& backend, const ComputeBenchOptions& options,
                                 std::ostream& log);

// The median of `samples` (not empty).
double median_of(std::vector<double> samples);

}  // namespace scaleplan
