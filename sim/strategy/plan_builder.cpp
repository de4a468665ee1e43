// The plan builder: one for every model. It walks the job's layer graph, model chunk by model
// chunk in the pipeline schedule's order, and makes each layer's ops by its kind and by how the
// graph runs (runs_partitioned): a decoder's token embedding, transformer layers and output head
// as the transformer's blocks split over tp, cp and ep; any other layer whole. Around the layers,
// every graph gets the same pipeline messages, gradient buckets, ZeRO gathers and scatters, and
// optimizer step.
#include "sim/strategy/plan_builder.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "sim/strategy/plan_builder_detail.hpp"
#include "sim/strategy/schedule.hpp"
#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {

using namespace plan_detail;

namespace {

// The graph the plan walks: the job's, or (a job made in code without one) its model's decoder
// graph.
std::shared_ptr<const LayerGraph> graph_of(const TrainingJob& job) {
  return job.graph ? job.graph : std::make_shared<const LayerGraph>(decoder_graph(job.model));
}

// The graph layers of each model chunk. A partitioned graph's chunks are counted in transformer
// layers (layers_of_chunks), the token embedding riding with the first chunk and the multi-token
// prediction layers and the output head with the last; any other graph's in its layers.
void place_chunks(const TrainingJob& job, PlanParts& parts) {
  const std::vector<std::int64_t> counted = layers_of_chunks(job);
  const bool riders = parts.blocks.has_value();
  std::int64_t first = 0;
  for (std::size_t c = 0; c < counted.size(); ++c) {
    const bool first_chunk = c == 0;
    const bool last_chunk = c + 1 == counted.size();
    const std::int64_t count = counted[c] + (riders && first_chunk ? 1 : 0) +
                               (riders && last_chunk ? 1 + job.model.mtp_layers : 0);
    parts.first_layer_of_chunk.push_back(first);
    parts.layers_of_chunk.push_back(count);
    first += count;
  }
}

// What a rank holds of each layer: a partitioned layer's shard (the embedding's and the output
// head's as the transformer splits them), a whole layer's dense parameters.
void place_parameters(const TrainingJob& job, PlanParts& parts) {
  const auto& p = job.parallelism;
  const auto& m = job.model;
  const auto& layers = parts.graph->layers;
  std::int64_t transformers = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    parts.transformer_index.push_back(transformers);
    if (parts.whole[i]) {
      parts.layer_params.push_back({parts.whole[i]->work.dense_parameters, 0});
    } else if (layers[i].kind == LayerKind::token_embedding) {
      parts.layer_params.push_back({embedding_parameters_per_rank(m, p), 0});
    } else if (layers[i].kind == LayerKind::output) {
      parts.layer_params.push_back({output_parameters_per_rank(m, p), 0});
    } else {
      parts.layer_params.push_back(layer_parameters_per_rank(m, transformers, p.tp, p.ep));
    }
    if (layers[i].kind == LayerKind::transformer)
      ++transformers;
  }
}

}  // namespace

Plan build_plan(const TrainingJob& job, RankScope scope) {
  if (job.parallelism.tp >= 1 && job.model.vocab % job.parallelism.tp != 0) {
    // The vocabulary padded as the framework pads it (the scenario reader and the planner pad
    // theirs already; a job made in code may not have).
    TrainingJob padded = job;
    pad_vocabulary(padded);
    if (padded.model.vocab != job.model.vocab)
      return build_plan(padded, scope);
  }
  if (const auto problems = check_strategy(job); !problems.empty()) {
    std::string text = "build_plan: the job breaks the strategy rules:";
    for (const PlanProblem& problem : problems)
      text += fmt::format("\n{}: {}", problem.key, problem.message);
    throw std::invalid_argument(text);
  }
  // check_strategy counts the one replica a plan usually lists; every rank may be far more.
  if (scope == RankScope::all_ranks) {
    if (const auto problem = plan_size_problem(job, scope)) {
      throw std::invalid_argument(
          fmt::format("build_plan: every rank's program: {}: {}", problem->key, problem->message));
    }
  }
  if (job.training.replica_micro_batches_differ())
    return build_replica_batch_plan(job);
  const auto& p = job.parallelism;
  const std::shared_ptr<const LayerGraph> graph = graph_of(job);
  PlanParts parts;
  parts.graph = graph.get();
  Plan plan;
  if (runs_partitioned(*graph)) {
    parts.blocks = make_blocks(plan, job);
    parts.whole.resize(graph->layers.size());
  } else {
    for (const GraphLayer& layer : graph->layers) {
      WholeLayer w{graph_layer_work(layer, job.training.micro_batch, p.dp, job.training.dtype)};
      parts.all_to_all = parts.all_to_all || w.work.all_to_all_bytes > 0;
      w.forward_block = plan.add_block({layer.name + " forward", w.work.forward});
      w.backward_block = plan.add_block({layer.name + " backward", w.work.backward});
      parts.whole.emplace_back(std::move(w));
    }
  }
  for (int stage = 0; stage < p.pp; ++stage) {
    parts.optimizer_block.push_back(
        plan.add_block({"optimizer step stage " + std::to_string(stage),
                        {optimizer_step_kernel(job, stage_parameters(job, stage))}}));
    if (bf16_optimizer_on(job)) {
      parts.hp_grad_block.push_back(
          plan.add_block({"bf16 optimizer gradient accumulation stage " + std::to_string(stage),
                          {hp_grad_accumulation_kernel(stage_parameters(job, stage).total())}}));
    }
  }
  place_chunks(job, parts);
  place_parameters(job, parts);
  // With expert parallelism the replicas are blocks of ep data-parallel ranks (the ep groups,
  // identical to each other), so that every group spans whole replicas from the first on.
  // Sharding 2d across slices: a replica is a block of ep indices of a slice's data axis, and
  // the first of each slice is listed, so that the groups across slices (dp_cross) join listed
  // ranks and the slice's data axis (dp_shard) spans the replicas from the first on. An
  // embedding table's all-to-all joins the replicas: then every rank is listed.
  const int blocks = p.sharding == WeightSharding::two_d ? p.dcn_dp : 1;
  if (scope == RankScope::one_replica && p.dp / blocks > p.ep && !parts.all_to_all)
    plan.replicas = {p.dp / blocks / p.ep, p.tp * p.cp * p.ep};
  const int world = p.world_size();
  plan.ranks.reserve(world / plan.replicas.count);
  parts.groups = make_groups(plan, job);

  add_rank_programs(plan, job, parts.groups,
                    [&](RankProgram& program) { StageBuilder(plan, program, job, parts).build(); });
  return plan;
}

// Activation memory of a layer's backward. Run whole, it frees everything the forward (or the
// recompute) kept. Split (zero bubble), the input gradient frees all but what the weight gradient
// reads and adds the output gradients it makes for it; the weight gradient frees those when it
// ends (Block::weight_gradient_inputs_bytes, weight_gradient_operands_bytes). An MoE layer's MLP
// does the same block by block (moe_backward, moe_weight_gradient).
LayerActivations layer_activations(const LayerWork& layer, Recompute recompute) {
  const Block& attention = layer.attention;
  const Block& mlp = layer.mlp;
  LayerActivations a;
  a.attention_stored = recompute == Recompute::full ? attention.input_bytes
                                                    : forward_kept_bytes(attention, recompute);
  a.mlp_stored = recompute == Recompute::full ? 0 : forward_kept_bytes(mlp, recompute);
  a.attention_freed =
      attention.activation_bytes + (recompute == Recompute::full ? attention.input_bytes : 0.0);
  a.attention_kept = weight_gradient_kept_bytes(attention);
  a.mlp_kept = weight_gradient_kept_bytes(mlp);
  return a;
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
      gathered_for_forward_(sharded_weights_ || zero_two_gathers_per_layer(job)),
      tp_on_(job.parallelism.tp > 1),
      blocking_p2p_(pipeline_blocking_p2p_on(job)),
      tp_bytes_(tensor_parallel_bytes(job)),
      grad_bucket_bytes_(gradient_bucket_bytes(job)),
      grad_bytes_(gradient_reduction_bytes(job)) {}

StageBuilder::StageShape StageBuilder::stage_shape() const {
  const auto& p = job_.parallelism;
  const RankCoordinates c = coordinates_of(program_.rank, p);
  StageShape k;
  k.stage = c.pp;
  k.next = rank_of({c.tp, c.cp, c.dp, (k.stage + 1) % p.pp}, p);
  k.prev = rank_of({c.tp, c.cp, c.dp, (k.stage + p.pp - 1) % p.pp}, p);
  k.chunks = model_chunks(p) / p.pp;
  k.microbatches = microbatches_per_replica(job_);
  if (parts_.blocks)
    k.activations = layer_activations(parts_.blocks->layer, p.recompute);
  return k;
}

void StageBuilder::build() {
  const auto& p = job_.parallelism;
  const StageShape k = stage_shape();
  gather_stepped_weights_ahead(k);
  const std::vector<PipelineStep> order =
      pipeline_order(p.schedule, k.stage, p.pp, k.microbatches, k.chunks);
  const std::vector<bool> pair_ends = moe_a2a_overlap_on(job_)
                                          ? combined_1f1b_pair_ends(order)
                                          : std::vector<bool>(order.size(), false);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const PipelineStep& step = order[i];
    in_combined_pair_ = pair_ends[i] || (i + 1 < order.size() && pair_ends[i + 1]);
    const int model_chunk = step.chunk * p.pp + k.stage;
    const StepPlace at{step.microbatch,
                       model_chunk == 0,
                       model_chunk == p.pp * k.chunks - 1,
                       parts_.first_layer_of_chunk[model_chunk],
                       parts_.layers_of_chunk[model_chunk],
                       step.microbatch == k.microbatches - 1};
    if (step.pass == PipelinePass::forward) {
      forward_step(k, at);
    } else if (step.pass == PipelinePass::weight_gradient) {
      weight_gradient_step(k, at);
    } else {
      backward_step(k, at, step.pass == PipelinePass::input_gradient);
    }
    if (pair_ends[i]) {
      for (std::uint32_t op : overlapped_all_to_alls_)
        b_.wait_for(op);
      overlapped_all_to_alls_.clear();
    }
  }
  in_combined_pair_ = false;
  issue_deferred_send();
  for (const ParameterSplit& params : deferred_gradient_params_)
    reduce_gradients(params.dense, b_.chain(), false, params.expert);
  reduce_gradients(0, b_.chain(), true);
  optimizer_step(k);
}

double StageBuilder::boundary_bytes_after(std::int64_t i) const {
  const auto& whole = parts_.whole[static_cast<std::size_t>(i)];
  return whole ? whole->work.output_bytes : stage_boundary_bytes(job_);
}

void StageBuilder::forward_step(const StageShape& k, const StepPlace& at) {
  const int mb = at.microbatch;
  const std::int64_t end = at.first_layer + at.layers;
  // TrainSchedule's forward step sends the previous backward's gradient, then receives.
  issue_deferred_send();
  if (!at.first_chunk) {
    receive_boundary({k.prev, Stream::pp_recv_prev, "recv activations", mb,
                      boundary_bytes_after(at.first_layer - 1)});
    gather_pipeline_message("activations", mb);
  }
  for (std::int64_t i = at.first_layer; i < end; ++i)
    layer_forward(k, i, mb);
  if (!at.last_chunk) {
    send_boundary(
        {k.next, Stream::pp_send_next, "send activations", mb, boundary_bytes_after(end - 1)});
  }
}

void StageBuilder::weight_gradient_step(const StageShape& k, const StepPlace& at) {
  for (std::int64_t i = at.first_layer + at.layers - 1; i >= at.first_layer; --i)
    layer_weight_gradient(k, at, i);
  accumulate_hp_gradients(k, at.microbatch);
  if ((at.last_microbatch || zero_two_reduces_every_micro_batch(job_)) &&
      job_.parallelism.overlap_grad_reduce)
    reduce_gradients(0, b_.chain(), true);
}

// BF16_Optimizer adds a micro-batch's bf16 gradients into the fp32 ones once its backward is
// done (update_hp_grads), over all the stage's parameters; with one model chunk, DeepSpeed's
// only schedule.
void StageBuilder::accumulate_hp_gradients(const StageShape& k, int mb) {
  if (!bf16_optimizer_on(job_) || k.chunks != 1)
    return;
  b_.compute(parts_.hp_grad_block[static_cast<std::size_t>(k.stage)],
             "bf16 optimizer gradient accumulation", mb, 0);
}

// The whole backward, or (zero bubble, `split`) its input gradient, which the previous stage
// waits for; the weight gradient follows in its own step.
void StageBuilder::backward_step(const StageShape& k, const StepPlace& at, bool split) {
  const int mb = at.microbatch;
  const std::int64_t end = at.first_layer + at.layers;
  // TrainSchedule's backward step receives its gradient, then sends the previous forward's
  // output; after another backward (an empty forward step between them) that one's gradient
  // goes first.
  if (deferred_send_ && deferred_send_->stream == Stream::pp_send_prev)
    issue_deferred_send();
  if (!at.last_chunk) {
    receive_boundary(
        {k.next, Stream::pp_recv_next, "recv gradients", mb, boundary_bytes_after(end - 1)});
  }
  issue_deferred_send();
  if (!at.last_chunk && pipeline_output_regather_on(job_)) {
    // _exec_backward_pass restores the output it partitioned before the gradient.
    b_.collective(groups_.tp, CollectiveKind::all_gather, tp_bytes_, Stream::tp_comm,
                  "output re-gather all-gather", mb, true);
  }
  if (!at.last_chunk)
    gather_pipeline_message("gradients", mb);
  for (std::int64_t i = end - 1; i >= at.first_layer; --i)
    layer_backward(k, at, i, split);
  if (!split)
    accumulate_hp_gradients(k, mb);
  if (!at.first_chunk) {
    send_boundary({k.prev, Stream::pp_send_prev, "send gradients", mb,
                   boundary_bytes_after(at.first_layer - 1)});
  }
  if (!split && (at.last_microbatch || zero_two_reduces_every_micro_batch(job_)) &&
      job_.parallelism.overlap_grad_reduce)
    reduce_gradients(0, b_.chain(), true);
}

void StageBuilder::layer_forward(const StageShape& k, std::int64_t i, int mb) {
  const auto index = static_cast<std::size_t>(i);
  const LayerKind kind = parts_.graph->layers[index].kind;
  if (parts_.whole[index]) {
    whole_forward(i, mb);
  } else if (kind == LayerKind::token_embedding) {
    wait_for_weights(index);
    b_.compute(
        parts_.blocks->embedding_forward, "embedding forward", mb, 0,
        gather_weights(parts_.layer_params[index].total(), "embedding", mb, WeightUse::forward));
    if (tp_on_) {
      b_.collective(groups_.tp,
                    job_.parallelism.sequence_parallel ? CollectiveKind::reduce_scatter
                                                       : CollectiveKind::all_reduce,
                    tp_bytes_, Stream::tp_comm, "embedding tp", mb, true);
    }
  } else if (kind == LayerKind::output) {
    wait_for_weights(index);
    b_.compute(
        parts_.blocks->output_forward, "output forward", mb, parts_.blocks->output.activation_bytes,
        gather_weights(parts_.layer_params[index].total(), "output", mb, WeightUse::forward));
  } else {
    transformer_forward(k, i, mb);
  }
}

void StageBuilder::layer_backward(const StageShape& k, const StepPlace& at, std::int64_t i,
                                  bool split) {
  const auto index = static_cast<std::size_t>(i);
  const LayerKind kind = parts_.graph->layers[index].kind;
  const int mb = at.microbatch;
  if (parts_.whole[index]) {
    // Whole layers run on schedules without a split backward (check_strategy).
    whole_backward(at, i);
  } else if (kind == LayerKind::token_embedding) {
    // The embedding's backward is its weight gradient alone: under zero bubble it runs in the
    // weight-gradient step.
    if (!split)
      embedding_backward(at, index);
  } else if (kind == LayerKind::output) {
    // The output projection's weight gradient runs with its input gradient even under zero
    // bubble: deferring it would keep the logits' gradient (tokens × vocabulary) alive.
    const Blocks& blocks = *parts_.blocks;
    const auto op = b_.compute(
        blocks.output_backward, "output backward", mb, -blocks.output.activation_bytes,
        gather_weights(parts_.layer_params[index].total(), "output", mb, WeightUse::backward));
    tp_after(tp_bytes_, "output tp", mb);
    gradients_ready(parts_.layer_params[index], op, "output", mb, at.last_microbatch);
  } else {
    transformer_backward(k, at, i, split);
  }
}

void StageBuilder::layer_weight_gradient(const StageShape& k, const StepPlace& at, std::int64_t i) {
  const auto index = static_cast<std::size_t>(i);
  const LayerKind kind = parts_.graph->layers[index].kind;
  // Whole layers and the output head ran their weight gradient with their input gradient.
  if (parts_.whole[index] || kind == LayerKind::output)
    return;
  if (kind == LayerKind::token_embedding)
    embedding_backward(at, index);
  else
    transformer_weight_gradient(k, at, i);
}

void StageBuilder::embedding_backward(const StepPlace& at, std::size_t index) {
  const int mb = at.microbatch;
  const auto op = b_.compute(
      parts_.blocks->embedding_backward, "embedding backward", mb, 0,
      gather_weights(parts_.layer_params[index].total(), "embedding", mb, WeightUse::backward));
  gradients_ready(parts_.layer_params[index], op, "embedding", mb, at.last_microbatch);
}

void StageBuilder::transformer_forward(const StageShape& k, std::int64_t i, int mb) {
  const auto index = static_cast<std::size_t>(i);
  const Blocks& blocks = *parts_.blocks;
  const std::int64_t l = parts_.transformer_index[index];
  const auto gathered = gather_weights(parts_.layer_params[index].total(), layer_label(l, "layer"),
                                       mb, WeightUse::forward);
  wait_for_weights(index);
  tp_before(tp_bytes_, layer_label(l, "attention tp"), mb);
  ring_attention(true, l, mb);
  const auto attention_op =
      b_.compute(blocks.attention_forward, layer_label(l, "attention forward"), mb,
                 k.activations.attention_stored, gathered);
  if (gathered_for_forward_)
    recent_layer_computes_.push_back(attention_op);
  tp_after(tp_bytes_, layer_label(l, "attention tp"), mb);
  if (job_.model.is_moe_layer(l)) {
    moe_forward(l, mb, false);
  } else {
    tp_before(tp_bytes_, layer_label(l, "mlp tp"), mb);
    b_.compute(blocks.mlp_forward, layer_label(l, "mlp forward"), mb, k.activations.mlp_stored);
    tp_after(tp_bytes_, layer_label(l, "mlp tp"), mb);
  }
}

void StageBuilder::transformer_weight_gradient(const StageShape& k, const StepPlace& at,
                                               std::int64_t i) {
  const auto index = static_cast<std::size_t>(i);
  const Blocks& blocks = *parts_.blocks;
  const std::int64_t l = parts_.transformer_index[index];
  const int mb = at.microbatch;
  if (job_.model.is_moe_layer(l)) {
    moe_weight_gradient(l, mb);
  } else {
    b_.compute(blocks.mlp_weight_gradient, layer_label(l, "mlp weight gradient"), mb,
               -k.activations.mlp_kept);
  }
  const auto op =
      b_.compute(blocks.attention_weight_gradient, layer_label(l, "attention weight gradient"), mb,
                 -k.activations.attention_kept);
  gradients_ready(parts_.layer_params[index], op, layer_label(l, "layer"), mb, at.last_microbatch);
}

void StageBuilder::transformer_backward(const StageShape& k, const StepPlace& at, std::int64_t i,
                                        bool split) {
  const auto& p = job_.parallelism;
  const auto index = static_cast<std::size_t>(i);
  const Blocks& blocks = *parts_.blocks;
  const auto& attention = blocks.layer.attention;
  const auto& mlp = blocks.layer.mlp;
  const std::int64_t l = parts_.transformer_index[index];
  const int mb = at.microbatch;
  const bool moe = job_.model.is_moe_layer(l);
  auto gathered = gather_weights(parts_.layer_params[index].total(), layer_label(l, "layer"), mb,
                                 WeightUse::backward);
  if (p.recompute == Recompute::full) {
    tp_before(tp_bytes_, layer_label(l, "recompute attention tp"), mb);
    ring_attention(true, l, mb);
    b_.compute(blocks.attention_forward, layer_label(l, "recompute attention"), mb,
               attention.activation_bytes, std::exchange(gathered, std::nullopt));
    tp_after(tp_bytes_, layer_label(l, "recompute attention tp"), mb);
    if (moe) {
      moe_forward(l, mb, true);
    } else {
      tp_before(tp_bytes_, layer_label(l, "recompute mlp tp"), mb);
      b_.compute(blocks.mlp_forward, layer_label(l, "recompute mlp"), mb, mlp.activation_bytes);
      tp_after(tp_bytes_, layer_label(l, "recompute mlp tp"), mb);
    }
  }
  if (p.recompute == Recompute::selective && !moe && !mlp.recompute_selective.empty()) {
    // recompute_modules mlp: the module runs again whole, its tensor-parallel traffic with it;
    // layernorm alone: only the norm, before any of that traffic.
    const bool whole = p.recompute_modules.mlp;
    if (whole)
      tp_before(tp_bytes_, layer_label(l, "recompute mlp tp"), mb);
    b_.compute(blocks.mlp_recompute, layer_label(l, whole ? "recompute mlp" : "recompute mlp norm"),
               mb, mlp.selective_recompute_saved_bytes);
    if (whole)
      tp_after(tp_bytes_, layer_label(l, "recompute mlp tp"), mb);
  }
  if (moe) {
    moe_backward(l, mb, split);  // ZeRO-3 (gathered weights) is refused for MoE models
  } else {
    tp_before(tp_bytes_, layer_label(l, "mlp backward tp"), mb);
    regather_input(layer_label(l, "mlp backward"), mb);
    if (split) {
      b_.compute(blocks.mlp_input_gradient, layer_label(l, "mlp input gradient"), mb,
                 k.activations.mlp_kept - mlp.activation_bytes, gathered);
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
  const auto op =
      split
          ? b_.compute(blocks.attention_input_gradient, layer_label(l, "attention input gradient"),
                       mb, k.activations.attention_kept - k.activations.attention_freed)
          : b_.compute(blocks.attention_backward, layer_label(l, "attention backward"), mb,
                       -k.activations.attention_freed);
  tp_after(tp_bytes_, layer_label(l, "attention backward tp"), mb);
  if (sharded_weights_)
    recent_layer_computes_.push_back(op);
  if (!split)
    gradients_ready(parts_.layer_params[index], op, layer_label(l, "layer"), mb,
                    at.last_microbatch);
}

// A whole layer: its forward, and an embedding table's pooled vectors exchanged by all-to-all
// over the data-parallel group (the tables are sharded over it).
void StageBuilder::whole_forward(std::int64_t i, int mb) {
  const WholeLayer& layer = *parts_.whole[static_cast<std::size_t>(i)];
  const std::string& name = parts_.graph->layers[static_cast<std::size_t>(i)].name;
  b_.compute(layer.forward_block, name + " forward", mb, layer.work.activation_bytes);
  if (layer.work.all_to_all_bytes > 0) {
    b_.collective(groups_.dp, CollectiveKind::all_to_all, layer.work.all_to_all_bytes,
                  Stream::ep_comm, name + " all-to-all", mb, true);
  }
}

void StageBuilder::whole_backward(const StepPlace& at, std::int64_t i) {
  const auto index = static_cast<std::size_t>(i);
  const WholeLayer& layer = *parts_.whole[index];
  const std::string& name = parts_.graph->layers[index].name;
  const int mb = at.microbatch;
  if (layer.work.all_to_all_bytes > 0) {
    b_.collective(groups_.dp, CollectiveKind::all_to_all, layer.work.all_to_all_bytes,
                  Stream::ep_comm, name + " all-to-all backward", mb, true);
  }
  const auto op =
      b_.compute(layer.backward_block, name + " backward", mb, -layer.work.activation_bytes);
  gradients_ready(parts_.layer_params[index], op, name, mb, at.last_microbatch);
}

std::string StageBuilder::layer_label(std::int64_t layer, const std::string& what) const {
  const std::int64_t decoder_layers = job_.model.layers;
  return layer < decoder_layers ? "L" + std::to_string(layer) + " " + what
                                : "MTP" + std::to_string(layer - decoder_layers + 1) + " " + what;
}

// The shared embedding's gradient all-reduce between the first and last stages, the optimizer
// step after every gradient reduction, and with a sharded optimizer the weights' all-gather.
void StageBuilder::optimizer_step(const StageShape& k) {
  const auto& p = job_.parallelism;
  const auto& m = job_.model;
  const int s = k.stage;
  std::vector<std::uint32_t> before_step = grad_reductions_;
  if (p.pp > 1 && m.embedding_on_last_stage() && (s == 0 || s == p.pp - 1)) {
    // BF16_Optimizer all-reduces the fp32 gradient (weight._hp_grad).
    const double bytes = static_cast<double>(m.vocab / p.tp * m.hidden) *
                         (bf16_optimizer_on(job_) ? bytes_per_element(Dtype::fp32) : grad_bytes_);
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
  op.block = parts_.optimizer_block[static_cast<std::size_t>(s)];
  op.label = plan_.label("optimizer step");
  op.deps.assign(before_step.begin(), before_step.end());
  if (b_.chain())
    op.deps.push_back(*b_.chain());
  std::sort(op.deps.begin(), op.deps.end());
  op.deps.erase(std::unique(op.deps.begin(), op.deps.end()), op.deps.end());
  program_.ops.push_back(std::move(op));
  if ((p.zero == 1 || p.zero == 2) && !job_.framework.overlap_param_gather &&
      !zero_two_gathers_per_layer(job_)) {
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

// With --overlap-param-gather (Megatron-Core's distributed optimizer, NeMo's
// overlap_param_sync) the weights stepped at the end of one step are all-gathered bucket by
// bucket during the next step's forward, each bucket before the first forward of the layers it
// holds. One step stands for all: the gathers start with the step, in forward order, in buckets
// of the gradient buckets' size (Megatron-Core's ParamAndGradBuffer shares them).
void StageBuilder::gather_stepped_weights_ahead(const StageShape& k) {
  const auto& p = job_.parallelism;
  weight_gathers_ahead_.assign(parts_.graph->layers.size(), {});
  if (!(p.zero == 1 || p.zero == 2) || !job_.framework.overlap_param_gather ||
      zero_two_gathers_per_layer(job_))
    return;
  const double bucket_params = grad_bucket_bytes_ / grad_bytes_;
  struct Fill {
    double params = 0;
    std::vector<std::size_t> waiting;  // parameter groups whose weights the bucket holds
  };
  Fill dense, expert;
  auto flush = [&](Fill& fill, std::uint32_t group, const std::string& what) {
    if (fill.params <= 0)
      return;
    const auto op =
        b_.collective(group, CollectiveKind::all_gather, fill.params * per_.weights,
                      Stream::dp_comm, what + " weight all-gather (overlapped)", -1, false);
    for (std::size_t g : fill.waiting)
      weight_gathers_ahead_[g].push_back(op);
    fill = {};
  };
  auto add = [&](std::size_t index, const ParameterSplit& params) {
    if (replicas_.dense > 1 && params.dense > 0) {
      dense.params += params.dense;
      dense.waiting.push_back(index);
      if (dense.params >= bucket_params)
        flush(dense, groups_.dp, "dp");
    }
    if (replicas_.expert > 1 && params.expert > 0) {
      expert.params += params.expert;
      expert.waiting.push_back(index);
      if (expert.params >= bucket_params)
        flush(expert, groups_.edp, "expert dp");
    }
  };
  // The stage's model chunks in the order their first forward runs.
  for (int c = 0; c < k.chunks; ++c) {
    const int model_chunk = c * p.pp + k.stage;
    const std::int64_t first = parts_.first_layer_of_chunk[model_chunk];
    for (std::int64_t i = first; i < first + parts_.layers_of_chunk[model_chunk]; ++i)
      add(static_cast<std::size_t>(i), parts_.layer_params[static_cast<std::size_t>(i)]);
  }
  flush(dense, groups_.dp, "dp");
  flush(expert, groups_.edp, "expert dp");
}

void StageBuilder::wait_for_weights(std::size_t group) {
  for (std::uint32_t op : weight_gathers_ahead_[group])
    b_.wait_for(op);
  weight_gathers_ahead_[group].clear();
}

void StageBuilder::receive_boundary(const BoundaryMessage& message) {
  if (blocking_p2p_) {
    b_.blocking_message(OpKind::recv, message.peer, message.bytes, message.stream, message.label,
                        message.microbatch);
  } else {
    b_.recv(message.peer, message.bytes, message.stream, message.label, message.microbatch);
  }
}

void StageBuilder::send_boundary(BoundaryMessage message) {
  if (blocking_p2p_)
    deferred_send_ = std::move(message);
  else
    b_.send(message.peer, message.bytes, message.stream, message.label, message.microbatch);
}

void StageBuilder::issue_deferred_send() {
  if (!deferred_send_)
    return;
  b_.blocking_message(OpKind::send, deferred_send_->peer, deferred_send_->bytes,
                      deferred_send_->stream, deferred_send_->label, deferred_send_->microbatch);
  deferred_send_.reset();
}

void StageBuilder::gather_pipeline_message(const std::string& label, int mb) {
  if (pipeline_scatter_gather_on(job_)) {
    b_.collective(groups_.tp, CollectiveKind::all_gather, tp_bytes_, Stream::tp_comm,
                  label + " scatter-gather all-gather", mb, true);
  }
}

}  // namespace plan_detail
}  // namespace scaleplan
