// The planner's fast estimate, timed: Llama 3 70B (8,192-token sequences, 512 per step) on 1,024
// H100 (scenarios/planner/llama3-70b-1024xh100.yaml as values built in code). Reported per
// estimate on one core.
#include <benchmark/benchmark.h>

#include <memory>

#include "hardware/io/catalog.hpp"
#include "sim/planner/plan_estimate.hpp"
#include "sim/planner/planner.hpp"
#include "sim/planner/search_enumeration.hpp"
#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {
namespace {

// 128 DGX H100 nodes (8 GPUs on NVSwitch, 8 × 400 Gb/s NICs) on a fat-tree of radix-64 switches.
ClusterSpec h100_cluster_1024() {
  const Catalog& catalog = Catalog::builtin();
  ClusterSpec c;
  c.device = *catalog.find("H100-SXM5-80GB");
  c.nodes = 128;
  c.devices_per_node = 8;
  c.pcie.device_link_latency_s = catalog.network_defaults().nic_latency_s.value;
  c.network.link_bandwidth_bytes_per_s = 400e9 / 8;
  c.network.nics_per_node = 8;
  c.network.switch_latency_s = catalog.network_defaults().switch_latency_s.value;
  c.network.nic_latency_s = catalog.network_defaults().nic_latency_s.value;
  return c;
}

TrainingJob llama3_70b_job() {
  TrainingJob job;
  job.model = *transformer_preset("llama3-70b");
  job.training.global_batch = 512;
  job.training.dtype = Dtype::bf16;
  return job;
}

// Every plan of the default search space that keeps the rules.
std::vector<TrainingJob> valid_plans(const ClusterSpec& cluster, const TrainingJob& base) {
  std::vector<TrainingJob> jobs;
  const SearchSpace space;
  for (const SearchShape& shape : search_shapes(space, cluster, base)) {
    for (const SearchVariant& variant : search_variants(space, shape, base)) {
      TrainingJob job = candidate_job(base, shape, variant);
      if (check_strategy(cluster, job).empty())
        jobs.push_back(std::move(job));
    }
  }
  return jobs;
}

// One estimate of a plan whose layer partition the estimator has seen (the search estimates
// every variant of a partition in a row): the plans of the whole space in turn, after one pass
// that fills the estimator's caches.
void BM_EstimatePlan(benchmark::State& state) {
  const ClusterSpec cluster = h100_cluster_1024();
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  const std::vector<TrainingJob> jobs = valid_plans(cluster, llama3_70b_job());
  PlanEstimator estimator(cluster, network, *compute, 0.115);
  for (const TrainingJob& job : jobs)
    benchmark::DoNotOptimize(estimator.estimate(job));
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(estimator.estimate(jobs[i]));
    i = i + 1 == jobs.size() ? 0 : i + 1;
  }
  state.counters["estimates_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["plans"] = static_cast<double>(jobs.size());
}
BENCHMARK(BM_EstimatePlan)->Unit(benchmark::kMicrosecond)->MinTime(2);

// The search's first phase from cold on one thread: enumerating the whole space, the rules,
// the layer costs and collective prices of each partition (nothing cached before), every
// estimate; no simulation (top_k 0). Reported per candidate enumerated.
void BM_SearchEstimatePhase(benchmark::State& state) {
  const ClusterSpec cluster = h100_cluster_1024();
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  SearchOptions options;
  options.top_k = 0;
  options.threads = 1;
  std::uint64_t candidates = 0;
  std::uint64_t estimated = 0;
  for (auto _ : state) {
    const PlanSearch search =
        search_plans(SearchSpace{}, cluster, network, *compute, llama3_70b_job(), options);
    candidates += search.counts.enumerated;
    estimated += search.counts.estimated + search.counts.pruned_by_memory;
  }
  state.counters["candidates_per_s"] =
      benchmark::Counter(static_cast<double>(candidates), benchmark::Counter::kIsRate);
  state.counters["estimates_per_s"] =
      benchmark::Counter(static_cast<double>(estimated), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SearchEstimatePhase)->Unit(benchmark::kMillisecond)->MinTime(5);

}  // namespace
}  // namespace scaleplan

BENCHMARK_MAIN();
