#include "cli/bench/bench_cli.hpp"

#include <algorithm>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/output_file.hpp"
#include "sim/plan/plan_io.hpp"

namespace scaleplan {

std::optional<double> parse_byte_size(const std::string& text) {
  if (text.empty())
    return std::nullopt;
  double scale = 1;
  std::string digits = text;
  const char suffix = text.back();
  if (suffix == 'K' || suffix == 'M' || suffix == 'G') {
    scale = suffix == 'K' ? 1024.0 : suffix == 'M' ? 1024.0 * 1024 : 1024.0 * 1024 * 1024;
    digits.pop_back();
  }
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stod(digits) * scale;
}

namespace {

std::int64_t bytes_option(const std::string& text, const char* name) {
  auto bytes = parse_byte_size(text);
  if (!bytes || *bytes < 4)
    throw CLI::ValidationError(name,
                               "expected a size of at least 4 bytes such as 4096, 64K, 1M "
                               "or 2G, got '" +
                                   text + "'");
  return static_cast<std::int64_t>(*bytes);
}

}  // namespace

int compute_bench_main(int argc, char** argv, const std::string& program,
                       const std::function<std::unique_ptr<ComputeBackend>()>& make_backend,
                       TimingOptions timing) {
  CLI::App app{program +
               ": time GEMMs, memory streams and kernel launches into a scaleplan "
               "measurements file (docs/calibration.md)"};
  ComputeBenchOptions o;
  o.timing = timing;
  std::string output;
  std::vector<std::string> dtypes;
  std::string memory_min = "1M", memory_max = "1G";
  bool no_gemm = false, no_memory = false, no_launch = false, no_transformer = false,
       no_grid = false;
  app.add_option("-o,--output", output, "Measurements YAML to write")->required();
  app.add_option("--dtypes", dtypes, "GEMM dtypes (default: fp32 tf32 bf16 fp16 fp8)")
      ->delimiter(',')
      ->check(CLI::IsMember(dtype_names.names()));
  app.add_option("--presets", o.sweep.presets, "Transformer presets whose GEMM shapes to time")
      ->delimiter(',');
  app.add_option("--tp", o.sweep.tp, "Tensor-parallel degrees of the transformer shapes")
      ->delimiter(',');
  app.add_option("--micro-batch", o.sweep.micro_batch, "Micro-batch of the transformer shapes")
      ->check(CLI::PositiveNumber);
  app.add_flag("--no-transformer", no_transformer, "Leave out the transformer shapes");
  app.add_flag("--no-grid", no_grid, "Leave out the grid of shapes");
  std::vector<std::string> plans;
  app.add_option("--plan", plans,
                 "Also time the GEMM and attention shapes of this plan file (run --dump-plan)")
      ->type_name("FILE");
  app.add_option("--grid-min", o.sweep.grid_min, "Smallest grid dimension")
      ->check(CLI::PositiveNumber);
  app.add_option("--grid-max", o.sweep.grid_max, "Largest grid dimension")
      ->check(CLI::PositiveNumber);
  app.add_option("--grid-factor", o.sweep.grid_factor, "Ratio of successive grid dimensions")
      ->check(CLI::Range(2, 1 << 20));
  app.add_option("--grid-batches", o.sweep.grid_batches, "Batch counts of the grid (1,16,...)")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  app.add_option("--max-gemm-flops", o.sweep.max_flops, "Leave out larger GEMMs")
      ->check(CLI::PositiveNumber);
  app.add_flag("--no-gemm", no_gemm, "Do not time GEMMs");
  app.add_flag("--no-memory", no_memory, "Do not time copy and triad");
  app.add_flag("--no-launch", no_launch, "Do not time kernel launches");
  app.add_option("--memory-min-bytes", memory_min, "Smallest copy/triad array (e.g. 1M)");
  app.add_option("--memory-max-bytes", memory_max, "Largest copy/triad array (e.g. 1G)");
  app.add_option("--memory-factor", o.memory_factor, "Ratio of successive array sizes")
      ->check(CLI::Range(2, 1 << 20));
  app.add_option("--warmup", o.timing.warmup, "Untimed calls before timing")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--repeats", o.timing.repeats,
                 "Timed samples per trial (the CPU keeps the fastest, the GPU the median)")
      ->check(CLI::PositiveNumber);
  app.add_option("--trials", o.timing.trials,
                 "Trials per measurement, each in its own pass over the sweep; the median of "
                 "those that agree best is kept")
      ->default_val(o.timing.trials)
      ->check(CLI::Range(1, 1000));
  app.add_option("--max-trials", o.timing.max_trials,
                 "Trials at most: more passes re-measure what disagrees beyond --tolerance")
      ->default_val(o.timing.max_trials)
      ->check(CLI::Range(1, 1000));
  app.add_option("--tolerance", o.timing.tolerance,
                 "How far (range over median) the agreeing trials may disagree")
      ->default_val(o.timing.tolerance)
      ->check(CLI::Range(0.0, 10.0));
  std::string clock = o.timing.clock == SampleClock::thread_cpu ? "cpu" : "wall";
  app.add_option("--clock", clock,
                 "CPU samples: cpu (the thread's CPU time over --core-share) or wall")
      ->default_val(clock)
      ->check(CLI::IsMember({"cpu", "wall"}));
  app.add_option("--core-share", o.timing.core_share,
                 "With --clock cpu: the share of a core a rank computes on (cores over the "
                 "ranks that share them, as scaleplan execute holds a rank to)")
      ->default_val(o.timing.core_share)
      ->check(CLI::Range(1e-3, 1.0));
  app.add_option("--min-sample-s", o.timing.min_sample_s,
                 "Repeat a call within one timed sample for at least this long (default 20e-6; "
                 "tens of milliseconds where processes share cores)")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
    o.memory_min_elements = bytes_option(memory_min, "--memory-min-bytes") / 4;
    o.memory_max_elements = bytes_option(memory_max, "--memory-max-bytes") / 4;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  o.timing.max_trials = std::max(o.timing.max_trials, o.timing.trials);
  o.timing.clock = clock == "cpu" ? SampleClock::thread_cpu : SampleClock::wall;
  if (!dtypes.empty()) {
    o.dtypes.clear();
    for (const auto& d : dtypes)
      o.dtypes.push_back(*dtype_names.parse(d));
  }
  o.gemm = !no_gemm;
  o.memory = !no_memory;
  o.launch = !no_launch;
  o.sweep.transformer = !no_transformer;
  o.sweep.grid = !no_grid;
  try {
    for (const std::string& file : plans) {
      for (const ComputeBlock& block : read_plan(file).blocks) {
        for (const Kernel& k : block.kernels) {
          if ((k.kind == KernelKind::gemm || k.kind == KernelKind::attention) && k.gemm.m > 0)
            o.sweep.extra.push_back({k.gemm.m, k.gemm.n, k.gemm.k, k.gemm.batch});
        }
      }
    }
    std::unique_ptr<ComputeBackend> backend = make_backend();
    Measurements measurements;
    measurements.runs.push_back(run_compute_bench(*backend, o, std::cerr));
    write_output_file(output, write_measurements(measurements));
    std::cerr << "wrote " << output << "\n";
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace scaleplan
