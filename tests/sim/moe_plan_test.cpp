// Expert parallelism in the plan builder: the all-to-alls of each MoE layer, the groups they run
// on, the gradients of routed experts reduced over the ranks that hold the same experts, and
// expert weights sharded by ep in memory. Sizes are worked out by hand from the small model below.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "hardware/catalog.hpp"
#include "sim/compute_model.hpp"
#include "sim/plan_builder.hpp"
#include "sim/prediction.hpp"
#include "sim/scenario.hpp"
#include "sim/simulator.hpp"

namespace scaleplan {
namespace {

// Two MoE layers of hidden 512 (8 heads), 4 experts of width 1024, top-2; untied vocabulary of
// 1000; 256-token sequences; SwiGLU, RMSNorm, no biases (the Mixtral family).
TrainingJob moe_job(int tp, int dp, int ep, int microbatches) {
  TrainingJob job;
  job.model = *transformer_preset("mixtral-8x7b");
  job.model.layers = 2;
  job.model.hidden = 512;
  job.model.heads = 8;
  job.model.kv_heads = 8;
  job.model.ffn_hidden = 1024;
  job.model.vocab = 1000;
  job.model.seq_len = 256;
  job.model.moe.experts = 4;
  job.model.moe.top_k = 2;
  job.model.moe.expert_ffn_hidden = 1024;
  job.training.micro_batch = 1;
  job.training.global_batch = microbatches * dp;
  job.parallelism.tp = tp;
  job.parallelism.sequence_parallel = tp > 1;
  job.parallelism.dp = dp;
  job.parallelism.ep = ep;
  return job;
}

// Per layer: attention 4·512², two norms of 512, router 4·512; one expert 3·512·1024.
constexpr double dense_per_layer = 4 * 512.0 * 512 + 2 * 512 + 4 * 512;
constexpr double expert_weights = 3 * 512.0 * 1024;
// Both layers, the input embedding and output projection (1000·512 each), the final norm.
constexpr double dense_params = 2 * dense_per_layer + 2 * 1000.0 * 512 + 512;

struct Collectives {
  std::size_t count = 0;
  double bytes = 0;
};

Collectives collectives(const Plan& plan, int rank, const std::string& group, CollectiveKind kind) {
  Collectives c;
  for (const auto& op : plan.ranks[rank].ops) {
    if (op.kind == OpKind::collective && op.collective == kind &&
        plan.groups[op.group].name == group) {
      ++c.count;
      c.bytes += op.bytes;
    }
  }
  return c;
}

std::vector<int> group_of(const Plan& plan, int rank, const std::string& name) {
  for (const auto& op : plan.ranks[rank].ops) {
    if (op.kind == OpKind::collective && plan.groups[op.group].name == name)
      return plan.groups[op.group].ranks;
  }
  return {};
}

TEST(MoePlan, TwoAllToAllsEachWayPerLayerAndMicroBatchOverTheExpertParallelGroup) {
  const Plan plan = build_plan(moe_job(1, 4, 2, 3));
  validate_plan(plan);
  // Dispatch and combine forward, their mirrors backward: 2 layers × 3 micro-batches × 4; each
  // sends the rank's 256 tokens × top-2 copies of 512 bf16 elements.
  const Collectives a2a = collectives(plan, 0, "ep", CollectiveKind::all_to_all);
  EXPECT_EQ(a2a.count, 2u * 3 * 4);
  EXPECT_DOUBLE_EQ(a2a.bytes, 24 * 256.0 * 2 * 512 * 2);
  for (const auto& op : plan.ranks[0].ops) {
    if (op.kind == OpKind::collective && op.collective == CollectiveKind::all_to_all) {
      EXPECT_EQ(op.stream, Stream::ep_comm);
    }
  }
  // Expert-parallel groups: consecutive data-parallel indices; expert data-parallel groups: the
  // same index in each block.
  EXPECT_EQ(group_of(plan, 0, "ep"), (std::vector<int>{0, 1}));
  EXPECT_EQ(group_of(plan, 3, "ep"), (std::vector<int>{2, 3}));
  EXPECT_EQ(group_of(plan, 0, "edp"), (std::vector<int>{0, 2}));
  EXPECT_EQ(group_of(plan, 3, "edp"), (std::vector<int>{1, 3}));
  EXPECT_EQ(group_of(plan, 0, "dp"), (std::vector<int>{0, 1, 2, 3}));
}

TEST(MoePlan, ExpertsWaitForTheDispatchAndTheCombineForTheExperts) {
  const Plan plan = build_plan(moe_job(1, 2, 2, 1));
  const auto& ops = plan.ranks[0].ops;
  auto index_of = [&](const std::string& label) {
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (plan.labels[ops[i].label] == label)
        return i;
    }
    ADD_FAILURE() << label;
    return ops.size();
  };
  const std::size_t router = index_of("L0 moe router");
  const std::size_t dispatch = index_of("L0 moe dispatch all-to-all");
  const std::size_t experts = index_of("L0 moe experts");
  const std::size_t combine = index_of("L0 moe combine all-to-all");
  const std::size_t unpermute = index_of("L0 moe combine");
  ASSERT_LT(unpermute, ops.size());
  auto deps_of = [&](std::size_t op) {
    return std::vector<std::size_t>(ops[op].deps.begin(), ops[op].deps.end());
  };
  EXPECT_EQ(deps_of(dispatch), std::vector<std::size_t>{router});
  EXPECT_EQ(deps_of(experts), std::vector<std::size_t>{dispatch});
  EXPECT_EQ(deps_of(combine), std::vector<std::size_t>{experts});
  EXPECT_EQ(deps_of(unpermute), std::vector<std::size_t>{combine});
  // Backward: the combine's gradient goes back to the experts first.
  EXPECT_LT(index_of("L0 moe combine backward all-to-all"),
            index_of("L0 moe dispatch backward all-to-all"));
}

TEST(MoePlan, ExpertGradientsReduceOverRanksHoldingTheSameExperts) {
  const Plan plan = build_plan(moe_job(1, 4, 2, 2));
  // Each rank holds 2 of the 4 experts in each of the 2 layers: fp32 gradients reduced over the
  // 2 ranks that hold the same experts; everything else over all 4 data-parallel ranks.
  const Collectives experts = collectives(plan, 0, "edp", CollectiveKind::all_reduce);
  const Collectives dense = collectives(plan, 0, "dp", CollectiveKind::all_reduce);
  EXPECT_DOUBLE_EQ(experts.bytes, 2 * 2 * expert_weights * 4);
  EXPECT_DOUBLE_EQ(dense.bytes, dense_params * 4);
}

TEST(MoePlan, ExpertWeightsAreShardedByExpertParallelismAndZeroOverTheirReplicas) {
  const double expert_params = 2 * 2 * expert_weights;  // 2 layers × 2 local experts
  for (int zero = 0; zero <= 2; ++zero) {
    auto job = moe_job(1, 4, 2, 1);
    job.parallelism.zero = zero;
    const Plan plan = build_plan(job);
    validate_plan(plan);
    const StaticMemory& m = plan.ranks[0].static_memory;
    // Dense state sharded over the 4 data-parallel ranks, expert state over the 2 with the same
    // experts: Adam's 12 bytes from stage 1, fp32 gradients from stage 2.
    EXPECT_DOUBLE_EQ(m.weights_bytes, (dense_params + expert_params) * 2) << zero;
    EXPECT_DOUBLE_EQ(m.gradients_bytes, zero >= 2 ? dense_params * 4 / 4 + expert_params * 4 / 2
                                                  : (dense_params + expert_params) * 4)
        << zero;
    EXPECT_DOUBLE_EQ(m.optimizer_bytes, zero >= 1 ? dense_params * 12 / 4 + expert_params * 12 / 2
                                                  : (dense_params + expert_params) * 12)
        << zero;
    if (zero >= 1) {
      // Gradients reduce-scattered and the stepped weights gathered back, each part over its
      // own replicas.
      EXPECT_DOUBLE_EQ(collectives(plan, 0, "edp", CollectiveKind::reduce_scatter).bytes,
                       expert_params * 4);
      EXPECT_DOUBLE_EQ(collectives(plan, 0, "edp", CollectiveKind::all_gather).bytes,
                       expert_params * 2);
      EXPECT_DOUBLE_EQ(collectives(plan, 0, "dp", CollectiveKind::all_gather).bytes,
                       dense_params * 2);
    }
  }
}

TEST(MoePlan, TensorParallelExpertsGatherTheDispatchedTokens) {
  auto job = moe_job(2, 2, 2, 1);
  job.model.moe.shared_experts = 1;
  const Plan plan = build_plan(job);
  validate_plan(plan);
  // Per MoE layer and pass: attention, experts and shared experts each have an all-gather and a
  // reduce-scatter, and the attention's backward all-gathers its input again (sequence
  // parallelism); plus the embedding's reduce-scatter and the output's input gradient.
  const auto gathers = collectives(plan, 0, "tp", CollectiveKind::all_gather);
  const auto scatters = collectives(plan, 0, "tp", CollectiveKind::reduce_scatter);
  EXPECT_EQ(gathers.count + scatters.count, 2u * 2 * 6 + 2 + 2);
  // Each rank routes its 128-token half of the sequence: 256 copies of 512 elements go out.
  const Collectives a2a = collectives(plan, 0, "ep", CollectiveKind::all_to_all);
  EXPECT_DOUBLE_EQ(a2a.bytes / static_cast<double>(a2a.count), 128 * 2 * 512 * 2.0);
  // The ep group joins the ranks of the same tensor-parallel index: rank = tp + 2·dp.
  EXPECT_EQ(group_of(plan, 1, "ep"), (std::vector<int>{1, 3}));
  // After the all-gather the two local experts compute 256·2·2/4 = 256 copies each.
  double expert_gather = 0;
  for (const auto& op : plan.ranks[0].ops) {
    if (plan.labels[op.label] == "L0 moe experts tp all-gather")
      expert_gather = op.bytes;
  }
  EXPECT_DOUBLE_EQ(expert_gather, 2 * 256.0 * 512 * 2);
}

TEST(MoePlan, InvalidExpertLayoutsAreRefused) {
  EXPECT_THROW(build_plan(moe_job(1, 6, 4, 1)), std::invalid_argument);  // ep ∤ dp
  auto dense = moe_job(1, 4, 2, 1);
  dense.model.moe = MoeConfig{};
  EXPECT_THROW(build_plan(dense), std::invalid_argument);  // ep > 1 without experts
  auto zero3 = moe_job(1, 4, 2, 1);
  zero3.parallelism.zero = 3;
  EXPECT_THROW(build_plan(zero3), std::invalid_argument);
  auto no_sp = moe_job(2, 2, 2, 1);
  no_sp.parallelism.sequence_parallel = false;
  EXPECT_THROW(build_plan(no_sp), std::invalid_argument);
  EXPECT_THROW(build_plan(moe_job(1, 8, 8, 1)), std::invalid_argument);  // 4 experts over 8
}

TEST(MoePlan, SimulatesWithDirectAllToAlls) {
  ClusterSpec cluster;
  cluster.device = *Catalog::builtin().find("H100-SXM5-80GB");
  cluster.nodes = 1;
  cluster.devices_per_node = 4;
  const Topology topology(cluster);
  const RooflineModel compute(cluster.device);
  const Plan sharded = build_plan(moe_job(1, 4, 2, 2));
  const SimulationResult result = simulate(sharded, topology, compute, {});
  // Two expert-parallel groups, each running 2 layers × 2 micro-batches × 4 all-to-alls.
  EXPECT_EQ(result.collectives_by_algorithm.at("direct"), 2u * 2 * 2 * 4);
  EXPECT_GT(result.step_time_s, 0);
  // Without expert parallelism the same step runs no all-to-all at all.
  const SimulationResult replicated =
      simulate(build_plan(moe_job(1, 4, 1, 2)), topology, compute, {});
  EXPECT_EQ(replicated.collectives_by_algorithm.count("direct"), 0u);
}

TEST(MoePlan, OneExpertParallelBlockStandsForTheOthers) {
  // 32 H100 on a 2:1 oversubscribed fat-tree; pp 2, dp 16 in blocks of ep 4: the plan lists the
  // first block, which stands for 4, and the expert gradients' groups span all of them.
  const Scenario scenario = parse_scenario(R"(name: moe-symmetry
cluster:
  device: H100-SXM5-80GB
  nodes: 4
  devices_per_node: 8
  network: {link_bandwidth_gbps: 400, switch_radix: 8, oversubscription: 2.0}
model: {preset: mixtral-8x7b, layers: 4, seq_len: 1024}
training: {global_batch: 32, micro_batch: 1}
parallelism: {tp: 1, pp: 2, ep: 4}
)",
                                           "moe.yaml", Catalog::builtin());
  auto predict_with = [&](RankScope ranks) {
    const PreparedRun run = prepare_run(scenario, Catalog::builtin(), {ranks, NetworkModel::flows});
    validate_plan(run.plan);
    return predict(scenario, run);
  };
  const Prediction one = predict_with(RankScope::one_replica);
  const Prediction all = predict_with(RankScope::all_ranks);
  EXPECT_EQ(one.replicas_simulated_as_one, 4);
  EXPECT_EQ(all.replicas_simulated_as_one, 1);
  EXPECT_NEAR(one.step_time_s, all.step_time_s, 0.01 * all.step_time_s);
  EXPECT_DOUBLE_EQ(one.memory.peak_bytes, all.memory.peak_bytes);
  const PreparedRun listed = prepare_run(scenario, Catalog::builtin());
  EXPECT_EQ(listed.plan.replicas.rank_stride, 4);
  for (const Group& g : listed.plan.groups) {
    if (g.name == "edp") {
      EXPECT_EQ(g.ranks.size(), 4u);  // one rank of each block
    }
  }
}

}  // namespace
}  // namespace scaleplan
