#include "cli/balance_command.hpp"

#include <iostream>
#include <memory>
#include <string>

#include "cli/catalog_command.hpp"
#include "cli/output_file.hpp"
#include "hardware/io/profile_io.hpp"
#include "sim/report/stage_split.hpp"
#include "sim/scenario/scenario.hpp"

namespace scaleplan {

namespace {

struct BalanceOptions {
  std::string scenario;
  CatalogChoice catalog;
  std::string calibration;
  bool json = false;
  int max_simulations = 40;
};

// The scenario's location of a parallelism key, for the errors of a split that cannot be set.
[[noreturn]] void bad_parallelism(const Scenario& s, const std::string& key,
                                  const std::string& message) {
  const auto found = s.locations.find("parallelism");
  const SourceLocation where =
      found != s.locations.end() ? found->second : SourceLocation{s.file, 0, 0};
  throw InputError({{where, "parallelism." + key, message}});
}

int run_balance(const BalanceOptions& o) {
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  Scenario scenario = load_scenario(o.scenario, catalog);
  if (!o.calibration.empty())
    use_calibration(scenario, load_profile(o.calibration), o.calibration, {o.scenario, 0, 0});
  const ParallelismSpec& p = scenario.job.parallelism;
  if (p.pp < 2) {
    bad_parallelism(scenario, "pp",
                    "one pipeline stage has no split to balance; use pp of 2 or more");
  }
  if (p.schedule == PipelineSchedule::interleaved_1f1b) {
    bad_parallelism(scenario, "schedule",
                    "stage_layers does not apply to interleaved stages; use gpipe or 1f1b");
  }
  const ClusterNetwork network = prepare_network(scenario, catalog);
  const Profile* profile = scenario.profile ? &*scenario.profile : nullptr;
  const auto compute =
      make_compute_model(scenario.cluster.device, profile, scenario.calibration.value_or(""));
  const StageSplitProposal proposal = propose_stage_split(
      {scenario.cluster, scenario.job, *compute, network, run_settings(scenario)},
      o.max_simulations);
  std::cout << (o.json ? format_stage_split_json(proposal, scenario.name)
                       : format_stage_split_text(proposal, scenario.name, scenario.cluster,
                                                 scenario.job.parallelism));
  check_standard_output();
  return 0;
}

}  // namespace

std::function<int()> add_balance_command(CLI::App& app) {
  auto o = std::make_shared<BalanceOptions>();
  auto* balance = app.add_subcommand(
      "balance",
      "Propose the pipeline split (parallelism.stage_layers) whose simulated step is shortest");
  balance->add_option("scenario", o->scenario, "Scenario YAML file with pp of 2 or more")
      ->required();
  balance->add_flag("--json", o->json, "Print the splits as JSON");
  balance
      ->add_option("--max-simulations", o->max_simulations,
                   "Splits simulated at most (the even one, the one balanced by layer time, "
                   "then one layer moved at a time)")
      ->check(CLI::Range(2, 10000));
  add_catalog_options(*balance, o->catalog);
  balance
      ->add_option("--calibration", o->calibration,
                   "Time the scenario with this calibration profile instead of the one it names")
      ->type_name("FILE");
  return [o] { return run_balance(*o); };
}

}  // namespace scaleplan
