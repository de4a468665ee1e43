// The training framework around a plan: the habits that differ between Megatron-LM, NeMo,
// DeepSpeed, PyTorch FSDP and JAX, each a setting with a default per framework and the source of
// that default (docs/scenario-format.md, "framework"). A scenario names a framework and may
// override each setting one by one.
#pragma once

#include <optional>
#include <string>

#include "hardware/device_spec.hpp"
#include "hardware/input/enum_names.hpp"
#include "models/transformer.hpp"
#include "sim/plan/plan.hpp"

namespace scaleplan {

enum class Framework {
  megatron_lm_2021,
  megatron_core,
  nemo,
  deepspeed,
  fsdp,
  jax_gspmd,
  composer
};

inline constexpr EnumNames<Framework, 7> framework_names{{{
    {Framework::megatron_lm_2021, "megatron-lm-2021"},
    {Framework::megatron_core, "megatron-core"},
    {Framework::nemo, "nemo"},
    {Framework::deepspeed, "deepspeed"},
    {Framework::fsdp, "fsdp"},
    {Framework::jax_gspmd, "jax-gspmd"},
    {Framework::composer, "composer"},
}}};

inline std::string_view to_string(Framework framework) {
  return framework_names.name(framework);
}

// The dtype in which data-parallel gradients are reduced: fp32, or the training dtype (its
// 16-bit type under fp8).
enum class GradReduceDtype { fp32, training };

inline constexpr EnumNames<GradReduceDtype, 2> grad_reduce_dtype_names{{{
    {GradReduceDtype::fp32, "fp32"},
    {GradReduceDtype::training, "training"},
}}};

inline std::string_view to_string(GradReduceDtype dtype) {
  return grad_reduce_dtype_names.name(dtype);
}

// How the optimizer's update runs: one fused kernel over all the state, or each tensor operation
// of the update a kernel of its own that reads and writes whole fp32 tensors.
enum class OptimizerStep { fused, unfused };

inline constexpr EnumNames<OptimizerStep, 2> optimizer_step_names{{{
    {OptimizerStep::fused, "fused"},
    {OptimizerStep::unfused, "unfused"},
}}};

inline std::string_view to_string(OptimizerStep step) {
  return optimizer_step_names.name(step);
}

// How a step's micro-batches add their weight gradients together. `fused`: no kernel of its
// own, the weight-gradient GEMM adds into the accumulated gradient (Megatron's
// gradient_accumulation_fusion, Transformer Engine's fuse_wgrad_accumulation), or the framework
// reduces and accumulates a shard (FSDP, ZeRO-2/3). `main_grad_hook`: Megatron-LM's
// DistributedDataParallel of 2021 adds each micro-batch's 16-bit gradient into the parameter's
// main_grad buffer, in the reduction's dtype, from a backward hook (every micro-batch).
// `autograd`: PyTorch's AccumulateGrad adds the second and later micro-batches' gradients into
// param.grad in the parameters' dtype.
enum class GradientAccumulation { fused, main_grad_hook, autograd };

inline constexpr EnumNames<GradientAccumulation, 3> gradient_accumulation_names{{{
    {GradientAccumulation::fused, "fused"},
    {GradientAccumulation::main_grad_hook, "main-grad-hook"},
    {GradientAccumulation::autograd, "autograd"},
}}};

inline std::string_view to_string(GradientAccumulation accumulation) {
  return gradient_accumulation_names.name(accumulation);
}

// When ZeRO-2's ranks reduce-scatter their gradients: once a step, after the last micro-batch
// (whole gradients kept and added up until then), after every micro-batch's backward (only the
// rank's shard kept), or after every micro-batch unless the stage is one of a pipeline.
enum class Zero2GradientReduction { step, micro_batch, micro_batch_unless_pipelined };

inline constexpr EnumNames<Zero2GradientReduction, 3> zero2_gradient_reduction_names{{{
    {Zero2GradientReduction::step, "step"},
    {Zero2GradientReduction::micro_batch, "micro-batch"},
    {Zero2GradientReduction::micro_batch_unless_pipelined, "micro-batch-unless-pipelined"},
}}};

inline std::string_view to_string(Zero2GradientReduction reduction) {
  return zero2_gradient_reduction_names.name(reduction);
}

// What the plan builder does differently by framework. The defaults of a default-constructed
// value are scaleplan's before frameworks were named (no framework: key), so that a scenario
// without one keeps its prediction. parallelism.overlap_grad_reduce (ParallelismSpec) is the
// one more setting; a framework sets its default too.
struct FrameworkSpec {
  std::optional<Framework> framework;  // none named: the defaults below
  // The distributed optimizer (ZeRO 1 and 2) all-gathers the updated weights bucket by bucket
  // while the next step's forward runs, each bucket before the first layer that uses it, instead
  // of after the optimizer step.
  bool overlap_param_gather = false;
  // ZeRO-3: the parameters gathered ahead of the module computing (DeepSpeed's
  // stage3_prefetch_bucket_size). A layer's gather starts while the layer before it computes;
  // when the layer holds more than this, only this many of its parameters are gathered then and
  // the rest when it is needed. None: the whole next layer (FSDP with limit_all_gathers).
  std::optional<double> zero3_prefetch_parameters;
  // ZeRO-3: the most parameters gathered at once (DeepSpeed's stage3_max_live_parameters); it
  // bounds the gathered-weights buffer. None: two layers (the one computing, the next).
  std::optional<double> zero3_max_live_parameters;
  GradReduceDtype grad_reduce_dtype = GradReduceDtype::fp32;
  // Megatron-LM's scatter-gather of pipeline messages (Narayanan et al. 2021, section 4.1):
  // without sequence parallelism each tensor-parallel rank sends 1/tp of the boundary activation
  // and the receiving stage all-gathers it over the tensor-parallel group.
  bool pipeline_scatter_gather = false;
  // DeepSpeed's pipeline engine: every boundary send and receive holds up the compute (blocking
  // p2p.send and p2p.recv, one tensor after another), issued in TrainSchedule's order: a
  // backward step receives its output's gradient and then sends the previous forward's output; a
  // forward step sends the previous backward's gradient and then receives its input. It acts on
  // the plain 1F1B schedule (one model chunk), DeepSpeed's only training schedule.
  bool pipeline_blocking_p2p = false;
  // DeepSpeed's pipeline engine frees its partitioned output after sending it and all-gathers it
  // again over the tensor-parallel group before the backward that needs it
  // (PipelineEngine._exec_backward_pass: part_output.full()), beside the all-gather of the
  // gradient received: one more tensor-parallel all-gather of the boundary activation per
  // backward on every stage but the last. Acts with pipeline_scatter_gather.
  bool pipeline_output_regather = false;
  // DeepSpeed's BF16_Optimizer (deepspeed/runtime/bf16_optimizer.py), which DeepSpeed runs for
  // bf16 without a ZeRO stage in its config, its pipeline engine's only bf16 path: it shards the
  // fp32 optimizer state over data parallelism (ZeRO-1) but all-reduces the whole gradient
  // (_bf16_reduce_grads) instead of reduce-scattering it, all-reduces the tied embedding's fp32
  // gradient (_exec_reduce_tied_grads: weight._hp_grad), and after every micro-batch's backward
  // adds the bf16 gradients into fp32 ones (update_hp_grads): read 2 + 4 bytes, write 4, per
  // parameter the rank holds. Acts on bf16 jobs with zero 0 or 1.
  bool bf16_optimizer = false;
  // Transformer Engine's userbuffers overlap of sequence parallelism's tensor-parallel traffic
  // with the GEMMs beside it (Megatron-Core's --tp-comm-overlap, NeMo's tp_comm_overlap; it
  // needs sequence parallelism): an all-gather before a block runs beside the block's compute
  // (ring exchange: each GEMM chunk starts on the piece already there), and a reduce-scatter
  // after a block runs beside the compute that produces it, in tp chunks, the last one exposed.
  bool tp_comm_overlap = false;
  // Megatron-Core's EP A2A overlap (--overlap-moe-expert-parallel-comm, the combined 1F1B
  // schedule of megatron/core/pipeline_parallel/combined_1f1b.py): in the 1F1B phase a forward
  // step and the backward step of another micro-batch (or model chunk) beside it in the order run
  // as one step, layer by layer, the expert-parallel all-to-alls of each on a communication
  // stream while the other computes. It acts with ep > 1, without full recompute, and with one
  // pipeline stage or the interleaved schedule (the combinations Megatron-Core accepts).
  bool overlap_moe_expert_parallel_comm = false;
  // How the expert-parallel all-to-alls move tokens (MoeDispatcher, sim/plan/plan.hpp): a plain
  // all-to-all by default; deepep where the run names it (Megatron-Core's flex dispatcher with
  // --moe-enable-deepep, NeMo AutoModel's backend.enable_deepep).
  MoeDispatcher moe_dispatcher = MoeDispatcher::all_to_all;
  // PyTorch FSDP1's FlatParameter: each wrapped unit's parameters are views of one flat tensor,
  // so autograd concatenates the unit's parameter gradients into the flat gradient (the backward
  // of the split into views) after the unit's backward, on the compute stream, every micro-batch:
  // a memory-bound kernel that reads and writes the unit's gradient in the parameters' dtype.
  bool flat_parameter_gradient_copy = false;
  OptimizerStep optimizer_step = OptimizerStep::fused;
  // How the weight gradients of a step's micro-batches are added together
  // (gradient_accumulation_kernel).
  GradientAccumulation gradient_accumulation = GradientAccumulation::fused;
  // zero 2 only: when the gradients are reduce-scattered (zero_two_reduces_every_micro_batch).
  Zero2GradientReduction zero2_gradient_reduction = Zero2GradientReduction::step;
  // zero 2 only: the layout of PyTorch FSDP's SHARD_GRAD_OP (FSDP2's reshard_after_forward
  // False): each unit's weights are all-gathered before its forward and kept through its
  // backward, its gradients reduce-scattered on their own after it, rather than the
  // distributed optimizer's buckets and its one all-gather after the step. Not a scenario key.
  bool zero2_gathers_per_layer = false;
  // Megatron-LM's optimizer wrapper around its fused Adam (Float16OptimizerWithFloat16Params and
  // FP32Optimizer, megatron/optimizer/optimizer.py of 2021), each pass a multi-tensor kernel over
  // every parameter of the rank: 16-bit gradients copied into fp32 main gradients (when they are
  // reduced in 16 bits), unscaled and checked for inf or nan (fp16's loss scaling), their l2 norm
  // for clipping (clip_grad 1.0 by default), and the fp32 main weights copied back into the
  // 16-bit ones (optimizer_wrapper_bytes_per_parameter). Not a scenario key yet.
  bool optimizer_wrapper_passes = false;
  // Megatron-Core's DistributedDataParallel keeps the gradients in one buffer of the dtype they
  // are reduced in (grad_reduce_dtype): 2 bytes a parameter for bf16 reduction, not the 4 of
  // fp32 main gradients. Not a scenario key.
  bool gradient_buffer_in_reduce_dtype = false;
  // Fully sharded weights (zero 3) kept as fp32 shards and cast to the training dtype for each
  // gather, with no lasting 16-bit copy: PyTorch FSDP's MixedPrecision (the sharded parameters
  // stay in full precision outside forward and backward) and JAX programs that keep fp32 weights.
  // Megatron and DeepSpeed keep 16-bit weights beside the fp32 master. Not a scenario key.
  bool fp32_parameter_shards = false;
  // ZeRO-3: each layer's unsharded gradients are cast to grad_reduce_dtype into a copy of their
  // own before the reduce-scatter (PyTorch FSDP's _reduce_grad), which holds it beside them until
  // the reduce-scatter ends; XLA fuses the cast into the collective. Not a scenario key.
  bool zero3_reduce_dtype_copy = false;
  // fp8 training (dtype fp8) only: Transformer Engine's scaling recipe, which sets the bytes of
  // the casts before every fp8 GEMM (models/transformer.hpp, add_fp8_casts).
  Fp8Recipe fp8_recipe = Fp8Recipe::delayed;
  // fp8 training only: the weights are cast to fp8 once per step and the cast reused by the
  // step's other micro-batches (Transformer Engine's is_first_microbatch, which Megatron-Core
  // passes); without it every micro-batch casts them again.
  bool fp8_weight_cache = true;
  // fp8 training only: which kernels write their fp8 GEMMs' inputs themselves (Fp8CastFusion,
  // models/transformer.hpp): `norm` where the transformer layer is built from Transformer
  // Engine's LayerNormLinear, `none` where every linear layer is a te.Linear.
  Fp8CastFusion fp8_cast_fusion = Fp8CastFusion::none;
  // The loss's kernels (CrossEntropyFusion, models/transformer.hpp): Megatron's fp32 passes, or
  // the fused kernels of --cross-entropy-loss-fusion with --cross-entropy-fusion-impl.
  CrossEntropyFusion cross_entropy_fusion = CrossEntropyFusion::none;
  // The library of fused attention (flash attention) kernels, whose throughput the catalog
  // gives per device (DeviceSpec::attention_of): cuDNN's, which Transformer Engine's
  // DotProductAttention runs, FlashAttention-2 (the flash-attn package), or Tri Dao's
  // FlashAttention in Triton (llm-foundry's attn_impl: triton).
  AttentionLibrary attention_library = AttentionLibrary::cudnn;
};

// One setting's default for a framework, with where it comes from.
struct FrameworkDefaults {
  FrameworkSpec spec;
  bool overlap_grad_reduce = true;
  // "setting: value (source)" lines, one per setting, for documentation and reports.
  std::string sources;
};

// The defaults of `framework` for a job trained in `dtype` with ZeRO stage `zero` (DeepSpeed
// overlaps gradient reduction only under ZeRO-3; Megatron-LM of 2021 reduced bf16 gradients in
// fp32 and fp16 ones in fp16).
FrameworkDefaults framework_defaults(Framework framework, Dtype dtype, int zero);

// Bytes per parameter of the data-parallel gradient reduction of a job trained in `dtype`.
double gradient_reduction_bytes(GradReduceDtype reduce, Dtype dtype);

// Bytes per parameter the optimizer wrapper's passes (FrameworkSpec::optimizer_wrapper_passes)
// move beyond the fused Adam step's bytes_per_parameter, for a job trained in `dtype` whose
// gradients are reduced as `reduce`: the l2 norm reads the fp32 gradients (4); in mixed
// precision the copy back reads the fp32 weights and writes the 16-bit ones where the fused
// figure reads and writes the 16-bit ones (6 - 4 = 2); fp16 unscales the fp32 gradients in place
// (4 read, 4 written); gradients reduced in 16 bits are copied into fp32 ones first (2 read, 4
// written). fp16 reduced in fp16: 20; bf16 (gradients accumulated in fp32): 6; fp32: 4.
double optimizer_wrapper_bytes_per_parameter(GradReduceDtype reduce, Dtype dtype);

}  // namespace scaleplan
