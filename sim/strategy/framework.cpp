#include "sim/strategy/framework.hpp"

#include <fmt/format.h>

#include "models/transformer.hpp"

namespace scaleplan {

namespace {

// Megatron-LM forces fp32 gradient accumulation and reduction for bf16
// (megatron/training/arguments.py: "if args.bf16: args.accumulate_allreduce_grads_in_fp32 =
// True"); fp16 keeps --accumulate-allreduce-grads-in-fp32 off by default.
GradReduceDtype megatron_grad_reduce(Dtype dtype) {
  return dtype == Dtype::fp16 ? GradReduceDtype::training : GradReduceDtype::fp32;
}

std::string line(std::string_view setting, std::string_view value, std::string_view source) {
  return fmt::format("{}: {} ({})\n", setting, value, source);
}

std::string yes_no(bool value) {
  return value ? "true" : "false";
}

}  // namespace

FrameworkDefaults framework_defaults(Framework framework, Dtype dtype, int zero) {
  FrameworkDefaults d;
  d.spec.framework = framework;
  FrameworkSpec& s = d.spec;
  std::string grad_source, overlap_source, param_source, prefetch_source, scatter_source;
  std::string blocking_source =
      "each step's sends and receives issued together beside the compute, the computation "
      "waiting for its input only";
  std::string tp_overlap_source =
      "no userbuffers overlap: the tensor-parallel collectives run between the GEMMs";
  std::string moe_overlap_source =
      "no combined 1F1B schedule: each expert-parallel all-to-all holds up the compute that "
      "needs it";
  const std::string dispatcher_source =
      "a plain all-to-all, one copy per (token, expert), unless the run names DeepEP: "
      "Megatron-Core's alltoall dispatcher (moe_token_dispatcher_type; its own default "
      "allgather is not modelled; flex with --moe-enable-deepep for DeepEP), NeMo AutoModel's "
      "BackendConfig.enable_deepep (on where DeepEP is installed, set by each config)";
  std::string flat_copy_source =
      "no FlatParameter: each gradient lands where it is reduced (Megatron's main_grad views "
      "of the gradient buffer)";
  std::string reduce_copy_source =
      "no ZeRO-3 cast copy: the gradients are reduced as backward writes them, or the cast is "
      "fused into the collective (XLA)";
  std::string shards_source =
      "16-bit weights beside the fp32 master copy (Megatron's Float16Module and distributed "
      "optimizer, DeepSpeed's fp16 partitions)";
  std::string optimizer_source =
      "fused Adam over all parameters (Apex / Transformer Engine "
      "FusedAdam, multi-tensor apply)";
  std::string accumulation_source =
      "the weight-gradient GEMM adds into the fp32 gradient buffer (Megatron-LM's "
      "gradient_accumulation_fusion, default since 2022-02, and Transformer Engine's "
      "fuse_wgrad_accumulation; FSDP and ZeRO-2/3 add reduced shards, not counted)";
  std::string zero2_source =
      "no ZeRO-2 of its own: gradients reduced once a step, after the last micro-batch";
  std::string zero2_layout_source =
      "the distributed optimizer's: gradient buckets, the stepped weights all-gathered after "
      "the step (or before the next forward's, overlap_param_gather)";
  std::string regather_source = "the pipeline's output is kept whole until its backward";
  std::string bf16_optimizer_source =
      "a ZeRO-1 optimizer reduce-scatters the gradients; no separate fp32 gradient copy";
  std::string wrapper_source =
      "the fused step's traffic only (the wrapper's passes of Megatron-LM 2021 not modelled "
      "for this framework)";
  std::string recipe_source =
      "Transformer Engine's default recipe, DelayedScaling (transformer_engine/common/"
      "recipe.py; Megatron-Core's --fp8-recipe default 'delayed'); current scaling is "
      "Megatron-Bridge's FP8-CS (bf16_with_fp8_current_scaling_mixed: fp8_recipe "
      "'tensorwise'), written as fp8_recipe: current";
  std::string weight_cache_source =
      "Megatron-Core's forward_step calls set_is_first_microbatch on a step's first "
      "micro-batch (megatron/core/pipeline_parallel/schedules.py) and its TE modules pass "
      "is_first_microbatch, so Transformer Engine casts the weights once per step "
      "(megatron/core/extensions/transformer_engine.py)";
  std::string cast_fusion_source =
      "every fp8 GEMM a te.Linear, which casts its input itself "
      "(transformer_engine/pytorch/module/linear.py)";
  std::string cross_entropy_source =
      "the loss in fp32 pass by pass (Megatron's vocab_parallel_cross_entropy, "
      "megatron/core/tensor_parallel/cross_entropy.py; PyTorch's cross_entropy moves about as "
      "much)";
  std::string gradient_buffer_source =
      "fp32 gradients (4 bytes a parameter) for 16-bit training, whatever the reduction's dtype";
  std::string attention_library_source =
      "cuDNN's fused attention, the catalog's attention figure (Transformer Engine's "
      "DotProductAttention, FusedAttention backend); flash-attention-2 where a run calls the "
      "flash-attn package's kernels";
  switch (framework) {
    case Framework::megatron_lm_2021:
      // Megatron-LM v2 (Narayanan et al. 2021) and v3 (Korthikanti et al. 2022).
      d.overlap_grad_reduce = false;
      overlap_source =
          "Megatron-LM's local DistributedDataParallel of 2021-2022 all-reduces the gradient "
          "buffer after the whole backward pass (megatron/model/distributed.py "
          "allreduce_gradients, called from train_step)";
      param_source = "no distributed optimizer yet (added in 2022, without overlap)";
      s.grad_reduce_dtype = megatron_grad_reduce(dtype);
      grad_source =
          "megatron/arguments.py: bf16 forces accumulate_allreduce_grads_in_fp32; fp16 "
          "reduces in fp16 by default";
      s.pipeline_scatter_gather = true;
      scatter_source =
          "--scatter-gather-tensors-in-pipeline, on by default (megatron/p2p_communication.py; "
          "Narayanan et al. 2021, section 4.1)";
      prefetch_source = "no ZeRO-3 in Megatron-LM";
      // accumulate_allreduce_grads_in_fp32, forced for bf16, needs the contiguous main_grad
      // buffers; fp16 kept them off by default (--use-contiguous-buffers-in-ddp) and let autograd
      // accumulate into param.grad.
      s.gradient_accumulation = dtype == Dtype::bf16 ? GradientAccumulation::main_grad_hook
                                                     : GradientAccumulation::autograd;
      accumulation_source =
          "no gradient_accumulation_fusion before 2022-02 (merged into main 2022-02-22; "
          "Korthikanti et al. 2022 ran with it, written as gradient_accumulation: fused): bf16's "
          "fp32 main_grad buffers take each micro-batch's gradient from a backward hook "
          "(param.main_grad.add_(param.grad.data), megatron/model/distributed.py, 2021), fp16 "
          "without contiguous buffers (--use-contiguous-buffers-in-ddp off by default) "
          "accumulates in param.grad through autograd";
      s.optimizer_wrapper_passes = true;
      wrapper_source =
          "Float16OptimizerWithFloat16Params.step and FP32Optimizer.step "
          "(megatron/optimizer/optimizer.py, 2021): _copy_model_grads_to_main_grads, "
          "_unscale_main_grads_and_check_for_nan, clip_grad_norm_fp32 (multi_tensor_l2norm), "
          "_copy_main_params_to_model_params, each a multi-tensor kernel over every parameter";
      break;
    case Framework::megatron_core:
    case Framework::nemo:
      d.overlap_grad_reduce = true;
      s.overlap_param_gather = true;
      s.gradient_buffer_in_reduce_dtype = true;
      gradient_buffer_source =
          "megatron/core/distributed/distributed_data_parallel.py: the gradient buffers are "
          "torch.float with grad_reduce_in_fp32, the parameters' dtype otherwise";
      if (framework == Framework::megatron_core) {
        overlap_source = param_source =
            "Megatron-LM README, performance benchmarking runs: --overlap-grad-reduce "
            "--overlap-param-gather (DistributedDataParallelConfig; off unless passed)";
        s.grad_reduce_dtype = megatron_grad_reduce(dtype);
        grad_source =
            "megatron/training/arguments.py: bf16 forces "
            "accumulate_allreduce_grads_in_fp32; fp16 reduces in fp16 by default";
        tp_overlap_source =
            "Megatron-LM README, performance benchmarking runs: --tp-comm-overlap "
            "(Transformer Engine userbuffers; off unless passed)";
      } else {
        overlap_source = param_source =
            "NeMo 2 recipes' DistributedDataParallelConfig: overlap_grad_reduce and "
            "overlap_param_gather true (NeMo 1: overlap_grad_sync, overlap_param_sync)";
        s.grad_reduce_dtype =
            dtype == Dtype::fp16 ? GradReduceDtype::training : GradReduceDtype::fp32;
        grad_source =
            "nemo/collections/llm/recipes/precision/mixed_precision.py: bf16_mixed sets "
            "grad_reduce_in_fp32=True";
        tp_overlap_source =
            "NeMo 2 recipes with tensor parallelism (llama3_70b, llama31_405b, gpt3_175b, "
            "nemotron4_340b): CommOverlapConfig(tp_comm_overlap=True); NeMo 1: "
            "ub_tp_comm_overlap";
      }
      s.tp_comm_overlap = true;
      moe_overlap_source =
          "off unless passed: --overlap-moe-expert-parallel-comm "
          "(megatron/core/model_parallel_config.py, overlap_moe_expert_parallel_comm = False; "
          "Megatron-Bridge's DeepSeek-V3 H100 benchmark turns it on, "
          "scripts/performance/run_script.py)";
      scatter_source =
          "Megatron-Core's p2p_communication.py sends whole tensors (sequence "
          "parallelism already splits them)";
      prefetch_source = "no ZeRO-3 in Megatron-Core (FSDP is a separate framework)";
      s.fp8_cast_fusion = Fp8CastFusion::norm;
      cast_fusion_source =
          "Megatron-Core's Transformer Engine layer spec (megatron/core/models/gpt/"
          "gpt_layer_specs.py, get_gpt_layer_with_transformer_engine_spec) builds linear_qkv and "
          "linear_fc1 as TELayerNormColumnParallelLinear (Transformer Engine's LayerNormLinear: "
          "the norm writes the fp8 input), linear_proj and linear_fc2 as TERowParallelLinear "
          "(te.Linear: a cast of their input), the activation as Megatron's own bf16 kernel "
          "(bias_swiglu_impl, bias_gelu_impl), so no activation writes fp8; Megatron-Bridge's "
          "performance scripts turn off use_transformer_engine_op_fuser "
          "(scripts/performance/utils/helpers.py)";
      cross_entropy_source =
          "off unless passed: cross_entropy_loss_fusion False, cross_entropy_fusion_impl "
          "'native' (megatron/core/model_parallel_config.py); Megatron-Bridge's GPTModelProvider "
          "turns it on and its Llama and DeepSeek providers and performance scripts set "
          "cross_entropy_fusion_impl 'te' (src/megatron/bridge/models/gpt_provider.py, "
          "scripts/performance/utils/helpers.py at 023702a1d), written as cross_entropy_fusion: "
          "te";
      break;
    case Framework::deepspeed:
      d.overlap_grad_reduce = zero >= 3;
      overlap_source =
          "DeepSpeedZeroConfig.overlap_comm: None becomes stage == 3 "
          "(deepspeed/runtime/zero/config.py)";
      param_source =
          "ZeRO-1/2 all-gather the updated partitions after the optimizer step "
          "(stage_1_and_2.py, allgather_bucket_size)";
      s.zero3_prefetch_parameters = 5e7;
      s.zero3_max_live_parameters = 1e9;
      prefetch_source =
          "stage3_prefetch_bucket_size 5e7, stage3_max_live_parameters 1e9 "
          "(deepspeed/runtime/zero/config.py; modules gathered by trace)";
      s.grad_reduce_dtype = GradReduceDtype::training;
      grad_source =
          "DeepSpeedEngine.communication_data_type: fp16 or bf16 as trained unless "
          "communication_data_type is set (deepspeed/runtime/engine.py)";
      s.pipeline_scatter_gather = true;
      scatter_source =
          "PipelineEngine partitions a boundary activation and its gradient over the "
          "tensor-parallel group and all-gathers them on arrival (is_pipe_partitioned, "
          "is_grad_partitioned: the pipeline config's pipe_partitioned and grad_partitioned, "
          "default true, when tp > 1; deepspeed/runtime/pipe/engine.py)";
      s.pipeline_blocking_p2p = true;
      blocking_source =
          "PipelineEngine's _exec_send_activations, _exec_recv_grads, ... call p2p.send and "
          "p2p.recv without async_op (deepspeed/runtime/pipe/p2p.py), in the order of "
          "TrainSchedule.steps (deepspeed/runtime/pipe/schedule.py)";
      s.pipeline_output_regather = true;
      regather_source =
          "PipelineEngine._exec_backward_pass all-gathers the stage's partitioned output "
          "(part_output.full) before the gradient's, on every stage but the last "
          "(deepspeed/runtime/pipe/engine.py, v0.5 to v0.16)";
      s.bf16_optimizer = dtype == Dtype::bf16 && zero <= 1;
      bf16_optimizer_source =
          "bf16 with ZeRO stage 0 in DeepSpeed's config runs BF16_Optimizer, the pipeline "
          "engine's only bf16 path (since v0.6.2, April 2022): the fp32 gradients all-reduced "
          "(_bf16_reduce_grads) in bf16 (communication_data_type), the tied embedding's fp32 "
          "gradient all-reduced (_exec_reduce_tied_grads), the bf16 gradients added into fp32 "
          "after each micro-batch (update_hp_grads; deepspeed/runtime/bf16_optimizer.py)";
      flat_copy_source = "not FSDP's FlatParameter (ZeRO's own bucket copies are not modelled)";
      s.zero2_gradient_reduction = Zero2GradientReduction::micro_batch;
      zero2_source =
          "stage 2 keeps only the rank's partition of the gradients and reduces each bucket from "
          "its backward hooks at every micro-step (deepspeed/runtime/zero/stage_1_and_2.py, "
          "reduce_independent_p_g_buckets_and_remove_grads, reduce_ipg_grads)";
      s.gradient_accumulation = GradientAccumulation::autograd;
      accumulation_source =
          "ZeRO 0 and 1 leave the micro-batches' gradients to autograd, which adds them into "
          "param.grad in the training dtype, reduced at the accumulation boundary "
          "(DeepSpeedZeroOptimizer registers its reduce hooks only for ZeRO-2 or overlap_comm; "
          "deepspeed/runtime/zero/stage_1_and_2.py); BF16_Optimizer's update_hp_grads stands in "
          "its place; ZeRO-2 and 3 reduce each micro-batch";
      optimizer_source = "DeepSpeed's FusedAdam (multi_tensor_adam)";
      break;
    case Framework::fsdp:
      d.overlap_grad_reduce = true;
      overlap_source =
          "FSDP reduce-scatters each unit's gradients from its post-backward hook "
          "on a separate stream (torch.distributed.fsdp)";
      param_source = "FSDP gathers every unit's weights before use (ZeRO-3); no ZeRO-1/2 gather";
      prefetch_source =
          "limit_all_gathers=True, the default: the unit computing and the next "
          "one gathered (FullyShardedDataParallel docstring)";
      s.grad_reduce_dtype = GradReduceDtype::fp32;
      grad_source =
          "MixedPrecision with reduce_dtype fp32, as torchtitan "
          "(mixed_precision_reduce: float32) and Composer's DEFAULT mode configure it";
      scatter_source = "no pipeline messages of Megatron's kind";
      flat_copy_source =
          "FSDP2 (torchtitan, NeMo AutoModel) shards each parameter as a DTensor: no "
          "FlatParameter views";
      s.zero3_reduce_dtype_copy = true;
      reduce_copy_source =
          "FSDP2's foreach_reduce copies the unsharded gradients into a reduce-scatter input "
          "of reduce_dtype (torch/distributed/fsdp/_fully_shard/_fsdp_collectives.py)";
      s.fp32_parameter_shards = true;
      shards_source =
          "FSDP2's MixedPrecisionPolicy: each sharded parameter keeps its original dtype (fp32) "
          "and is cast to param_dtype for the all-gather (torch.distributed.fsdp.fully_shard)";
      optimizer_source =
          "torch.optim.AdamW's fused kernels (torchtitan's optimizer.implementation)";
      s.zero2_gradient_reduction = Zero2GradientReduction::micro_batch_unless_pipelined;
      s.zero2_gathers_per_layer = true;
      zero2_layout_source =
          "fully_shard(reshard_after_forward=False) all-gathers each module's parameters in its "
          "pre-forward hook, keeps them through the backward and reshards after it; each "
          "module's gradients are reduce-scattered in its post-backward hook "
          "(torch/distributed/fsdp/_fully_shard/_fsdp_state.py, _fsdp_param_group.py)";
      zero2_source =
          "FSDP reduce-scatters from each unit's post-backward hook at every backward "
          "(requires_gradient_sync, True by default); a pipeline stage of "
          "torch.distributed.pipelining syncs only on its last backward "
          "(_PipelineStageBase.backward_maybe_with_nosync: set_requires_gradient_sync("
          "last_backward))";
      break;
    case Framework::composer:
      // Composer (v0.17, torch 2.1) wrapping the model in FSDP1, as llm-foundry trains MPT.
      d.overlap_grad_reduce = true;
      overlap_source =
          "FSDP1 reduce-scatters each unit's gradients from its post-backward hook on its "
          "post_backward stream (torch/distributed/fsdp/_runtime_utils.py, _post_backward_hook)";
      param_source = "FSDP gathers every unit's weights before use (ZeRO-3); no ZeRO-1/2 gather";
      prefetch_source =
          "Composer's limit_all_gathers True (composer/trainer/dist_strategy.py, "
          "set_fsdp_default): the unit computing and the next one gathered";
      s.grad_reduce_dtype = GradReduceDtype::fp32;
      grad_source =
          "Composer's mixed_precision DEFAULT: reduce_dtype fp32, parameters and buffers in the "
          "autocast precision (composer/trainer/mosaic_fsdp_utils.py, get_mixed_precision); "
          "PURE reduces in the training dtype";
      scatter_source = "no pipeline messages of Megatron's kind";
      s.zero2_gradient_reduction = Zero2GradientReduction::micro_batch;
      s.zero2_gathers_per_layer = true;
      zero2_layout_source =
          "ShardingStrategy.SHARD_GRAD_OP: each unit's flat parameter is unsharded in its "
          "pre-forward hook, not resharded after the forward, resharded after the backward, and "
          "its gradient reduce-scattered in its post-backward hook "
          "(torch/distributed/fsdp/_runtime_utils.py, _pre_forward_unshard, _post_backward_hook)";
      zero2_source =
          "FSDP1's post-backward hook reduce-scatters at every backward: Composer wraps no "
          "micro-batch of an FSDP model in no_sync (ddp_sync_context acts on "
          "DistributedDataParallel only, composer/distributed/dist_strategy.py)";
      s.flat_parameter_gradient_copy = true;
      s.zero3_reduce_dtype_copy = true;
      reduce_copy_source =
          "FSDP1's _reduce_grad casts a unit's unsharded flat gradient to reduce_dtype before "
          "its reduce-scatter (torch/distributed/fsdp/_runtime_utils.py)";
      s.fp32_parameter_shards = true;
      shards_source =
          "FSDP1's MixedPrecision: outside forward and backward the sharded parameters are kept "
          "in full precision; a low-precision shard is made for each all-gather and freed "
          "(torch.distributed.fsdp.MixedPrecision, param_dtype)";
      flat_copy_source =
          "FSDP1 with use_orig_params (Composer's default): the forward's parameters are "
          "torch.split views of the unit's flat parameter (torch/distributed/fsdp/flat_param.py, "
          "_get_unflat_views), whose backward concatenates their gradients "
          "(split_with_sizes_backward)";
      s.optimizer_step = OptimizerStep::unfused;
      optimizer_source =
          "Composer's DecoupledAdamW, which llm-foundry's yamls name, loops over the parameters "
          "running eight tensor operations each (composer/optim/decoupled_weight_decay.py, "
          "DecoupledAdamW.adamw)";
      recipe_source =
          "Composer v0.17's amp_fp8 runs te.fp8_autocast with DelayedScaling (HYBRID, amax "
          "history 16; composer/core/precision.py, get_precision_context)";
      s.fp8_weight_cache = false;
      cast_fusion_source =
          "llm-foundry's fc_type te makes every linear layer a te.Linear, its ffn_type mptmlp "
          "(the default; submit_benchmarks.py sets only fc_type) and its norm "
          "low_precision_layernorm are PyTorch's: each fp8 GEMM casts its input "
          "(llmfoundry/models/layers/ffn.py, attention.py at b2a43a147)";
      cross_entropy_source =
          "MPT's loss_fn fused_crossentropy is flash-attn's xentropy kernel, not modelled: "
          "counted as the fp32 passes";
      s.attention_library = AttentionLibrary::flash_attention_2;
      attention_library_source =
          "llm-foundry's attn_impl flash, its pretraining yamls' setting "
          "(scripts/train/yamls/pretrain/mpt-*.yaml), calls flash_attn_func of the flash-attn 2 "
          "package (llmfoundry/models/layers/attention.py, setup.py extra gpu-flash2); its "
          "benchmark script's default attn_impl triton runs flash-attention-triton";
      weight_cache_source =
          "llm-foundry's fc_type te (submit_benchmarks.py sets it for fp8 on H100) builds "
          "Wqkv, out_proj, up_proj and down_proj as te.Linear and calls them without "
          "is_first_microbatch (llmfoundry/models/layers/attention.py, ffn.py at b2a43a147): "
          "Transformer Engine casts the weights at every call";
      break;
    case Framework::jax_gspmd:
      d.overlap_grad_reduce = true;
      overlap_source =
          "XLA's latency-hiding scheduler overlaps the gradient reduce-scatters "
          "with backward (MaxText, PaLM)";
      param_source = "weights sharded as ZeRO-3 (fsdp axis) are gathered per layer by XLA";
      prefetch_source = "XLA's scheduler gathers the next layer while one computes";
      s.grad_reduce_dtype = GradReduceDtype::fp32;
      grad_source = "MaxText keeps fp32 weights and reduces their gradients in fp32";
      scatter_source = "no pipeline messages of Megatron's kind";
      flat_copy_source = "XLA lays out the gradients itself: no FlatParameter views";
      s.fp32_parameter_shards = true;
      shards_source =
          "MaxText's weight_dtype float32: the sharded weights are fp32, cast to the training "
          "dtype where used";
      optimizer_source = "XLA fuses optax's update into few kernels";
      break;
  }
  d.sources =
      line("overlap_grad_reduce", yes_no(d.overlap_grad_reduce), overlap_source) +
      line("overlap_param_gather", yes_no(s.overlap_param_gather), param_source) +
      line("zero3_prefetch_parameters",
           s.zero3_prefetch_parameters ? fmt::format("{:g}", *s.zero3_prefetch_parameters)
                                       : "one layer",
           prefetch_source) +
      line("grad_reduce_dtype", to_string(s.grad_reduce_dtype), grad_source) +
      line("pipeline_scatter_gather", yes_no(s.pipeline_scatter_gather), scatter_source) +
      line("pipeline_blocking_p2p", yes_no(s.pipeline_blocking_p2p), blocking_source) +
      line("pipeline_output_regather", yes_no(s.pipeline_output_regather), regather_source) +
      line("bf16_optimizer", yes_no(s.bf16_optimizer), bf16_optimizer_source) +
      line("tp_comm_overlap", yes_no(s.tp_comm_overlap), tp_overlap_source) +
      line("overlap_moe_expert_parallel_comm", yes_no(s.overlap_moe_expert_parallel_comm),
           moe_overlap_source) +
      line("moe_dispatcher", to_string(s.moe_dispatcher), dispatcher_source) +
      line("flat_parameter_gradient_copy", yes_no(s.flat_parameter_gradient_copy),
           flat_copy_source) +
      line("optimizer_step", to_string(s.optimizer_step), optimizer_source) +
      line("gradient_accumulation", to_string(s.gradient_accumulation), accumulation_source) +
      line("zero2_gradient_reduction", to_string(s.zero2_gradient_reduction), zero2_source) +
      line("zero2_gathers_per_layer", yes_no(s.zero2_gathers_per_layer), zero2_layout_source) +
      line("optimizer_wrapper_passes", yes_no(s.optimizer_wrapper_passes), wrapper_source) +
      line("gradient_buffer_in_reduce_dtype", yes_no(s.gradient_buffer_in_reduce_dtype),
           gradient_buffer_source) +
      line("fp32_parameter_shards", yes_no(s.fp32_parameter_shards), shards_source) +
      line("zero3_reduce_dtype_copy", yes_no(s.zero3_reduce_dtype_copy), reduce_copy_source) +
      line("fp8_recipe", to_string(s.fp8_recipe), recipe_source) +
      line("fp8_weight_cache", yes_no(s.fp8_weight_cache), weight_cache_source) +
      line("fp8_cast_fusion", to_string(s.fp8_cast_fusion), cast_fusion_source) +
      line("cross_entropy_fusion", to_string(s.cross_entropy_fusion), cross_entropy_source) +
      line("attention_library", to_string(s.attention_library), attention_library_source);
  return d;
}

double optimizer_wrapper_bytes_per_parameter(GradReduceDtype reduce, Dtype dtype) {
  const bool full_precision = dtype == Dtype::fp32 || dtype == Dtype::tf32;
  const double norm = 4;
  if (full_precision)
    return norm;
  const double copy_back = 2;
  const double unscale = dtype == Dtype::fp16 ? 8 : 0;
  const double gradient_copy = reduce == GradReduceDtype::training ? 2 + 4 : 0;
  return norm + copy_back + unscale + gradient_copy;
}

double gradient_reduction_bytes(GradReduceDtype reduce, Dtype dtype) {
  if (reduce == GradReduceDtype::fp32)
    return 4;
  // fp8 training keeps 16-bit weights and gradients.
  return bytes_per_element(non_gemm_dtype(dtype));
}

}  // namespace scaleplan
