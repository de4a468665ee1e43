#include "sim/scenario/stage_balance.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "sim/simulate/op_jitter.hpp"
#include "sim/strategy/plan_quantities.hpp"

namespace scaleplan {

namespace {

double time_of(const std::vector<Kernel>& kernels, const ComputeModel& compute) {
  double s = 0;
  for (const Kernel& k : kernels)
    s += compute.kernel_time_s(k);
  return s;
}

}  // namespace

std::vector<double> layer_times_s(const TrainingJob& job, const ComputeModel& compute) {
  const auto& p = job.parallelism;
  const auto& t = job.training;
  std::vector<double> times;
  if (!runs_partitioned(job)) {
    for (const GraphLayer& layer : job.graph->layers) {
      const GraphLayerWork w = graph_layer_work(layer, t.micro_batch, p.dp, t.dtype);
      times.push_back(time_of(w.forward, compute) + time_of(w.backward, compute));
    }
    return times;
  }
  const LayerPartition partition{p.tp, p.cp, p.sequence_parallel, p.ep};
  const LayerWork layer = framework_transformer_layer(job);
  const double dense = time_of(layer.attention.forward, compute) +
                       time_of(layer.attention.backward(), compute) +
                       time_of(layer.mlp.forward, compute) + time_of(layer.mlp.backward(), compute);
  times.assign(static_cast<std::size_t>(job.model.layers), dense);
  if (job.model.is_moe()) {
    const MoeWork moe = moe_mlp(job.model, t.micro_batch, partition, t.dtype, p.recompute_modules);
    double moe_time =
        time_of(layer.attention.forward, compute) + time_of(layer.attention.backward(), compute);
    for (const Block* b : {&moe.router, &moe.experts, &moe.shared, &moe.combine})
      moe_time += time_of(b->forward, compute) + time_of(b->backward(), compute);
    for (std::int64_t l = 0; l < job.model.layers; ++l) {
      if (job.model.is_moe_layer(l))
        times[static_cast<std::size_t>(l)] = moe_time;
    }
  }
  const Block embedding = embedding_block(job.model, t.micro_batch, partition, t.dtype);
  const Block output = framework_output_block(job);
  times.front() += time_of(embedding.forward, compute) + time_of(embedding.backward(), compute);
  // The multi-token prediction layers (MoE ones in an MoE model) ride with the output head.
  const double mtp_layer = job.model.is_moe() ? times.back() : dense;
  times.back() += static_cast<double>(job.model.mtp_layers) * mtp_layer +
                  time_of(output.forward, compute) + time_of(output.backward(), compute);
  return times;
}

std::vector<std::int64_t> balanced_stage_layers(const TrainingJob& job,
                                                const ComputeModel& compute) {
  return balance_layers(layer_times_s(job, compute), job.parallelism.pp);
}

std::vector<std::int64_t> balanced_stage_layers(const TrainingJob& job,
                                                const ClusterSpec& cluster) {
  if (!cluster.ranks_differ())
    return balanced_stage_layers(job, RooflineModel(cluster.device));
  const auto devices = static_cast<std::size_t>(cluster.device_count());
  std::vector<double> factor(devices, 1.0);
  for (const DeviceSlowdown& s : cluster.slowdowns) {
    factor[static_cast<std::size_t>(s.device)] =
        s.factor * (s.jitter ? op_jitter_mean(*s.jitter) : 1.0);
  }
  // Layer times per device kind, computed once each.
  std::map<std::string, std::vector<double>> times_of_kind;
  const auto times_on = [&](const DeviceSpec& device) -> const std::vector<double>& {
    auto found = times_of_kind.find(device.name);
    if (found == times_of_kind.end())
      found = times_of_kind.emplace(device.name, layer_times_s(job, RooflineModel(device))).first;
    return found->second;
  };
  const int pp = job.parallelism.pp;
  const int per_stage = cluster.device_count() / pp;
  std::vector<std::vector<std::vector<double>>> costs(static_cast<std::size_t>(pp));
  for (int stage = 0; stage < pp; ++stage) {
    // The slowest factor of each device kind in the stage: the others of its kind are faster.
    std::map<std::string, std::pair<const DeviceSpec*, double>> slowest;
    for (int d = stage * per_stage; d < (stage + 1) * per_stage; ++d) {
      const DeviceSpec& device = cluster.device_at(d);
      auto& entry = slowest[device.name];
      entry.first = &device;
      entry.second = std::max(entry.second, factor[static_cast<std::size_t>(d)]);
    }
    for (const auto& [name, entry] : slowest) {
      std::vector<double> times = times_on(*entry.first);
      for (double& t : times)
        t *= entry.second;
      costs[static_cast<std::size_t>(stage)].push_back(std::move(times));
    }
  }
  return balance_layers_by_stage(costs);
}

}  // namespace scaleplan
