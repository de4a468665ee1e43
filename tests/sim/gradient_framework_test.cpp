// What the framework settings do to the gradients and the optimizer step: the reduction's dtype,
// the kernels that copy, add and step them (FSDP1's flat gradient, the micro-batches'
// accumulation, the unfused AdamW, Megatron-LM 2021's wrapper passes) and the memory they hold.
#include <algorithm>

#include <gtest/gtest.h>

#include "sim/strategy/framework.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/plan_quantities.hpp"
#include "tests/support/framework_jobs.hpp"

namespace scaleplan {
namespace {

using test::in_group;
using test::small_job;

TEST(Framework, GradientsAreReducedInTheirDtype) {
  // 4 data-parallel ranks reduce every gradient once: fp32 moves 4 bytes a parameter, bf16 two.
  TrainingJob job = small_job(1, 1, 4, 2);
  auto reduced = [&](const TrainingJob& j) {
    const Plan plan = build_plan(j);
    double bytes = 0;
    for (const Op& op : plan.ranks[0].ops) {
      if (in_group(plan, op, "dp"))
        bytes += op.bytes;
    }
    return bytes;
  };
  const double fp32 = reduced(job);
  job.framework.grad_reduce_dtype = GradReduceDtype::training;
  EXPECT_DOUBLE_EQ(reduced(job), fp32 / 2);
  EXPECT_EQ(gradient_reduction_bytes(GradReduceDtype::training, Dtype::fp8), 2);
  EXPECT_EQ(gradient_reduction_bytes(GradReduceDtype::training, Dtype::fp32), 4);
}

const ComputeBlock& block_named(const Plan& plan, const std::string& name) {
  const auto it = std::find_if(plan.blocks.begin(), plan.blocks.end(),
                               [&](const ComputeBlock& b) { return b.name == name; });
  EXPECT_NE(it, plan.blocks.end()) << name;
  return *it;
}

TEST(Framework, FlatParameterGradientCopyEndsEachLayersBackward) {
  // GPT-3 1.3B's layer (h = 2048, biases, two LayerNorms): attention 4h² + 4h, MLP 8h² + 5h,
  // norms 4h: 12h² + 13h = 50,358,272 parameters. FSDP1 concatenates their bf16 gradients into
  // the flat gradient: read and written once, 2 · 2 bytes a parameter.
  TrainingJob job = small_job(1, 1, 2, 2);
  job.parallelism.zero = 3;
  const double h = 2048;
  const double layer = 12 * h * h + 13 * h;
  EXPECT_DOUBLE_EQ(layer_parameters(job.model, 0), layer);
  const ComputeBlock plain = block_named(build_plan(job), "attention backward");
  job.framework.flat_parameter_gradient_copy = true;
  const ComputeBlock with_copy = block_named(build_plan(job), "attention backward");
  ASSERT_EQ(with_copy.kernels.size(), plain.kernels.size() + 1);
  const Kernel& copy = with_copy.kernels.back();  // after the weight gradients: the last
  EXPECT_EQ(copy.name, "flat_gradient_copy");
  EXPECT_EQ(copy.flops, 0);
  EXPECT_DOUBLE_EQ(copy.bytes, 2 * 2 * layer);
  // tp 2 holds half of each split matrix and its biases, the row-parallel biases and the norms
  // whole: 6h² + 1.5h + h (attention) + 2h + h (MLP) + 4h = 6h² + 9.5h.
  job.parallelism.tp = 2;
  job.parallelism.dp = 1;
  EXPECT_DOUBLE_EQ(block_named(build_plan(job), "attention backward").kernels.back().bytes,
                   2 * 2 * (6 * h * h + 9.5 * h));
  // fp32 training copies 4-byte gradients.
  job.training.dtype = Dtype::fp32;
  EXPECT_DOUBLE_EQ(flat_gradient_copy_kernel(job, layer).bytes, 2 * 4 * layer);
  // The MLP's block and the forward are untouched: the copy happens once per layer.
  job.training.dtype = Dtype::bf16;
  job.framework.flat_parameter_gradient_copy = false;
  const Plan off = build_plan(job);
  job.framework.flat_parameter_gradient_copy = true;
  const Plan on = build_plan(job);
  for (const std::string name : {"mlp backward", "attention forward", "mlp forward"})
    EXPECT_EQ(block_named(on, name).kernels.size(), block_named(off, name).kernels.size()) << name;
}

TEST(Framework, GradientAccumulationWithoutFusionAddsEachMicroBatchsGradients) {
  // GPT-3 1.3B's layer: 12h² + 13h parameters (h = 2048), 4 micro-batches per step.
  TrainingJob job = small_job(1, 1, 2, 4);
  const double h = 2048;
  const double layer = 12 * h * h + 13 * h;
  const ComputeBlock fused = block_named(build_plan(job), "attention backward");
  // Megatron-LM 2021's hook in bf16: main_grad.add_(grad) reads the bf16 gradient (2) and reads
  // and writes the fp32 buffer (4 + 4), every micro-batch.
  job.training.dtype = Dtype::bf16;
  job.framework.gradient_accumulation = GradientAccumulation::main_grad_hook;
  job.framework.grad_reduce_dtype = GradReduceDtype::fp32;
  const ComputeBlock hooked = block_named(build_plan(job), "attention backward");
  ASSERT_EQ(hooked.kernels.size(), fused.kernels.size() + 1);
  const Kernel& add = hooked.kernels.back();  // the layer's last weight gradient is done first
  EXPECT_EQ(add.name, "gradient_accumulation");
  EXPECT_EQ(add.flops, 0);
  EXPECT_DOUBLE_EQ(add.bytes, (2 + 4 + 4) * layer);
  // A buffer in fp16 (reduced in fp16): 2 + 2 + 2.
  job.training.dtype = Dtype::fp16;
  job.framework.grad_reduce_dtype = GradReduceDtype::training;
  EXPECT_DOUBLE_EQ(gradient_accumulation_kernel(job, layer)->bytes, 6 * layer);
  // Autograd adds the later 3 of 4 micro-batches' fp16 gradients into param.grad (read 2 + 2,
  // write 2): over the step 3 · 6 bytes a parameter, a quarter of that per micro-batch.
  job.framework.gradient_accumulation = GradientAccumulation::autograd;
  const double per_micro_batch = gradient_accumulation_kernel(job, layer)->bytes;
  EXPECT_DOUBLE_EQ(4 * per_micro_batch, 3 * 6 * layer);
  // The step's backward kernels add up to that: 4 micro-batches × 4 layers.
  double step_bytes = 0;
  const Plan plan = build_plan(job);
  for (const Op& op : plan.ranks[0].ops) {
    if (op.kind != OpKind::compute)
      continue;
    for (const Kernel& k : plan.blocks[op.block].kernels) {
      if (k.name == "gradient_accumulation")
        step_bytes += k.bytes;
    }
  }
  EXPECT_DOUBLE_EQ(step_bytes, 4 * 3 * 6 * layer);
  // One micro-batch per step has nothing to add; nor do ZeRO-3 and a ZeRO-2 that reduces each
  // micro-batch, nor BF16_Optimizer (its update_hp_grads), nor fused accumulation. A ZeRO-2
  // that keeps whole gradients until the last micro-batch adds them as ZeRO-1 does.
  EXPECT_FALSE(gradient_accumulation_kernel(small_job(1, 1, 2, 1), layer).has_value());
  TrainingJob sharded = job;
  sharded.parallelism.zero = 3;
  EXPECT_FALSE(gradient_accumulation_kernel(sharded, layer).has_value());
  sharded.parallelism.zero = 2;
  sharded.framework.zero2_gradient_reduction = Zero2GradientReduction::micro_batch;
  EXPECT_FALSE(gradient_accumulation_kernel(sharded, layer).has_value());
  sharded.framework.zero2_gradient_reduction = Zero2GradientReduction::step;
  EXPECT_DOUBLE_EQ(gradient_accumulation_kernel(sharded, layer)->bytes, per_micro_batch);
  TrainingJob bf16_optimizer = job;
  bf16_optimizer.training.dtype = Dtype::bf16;
  bf16_optimizer.framework.bf16_optimizer = true;
  EXPECT_FALSE(gradient_accumulation_kernel(bf16_optimizer, layer).has_value());
  job.framework.gradient_accumulation = GradientAccumulation::fused;
  EXPECT_FALSE(gradient_accumulation_kernel(job, layer).has_value());
}

TEST(Framework, UnfusedOptimizerStepMovesEightyBytesAParameter) {
  // Composer's DecoupledAdamW: 12 fp32 reads and 8 fp32 writes a parameter; the fused step of
  // mixed precision moves 32 (18 read, 14 written). Each of 2 data-parallel ranks steps half.
  TrainingJob job = small_job(1, 1, 2, 2);
  job.parallelism.zero = 3;
  const ParameterSplit params{1e9, 0};
  EXPECT_DOUBLE_EQ(optimizer_step_kernel(job, params).bytes, 32 * 1e9 / 2);
  job.framework.optimizer_step = OptimizerStep::unfused;
  EXPECT_DOUBLE_EQ(optimizer_step_bytes_per_parameter(job), 80);
  EXPECT_DOUBLE_EQ(optimizer_step_kernel(job, params).bytes, 80 * 1e9 / 2);
}

TEST(Framework, MegatronOptimizerWrapperPassesAddTheirBytes) {
  // Megatron-LM 2021's Float16OptimizerWithFloat16Params.step around its fused Adam, by hand per
  // parameter: fp16 gradients copied into fp32 main gradients (read 2, write 4), unscaled and
  // checked for inf in place (read 4, write 4), their l2 norm (read 4), and the fp32 weights
  // copied back into the fp16 ones (read 4, write 2), where the fused figure of 32 already reads
  // and writes the 16-bit weight (2 + 2): 6 + 8 + 4 + (6 - 4) = 20, 52 in all.
  TrainingJob job = small_job(1, 1, 2, 2);
  job.training.dtype = Dtype::fp16;
  const FrameworkDefaults megatron =
      framework_defaults(Framework::megatron_lm_2021, Dtype::fp16, 0);
  EXPECT_TRUE(megatron.spec.optimizer_wrapper_passes);
  EXPECT_NE(megatron.sources.find("optimizer_wrapper_passes: true"), std::string::npos);
  job.framework = megatron.spec;
  EXPECT_DOUBLE_EQ(optimizer_step_bytes_per_parameter(job), 32 + 20);
  const ParameterSplit params{1e9, 0};
  EXPECT_DOUBLE_EQ(optimizer_step_kernel(job, params).bytes, 52 * 1e9);
  // bf16: gradients accumulated and reduced in fp32 (no copy), no loss scale (no unscaling):
  // the norm (4) and the copy back (2). fp32: the norm alone on top of the 28 of fp32 Adam.
  EXPECT_DOUBLE_EQ(optimizer_wrapper_bytes_per_parameter(GradReduceDtype::fp32, Dtype::bf16), 6);
  EXPECT_DOUBLE_EQ(optimizer_wrapper_bytes_per_parameter(GradReduceDtype::fp32, Dtype::fp32), 4);
  // The other frameworks keep the fused step's figure.
  EXPECT_FALSE(
      framework_defaults(Framework::megatron_core, Dtype::fp16, 0).spec.optimizer_wrapper_passes);
  job.framework = framework_defaults(Framework::megatron_core, Dtype::fp16, 0).spec;
  EXPECT_DOUBLE_EQ(optimizer_step_bytes_per_parameter(job), 32);
}

TEST(Framework, Bf16OptimizerHoldsTheBf16GradientsBesideTheFp32Ones) {
  // DeepSpeed's BF16_Optimizer keeps fp32 gradients of every parameter the rank holds (4 bytes,
  // not sharded under ZeRO-1) and backward writes bf16 ones (2 bytes) that update_hp_grads adds
  // into them: 6 bytes a parameter where Megatron's fp32 main gradients are 4.
  TrainingJob job = small_job(1, 1, 8, 1);
  job.training.dtype = Dtype::bf16;
  job.parallelism.zero = 1;
  const double params = stage_parameters(job, 0).total();
  EXPECT_DOUBLE_EQ(static_memory_of_stage(job, 0).gradients_bytes, params * 4);
  job.framework.bf16_optimizer = true;
  ASSERT_TRUE(bf16_optimizer_on(job));
  EXPECT_DOUBLE_EQ(static_memory_of_stage(job, 0).gradients_bytes, params * 6);
}

TEST(Framework, MegatronCoreKeepsItsGradientsInTheDtypeItReducesThem) {
  // Megatron-Core's gradient buffer is fp32 when gradients are reduced in fp32 and bf16 when
  // they are reduced in bf16 (Megatron-Bridge's configs): 4 or 2 bytes a parameter. Other
  // frameworks keep fp32 gradients (4) either way.
  TrainingJob job = small_job(1, 1, 8, 1);
  job.training.dtype = Dtype::bf16;
  job.parallelism.zero = 1;
  const double params = stage_parameters(job, 0).total();
  job.framework = framework_defaults(Framework::megatron_core, Dtype::bf16, 1).spec;
  EXPECT_DOUBLE_EQ(static_memory_of_stage(job, 0).gradients_bytes, params * 4);
  job.framework.grad_reduce_dtype = GradReduceDtype::training;
  EXPECT_DOUBLE_EQ(static_memory_of_stage(job, 0).gradients_bytes, params * 2);
  job.framework = framework_defaults(Framework::fsdp, Dtype::bf16, 1).spec;
  job.framework.grad_reduce_dtype = GradReduceDtype::training;
  EXPECT_DOUBLE_EQ(static_memory_of_stage(job, 0).gradients_bytes, params * 4);
}

}  // namespace
}  // namespace scaleplan
