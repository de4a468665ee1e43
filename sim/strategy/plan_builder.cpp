#include "sim/strategy/plan_builder.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "sim/strategy/plan_builder_detail.hpp"
#include "sim/strategy/schedule.hpp"

namespace scaleplan {

using namespace plan_detail;

Plan build_plan(const TrainingJob& job, RankScope scope) {
  const auto& p = job.parallelism;
  const auto& m = job.model;
  if (p.ep < 1 || p.dp % p.ep != 0)
    throw std::invalid_argument("ep must divide dp: expert-parallel ranks are data-parallel ranks");
  if (p.ep > 1 && !m.is_moe())
    throw std::invalid_argument("expert parallelism needs a model with MoE layers");
  if (m.is_moe() && p.zero >= 3)
    throw std::invalid_argument("ZeRO-3 is not modelled for MoE models; use zero 0, 1 or 2");
  PlanParts parts;
  parts.layers_of_chunk = chunk_layers(m.layers, model_chunks(p));
  parts.first_layer_of_chunk.assign(parts.layers_of_chunk.size(), 0);
  for (std::size_t c = 1; c < parts.layers_of_chunk.size(); ++c) {
    parts.first_layer_of_chunk[c] =
        parts.first_layer_of_chunk[c - 1] + parts.layers_of_chunk[c - 1];
  }
  for (std::int64_t l = 0; l < m.layers; ++l)
    parts.layer_params.push_back(layer_parameters_per_rank(m, l, p.tp, p.ep));

  Plan plan;
  parts.blocks = make_blocks(plan, job);
  // With expert parallelism the replicas are blocks of ep data-parallel ranks (the ep groups,
  // identical to each other), so that every group spans whole replicas from the first on.
  if (scope == RankScope::one_replica && p.dp > p.ep)
    plan.replicas = {p.dp / p.ep, p.tp * p.cp * p.ep};
  const int world = p.world_size();
  plan.ranks.reserve(world / plan.replicas.count);
  parts.groups = make_groups(plan, job);

  // Every rank of a stage runs the same program on its own groups and pipeline peers, so the
  // first is built and the others copy it with those swapped: building (labels, dependencies) is
  // most of the cost of a plan with a thousand ranks.
  std::vector<int> built_of_stage(p.pp, -1);  // index in plan.ranks of the stage's built program
  for (int r = 0; r < world; ++r) {
    if (!listed(r, p, plan.replicas))
      continue;
    const int stage = coordinates_of(r, p).pp;
    if (const int built = built_of_stage[stage]; built >= 0) {
      plan.ranks.push_back(copy_program(plan, parts.groups, plan.ranks[built], r));
      continue;
    }
    built_of_stage[stage] = static_cast<int>(plan.ranks.size());
    RankProgram& program = plan.ranks.emplace_back();
    program.rank = r;
    program.device = r;
    program.static_memory = static_memory_of_stage(job, stage);
    StageBuilder(plan, program, job, parts).build();
  }
  return plan;
}

namespace plan_detail {

StageBuilder::StageBuilder(Plan& plan, RankProgram& program, const TrainingJob& job,
                           const PlanParts& parts)
    : plan_(plan),
      program_(program),
      job_(job),
      parts_(parts),
      groups_(parts.groups[program.rank]),
      b_(plan, program),
      per_(bytes_per_parameter(job.training.dtype)),
      replicas_(replica_counts(job.parallelism)),
      sharded_weights_(job.parallelism.zero >= 3 && replicas_.dense > 1),
      tp_on_(job.parallelism.tp > 1),
      tp_bytes_(
          static_cast<double>(job.training.micro_batch * job.model.seq_len / job.parallelism.cp) *
          static_cast<double>(job.model.hidden) * bytes_per_element(job.training.dtype)),
      grad_bucket_bytes_(gradient_bucket_bytes(job)) {}

void StageBuilder::build() {
  const auto& p = job_.parallelism;
  const auto& m = job_.model;
  const Blocks& blocks = parts_.blocks;
  const RankCoordinates c = coordinates_of(program_.rank, p);
  const int s = c.pp;
  const int next = rank_of({c.tp, c.cp, c.dp, (s + 1) % p.pp}, p);
  const int prev = rank_of({c.tp, c.cp, c.dp, (s + p.pp - 1) % p.pp}, p);
  const int chunks = model_chunks(p) / p.pp;
  const int microbatches = microbatches_per_replica(job_);
  // Activations cross a stage boundary split along the sequence under sequence parallelism.
  const double sp = p.sequence_parallel ? p.tp : 1;
  const double boundary_bytes = tp_bytes_ / sp;
  const double embedding_params =
      static_cast<double>(m.vocab / p.tp * m.hidden) +
      (m.learned_positions ? static_cast<double>(m.seq_len * m.hidden) : 0.0);
  const double output_params =
      static_cast<double>(m.norm_parameters_per_hidden * m.hidden) +
      (m.tied_embeddings && p.pp == 1 ? 0.0 : static_cast<double>(m.vocab / p.tp * m.hidden));
  const double attention_stored = p.recompute == Recompute::full
                                      ? blocks.layer.attention.input_bytes
                                  : p.recompute == Recompute::selective
                                      ? blocks.layer.attention.activation_bytes -
                                            blocks.layer.attention.selective_recompute_saved_bytes
                                      : blocks.layer.attention.activation_bytes;
  const double mlp_stored = p.recompute == Recompute::full ? 0 : blocks.layer.mlp.activation_bytes;
  // Activation memory of a layer's backward. Run whole, it frees everything the forward (or
  // the recompute) kept. Split (zero bubble), the input gradient frees all but what the weight
  // gradient reads and adds the output gradients it makes for it; the weight gradient frees
  // those when it ends (Block::weight_gradient_inputs_bytes, weight_gradient_operands_bytes).
  // An MoE layer's MLP does the same block by block (moe_backward, moe_weight_gradient).
  const auto& attention = blocks.layer.attention;
  const auto& mlp = blocks.layer.mlp;
  const double attention_freed =
      attention.activation_bytes + (p.recompute == Recompute::full ? attention.input_bytes : 0.0);
  const double attention_kept = weight_gradient_kept_bytes(attention);
  const double mlp_kept = weight_gradient_kept_bytes(mlp);

  for (const PipelineStep& step : pipeline_order(p.schedule, s, p.pp, microbatches, chunks)) {
    const int mb = step.microbatch;
    const int model_chunk = step.chunk * p.pp + s;
    const bool first_chunk = model_chunk == 0;
    const bool last_chunk = model_chunk == p.pp * chunks - 1;
    const std::int64_t first_layer = parts_.first_layer_of_chunk[model_chunk];
    const std::int64_t layers_per_chunk = parts_.layers_of_chunk[model_chunk];
    const bool last_microbatch = mb == microbatches - 1;
    if (step.pass == PipelinePass::forward) {
      if (!first_chunk)
        b_.recv(prev, boundary_bytes, Stream::pp_recv_prev, "recv activations", mb);
      if (first_chunk) {
        b_.compute(blocks.embedding_forward, "embedding forward", mb, 0,
                   gather_weights(embedding_params, "embedding", mb));
        if (tp_on_) {
          b_.collective(
              groups_.tp,
              p.sequence_parallel ? CollectiveKind::reduce_scatter : CollectiveKind::all_reduce,
              tp_bytes_, Stream::tp_comm, "embedding tp", mb, true);
        }
      }
      for (std::int64_t l = first_layer; l < first_layer + layers_per_chunk; ++l) {
        const auto gathered =
            gather_weights(parts_.layer_params[l].total(), layer_label(l, "layer"), mb);
        tp_before(tp_bytes_, layer_label(l, "attention tp"), mb);
        ring_attention(true, l, mb);
        const auto attention_op =
            b_.compute(blocks.attention_forward, layer_label(l, "attention forward"), mb,
                       attention_stored, gathered);
        if (sharded_weights_)
          recent_layer_computes_.push_back(attention_op);
        tp_after(tp_bytes_, layer_label(l, "attention tp"), mb);
        if (m.is_moe_layer(l)) {
          moe_forward(l, mb, false);
        } else {
          tp_before(tp_bytes_, layer_label(l, "mlp tp"), mb);
          b_.compute(blocks.mlp_forward, layer_label(l, "mlp forward"), mb, mlp_stored);
          tp_after(tp_bytes_, layer_label(l, "mlp tp"), mb);
        }
      }
      if (last_chunk) {
        b_.compute(blocks.output_forward, "output forward", mb, blocks.output.activation_bytes,
                   gather_weights(output_params, "output", mb));
      } else {
        b_.send(next, boundary_bytes, Stream::pp_send_next, "send activations", mb);
      }
      continue;
    }
    if (step.pass == PipelinePass::weight_gradient) {
      for (std::int64_t l = first_layer + layers_per_chunk - 1; l >= first_layer; --l) {
        if (m.is_moe_layer(l)) {
          moe_weight_gradient(l, mb);
        } else {
          b_.compute(blocks.mlp_weight_gradient, layer_label(l, "mlp weight gradient"), mb,
                     -mlp_kept);
        }
        const auto op =
            b_.compute(blocks.attention_weight_gradient,
                       layer_label(l, "attention weight gradient"), mb, -attention_kept);
        gradients_ready(parts_.layer_params[l], op, layer_label(l, "layer"), mb, last_microbatch);
      }
      if (first_chunk) {
        // The embedding's backward is its weight gradient alone.
        const auto op = b_.compute(blocks.embedding_backward, "embedding backward", mb, 0,
                                   gather_weights(embedding_params, "embedding", mb));
        gradients_ready({embedding_params, 0}, op, "embedding", mb, last_microbatch);
      }
      if (last_microbatch && p.overlap_grad_reduce)
        reduce_gradients(0, b_.chain(), true);
      continue;
    }
    // The whole backward, or (zero bubble) its input gradient, which the previous stage waits
    // for; the weight gradient follows in its own step.
    const bool split = step.pass == PipelinePass::input_gradient;
    if (!last_chunk)
      b_.recv(next, boundary_bytes, Stream::pp_recv_next, "recv gradients", mb);
    if (last_chunk) {
      // The output projection's weight gradient runs with its input gradient even under zero
      // bubble: deferring it would keep the logits' gradient (tokens × vocabulary) alive.
      const auto op =
          b_.compute(blocks.output_backward, "output backward", mb, -blocks.output.activation_bytes,
                     gather_weights(output_params, "output", mb));
      tp_after(tp_bytes_, "output tp", mb);
      gradients_ready({output_params, 0}, op, "output", mb, last_microbatch);
    }
    for (std::int64_t l = first_layer + layers_per_chunk - 1; l >= first_layer; --l) {
      auto gathered = gather_weights(parts_.layer_params[l].total(), layer_label(l, "layer"), mb);
      if (p.recompute == Recompute::full) {
        tp_before(tp_bytes_, layer_label(l, "recompute attention tp"), mb);
        ring_attention(true, l, mb);
        b_.compute(blocks.attention_forward, layer_label(l, "recompute attention"), mb,
                   attention.activation_bytes, std::exchange(gathered, std::nullopt));
        tp_after(tp_bytes_, layer_label(l, "recompute attention tp"), mb);
        if (m.is_moe_layer(l)) {
          moe_forward(l, mb, true);
        } else {
          tp_before(tp_bytes_, layer_label(l, "recompute mlp tp"), mb);
          b_.compute(blocks.mlp_forward, layer_label(l, "recompute mlp"), mb, mlp.activation_bytes);
          tp_after(tp_bytes_, layer_label(l, "recompute mlp tp"), mb);
        }
      }
      if (m.is_moe_layer(l)) {
        moe_backward(l, mb, split);  // ZeRO-3 (gathered weights) is refused for MoE models
      } else {
        tp_before(tp_bytes_, layer_label(l, "mlp backward tp"), mb);
        regather_input(layer_label(l, "mlp backward"), mb);
        if (split) {
          b_.compute(blocks.mlp_input_gradient, layer_label(l, "mlp input gradient"), mb,
                     mlp_kept - mlp.activation_bytes, gathered);
        } else {
          b_.compute(blocks.mlp_backward, layer_label(l, "mlp backward"), mb, -mlp.activation_bytes,
                     gathered);
        }
        tp_after(tp_bytes_, layer_label(l, "mlp backward tp"), mb);
      }
      if (p.recompute == Recompute::selective) {
        b_.compute(blocks.attention_core_recompute, layer_label(l, "recompute attention core"), mb,
                   attention.selective_recompute_saved_bytes);
      }
      tp_before(tp_bytes_, layer_label(l, "attention backward tp"), mb);
      ring_attention(false, l, mb);
      regather_input(layer_label(l, "attention backward"), mb);
      const auto op = split
                          ? b_.compute(blocks.attention_input_gradient,
                                       layer_label(l, "attention input gradient"), mb,
                                       attention_kept - attention_freed)
                          : b_.compute(blocks.attention_backward,
                                       layer_label(l, "attention backward"), mb, -attention_freed);
      tp_after(tp_bytes_, layer_label(l, "attention backward tp"), mb);
      if (sharded_weights_)
        recent_layer_computes_.push_back(op);
      if (!split)
        gradients_ready(parts_.layer_params[l], op, layer_label(l, "layer"), mb, last_microbatch);
    }
    if (!first_chunk) {
      b_.send(prev, boundary_bytes, Stream::pp_send_prev, "send gradients", mb);
    } else if (!split) {
      const auto op = b_.compute(blocks.embedding_backward, "embedding backward", mb, 0,
                                 gather_weights(embedding_params, "embedding", mb));
      gradients_ready({embedding_params, 0}, op, "embedding", mb, last_microbatch);
    }
    if (!split && last_microbatch && p.overlap_grad_reduce)
      reduce_gradients(0, b_.chain(), true);
  }
  for (const ParameterSplit& params : deferred_gradient_params_)
    reduce_gradients(params.dense, b_.chain(), false, params.expert);
  reduce_gradients(0, b_.chain(), true);

  std::vector<std::uint32_t> before_step = grad_reductions_;
  if (p.pp > 1 && m.tied_embeddings && (s == 0 || s == p.pp - 1)) {
    const double bytes = static_cast<double>(m.vocab / p.tp * m.hidden) * per_.gradients;
    std::vector<std::uint32_t> deps;
    if (b_.chain())
      deps.push_back(*b_.chain());
    before_step.push_back(b_.collective(groups_.embedding, CollectiveKind::all_reduce, bytes,
                                        Stream::dp_comm, "embedding gradient all-reduce", -1, false,
                                        deps));
  }
  Op op;
  op.kind = OpKind::compute;
  op.stream = Stream::compute;
  op.block = blocks.optimizer_step[s];
  op.label = plan_.label("optimizer step");
  op.deps.assign(before_step.begin(), before_step.end());
  if (b_.chain())
    op.deps.push_back(*b_.chain());
  std::sort(op.deps.begin(), op.deps.end());
  op.deps.erase(std::unique(op.deps.begin(), op.deps.end()), op.deps.end());
  program_.ops.push_back(std::move(op));
  if (p.zero == 1 || p.zero == 2) {
    // Each rank stepped its shard; the updated weights are gathered back before the next step
    // (Megatron-LM's distributed optimizer without --overlap-param-gather).
    const auto stepped = static_cast<std::uint32_t>(program_.ops.size() - 1);
    const ParameterSplit stage_params = stage_parameters(job_, s);
    if (replicas_.dense > 1) {
      b_.collective(groups_.dp, CollectiveKind::all_gather, stage_params.dense * per_.weights,
                    Stream::dp_comm, "dp weight all-gather", -1, false, {stepped});
    }
    if (replicas_.expert > 1 && stage_params.expert > 0) {
      b_.collective(groups_.edp, CollectiveKind::all_gather, stage_params.expert * per_.weights,
                    Stream::dp_comm, "expert dp weight all-gather", -1, false, {stepped});
    }
  }
}

}  // namespace plan_detail
}  // namespace scaleplan
