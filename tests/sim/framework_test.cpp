// The framework around the plan (sim/strategy/framework.hpp): each framework's defaults, and what
// each setting changes in the plan the builder lays out.
#include "sim/strategy/framework.hpp"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "hardware/io/catalog.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/timeline_recorder.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/plan_quantities.hpp"
#include "tests/support/framework_jobs.hpp"
#include "tests/support/scenario_text.hpp"

namespace scaleplan {
namespace {

using test::small_job;

using test::in_group;
using test::labelled;

TEST(Framework, DefaultsAreTheDocumentedOnes) {
  // Megatron-LM of 2021: reduction after backward, scatter-gather on, bf16 reduced in fp32, fp16
  // in fp16.
  FrameworkDefaults d = framework_defaults(Framework::megatron_lm_2021, Dtype::bf16, 0);
  EXPECT_FALSE(d.overlap_grad_reduce);
  EXPECT_TRUE(d.spec.pipeline_scatter_gather);
  EXPECT_EQ(d.spec.grad_reduce_dtype, GradReduceDtype::fp32);
  EXPECT_EQ(framework_defaults(Framework::megatron_lm_2021, Dtype::fp16, 0).spec.grad_reduce_dtype,
            GradReduceDtype::training);
  // Without gradient accumulation fusion (before 2022-02): bf16's fp32 main_grad buffers take
  // each micro-batch's gradient from a hook, fp16 accumulates through autograd; DeepSpeed leaves
  // it to autograd; the others fuse it into the weight-gradient GEMM or accumulate shards.
  EXPECT_EQ(d.spec.gradient_accumulation, GradientAccumulation::main_grad_hook);
  EXPECT_EQ(
      framework_defaults(Framework::megatron_lm_2021, Dtype::fp16, 0).spec.gradient_accumulation,
      GradientAccumulation::autograd);
  EXPECT_EQ(framework_defaults(Framework::deepspeed, Dtype::bf16, 1).spec.gradient_accumulation,
            GradientAccumulation::autograd);
  for (Framework f : {Framework::megatron_core, Framework::nemo, Framework::fsdp,
                      Framework::composer, Framework::jax_gspmd}) {
    EXPECT_EQ(framework_defaults(f, Dtype::bf16, 1).spec.gradient_accumulation,
              GradientAccumulation::fused);
  }
  EXPECT_EQ(FrameworkSpec{}.gradient_accumulation, GradientAccumulation::fused);
  // ZeRO-2 reduces every micro-batch under DeepSpeed and Composer's FSDP1, and under FSDP2
  // unless the stage is a pipeline's; the others (and no framework) once a step.
  EXPECT_EQ(framework_defaults(Framework::deepspeed, Dtype::bf16, 2).spec.zero2_gradient_reduction,
            Zero2GradientReduction::micro_batch);
  EXPECT_EQ(framework_defaults(Framework::composer, Dtype::bf16, 2).spec.zero2_gradient_reduction,
            Zero2GradientReduction::micro_batch);
  EXPECT_EQ(framework_defaults(Framework::fsdp, Dtype::bf16, 2).spec.zero2_gradient_reduction,
            Zero2GradientReduction::micro_batch_unless_pipelined);
  for (Framework f : {Framework::megatron_lm_2021, Framework::megatron_core, Framework::nemo,
                      Framework::jax_gspmd}) {
    EXPECT_EQ(framework_defaults(f, Dtype::bf16, 2).spec.zero2_gradient_reduction,
              Zero2GradientReduction::step);
  }
  EXPECT_EQ(FrameworkSpec{}.zero2_gradient_reduction, Zero2GradientReduction::step);
  // Megatron-Core and NeMo overlap both the reduction and the distributed optimizer's gather.
  for (Framework f : {Framework::megatron_core, Framework::nemo}) {
    d = framework_defaults(f, Dtype::bf16, 1);
    EXPECT_TRUE(d.overlap_grad_reduce);
    EXPECT_TRUE(d.spec.overlap_param_gather);
    EXPECT_FALSE(d.spec.pipeline_scatter_gather);
    EXPECT_EQ(d.spec.grad_reduce_dtype, GradReduceDtype::fp32);
  }
  // DeepSpeed: overlap_comm only under ZeRO-3, its prefetch and live-parameter budgets, the
  // training dtype on the wire.
  EXPECT_FALSE(framework_defaults(Framework::deepspeed, Dtype::bf16, 1).overlap_grad_reduce);
  d = framework_defaults(Framework::deepspeed, Dtype::bf16, 3);
  EXPECT_TRUE(d.overlap_grad_reduce);
  EXPECT_EQ(d.spec.zero3_prefetch_parameters, 5e7);
  EXPECT_EQ(d.spec.zero3_max_live_parameters, 1e9);
  EXPECT_EQ(d.spec.grad_reduce_dtype, GradReduceDtype::training);
  // DeepSpeed's pipeline engine partitions its messages over tp and blocks on each of them.
  EXPECT_TRUE(d.spec.pipeline_scatter_gather);
  EXPECT_TRUE(d.spec.pipeline_blocking_p2p);
  for (Framework f : {Framework::megatron_lm_2021, Framework::megatron_core, Framework::nemo,
                      Framework::fsdp, Framework::jax_gspmd})
    EXPECT_FALSE(framework_defaults(f, Dtype::bf16, 1).spec.pipeline_blocking_p2p);
  // It all-gathers a stage's own output again before the backward; bf16 with ZeRO stage 0 or 1
  // runs the BF16_Optimizer, fp16 and ZeRO-2/3 do not.
  EXPECT_TRUE(d.spec.pipeline_output_regather);
  EXPECT_TRUE(framework_defaults(Framework::deepspeed, Dtype::bf16, 1).spec.bf16_optimizer);
  EXPECT_TRUE(framework_defaults(Framework::deepspeed, Dtype::bf16, 0).spec.bf16_optimizer);
  EXPECT_FALSE(framework_defaults(Framework::deepspeed, Dtype::fp16, 1).spec.bf16_optimizer);
  EXPECT_FALSE(framework_defaults(Framework::deepspeed, Dtype::bf16, 2).spec.bf16_optimizer);
  EXPECT_FALSE(d.spec.bf16_optimizer);  // ZeRO-3
  for (Framework f : {Framework::megatron_lm_2021, Framework::megatron_core, Framework::nemo,
                      Framework::fsdp, Framework::composer, Framework::jax_gspmd}) {
    EXPECT_FALSE(framework_defaults(f, Dtype::bf16, 1).spec.pipeline_output_regather);
    EXPECT_FALSE(framework_defaults(f, Dtype::bf16, 1).spec.bf16_optimizer);
  }
  // FSDP: one unit ahead (no budget), fp32 reduction.
  d = framework_defaults(Framework::fsdp, Dtype::bf16, 3);
  EXPECT_FALSE(d.spec.zero3_prefetch_parameters.has_value());
  EXPECT_EQ(d.spec.grad_reduce_dtype, GradReduceDtype::fp32);
  // Megatron-Core (the README's benchmark runs) and NeMo overlap the tensor-parallel traffic with
  // the GEMMs; the others do not.
  for (Framework f : {Framework::megatron_core, Framework::nemo})
    EXPECT_TRUE(framework_defaults(f, Dtype::bf16, 1).spec.tp_comm_overlap);
  for (Framework f :
       {Framework::megatron_lm_2021, Framework::deepspeed, Framework::fsdp, Framework::jax_gspmd})
    EXPECT_FALSE(framework_defaults(f, Dtype::bf16, 1).spec.tp_comm_overlap);
  // Composer: FSDP1 as llm-foundry runs it: one unit ahead, fp32 reduction (DEFAULT), the
  // flat-parameter gradient copy and DecoupledAdamW's unfused step; nobody else does either.
  d = framework_defaults(Framework::composer, Dtype::bf16, 3);
  EXPECT_TRUE(d.overlap_grad_reduce);
  EXPECT_FALSE(d.spec.zero3_prefetch_parameters.has_value());
  EXPECT_EQ(d.spec.grad_reduce_dtype, GradReduceDtype::fp32);
  EXPECT_TRUE(d.spec.flat_parameter_gradient_copy);
  EXPECT_EQ(d.spec.optimizer_step, OptimizerStep::unfused);
  for (Framework f : {Framework::megatron_lm_2021, Framework::megatron_core, Framework::nemo,
                      Framework::deepspeed, Framework::fsdp, Framework::jax_gspmd}) {
    EXPECT_FALSE(framework_defaults(f, Dtype::bf16, 3).spec.flat_parameter_gradient_copy);
    EXPECT_EQ(framework_defaults(f, Dtype::bf16, 3).spec.optimizer_step, OptimizerStep::fused);
  }
  // Megatron-LM of 2021 alone runs its optimizer wrapper's passes.
  for (Framework f : {Framework::megatron_core, Framework::nemo, Framework::deepspeed,
                      Framework::fsdp, Framework::jax_gspmd, Framework::composer})
    EXPECT_FALSE(framework_defaults(f, Dtype::bf16, 3).spec.optimizer_wrapper_passes);
  // fp8: delayed scaling (Transformer Engine's default) everywhere; the weights' fp8 cast
  // cached for the step (is_first_microbatch) but under Composer, whose te.Linear layers cast
  // them at every call.
  for (Framework f :
       {Framework::megatron_lm_2021, Framework::megatron_core, Framework::nemo,
        Framework::deepspeed, Framework::fsdp, Framework::jax_gspmd, Framework::composer}) {
    EXPECT_EQ(framework_defaults(f, Dtype::fp8, 1).spec.fp8_recipe, Fp8Recipe::delayed);
    EXPECT_EQ(framework_defaults(f, Dtype::fp8, 1).spec.fp8_weight_cache, f != Framework::composer);
  }
  // Every framework dispatches MoE tokens by a plain all-to-all unless the run names DeepEP.
  for (Framework f :
       {Framework::megatron_lm_2021, Framework::megatron_core, Framework::nemo,
        Framework::deepspeed, Framework::fsdp, Framework::jax_gspmd, Framework::composer})
    EXPECT_EQ(framework_defaults(f, Dtype::bf16, 1).spec.moe_dispatcher, MoeDispatcher::all_to_all);
  // fp8 GEMM inputs written by their norm where Megatron-Core builds the layer from Transformer
  // Engine's LayerNormLinear (Megatron-Core, NeMo), not where every layer is a te.Linear. The
  // fused cross-entropy is off by default everywhere (Megatron-Core's default; Megatron-Bridge's
  // files turn it on).
  for (Framework f :
       {Framework::megatron_lm_2021, Framework::megatron_core, Framework::nemo,
        Framework::deepspeed, Framework::fsdp, Framework::jax_gspmd, Framework::composer}) {
    const bool layernorm_linear = f == Framework::megatron_core || f == Framework::nemo;
    EXPECT_EQ(framework_defaults(f, Dtype::fp8, 1).spec.fp8_cast_fusion,
              layernorm_linear ? Fp8CastFusion::norm : Fp8CastFusion::none)
        << to_string(f);
    EXPECT_EQ(framework_defaults(f, Dtype::fp8, 1).spec.cross_entropy_fusion,
              CrossEntropyFusion::none);
  }
  EXPECT_EQ(FrameworkSpec{}.fp8_cast_fusion, Fp8CastFusion::none);
  // ZeRO-2 runs as FSDP's SHARD_GRAD_OP under the two FSDP frameworks only.
  for (Framework f :
       {Framework::megatron_lm_2021, Framework::megatron_core, Framework::nemo,
        Framework::deepspeed, Framework::fsdp, Framework::jax_gspmd, Framework::composer}) {
    EXPECT_EQ(framework_defaults(f, Dtype::bf16, 2).spec.zero2_gathers_per_layer,
              f == Framework::fsdp || f == Framework::composer)
        << to_string(f);
  }
  EXPECT_FALSE(FrameworkSpec{}.zero2_gathers_per_layer);
  // Every framework names a source for every setting: twenty-five lines.
  for (Framework f :
       {Framework::megatron_lm_2021, Framework::megatron_core, Framework::nemo,
        Framework::deepspeed, Framework::fsdp, Framework::jax_gspmd, Framework::composer}) {
    const std::string sources = framework_defaults(f, Dtype::bf16, 3).sources;
    EXPECT_EQ(std::count(sources.begin(), sources.end(), '\n'), 25) << to_string(f);
    EXPECT_EQ(sources.find("()"), std::string::npos) << sources;
  }
}

TEST(Framework, ComposerRunsTakeTheCopyAndTheUnfusedStep) {
  // The same job under `fsdp` and `composer`: the step grows by the copies' and the optimizer's
  // extra memory traffic at the A100's streaming bandwidth; the prediction must not get faster.
  const Catalog& catalog = Catalog::builtin();
  const std::string text = R"(name: fw
cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 8}
model: {preset: gpt3-1.3b}
training: {global_batch: 8, micro_batch: 1, dtype: bf16}
parallelism: {tp: 1, pp: 1, dp: 8, zero: 3}
)";
  auto step_s = [&](const std::string& framework) {
    const Scenario s = parse_scenario(text + framework, "s.yaml", catalog);
    return predict(s, prepare_run(s, catalog)).step_time_s;
  };
  // Both on FlashAttention-2's kernels (composer's default library), so that only the copies and
  // the optimizer differ.
  const double fsdp = step_s("framework: {name: fsdp, attention_library: flash-attention-2}\n");
  const double composer = step_s("framework: composer\n");
  // 24 layers, one micro-batch: 24 copies of 4 · 50,358,272 bytes, and the step's 52 extra bytes
  // a parameter over its 1/8 shard of 1.3B (80 unfused against the fused step's 28 over fp32
  // shards): about 4.8 GB and 8.6 GB at 0.9 · 2.039 TB/s, some 7 ms. Communication is hidden behind
  // the compute on one node, so the step grows by about that; kernel launches add nothing beyond
  // 0.9 us each.
  const DeviceSpec& a100 = *catalog.find("A100-SXM4-80GB");
  const double bandwidth = a100.memory_bandwidth_bytes_per_s.value * a100.memory_efficiency.value;
  const double h = 2048;
  const double copies = 24 * 4 * (12 * h * h + 13 * h);
  const double optimizer = 52 * total_parameters(*transformer_preset("gpt3-1.3b")) / 8;
  const double expected = (copies + optimizer) / bandwidth;
  EXPECT_NEAR(composer - fsdp, expected, 0.05 * expected);
}

TEST(Framework, FsdpKeepsFp32WeightShardsAndNoSixteenBitCopy) {
  // The same fully sharded job under FSDP (fp32 shards cast for each gather) and DeepSpeed
  // (16-bit partitions beside the fp32 master): 4 + 8 bytes a parameter's shard against 2 + 12,
  // the same gradients; with ZeRO-2 both keep whole 16-bit weights.
  const Catalog& catalog = Catalog::builtin();
  const std::string text = R"(name: fw
cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 8}
model: {preset: gpt3-1.3b}
training: {global_batch: 8, micro_batch: 1, dtype: bf16}
)";
  auto memory = [&](const std::string& rest) {
    const Scenario s = parse_scenario(text + rest, "s.yaml", catalog);
    return predict(s, prepare_run(s, catalog)).memory;
  };
  const std::string zero3 = "parallelism: {tp: 1, pp: 1, dp: 8, zero: 3}\n";
  const auto fsdp = memory(zero3 + "framework: fsdp\n");
  const auto deepspeed = memory(zero3 + "framework: deepspeed\n");
  EXPECT_NEAR(fsdp.weights_bytes / deepspeed.weights_bytes, 2.0, 1e-9);
  EXPECT_NEAR(fsdp.optimizer_bytes / deepspeed.optimizer_bytes, 8.0 / 12.0, 1e-9);
  EXPECT_NEAR((deepspeed.weights_bytes + deepspeed.optimizer_bytes) -
                  (fsdp.weights_bytes + fsdp.optimizer_bytes),
              fsdp.weights_bytes / 2, 1.0);
  const std::string zero2 = "parallelism: {tp: 1, pp: 1, dp: 8, zero: 2}\n";
  EXPECT_EQ(memory(zero2 + "framework: fsdp\n").weights_bytes,
            memory(zero2 + "framework: deepspeed\n").weights_bytes);
}

TEST(Framework, ScatterGatherSendsATpthOfTheMessageAndGathersIt) {
  // tp 2, pp 2, no sequence parallelism: a boundary activation is 2048 tokens × 2048 × 2 bytes.
  TrainingJob job = small_job(2, 2, 1, 2);
  const double whole = 2048.0 * 2048 * 2;
  auto messages = [&](const TrainingJob& j, double& sent, int& gathers) {
    const Plan plan = build_plan(j);
    sent = 0;
    gathers = 0;
    for (const Op& op : plan.ranks[2].ops) {  // stage 1, tp rank 0
      if (op.kind == OpKind::recv)
        sent = op.bytes;
      if (in_group(plan, op, "tp") && labelled(plan, op, "scatter-gather")) {
        ++gathers;
        EXPECT_EQ(op.collective, CollectiveKind::all_gather);
        EXPECT_DOUBLE_EQ(op.bytes, whole);  // the gathered output
      }
    }
  };
  double sent = 0;
  int gathers = 0;
  messages(job, sent, gathers);
  EXPECT_DOUBLE_EQ(sent, whole);
  EXPECT_EQ(gathers, 0);
  job.framework.pipeline_scatter_gather = true;
  messages(job, sent, gathers);
  EXPECT_DOUBLE_EQ(sent, whole / 2);
  // Stage 1 receives activations only (it holds the output head): one gather per micro-batch.
  EXPECT_EQ(gathers, 2);
  // Sequence parallelism splits the message already: nothing more to scatter.
  job.parallelism.sequence_parallel = true;
  messages(job, sent, gathers);
  EXPECT_DOUBLE_EQ(sent, whole / 2);
  EXPECT_EQ(gathers, 0);
}

TEST(Framework, OutputRegatherAllGathersTheStagesOutputBeforeEachBackward) {
  // tp 2, pp 2, two micro-batches, scatter-gather on: stage 0 sends half of each 2048 × 2048 × 2
  // byte output and keeps half; DeepSpeed's _exec_backward_pass all-gathers the whole output
  // again before each backward, before the gradient's all-gather: two more all-gathers of the
  // whole output per step on stage 0, none on stage 1 (the last stage sends nothing).
  TrainingJob job = small_job(2, 2, 1, 2);
  job.framework.pipeline_scatter_gather = true;
  const double whole = 2048.0 * 2048 * 2;
  auto regathers = [whole](const TrainingJob& j, int rank) {
    const Plan plan = build_plan(j);
    std::vector<int> microbatches;
    const auto& ops = plan.ranks[static_cast<std::size_t>(rank)].ops;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const Op& op = ops[i];
      if (!(in_group(plan, op, "tp") && labelled(plan, op, "output re-gather")))
        continue;
      EXPECT_EQ(op.collective, CollectiveKind::all_gather);
      EXPECT_DOUBLE_EQ(op.bytes, whole);
      microbatches.push_back(op.microbatch);
      // The gradient's all-gather follows it.
      EXPECT_TRUE(labelled(plan, ops[i + 1], "gradients scatter-gather all-gather"));
    }
    return microbatches;
  };
  EXPECT_TRUE(regathers(job, 0).empty());
  job.framework.pipeline_output_regather = true;
  EXPECT_EQ(regathers(job, 0), (std::vector<int>{0, 1}));
  EXPECT_TRUE(regathers(job, 2).empty());
  // Without the scatter the output is never freed: nothing to gather.
  job.framework.pipeline_scatter_gather = false;
  EXPECT_TRUE(regathers(job, 0).empty());
}

TEST(Framework, Bf16OptimizerAllReducesTheGradientsAndAddsThemIntoFp32) {
  // pp 2, dp 2, ZeRO-1, bf16, two micro-batches, 4 layers of GPT-3 1.3B; gradients reduced in
  // the training dtype (DeepSpeed's communication_data_type).
  TrainingJob job = small_job(1, 2, 2, 2);
  job.training.dtype = Dtype::bf16;
  job.parallelism.zero = 1;
  job.parallelism.overlap_grad_reduce = false;
  job.framework.grad_reduce_dtype = GradReduceDtype::training;
  struct Seen {
    std::vector<CollectiveKind> dp_kinds;
    double dp_bytes = 0;
    double embedding_bytes = 0;
    std::vector<int> accumulations;
    double accumulation_bytes = 0;
  };
  auto seen = [](const TrainingJob& j, int rank) {
    const Plan plan = build_plan(j);
    Seen out;
    for (const Op& op : plan.ranks[static_cast<std::size_t>(rank)].ops) {
      if (in_group(plan, op, "dp") && labelled(plan, op, "gradient")) {
        out.dp_kinds.push_back(op.collective);
        out.dp_bytes += op.bytes;
      }
      if (labelled(plan, op, "embedding gradient all-reduce"))
        out.embedding_bytes = op.bytes;
      if (op.kind == OpKind::compute && labelled(plan, op, "bf16 optimizer gradient")) {
        out.accumulations.push_back(op.microbatch);
        const ComputeBlock& block = plan.blocks[op.block];
        EXPECT_EQ(block.kernels.size(), 1U);
        out.accumulation_bytes = block.kernels.front().bytes;
      }
    }
    return out;
  };
  const double stage0 = stage_parameters(job, 0).total();
  const double table = static_cast<double>(job.model.vocab * job.model.hidden);
  // Off: ZeRO-1 reduce-scatters; the tied embedding's gradient is all-reduced in bf16.
  Seen off = seen(job, 0);
  ASSERT_FALSE(off.dp_kinds.empty());
  for (CollectiveKind kind : off.dp_kinds)
    EXPECT_EQ(kind, CollectiveKind::reduce_scatter);
  EXPECT_DOUBLE_EQ(off.dp_bytes, 2 * stage0);
  EXPECT_DOUBLE_EQ(off.embedding_bytes, 2 * table);
  EXPECT_TRUE(off.accumulations.empty());
  // On: the same bytes all-reduced, the embedding's gradient in fp32, and after each
  // micro-batch's backward its 2-byte gradients read and added into 4-byte ones: 10 bytes a
  // parameter of the stage.
  job.framework.bf16_optimizer = true;
  Seen on = seen(job, 0);
  ASSERT_FALSE(on.dp_kinds.empty());
  for (CollectiveKind kind : on.dp_kinds)
    EXPECT_EQ(kind, CollectiveKind::all_reduce);
  EXPECT_DOUBLE_EQ(on.dp_bytes, 2 * stage0);
  EXPECT_DOUBLE_EQ(on.embedding_bytes, 4 * table);
  EXPECT_EQ(on.accumulations, (std::vector<int>{0, 1}));
  EXPECT_DOUBLE_EQ(on.accumulation_bytes, 10 * stage0);
  // The last stage (rank 2: dp 2 ranks a stage) accumulates its own parameters.
  EXPECT_DOUBLE_EQ(seen(job, 2).accumulation_bytes, 10 * stage_parameters(job, 1).total());
  // fp16 (FP16_Optimizer) and ZeRO-2 are not the BF16_Optimizer's.
  job.training.dtype = Dtype::fp16;
  EXPECT_TRUE(seen(job, 0).accumulations.empty());
  job.training.dtype = Dtype::bf16;
  job.parallelism.zero = 2;
  Seen zero2 = seen(job, 0);
  EXPECT_TRUE(zero2.accumulations.empty());
  EXPECT_DOUBLE_EQ(zero2.embedding_bytes, 2 * table);
}

TEST(Framework, BlockingP2pIssuesTrainSchedulesMessagesOnTheChain) {
  // pp 2, two micro-batches: 1F1B runs F0 F1 B0 B1 on stage 0 and F0 B0 F1 B1 on stage 1.
  // DeepSpeed's TrainSchedule (deepspeed/runtime/pipe/schedule.py) puts the messages between
  // them: stage 0 sends F0's output in the (empty) backward step after F0, and before B0 receives
  // B0's gradient and then sends F1's output; stage 1 sends a backward's gradient before it
  // receives the next forward's input, and its last gradient after B1.
  TrainingJob job = small_job(1, 2, 1, 2);
  job.framework.pipeline_blocking_p2p = true;
  const Plan plan = build_plan(job);
  auto messages = [&](int rank) {
    std::vector<std::string> order;
    const auto& ops = plan.ranks[static_cast<std::size_t>(rank)].ops;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const Op& op = ops[i];
      if (op.kind != OpKind::send && op.kind != OpKind::recv)
        continue;
      order.push_back(plan.labels[op.label] + " " + std::to_string(op.microbatch));
      // On the chain: it waits for the op issued before it, and the op after it waits for it.
      if (i > 0) {
        EXPECT_EQ(op.deps.size(), 1U);
        EXPECT_EQ(op.deps.empty() ? 0 : op.deps[0], i - 1);
      }
      const Op& next = ops[i + 1];
      EXPECT_NE(std::find(next.deps.begin(), next.deps.end(), i), next.deps.end())
          << plan.labels[next.label];
    }
    return order;
  };
  EXPECT_EQ(messages(0), (std::vector<std::string>{"send activations 0", "recv gradients 0",
                                                   "send activations 1", "recv gradients 1"}));
  EXPECT_EQ(messages(1), (std::vector<std::string>{"recv activations 0", "send gradients 0",
                                                   "recv activations 1", "send gradients 1"}));
  // Interleaving is not DeepSpeed's schedule: the messages stay beside the compute there.
  job.parallelism.schedule = PipelineSchedule::interleaved_1f1b;
  job.parallelism.virtual_stages = 2;
  const Plan interleaved = build_plan(job);
  for (const Op& op : interleaved.ranks[0].ops) {
    if (op.kind == OpKind::send) {
      EXPECT_LE(op.deps.size(), 1U);
    }
  }
}

TEST(Framework, BlockingP2pPutsTwoMoreTransfersOnATwoStageStep) {
  // Two stages on one node, two micro-batches; stage s runs a forward in f_s and a backward in
  // b_s, a message takes c, and stage 1 (two layers and the output head) is the heavier:
  // f_1 + b_1 >= f_0 and b_1 >= b_0.
  // Beside the compute: stage 1 starts F0 at f0 + c; after F0 B0 its gradient arrives at stage
  // 0 at f0 + c + f1 + b1 + c, while F1's input (sent at 2 f0) is long there; stage 1 runs F1 B1
  // and the last gradient arrives at f0 + 2c + 2 f1 + 2 b1, after stage 0's B0; stage 0's B1
  // ends at f0 + 2 f1 + 2 b1 + b0 + 2c.
  // Blocking, in TrainSchedule's order: stage 0 sends F0's output (c) before F1; stage 1's
  // gradient of B0 (c) and then F1's input (c) pass one after the other, both stages waiting;
  // then stage 0 runs B0 while stage 1 runs F1 B1 and sends the last gradient (c): stage 0's B1
  // ends at f0 + 2 f1 + 2 b1 + b0 + 4c. The step is longer by exactly 2c.
  const std::string text = R"(name: blocking
cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 2}
model: {preset: gpt3-1.3b, layers: 4}
training: {global_batch: 2, micro_batch: 1, dtype: bf16}
parallelism: {tp: 1, pp: 2, dp: 1}
)";
  const Catalog& catalog = Catalog::builtin();
  auto run = [&](const std::string& framework, Timeline* timeline) {
    const Scenario s = parse_scenario(text + framework, "s.yaml", catalog);
    const PreparedRun prepared = prepare_run(s, catalog);
    TimelineRecorder recorder(prepared.plan);
    const Prediction prediction = predict(s, prepared, {&recorder});
    if (timeline)
      *timeline = recorder.timeline();
    return prediction;
  };
  Timeline beside_timeline;
  const Prediction beside =
      run("framework: {name: deepspeed, pipeline_blocking_p2p: false}\n", &beside_timeline);
  const Prediction blocking = run("framework: deepspeed\n", nullptr);
  // c: the first activation's transfer, which nothing else shares a link with.
  double c = 0;
  for (const TimelineOp& op : beside_timeline.ops) {
    if (op.kind == OpKind::send && op.microbatch == 0 &&
        beside_timeline.labels[op.label] == "send activations")
      c = static_cast<double>(op.end_ps - op.start_ps) * 1e-12;
  }
  ASSERT_GT(c, 0);
  EXPECT_DOUBLE_EQ(blocking.breakdown.compute_s, beside.breakdown.compute_s);
  EXPECT_NEAR(blocking.step_time_s - beside.step_time_s, 2 * c, 1e-9);
}

TEST(Framework, OverlappedParamGatherRunsBeforeTheFirstForwardOfItsLayers) {
  // ZeRO-1 over 4 ranks: the updated weights are all-gathered once a step either way, the same
  // bytes (every dense parameter of the stage in 16 bits).
  TrainingJob job = small_job(1, 1, 4, 2);
  job.parallelism.zero = 1;
  const double weights = stage_parameters(job, 0).dense * 2;
  auto gathers = [&](const TrainingJob& j, double& bytes, bool& before_forward) {
    const Plan plan = build_plan(j);
    const RankProgram& r = plan.ranks[0];
    bytes = 0;
    before_forward = false;
    std::vector<std::uint32_t> ids;
    for (std::uint32_t i = 0; i < r.ops.size(); ++i) {
      if (in_group(plan, r.ops[i], "dp") && r.ops[i].collective == CollectiveKind::all_gather) {
        bytes += r.ops[i].bytes;
        ids.push_back(i);
      }
    }
    // The first layer's attention forward waits for a gather.
    for (const Op& op : r.ops) {
      if (op.kind == OpKind::compute && labelled(plan, op, "L0 attention forward")) {
        for (auto dep : op.deps)
          before_forward |= std::find(ids.begin(), ids.end(), dep) != ids.end();
        break;
      }
    }
  };
  double bytes = 0;
  bool before_forward = false;
  gathers(job, bytes, before_forward);
  EXPECT_DOUBLE_EQ(bytes, weights);
  EXPECT_FALSE(before_forward);
  job.framework.overlap_param_gather = true;
  gathers(job, bytes, before_forward);
  EXPECT_DOUBLE_EQ(bytes, weights);
  EXPECT_TRUE(before_forward);
}

TEST(Framework, Zero3PrefetchesWithinItsBudgetAndFetchesTheRestOnDemand) {
  // ZeRO-3 over 4 ranks; a gpt3-1.3b layer holds P = 12·2048² + 13·2048 parameters.
  TrainingJob job = small_job(1, 1, 4, 1);
  job.parallelism.zero = 3;
  const double layer = layer_parameters_per_rank(job.model, 0, 1, 1).total();
  EXPECT_DOUBLE_EQ(layer, 12.0 * 2048 * 2048 + 13 * 2048);
  auto layer_gathers = [&](const TrainingJob& j) {
    const Plan plan = build_plan(j);
    std::vector<double> bytes;
    for (const Op& op : plan.ranks[0].ops) {
      if (op.stream == Stream::param_gather && labelled(plan, op, "L1 layer weight all-gather"))
        bytes.push_back(op.bytes);
    }
    return bytes;
  };
  // Without a budget the whole layer is gathered ahead, once before its forward and once before
  // its backward; the buffer holds two layers.
  auto bytes = layer_gathers(job);
  ASSERT_EQ(bytes.size(), 2u);
  EXPECT_DOUBLE_EQ(bytes[0], layer * 2);
  // Beside them, the gradients in flight: one layer's as backward writes them (bf16), whatever
  // dp is, not Megatron's bucket of max(40M, 1M·dp) parameters (32 GB at dp 8,192).
  EXPECT_DOUBLE_EQ(static_memory_of_stage(job, 0).communication_buffer_bytes - layer * 2,
                   2 * layer * 2);
  TrainingJob wide = job;
  wide.parallelism.dp = 8192;
  EXPECT_DOUBLE_EQ(static_memory_of_stage(wide, 0).communication_buffer_bytes,
                   static_memory_of_stage(job, 0).communication_buffer_bytes);
  // PyTorch FSDP casts them to the reduce dtype (fp32) into a copy first: 4 bytes more.
  TrainingJob fsdp = job;
  fsdp.framework.zero3_reduce_dtype_copy = true;
  EXPECT_DOUBLE_EQ(static_memory_of_stage(fsdp, 0).communication_buffer_bytes -
                       static_memory_of_stage(job, 0).communication_buffer_bytes,
                   layer * 4);
  // DeepSpeed's 5e7 would cover the layer (P ≈ 5.03e7 just exceeds it); a budget of 1e6 gathers
  // 1e6 parameters ahead and the other P - 1e6 on demand, each time; the buffer holds the layer
  // and the 1e6 ahead.
  job.framework.zero3_prefetch_parameters = 1e6;
  bytes = layer_gathers(job);
  ASSERT_EQ(bytes.size(), 4u);
  EXPECT_DOUBLE_EQ(bytes[0], 1e6 * 2);
  EXPECT_DOUBLE_EQ(bytes[1], (layer - 1e6) * 2);
  EXPECT_DOUBLE_EQ(static_memory_of_stage(job, 0).communication_buffer_bytes - layer * 2,
                   (layer + 1e6) * 2);
  // A live-parameter budget below that caps the buffer, never below one layer.
  job.framework.zero3_max_live_parameters = 1.0;
  EXPECT_DOUBLE_EQ(zero3_gathered_parameters(job), layer);
}

const char* const scenario_text = R"(name: fw
cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 8}
model: {preset: gpt3-1.3b}
training: {global_batch: 16, micro_batch: 1, dtype: bf16}
parallelism: {tp: 2, pp: 2, dp: 2, zero: 1}
)";

TEST(Framework, ScenarioKeySetsTheDefaultsAndEachOverrides) {
  const Catalog& catalog = Catalog::builtin();
  // No key: the settings of before.
  Scenario s = parse_scenario(scenario_text, "s.yaml", catalog);
  EXPECT_FALSE(s.job.framework.framework.has_value());
  EXPECT_TRUE(s.job.parallelism.overlap_grad_reduce);
  EXPECT_FALSE(s.job.framework.pipeline_scatter_gather);
  // A name: its defaults.
  s = parse_scenario(std::string(scenario_text) + "framework: megatron-lm-2021\n", "s.yaml",
                     catalog);
  EXPECT_EQ(s.job.framework.framework, Framework::megatron_lm_2021);
  EXPECT_FALSE(s.job.parallelism.overlap_grad_reduce);
  EXPECT_TRUE(s.job.framework.pipeline_scatter_gather);
  // A mapping overrides one by one; parallelism.overlap_grad_reduce, written, keeps its value.
  std::string text = scenario_text;
  text.replace(text.find("zero: 1}"), 8, "zero: 1, overlap_grad_reduce: true}");
  s = parse_scenario(text +
                         "framework: {name: megatron-lm-2021, pipeline_scatter_gather: false,\n"
                         "            grad_reduce_dtype: training}\n",
                     "s.yaml", catalog);
  EXPECT_TRUE(s.job.parallelism.overlap_grad_reduce);
  EXPECT_FALSE(s.job.framework.pipeline_scatter_gather);
  EXPECT_EQ(s.job.framework.grad_reduce_dtype, GradReduceDtype::training);
  s = parse_scenario(
      std::string(scenario_text) + "framework: {name: nemo, tp_comm_overlap: false}\n", "s.yaml",
      catalog);
  EXPECT_FALSE(s.job.framework.tp_comm_overlap);
  EXPECT_TRUE(parse_scenario(std::string(scenario_text) + "framework: nemo\n", "s.yaml", catalog)
                  .job.framework.tp_comm_overlap);
  s = parse_scenario(
      std::string(scenario_text) + "framework: {name: deepspeed, pipeline_blocking_p2p: false}\n",
      "s.yaml", catalog);
  EXPECT_FALSE(s.job.framework.pipeline_blocking_p2p);
  EXPECT_TRUE(s.job.framework.pipeline_scatter_gather);
  EXPECT_TRUE(s.job.framework.pipeline_output_regather);
  EXPECT_TRUE(s.job.framework.bf16_optimizer);
  s = parse_scenario(std::string(scenario_text) +
                         "framework: {name: deepspeed, pipeline_output_regather: false,\n"
                         "            bf16_optimizer: false}\n",
                     "s.yaml", catalog);
  EXPECT_FALSE(s.job.framework.pipeline_output_regather);
  EXPECT_FALSE(s.job.framework.bf16_optimizer);
  EXPECT_TRUE(s.job.framework.pipeline_blocking_p2p);
  s = parse_scenario(std::string(scenario_text) + "framework: composer\n", "s.yaml", catalog);
  EXPECT_TRUE(s.job.framework.flat_parameter_gradient_copy);
  EXPECT_EQ(s.job.framework.optimizer_step, OptimizerStep::unfused);
  s = parse_scenario(std::string(scenario_text) +
                         "framework: {name: composer, flat_parameter_gradient_copy: false,\n"
                         "            optimizer_step: fused}\n",
                     "s.yaml", catalog);
  EXPECT_FALSE(s.job.framework.flat_parameter_gradient_copy);
  EXPECT_EQ(s.job.framework.optimizer_step, OptimizerStep::fused);
  EXPECT_FALSE(s.job.framework.fp8_weight_cache);
  s = parse_scenario(std::string(scenario_text) +
                         "framework: {name: megatron-core, fp8_recipe: current,\n"
                         "            fp8_weight_cache: false}\n",
                     "s.yaml", catalog);
  EXPECT_EQ(s.job.framework.fp8_recipe, Fp8Recipe::current);
  EXPECT_FALSE(s.job.framework.fp8_weight_cache);
  EXPECT_EQ(s.job.framework.fp8_cast_fusion, Fp8CastFusion::norm);
  EXPECT_EQ(s.job.framework.cross_entropy_fusion, CrossEntropyFusion::none);
  s = parse_scenario(std::string(scenario_text) +
                         "framework: {name: megatron-core, fp8_cast_fusion: none,\n"
                         "            cross_entropy_fusion: te}\n",
                     "s.yaml", catalog);
  EXPECT_EQ(s.job.framework.fp8_cast_fusion, Fp8CastFusion::none);
  EXPECT_EQ(s.job.framework.cross_entropy_fusion, CrossEntropyFusion::te);
  s = parse_scenario(std::string(scenario_text) +
                         "framework: {name: composer, fp8_cast_fusion: norm,\n"
                         "            cross_entropy_fusion: native}\n",
                     "s.yaml", catalog);
  EXPECT_EQ(s.job.framework.fp8_cast_fusion, Fp8CastFusion::norm);
  EXPECT_EQ(s.job.framework.cross_entropy_fusion, CrossEntropyFusion::native);
  EXPECT_EQ(s.job.framework.attention_library, AttentionLibrary::flash_attention_2);
  s = parse_scenario(
      std::string(scenario_text) + "framework: {name: composer, attention_library: cudnn}\n",
      "s.yaml", catalog);
  EXPECT_EQ(s.job.framework.attention_library, AttentionLibrary::cudnn);
  s = parse_scenario(std::string(scenario_text) + "framework: megatron-lm-2021\n", "s.yaml",
                     catalog);
  EXPECT_NE(s.job.framework.gradient_accumulation, GradientAccumulation::fused);
  s = parse_scenario(std::string(scenario_text) +
                         "framework: {name: megatron-lm-2021, gradient_accumulation: fused}\n",
                     "s.yaml", catalog);
  EXPECT_EQ(s.job.framework.gradient_accumulation, GradientAccumulation::fused);
  s = parse_scenario(
      std::string(scenario_text) + "framework: {name: deepspeed, zero2_gradient_reduction: step}\n",
      "s.yaml", catalog);
  EXPECT_EQ(s.job.framework.zero2_gradient_reduction, Zero2GradientReduction::step);
}

TEST(Framework, AnUnknownAttentionLibraryIsAnErrorNamingTheLibraries) {
  const std::string e = test::scenario_errors_of(
      std::string(scenario_text) + "framework: {name: composer, attention_library: flash3}\n");
  EXPECT_NE(e.find("s.yaml:6:48: framework.attention_library: "), std::string::npos) << e;
  EXPECT_NE(e.find("cudnn, flash-attention-2 or flash-attention-triton"), std::string::npos) << e;
}

TEST(Framework, BadValuesAreErrorsAtTheirKeySayingWhatIsValid) {
  std::string e = test::scenario_errors_of(std::string(scenario_text) + "framework: megatron\n");
  EXPECT_NE(e.find("s.yaml:6:12: framework: "), std::string::npos) << e;
  EXPECT_NE(e.find("megatron-lm-2021, megatron-core, nemo, deepspeed, fsdp, jax-gspmd or composer"),
            std::string::npos)
      << e;
  e = test::scenario_errors_of(std::string(scenario_text) +
                               "framework: {name: nemo, grad_reduce_dtype: bf16}\n");
  EXPECT_NE(e.find("s.yaml:6:44: framework.grad_reduce_dtype: "), std::string::npos) << e;
  EXPECT_NE(e.find("fp32 or training"), std::string::npos) << e;
  e = test::scenario_errors_of(std::string(scenario_text) +
                               "framework: {name: deepspeed, zero3_prefetch_parameters: 0}\n");
  EXPECT_NE(e.find("framework.zero3_prefetch_parameters: "), std::string::npos) << e;
  e = test::scenario_errors_of(std::string(scenario_text) +
                               "framework: {name: nemo, tp_comm_overlap: 2}\n");
  EXPECT_NE(e.find("s.yaml:6:42: framework.tp_comm_overlap: "), std::string::npos) << e;
  e = test::scenario_errors_of(std::string(scenario_text) +
                               "framework: {name: composer, optimizer_step: foreach}\n");
  EXPECT_NE(e.find("framework.optimizer_step: "), std::string::npos) << e;
  EXPECT_NE(e.find("fused or unfused"), std::string::npos) << e;
  e = test::scenario_errors_of(std::string(scenario_text) +
                               "framework: {name: nemo, fp8_cast_fusion: activation}\n");
  EXPECT_NE(e.find("s.yaml:6:42: framework.fp8_cast_fusion: "), std::string::npos) << e;
  EXPECT_NE(e.find("none or norm"), std::string::npos) << e;
  e = test::scenario_errors_of(std::string(scenario_text) +
                               "framework: {name: nemo, cross_entropy_fusion: true}\n");
  EXPECT_NE(e.find("framework.cross_entropy_fusion: "), std::string::npos) << e;
  EXPECT_NE(e.find("none, native or te"), std::string::npos) << e;
  e = test::scenario_errors_of(std::string(scenario_text) +
                               "framework: {name: fsdp, overlap: true}\n");
  EXPECT_NE(e.find("framework.overlap: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("tp_comm_overlap"), std::string::npos) << e;
}

TEST(Framework, FsdpShardGradOpGathersEachLayerBeforeItsForwardAndScattersItsGradients) {
  // Four layers, dp 4, two micro-batches, ZeRO-2. Megatron-Core's distributed optimizer reduces
  // the gradients in buckets once a step (here one: the 1.3B model's ~1.3e9 parameters exceed no
  // 40M-parameter bucket but the last) and gathers the stepped weights once, after the step.
  // FSDP's SHARD_GRAD_OP (Composer's zero 2) gathers each of the 4 layers' weights before its
  // forward in both micro-batches (8 gathers, none before a backward), and reduce-scatters each
  // layer's gradients on their own after its backward, every micro-batch (8), with no gather
  // after the step.
  TrainingJob job = small_job(1, 1, 4, 2);
  job.parallelism.zero = 2;
  auto count = [](const TrainingJob& j, const std::string& text, CollectiveKind kind) {
    const Plan plan = build_plan(j);
    int n = 0;
    for (const Op& op : plan.ranks[0].ops) {
      if (in_group(plan, op, "dp") && op.collective == kind && labelled(plan, op, text))
        ++n;
    }
    return n;
  };
  job.framework = framework_defaults(Framework::megatron_core, Dtype::bf16, 2).spec;
  job.framework.overlap_param_gather = false;
  EXPECT_EQ(count(job, "L", CollectiveKind::all_gather), 0);
  EXPECT_EQ(count(job, "dp weight all-gather", CollectiveKind::all_gather), 1);
  job.framework = framework_defaults(Framework::composer, Dtype::bf16, 2).spec;
  EXPECT_EQ(count(job, "layer weight all-gather", CollectiveKind::all_gather), 8);
  EXPECT_EQ(count(job, "dp weight all-gather", CollectiveKind::all_gather), 0);
  // Each layer's fp32 gradient (12 h^2 weights and the biases and norms, h = 2048) on its own,
  // in each micro-batch.
  const Plan plan = build_plan(job);
  int layer_scatters = 0;
  for (const Op& op : plan.ranks[0].ops) {
    if (in_group(plan, op, "dp") && op.collective == CollectiveKind::reduce_scatter &&
        std::abs(op.bytes - 4.0 * 12 * 2048 * 2048) < 0.01 * 4.0 * 12 * 2048 * 2048) {
      ++layer_scatters;
    }
  }
  EXPECT_EQ(layer_scatters, 8);
}

}  // namespace
}  // namespace scaleplan
