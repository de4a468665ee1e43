#include "cli/sweep_command.hpp"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "cli/catalog_command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/output_file.hpp"
#include "cli/progress.hpp"
#include "sim/sweep/sweep_output.hpp"
#include "sim/sweep/sweep_run.hpp"
#include "sim/sweep/sweep_summary.hpp"
#ifdef SCALEPLAN_SWEEP_MPI
#include "sim/sweep/sweep_mpi.hpp"
#endif

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

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void print_summary(const sweep::Sweep& sweep, const sweep::SweepSummary& summary,
                   const sweep::ResultStore& store, const std::string& output, double elapsed_s,
                   const std::string& where) {
  std::cout << fmt::format(
      "sweep {}: {} scenarios, {} run now ({} failed), {} done before; {} rows in {} ({:.1f} s, "
      "{:.3g} scenarios/s{})\n",
      printable_text(sweep.name), summary.scenarios, summary.ran, summary.failed, summary.skipped,
      store.rows(), printable_text(output), elapsed_s,
      elapsed_s > 0 ? static_cast<double>(summary.ran) / elapsed_s : 0.0, where);
  if (summary.failed > 0) {
    std::cout << fmt::format("`scaleplan report {}` lists why {} failed\n", printable_text(output),
                             summary.failed == 1 ? "it" : "they");
  }
  check_standard_output();
}

// A sweep none of whose scenarios ran is a mistake in the sweep (an axis value of the wrong
// type, a base scenario that does not load): scripts see it in the exit status.
int sweep_exit_code(const sweep::SweepSummary& summary) {
  if (summary.ran == 0 || summary.failed < summary.ran)
    return exit_success;
  std::cerr << "error: every scenario of the sweep failed\n";
  return exit_bad_input;
}

#ifdef SCALEPLAN_SWEEP_MPI
// Under mpirun: every rank reads the sweep; rank 0 opens the results, hands out scenarios and
// writes the rows; the others run them. Only rank 0 prints. An error on any rank stops them all
// before the work starts (rank 0 reports its own, or that another rank failed).
int run_across_ranks(const SweepCommandOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const MpiSession session;
  const bool coordinator = session.rank() == 0;
  std::ostream quiet(nullptr);
  std::optional<Catalog> catalog;
  std::optional<sweep::Sweep> sweep;
  std::unique_ptr<sweep::ResultStore> store;
  std::exception_ptr error;
  const auto agree = [&](const char* what) {
    if (session.all(!error))
      return;
    if (coordinator && error)
      std::rethrow_exception(error);
    if (coordinator)
      throw std::runtime_error(
          fmt::format("another rank could not {}; every rank must be able to "
                      "read the sweep file and the catalog",
                      what));
    throw std::runtime_error("stopped with rank 0");
  };
  try {
    catalog.emplace(load_catalog(o.catalog, coordinator ? std::cerr : quiet));
    sweep.emplace(sweep::load_sweep(o.sweep, *catalog));
  } catch (...) {
    error = std::current_exception();
  }
  agree("read the sweep");
  try {
    if (coordinator)
      store = sweep::open_results(o.output, *sweep, o.resume);
  } catch (...) {
    error = std::current_exception();
  }
  agree("open the results");
  TerminalProgress terminal(coordinator ? o.progress : ProgressMode::never, stderr,
                            {true, plain_progress_every_s});
  sweep::SweepRunner runner(*sweep, *catalog);
  sweep::SweepOptions options;
  options.threads = o.jobs;
  if (coordinator)
    options.done = store->done();
  options.progress = terminal.sink();
  sweep::SweepSummary summary;
  try {
    summary = sweep::run_sweep_mpi(session, runner, store.get(), options);
    if (coordinator)
      store->complete();
  } catch (const std::exception& e) {
    // The other ranks wait for this one: end them all (the rows written stay; --resume).
    terminal.clear();
    std::cerr << "error: rank " << session.rank() << ": " << printable_text(e.what()) << "\n";
    session.abort(exit_internal_error);
  }
  if (!coordinator)
    return 0;
  terminal.clear();
  print_summary(
      *sweep, summary, *store, o.output, seconds_since(start),
      fmt::format(", {} ranks: rank 0 writing, {} running", session.size(), session.size() - 1));
  return sweep_exit_code(summary);
}
#endif

int run_sweep_command(const SweepCommandOptions& o) {
#ifdef SCALEPLAN_SWEEP_MPI
  if (launched_by_mpi())
    return run_across_ranks(o);
#endif
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
  print_summary(
      sweep, summary, *store, o.output, seconds_since(start),
      ", " + counted(static_cast<std::int64_t>(runner.clusters_prepared()), "cluster") + " built");
  return sweep_exit_code(summary);
}

struct ReportOptions {
  std::string results;
  std::string directory;
  bool plots = true;
};

// scaleplan-report-plots beside this program draws the plots (gui/report, with Qt); returns only
// when it is not there (a build without Qt) or cannot be started.
int hand_over_plots(const ReportOptions& o) {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  const std::string plots = (self.parent_path() / "scaleplan-report-plots").string();
  if (!error && ::access(plots.c_str(), X_OK) == 0) {
    std::cout.flush();
    std::string results = o.results, directory = o.directory;
    char* args[] = {const_cast<char*>(plots.c_str()), results.data(), directory.data(), nullptr};
    ::execv(plots.c_str(), args);
  }
  std::cerr << "note: no plots: scaleplan-report-plots, which draws them with Qt 6 (Widgets, "
               "Charts, Svg), is not beside this scaleplan; build scaleplan where Qt 6 is "
               "installed (scripts/deps, SCALEPLAN_BUILD_GUI=ON) for SVG and PNG plots beside "
               "summary.txt\n";
  return 0;
}

int run_report(const ReportOptions& o) {
  const sweep::ResultTable table = sweep::read_results(o.results);
  const std::string summary = sweep::format_summary(table);
  std::cout << summary;
  if (!o.directory.empty()) {
    std::filesystem::create_directories(o.directory);
    write_output_file((std::filesystem::path(o.directory) / "summary.txt").string(), summary);
  }
  check_standard_output();
  if (!o.directory.empty() && o.plots)
    return hand_over_plots(o);
  return 0;
}

}  // namespace

std::function<int()> add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  auto* command = app.add_subcommand(
      "report",
      "Summarise a sweep's results: the fastest scenario that fits, the fastest for each value of "
      "each axis, and how much step time moves with each axis; with -o, also plot them");
  command->add_option("results", o->results, "Results of scaleplan sweep: .csv, .jsonl or .sqlite")
      ->required();
  command
      ->add_option("-o,--output", o->directory,
                   "Also write summary.txt into this folder, and the plots as SVG and PNG (step "
                   "time, throughput, MFU and cost against each axis, step time against cost with "
                   "its Pareto front, a heat map of two axes; needs the build with Qt 6)")
      ->type_name("DIR");
  command->add_flag("!--no-plots", o->plots, "With -o, write summary.txt only");
  return [o] { return run_report(*o); };
}

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
