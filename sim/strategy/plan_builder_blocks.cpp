// The compute blocks of a partitioned graph's layers: a transformer layer's attention and MLP
// (whole, and split into input and weight gradients for zero bubble), the embedding, the output
// head; and each stage's optimizer step kernel.
#include <algorithm>
#include <string>

#include "sim/strategy/plan_builder_detail.hpp"

namespace scaleplan {

Kernel optimizer_step_kernel(const TrainingJob& job, const ParameterSplit& stage_params) {
  Kernel step;
  step.name = "adam_step";
  step.kind = KernelKind::optimizer;
  step.dtype = Dtype::fp32;
  // With ZeRO each rank steps only its shard of the optimizer state.
  step.bytes =
      sharded_bytes(stage_params, optimizer_step_bytes_per_parameter(job), job.parallelism, 1);
  return step;
}

double optimizer_step_bytes_per_parameter(const TrainingJob& job) {
  const double wrapper = job.framework.optimizer_wrapper_passes
                             ? optimizer_wrapper_bytes_per_parameter(
                                   job.framework.grad_reduce_dtype, job.training.dtype)
                             : 0.0;
  if (job.framework.optimizer_step == OptimizerStep::fused) {
    // Over fp32 weight shards the step reads and writes no 16-bit copy: fp32 training's traffic.
    const Dtype weights = fp32_parameter_shards_on(job) ? Dtype::fp32 : job.training.dtype;
    return bytes_per_parameter(weights).optimizer_step_traffic + wrapper;
  }
  // Composer's DecoupledAdamW.adamw, on fp32 parameters, gradients and moments (FSDP casts the
  // 16-bit copies at each gather, not in the step), 4 bytes an element per tensor touched:
  // exp_avg.mul_ (read 1, write 1), .add_(grad) (2, 1), exp_avg_sq.mul_ (1, 1),
  // .addcmul_(grad, grad) (2, 1), .sqrt() (1, 1), / sqrt(bias correction) (1, 1), .add_(eps)
  // (1, 1), param.addcdiv_(exp_avg, denom) (3, 1): 12 reads and 8 writes. Weight decay, which
  // llm-foundry's MPT yamls set to 0, would add param.mul_.
  return (12 + 8) * 4.0 + wrapper;
}

Kernel flat_gradient_copy_kernel(const TrainingJob& job, double unit_parameters) {
  Kernel copy;
  copy.name = "flat_gradient_copy";
  copy.kind = KernelKind::elementwise;
  copy.dtype = non_gemm_dtype(job.training.dtype);
  copy.bytes = 2 * unit_parameters * bytes_per_element(copy.dtype);
  return copy;
}

std::optional<Kernel> gradient_accumulation_kernel(const TrainingJob& job,
                                                   double layer_parameters) {
  const GradientAccumulation accumulation = job.framework.gradient_accumulation;
  if (accumulation == GradientAccumulation::fused || job.parallelism.zero >= 3 ||
      zero_two_reduces_every_micro_batch(job) || bf16_optimizer_on(job))
    return std::nullopt;
  Kernel add;
  add.name = "gradient_accumulation";
  add.kind = KernelKind::elementwise;
  add.dtype = non_gemm_dtype(job.training.dtype);
  const double gradient_bytes = bytes_per_element(add.dtype);
  if (accumulation == GradientAccumulation::main_grad_hook) {
    const double buffer_bytes =
        gradient_reduction_bytes(job.framework.grad_reduce_dtype, job.training.dtype);
    add.bytes = layer_parameters * (gradient_bytes + 2 * buffer_bytes);
    return add;
  }
  const double micro_batches = std::max(1, microbatches_per_replica(job));
  add.bytes = layer_parameters * 3 * gradient_bytes * (micro_batches - 1) / micro_batches;
  if (add.bytes == 0)
    return std::nullopt;
  return add;
}

Fp8CastSettings fp8_cast_settings(const TrainingJob& job) {
  const ParallelismSpec& p = job.parallelism;
  Fp8CastSettings casts;
  casts.recipe = job.framework.fp8_recipe;
  // Cached: cast on the first of the pipeline's micro-batches, spread here over all of them.
  casts.weight_casts_per_micro_batch =
      job.framework.fp8_weight_cache
          ? 1.0 / static_cast<double>(std::max(1, microbatches_per_replica(job)))
          : 1.0;
  casts.fusion = job.framework.fp8_cast_fusion;
  casts.hidden = job.model.hidden;
  casts.sequence_shards = p.sequence_parallel ? p.tp : 1;
  return casts;
}

LayerWork framework_transformer_layer(const TrainingJob& job) {
  const ParallelismSpec& p = job.parallelism;
  LayerWork work = transformer_layer(job.model, job.training.micro_batch,
                                     {p.tp, p.cp, p.sequence_parallel, p.ep}, job.training.dtype,
                                     p.recompute_modules);
  if (!job.model.is_moe()) {
    const double layer_parameters = layer_parameters_per_rank(job.model, 0, p.tp, p.ep).total();
    if (job.framework.flat_parameter_gradient_copy)
      work.attention.backward_weight.push_back(flat_gradient_copy_kernel(job, layer_parameters));
    if (auto add = gradient_accumulation_kernel(job, layer_parameters))
      work.attention.backward_weight.push_back(*add);
  }
  use_attention_library(work.attention, job.framework.attention_library);
  if (job.training.dtype == Dtype::fp8) {
    const Fp8CastSettings casts = fp8_cast_settings(job);
    add_fp8_casts(work.attention, casts);
    add_fp8_casts(work.mlp, casts);
  }
  return work;
}

Block framework_output_block(const TrainingJob& job) {
  const ParallelismSpec& p = job.parallelism;
  return output_block(job.model, job.training.micro_batch, {p.tp, p.cp, p.sequence_parallel, p.ep},
                      job.training.dtype, job.framework.cross_entropy_fusion);
}

}  // namespace scaleplan

namespace scaleplan::plan_detail {

Blocks make_blocks(Plan& plan, const TrainingJob& job) {
  const auto& p = job.parallelism;
  const LayerPartition partition{p.tp, p.cp, p.sequence_parallel, p.ep};
  Blocks b;
  b.layer = framework_transformer_layer(job);
  b.embedding = embedding_block(job.model, job.training.micro_batch, partition, job.training.dtype);
  b.output = framework_output_block(job);
  b.attention_forward = plan.add_block({"attention forward", b.layer.attention.forward});
  b.attention_backward = plan.add_block({"attention backward", b.layer.attention.backward()});
  b.attention_core_recompute =
      plan.add_block({"attention core recompute", b.layer.attention.recompute_selective});
  if (!b.layer.mlp.recompute_selective.empty())
    b.mlp_recompute = plan.add_block({"mlp recompute", b.layer.mlp.recompute_selective});
  b.mlp_forward = plan.add_block({"mlp forward", b.layer.mlp.forward});
  b.mlp_backward = plan.add_block({"mlp backward", b.layer.mlp.backward()});
  b.embedding_forward = plan.add_block({"embedding forward", b.embedding.forward});
  b.embedding_backward = plan.add_block({"embedding backward", b.embedding.backward()});
  b.output_forward = plan.add_block({"output forward", b.output.forward});
  b.output_backward = plan.add_block({"output backward", b.output.backward()});
  if (job.model.is_moe())
    b.moe = make_moe_blocks(plan, job, partition);
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

}  // namespace scaleplan::plan_detail
