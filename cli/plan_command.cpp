#include "cli/plan_command.hpp"

#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/catalog_command.hpp"
#include "cli/output_file.hpp"
#include "cli/progress.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "sim/planner/plan_report.hpp"
#include "sim/planner/planner.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/scenario_search.hpp"
#include "sim/scenario/scenario_writer.hpp"

namespace scaleplan {

namespace {

struct PlanOptions {
  std::string scenario;
  CatalogChoice catalog;
  int top = 20;
  std::string objective = "time";
  std::vector<std::string> fix;
  bool json = false;
  std::string csv;
  std::vector<std::string> emit;  // N FILE
  int threads = 0;
  std::string network_model = "auto";
  ProgressMode progress = ProgressMode::automatic;
};

[[noreturn]] void bad_option(const std::string& option, const std::string& message) {
  throw InputError({{{option, 0, 0}, "", message}});
}

int run_plan(const PlanOptions& o) {
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  const Scenario scenario = load_scenario(o.scenario, catalog, ScenarioUse::plan);
  SearchSpace space = scenario.search.value_or(SearchSpace{});
  for (const std::string& fix : o.fix)
    fix_axes(space, fix);
  // The search section's own degrees were checked as it was read: what breaks a rule now, --fix
  // set.
  check_search_degrees(space, scenario.cluster, scenario.job, "--fix");
  SearchOptions options;
  options.top_k = o.top;
  options.objective = *plan_objective_names.parse(o.objective);
  options.threads = o.threads;
  options.settings = run_settings(scenario);
  options.settings.network_model = network_model_names.parse(o.network_model).value();
  const ClusterSpec& cluster = scenario.cluster;
  const bool mixed = cluster.mixes_devices();
  // Mixed devices: candidates are estimated on the slowest device, which bounds a replica that
  // spans every group; the finalists are simulated each rank on its own device.
  const DeviceSpec& device = cluster.slowest_device(scenario.job.training.dtype);
  if (mixed && options.objective != PlanObjective::time) {
    bad_option("--objective",
               "a cluster of node groups of different devices is ranked by time only (cost and "
               "energy take one device's price and power); use --objective time");
  }
  if (options.objective == PlanObjective::cost && !device.price_usd_per_hour)
    bad_option("--objective", device.name +
                                  " has no price per hour in the catalog; use time or "
                                  "energy, or a catalog with its price");
  int emit_rank = 0;
  if (!o.emit.empty()) {
    try {
      emit_rank = std::stoi(o.emit[0]);
    } catch (const std::exception&) {
      bad_option("--emit-scenario", "'" + o.emit[0] + "' is not a plan number");
    }
    if (emit_rank < 1 || emit_rank > o.top)
      bad_option("--emit-scenario",
                 fmt::format("plan {} is not among the top {}", emit_rank, o.top));
  }

  const ClusterNetwork network = prepare_network(scenario, catalog);
  const Profile* profile = scenario.profile ? &*scenario.profile : nullptr;
  const auto compute = make_compute_model(device, profile, scenario.calibration.value_or(""));
  TerminalProgress terminal(o.progress);
  options.progress = search_progress_to(terminal.sink());
  const PlanSearch search =
      search_plans(space, scenario.cluster, network, *compute, scenario.job, options);
  terminal.clear();

  std::string groups;
  for (const NodeGroup& g : cluster.node_groups) {
    groups += fmt::format("{}{} x {} ({})", groups.empty() ? "" : " + ",
                          g.nodes * cluster.shape_of_group(g).devices, g.device.name, g.name);
  }
  const PlanReportContext context{
      scenario.name,
      mixed ? groups : fmt::format("{} x {}", cluster.device_count(), device.name),
      device.name,
      cluster.device_count(),
      cluster.smallest_memory_bytes(),
      scenario.job,
      options.objective};
  std::cout << (o.json ? format_plan_json(search, context) : format_plan_text(search, context));
  if (mixed && !o.json) {
    std::cout << fmt::format(
        "note: node groups of different devices: every candidate is estimated on {}, the slowest "
        "in {}, with {:.0f} GiB, the least memory of any device; the best are simulated rank by "
        "rank, each rank on its own device, and ranked by the simulated step\n",
        device.name, to_string(scenario.job.training.dtype),
        cluster.smallest_memory_bytes() / (1024.0 * 1024 * 1024));
  }
  if (!o.csv.empty())
    write_output_file(o.csv, format_plan_csv(search));
  if (emit_rank > 0) {
    if (emit_rank > static_cast<int>(search.ranked.size()))
      bad_option("--emit-scenario", fmt::format("the search ranked {} plans, not {}",
                                                search.ranked.size(), emit_rank));
    const RankedPlan& plan = search.ranked[static_cast<std::size_t>(emit_rank - 1)];
    write_output_file(o.emit[1],
                      scenario_with_plan(read_input_file(o.scenario), o.scenario, plan.job,
                                         fmt::format("{}-plan{}", scenario.name, emit_rank),
                                         scenario.calibration));
    if (!o.json)
      std::cout << "wrote plan " << emit_rank << " to " << o.emit[1] << "\n";
  }
  check_standard_output();
  return 0;
}

}  // namespace

std::function<int()> add_plan_command(CLI::App& app) {
  auto o = std::make_shared<PlanOptions>();
  auto* plan = app.add_subcommand(
      "plan",
      "Search every parallel plan of a scenario's cluster, model and batch for the fastest");
  plan->add_option("scenario", o->scenario,
                   "Scenario YAML file (its search: section, if any, "
                   "limits the axes)")
      ->required();
  plan->add_option("--top", o->top, "Plans simulated in full and ranked")
      ->check(CLI::Range(1, 1000));
  plan->add_option("--objective", o->objective, "What to minimise per step")
      ->check(CLI::IsMember(plan_objective_names.names()));
  plan->add_option("--fix", o->fix,
                   "Fix axes, e.g. tp=8,pp=4,schedule=1f1b,recompute=full,sequence_parallel=true");
  plan->add_flag("--json", o->json, "Print the ranked plans as JSON");
  plan->add_option("-o,--output", o->csv, "Write the ranked plans as CSV to this file");
  plan->add_option("--emit-scenario", o->emit,
                   "Write plan N of the ranking as a runnable scenario: --emit-scenario N FILE")
      ->expected(2);
  plan->add_option("--threads", o->threads, "Worker threads (default: every core)")
      ->check(CLI::Range(1, 1024));
  add_catalog_options(*plan, o->catalog);
  plan->add_option("--network-model", o->network_model,
                   "How the top plans are simulated: flows, alpha-beta or auto")
      ->check(CLI::IsMember(network_model_names.names()));
  add_progress_option(*plan, o->progress);
  return [o] { return run_plan(*o); };
}

}  // namespace scaleplan
