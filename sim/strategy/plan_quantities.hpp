// What the plan builder derives from a job before it lays out any op: the parameters and
// bytes each stage holds, the groups a rank belongs to, the bytes each kind of communication
// moves, the activations a layer keeps. build_plan uses them, and so does whoever reasons about
// a plan without building it (the planner's fast estimate, sim/planner), so that both count
// alike.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "models/kernel.hpp"
#include "models/transformer.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

// Mixed-precision training keeps 16-bit weights, fp32 gradients (Megatron-LM accumulates and
// reduces them in fp32) and an fp32 master copy with Adam's two moments. fp32 training keeps
// fp32 weights and gradients and the two moments.
struct BytesPerParameter {
  double weights;
  double gradients;
  double optimizer;
  double optimizer_step_traffic;  // bytes the optimizer kernel reads and writes
};
BytesPerParameter bytes_per_parameter(Dtype dtype);

// Parameters a rank of the stage holds, over all its model chunks. O(layers). For a layer graph,
// the dense (data-parallel) ones; the embedding tables' shards are in static_memory_of_stage.
ParameterSplit stage_parameters(const TrainingJob& job, int stage);
// The output layer's parameters on a rank of the last stage: final norm, output projection (or
// the tied embedding's copy), and the multi-token prediction modules' eh_proj, norms and
// embedding copy (their transformer layers are layers of their own).
double output_parameters_per_rank(const TransformerConfig& model, const ParallelismSpec& p);
// The token embedding's parameters on a rank of the first stage: its tensor-parallel shard of the
// (padded) vocabulary's rows and, with learned positions, the position table.
double embedding_parameters_per_rank(const TransformerConfig& model, const ParallelismSpec& p);
double graph_stage_dense_parameters(const TrainingJob& job, int stage);

// Ranks that hold the same weights, over which gradients are reduced and ZeRO shards: data and
// context parallel ranks for dense weights, and for routed experts those among them with the
// same experts (Megatron-LM's expert data-parallel group).
struct ReplicaCounts {
  int dense = 1;
  int expert = 1;
};
ReplicaCounts replica_counts(const ParallelismSpec& p);

// Bytes of `params` per rank, with ZeRO from `zero_stage` on sharding each part over its
// replicas.
double sharded_bytes(const ParameterSplit& params, double bytes_per_parameter,
                     const ParallelismSpec& p, int zero_stage);

// The groups of ranks a plan's collectives run on (RankCoordinates gives the layout):
// tp: the tensor-parallel ranks; dp: the data- and context-parallel ranks holding the same
// weights (gradients and ZeRO), context index outer; cp: the context-parallel ranks; ep: a block
// of ep consecutive data-parallel indices; edp: the ranks holding the same experts, the same
// index in every ep block over every context rank.
// dp_shard: with sharding 2d, the data- and context-parallel ranks of one block of dp / dcn_dp
// data-parallel indices (a slice's data axis); dp_cross: the ranks holding the same shard in
// every block (across slices).
enum class GroupKind { tp, dp, cp, ep, edp, dp_shard, dp_cross };
// The members of the `kind` group that `rank` belongs to, in ring order; a single rank where the
// job has no such group (its degree is 1).
std::vector<int> group_ranks(GroupKind kind, int rank, const ParallelismSpec& p);
// group_ranks(kind, rank, p).front() in O(1), without building the group.
int group_leader(GroupKind kind, int rank, const ParallelismSpec& p);

// Bytes of the hidden states of a micro-batch's tokens on one context-parallel shard: what the
// tensor-parallel all-reduce (or all-gather and reduce-scatter) around a block moves.
double tensor_parallel_bytes(const TrainingJob& job);
// Bytes of the activations (and their gradients) a micro-batch sends across a stage boundary:
// split along the sequence under sequence parallelism, or into tp pieces by Megatron's
// scatter-gather (framework.pipeline_scatter_gather, pipeline_scatter_gather_on).
double stage_boundary_bytes(const TrainingJob& job);
// Whether the job's pipeline messages are scattered over the tensor-parallel ranks and
// all-gathered over them again on arrival: scatter-gather on, tp > 1, no sequence parallelism.
bool pipeline_scatter_gather_on(const TrainingJob& job);
// Whether the job's pipeline sends and receives hold up the compute in DeepSpeed's order
// (framework.pipeline_blocking_p2p): pp > 1 on plain 1F1B with one model chunk.
bool pipeline_blocking_p2p_on(const TrainingJob& job);
// Whether a stage's partitioned pipeline output is all-gathered again before its backward
// (framework.pipeline_output_regather, with pipeline_scatter_gather_on).
bool pipeline_output_regather_on(const TrainingJob& job);
// Whether DeepSpeed's BF16_Optimizer runs the job (framework.bf16_optimizer): bf16, zero 0 or 1.
bool bf16_optimizer_on(const TrainingJob& job);
// FrameworkSpec::fp32_parameter_shards in effect: fully sharded (zero 3) 16-bit training whose
// weight shards are the fp32 master copy.
bool fp32_parameter_shards_on(const TrainingJob& job);
// BF16_Optimizer's update_hp_grads after a micro-batch's backward: each of `parameters` (as the
// rank holds them) read in bf16 and added into its fp32 gradient, read and written: 10 bytes.
Kernel hp_grad_accumulation_kernel(double parameters);
// Whether the job's sequence-parallel tensor-parallel traffic overlaps its GEMMs
// (framework.tp_comm_overlap, which needs tp > 1 and sequence parallelism).
bool tp_comm_overlap_on(const TrainingJob& job);
// Whether the job reduce-scatters its gradients after every micro-batch's backward rather than
// once after the last: ZeRO-2 as its framework runs it (framework.zero2_gradient_reduction).
// ZeRO-3 scatters each layer's every micro-batch whatever this says.
bool zero_two_reduces_every_micro_batch(const TrainingJob& job);
// Whether ZeRO-2 runs as PyTorch FSDP's SHARD_GRAD_OP (framework.zero2_gathers_per_layer): each
// layer's weights all-gathered before its forward, its gradients reduce-scattered on their own.
bool zero_two_gathers_per_layer(const TrainingJob& job);
// Whether the job's expert-parallel all-to-alls run in Megatron-Core's combined 1F1B schedule
// (framework.overlap_moe_expert_parallel_comm): an MoE model with ep > 1, recompute not full,
// and one pipeline stage (not zero bubble) or the interleaved schedule.
bool moe_a2a_overlap_on(const TrainingJob& job);
// How the job's expert-parallel groups dispatch tokens where it is not a plain all-to-all
// (framework.moe_dispatcher): the model's routing, and top_k · capacity_factor copies of each
// token in an all-to-all's bytes (moe_mlp's dispatch_bytes). None for a dense model or a plain
// all-to-all.
std::optional<ExpertDispatch> expert_dispatch_of(const TrainingJob& job);

// ZeRO-3: the parameters of a layer of `layer_parameters` gathered while the layer before it
// computes (all of them without a prefetch budget), and the most parameters gathered at once,
// which the gathered-weights buffer holds.
double zero3_prefetched_parameters(const TrainingJob& job, double layer_parameters);
double zero3_gathered_parameters(const TrainingJob& job);
// Bytes of a layer's keys and values that ring attention sends round the context-parallel group
// (and, in backward, their gradients).
double context_parallel_kv_bytes(const TrainingJob& job);

// Activation bytes a block's input-gradient pass leaves for its weight-gradient pass run later:
// the stored inputs the weight gradient reads and the output gradients made for it.
inline double weight_gradient_kept_bytes(const Block& block) {
  return block.weight_gradient_inputs_bytes + block.weight_gradient_operands_bytes;
}

// What a block's forward keeps for its backward, as run in the forward pass under `recompute`
// other than full (or in full recompute's own recompute pass): everything, less what selective
// recompute's modules make again before the backward (Block::selective_recompute_saved_bytes).
inline double forward_kept_bytes(const Block& block, Recompute recompute) {
  return block.activation_bytes -
         (recompute == Recompute::selective ? block.selective_recompute_saved_bytes : 0.0);
}

// Activation bytes of one micro-batch that a layer keeps from its forward to its backward, and
// what its backward frees, by recompute (dense layers; an MoE layer's MLP keeps its blocks'
// activation_bytes, or nothing under full recompute).
struct LayerActivations {
  double attention_stored = 0;
  double mlp_stored = 0;
  // What the attention's whole backward frees: everything its forward (or recompute) kept.
  double attention_freed = 0;
  // What a split backward's input gradient leaves for the weight gradient (zero bubble).
  double attention_kept = 0;
  double mlp_kept = 0;
};
LayerActivations layer_activations(const LayerWork& layer, Recompute recompute);

// The optimizer step of a rank of a stage that holds `stage_params` (stage_parameters): one
// kernel streaming its shard of the optimizer state, optimizer_step_bytes_per_parameter a
// parameter.
Kernel optimizer_step_kernel(const TrainingJob& job, const ParameterSplit& stage_params);
// Bytes the optimizer step reads and writes per parameter of the rank's shard: the fused
// kernel's (bytes_per_parameter), or, with framework.optimizer_step unfused, those of AdamW's
// eight tensor operations, each a kernel of its own over fp32 tensors.
double optimizer_step_bytes_per_parameter(const TrainingJob& job);

// FSDP1's copy of a unit's parameter gradients into its flat gradient
// (framework.flat_parameter_gradient_copy): `unit_parameters` (as the rank holds them unsharded)
// read and written once in the parameters' dtype, the 16-bit one in mixed precision.
Kernel flat_gradient_copy_kernel(const TrainingJob& job, double unit_parameters);
// The kernel that adds a micro-batch's weight gradients of `layer_parameters` (as the rank holds
// them) into the gradients accumulated over the step (framework.gradient_accumulation), per
// micro-batch; none when the accumulation is fused, where each micro-batch's gradients are
// reduced as they come (ZeRO-3, and ZeRO-2 where zero_two_reduces_every_micro_batch) and under
// BF16_Optimizer (its update_hp_grads does it). main_grad_hook reads the
// 16-bit gradient and reads and writes the buffer in the reduction's dtype, every micro-batch:
// 2 + 4 + 4 bytes a parameter in bf16. autograd reads both and writes the sum in the parameters'
// dtype on every micro-batch but the first (6 bytes in 16 bits), its step's total spread over
// the pipeline's micro-batches as the fp8 weight cast is.
std::optional<Kernel> gradient_accumulation_kernel(const TrainingJob& job, double layer_parameters);
// A transformer layer of the job (transformer_layer of its model, micro-batch, partition and
// dtype) as its framework runs it: with framework.flat_parameter_gradient_copy, a dense layer
// (one FSDP unit) ends its backward with the copy of its gradients, the last kernel of its
// attention block's weight gradient, and so does the addition of its gradients into the step's
// (gradient_accumulation_kernel). MoE layers' expert weights are not counted. Under fp8, its
// attention and MLP blocks carry the casts of their fp8 GEMMs' operands (add_fp8_casts with
// fp8_cast_settings); the MoE experts' GEMMs (moe_mlp) are not given them.
LayerWork framework_transformer_layer(const TrainingJob& job);
// How fp8 training of `job` casts its GEMMs' operands (framework.fp8_recipe, fp8_weight_cache
// and fp8_cast_fusion): with the cache, the weights' cast of the step's first micro-batch spread
// over the pipeline's micro-batches (the step's total is the same).
Fp8CastSettings fp8_cast_settings(const TrainingJob& job);
// The output head of the job's last stage (output_block) with its framework's loss kernels
// (framework.cross_entropy_fusion).
Block framework_output_block(const TrainingJob& job);

// Static memory of a rank of a stage that holds `stage_params` (static_memory_of_stage).
StaticMemory static_memory_of_stage(const TrainingJob& job, const ParameterSplit& stage_params);

}  // namespace scaleplan
