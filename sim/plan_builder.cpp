#include "sim/plan_builder.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <utility>

#include "sim/schedule.hpp"

namespace scaleplan {

RankCoordinates coordinates_of(int rank, const ParallelismSpec& p) {
  RankCoordinates c;
  c.tp = rank % p.tp;
  rank /= p.tp;
  c.cp = rank % p.cp;
  rank /= p.cp;
  c.dp = rank % p.dp;
  c.pp = rank / p.dp;
  return c;
}

int rank_of(const RankCoordinates& c, const ParallelismSpec& p) {
  return c.tp + p.tp * (c.cp + p.cp * (c.dp + p.dp * c.pp));
}

int microbatches_per_replica(const TrainingJob& job) {
  return static_cast<int>(job.training.global_batch /
                          (job.training.micro_batch * job.parallelism.dp));
}

std::vector<std::int64_t> chunk_layers(std::int64_t layers, int chunks) {
  if (chunks < 1 || layers < chunks)
    throw std::invalid_argument("every pipeline chunk needs at least one layer");
  const std::int64_t share = (layers + chunks - 1) / chunks;
  std::vector<std::int64_t> counts(chunks, share);
  std::int64_t surplus = share * chunks - layers;
  for (int k = 0; surplus > 0; ++k, --surplus)
    --counts[k % 2 == 0 ? k / 2 : chunks - 1 - k / 2];
  return counts;
}

namespace {

int model_chunks(const ParallelismSpec& p) {
  return p.pp * (p.schedule == PipelineSchedule::interleaved_1f1b ? p.virtual_stages : 1);
}

// Mixed-precision training keeps 16-bit weights, fp32 gradients (Megatron-LM accumulates and
// reduces them in fp32) and an fp32 master copy with Adam's two moments. fp32 training keeps
// fp32 weights and gradients and the two moments.
struct BytesPerParameter {
  double weights;
  double gradients;
  double optimizer;
  double optimizer_step_traffic;  // bytes the optimizer kernel reads and writes
};

BytesPerParameter bytes_per_parameter(Dtype dtype) {
  if (dtype == Dtype::fp32 || dtype == Dtype::tf32)
    return {4, 4, 8, 28};
  // Read: 16-bit weight, fp32 gradient, master, two moments (18); write: all but the gradient (14).
  return {2, 4, 12, 32};
}

ParameterSplit stage_parameters(const TrainingJob& job, int stage) {
  const auto& m = job.model;
  const auto& p = job.parallelism;
  // Model chunk c runs on stage c mod pp.
  const auto layers = chunk_layers(m.layers, model_chunks(p));
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
    params.dense += static_cast<double>(m.norm_parameters_per_hidden * m.hidden);
    // The output projection: its own matrix, or (tied) a copy of the embedding that the last
    // stage keeps in step with the first through a gradient all-reduce.
    if (!m.tied_embeddings || p.pp > 1)
      params.dense += vocab_shard;
  }
  return params;
}

// Ranks that hold the same weights, over which gradients are reduced and ZeRO shards: data and
// context parallel ranks for dense weights, and for routed experts those among them with the
// same experts (Megatron-LM's expert data-parallel group).
struct ReplicaCounts {
  int dense = 1;
  int expert = 1;
};

ReplicaCounts replica_counts(const ParallelismSpec& p) {
  return {p.dp * p.cp, p.dp / p.ep * p.cp};
}

// Bytes of `params` per rank, with ZeRO from `zero_stage` on sharding each part over its
// replicas.
double sharded_bytes(const ParameterSplit& params, double bytes_per_parameter,
                     const ParallelismSpec& p, int zero_stage) {
  const ReplicaCounts replicas = replica_counts(p);
  const bool shard = p.zero >= zero_stage;
  return params.dense * bytes_per_parameter / (shard ? replicas.dense : 1.0) +
         params.expert * bytes_per_parameter / (shard ? replicas.expert : 1.0);
}

struct MoeBlocks {
  std::uint32_t router_forward, router_backward, experts_forward, experts_backward;
  std::uint32_t shared_forward, shared_backward, combine_forward, combine_backward;
  MoeWork work;
};

struct Blocks {
  std::uint32_t attention_forward, attention_backward, attention_core_recompute;
  std::uint32_t mlp_forward, mlp_backward;
  std::uint32_t embedding_forward, embedding_backward;
  std::uint32_t output_forward, output_backward;
  // Zero-bubble schedules only: the layer's backward in its input- and weight-gradient parts.
  std::uint32_t attention_input_gradient = 0, attention_weight_gradient = 0;
  std::uint32_t mlp_input_gradient = 0, mlp_weight_gradient = 0;
  LayerWork layer;
  Block embedding;
  Block output;
  std::optional<MoeBlocks> moe;
};

Blocks make_blocks(Plan& plan, const TrainingJob& job) {
  const auto& p = job.parallelism;
  const LayerPartition partition{p.tp, p.cp, p.sequence_parallel, p.ep};
  Blocks b;
  b.layer = transformer_layer(job.model, job.training.micro_batch, partition, job.training.dtype);
  b.embedding = embedding_block(job.model, job.training.micro_batch, partition, job.training.dtype);
  b.output = output_block(job.model, job.training.micro_batch, partition, job.training.dtype);
  b.attention_forward = plan.add_block({"attention forward", b.layer.attention.forward});
  b.attention_backward = plan.add_block({"attention backward", b.layer.attention.backward()});
  b.attention_core_recompute =
      plan.add_block({"attention core recompute", b.layer.attention.recompute_selective});
  b.mlp_forward = plan.add_block({"mlp forward", b.layer.mlp.forward});
  b.mlp_backward = plan.add_block({"mlp backward", b.layer.mlp.backward()});
  b.embedding_forward = plan.add_block({"embedding forward", b.embedding.forward});
  b.embedding_backward = plan.add_block({"embedding backward", b.embedding.backward()});
  b.output_forward = plan.add_block({"output forward", b.output.forward});
  b.output_backward = plan.add_block({"output backward", b.output.backward()});
  if (job.model.is_moe()) {
    MoeBlocks x;
    x.work = moe_mlp(job.model, job.training.micro_batch, partition, job.training.dtype);
    x.router_forward = plan.add_block({"moe router forward", x.work.router.forward});
    x.router_backward = plan.add_block({"moe router backward", x.work.router.backward()});
    x.experts_forward = plan.add_block({"moe experts forward", x.work.experts.forward});
    x.experts_backward = plan.add_block({"moe experts backward", x.work.experts.backward()});
    x.shared_forward = plan.add_block({"moe shared experts forward", x.work.shared.forward});
    x.shared_backward = plan.add_block({"moe shared experts backward", x.work.shared.backward()});
    x.combine_forward = plan.add_block({"moe combine forward", x.work.combine.forward});
    x.combine_backward = plan.add_block({"moe combine backward", x.work.combine.backward()});
    b.moe = std::move(x);
  }
  if (p.schedule == PipelineSchedule::zero_bubble_h1) {
    b.attention_input_gradient =
        plan.add_block({"attention backward input gradient", b.layer.attention.backward_input});
    b.attention_weight_gradient =
        plan.add_block({"attention backward weight gradient", b.layer.attention.backward_weight});
    b.mlp_input_gradient =
        plan.add_block({"mlp backward input gradient", b.layer.mlp.backward_input});
    b.mlp_weight_gradient =
        plan.add_block({"mlp backward weight gradient", b.layer.mlp.backward_weight});
  }
  return b;
}

// Appends ops to one rank's program. Compute and tensor-parallel communication form one chain,
// as they do on a GPU where the TP collective sits on the critical path.
class RankBuilder {
 public:
  RankBuilder(Plan& plan, RankProgram& program) : plan_(plan), program_(program) {}

  std::uint32_t compute(std::uint32_t block, const std::string& label, int microbatch,
                        double activation_bytes, std::optional<std::uint32_t> also_after = {}) {
    Op op;
    if (also_after)
      op.deps.push_back(*also_after);
    op.kind = OpKind::compute;
    op.stream = Stream::compute;
    op.block = block;
    op.activation_bytes = activation_bytes;
    return chained(std::move(op), label, microbatch);
  }

  std::uint32_t collective(std::uint32_t group, CollectiveKind kind, double bytes, Stream stream,
                           const std::string& label, int microbatch, bool on_chain,
                           std::vector<std::uint32_t> deps = {}) {
    Op op = collective_op(group, kind, bytes, stream);
    if (on_chain)
      return chained(std::move(op), label, microbatch);
    op.deps.assign(deps.begin(), deps.end());
    return append(std::move(op), label, microbatch);
  }

  // A receive the chain waits for.
  void recv(int peer, double bytes, Stream stream, const std::string& label, int microbatch) {
    Op op;
    op.kind = OpKind::recv;
    op.stream = stream;
    op.peer = peer;
    op.bytes = bytes;
    pending_.push_back(append(std::move(op), label, microbatch));
  }

  // A send of what the chain has produced so far; the chain does not wait for it.
  void send(int peer, double bytes, Stream stream, const std::string& label, int microbatch) {
    Op op;
    op.kind = OpKind::send;
    op.stream = stream;
    op.peer = peer;
    op.bytes = bytes;
    if (chain_)
      op.deps.push_back(*chain_);
    append(std::move(op), label, microbatch);
  }

  std::optional<std::uint32_t> chain() const { return chain_; }

  // Communication that runs beside the chain (overlapping the compute issued next) and that the
  // chained op after that waits for.
  void beside_chain(std::uint32_t group, CollectiveKind kind, double bytes, Stream stream,
                    const std::string& label, int microbatch) {
    Op op = collective_op(group, kind, bytes, stream);
    if (chain_)
      op.deps.push_back(*chain_);
    pending_after_next_.push_back(append(std::move(op), label, microbatch));
  }

 private:
  static Op collective_op(std::uint32_t group, CollectiveKind kind, double bytes, Stream stream) {
    Op op;
    op.kind = OpKind::collective;
    op.stream = stream;
    op.collective = kind;
    op.group = group;
    op.bytes = bytes;
    return op;
  }

  std::uint32_t chained(Op op, const std::string& label, int microbatch) {
    if (chain_)
      op.deps.push_back(*chain_);
    if (!pending_.empty()) {
      op.deps.insert(op.deps.end(), pending_.begin(), pending_.end());
      pending_.clear();
    }
    if (!pending_after_next_.empty()) {
      pending_ = std::move(pending_after_next_);
      pending_after_next_.clear();
    }
    chain_ = append(std::move(op), label, microbatch);
    return *chain_;
  }

  std::uint32_t append(Op op, const std::string& label, int microbatch) {
    op.label = plan_.label(label);
    op.microbatch = microbatch;
    std::sort(op.deps.begin(), op.deps.end());
    op.deps.erase(std::unique(op.deps.begin(), op.deps.end()), op.deps.end());
    program_.ops.push_back(std::move(op));
    return static_cast<std::uint32_t>(program_.ops.size() - 1);
  }

  Plan& plan_;
  RankProgram& program_;
  std::optional<std::uint32_t> chain_;
  std::vector<std::uint32_t> pending_;             // ops the next chained op must also wait for
  std::vector<std::uint32_t> pending_after_next_;  // ... and the one after it
};

std::string layer_label(std::int64_t layer, const std::string& what) {
  return "L" + std::to_string(layer) + " " + what;
}

}  // namespace

double gradient_bucket_bytes(const TrainingJob& job) {
  const auto& p = job.parallelism;
  return p.grad_bucket_bytes > 0
             ? p.grad_bucket_bytes
             : std::max(40e6, 1e6 * p.dp) * bytes_per_parameter(job.training.dtype).gradients;
}

StaticMemory static_memory_of_stage(const TrainingJob& job, int stage) {
  const BytesPerParameter per = bytes_per_parameter(job.training.dtype);
  const ParameterSplit params = stage_parameters(job, stage);
  StaticMemory memory;
  const auto& p = job.parallelism;
  // Gradients are reduced, and ZeRO shards, over data and context parallel ranks together: both
  // hold the same weights.
  const double dp = static_cast<double>(p.dp) * p.cp;
  // ZeRO shards the optimizer state (stage 1), the gradients (2) and the weights (3) over the
  // data-parallel group (the expert data-parallel group for routed experts).
  memory.weights_bytes = sharded_bytes(params, per.weights, p, 3);
  memory.gradients_bytes = sharded_bytes(params, per.gradients, p, 2);
  memory.optimizer_bytes = sharded_bytes(params, per.optimizer, p, 1);
  if (p.zero >= 2 && dp > 1) {
    // The bucket being reduced is held whole until its reduce-scatter ends.
    memory.communication_buffer_bytes += gradient_bucket_bytes(job);
  }
  if (p.zero >= 3 && dp > 1) {
    // Two layers' weights gathered at a time: the one computing and the one prefetched.
    memory.communication_buffer_bytes +=
        2 * layer_parameters_per_rank(job.model, 0, p.tp, p.ep).total() * per.weights;
  }
  return memory;
}

Plan build_plan(const TrainingJob& job, RankScope scope) {
  const auto& p = job.parallelism;
  const auto& m = job.model;
  if (p.ep < 1 || p.dp % p.ep != 0)
    throw std::invalid_argument("ep must divide dp: expert-parallel ranks are data-parallel ranks");
  if (p.ep > 1 && !m.is_moe())
    throw std::invalid_argument("expert parallelism needs a model with MoE layers");
  if (m.is_moe() && p.zero >= 3)
    throw std::invalid_argument("ZeRO-3 is not modelled for MoE models; use zero 0, 1 or 2");
  const int chunks = model_chunks(p) / p.pp;
  const std::vector<std::int64_t> layers_of_chunk = chunk_layers(m.layers, p.pp * chunks);
  std::vector<std::int64_t> first_layer_of_chunk(layers_of_chunk.size(), 0);
  for (std::size_t c = 1; c < layers_of_chunk.size(); ++c)
    first_layer_of_chunk[c] = first_layer_of_chunk[c - 1] + layers_of_chunk[c - 1];
  const int microbatches = microbatches_per_replica(job);
  const Dtype dtype = job.training.dtype;
  const BytesPerParameter per = bytes_per_parameter(dtype);
  const double sp = p.sequence_parallel ? p.tp : 1;
  const double tokens = static_cast<double>(job.training.micro_batch * m.seq_len / p.cp);
  const double boundary_bytes =
      tokens * static_cast<double>(m.hidden) * bytes_per_element(dtype) / sp;
  const double grad_bucket_bytes = gradient_bucket_bytes(job);
  const int data_parallel = p.dp * p.cp;  // ranks holding the same weights
  const int expert_data_parallel = replica_counts(p).expert;
  const bool sharded_weights = p.zero >= 3 && data_parallel > 1;

  Plan plan;
  const Blocks blocks = make_blocks(plan, job);
  const int world = p.world_size();
  // With expert parallelism the replicas are blocks of ep data-parallel ranks (the ep groups,
  // identical to each other), so that every group spans whole replicas from the first on.
  const bool one_replica = scope == RankScope::one_replica && p.dp > p.ep;
  if (one_replica)
    plan.replicas = {p.dp / p.ep, p.tp * p.cp * p.ep};
  auto listed = [&](int rank) { return !one_replica || coordinates_of(rank, p).dp < p.ep; };
  plan.ranks.reserve(world / plan.replicas.count);

  // Groups, indexed by the coordinates they span.
  std::vector<std::uint32_t> tp_group(world), dp_group(world), cp_group(world), ep_group(world),
      edp_group(world), embedding_group(world);
  for (int r = 0; r < world; ++r) {
    const RankCoordinates c = coordinates_of(r, p);
    if (c.tp == 0 && p.tp > 1 && listed(r)) {
      Group g{"tp", {}};
      for (int t = 0; t < p.tp; ++t)
        g.ranks.push_back(rank_of({t, c.cp, c.dp, c.pp}, p));
      const auto id = plan.add_group(std::move(g));
      for (int t = 0; t < p.tp; ++t)
        tp_group[rank_of({t, c.cp, c.dp, c.pp}, p)] = id;
    }
    if (c.dp == 0 && c.cp == 0 && data_parallel > 1) {
      Group g{"dp", {}};
      for (int k = 0; k < p.cp; ++k) {
        for (int d = 0; d < p.dp; ++d)
          g.ranks.push_back(rank_of({c.tp, k, d, c.pp}, p));
      }
      const auto id = plan.add_group(std::move(g));
      for (int k = 0; k < p.cp; ++k) {
        for (int d = 0; d < p.dp; ++d)
          dp_group[rank_of({c.tp, k, d, c.pp}, p)] = id;
      }
    }
    if (c.cp == 0 && p.cp > 1 && listed(r)) {
      Group g{"cp", {}};
      for (int k = 0; k < p.cp; ++k)
        g.ranks.push_back(rank_of({c.tp, k, c.dp, c.pp}, p));
      const auto id = plan.add_group(std::move(g));
      for (int k = 0; k < p.cp; ++k)
        cp_group[rank_of({c.tp, k, c.dp, c.pp}, p)] = id;
    }
    // Expert parallelism: blocks of ep consecutive data-parallel indices (Megatron-LM's order
    // tp-cp-ep-dp), so that an expert-parallel group of the same tensor and context rank spans
    // tp·cp·ep consecutive ranks. Its expert data-parallel group: the ranks with the same index
    // in their block, over every block and context rank.
    if (c.dp % p.ep == 0 && p.ep > 1 && listed(r)) {
      Group g{"ep", {}};
      for (int e = 0; e < p.ep; ++e)
        g.ranks.push_back(rank_of({c.tp, c.cp, c.dp + e, c.pp}, p));
      const auto id = plan.add_group(std::move(g));
      for (int e = 0; e < p.ep; ++e)
        ep_group[rank_of({c.tp, c.cp, c.dp + e, c.pp}, p)] = id;
    }
    if (m.is_moe() && c.dp < p.ep && c.cp == 0 && expert_data_parallel > 1) {
      Group g{"edp", {}};
      for (int k = 0; k < p.cp; ++k) {
        for (int d = c.dp; d < p.dp; d += p.ep)
          g.ranks.push_back(rank_of({c.tp, k, d, c.pp}, p));
      }
      const auto id = plan.add_group(std::move(g));
      for (int member : plan.groups[id].ranks)
        edp_group[member] = id;
    }
    if (c.pp == 0 && p.pp > 1 && m.tied_embeddings && listed(r)) {
      const int last = rank_of({c.tp, c.cp, c.dp, p.pp - 1}, p);
      const auto id = plan.add_group({"embedding", {r, last}});
      embedding_group[r] = embedding_group[last] = id;
    }
  }

  std::vector<ParameterSplit> layer_params;
  for (std::int64_t l = 0; l < m.layers; ++l)
    layer_params.push_back(layer_parameters_per_rank(m, l, p.tp, p.ep));

  std::vector<std::uint32_t> optimizer_block(p.pp);
  for (int stage = 0; stage < p.pp; ++stage) {
    Kernel step;
    step.name = "adam_step";
    step.kind = KernelKind::optimizer;
    step.dtype = Dtype::fp32;
    // With ZeRO each rank steps only its shard of the optimizer state.
    step.bytes = sharded_bytes(stage_parameters(job, stage), per.optimizer_step_traffic, p, 1);
    optimizer_block[stage] =
        plan.add_block({"optimizer step stage " + std::to_string(stage), {step}});
  }
  // Every rank of a stage runs the same program on its own groups and pipeline peers, so the
  // first is built and the others copy it with those swapped: building (labels, dependencies) is
  // most of the cost of a plan with a thousand ranks.
  const std::pair<const char*, const std::vector<std::uint32_t>*> groups_by_name[] = {
      {"tp", &tp_group}, {"dp", &dp_group},   {"cp", &cp_group},
      {"ep", &ep_group}, {"edp", &edp_group}, {"embedding", &embedding_group}};
  auto group_for = [&](std::uint32_t group_of_built, int built, int r) {
    for (const auto& [name, of_rank] : groups_by_name) {
      if (plan.groups[group_of_built].name == name && (*of_rank)[built] == group_of_built)
        return (*of_rank)[r];
    }
    throw std::logic_error("plan builder: group " + plan.groups[group_of_built].name +
                           " has no counterpart for rank " + std::to_string(r));
  };
  std::vector<int> built_of_stage(p.pp, -1);  // index in plan.ranks of the stage's built program
  for (int r = 0; r < world; ++r) {
    if (!listed(r))
      continue;
    const RankCoordinates c = coordinates_of(r, p);
    if (const int built = built_of_stage[c.pp]; built >= 0) {
      RankProgram copy = plan.ranks[built];
      const int built_rank = copy.rank;
      std::map<std::uint32_t, std::uint32_t> groups;
      for (Op& op : copy.ops) {
        if (op.kind == OpKind::collective) {
          auto [it, inserted] = groups.try_emplace(op.group, 0);
          if (inserted)
            it->second = group_for(op.group, built_rank, r);
          op.group = it->second;
        } else if (op.kind == OpKind::send || op.kind == OpKind::recv) {
          op.peer += r - built_rank;  // the peers differ from the rank in pp alone
        }
      }
      copy.rank = r;
      copy.device = r;
      plan.ranks.push_back(std::move(copy));
      continue;
    }
    built_of_stage[c.pp] = static_cast<int>(plan.ranks.size());
    RankProgram& program = plan.ranks.emplace_back();
    program.rank = r;
    program.device = r;
    program.static_memory = static_memory_of_stage(job, c.pp);
    RankBuilder b(plan, program);
    const int s = c.pp;
    const int next = rank_of({c.tp, c.cp, c.dp, (s + 1) % p.pp}, p);
    const int prev = rank_of({c.tp, c.cp, c.dp, (s + p.pp - 1) % p.pp}, p);
    const bool tp_on = p.tp > 1;

    // Tensor-parallel communication around a block: all-reduce of the output, or with sequence
    // parallelism an all-gather of the input and a reduce-scatter of the output.
    auto tp_before = [&](double bytes, const std::string& label, int mb) {
      if (tp_on && p.sequence_parallel) {
        b.collective(tp_group[r], CollectiveKind::all_gather, bytes, Stream::tp_comm,
                     label + " all-gather", mb, true);
      }
    };
    auto tp_after = [&](double bytes, const std::string& label, int mb) {
      if (!tp_on)
        return;
      b.collective(
          tp_group[r],
          p.sequence_parallel ? CollectiveKind::reduce_scatter : CollectiveKind::all_reduce, bytes,
          Stream::tp_comm, label + (p.sequence_parallel ? " reduce-scatter" : " all-reduce"), mb,
          true);
    };

    std::vector<std::uint32_t> grad_reductions;
    // Gradients fill buckets, one for dense weights reduced over the data-parallel group and one
    // for routed experts reduced over the expert data-parallel group.
    double bucket_fill = 0, expert_bucket_fill = 0;
    auto reduce_bucket = [&](double& fill, double params, std::optional<std::uint32_t> after,
                             bool flush, int replicas, std::uint32_t group,
                             const std::string& what) {
      if (replicas == 1 || sharded_weights)
        return;
      fill += params * per.gradients;
      if (fill >= grad_bucket_bytes || (flush && fill > 0)) {
        std::vector<std::uint32_t> deps;
        if (after)
          deps.push_back(*after);
        // ZeRO reduce-scatters: each rank keeps the reduced shard it will step.
        const bool scatter = p.zero >= 1;
        grad_reductions.push_back(b.collective(
            group, scatter ? CollectiveKind::reduce_scatter : CollectiveKind::all_reduce, fill,
            Stream::dp_comm, what + (scatter ? " gradient reduce-scatter" : " gradient all-reduce"),
            -1, false, deps));
        fill = 0;
      }
    };
    auto reduce_gradients = [&](double params, std::optional<std::uint32_t> after, bool flush,
                                double expert_params = 0) {
      reduce_bucket(bucket_fill, params, after, flush, data_parallel, dp_group[r], "dp");
      reduce_bucket(expert_bucket_fill, expert_params, after, flush, expert_data_parallel,
                    edp_group[r], "expert dp");
    };
    std::vector<ParameterSplit> deferred_gradient_params;

    // ZeRO-3: a layer's weights are all-gathered before each use (forward, and again before
    // backward) on their own stream, at most two layers ahead of the compute that needs them,
    // and its gradients reduce-scattered right after its backward pass, every micro-batch.
    std::vector<std::uint32_t> recent_layer_computes;
    auto gather_weights = [&](double params, const std::string& label,
                              int mb) -> std::optional<std::uint32_t> {
      if (!sharded_weights)
        return std::nullopt;
      std::vector<std::uint32_t> deps;
      if (recent_layer_computes.size() >= 2) {
        deps.push_back(recent_layer_computes[recent_layer_computes.size() - 2]);
      }
      return b.collective(dp_group[r], CollectiveKind::all_gather, params * per.weights,
                          Stream::param_gather, label + " weight all-gather", mb, false, deps);
    };
    auto scatter_gradients = [&](double params, std::uint32_t after, const std::string& label,
                                 int mb) {
      if (!sharded_weights)
        return;
      grad_reductions.push_back(
          b.collective(dp_group[r], CollectiveKind::reduce_scatter, params * per.gradients,
                       Stream::dp_comm, label + " gradient reduce-scatter", mb, false, {after}));
    };
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
    const double mlp_stored =
        p.recompute == Recompute::full ? 0 : blocks.layer.mlp.activation_bytes;
    const double tp_bytes = tokens * static_cast<double>(m.hidden) * bytes_per_element(dtype);
    // Context parallelism (ring attention): the sequence's keys and values go round the context
    // group while the attention core computes on the blocks already there; backward sends the
    // key and value gradients round as well.
    const double kv_heads_local = static_cast<double>(std::max<std::int64_t>(1, m.kv_heads / p.tp));
    const double kv_bytes = static_cast<double>(job.training.micro_batch * m.seq_len) *
                            kv_heads_local * static_cast<double>(m.qk_head_dim() + m.v_head_dim()) *
                            bytes_per_element(dtype);
    auto ring_attention = [&](bool forward, std::int64_t l, int mb) {
      if (p.cp == 1)
        return;
      b.beside_chain(cp_group[r], CollectiveKind::all_gather, kv_bytes, Stream::cp_comm,
                     layer_label(l, "cp key/value exchange"), mb);
      if (!forward) {
        b.beside_chain(cp_group[r], CollectiveKind::reduce_scatter, kv_bytes, Stream::cp_comm,
                       layer_label(l, "cp key/value gradient exchange"), mb);
      }
    };

    // The MLP of an MoE layer (models/transformer.hpp, MoeWork), forward as run in the forward
    // pass or recomputed before backward, and backward. The all-to-alls sit on the chain: the
    // experts wait for their tokens, the combine for the experts' outputs. Backward mirrors
    // forward: each all-to-all sends gradients the other way, the tensor-parallel all-gather
    // becomes a reduce-scatter and the reduce-scatter an all-gather.
    auto ep_all_to_all = [&](const std::string& label, int mb) {
      if (p.ep > 1) {
        b.collective(ep_group[r], CollectiveKind::all_to_all, blocks.moe->work.dispatch_bytes,
                     Stream::ep_comm, label + " all-to-all", mb, true);
      }
    };
    auto expert_tp = [&](CollectiveKind kind, const std::string& label, int mb) {
      if (tp_on) {
        b.collective(
            tp_group[r], kind, blocks.moe->work.expert_tp_bytes, Stream::tp_comm,
            label + (kind == CollectiveKind::all_gather ? " all-gather" : " reduce-scatter"), mb,
            true);
      }
    };
    auto moe_forward = [&](std::int64_t l, int mb, bool recompute) {
      const MoeBlocks& x = *blocks.moe;
      const std::string pass = recompute ? "recompute moe " : "moe ";
      // Full recompute keeps nothing in the forward pass; the recompute keeps it all.
      const bool keep = recompute || p.recompute != Recompute::full;
      auto stored = [&](const Block& block) { return keep ? block.activation_bytes : 0.0; };
      b.compute(x.router_forward, layer_label(l, (pass + "router")), mb, stored(x.work.router));
      ep_all_to_all(layer_label(l, (pass + "dispatch")), mb);
      expert_tp(CollectiveKind::all_gather, layer_label(l, (pass + "experts tp")), mb);
      b.compute(x.experts_forward, layer_label(l, (pass + "experts")), mb, stored(x.work.experts));
      expert_tp(CollectiveKind::reduce_scatter, layer_label(l, (pass + "experts tp")), mb);
      ep_all_to_all(layer_label(l, (pass + "combine")), mb);
      if (!x.work.shared.forward.empty()) {
        tp_before(tp_bytes, layer_label(l, (pass + "shared experts tp")), mb);
        b.compute(x.shared_forward, layer_label(l, (pass + "shared experts")), mb,
                  stored(x.work.shared));
        tp_after(tp_bytes, layer_label(l, (pass + "shared experts tp")), mb);
      }
      b.compute(x.combine_forward, layer_label(l, (pass + "combine")), mb, stored(x.work.combine));
    };
    auto moe_backward = [&](std::int64_t l, int mb) {
      const MoeBlocks& x = *blocks.moe;
      b.compute(x.combine_backward, layer_label(l, "moe combine backward"), mb,
                -x.work.combine.activation_bytes);
      if (!x.work.shared.forward.empty()) {
        tp_before(tp_bytes, layer_label(l, "moe shared experts backward tp"), mb);
        b.compute(x.shared_backward, layer_label(l, "moe shared experts backward"), mb,
                  -x.work.shared.activation_bytes);
        tp_after(tp_bytes, layer_label(l, "moe shared experts backward tp"), mb);
      }
      ep_all_to_all(layer_label(l, "moe combine backward"), mb);
      expert_tp(CollectiveKind::all_gather, layer_label(l, "moe experts backward tp"), mb);
      b.compute(x.experts_backward, layer_label(l, "moe experts backward"), mb,
                -x.work.experts.activation_bytes);
      expert_tp(CollectiveKind::reduce_scatter, layer_label(l, "moe experts backward tp"), mb);
      ep_all_to_all(layer_label(l, "moe dispatch backward"), mb);
      b.compute(x.router_backward, layer_label(l, "moe router backward"), mb,
                -x.work.router.activation_bytes);
    };

    // Sequence parallelism keeps the input of the column-parallel GEMMs (QKV, FC1) split along
    // the sequence; their weight gradient needs it whole, so Megatron-LM all-gathers it again in
    // backward, beside the input-gradient GEMM, and waits for it before the weight gradient
    // (LinearWithGradAccumulationAndAsyncCommunication).
    auto regather_input = [&](const std::string& label, int mb) {
      if (tp_on && p.sequence_parallel) {
        b.beside_chain(tp_group[r], CollectiveKind::all_gather, tp_bytes, Stream::tp_comm,
                       label + " input all-gather", mb);
      }
    };
    // A block's gradients are whole once its weight gradient has run: ZeRO-3 scatters them every
    // micro-batch, data parallelism reduces them after the last.
    auto gradients_ready = [&](const ParameterSplit& params, std::uint32_t op,
                               const std::string& label, int mb, bool last_microbatch) {
      scatter_gradients(params.total(), op, label, mb);
      if (!last_microbatch)
        return;
      if (p.overlap_grad_reduce) {
        reduce_gradients(params.dense, op, false, params.expert);
      } else {
        deferred_gradient_params.push_back(params);
      }
    };
    // Activation memory of a layer's backward. Run whole, it frees everything the forward (or
    // the recompute) kept. Split (zero bubble), the input gradient frees all but what the weight
    // gradient reads and adds the output gradients it makes for it; the weight gradient frees
    // those when it ends (Block::weight_gradient_inputs_bytes, weight_gradient_operands_bytes).
    // An MoE layer's MLP runs its backward whole in the input-gradient pass.
    const auto& attention = blocks.layer.attention;
    const auto& mlp = blocks.layer.mlp;
    const double attention_freed =
        attention.activation_bytes + (p.recompute == Recompute::full ? attention.input_bytes : 0.0);
    const double attention_kept =
        attention.weight_gradient_inputs_bytes + attention.weight_gradient_operands_bytes;
    const double mlp_kept = mlp.weight_gradient_inputs_bytes + mlp.weight_gradient_operands_bytes;

    for (const PipelineStep& step : pipeline_order(p.schedule, s, p.pp, microbatches, chunks)) {
      const int mb = step.microbatch;
      const int model_chunk = step.chunk * p.pp + s;
      const bool first_chunk = model_chunk == 0;
      const bool last_chunk = model_chunk == p.pp * chunks - 1;
      const std::int64_t first_layer = first_layer_of_chunk[model_chunk];
      const std::int64_t layers_per_chunk = layers_of_chunk[model_chunk];
      const bool last_microbatch = mb == microbatches - 1;
      if (step.pass == PipelinePass::forward) {
        if (!first_chunk)
          b.recv(prev, boundary_bytes, Stream::pp_recv_prev, "recv activations", mb);
        if (first_chunk) {
          b.compute(blocks.embedding_forward, "embedding forward", mb, 0,
                    gather_weights(embedding_params, "embedding", mb));
          if (tp_on) {
            b.collective(
                tp_group[r],
                p.sequence_parallel ? CollectiveKind::reduce_scatter : CollectiveKind::all_reduce,
                tp_bytes, Stream::tp_comm, "embedding tp", mb, true);
          }
        }
        for (std::int64_t l = first_layer; l < first_layer + layers_per_chunk; ++l) {
          const auto gathered =
              gather_weights(layer_params[l].total(), layer_label(l, "layer"), mb);
          tp_before(tp_bytes, layer_label(l, "attention tp"), mb);
          ring_attention(true, l, mb);
          const auto attention_op =
              b.compute(blocks.attention_forward, layer_label(l, "attention forward"), mb,
                        attention_stored, gathered);
          if (sharded_weights)
            recent_layer_computes.push_back(attention_op);
          tp_after(tp_bytes, layer_label(l, "attention tp"), mb);
          if (m.is_moe_layer(l)) {
            moe_forward(l, mb, false);
          } else {
            tp_before(tp_bytes, layer_label(l, "mlp tp"), mb);
            b.compute(blocks.mlp_forward, layer_label(l, "mlp forward"), mb, mlp_stored);
            tp_after(tp_bytes, layer_label(l, "mlp tp"), mb);
          }
        }
        if (last_chunk) {
          b.compute(blocks.output_forward, "output forward", mb, blocks.output.activation_bytes,
                    gather_weights(output_params, "output", mb));
        } else {
          b.send(next, boundary_bytes, Stream::pp_send_next, "send activations", mb);
        }
        continue;
      }
      if (step.pass == PipelinePass::weight_gradient) {
        for (std::int64_t l = first_layer + layers_per_chunk - 1; l >= first_layer; --l) {
          if (!m.is_moe_layer(l)) {
            b.compute(blocks.mlp_weight_gradient, layer_label(l, "mlp weight gradient"), mb,
                      -mlp_kept);
          }
          const auto op =
              b.compute(blocks.attention_weight_gradient,
                        layer_label(l, "attention weight gradient"), mb, -attention_kept);
          gradients_ready(layer_params[l], op, layer_label(l, "layer"), mb, last_microbatch);
        }
        if (first_chunk) {
          // The embedding's backward is its weight gradient alone.
          const auto op = b.compute(blocks.embedding_backward, "embedding backward", mb, 0,
                                    gather_weights(embedding_params, "embedding", mb));
          gradients_ready({embedding_params, 0}, op, "embedding", mb, last_microbatch);
        }
        if (last_microbatch && p.overlap_grad_reduce)
          reduce_gradients(0, b.chain(), true);
        continue;
      }
      // The whole backward, or (zero bubble) its input gradient, which the previous stage waits
      // for; the weight gradient follows in its own step.
      const bool split = step.pass == PipelinePass::input_gradient;
      if (!last_chunk)
        b.recv(next, boundary_bytes, Stream::pp_recv_next, "recv gradients", mb);
      if (last_chunk) {
        // The output projection's weight gradient runs with its input gradient even under zero
        // bubble: deferring it would keep the logits' gradient (tokens × vocabulary) alive.
        const auto op =
            b.compute(blocks.output_backward, "output backward", mb,
                      -blocks.output.activation_bytes, gather_weights(output_params, "output", mb));
        tp_after(tp_bytes, "output tp", mb);
        gradients_ready({output_params, 0}, op, "output", mb, last_microbatch);
      }
      for (std::int64_t l = first_layer + layers_per_chunk - 1; l >= first_layer; --l) {
        auto gathered = gather_weights(layer_params[l].total(), layer_label(l, "layer"), mb);
        if (p.recompute == Recompute::full) {
          tp_before(tp_bytes, layer_label(l, "recompute attention tp"), mb);
          ring_attention(true, l, mb);
          b.compute(blocks.attention_forward, layer_label(l, "recompute attention"), mb,
                    attention.activation_bytes, std::exchange(gathered, std::nullopt));
          tp_after(tp_bytes, layer_label(l, "recompute attention tp"), mb);
          if (m.is_moe_layer(l)) {
            moe_forward(l, mb, true);
          } else {
            tp_before(tp_bytes, layer_label(l, "recompute mlp tp"), mb);
            b.compute(blocks.mlp_forward, layer_label(l, "recompute mlp"), mb,
                      mlp.activation_bytes);
            tp_after(tp_bytes, layer_label(l, "recompute mlp tp"), mb);
          }
        }
        if (m.is_moe_layer(l)) {
          moe_backward(l, mb);  // ZeRO-3 (gathered weights) is refused for MoE models
        } else {
          tp_before(tp_bytes, layer_label(l, "mlp backward tp"), mb);
          regather_input(layer_label(l, "mlp backward"), mb);
          if (split) {
            b.compute(blocks.mlp_input_gradient, layer_label(l, "mlp input gradient"), mb,
                      mlp_kept - mlp.activation_bytes, gathered);
          } else {
            b.compute(blocks.mlp_backward, layer_label(l, "mlp backward"), mb,
                      -mlp.activation_bytes, gathered);
          }
          tp_after(tp_bytes, layer_label(l, "mlp backward tp"), mb);
        }
        if (p.recompute == Recompute::selective) {
          b.compute(blocks.attention_core_recompute, layer_label(l, "recompute attention core"), mb,
                    attention.selective_recompute_saved_bytes);
        }
        tp_before(tp_bytes, layer_label(l, "attention backward tp"), mb);
        ring_attention(false, l, mb);
        regather_input(layer_label(l, "attention backward"), mb);
        const auto op = split
                            ? b.compute(blocks.attention_input_gradient,
                                        layer_label(l, "attention input gradient"), mb,
                                        attention_kept - attention_freed)
                            : b.compute(blocks.attention_backward,
                                        layer_label(l, "attention backward"), mb, -attention_freed);
        tp_after(tp_bytes, layer_label(l, "attention backward tp"), mb);
        if (sharded_weights)
          recent_layer_computes.push_back(op);
        if (!split)
          gradients_ready(layer_params[l], op, layer_label(l, "layer"), mb, last_microbatch);
      }
      if (!first_chunk) {
        b.send(prev, boundary_bytes, Stream::pp_send_prev, "send gradients", mb);
      } else if (!split) {
        const auto op = b.compute(blocks.embedding_backward, "embedding backward", mb, 0,
                                  gather_weights(embedding_params, "embedding", mb));
        gradients_ready({embedding_params, 0}, op, "embedding", mb, last_microbatch);
      }
      if (!split && last_microbatch && p.overlap_grad_reduce)
        reduce_gradients(0, b.chain(), true);
    }
    for (const ParameterSplit& params : deferred_gradient_params)
      reduce_gradients(params.dense, b.chain(), false, params.expert);
    reduce_gradients(0, b.chain(), true);

    std::vector<std::uint32_t> before_step = grad_reductions;
    if (p.pp > 1 && m.tied_embeddings && (s == 0 || s == p.pp - 1)) {
      const double bytes = static_cast<double>(m.vocab / p.tp * m.hidden) * per.gradients;
      std::vector<std::uint32_t> deps;
      if (b.chain())
        deps.push_back(*b.chain());
      before_step.push_back(b.collective(embedding_group[r], CollectiveKind::all_reduce, bytes,
                                         Stream::dp_comm, "embedding gradient all-reduce", -1,
                                         false, deps));
    }
    Op op;
    op.kind = OpKind::compute;
    op.stream = Stream::compute;
    op.block = optimizer_block[s];
    op.label = plan.label("optimizer step");
    op.deps.assign(before_step.begin(), before_step.end());
    if (b.chain())
      op.deps.push_back(*b.chain());
    std::sort(op.deps.begin(), op.deps.end());
    op.deps.erase(std::unique(op.deps.begin(), op.deps.end()), op.deps.end());
    program.ops.push_back(std::move(op));
    if (p.zero == 1 || p.zero == 2) {
      // Each rank stepped its shard; the updated weights are gathered back before the next step
      // (Megatron-LM's distributed optimizer without --overlap-param-gather).
      const auto stepped = static_cast<std::uint32_t>(program.ops.size() - 1);
      const ParameterSplit stage_params = stage_parameters(job, s);
      if (data_parallel > 1) {
        b.collective(dp_group[r], CollectiveKind::all_gather, stage_params.dense * per.weights,
                     Stream::dp_comm, "dp weight all-gather", -1, false, {stepped});
      }
      if (expert_data_parallel > 1 && stage_params.expert > 0) {
        b.collective(edp_group[r], CollectiveKind::all_gather, stage_params.expert * per.weights,
                     Stream::dp_comm, "expert dp weight all-gather", -1, false, {stepped});
      }
    }
  }
  return plan;
}

}  // namespace scaleplan
