// The kernels the framework settings choose: Transformer Engine's fp8 casts, the fused loss and
// the library of the fused attention.
#include <gtest/gtest.h>

#include "sim/report/modelling_notes.hpp"
#include "sim/strategy/framework.hpp"
#include "sim/strategy/plan_quantities.hpp"
#include "tests/support/framework_jobs.hpp"

namespace scaleplan {
namespace {

using test::small_job;

TEST(Framework, Fp8CastsFollowTheRecipeAndTheWeightCache) {
  // 8 ranks of micro-batch 1 and a global batch of 128: 16 micro-batches a step. With the cache
  // the weights' cast of the first is spread over the 16; without it each casts them.
  TrainingJob job = small_job(1, 1, 8, 1);
  job.training.dtype = Dtype::fp8;
  job.training.global_batch = 128;
  job.training.micro_batch = 1;
  Fp8CastSettings casts = fp8_cast_settings(job);
  EXPECT_EQ(casts.recipe, Fp8Recipe::delayed);
  EXPECT_DOUBLE_EQ(casts.weight_casts_per_micro_batch, 1.0 / 16);
  EXPECT_EQ(casts.hidden, job.model.hidden);
  EXPECT_EQ(casts.sequence_shards, 1);
  job.framework.fp8_weight_cache = false;
  job.framework.fp8_recipe = Fp8Recipe::current;
  casts = fp8_cast_settings(job);
  EXPECT_DOUBLE_EQ(casts.weight_casts_per_micro_batch, 1.0);
  EXPECT_EQ(casts.recipe, Fp8Recipe::current);
  EXPECT_EQ(casts.fusion, Fp8CastFusion::none);
  job.framework.fp8_cast_fusion = Fp8CastFusion::norm;
  EXPECT_EQ(fp8_cast_settings(job).fusion, Fp8CastFusion::norm);
  // The layer as the framework runs it carries the casts under fp8 only.
  job.framework.fp8_cast_fusion = Fp8CastFusion::none;
  const std::size_t fp8_kernels = framework_transformer_layer(job).mlp.forward.size();
  job.training.dtype = Dtype::bf16;
  EXPECT_EQ(framework_transformer_layer(job).mlp.forward.size() + 4, fp8_kernels);
}

TEST(Framework, TheOutputHeadRunsTheFrameworksLoss) {
  // The last stage's loss kernel follows framework.cross_entropy_fusion: Transformer Engine's
  // Triton kernels move 3 bf16 elements a logit forward (read, read, write) against Megatron's
  // fp32 passes' 2 + 4 + 4 + 8 + 8 + 4 + 8 = 38 bytes.
  TrainingJob job = small_job(1, 1, 8, 1);
  job.training.dtype = Dtype::bf16;
  const double plain = [&] {
    for (const Kernel& k : framework_output_block(job).forward) {
      if (k.name == "cross_entropy")
        return k.bytes;
    }
    return 0.0;
  }();
  job.framework.cross_entropy_fusion = CrossEntropyFusion::te;
  for (const Kernel& k : framework_output_block(job).forward) {
    if (k.name == "cross_entropy") {
      EXPECT_DOUBLE_EQ(k.bytes, plain * 6 / 38);
    }
  }
}

TEST(Framework, TheFusedAttentionKernelsAreTheFrameworksLibrarys) {
  // Composer runs llm-foundry's flash-attn 2 kernels; the others Transformer Engine's cuDNN
  // attention. The library marks the fused kernels, forward and backward, and nothing else.
  EXPECT_EQ(framework_defaults(Framework::composer, Dtype::bf16, 3).spec.attention_library,
            AttentionLibrary::flash_attention_2);
  EXPECT_EQ(framework_defaults(Framework::megatron_core, Dtype::bf16, 1).spec.attention_library,
            AttentionLibrary::cudnn);
  TrainingJob job = small_job(1, 1, 8, 1);
  job.framework.attention_library = AttentionLibrary::flash_attention_2;
  const LayerWork work = framework_transformer_layer(job);
  int marked = 0;
  for (const Kernel& k : work.attention.forward) {
    if (k.attention_library == AttentionLibrary::flash_attention_2) {
      EXPECT_EQ(k.kind, KernelKind::attention);
      ++marked;
    }
  }
  for (const Kernel& k : work.attention.backward()) {
    if (k.attention_library == AttentionLibrary::flash_attention_2)
      ++marked;
  }
  EXPECT_EQ(marked, 2);
  for (const Kernel& k : work.mlp.forward)
    EXPECT_EQ(k.attention_library, AttentionLibrary::cudnn) << k.name;
  // The report says which library timed the attention, where it is not cuDNN's.
  const auto says_library = [](const TrainingJob& j) {
    for (const std::string& note : modelling_notes(j)) {
      if (note.find("fused attention: flash-attention-2's kernels") != std::string::npos)
        return true;
    }
    return false;
  };
  EXPECT_TRUE(says_library(job));
  job.framework.attention_library = AttentionLibrary::cudnn;
  EXPECT_FALSE(says_library(job));
}

}  // namespace
}  // namespace scaleplan
