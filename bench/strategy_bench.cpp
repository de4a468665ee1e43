// Checks per second of check_strategy, the rules a planner applies to every candidate plan
// before it estimates or simulates one: GPT-3 175B on 1,024 GPUs (128 nodes of 8), as a valid
// strategy and as one that breaks a rule (whose message is then built).
#include <benchmark/benchmark.h>

#include "models/transformer.hpp"
#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {
namespace {

ClusterSpec cluster_of_1024() {
  ClusterSpec cluster;
  cluster.device.name = "bench-gpu";
  cluster.device.peak_flops_per_s[Dtype::bf16] = Figure{989e12, "H100 SXM bf16 dense peak"};
  cluster.nodes = 128;
  cluster.devices_per_node = 8;
  return cluster;
}

// tp 8, pp 16, dp 8 (Megatron-LM's GPT-3 175B layout), 1,536 sequences per step.
TrainingJob gpt3_job() {
  TrainingJob job;
  job.model = *transformer_preset("gpt3-175b");
  job.training.global_batch = 1536;
  job.training.micro_batch = 1;
  job.parallelism.tp = 8;
  job.parallelism.pp = 16;
  job.parallelism.dp = 8;
  job.parallelism.schedule = PipelineSchedule::interleaved_1f1b;
  job.parallelism.virtual_stages = 2;
  return job;
}

void BM_CheckStrategyValid(benchmark::State& state) {
  const ClusterSpec cluster = cluster_of_1024();
  const TrainingJob job = gpt3_job();
  if (!check_strategy(cluster, job).empty())
    state.SkipWithError("the GPT-3 job breaks a rule");
  for (auto _ : state)
    benchmark::DoNotOptimize(check_strategy(cluster, job));
  state.counters["checks_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CheckStrategyValid);

// tp 5 divides neither the 96 heads, the FFN, the vocabulary nor the 1,024 devices: several
// problems, each with its message.
void BM_CheckStrategyBroken(benchmark::State& state) {
  const ClusterSpec cluster = cluster_of_1024();
  TrainingJob job = gpt3_job();
  job.parallelism.tp = 5;
  for (auto _ : state)
    benchmark::DoNotOptimize(check_strategy(cluster, job));
  state.counters["checks_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CheckStrategyBroken);

}  // namespace
}  // namespace scaleplan

BENCHMARK_MAIN();
