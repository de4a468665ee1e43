// GSPMD's 2D weight sharding (parallelism.sharding: 2d): the per-layer communication the layout
// implies, counted op by op against the bytes derived by hand in each comment.
#include <gtest/gtest.h>

#include <string>

#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/plan_quantities.hpp"

namespace scaleplan {
namespace {

// gpt3-1.3b (hidden 2048, 2048-token sequences) cut to 4 layers; tp 2 (the model axis), dp 4 in
// two slices of 2 (dcn_dp 2), 2 micro-batches of 1 sequence, bf16, gradients reduced in bf16.
TrainingJob two_d_job() {
  TrainingJob job;
  job.model = *transformer_preset("gpt3-1.3b");
  job.model.layers = 4;
  job.training.micro_batch = 1;
  job.training.global_batch = 2 * 4;
  job.training.dtype = Dtype::bf16;
  job.framework.grad_reduce_dtype = GradReduceDtype::training;
  auto& p = job.parallelism;
  p.tp = 2;
  p.dp = 4;
  p.sharding = WeightSharding::two_d;
  p.dcn_dp = 2;
  p.zero = 3;
  p.sequence_parallel = true;
  return job;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

struct Bytes {
  double gathered = 0, scattered = 0, across = 0, tp = 0;
  int gathers = 0, scatters = 0, acrosses = 0, tp_ops = 0;
};

// Layer 1's collectives on rank 0, by group.
Bytes layer_1(const Plan& plan) {
  Bytes b;
  for (const Op& op : plan.ranks[0].ops) {
    if (op.kind != OpKind::collective || !starts_with(plan.labels[op.label], "L1 "))
      continue;
    const std::string& group = plan.groups[op.group].name;
    if (group == "dp_shard" && op.collective == CollectiveKind::all_gather) {
      b.gathered += op.bytes;
      ++b.gathers;
    } else if (group == "dp_shard" && op.collective == CollectiveKind::reduce_scatter) {
      b.scattered += op.bytes;
      ++b.scatters;
    } else if (group == "dp_cross") {
      EXPECT_EQ(op.collective, CollectiveKind::all_reduce);
      b.across += op.bytes;
      ++b.acrosses;
    } else if (group == "tp") {
      b.tp += op.bytes;
      ++b.tp_ops;
    } else {
      ADD_FAILURE() << "layer 1 collective on group " << group << ": " << plan.labels[op.label];
    }
  }
  return b;
}

TEST(WeightSharding, TwoDGroupsAreTheSliceDataAxisAndItsCounterparts) {
  const TrainingJob job = two_d_job();
  // Rank r = t + 2·d (tp fastest): the data axis of rank 0's slice holds d = 0, 1 (ranks 0, 2);
  // the same shard in the other slice is d = 2 (rank 4).
  EXPECT_EQ(group_ranks(GroupKind::dp_shard, 0, job.parallelism), (std::vector<int>{0, 2}));
  EXPECT_EQ(group_ranks(GroupKind::dp_shard, 5, job.parallelism), (std::vector<int>{5, 7}));
  EXPECT_EQ(group_ranks(GroupKind::dp_cross, 0, job.parallelism), (std::vector<int>{0, 4}));
  EXPECT_EQ(group_ranks(GroupKind::dp_cross, 3, job.parallelism), (std::vector<int>{3, 7}));
  EXPECT_EQ(group_leader(GroupKind::dp_shard, 7, job.parallelism), 5);
  EXPECT_EQ(group_leader(GroupKind::dp_cross, 7, job.parallelism), 3);
  EXPECT_EQ(job.parallelism.shard_ways(), 2);
}

TEST(WeightSharding, TwoDLayerCommunicationMatchesTheLayout) {
  const TrainingJob job = two_d_job();
  const Plan plan = build_plan(job);
  // P: a layer's parameters on one rank of the model axis (tp 2): the GEMM weights 12·h²/2 and
  // the biases and norms, a few h.
  const double h = 2048;
  const double p = layer_parameters_per_rank(job.model, 1, 2, 1).total();
  EXPECT_NEAR(p, 6 * h * h, 10 * h);
  const Bytes b = layer_1(plan);
  // Weights: gathered over the slice's data axis before forward and again before backward, every
  // micro-batch: 2 × 2 gathers of P · 2 bytes (bf16) each.
  EXPECT_EQ(b.gathers, 4);
  EXPECT_DOUBLE_EQ(b.gathered, 4 * p * 2);
  // Gradients: reduce-scattered over the data axis after each micro-batch's backward: 2 of
  // P · 2 bytes.
  EXPECT_EQ(b.scatters, 2);
  EXPECT_DOUBLE_EQ(b.scattered, 2 * p * 2);
  // Across slices, once a step: the reduced shard, P · 2 / (dp / dcn_dp = 2), all-reduced.
  EXPECT_EQ(b.acrosses, 1);
  EXPECT_DOUBLE_EQ(b.across, p * 2 / 2);
  // Activations over the model axis, A = 2048 tokens × h × 2 bytes each: forward, an all-gather
  // before and a reduce-scatter after attention and the MLP (4); backward, the same around each
  // block's input gradient and the input all-gathered again for its weight gradient (6).
  const double a = 2048 * h * 2;
  EXPECT_EQ(b.tp_ops, 2 * 10);
  EXPECT_DOUBLE_EQ(b.tp, 2 * 10 * a);
}

TEST(WeightSharding, OneSliceShardsOverEveryDataParallelRank) {
  // dcn_dp 1: the plain ZeRO-3 plan, gathers and scatters over the dp group of all 4.
  TrainingJob job = two_d_job();
  job.parallelism.dcn_dp = 1;
  const Plan plan = build_plan(job);
  int dp_ops = 0;
  for (const Op& op : plan.ranks[0].ops) {
    if (op.kind != OpKind::collective)
      continue;
    const std::string& group = plan.groups[op.group].name;
    EXPECT_NE(group, "dp_shard");
    EXPECT_NE(group, "dp_cross");
    dp_ops += group == "dp";
  }
  EXPECT_GT(dp_ops, 0);
}

}  // namespace
}  // namespace scaleplan
