// What one micro-batch costs per layer, following the plan builder's order of ops
// (plan_builder.cpp, plan_builder_moe.cpp, plan_builder_comm.cpp): tensor-parallel collectives
// on the chain around each block, or with the framework's tp_comm_overlap beside it but for the
// reduce-scatter's last chunk, as the simulator runs them; ring attention's exchanges and
// sequence parallelism's input all-gather beside the compute they overlap (only what outlasts
// that compute is exposed), MoE's all-to-alls and expert tensor-parallel collectives on the
// chain.
#include "sim/planner/layer_costs.hpp"

#include <algorithm>

#include "sim/strategy/plan_quantities.hpp"

namespace scaleplan {

namespace {

struct BlockTimes {
  double forward_s = 0;
  double input_gradient_s = 0;
  double weight_gradient_s = 0;
  double selective_recompute_s = 0;
  double backward_s() const { return input_gradient_s + weight_gradient_s; }
};

double kernels_s(const ComputeModel& compute, const std::vector<Kernel>& kernels) {
  double total = 0;
  for (const Kernel& k : kernels)
    total += compute.kernel_time_s(k);
  return total;
}

BlockTimes block_times(const ComputeModel& compute, const Block& block) {
  return {kernels_s(compute, block.forward), kernels_s(compute, block.backward_input),
          kernels_s(compute, block.backward_weight), kernels_s(compute, block.recompute_selective)};
}

// The collectives around blocks, per micro-batch.
struct CommTimes {
  double tp_all_reduce_s = 0;
  double tp_all_gather_s = 0;
  double tp_reduce_scatter_s = 0;
  double cp_all_gather_s = 0;
  double cp_reduce_scatter_s = 0;
  double ep_all_to_all_s = 0;
  double expert_tp_all_gather_s = 0;
  double expert_tp_reduce_scatter_s = 0;
  // With tp_comm_overlap: the reduce-scatter's tp - 1 chunks that run beside the block that
  // produces them, and its last chunk, which runs after the block (StageBuilder::tp_after).
  double tp_reduce_scatter_beside_s = 0;
  double tp_reduce_scatter_last_chunk_s = 0;
};

CommTimes comm_times(const TrainingJob& job, const std::optional<MoeWork>& moe,
                     CollectivePrices& prices) {
  const ParallelismSpec& p = job.parallelism;
  const auto price = [&](GroupKind group, CollectiveKind kind, double bytes) {
    return prices.collective_s(group, kind, bytes, p, Concurrency::world);
  };
  const double tp_bytes = tensor_parallel_bytes(job);
  const double kv_bytes = context_parallel_kv_bytes(job);
  CommTimes c;
  c.tp_all_reduce_s = price(GroupKind::tp, CollectiveKind::all_reduce, tp_bytes);
  c.tp_all_gather_s = price(GroupKind::tp, CollectiveKind::all_gather, tp_bytes);
  c.tp_reduce_scatter_s = price(GroupKind::tp, CollectiveKind::reduce_scatter, tp_bytes);
  c.cp_all_gather_s = price(GroupKind::cp, CollectiveKind::all_gather, kv_bytes);
  c.cp_reduce_scatter_s = price(GroupKind::cp, CollectiveKind::reduce_scatter, kv_bytes);
  if (tp_comm_overlap_on(job)) {
    const double tp = p.tp;
    c.tp_reduce_scatter_beside_s =
        price(GroupKind::tp, CollectiveKind::reduce_scatter, tp_bytes * (tp - 1) / tp);
    c.tp_reduce_scatter_last_chunk_s =
        price(GroupKind::tp, CollectiveKind::reduce_scatter, tp_bytes / tp);
  }
  if (moe) {
    const std::optional<ExpertDispatch> dispatch = expert_dispatch_of(job);
    c.ep_all_to_all_s = dispatch
                            ? prices.expert_dispatch_s(p, *dispatch, moe->dispatch_bytes)
                            : price(GroupKind::ep, CollectiveKind::all_to_all, moe->dispatch_bytes);
    c.expert_tp_all_gather_s =
        price(GroupKind::tp, CollectiveKind::all_gather, moe->expert_tp_bytes);
    c.expert_tp_reduce_scatter_s =
        price(GroupKind::tp, CollectiveKind::reduce_scatter, moe->expert_tp_bytes);
  }
  return c;
}

// What exposed communication a block's pass adds: the tensor-parallel collectives on the chain
// before and after it (tp_before, tp_after), and what runs beside it (ring attention's
// exchanges, sequence parallelism's input all-gather) beyond the block's own compute.
struct Around {
  double before_s = 0;
  double after_s = 0;
  double beside_s = 0;
};

PassCost pass(double compute_s, const Around& around) {
  return {compute_s, around.before_s + around.after_s + std::max(0.0, around.beside_s - compute_s)};
}

// Attention and dense MLP, forward and backward, with what tensor and context parallelism add
// around each (plan_builder.cpp: forward_step and backward_step; plan_builder_comm.cpp:
// tp_before, tp_after, regather_input).
struct DenseArounds {
  Around attention_forward, mlp_forward, attention_backward, mlp_backward;
};

DenseArounds dense_arounds(const TrainingJob& job, const CommTimes& c) {
  const ParallelismSpec& p = job.parallelism;
  DenseArounds a;
  const bool tp = p.tp > 1;
  const bool sp = tp && p.sequence_parallel;
  const double regather = sp ? c.tp_all_gather_s : 0;
  // Ring attention's exchanges run one after the other on their stream, beside the attention.
  const double cp_forward = p.cp > 1 ? c.cp_all_gather_s : 0;
  const double cp_backward = p.cp > 1 ? c.cp_all_gather_s + c.cp_reduce_scatter_s : 0;
  if (tp_comm_overlap_on(job)) {
    // The all-gather, the backward's input all-gather and tp - 1 chunks of the reduce-scatter
    // run one after the other on the tensor-parallel stream beside the block; only the
    // reduce-scatter's last chunk follows it on the chain.
    const double forward_beside = c.tp_all_gather_s + c.tp_reduce_scatter_beside_s;
    const double backward_beside = forward_beside + regather;
    const double after = c.tp_reduce_scatter_last_chunk_s;
    a.attention_forward = {0, after, std::max(cp_forward, forward_beside)};
    a.mlp_forward = {0, after, forward_beside};
    a.attention_backward = {0, after, std::max(cp_backward, backward_beside)};
    a.mlp_backward = {0, after, backward_beside};
    return a;
  }
  const double before = sp ? c.tp_all_gather_s : 0;
  const double after = !tp ? 0 : sp ? c.tp_reduce_scatter_s : c.tp_all_reduce_s;
  // The input all-gather runs beside the backward on the tensor-parallel stream.
  a.attention_forward = {before, after, cp_forward};
  a.mlp_forward = {before, after, 0};
  a.attention_backward = {before, after, std::max(cp_backward, regather)};
  a.mlp_backward = {before, after, regather};
  return a;
}

LayerCost dense_layer(const LayerWork& work, const BlockTimes& attention, const BlockTimes& mlp,
                      const DenseArounds& a, Recompute recompute, bool mlp_recompute_whole) {
  LayerCost cost;
  cost.forward = pass(attention.forward_s, a.attention_forward);
  cost.forward += pass(mlp.forward_s, a.mlp_forward);
  PassCost redo;
  if (recompute == Recompute::full) {
    redo = cost.forward;
  } else if (recompute == Recompute::selective) {
    redo.compute_s = attention.selective_recompute_s;
    // The whole MLP with its tensor-parallel traffic (mlp), or its norm alone (layernorm).
    if (!work.mlp.recompute_selective.empty())
      redo += mlp_recompute_whole ? pass(mlp.selective_recompute_s, a.mlp_forward)
                                  : PassCost{mlp.selective_recompute_s, 0.0};
  }
  cost.backward = redo;
  cost.backward += pass(mlp.backward_s(), a.mlp_backward);
  cost.backward += pass(attention.backward_s(), a.attention_backward);
  cost.input_gradient = redo;
  cost.input_gradient += pass(mlp.input_gradient_s, a.mlp_backward);
  cost.input_gradient += pass(attention.input_gradient_s, a.attention_backward);
  cost.weight_gradient.compute_s = attention.weight_gradient_s + mlp.weight_gradient_s;
  const LayerActivations activations = layer_activations(work, recompute);
  cost.stored_bytes = activations.attention_stored + activations.mlp_stored;
  cost.kept_bytes = activations.attention_kept + activations.mlp_kept;
  // The MLP's recompute is freed by its backward before the attention's runs.
  cost.transient_bytes =
      recompute == Recompute::full ? work.attention.activation_bytes + work.mlp.activation_bytes
      : recompute == Recompute::selective ? std::max(work.attention.selective_recompute_saved_bytes,
                                                     work.mlp.selective_recompute_saved_bytes)
                                          : 0.0;
  return cost;
}

struct MoeTimes {
  BlockTimes router, experts, shared, combine;
};

// An MoE layer: the attention as in a dense layer, then the MLP's blocks with their all-to-alls
// and expert tensor-parallel collectives on the chain (plan_builder_moe.cpp); tp > 1 comes with
// sequence parallelism.
LayerCost moe_layer(const LayerWork& work, const MoeWork& moe, const BlockTimes& attention,
                    const MoeTimes& t, const DenseArounds& a, const CommTimes& c,
                    const ParallelismSpec& p, Recompute recompute) {
  const bool shared = !moe.shared.forward.empty();
  const double a2a = p.ep > 1 ? c.ep_all_to_all_s : 0;
  const double gather = p.tp > 1 ? c.expert_tp_all_gather_s : 0;
  const double scatter = p.tp > 1 ? c.expert_tp_reduce_scatter_s : 0;
  const double chain_comm = 2 * a2a + gather + scatter;
  LayerCost cost;
  PassCost mlp_forward{t.router.forward_s + t.experts.forward_s + t.combine.forward_s, chain_comm};
  if (shared)
    mlp_forward += pass(t.shared.forward_s, a.mlp_forward);
  cost.forward = pass(attention.forward_s, a.attention_forward);
  cost.forward += mlp_forward;
  PassCost redo;
  if (recompute == Recompute::full)
    redo = cost.forward;
  else if (recompute == Recompute::selective)
    redo.compute_s = attention.selective_recompute_s + t.router.selective_recompute_s +
                     t.experts.selective_recompute_s;
  // The combine has no weights: its backward is all input gradient.
  const auto backward = [&](bool split) {
    const auto part = [&](const BlockTimes& b) {
      return split ? b.input_gradient_s : b.backward_s();
    };
    PassCost cost_of = redo;
    cost_of += PassCost{part(t.combine) + part(t.experts) + part(t.router), chain_comm};
    if (shared)
      cost_of += pass(part(t.shared), a.mlp_backward);
    cost_of += pass(part(attention), a.attention_backward);
    return cost_of;
  };
  cost.backward = backward(false);
  cost.input_gradient = backward(true);
  cost.all_to_all_s = 4 * a2a;
  cost.weight_gradient.compute_s = attention.weight_gradient_s + t.router.weight_gradient_s +
                                   t.experts.weight_gradient_s + t.shared.weight_gradient_s;
  const LayerActivations activations = layer_activations(work, recompute);
  double mlp_stored = 0;
  for (const Block* b : {&moe.router, &moe.experts, &moe.shared, &moe.combine})
    mlp_stored += forward_kept_bytes(*b, recompute);
  cost.stored_bytes =
      activations.attention_stored + (recompute == Recompute::full ? 0.0 : mlp_stored);
  cost.kept_bytes = activations.attention_kept + weight_gradient_kept_bytes(moe.router) +
                    weight_gradient_kept_bytes(moe.experts) +
                    weight_gradient_kept_bytes(moe.shared);
  cost.transient_bytes = recompute == Recompute::full ? work.attention.activation_bytes + mlp_stored
                         : recompute == Recompute::selective
                             ? std::max({work.attention.selective_recompute_saved_bytes,
                                         moe.router.selective_recompute_saved_bytes,
                                         moe.experts.selective_recompute_saved_bytes})
                             : 0.0;
  return cost;
}

}  // namespace

LayerCosts layer_costs(const TrainingJob& job, const ComputeModel& compute,
                       CollectivePrices& prices) {
  const ParallelismSpec& p = job.parallelism;
  const TransformerConfig& m = job.model;
  const Dtype dtype = job.training.dtype;
  const std::int64_t mb = job.training.micro_batch;
  const LayerPartition partition{p.tp, p.cp, p.sequence_parallel, p.ep};
  const LayerWork work = framework_transformer_layer(job);
  std::optional<MoeWork> moe;
  if (m.is_moe())
    moe = moe_mlp(m, mb, partition, dtype, p.recompute_modules);
  const CommTimes c = comm_times(job, moe, prices);
  const DenseArounds arounds = dense_arounds(job, c);
  const BlockTimes attention = block_times(compute, work.attention);
  const BlockTimes mlp = block_times(compute, work.mlp);

  LayerCosts costs;
  for (Recompute r : {Recompute::none, Recompute::selective, Recompute::full})
    costs.dense[static_cast<std::size_t>(r)] =
        dense_layer(work, attention, mlp, arounds, r, p.recompute_modules.mlp);
  if (moe) {
    const MoeTimes t{block_times(compute, moe->router), block_times(compute, moe->experts),
                     block_times(compute, moe->shared), block_times(compute, moe->combine)};
    for (Recompute r : {Recompute::none, Recompute::selective, Recompute::full}) {
      costs.moe[static_cast<std::size_t>(r)] =
          moe_layer(work, *moe, attention, t, arounds, c, p, r);
    }
  }

  // The embedding's tensor-parallel collective follows its forward; its backward is its weight
  // gradient alone. The output head's collective follows its backward, which is never split.
  const bool tp = p.tp > 1;
  const double embedding_collective = !tp                   ? 0
                                      : p.sequence_parallel ? c.tp_reduce_scatter_s
                                                            : c.tp_all_reduce_s;
  const Block embedding = embedding_block(m, mb, partition, dtype);
  const BlockTimes e = block_times(compute, embedding);
  costs.embedding.forward = {e.forward_s, embedding_collective};
  costs.embedding.backward = {e.backward_s(), 0};
  costs.embedding.weight_gradient = costs.embedding.backward;
  const Block output = framework_output_block(job);
  const BlockTimes o = block_times(compute, output);
  costs.output.forward = {o.forward_s, 0};
  // The output head's collective follows its backward as any block's (tp_after).
  costs.output.backward = tp_comm_overlap_on(job)
                              ? pass(o.backward_s(), {0, c.tp_reduce_scatter_last_chunk_s,
                                                      c.tp_reduce_scatter_beside_s})
                              : PassCost{o.backward_s(), embedding_collective};
  costs.output.input_gradient = costs.output.backward;
  costs.output.stored_bytes = output.activation_bytes;

  if (p.pp > 1)
    costs.message_s = prices.message_s(p, stage_boundary_bytes(job));
  if (!m.is_moe() && replica_counts(p).dense > 1) {
    const BytesPerParameter per = bytes_per_parameter(dtype);
    const double params = layer_parameters_per_rank(m, 0, p.tp, p.ep).total();
    costs.layer_gather_s = prices.collective_s(GroupKind::dp, CollectiveKind::all_gather,
                                               params * per.weights, p, Concurrency::world);
    costs.layer_scatter_s =
        prices.collective_s(GroupKind::dp, CollectiveKind::reduce_scatter,
                            params * gradient_reduction_bytes(job), p, Concurrency::world);
  }
  return costs;
}

}  // namespace scaleplan
