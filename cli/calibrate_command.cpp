#include "cli/calibrate_command.hpp"

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "calibrate/compare.hpp"
#include "calibrate/fit.hpp"
#include "calibrate/nccl_tests_import.hpp"
#include "cli/catalog_command.hpp"
#include "cli/option_checks.hpp"
#include "cli/output_file.hpp"
#include "cli/progress.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "hardware/io/catalog.hpp"
#include "hardware/io/profile_io.hpp"
#include "sim/report/validation.hpp"

namespace scaleplan {

namespace {

struct CalibrateOptions {
  CLI::App* import = nullptr;
  CLI::App* fit = nullptr;
  CLI::App* compare = nullptr;
  CLI::App* fit_steps = nullptr;
  CLI::App* fit_catalog = nullptr;

  std::vector<std::string> inputs;  // import: nccl-tests outputs; fit: measurements
  std::string output;
  std::string collective;
  int ranks = 0;
  int nodes = 0;
  std::string algorithm = "nccl";

  std::string device;
  CatalogChoice catalog;
  double radius_octaves = 2;
  ProgressMode progress = ProgressMode::automatic;

  std::string profile;
  std::string measurements;
  // fit-steps, fit-catalog: scenarios with measured steps, or folders of them, predicted on
  // `threads` threads
  std::vector<std::string> runs;
  int threads = 0;
};

void add_case_threads_option(CLI::App& command, int& threads) {
  command
      .add_option("--threads", threads, "Cases predicted at once in each try (default: every core)")
      ->check(CLI::Range(1, 1024));
}

int run_import(const CalibrateOptions& o) {
  NcclTestsImportOptions options;
  if (!o.collective.empty())
    options.collective = collective_op_names.parse(o.collective);
  if (o.ranks > 0)
    options.ranks = o.ranks;
  if (o.nodes > 0)
    options.nodes = o.nodes;
  options.algorithm = o.algorithm;
  Measurements measurements;
  for (const std::string& file : o.inputs) {
    NcclTestsImport imported = import_nccl_tests_file(file, options);
    for (const std::string& warning : imported.warnings)
      std::cerr << "warning: " << printable_text(warning) << "\n";
    const auto& rows = imported.run.collectives;
    const CollectiveMeasurement& first = rows.front();
    std::cout << printable_text(file) << ": " << rows.size() / 2
              << " rows (out-of-place and in-place) of " << to_string(first.op) << " on "
              << first.ranks << " ranks over " << first.nodes
              << (first.nodes == 1 ? " node" : " nodes") << ", " << yaml_number(first.bytes)
              << " to " << yaml_number(rows.back().bytes) << " bytes\n";
    measurements.runs.push_back(std::move(imported.run));
  }
  const std::string text = write_measurements(measurements);
  // calibrate fit reads what import writes: refused here rather than there. A value takes a
  // byte at least, so a small file needs no count.
  if (text.size() > max_yaml_nodes) {
    if (auto problem = unreadable_yaml(o.output, yaml_value_count(text, o.output), "measurements",
                                       "import fewer rows or files into each measurements file"))
      throw InputError({*problem});
  }
  write_output_file(o.output, text);
  std::cout << "wrote " << o.output << "\n";
  check_standard_output();
  return 0;
}

int run_fit(const CalibrateOptions& o) {
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  FitOptions options;
  options.interpolation_radius_octaves = o.radius_octaves;
  if (!o.device.empty()) {
    options.device = catalog.find(o.device);
    if (!options.device)
      throw InputError({{{"--device", 0, 0}, "", unknown_device_message(catalog, o.device)}});
  }
  std::vector<Measurements> inputs;
  bool empty = true;
  for (const std::string& file : o.inputs) {
    inputs.push_back(load_measurements(file));
    for (const MeasurementRun& run : inputs.back().runs) {
      empty = empty && run.gemm.empty() && run.memory.empty() && run.launch.empty() &&
              run.collectives.empty();
    }
  }
  if (empty)
    throw InputError({{{o.inputs.front(), 0, 0}, "", "the measurements hold nothing to fit"}});
  const FitResult result = fit_profile(inputs, options);
  write_output_file(o.output, write_profile(result.profile));
  std::cout << format_fit_report(result) << "wrote " << o.output << "\n";
  check_standard_output();
  return 0;
}

int run_compare(const CalibrateOptions& o) {
  const Profile profile = load_profile(o.profile);
  const Measurements measurements = load_measurements(o.measurements);
  std::cout << format_comparison(compare_profile(profile, measurements));
  check_standard_output();
  return 0;
}

int run_fit_steps(const CalibrateOptions& o) {
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  const NamedProfile calibration{load_profile(o.profile), o.profile};
  const std::vector<ValidationFile> files = validation_files(o.runs);
  TerminalProgress progress(o.progress);
  const SustainedFractionFit fit =
      fit_sustained_gemm_fraction(files, catalog, calibration, progress.sink(), o.threads);
  progress.clear();
  Profile fitted = calibration.profile;
  std::string cases;
  for (const ValidationCase& c : fit.before.cases)
    cases += (cases.empty() ? "" : ", ") + c.file;
  fitted.sustained_gemm_fraction = Figure{
      fit.fraction,
      "fitted by scaleplan calibrate fit-steps to " + std::to_string(fit.before.cases.size()) +
          " measured steps (" + cases + "): MAPE " +
          fmt::format("{:.2f} %", fit.before.mean_absolute_percentage_error) + " without it, " +
          fmt::format("{:.2f} %", fit.after.mean_absolute_percentage_error) + " with it"};
  write_output_file(o.output, write_profile(fitted));
  std::cout << "without a sustained fraction:\n"
            << format_text(fit.before) << "\nsustained GEMM fraction "
            << fmt::format("{:.3f}", fit.fraction) << ":\n"
            << format_text(fit.after) << "wrote " << o.output << "\n";
  check_standard_output();
  return 0;
}

int run_fit_catalog(const CalibrateOptions& o) {
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  const std::vector<ValidationFile> files = validation_files(o.runs);
  TerminalProgress progress(o.progress);
  const SustainedFractionFit fit =
      fit_catalog_sustained_share(files, catalog, progress.sink(), o.threads);
  progress.clear();
  std::string cases;
  for (const ValidationCase& c : fit.before.cases)
    cases += (cases.empty() ? "" : ", ") + c.file;
  std::cout << "with the catalog's sustained share:\n"
            << format_text(fit.before) << "\nsustained share "
            << fmt::format("{:.3f}", fit.fraction) << ":\n"
            << format_text(fit.after)
            << fmt::format(
                   "\nfor the catalog: sustained_share: {{value: {:.3f}, source: \"fitted by "
                   "scaleplan calibrate fit-catalog to {} measured steps ({}): MAPE {:.2f} "
                   "% with the share before, {:.2f} % with it\"}}\n",
                   fit.fraction, fit.before.cases.size(), cases,
                   fit.before.mean_absolute_percentage_error,
                   fit.after.mean_absolute_percentage_error);
  check_standard_output();
  return 0;
}

}  // namespace

std::function<int()> add_calibrate_commands(CLI::App& app) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* calibrate =
      app.add_subcommand("calibrate", "Turn measurements of real hardware into a profile");
  calibrate->require_subcommand(1);

  o->import = calibrate->add_subcommand(
      "import", "Convert nccl-tests output (all_reduce_perf and friends) into measurements");
  o->import->add_option("files", o->inputs, "nccl-tests output files")
      ->required()
      ->check(CLI::ExistingFile);
  o->import->add_option("-o,--output", o->output, "Measurements YAML to write")
      ->required()
      ->type_name("FILE");
  o->import
      ->add_option("--collective", o->collective,
                   "The collective measured (default: from the binary name in the output)")
      ->check(CLI::IsMember(collective_op_names.names()));
  o->import->add_option("--ranks", o->ranks, "Ranks, when the output has no '# Using devices'")
      ->check(CLI::Range(2, max_collective_ranks));
  o->import->add_option("--nodes", o->nodes, "Nodes, with --ranks (default 1)")
      ->check(CLI::Range(1, max_collective_ranks));
  o->import->add_option("--algorithm", o->algorithm,
                        "NCCL algorithm the run used (default: nccl, NCCL's own choice)");

  o->fit = calibrate->add_subcommand("fit",
                                     "Fit measurements into a profile and print the fit "
                                     "quality");
  o->fit->add_option("measurements", o->inputs, "Measurements YAML files")->required();
  o->fit->add_option("-o,--output", o->output, "Profile YAML to write")
      ->required()
      ->type_name("FILE");
  o->fit
      ->add_option("--device", o->device,
                   "Catalog device the profile refines (its peaks become the reference)")
      ->type_name("DEVICE");
  add_catalog_options(*o->fit, o->catalog);
  o->fit
      ->add_option("--radius", o->radius_octaves,
                   "GEMM table interpolation radius in octaves (default 2)")
      ->check(finite_number & CLI::Range(0.01, 64.0));

  o->compare = calibrate->add_subcommand(
      "compare", "Print predicted against measured for every measured point");
  o->compare->add_option("profile", o->profile, "Profile YAML")->required();
  o->compare->add_option("measurements", o->measurements, "Measurements YAML")->required();

  o->fit_steps = calibrate->add_subcommand(
      "fit-steps",
      "Fit the share of its measured GEMM throughput a profile's training steps sustain to "
      "measured steps (scenarios with a measured: block), and print the error before and after");
  o->fit_steps->add_option("profile", o->profile, "Profile YAML")
      ->required()
      ->check(CLI::ExistingFile);
  o->fit_steps->add_option("runs", o->runs, "Scenario files or directories with measured steps")
      ->required();
  o->fit_steps->add_option("-o,--output", o->output, "Profile YAML to write")
      ->required()
      ->type_name("FILE");
  add_catalog_options(*o->fit_steps, o->catalog);
  add_progress_option(*o->fit_steps, o->progress);
  add_case_threads_option(*o->fit_steps, o->threads);

  o->fit_catalog = calibrate->add_subcommand(
      "fit-catalog",
      "Fit the share of the catalog's single-kernel tensor-core figures that training steps "
      "sustain (the cases' devices' sustained_share) to measured steps, and print the error "
      "before and after");
  o->fit_catalog->add_option("runs", o->runs, "Scenario files or directories with measured steps")
      ->required();
  add_catalog_options(*o->fit_catalog, o->catalog);
  add_progress_option(*o->fit_catalog, o->progress);
  add_case_threads_option(*o->fit_catalog, o->threads);

  return [o]() -> int {
    if (*o->import)
      return run_import(*o);
    if (*o->fit)
      return run_fit(*o);
    if (*o->fit_steps)
      return run_fit_steps(*o);
    if (*o->fit_catalog)
      return run_fit_catalog(*o);
    return run_compare(*o);
  };
}

}  // namespace scaleplan
