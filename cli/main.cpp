// The scaleplan command line: a thin shell over the library.
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/calibrate_command.hpp"
#include "cli/output_file.hpp"
#include "cli/trace_options.hpp"
#include "hardware/io/catalog.hpp"
#include "hardware/io/profile_io.hpp"
#include "sim/plan/plan_io.hpp"
#include "sim/report/prediction.hpp"
#include "sim/report/validation.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/timeline_recorder.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/timeline/chrome_trace.hpp"

namespace {

using namespace scaleplan;

// Exit codes: 0 success, 1 internal failure, 2 bad input.
constexpr int exit_bad_input = 2;

const Catalog& catalog_for(const std::string& path, Catalog& storage) {
  if (path.empty())
    return Catalog::builtin();
  storage = Catalog::load(path);
  return storage;
}

std::vector<std::string> rank_names(const Scenario& s, const std::vector<int>& ranks) {
  std::vector<std::string> names;
  const auto& p = s.job.parallelism;
  for (const int r : ranks) {
    const RankCoordinates c = coordinates_of(r, p);
    names.push_back("rank " + std::to_string(r) + " (pp " + std::to_string(c.pp) + ", dp " +
                    std::to_string(c.dp) + ", tp " + std::to_string(c.tp) + ")");
  }
  return names;
}

struct RunOptions {
  std::string scenario;
  std::string catalog;
  TraceOptions trace;
  std::string dump_plan;
  bool json = false;
  bool links = false;
  bool all_ranks = false;
  std::string network_model = "auto";
};

int run(const RunOptions& o) {
  Catalog storage;
  const Catalog& catalog = catalog_for(o.catalog, storage);
  const Scenario scenario = load_scenario(o.scenario, catalog);
  RunSettings settings;
  settings.ranks = o.all_ranks ? RankScope::all_ranks : RankScope::one_replica;
  // The command line accepts only the table's names (CLI::IsMember below).
  settings.network_model = network_model_names.parse(o.network_model).value();
  const PreparedRun prepared = prepare_run(scenario, catalog, settings);
  if (!o.dump_plan.empty()) {
    // Still worth reading and diffing: written, with a warning.
    if (auto problem = unreadable_yaml(o.dump_plan, plan_yaml_values(prepared.plan), "plan",
                                       "the plan format's reader takes plans of about 240,000 ops"))
      std::cerr << "warning: " << problem->format() << "\n";
    write_output_file(o.dump_plan, [&](std::ostream& out) { write_plan(prepared.plan, out); });
  }
  std::optional<TimelineRecorder> recorder;
  if (!o.trace.path.empty())
    recorder.emplace(prepared.plan, true, trace_selection(o.trace, prepared.plan));
  const Prediction prediction = predict_traced(scenario, prepared, recorder);
  if (recorder) {
    // The links' rates are recorded during the run; the trace shows the busiest, known after it.
    ChromeTraceOptions trace;
    trace.rank_names = rank_names(scenario, recorder->timeline().ranks);
    for (const LinkUsage& l : prediction.busiest_links)
      trace.links.push_back({l.link, l.name});
    write_trace(o.trace, recorder->timeline(), trace);
  }
  if (o.json) {
    std::cout << format_json(prediction);
  } else {
    std::cout << format_text(prediction, o.links);
  }
  check_standard_output();
  return 0;
}

int validate_cases(const std::vector<std::string>& paths, const std::string& catalog_path,
                   const std::string& calibration, bool json) {
  Catalog storage;
  const Catalog& catalog = catalog_for(catalog_path, storage);
  std::optional<NamedProfile> profile;
  if (!calibration.empty())
    profile = NamedProfile{load_profile(calibration), calibration};
  const ValidationReport report =
      validate(validation_files(paths), catalog, profile ? &*profile : nullptr);
  if (json) {
    std::cout << format_json(report);
  } else {
    std::cout << format_text(report);
  }
  check_standard_output();
  return 0;
}

int list_catalog(const std::string& path) {
  Catalog storage;
  const Catalog& catalog = catalog_for(path, storage);
  std::ostringstream text;
  for (const auto& d : catalog.devices()) {
    text << d.name << "  (" << to_string(d.kind) << ", " << d.vendor << ")\n";
    for (const auto& [dtype, figure] : d.peak_flops_per_s) {
      text << "  peak " << to_string(dtype) << ": " << figure.value / 1e12 << " TFLOP/s  ["
           << figure.source << "]\n";
    }
    text << "  memory: " << d.memory_bytes.value / (1u << 30) << " GiB  [" << d.memory_bytes.source
         << "]\n";
    text << "  memory bandwidth: " << d.memory_bandwidth_bytes_per_s.value / 1e9 << " GB/s  ["
         << d.memory_bandwidth_bytes_per_s.source << "]\n";
  }
  // Names and sources come from a catalog file, which may hold terminal escapes.
  std::cout << printable_text(text.str());
  check_standard_output();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scaleplan: predict training time, memory and cost of deep-learning clusters"};
  app.require_subcommand(1);

  RunOptions run_options;
  auto* run_command = app.add_subcommand("run", "Simulate one training step of a scenario");
  run_command->add_option("scenario", run_options.scenario, "Scenario YAML file")->required();
  run_command->add_flag("--json", run_options.json, "Print the prediction as JSON");
  run_command->add_flag("--links", run_options.links,
                        "Also print the busiest links and their utilisation");
  add_trace_options(*run_command, run_options.trace);
  run_command->add_option("--dump-plan", run_options.dump_plan,
                          "Write the per-rank plan (docs/plan-format.md) to this file");
  run_command->add_option("--catalog", run_options.catalog,
                          "Device catalog YAML (default: the built-in catalog)");
  run_command->add_flag("--all-ranks", run_options.all_ranks,
                        "Simulate every rank (default: one data-parallel replica, whose copies "
                        "still load the network)");
  run_command
      ->add_option("--network-model", run_options.network_model,
                   "flows, alpha-beta, or auto: flows unless the step would start more than " +
                       std::to_string(SimulationOptions{}.flow_budget) +
                       ", then alpha-beta "
                       "for the collectives that would start the most")
      ->check(CLI::IsMember(network_model_names.names()));

  std::vector<std::string> validate_paths;
  bool validate_json = false;
  std::string validate_catalog;
  auto* validate_command = app.add_subcommand(
      "validate", "Predict published runs (scenarios with a measured: block) and report the error");
  validate_command->add_option("paths", validate_paths, "Scenario files or directories")
      ->required();
  validate_command->add_flag("--json", validate_json, "Print the table as JSON");
  validate_command->add_option("--catalog", validate_catalog, "Device catalog YAML");
  std::string validate_calibration;
  validate_command->add_option(
      "--calibration", validate_calibration,
      "Time every case with this calibration profile instead of the catalog (or the case's own)");

  std::string catalog_path;
  auto* catalog_command = app.add_subcommand("catalog", "List the devices in the catalog");
  catalog_command->add_option("--catalog", catalog_path, "Device catalog YAML");

  const auto run_calibrate = add_calibrate_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : exit_bad_input;
  }
  try {
    if (*run_command)
      return run(run_options);
    if (app.got_subcommand("calibrate"))
      return run_calibrate();
    if (*catalog_command)
      return list_catalog(catalog_path);
    if (*validate_command)
      return validate_cases(validate_paths, validate_catalog, validate_calibration, validate_json);
  } catch (const InputError& e) {
    std::cerr << e.what() << "\n";
    return exit_bad_input;
  } catch (const std::exception& e) {
    std::cerr << "error: " << printable_text(e.what()) << "\n";
    return 1;
  }
  return 0;
}
