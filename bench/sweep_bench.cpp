// A sweep of 10,240 mid-size scenarios (64 to 1,024 GPUs) timed end to end, as `scaleplan sweep`
// runs it: two models, two devices, five cluster sizes, and the parallelism, micro-batch,
// recompute, ZeRO and batch axes (bench/README.md). Prints the scenarios per second on the threads
// given, and what each scenario costs besides its simulation: building it from the base and the
// axes (parsing) and, once per cluster, its network. A program, not Google Benchmark: one run is
// minutes long.
//   sweep_bench [SCENARIOS] [THREADS]   a sample of SCENARIOS evenly spread (default: all),
//                                       THREADS (default: every core)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include <fmt/format.h>

#include "hardware/input/parallel_for.hpp"
#include "hardware/io/catalog.hpp"
#include "sim/sweep/sweep_run.hpp"

namespace {

constexpr const char* bench_sweep = R"(name: bench-10k
base:
  cluster:
    device: H100-SXM5-80GB
    nodes: 8
    devices_per_node: 8
    node_fabric: nvswitch
    network: {topology: fat-tree, link_bandwidth_gbps: 400, nics_per_node: 8}
  model: {preset: gpt3-13b}
  training: {global_batch: 512, micro_batch: 1, dtype: bf16}
  parallelism: {tp: 1, pp: 1, schedule: 1f1b}
axes:
  model: [{preset: gpt3-13b}, {preset: llama2-7b}]
  cluster.device: [A100-SXM4-80GB, H100-SXM5-80GB]
  cluster.nodes: [8, 16, 32, 64, 128]
  parallelism.tp: [1, 2, 4, 8]
  parallelism.pp: [1, 2, 4, 8]
  training.micro_batch: [1, 2, 4, 8]
  parallelism.recompute: [none, full]
  parallelism.zero: [0, 1]
  training.global_batch: [512, 1024]
)";

double cpu_s() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  using namespace scaleplan;
  const sweep::Sweep s = sweep::parse_sweep(bench_sweep, "bench-10k.yaml", Catalog::builtin());
  const std::size_t wanted = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : s.size();
  const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
  const std::size_t sample = std::min(std::max<std::size_t>(wanted, 1), s.size());

  // The per-scenario overhead: building and reading each scenario, on one thread.
  sweep::SweepRunner runner(s, Catalog::builtin());
  auto workspace = runner.workspace();
  const std::size_t parses = std::min<std::size_t>(s.size(), 2000);
  std::size_t refused = 0;
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < parses; ++i) {
    try {
      (void)runner.scenario(i * (s.size() / parses), *workspace);
    } catch (const InputError&) {
      ++refused;
    }
  }
  const double parse_s = since(start) / static_cast<double>(parses);

  // The sweep: a sample spread evenly over the scenarios, the others marked done.
  sweep::SweepOptions options;
  options.threads = threads;
  options.done.assign(s.size(), true);
  for (std::size_t k = 0; k < sample; ++k)
    options.done[k * s.size() / sample] = false;
  std::size_t ok = 0;
  std::size_t devices = 0;
  const double cpu_start = cpu_s();
  start = std::chrono::steady_clock::now();
  const sweep::SweepSummary summary =
      sweep::run_sweep(runner, options, [&](const sweep::SweepRow& row) {
        if (row.ok()) {
          ++ok;
          devices += static_cast<std::size_t>(row.devices);
        }
      });
  const double wall_s = since(start);
  const double cpu = cpu_s() - cpu_start;
  std::printf("%s", fmt::format("sweep of {} scenarios (of {}), {} threads: {} ok, {} failed\n",
                                summary.ran, s.size(), worker_threads(threads), ok, summary.failed)
                        .c_str());
  std::printf("%s",
              fmt::format("  wall {:.1f} s, CPU {:.1f} s: {:.1f} scenarios/s, {:.2f} ms of "
                          "CPU a scenario; ok scenarios average {:.0f} devices\n",
                          wall_s, cpu, static_cast<double>(summary.ran) / wall_s,
                          1e3 * cpu / static_cast<double>(summary.ran),
                          ok > 0 ? static_cast<double>(devices) / static_cast<double>(ok) : 0.0)
                  .c_str());
  std::printf("%s", fmt::format("  building and reading a scenario: {:.0f} us ({} of {} refused "
                                "by the rules); {} clusters prepared\n",
                                parse_s * 1e6, refused, parses, runner.clusters_prepared())
                        .c_str());
  if (sample < s.size()) {
    std::printf("%s", fmt::format("  all {} at this rate: {:.1f} min\n", s.size(),
                                  static_cast<double>(s.size()) /
                                      (static_cast<double>(summary.ran) / wall_s) / 60)
                          .c_str());
  }
  return 0;
}
