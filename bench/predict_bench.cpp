// The value entry point as a planner calls it: a 1,024-GPU cluster and its network built once,
// then one plan predicted again and again from values, with no file read (the device comes from
// the catalog compiled into the library, everything else is set here).
#include <benchmark/benchmark.h>

#include <memory>
#include <ostream>
#include <streambuf>

#include "hardware/io/catalog.hpp"
#include "sim/report/prediction.hpp"
#include "sim/simulate/timeline_recorder.hpp"
#include "sim/timeline/chrome_trace.hpp"

namespace scaleplan {
namespace {

// 128 DGX A100 nodes (8 GPUs on NVSwitch, 8 × 200 Gb/s NICs) on a fat-tree of radix-40
// switches: bench/scenarios/gpt3-175b-1024xa100.yaml as values.
ClusterSpec a100_cluster_1024() {
  const Catalog& catalog = Catalog::builtin();
  ClusterSpec c;
  c.device = *catalog.find("A100-SXM4-80GB");
  c.nodes = 128;
  c.devices_per_node = 8;
  c.pcie.device_link_latency_s = catalog.network_defaults().nic_latency_s.value;
  c.network.link_bandwidth_bytes_per_s = 200e9 / 8;
  c.network.nics_per_node = 8;
  c.network.switch_radix = 40;
  c.network.switch_latency_s = catalog.network_defaults().switch_latency_s.value;
  c.network.nic_latency_s = catalog.network_defaults().nic_latency_s.value;
  return c;
}

// GPT-3 175B in Megatron-LM's layout for 1,024 GPUs (Narayanan et al., SC'21, table 1): tp 8,
// pp 8 interleaved by 2, dp 16, batch 1,536, full recompute.
TrainingJob gpt3_175b_job() {
  TrainingJob job;
  job.model = *transformer_preset("gpt3-175b");
  job.training.global_batch = 1536;
  job.training.micro_batch = 1;
  job.training.dtype = Dtype::bf16;
  job.parallelism.tp = 8;
  job.parallelism.pp = 8;
  job.parallelism.dp = 16;
  job.parallelism.schedule = PipelineSchedule::interleaved_1f1b;
  job.parallelism.virtual_stages = 2;
  job.parallelism.recompute = Recompute::full;
  return job;
}

// What every benchmark of that job starts from, built before its timed loop: the cluster, the
// job, the cluster's network and the device's compute model.
struct Gpt3On1024A100 {
  ClusterSpec cluster = a100_cluster_1024();
  TrainingJob job = gpt3_175b_job();
  ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
};

// What one plan evaluation costs once the network exists: build the plan, simulate the step
// (one data-parallel replica standing for 16, the default), summarise it. Reported per plan.
void BM_PredictFromValues(benchmark::State& state) {
  const Gpt3On1024A100 setup;
  const auto& [cluster, job, network, compute] = setup;
  Prediction p;
  for (auto _ : state) {
    p = predict({cluster, job, *compute, network});
    benchmark::ClobberMemory();
  }
  state.counters["plans_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  // What `scaleplan run bench/scenarios/gpt3-175b-1024xa100.yaml` predicts: the same values.
  state.counters["step_time_s"] = benchmark::Counter(p.step_time_s);
}
BENCHMARK(BM_PredictFromValues)->Unit(benchmark::kMillisecond)->MinTime(3);

// The same with the plan built once too: the simulation and the summary alone.
void BM_PredictBuiltPlan(benchmark::State& state) {
  const Gpt3On1024A100 setup;
  const auto& [cluster, job, network, compute] = setup;
  const RunSettings settings;
  const Plan plan = build_plan(job, settings.ranks);
  for (auto _ : state)
    benchmark::DoNotOptimize(predict({cluster, job, *compute, network, settings}, plan));
  state.counters["plans_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PredictBuiltPlan)->Unit(benchmark::kMillisecond)->MinTime(3);

// Every rank simulated (`run --all-ranks`): the 1,024 ranks' programs, each stage's shared by its
// 128 ranks, and every replica's collectives and messages. Issue 20: at most 5 s a step (wall
// time and peak memory: bench/scale_bench).
void BM_PredictAllRanks(benchmark::State& state) {
  const Gpt3On1024A100 setup;
  const auto& [cluster, job, network, compute] = setup;
  RunSettings settings;
  settings.ranks = RankScope::all_ranks;
  const Plan plan = build_plan(job, settings.ranks);
  Prediction p;
  for (auto _ : state) {
    p = predict({cluster, job, *compute, network, settings}, plan);
    benchmark::ClobberMemory();
  }
  state.counters["steps_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["step_time_s"] = benchmark::Counter(p.step_time_s);
}
BENCHMARK(BM_PredictAllRanks)->Unit(benchmark::kMillisecond)->Iterations(3);

// A stream that counts what it is given and keeps none of it.
class CountingBuffer final : public std::streambuf {
 public:
  std::uint64_t bytes = 0;

 protected:
  std::streamsize xsputn(const char*, std::streamsize n) override {
    bytes += static_cast<std::uint64_t>(n);
    return n;
  }
  int_type overflow(int_type c) override {
    ++bytes;
    return traits_type::not_eof(c);
  }
};

// The one-replica step recorded as `run --trace` records it (ops, memory, link rates): what the
// recording adds to BM_PredictBuiltPlan.
void BM_PredictRecorded(benchmark::State& state) {
  const Gpt3On1024A100 setup;
  const auto& [cluster, job, network, compute] = setup;
  const RunSettings settings;
  const Plan plan = build_plan(job, settings.ranks);
  for (auto _ : state) {
    TimelineRecorder recorder(plan, true);
    benchmark::DoNotOptimize(
        predict({cluster, job, *compute, network, settings}, plan, {&recorder}));
  }
  state.counters["plans_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PredictRecorded)->Unit(benchmark::kMillisecond)->MinTime(3);

// Writing that step's Chrome trace (1.3 million events, 192 MB of JSON) into a stream that keeps
// nothing, so that the formatting is timed and not the disk. Issue 20: no longer than the
// simulation (BM_PredictBuiltPlan).
void BM_WriteChromeTrace(benchmark::State& state) {
  const Gpt3On1024A100 setup;
  const auto& [cluster, job, network, compute] = setup;
  const RunSettings settings;
  const Plan plan = build_plan(job, settings.ranks);
  TimelineRecorder recorder(plan, true);
  predict({cluster, job, *compute, network, settings}, plan, {&recorder});
  const Timeline& timeline = recorder.timeline();
  CountingBuffer counted;
  std::ostream out(&counted);
  for (auto _ : state)
    write_chrome_trace(out, timeline, {});
  const auto events = static_cast<double>(timeline.ops.size() + timeline.memory.size());
  state.counters["events"] = benchmark::Counter(events);
  state.counters["events_per_s"] = benchmark::Counter(
      events * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["MB"] = benchmark::Counter(static_cast<double>(counted.bytes) /
                                            static_cast<double>(state.iterations()) / 1e6);
}
BENCHMARK(BM_WriteChromeTrace)->Unit(benchmark::kMillisecond)->MinTime(3);

// What each evaluation would cost on top without the shared network: building it (graph, latency
// calibration, the first route search).
void BM_PrepareNetwork(benchmark::State& state) {
  const ClusterSpec cluster = a100_cluster_1024();
  for (auto _ : state)
    benchmark::DoNotOptimize(prepare_network(cluster, Catalog::builtin()));
}
BENCHMARK(BM_PrepareNetwork)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace scaleplan

BENCHMARK_MAIN();
