#include "sim/scenario/stage_balance.hpp"

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
  if (job.graph) {
    for (const GraphLayer& layer : job.graph->layers) {
      const GraphLayerWork w = graph_layer_work(layer, t.micro_batch, p.dp, t.dtype);
      times.push_back(time_of(w.forward, compute) + time_of(w.backward, compute));
    }
    return times;
  }
  const LayerPartition partition{p.tp, p.cp, p.sequence_parallel, p.ep};
  const LayerWork layer = transformer_layer(job.model, t.micro_batch, partition, t.dtype);
  const double dense = time_of(layer.attention.forward, compute) +
                       time_of(layer.attention.backward(), compute) +
                       time_of(layer.mlp.forward, compute) + time_of(layer.mlp.backward(), compute);
  times.assign(static_cast<std::size_t>(job.model.layers), dense);
  if (job.model.is_moe()) {
    const MoeWork moe = moe_mlp(job.model, t.micro_batch, partition, t.dtype);
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
  const Block output = output_block(job.model, t.micro_batch, partition, t.dtype);
  times.front() += time_of(embedding.forward, compute) + time_of(embedding.backward(), compute);
  times.back() += time_of(output.forward, compute) + time_of(output.backward(), compute);
  return times;
}

std::vector<std::int64_t> balanced_stage_layers(const TrainingJob& job,
                                                const ComputeModel& compute) {
  return balance_layers(layer_times_s(job, compute), job.parallelism.pp);
}

}  // namespace scaleplan
