#include "cli/capacity_command.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/output_file.hpp"
#include "hardware/io/catalog.hpp"
#include "sim/capacity/capacity_report.hpp"
#include "sim/capacity/capacity_search.hpp"

namespace scaleplan {

namespace {

struct CapacityOptions {
  std::string spec;
  std::string catalog;
  std::string csv;
  bool json = false;
  int threads = 0;
};

// On a terminal, one line on stderr saying which cluster the planner is searching (a spec of
// thousands of devices takes minutes); nothing when stderr is piped.
capacity::PlanFinder with_progress(capacity::PlanFinder find, std::size_t clusters) {
  if (!::isatty(STDERR_FILENO))
    return find;
  auto done = std::make_shared<std::size_t>(0);
  return [find = std::move(find), clusters, done](const capacity::ClusterOption& option,
                                                  const TrainingJob& base, int top_k) {
    std::cerr << fmt::format("\r\033[Ksearching plans: {} x{} ({} of {})", option.name,
                             option.cluster.device_count(), ++*done, clusters)
              << std::flush;
    capacity::PlanOutcome outcome = find(option, base, top_k);
    if (*done == clusters)
      std::cerr << "\r\033[K" << std::flush;
    return outcome;
  };
}

int run_capacity(const CapacityOptions& o) {
  std::optional<Catalog> own;
  if (!o.catalog.empty())
    own = Catalog::load(o.catalog);
  const Catalog& catalog = own ? *own : Catalog::builtin();
  const capacity::CapacitySpec spec = capacity::load_capacity_spec(o.spec, catalog);
  const capacity::CapacityReport report = capacity::evaluate_capacity(
      spec, with_progress(capacity::planner_finder(catalog, o.threads), spec.options.size()));
  if (!o.csv.empty())
    write_output_file(o.csv, capacity::format_csv(report));
  std::cout << (o.json ? capacity::format_json(report) : capacity::format_text(report));
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
  command->add_option("--catalog", o->catalog, "Device catalog YAML (default: the built-in one)");
  return [o] { return run_capacity(*o); };
}

}  // namespace scaleplan
