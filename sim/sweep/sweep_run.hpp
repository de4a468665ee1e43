// Running a sweep's scenarios: each is the base scenario with its axes' values set, read by the
// scenario reader and predicted (predict in sim/report/prediction.hpp). What repeats between
// scenarios is built once and shared by the threads: the base tree, the axes' values, and each
// distinct cluster's network and compute model. A scenario that fails (an invalid plan, a
// simulation limit) is a row with its error, never the end of the sweep.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hardware/input/progress.hpp"
#include "hardware/io/catalog.hpp"
#include "sim/report/prediction.hpp"
#include "sim/sweep/sweep_spec.hpp"

namespace scaleplan::sweep {

// What one scenario gave: its metrics, or the error that stopped it (error set, metrics absent).
struct SweepRow {
  std::size_t index = 0;            // in the sweep's order (Sweep::values_of)
  std::vector<std::string> values;  // each axis's value
  std::optional<std::string> error;
  // Resolved by the scenario reader.
  std::string device;
  int devices = 0;
  int dp = 0;
  int microbatches = 0;
  double step_time_s = 0;
  double tokens_per_s = 0;
  double model_tflops_per_device = 0;
  double mfu = 0;
  double peak_memory_bytes = 0;  // the rank of highest peak
  double memory_capacity_bytes = 0;
  bool fits = false;
  double compute_s = 0;  // of the rank that finishes last
  double exposed_comm_s = 0;
  double bubble_s = 0;
  // Every device at its catalog power (no node overhead, PUE 1); absent where the catalog has no
  // power for the device.
  std::optional<double> power_w;
  std::optional<double> energy_per_step_j;
  // Rented at the catalog's price per device-hour, where it has one.
  std::optional<double> usd_per_hour;
  std::optional<double> usd_per_step;

  bool ok() const { return !error.has_value(); }
};

// The number of distinct clusters whose networks are kept ready at once; past it the oldest is
// dropped (and rebuilt if a later scenario needs it). A 1,024-GPU fat-tree takes a few MB.
inline constexpr std::size_t cluster_cache_size = 64;

// Runs the scenarios of one sweep; thread-safe: run() may be called from any number of threads,
// each with its own Workspace.
class SweepRunner {
 public:
  class Workspace;
  struct WorkspaceDeleter {
    void operator()(Workspace* w) const;
  };
  using WorkspacePtr = std::unique_ptr<Workspace, WorkspaceDeleter>;

  SweepRunner(const Sweep& sweep, const Catalog& catalog, RunSettings settings = {});
  ~SweepRunner();
  SweepRunner(const SweepRunner&) = delete;
  SweepRunner& operator=(const SweepRunner&) = delete;

  const Sweep& sweep() const { return sweep_; }
  // What one thread needs of its own (copies of the YAML trees, which are not shared between
  // threads).
  WorkspacePtr workspace() const;
  // Scenario `index` (< sweep().size()) as the scenario reader reads it: the base with the axes'
  // values set. Throws InputError for a scenario the rules refuse.
  Scenario scenario(std::size_t index, Workspace& workspace) const;
  // Scenario `index` (< sweep().size()), predicted. Throws nothing the scenario causes.
  SweepRow run(std::size_t index, Workspace& workspace) const;
  // How many distinct clusters have been prepared so far (networks built).
  std::size_t clusters_prepared() const;

 private:
  struct Cache;
  const Sweep& sweep_;
  const Catalog& catalog_;
  RunSettings settings_;
  std::unique_ptr<Cache> cache_;
};

struct SweepOptions {
  int threads = 0;  // 0: every core
  // Scenarios already done (from a resumed results file), by index; shorter than the sweep means
  // the rest are not done.
  std::vector<bool> done;
  ProgressSink* progress = nullptr;  // "sweep", "scenarios"; failures counted
  std::function<bool()> stop;        // checked between scenarios; empty: never
};

struct SweepSummary {
  std::size_t scenarios = 0;  // in the sweep
  std::size_t skipped = 0;    // done before (resumed)
  std::size_t ran = 0;
  std::size_t failed = 0;  // of those that ran
  bool stopped = false;
};

// The scenarios of `sweep` that `done` (as SweepOptions::done) does not mark, in order.
std::vector<std::size_t> pending_scenarios(const Sweep& sweep, const std::vector<bool>& done);

// Runs every scenario of `runner`'s sweep not yet done on `options.threads` threads, handing each
// row to `write` as it finishes: one call at a time, in the order they finish. An exception from
// `write` stops the sweep and is rethrown.
SweepSummary run_sweep(const SweepRunner& runner, const SweepOptions& options,
                       const std::function<void(const SweepRow&)>& write);

}  // namespace scaleplan::sweep
