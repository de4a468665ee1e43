#include "cli/run_command.hpp"

#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli/catalog_command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/output_file.hpp"
#include "cli/progress.hpp"
#include "cli/trace_options.hpp"
#include "hardware/io/profile_io.hpp"
#include "sim/plan/plan_io.hpp"
#include "sim/report/memory_fit.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/simulation_progress.hpp"
#include "sim/simulate/timeline_recorder.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/strategy_check.hpp"
#include "sim/timeline/chrome_trace.hpp"
#include "version/version.hpp"

namespace scaleplan {

namespace {

// What `run` and `simulate` share: the cluster's scenario, how the step is simulated and how it
// is reported.
struct StepOptions {
  std::string scenario;
  CatalogChoice catalog;
  std::string calibration;
  TraceOptions trace;
  bool json = false;
  // --links[=N]: the busiest links shown per tier; 0 when not given.
  int links = 0;
  bool require_fit = false;
  std::string network_model = "auto";
  ProgressMode progress = ProgressMode::automatic;
};

struct RunCommands {
  CLI::App* run = nullptr;
  CLI::App* simulate = nullptr;
  StepOptions step;
  // run
  std::string dump_plan;
  bool all_ranks = false;
  // simulate
  std::string plan;
};

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

RunSettings settings_of(const StepOptions& o, const Scenario& scenario, RankScope ranks) {
  RunSettings settings;
  settings.ranks = ranks;
  // The command line accepts only the table's names (CLI::IsMember below).
  settings.network_model = network_model_names.parse(o.network_model).value();
  if (o.links > 0)
    settings.busiest_links_per_tier = o.links;
  return run_settings(scenario, settings);
}

// Simulates `plan` of `scenario`'s job on `network`, writes the trace if asked, prints the
// report and returns the exit code. `suggest_changes`: a plan that does not fit gets the changes
// of the scenario's strategy that would make it fit.
int simulate_and_report(const StepOptions& o, TerminalProgress& terminal, const Scenario& scenario,
                        const Plan& plan, const ClusterNetwork& network,
                        const RunSettings& settings, bool suggest_changes) {
  const Profile* profile = scenario.profile ? &*scenario.profile : nullptr;
  const std::unique_ptr<ComputeModel> compute =
      make_compute_model(scenario.cluster.device, profile, scenario.calibration.value_or("?"));
  const PredictionInputs inputs{scenario.cluster, scenario.job, *compute, network, settings};
  std::optional<TimelineRecorder> recorder;
  if (!o.trace.path.empty())
    recorder.emplace(plan, true, trace_selection(o.trace, plan));
  SimulationProgress progress(plan, terminal.sink());
  Prediction prediction =
      predict_traced(scenario, inputs, plan, {recorder ? &*recorder : nullptr, &progress});
  progress.finish();
  terminal.clear();
  if (recorder) {
    // The links' rates are recorded during the run; the trace shows the busiest, known after it.
    ChromeTraceOptions trace;
    trace.rank_names = rank_names(scenario, recorder->timeline().ranks);
    for (const LinkUsage& l : prediction.busiest_links)
      trace.links.push_back({l.link, l.name});
    trace.other_data = {{"scaleplan_version", scaleplan_version_text()},
                        {"scenario", scenario.file}};
    write_trace(o.trace, recorder->timeline(), trace);
  }
  if (suggest_changes && !prediction.memory.fits)
    prediction.changes_that_fit = changes_that_fit(inputs);
  std::cout << (o.json ? format_json(prediction) : format_text(prediction, o.links > 0));
  check_standard_output();
  return o.require_fit && !prediction.memory.fits ? exit_does_not_fit : exit_success;
}

// The scenario, timed with --calibration's profile when given.
Scenario load_step_scenario(const StepOptions& o, const Catalog& catalog) {
  Scenario scenario = load_scenario(o.scenario, catalog);
  if (!o.calibration.empty())
    use_calibration(scenario, load_profile(o.calibration), o.calibration, {o.scenario, 0, 0});
  return scenario;
}

int run_scenario(const RunCommands& c) {
  const StepOptions& o = c.step;
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  const Scenario scenario = load_step_scenario(o, catalog);
  const RunSettings settings =
      settings_of(o, scenario, c.all_ranks ? RankScope::all_ranks : RankScope::one_replica);
  // The scenario was checked for the one replica that stands for the others; every rank's plan
  // may be beyond the limit.
  if (const auto problem = plan_size_problem(scenario.job, settings.ranks)) {
    throw InputError({{{o.scenario, 0, 0},
                       "--all-ranks",
                       problem->message + "; or run without --all-ranks, which simulates one " +
                           "data-parallel replica for all of them"}});
  }
  const ClusterNetwork network = prepare_network(scenario, catalog);
  const Plan plan = build_plan(scenario.job, settings.ranks);
  if (!c.dump_plan.empty()) {
    const PlanFileFormat format = plan_format_for(c.dump_plan);
    // A YAML plan too large to read back is still worth reading and diffing: written, with a
    // warning that names the format that reads back.
    if (format == PlanFileFormat::yaml) {
      if (auto problem = unreadable_yaml(
              c.dump_plan, plan_yaml_values(plan), "plan",
              fmt::format("the YAML plan reader takes plans of about 240,000 ops; name the file "
                          "*{} to write the compact format, which reads back at any size",
                          compact_plan_extension)))
        std::cerr << "warning: " << problem->format() << "\n";
    }
    write_output_file(c.dump_plan, [&](std::ostream& out) { write_plan(plan, out, format); });
  }
  TerminalProgress terminal(o.progress);
  return simulate_and_report(o, terminal, scenario, plan, network, settings, true);
}

// A plan read from a file, checked against the cluster it is to run on: its ranks must be the
// scenario's (the report counts tokens and memory by the scenario's job and layout), and its
// devices the cluster's.
void check_plan_fits_cluster(const Plan& plan, const std::string& plan_file,
                             const Scenario& scenario) {
  std::vector<Diagnostic> problems;
  const int devices = scenario.cluster.device_count();
  if (plan.world_size() != scenario.job.parallelism.world_size()) {
    problems.push_back(
        {{plan_file, 0, 0},
         "ranks",
         "the plan has " + std::to_string(plan.world_size()) + " ranks, but the scenario " +
             scenario.file + " runs " + std::to_string(scenario.job.parallelism.world_size()) +
             " (tp·pp·cp·dp); simulate a plan with the scenario of the job it was written for"});
  }
  for (const RankProgram& program : plan.ranks) {
    // The copies of a replicated plan run on the listed devices shifted by whole replicas.
    const int last_device = program.device + (plan.replicas.count - 1) * plan.replicas.rank_stride;
    if (program.device < 0 || last_device >= devices) {
      problems.push_back({{plan_file, 0, 0},
                          "ranks",
                          "rank " + std::to_string(program.rank) + " runs on device " +
                              std::to_string(last_device) + ", but the cluster of " +
                              scenario.file + " has " + std::to_string(devices) + " devices"});
      break;
    }
  }
  if (!problems.empty())
    throw InputError(std::move(problems));
}

// Whether `plan` is the one the scenario's job builds (as many ranks, each with as many ops): when
// it is not, the report's model line, tokens/s and MFU, which come from the job, describe another
// job than the plan's, and a note on `notes` says so.
void note_a_plan_of_another_job(const Plan& plan, const std::string& plan_file,
                                const Scenario& scenario, std::ostream& notes) {
  const RankScope scope = plan.replicas.count > 1 ? RankScope::one_replica : RankScope::all_ranks;
  // A job too large to build is not the plan's job: the plan reader takes far fewer ops.
  bool same = !plan_size_problem(scenario.job, scope);
  const Plan built = same ? build_plan(scenario.job, scope) : Plan{};
  same = same && built.ranks.size() == plan.ranks.size();
  for (std::size_t i = 0; same && i < plan.ranks.size(); ++i)
    same = built.ops_of(i).size() == plan.ops_of(i).size();
  if (!same) {
    notes << "note: " << plan_file << " is not the plan of " << scenario.file
          << "'s job; it is simulated as written, and the report's model, tokens/s and MFU are "
             "those of the scenario's job\n";
  }
}

int simulate_plan(const RunCommands& c) {
  const StepOptions& o = c.step;
  const Catalog catalog = load_catalog(o.catalog, std::cerr);
  const Scenario scenario = load_step_scenario(o, catalog);
  TerminalProgress terminal(o.progress);
  // Reading a YAML plan is one call into the YAML parser, which says nothing until it is done, at
  // about 2 MB/s: a big file is announced. A compact plan reads at hundreds of MB/s.
  std::error_code error;
  const auto plan_bytes = std::filesystem::file_size(c.plan, error);
  if (!error && plan_bytes > 8'000'000 && plan_format_of_file(c.plan) == PlanFileFormat::yaml)
    terminal.announce(fmt::format("reading {} ({} MB)", c.plan, plan_bytes / 1'000'000));
  const Plan plan = read_plan(c.plan);
  check_plan_fits_cluster(plan, c.plan, scenario);
  note_a_plan_of_another_job(plan, c.plan, scenario, std::cerr);
  const RunSettings settings = settings_of(o, scenario, RankScope::all_ranks);
  const ClusterNetwork network = prepare_network(scenario, catalog);
  return simulate_and_report(o, terminal, scenario, plan, network, settings, false);
}

void add_step_options(CLI::App& command, StepOptions& o) {
  command.add_flag("--json", o.json, "Print the prediction as JSON");
  // A flag with an optional value (--links=N), so that `run --links SCENARIO` keeps working.
  command
      .add_flag("--links{" + std::to_string(RunSettings{}.busiest_links_per_tier) + "}", o.links,
                "Also print the links of each tier of the network (NVLink, PCIe, device-NIC, NIC, "
                "leaf-spine, spine-core, ...) and the busiest of each with their utilisation: " +
                    std::to_string(RunSettings{}.busiest_links_per_tier) +
                    ", or N with --links=N; the JSON report lists as many")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            const bool count = !value.empty() && value.size() < 7 &&
                               value.find_first_not_of("0123456789") == std::string::npos &&
                               std::stoi(value) > 0;
            return count
                       ? std::string()
                       : "takes a count of links per tier above 0 (--links=3), not '" + value + "'";
          },
          "N"));
  add_trace_options(command, o.trace);
  add_catalog_options(command, o.catalog);
  command
      .add_option("--calibration", o.calibration,
                  "Time the step with this calibration profile in place of the scenario's own "
                  "(if any); whatever the profile lacks comes from the catalog")
      ->type_name("FILE");
  command
      .add_option("--network-model", o.network_model,
                  "flows, alpha-beta, or auto: flows unless the step would start more than " +
                      std::to_string(SimulationOptions{}.flow_budget) +
                      " flows, then alpha-beta for the collectives that would start the most")
      ->check(CLI::IsMember(network_model_names.names()));
  command.add_flag("--require-fit", o.require_fit,
                   "Exit with status " + std::to_string(exit_does_not_fit) +
                       " when the plan does not fit in device memory (the report is printed all "
                       "the same)");
  add_progress_option(command, o.progress);
}

}  // namespace

std::function<int()> add_run_commands(CLI::App& app) {
  auto c = std::make_shared<RunCommands>();
  c->run = app.add_subcommand("run", "Simulate one training step of a scenario");
  c->run->add_option("scenario", c->step.scenario, "Scenario YAML file")->required();
  add_step_options(*c->run, c->step);
  c->run
      ->add_option("--dump-plan", c->dump_plan,
                   "Write the per-rank plan (docs/plan-format.md) to this file: YAML, or the "
                   "compact format for a name ending in .splan (any size reads back)")
      ->type_name("FILE");
  c->run->add_flag("--all-ranks", c->all_ranks,
                   "Simulate every rank (default: one data-parallel replica, whose copies still "
                   "load the network)");

  c->simulate = app.add_subcommand(
      "simulate",
      "Simulate one training step of a plan file (--dump-plan, docs/plan-format.md) on the "
      "cluster of a scenario");
  c->simulate->add_option("plan", c->plan, "Plan file (YAML or compact)")->required();
  c->simulate
      ->add_option("--cluster", c->step.scenario,
                   "The scenario whose cluster (device, nodes, network, calibration) runs the "
                   "plan, and whose job it trains (for tokens/s and MFU)")
      ->required()
      ->type_name("SCENARIO");
  add_step_options(*c->simulate, c->step);

  return [c]() { return *c->simulate ? simulate_plan(*c) : run_scenario(*c); };
}

}  // namespace scaleplan
