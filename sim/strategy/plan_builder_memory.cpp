// Parameters per pipeline stage and what a rank keeps of them: weights, gradients and optimizer
// state, sharded by ZeRO.
#include <algorithm>

#include "sim/strategy/plan_builder_detail.hpp"

namespace scaleplan {

using namespace plan_detail;

BytesPerParameter bytes_per_parameter(Dtype dtype) {
  if (dtype == Dtype::fp32 || dtype == Dtype::tf32)
    return {4, 4, 8, 28};
  // Read: 16-bit weight, fp32 gradient, master, two moments (18); write: all but the gradient (14).
  return {2, 4, 12, 32};
}

ParameterSplit stage_parameters(const TrainingJob& job, int stage) {
  const auto& m = job.model;
  const auto& p = job.parallelism;
  if (!runs_partitioned(job))
    return {graph_stage_dense_parameters(job, stage), 0};
  // Model chunk c runs on stage c mod pp.
  const auto layers = layers_of_chunks(job);
  ParameterSplit params;
  std::int64_t first = 0;
  for (std::size_t c = 0; c < layers.size(); first += layers[c], ++c) {
    if (static_cast<int>(c % p.pp) != stage)
      continue;
    for (std::int64_t l = first; l < first + layers[c]; ++l) {
      const ParameterSplit layer = layer_parameters_per_rank(m, l, p.tp, p.ep);
      params.dense += layer.dense;
      params.expert += layer.expert;
    }
  }
  const double vocab_shard = static_cast<double>(m.vocab) / p.tp * static_cast<double>(m.hidden);
  if (stage == 0) {
    params.dense += vocab_shard;
    if (m.learned_positions)
      params.dense += static_cast<double>(m.seq_len * m.hidden);
  }
  if (stage == p.pp - 1) {
    for (std::int64_t k = 0; k < m.mtp_layers; ++k) {
      const ParameterSplit layer = layer_parameters_per_rank(m, m.layers + k, p.tp, p.ep);
      params.dense += layer.dense;
      params.expert += layer.expert;
    }
    params.dense += output_parameters_per_rank(m, p);
  }
  return params;
}

double embedding_parameters_per_rank(const TransformerConfig& m, const ParallelismSpec& p) {
  return static_cast<double>(m.vocab / p.tp * m.hidden) +
         (m.learned_positions ? static_cast<double>(m.seq_len * m.hidden) : 0.0);
}

double output_parameters_per_rank(const TransformerConfig& m, const ParallelismSpec& p) {
  const double vocab_shard = static_cast<double>(m.vocab) / p.tp * static_cast<double>(m.hidden);
  double params = static_cast<double>(m.norm_parameters_per_hidden * m.hidden) +
                  static_cast<double>(m.mtp_layers) * mtp_extra_parameters_per_rank(m, p.tp);
  // The output projection: its own matrix, or (tied) a copy of the embedding that the last stage
  // keeps in step with the first through a gradient all-reduce.
  if (!m.tied_embeddings || p.pp > 1)
    params += vocab_shard;
  // The prediction modules' embedding lookup keeps such a copy beside an untied projection.
  if (!m.tied_embeddings && p.pp > 1 && m.mtp_layers > 0)
    params += vocab_shard;
  return params;
}

double graph_stage_dense_parameters(const TrainingJob& job, int stage) {
  const std::vector<std::int64_t> layers = layers_of_chunks(job);
  std::int64_t first = 0;
  for (int s = 0; s < stage; ++s)
    first += layers[static_cast<std::size_t>(s)];
  double params = 0;
  for (std::int64_t l = first; l < first + layers[static_cast<std::size_t>(stage)]; ++l)
    params += graph_dense_parameters(job.graph->layers[static_cast<std::size_t>(l)]);
  return params;
}

ReplicaCounts replica_counts(const ParallelismSpec& p) {
  return {p.dp * p.cp, p.dp / p.ep * p.cp};
}

double sharded_bytes(const ParameterSplit& params, double bytes_per_parameter,
                     const ParallelismSpec& p, int zero_stage) {
  const ReplicaCounts replicas = replica_counts(p);
  const bool shard = p.zero >= zero_stage;
  // Across slices (sharding 2d) each block of dp / dcn_dp data-parallel indices holds a copy.
  return params.dense * bytes_per_parameter / (shard ? replicas.dense / p.dcn_dp : 1.0) +
         params.expert * bytes_per_parameter / (shard ? replicas.expert : 1.0);
}

double gradient_reduction_bytes(const TrainingJob& job) {
  return gradient_reduction_bytes(job.framework.grad_reduce_dtype, job.training.dtype);
}

double gradient_bucket_bytes(const TrainingJob& job) {
  const auto& p = job.parallelism;
  return p.grad_bucket_bytes > 0 ? p.grad_bucket_bytes
                                 : std::max(40e6, 1e6 * p.dp) * gradient_reduction_bytes(job);
}

double zero3_prefetched_parameters(const TrainingJob& job, double layer_parameters) {
  const auto& budget = job.framework.zero3_prefetch_parameters;
  return budget ? std::min(*budget, layer_parameters) : layer_parameters;
}

double zero3_gathered_parameters(const TrainingJob& job) {
  const auto& p = job.parallelism;
  const double layer = layer_parameters_per_rank(job.model, 0, p.tp, p.ep).total();
  // The layer computing and what is gathered ahead of it, at most the live-parameter budget.
  const double gathered = layer + zero3_prefetched_parameters(job, layer);
  const auto& live = job.framework.zero3_max_live_parameters;
  return live ? std::min(gathered, std::max(*live, layer)) : gathered;
}

StaticMemory static_memory_of_stage(const TrainingJob& job, int stage) {
  StaticMemory memory = static_memory_of_stage(job, stage_parameters(job, stage));
  if (job.graph && has_layer_kind(*job.graph, LayerKind::embedding)) {
    // Embedding tables sharded over the data-parallel ranks, with their optimizer state; their
    // gradients never exist whole (the update is fused into their backward).
    const std::vector<std::int64_t> layers = layers_of_chunks(job);
    std::int64_t first = 0;
    for (int s = 0; s < stage; ++s)
      first += layers[static_cast<std::size_t>(s)];
    for (std::int64_t l = first; l < first + layers[static_cast<std::size_t>(stage)]; ++l) {
      const GraphLayer& layer = job.graph->layers[static_cast<std::size_t>(l)];
      const double params = graph_embedding_parameters(layer) / job.parallelism.dp;
      memory.weights_bytes += params * 4.0;
      memory.optimizer_bytes += params * (embedding_bytes_per_parameter(layer) - 4.0);
    }
  }
  return memory;
}

bool fp32_parameter_shards_on(const TrainingJob& job) {
  return job.framework.fp32_parameter_shards && job.parallelism.zero >= 3 &&
         bytes_per_parameter(job.training.dtype).weights < bytes_per_element(Dtype::fp32);
}

StaticMemory static_memory_of_stage(const TrainingJob& job, const ParameterSplit& params) {
  const BytesPerParameter per = bytes_per_parameter(job.training.dtype);
  StaticMemory memory;
  const auto& p = job.parallelism;
  // Gradients are reduced, and ZeRO shards, over data and context parallel ranks together: both
  // hold the same weights.
  const double dp = static_cast<double>(p.shard_ways());
  // ZeRO shards the optimizer state (stage 1), the gradients (2) and the weights (3) over the
  // data-parallel group (the expert data-parallel group for routed experts).
  // Kept as fp32 shards (FrameworkSpec::fp32_parameter_shards), the fully sharded weights are
  // the master copy itself: the optimizer state holds the two moments alone.
  const bool fp32_shards = fp32_parameter_shards_on(job);
  const double master_bytes = fp32_shards ? bytes_per_element(Dtype::fp32) : 0.0;
  memory.weights_bytes = sharded_bytes(params, fp32_shards ? master_bytes : per.weights, p, 3);
  const double gradient_bytes =
      job.framework.gradient_buffer_in_reduce_dtype ? gradient_reduction_bytes(job) : per.gradients;
  memory.gradients_bytes = sharded_bytes(params, gradient_bytes, p, 2);
  if (bf16_optimizer_on(job)) {
    // BF16_Optimizer keeps the fp32 gradients above (fp32_groups_gradients_flat, the whole of
    // the rank's parameters, which it all-reduces) beside the bf16 ones that backward writes into
    // param.grad and update_hp_grads adds into them (deepspeed/runtime/bf16_optimizer.py).
    memory.gradients_bytes += params.total() * bytes_per_element(job.training.dtype);
  }
  memory.optimizer_bytes = sharded_bytes(params, per.optimizer - master_bytes, p, 1);
  if (p.zero >= 2 && dp > 1) {
    // The gradients being reduced are held whole until their reduce-scatter ends: a bucket of
    // them under ZeRO-2; under ZeRO-3, which reduce-scatters each layer's gradients right after
    // its backward (FSDP's post-backward hook, XLA's per-layer reduce-scatters), one layer's as
    // backward writes them, and their copy in the reduce dtype where the framework makes one.
    const double written = bytes_per_element(non_gemm_dtype(job.training.dtype));
    const double copy =
        job.framework.zero3_reduce_dtype_copy && gradient_reduction_bytes(job) != written
            ? gradient_reduction_bytes(job)
            : 0.0;
    memory.communication_buffer_bytes +=
        p.zero >= 3 ? layer_parameters_per_rank(job.model, 0, p.tp, p.ep).total() * (written + copy)
                    : gradient_bucket_bytes(job);
  }
  if (p.zero >= 3 && dp > 1)
    memory.communication_buffer_bytes += zero3_gathered_parameters(job) * per.weights;
  return memory;
}

}  // namespace scaleplan
