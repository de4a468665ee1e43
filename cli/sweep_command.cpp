#include "cli/sweep_command.hpp"

#include <chrono>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/catalog_command.hpp"
#include "cli/output_file.hpp"
#include "cli/progress.hpp"
#include "sim/sweep/sweep_output.hpp"
#include "sim/sweep/sweep_run.hpp"

namespace scaleplan {

namespace {

struct SweepCommandOptions {
  std::string sweep;
  std::string output;
  bool resume = false;
  int jobs = 0;
  CatalogChoice catalog;
  ProgressMode progress = ProgressMode::automatic;
};

// A log's progress line at most this often (a batch job's output, a pipe).
constexpr double plain_progress_every_s = 5;

int run_sweep_command(const SweepCommandOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  const sweep::Sweep sweep = sweep::load_sweep(o.sweep, catalog);
  const auto store = sweep::open_results(o.output, sweep, o.resume);
  TerminalProgress terminal(o.progress, stderr, {true, plain_progress_every_s});
  sweep::SweepRunner runner(sweep, catalog);
  sweep::SweepOptions options;
  options.threads = o.jobs;
  options.done = store->done();
  options.progress = terminal.sink();
  const sweep::SweepSummary summary =
      sweep::run_sweep(runner, options, [&](const sweep::SweepRow& row) { store->write(row); });
  store->complete();
  terminal.clear();
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format(
      "sweep {}: {} scenarios, {} run now ({} failed), {} done before; {} rows in {} ({:.1f} s, "
      "{:.3g} scenarios/s, {} clusters built)\n",
      printable_text(sweep.name), summary.scenarios, summary.ran, summary.failed, summary.skipped,
      store->rows(), printable_text(o.output), elapsed_s,
      elapsed_s > 0 ? static_cast<double>(summary.ran) / elapsed_s : 0.0,
      runner.clusters_prepared());
  check_standard_output();
  return 0;
}

}  // namespace

std::function<int()> add_sweep_command(CLI::App& app) {
  auto o = std::make_shared<SweepCommandOptions>();
  auto* command = app.add_subcommand(
      "sweep",
      "Run every scenario of a sweep (a base scenario and axes of values) and write one row per "
      "scenario as it finishes: CSV, JSON lines or SQLite by the extension of -o");
  command->add_option("sweep", o->sweep, "Sweep YAML (docs/sweep-format.md)")->required();
  command
      ->add_option("-o,--output", o->output,
                   "Results file: .csv, .jsonl (JSON lines) or .sqlite; must not exist unless "
                   "--resume")
      ->required()
      ->type_name("FILE");
  command->add_flag("--resume", o->resume,
                    "Continue the sweep that the results file holds: run only the scenarios "
                    "without a row");
  command->add_option("-j,--jobs", o->jobs, "Scenarios run at once (default: every core)")
      ->check(CLI::Range(1, 1024));
  add_catalog_options(*command, o->catalog);
  add_progress_option(*command, o->progress);
  return [o] { return run_sweep_command(*o); };
}

}  // namespace scaleplan
