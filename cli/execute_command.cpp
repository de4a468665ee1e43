#include "cli/execute_command.hpp"

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "calibrate/executor/comparison.hpp"
#include "calibrate/executor/executor.hpp"
#include "calibrate/executor/measured_run.hpp"
#include "cli/catalog_command.hpp"
#include "cli/exit_codes.hpp"
#include "cli/output_file.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "sim/plan/plan_io.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/timeline/chrome_trace.hpp"
#include "sim/timeline/chrome_trace_reader.hpp"
#include "version/version.hpp"
#ifdef SCALEPLAN_WITH_MPI
#include "calibrate/executor/mpi_executor.hpp"
#endif
#ifdef SCALEPLAN_WITH_CUDA_EXECUTOR
#include "calibrate/executor/cuda_executor.hpp"
#endif

namespace scaleplan {

namespace {

struct ExecuteCommands {
  CLI::App* execute = nullptr;
  CLI::App* compare = nullptr;
  // execute
  std::string input;
  std::string backend = "cpu";
  int steps = 3;
  int warmup = 1;
  double timeout_s = 60;
  std::string output;
  std::string summary;
  CatalogChoice catalog;
  std::string stall;
  // compare
  std::string predicted;
  std::string measured;
  bool json = false;
  std::vector<std::string> argv;
};

std::atomic<bool> interrupted{false};

extern "C" void on_signal(int) {
  interrupted.store(true);
}

struct PlanToRun {
  Plan plan;
  std::optional<double> device_memory_bytes;
  std::string name;
};

PlanToRun plan_to_run(const ExecuteCommands& c) {
  PlanToRun p;
  p.name = c.input;
  if (is_plan_file(c.input)) {
    p.plan = read_plan(c.input);
  } else {
    const Catalog catalog = load_catalog(c.catalog, std::cerr);
    const Scenario scenario = load_scenario(c.input, catalog);
    p.plan = build_plan(scenario.job, RankScope::all_ranks);
    p.device_memory_bytes = scenario.cluster.device.memory_bytes.value;
  }
  p.plan = expand_replicas(p.plan);
  return p;
}

std::string summary_path(const ExecuteCommands& c) {
  if (!c.summary.empty())
    return c.summary;
  std::string base = c.output;
  for (const char* ext : {".json.gz", ".json"}) {
    const std::string e = ext;
    if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) {
      base.resize(base.size() - e.size());
      break;
    }
  }
  return base + ".summary.json";
}

void write_trace_file(const std::string& path, const Timeline& t, const std::string& input,
                      const std::string& backend) {
  ChromeTraceOptions options;
  options.other_data = {
      {"scaleplan_version", scaleplan_version_text()}, {"measured", input}, {"backend", backend}};
  write_output_file(path, [&](std::ostream& out) { write_chrome_trace(out, t, options); });
}

#ifndef SCALEPLAN_WITH_CUDA_EXECUTOR
// scaleplan-execute-gpu beside this program, with the same command line; returns only when it
// cannot be started.
int hand_over_to_gpu_program(const ExecuteCommands& c) {
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  const std::string gpu = (self.parent_path() / "scaleplan-execute-gpu").string();
  if (!error && ::access(gpu.c_str(), X_OK) == 0) {
    std::vector<char*> args;
    for (const std::string& a : c.argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(gpu.c_str(), args.data());
  }
  std::cerr << "scaleplan execute: this build has no CUDA backend (scaleplan-execute-gpu is built "
               "where a CUDA compiler, cuBLAS, NCCL and MPI are found); use --backend cpu\n";
  return exit_bad_input;
}
#endif

int execute(const ExecuteCommands& c) {
#ifndef SCALEPLAN_WITH_CUDA_EXECUTOR
  if (c.backend == "cuda")
    return hand_over_to_gpu_program(c);
#endif
#ifndef SCALEPLAN_WITH_MPI
  (void)c;
  std::cerr << "scaleplan execute: this build has no MPI (configure found none); install an MPI "
               "(Open MPI, MPICH) and rebuild\n";
  return exit_bad_input;
#else
  std::optional<std::pair<int, std::uint32_t> > stall;
  if (!c.stall.empty()) {
    const auto colon = c.stall.find(':');
    if (colon == std::string::npos)
      throw InputError({Diagnostic{{"command line", 0, 0}, "--stall", "use RANK:OP"}});
    stall = std::make_pair(std::stoi(c.stall.substr(0, colon)),
                           static_cast<std::uint32_t>(std::stoul(c.stall.substr(colon + 1))));
  }
  const PlanToRun p = plan_to_run(c);
  MpiSession mpi;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  MpiExecuteRequest request;
  request.backend = c.backend;
  request.source = "scaleplan " + scaleplan_version_text() + " execute --backend " + c.backend;
  request.options.warmup_steps = c.warmup;
  request.options.measured_steps = c.steps;
  request.options.timeout_s = c.timeout_s;
  request.options.interrupt = &interrupted;
  request.limits.device_memory_bytes = p.device_memory_bytes;
  if (c.backend == "cpu") {
    request.limits.dtypes = {Dtype::fp32};
  } else {
#ifdef SCALEPLAN_WITH_CUDA_EXECUTOR
    if (!cuda_device_present()) {
      if (mpi.rank() == 0)
        std::cerr << "scaleplan execute: --backend cuda: no GPU is visible to this process "
                     "(CUDA_VISIBLE_DEVICES, the driver); use --backend cpu\n";
      return exit_bad_input;
    }
    request.make_backend = make_cuda_backend;
#else
    return exit_bad_input;  // handed over above
#endif
  }
  request.stall = stall;
  request.abort_status = exit_execution_stopped;
  const std::string output = c.output, input = c.input, backend = c.backend;
  const int rank = mpi.rank();
  request.write_partial = [&](const Timeline& t) {
    const std::string path = output + fmt::format(".rank{}.partial.json", rank);
    try {
      write_trace_file(path, t, input, backend);
      std::cerr << "scaleplan execute: rank " << rank << " wrote what it measured to " << path
                << "\n";
    } catch (const std::exception& e) {
      std::cerr << "scaleplan execute: rank " << rank << " could not write " << path << ": "
                << e.what() << "\n";
    }
  };
  std::optional<MeasuredRun> run;
  try {
    run = execute_on_mpi(p.plan, request);
  } catch (const ExecutionRefused& refused) {
    if (mpi.rank() == 0)
      std::cerr << "scaleplan execute: " << p.name << ": refused:\n" << refused.what() << "\n";
    return exit_bad_input;
  }
  if (!run)
    return exit_success;
  write_trace_file(c.output, run->timeline, c.input, c.backend);
  const std::string summary = summary_path(c);
  write_output_file(summary, summary_json(*run));
  std::vector<double> sorted = run->step_times_s;
  std::sort(sorted.begin(), sorted.end());
  std::cout << fmt::format(
      "executed {} on {} ranks ({} backend): {} warm-up and {} measured steps, step time median "
      "{:.6f} s (min {:.6f}, max {:.6f}); trace of the median step {}, summary {}\n",
      c.input, run->timeline.ranks.size(), c.backend, c.warmup, sorted.size(),
      run->step_times_s[run->trace_step], sorted.front(), sorted.back(), c.output, summary);
  check_standard_output();
  return exit_success;
#endif
}

Timeline read_trace(const std::string& path) {
  return read_chrome_trace(read_input_file(path), path);
}

int compare(const ExecuteCommands& c) {
  const StepComparison comparison =
      compare_timelines(read_trace(c.predicted), read_trace(c.measured));
  std::cout << (c.json ? format_json(comparison) : format_text(comparison));
  check_standard_output();
  return exit_success;
}

}  // namespace

std::function<int()> add_execute_commands(CLI::App& app, std::vector<std::string> argv) {
  auto c = std::make_shared<ExecuteCommands>();
  c->argv = std::move(argv);
  c->execute = app.add_subcommand(
      "execute",
      "Run a plan (a --dump-plan file, or a scenario's) on this job's MPI ranks, one rank per "
      "plan rank, and record the measured step (run under mpirun or srun; docs/execute.md)");
  c->execute->add_option("plan", c->input, "Plan file or scenario")
      ->required()
      ->type_name("PLAN_OR_SCENARIO");
  c->execute->add_option("--backend", c->backend, "cpu (Eigen and MPI) or cuda (cuBLAS and NCCL)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  c->execute->add_option("--steps", c->steps, "Measured steps")->check(CLI::Range(1, 100000));
  c->execute->add_option("--warmup", c->warmup, "Untimed steps before them")
      ->check(CLI::Range(0, 100000));
  c->execute
      ->add_option("--timeout", c->timeout_s,
                   "Seconds a rank waits without progress before it stops every rank, naming the "
                   "op, its group and the ranks that had not arrived")
      ->check(CLI::Range(0.001, 1e6));
  c->execute->add_option("-o,--output", c->output, "Measured trace (Chrome trace JSON)")
      ->required()
      ->type_name("FILE");
  c->execute
      ->add_option("--summary", c->summary,
                   "JSON summary of every measured step (default: the trace's name with "
                   ".summary.json)")
      ->type_name("FILE");
  add_catalog_options(*c->execute, c->catalog);
  c->execute->add_option("--stall", c->stall, "Test aid: rank RANK never issues op OP")->group("");

  c->compare = app.add_subcommand(
      "compare",
      "Compare a measured step (execute -o) with its prediction (run --all-ranks --trace): step "
      "time, per class of op, per stream, exposed communication and bubble");
  c->compare->add_option("predicted", c->predicted, "Predicted trace")
      ->required()
      ->type_name("PREDICTED");
  c->compare->add_option("measured", c->measured, "Measured trace")
      ->required()
      ->type_name("MEASURED");
  c->compare->add_flag("--json", c->json, "Print the comparison as JSON");
  return [c]() { return *c->execute ? execute(*c) : compare(*c); };
}

}  // namespace scaleplan
