#include "cli/capacity_command.hpp"

#include <iostream>
#include <memory>

#include "cli/catalog_command.hpp"
#include "cli/output_file.hpp"
#include "cli/progress.hpp"
#include "sim/capacity/capacity_report.hpp"
#include "sim/capacity/capacity_search.hpp"

namespace scaleplan {

namespace {

struct CapacityOptions {
  std::string spec;
  CatalogChoice catalog;
  std::string csv;
  bool json = false;
  int threads = 0;
  ProgressMode progress = ProgressMode::automatic;
};

// Each cluster's plan search counts as one step of the command's progress (a spec of thousands
// of devices takes minutes).
capacity::PlanFinder with_progress(capacity::PlanFinder find, ProgressCounter& counter) {
  return [find = std::move(find), &counter](const capacity::ClusterOption& option,
                                            const TrainingJob& base, int top_k) {
    capacity::PlanOutcome outcome = find(option, base, top_k);
    counter.advance(option.name);
    return outcome;
  };
}

int run_capacity(const CapacityOptions& o) {
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  const capacity::CapacitySpec spec = capacity::load_capacity_spec(o.spec, catalog);
  TerminalProgress terminal(o.progress);
  ProgressCounter counter(terminal.sink(), "capacity", "clusters searched", spec.options.size());
  const capacity::CapacityReport report = capacity::evaluate_capacity(
      spec, with_progress(capacity::planner_finder(catalog, o.threads), counter));
  counter.finish();
  terminal.clear();
  if (!o.csv.empty())
    write_output_file(o.csv, capacity::format_csv(report));
  std::cout << (o.json ? capacity::format_json(report) : capacity::format_text(report));
  check_standard_output();
  return 0;
}

}  // namespace

std::function<int()> add_capacity_command(CLI::App& app) {
  auto o = std::make_shared<CapacityOptions>();
  auto* command = app.add_subcommand(
      "capacity",
      "Compare clusters for one job: time to train, cost rented or bought, energy, goodput, the "
      "time/cost Pareto front");
  command->add_option("spec", o->spec, "Capacity spec YAML (docs/capacity.md)")->required();
  command->add_flag("--json", o->json, "Print the report as JSON");
  command->add_option("--csv", o->csv, "Also write one CSV row per cluster and pricing here");
  command
      ->add_option("--threads", o->threads, "Worker threads of each search (default: every core)")
      ->check(CLI::Range(1, 1024));
  add_catalog_options(*command, o->catalog);
  add_progress_option(*command, o->progress);
  return [o] { return run_capacity(*o); };
}

}  // namespace scaleplan
