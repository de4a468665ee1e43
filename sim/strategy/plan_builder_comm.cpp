// How a stage's ops depend on each other (RankBuilder), and the communication around its
// compute: tensor parallel, context parallel (ring attention), data-parallel gradient buckets
// and ZeRO's gathers and scatters.
#include <algorithm>
#include <utility>

#include "sim/strategy/plan_builder_detail.hpp"

namespace scaleplan {

// Tensor-, pipeline- and context-parallel traffic carries activations, which fp8 training keeps
// in bf16 (non_gemm_dtype).
double tensor_parallel_bytes(const TrainingJob& job) {
  return static_cast<double>(job.training.micro_batch * job.model.seq_len / job.parallelism.cp) *
         static_cast<double>(job.model.hidden) *
         bytes_per_element(non_gemm_dtype(job.training.dtype));
}

bool pipeline_scatter_gather_on(const TrainingJob& job) {
  const auto& p = job.parallelism;
  return job.framework.pipeline_scatter_gather && p.tp > 1 && !p.sequence_parallel && p.pp > 1;
}

bool pipeline_blocking_p2p_on(const TrainingJob& job) {
  const auto& p = job.parallelism;
  return job.framework.pipeline_blocking_p2p && p.pp > 1 &&
         p.schedule == PipelineSchedule::one_f_one_b && p.virtual_stages == 1;
}

bool pipeline_output_regather_on(const TrainingJob& job) {
  return job.framework.pipeline_output_regather && pipeline_scatter_gather_on(job);
}

bool bf16_optimizer_on(const TrainingJob& job) {
  return job.framework.bf16_optimizer && job.training.dtype == Dtype::bf16 &&
         job.parallelism.zero <= 1;
}

Kernel hp_grad_accumulation_kernel(double parameters) {
  Kernel add;
  add.name = "hp_grad_accumulation";
  add.kind = KernelKind::elementwise;
  add.dtype = Dtype::fp32;
  add.bytes = parameters * (bytes_per_element(Dtype::bf16) + 2 * bytes_per_element(Dtype::fp32));
  return add;
}

bool zero_two_gathers_per_layer(const TrainingJob& job) {
  return job.parallelism.zero == 2 && job.framework.zero2_gathers_per_layer &&
         replica_counts(job.parallelism).dense > 1;
}

bool zero_two_reduces_every_micro_batch(const TrainingJob& job) {
  const ParallelismSpec& p = job.parallelism;
  switch (job.framework.zero2_gradient_reduction) {
    case Zero2GradientReduction::step:
      return false;
    case Zero2GradientReduction::micro_batch:
      return p.zero == 2;
    case Zero2GradientReduction::micro_batch_unless_pipelined:
      return p.zero == 2 && p.pp == 1;
  }
  return false;
}

bool tp_comm_overlap_on(const TrainingJob& job) {
  const auto& p = job.parallelism;
  return job.framework.tp_comm_overlap && p.tp > 1 && p.sequence_parallel;
}

std::optional<ExpertDispatch> expert_dispatch_of(const TrainingJob& job) {
  const MoeConfig& moe = job.model.moe;
  if (!job.model.is_moe() || job.framework.moe_dispatcher == MoeDispatcher::all_to_all)
    return std::nullopt;
  return ExpertDispatch{job.framework.moe_dispatcher, moe.expert_routing(),
                        static_cast<double>(moe.top_k) * moe.capacity_factor};
}

bool moe_a2a_overlap_on(const TrainingJob& job) {
  const auto& p = job.parallelism;
  const bool schedule_fits = p.pp == 1 ? p.schedule != PipelineSchedule::zero_bubble_h1
                                       : p.schedule == PipelineSchedule::interleaved_1f1b;
  return job.framework.overlap_moe_expert_parallel_comm && job.model.is_moe() && p.ep > 1 &&
         p.recompute != Recompute::full && schedule_fits;
}

double stage_boundary_bytes(const TrainingJob& job) {
  const auto& p = job.parallelism;
  const bool split = p.sequence_parallel || pipeline_scatter_gather_on(job);
  return tensor_parallel_bytes(job) / (split ? p.tp : 1);
}

double context_parallel_kv_bytes(const TrainingJob& job) {
  const auto& m = job.model;
  const double kv_heads_local =
      static_cast<double>(std::max<std::int64_t>(1, m.kv_heads / job.parallelism.tp));
  return static_cast<double>(job.training.micro_batch * m.seq_len) * kv_heads_local *
         static_cast<double>(m.qk_head_dim() + m.v_head_dim()) *
         bytes_per_element(non_gemm_dtype(job.training.dtype));
}

}  // namespace scaleplan

namespace scaleplan::plan_detail {

std::uint32_t RankBuilder::compute(std::uint32_t block, const std::string& label, int microbatch,
                                   double activation_bytes,
                                   std::optional<std::uint32_t> also_after) {
  Op op;
  if (also_after)
    op.deps.push_back(*also_after);
  op.kind = OpKind::compute;
  op.stream = Stream::compute;
  op.block = block;
  op.activation_bytes = activation_bytes;
  return chained(std::move(op), label, microbatch);
}

std::uint32_t RankBuilder::collective(std::uint32_t group, CollectiveKind kind, double bytes,
                                      Stream stream, const std::string& label, int microbatch,
                                      bool on_chain, std::vector<std::uint32_t> deps) {
  Op op = collective_op(group, kind, bytes, stream);
  if (on_chain)
    return chained(std::move(op), label, microbatch);
  op.deps.assign(deps.begin(), deps.end());
  return append(std::move(op), label, microbatch);
}

void RankBuilder::recv(int peer, double bytes, Stream stream, const std::string& label,
                       int microbatch) {
  pending_.push_back(append(message_op(OpKind::recv, peer, bytes, stream), label, microbatch));
}

void RankBuilder::send(int peer, double bytes, Stream stream, const std::string& label,
                       int microbatch) {
  after_chain(message_op(OpKind::send, peer, bytes, stream), label, microbatch);
}

void RankBuilder::blocking_message(OpKind kind, int peer, double bytes, Stream stream,
                                   const std::string& label, int microbatch) {
  chained(message_op(kind, peer, bytes, stream), label, microbatch);
}

void RankBuilder::beside_chain(std::uint32_t group, CollectiveKind kind, double bytes,
                               Stream stream, const std::string& label, int microbatch) {
  pending_after_next_.push_back(
      after_chain(collective_op(group, kind, bytes, stream), label, microbatch));
}

Op RankBuilder::collective_op(std::uint32_t group, CollectiveKind kind, double bytes,
                              Stream stream) {
  Op op;
  op.kind = OpKind::collective;
  op.stream = stream;
  op.collective = kind;
  op.group = group;
  op.bytes = bytes;
  return op;
}

Op RankBuilder::message_op(OpKind kind, int peer, double bytes, Stream stream) {
  Op op;
  op.kind = kind;
  op.stream = stream;
  op.peer = peer;
  op.bytes = bytes;
  return op;
}

std::uint32_t RankBuilder::after_chain(Op op, const std::string& label, int microbatch) {
  if (chain_)
    op.deps.push_back(*chain_);
  return append(std::move(op), label, microbatch);
}

std::uint32_t RankBuilder::chained(Op op, const std::string& label, int microbatch) {
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

std::uint32_t RankBuilder::append(Op op, const std::string& label, int microbatch) {
  op.label = plan_.label(label);
  op.microbatch = microbatch;
  std::sort(op.deps.begin(), op.deps.end());
  op.deps.erase(std::unique(op.deps.begin(), op.deps.end()), op.deps.end());
  program_.ops.push_back(std::move(op));
  return static_cast<std::uint32_t>(program_.ops.size() - 1);
}

// With tp_comm_overlap (Transformer Engine's ring exchange) the all-gather runs beside the block
// it feeds: each GEMM chunk starts on the piece already there, and the op after the block waits
// for the whole gather.
void StageBuilder::tp_before(double bytes, const std::string& label, int mb) {
  if (!tp_on_ || !job_.parallelism.sequence_parallel)
    return;
  if (tp_comm_overlap_on(job_)) {
    b_.beside_chain(groups_.tp, CollectiveKind::all_gather, bytes, Stream::tp_comm,
                    label + " all-gather (overlapped)", mb);
    return;
  }
  b_.collective(groups_.tp, CollectiveKind::all_gather, bytes, Stream::tp_comm,
                label + " all-gather", mb, true);
}

// With tp_comm_overlap the reduce-scatter is pipelined with the block that produces it (TE's
// split GEMM with a reduce-scatter per chunk, or the bulk overlap with the weight gradient in
// backward): tp - 1 of its tp chunks run beside the block, from when the block may start, and the
// last chunk after it, on the chain.
void StageBuilder::tp_after(double bytes, const std::string& label, int mb) {
  if (!tp_on_)
    return;
  const auto& p = job_.parallelism;
  if (tp_comm_overlap_on(job_) && b_.chain()) {
    const double tp = p.tp;
    const auto& chained_deps = program_.ops[*b_.chain()].deps;
    std::vector<std::uint32_t> block_deps(chained_deps.begin(), chained_deps.end());
    b_.wait_for(b_.collective(groups_.tp, CollectiveKind::reduce_scatter, bytes * (tp - 1) / tp,
                              Stream::tp_comm, label + " reduce-scatter (overlapped)", mb, false,
                              block_deps));
    b_.collective(groups_.tp, CollectiveKind::reduce_scatter, bytes / tp, Stream::tp_comm,
                  label + " reduce-scatter (last chunk)", mb, true);
    return;
  }
  b_.collective(groups_.tp,
                p.sequence_parallel ? CollectiveKind::reduce_scatter : CollectiveKind::all_reduce,
                bytes, Stream::tp_comm,
                label + (p.sequence_parallel ? " reduce-scatter" : " all-reduce"), mb, true);
}

// Sequence parallelism keeps the input of the column-parallel GEMMs (QKV, FC1) split along the
// sequence; their weight gradient needs it whole, so Megatron-LM all-gathers it again in
// backward, beside the input-gradient GEMM, and waits for it before the weight gradient
// (LinearWithGradAccumulationAndAsyncCommunication).
void StageBuilder::regather_input(const std::string& label, int mb) {
  if (tp_on_ && job_.parallelism.sequence_parallel) {
    b_.beside_chain(groups_.tp, CollectiveKind::all_gather, tp_bytes_, Stream::tp_comm,
                    label + " input all-gather", mb);
  }
}

// Context parallelism (ring attention): the sequence's keys and values go round the context
// group while the attention core computes on the blocks already there; backward sends the key
// and value gradients round as well.
void StageBuilder::ring_attention(bool forward, std::int64_t l, int mb) {
  if (job_.parallelism.cp == 1)
    return;
  const double kv_bytes = context_parallel_kv_bytes(job_);
  b_.beside_chain(groups_.cp, CollectiveKind::all_gather, kv_bytes, Stream::cp_comm,
                  layer_label(l, "cp key/value exchange"), mb);
  if (!forward) {
    b_.beside_chain(groups_.cp, CollectiveKind::reduce_scatter, kv_bytes, Stream::cp_comm,
                    layer_label(l, "cp key/value gradient exchange"), mb);
  }
}

void StageBuilder::reduce_bucket(double& fill, double params, std::optional<std::uint32_t> after,
                                 bool flush, int replicas, std::uint32_t group,
                                 const std::string& what) {
  if (replicas == 1 || sharded_weights_)
    return;
  fill += params * grad_bytes_;
  if (fill >= grad_bucket_bytes_ || (flush && fill > 0)) {
    std::vector<std::uint32_t> deps;
    if (after)
      deps.push_back(*after);
    // ZeRO reduce-scatters: each rank keeps the reduced shard it will step. DeepSpeed's
    // BF16_Optimizer all-reduces the whole gradient and steps its shard of it.
    const bool scatter = job_.parallelism.zero >= 1 && !bf16_optimizer_on(job_);
    grad_reductions_.push_back(b_.collective(
        group, scatter ? CollectiveKind::reduce_scatter : CollectiveKind::all_reduce, fill,
        Stream::dp_comm, what + (scatter ? " gradient reduce-scatter" : " gradient all-reduce"), -1,
        false, deps));
    fill = 0;
  }
}

void StageBuilder::reduce_gradients(double params, std::optional<std::uint32_t> after, bool flush,
                                    double expert_params) {
  reduce_bucket(bucket_fill_, params, after, flush, replicas_.dense, groups_.dp, "dp");
  reduce_bucket(expert_bucket_fill_, expert_params, after, flush, replicas_.expert, groups_.edp,
                "expert dp");
}

// ZeRO-3: a layer's weights are all-gathered before each use (forward, and again before
// backward) on their own stream and its gradients reduce-scattered right after its backward
// pass, every micro-batch. The gather starts once the layer two back has computed, while the
// one before computes (FSDP's limit_all_gathers: the unit computing and the next), for as many
// parameters as the prefetch budget allows (DeepSpeed's stage3_prefetch_bucket_size); the rest
// is fetched when the layer before is done, as DeepSpeed fetches a module it did not prefetch
// when the module is called. FSDP's SHARD_GRAD_OP (zero_two_gathers_per_layer) gathers the same
// way before the forward only and keeps the weights through the backward. Returns the last
// gather, which the layer's compute waits for (the stream runs them in order).
std::optional<std::uint32_t> StageBuilder::gather_weights(double params, const std::string& label,
                                                          int mb, WeightUse use) {
  if (!(use == WeightUse::forward ? gathered_for_forward_ : sharded_weights_))
    return std::nullopt;
  const double ahead = zero3_prefetched_parameters(job_, params);
  std::vector<std::uint32_t> deps;
  const std::size_t done = recent_layer_computes_.size();
  if (done >= 2)
    deps.push_back(recent_layer_computes_[done - 2]);
  auto gathered =
      b_.collective(zero_group(), CollectiveKind::all_gather, ahead * per_.weights,
                    Stream::param_gather, label + " weight all-gather", mb, false, deps);
  if (ahead < params) {
    std::vector<std::uint32_t> on_demand;
    if (done >= 1)
      on_demand.push_back(recent_layer_computes_[done - 1]);
    gathered = b_.collective(zero_group(), CollectiveKind::all_gather,
                             (params - ahead) * per_.weights, Stream::param_gather,
                             label + " weight all-gather (on demand)", mb, false, on_demand);
  }
  return gathered;
}

void StageBuilder::scatter_gradients(double params, std::uint32_t after, const std::string& label,
                                     int mb) {
  if (!sharded_weights_)
    return;
  grad_reductions_.push_back(b_.collective(zero_group(), CollectiveKind::reduce_scatter,
                                           params * grad_bytes_, Stream::dp_comm,
                                           label + " gradient reduce-scatter", mb, false, {after}));
}

std::uint32_t StageBuilder::zero_group() const {
  return across_slices() ? groups_.dp_shard : groups_.dp;
}

bool StageBuilder::across_slices() const {
  const auto& p = job_.parallelism;
  return p.sharding == WeightSharding::two_d && p.dcn_dp > 1;
}

// Sharding 2d across slices: once the last micro-batch's gradients of a block are reduced over
// the slice's data axis, each rank's shard (1/shard_ways of them) is all-reduced with the ranks
// holding the same shard in the other slices (PaLM's cross-pod gradient transfer).
void StageBuilder::reduce_across_slices(double params, const std::string& label) {
  if (!across_slices() || !sharded_weights_ || grad_reductions_.empty())
    return;
  const double shard_bytes =
      params * grad_bytes_ / static_cast<double>(job_.parallelism.shard_ways());
  grad_reductions_.push_back(b_.collective(
      groups_.dp_cross, CollectiveKind::all_reduce, shard_bytes, Stream::dp_comm,
      label + " gradient all-reduce across slices", -1, false, {grad_reductions_.back()}));
}

// A block's gradients are whole once its weight gradient has run: ZeRO-3 scatters them every
// micro-batch, ZeRO-2 too where its framework does (zero_two_reduces_every_micro_batch), data
// parallelism otherwise reduces them after the last.
void StageBuilder::gradients_ready(const ParameterSplit& params, std::uint32_t op,
                                   const std::string& label, int mb, bool last_microbatch) {
  scatter_gradients(params.total(), op, label, mb);
  if (!last_microbatch && !zero_two_reduces_every_micro_batch(job_))
    return;
  if (last_microbatch)
    reduce_across_slices(params.total(), label);
  if (job_.parallelism.overlap_grad_reduce) {
    // FSDP reduce-scatters each unit's gradients on their own, not in buckets.
    reduce_gradients(params.dense, op, zero_two_gathers_per_layer(job_), params.expert);
  } else {
    deferred_gradient_params_.push_back(params);
  }
}

}  // namespace scaleplan::plan_detail
