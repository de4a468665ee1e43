// The scaleplan command line: a thin shell over the library.
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/balance_command.hpp"
#include "cli/calibrate_command.hpp"
#include "cli/capacity_command.hpp"
#include "cli/catalog_command.hpp"
#include "cli/execute_command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/output_file.hpp"
#include "cli/plan_command.hpp"
#include "cli/progress.hpp"
#include "cli/run_command.hpp"
#include "cli/shell_docs.hpp"
#include "cli/sweep_command.hpp"
#include "hardware/io/profile_io.hpp"
#include "sim/report/validation.hpp"
#include "version/version.hpp"

namespace {

using namespace scaleplan;

struct ValidateOptions {
  std::vector<std::string> paths;
  CatalogChoice catalog;
  std::string calibration;
  bool json = false;
  ProgressMode progress = ProgressMode::automatic;
  int threads = 0;
  std::string by;
};

int validate_cases(const ValidateOptions& o) {
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  std::optional<NamedProfile> profile;
  if (!o.calibration.empty())
    profile = NamedProfile{load_profile(o.calibration), o.calibration};
  TerminalProgress progress(o.progress);
  const ValidationReport report =
      validate(validation_files(o.paths), catalog, profile ? &*profile : nullptr, progress.sink(),
               o.threads);
  progress.clear();
  std::optional<ValidationGroups> grouped;
  if (auto by = validation_grouping_names.parse(o.by))
    grouped = group_cases(report, *by);
  if (o.json) {
    std::cout << format_json(report, grouped ? &*grouped : nullptr);
  } else {
    std::cout << format_text(report);
    if (grouped)
      std::cout << format_groups_text(*grouped);
  }
  check_standard_output();
  return exit_success;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scaleplan: predict training time, memory and cost of deep-learning clusters"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "scaleplan " + scaleplan_version_text(),
                       "Print the version and the git commit of this build, and exit");

  const auto run_step = add_run_commands(app);

  ValidateOptions validate_options;
  auto* validate_command = app.add_subcommand(
      "validate", "Predict published runs (scenarios with a measured: block) and report the error");
  validate_command
      ->add_option("paths", validate_options.paths,
                   "Scenario files or directories (whose scenarios without a measured: block are "
                   "skipped with a note)")
      ->required();
  validate_command->add_flag("--json", validate_options.json, "Print the table as JSON");
  add_catalog_options(*validate_command, validate_options.catalog);
  validate_command
      ->add_option("--calibration", validate_options.calibration,
                   "Time every case with this calibration profile instead of the catalog (or the "
                   "case's own)")
      ->type_name("FILE");
  add_progress_option(*validate_command, validate_options.progress);
  validate_command
      ->add_option("--threads", validate_options.threads,
                   "Cases predicted at once (default: every core)")
      ->check(CLI::Range(1, 1024));
  validate_command
      ->add_option("--by", validate_options.by,
                   "Also give the MAPE and the worst case of each device, framework or dtype")
      ->check(CLI::IsMember(validation_grouping_names.names()));

  const auto run_catalog = add_catalog_command(app);

  const auto run_calibrate = add_calibrate_commands(app);
  const auto run_plan = add_plan_command(app);
  const auto run_balance = add_balance_command(app);
  const auto run_capacity = add_capacity_command(app);
  const auto run_sweep = add_sweep_command(app);
  const auto run_report = add_report_command(app);
  const auto run_execute = add_execute_commands(app, std::vector<std::string>(argv, argv + argc));

  // Last, so that they describe every command above.
  const auto run_shell_docs = add_shell_docs_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? exit_success : exit_bad_input;
  }
  try {
    if (app.got_subcommand("run") || app.got_subcommand("simulate"))
      return run_step();
    if (app.got_subcommand("calibrate"))
      return run_calibrate();
    if (app.got_subcommand("plan"))
      return run_plan();
    if (app.got_subcommand("balance"))
      return run_balance();
    if (app.got_subcommand("capacity"))
      return run_capacity();
    if (app.got_subcommand("sweep"))
      return run_sweep();
    if (app.got_subcommand("report"))
      return run_report();
    if (app.got_subcommand("execute") || app.got_subcommand("compare"))
      return run_execute();
    if (app.got_subcommand("catalog"))
      return run_catalog();
    if (*validate_command)
      return validate_cases(validate_options);
    if (app.got_subcommand("completion") || app.got_subcommand("man"))
      return run_shell_docs();
  } catch (const InputError& e) {
    std::cerr << e.what() << "\n";
    return exit_bad_input;
  } catch (const std::exception& e) {
    std::cerr << "error: " << printable_text(e.what()) << "\n";
    return exit_internal_error;
  }
  return exit_success;
}
