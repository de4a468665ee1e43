// Expert parallelism in the plan builder: the all-to-alls of each MoE layer, the groups they run
// on, the gradients of routed experts reduced over the ranks that hold the same experts, and
// expert weights sharded by ep in memory. Sizes are worked out by hand from the small model below.
#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "hardware/io/catalog.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulator.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/plan_quantities.hpp"
#include "tests/support/plans.hpp"
#include "tests/support/prediction_values.hpp"

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
  const Plan plan = test::unshared(build_plan(moe_job(1, 4, 2, 3)));
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
  const Plan plan = test::unshared(build_plan(moe_job(1, 2, 2, 1)));
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
  const Plan plan = test::unshared(build_plan(moe_job(1, 4, 2, 2)));
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
    const Plan plan = test::unshared(build_plan(job));
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
  const Plan plan = test::unshared(build_plan(job));
  validate_plan(plan);
  // Per MoE layer and pass: attention, experts and shared experts each have an all-gather and a
  // reduce-scatter, and the backward of the attention and of the shared experts all-gathers
  // their input again (sequence parallelism; the experts keep the copies gathered whole); plus
  // the embedding's reduce-scatter and the output's input gradient.
  const auto gathers = collectives(plan, 0, "tp", CollectiveKind::all_gather);
  const auto scatters = collectives(plan, 0, "tp", CollectiveKind::reduce_scatter);
  EXPECT_EQ(gathers.count + scatters.count, 2u * 2 * 6 + 2 * 2 + 2);
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
  // The shared experts' FC1 input, the whole 256-token sequence, gathered again beside their
  // backward, and waited for by the reduce-scatter after it, as for the dense FFN.
  const auto& ops = plan.ranks[0].ops;
  bool regathered = false;
  for (std::uint32_t i = 0; i < ops.size(); ++i) {
    if (plan.labels[ops[i].label] != "L0 moe shared experts backward input all-gather")
      continue;
    regathered = true;
    EXPECT_DOUBLE_EQ(ops[i].bytes, 256.0 * 512 * 2);
    EXPECT_EQ(plan.labels[ops[i + 1].label], "L0 moe shared experts backward");
    EXPECT_EQ(std::count(ops[i + 1].deps.begin(), ops[i + 1].deps.end(), i), 0);
    EXPECT_EQ(ops[i + 2].collective, CollectiveKind::reduce_scatter);
    EXPECT_EQ(std::count(ops[i + 2].deps.begin(), ops[i + 2].deps.end(), i), 1);
  }
  EXPECT_TRUE(regathered);
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

// One node of 4 H100.
SimulationResult simulate_on_one_node(const Plan& plan) {
  ClusterSpec cluster;
  cluster.device = *Catalog::builtin().find("H100-SXM5-80GB");
  cluster.nodes = 1;
  cluster.devices_per_node = 4;
  const Topology topology(cluster);
  const RooflineModel compute(cluster.device);
  return simulate(plan, topology, compute, {});
}

TEST(MoePlan, SimulatesWithDirectAllToAlls) {
  const SimulationResult result = simulate_on_one_node(build_plan(moe_job(1, 4, 2, 2)));
  // Two expert-parallel groups, each running 2 layers × 2 micro-batches × 4 all-to-alls.
  EXPECT_EQ(result.collectives_by_algorithm.at("direct"), 2u * 2 * 2 * 4);
  EXPECT_GT(result.step_time_s, 0);
  // Without expert parallelism the same step runs no all-to-all at all.
  const SimulationResult replicated = simulate_on_one_node(build_plan(moe_job(1, 4, 1, 2)));
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

// Two stages of one MoE layer each (with a shared expert), 4 micro-batches, on one node of 4
// H100s: dp 2 in one expert-parallel group of 2.
TrainingJob pipelined_moe_job(PipelineSchedule schedule) {
  auto job = moe_job(1, 2, 2, 4);
  job.model.moe.shared_experts = 1;
  job.parallelism.pp = 2;
  job.parallelism.schedule = schedule;
  return job;
}

double compute_flops(const Plan& plan, const RankProgram& rank) {
  double flops = 0;
  for (const Op& op : rank.ops) {
    if (op.kind != OpKind::compute)
      continue;
    for (const Kernel& k : plan.blocks[op.block].kernels)
      flops += k.flops;
  }
  return flops;
}

TEST(MoePlan, MultiTokenPredictionRunsAnMoeLayerAndTheHeadAgainOnTheLastStage) {
  // pp 2 (one layer a stage), dp 2 = ep 2, two micro-batches, one prediction module.
  TrainingJob plain = moe_job(1, 2, 2, 2);
  plain.parallelism.pp = 2;
  TrainingJob job = plain;
  job.model.mtp_layers = 1;
  const Plan plan = test::unshared(build_plan(job));
  validate_plan(plan);
  const int last = 2;  // rank of stage 1, dp 0
  auto count = [&](int rank, const std::string& label) {
    return std::count_if(plan.ranks[rank].ops.begin(), plan.ranks[rank].ops.end(),
                         [&](const Op& op) { return plan.labels[op.label] == label; });
  };
  // The module's layer, an MoE layer with its all-to-alls, runs once a micro-batch on the last
  // stage and nowhere else.
  EXPECT_EQ(count(last, "MTP1 attention forward"), 2);
  EXPECT_EQ(count(0, "MTP1 attention forward"), 0);
  EXPECT_EQ(collectives(plan, last, "ep", CollectiveKind::all_to_all).count,
            2 * collectives(plan, 0, "ep", CollectiveKind::all_to_all).count);
  // Its embedding lookup keeps a copy of the (untied) word embedding on the last stage, kept in
  // step with the first stage's by an all-reduce of its gradient, which the plain model has none
  // of.
  EXPECT_EQ(
      collectives(test::unshared(build_plan(plain)), 0, "embedding", CollectiveKind::all_reduce)
          .count,
      0u);
  const Collectives shared = collectives(plan, 0, "embedding", CollectiveKind::all_reduce);
  EXPECT_EQ(shared.count, 1u);
  EXPECT_DOUBLE_EQ(shared.bytes, 1000.0 * 512 * gradient_reduction_bytes(job));
  EXPECT_EQ(collectives(plan, last, "embedding", CollectiveKind::all_reduce).count, 1u);
  // The last stage holds the module: an MoE layer (two of the four experts), eh_proj 2·512·512,
  // three norms of 512 and the embedding copy 1000·512.
  const ParameterSplit added = {
      stage_parameters(job, 1).dense - stage_parameters(plain, 1).dense,
      stage_parameters(job, 1).expert - stage_parameters(plain, 1).expert};
  EXPECT_DOUBLE_EQ(added.dense, dense_per_layer + 2 * 512.0 * 512 + 3 * 512 + 1000.0 * 512);
  EXPECT_DOUBLE_EQ(added.expert, 2 * expert_weights);
  EXPECT_DOUBLE_EQ(stage_parameters(job, 0).total(), stage_parameters(plain, 0).total());
  // The step grows by what the last stage adds.
  const ClusterSpec cluster = test::a100_cluster(1);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const auto compute = make_compute_model(cluster.device);
  EXPECT_GT(predict({cluster, job, *compute, network}).step_time_s,
            predict({cluster, plain, *compute, network}).step_time_s);
}

TEST(MoePlan, ZeroBubbleRunsTheExpertsWeightGradientsInTheWeightGradientPass) {
  const TrainingJob job = pipelined_moe_job(PipelineSchedule::zero_bubble_h1);
  const Plan plan = test::unshared(build_plan(job));
  validate_plan(plan);
  for (const RankProgram& rank : plan.ranks) {
    const int layer = coordinates_of(rank.rank, job.parallelism).pp;
    const std::string l = "L" + std::to_string(layer) + " ";
    auto index_of = [&](const std::string& label, int mb) {
      for (std::size_t i = 0; i < rank.ops.size(); ++i) {
        if (plan.labels[rank.ops[i].label] == l + label && rank.ops[i].microbatch == mb)
          return i;
      }
      ADD_FAILURE() << l << label << " mb " << mb;
      return rank.ops.size();
    };
    for (const Op& op : rank.ops) {
      EXPECT_FALSE(plan.labels[op.label].ends_with("experts backward") ||
                   plan.labels[op.label].ends_with("router backward"))
          << plan.labels[op.label];
    }
    for (int mb = 0; mb < 4; ++mb) {
      // The input gradient keeps the all-to-alls on its chain; the attention's input gradient,
      // the end of the stage's B pass, follows them.
      const std::size_t experts_b = index_of("moe experts input gradient", mb);
      const std::size_t dispatch_b = index_of("moe dispatch backward all-to-all", mb);
      const std::size_t router_b = index_of("moe router input gradient", mb);
      const std::size_t attention_b = index_of("attention input gradient", mb);
      EXPECT_LT(index_of("moe combine backward all-to-all", mb), experts_b);
      EXPECT_LT(experts_b, dispatch_b);
      EXPECT_LT(dispatch_b, router_b);
      EXPECT_LT(router_b, attention_b);
      // The weight gradients come after the whole B pass, in the W pass: shared experts, experts
      // and router, then the attention's.
      const std::size_t shared_w = index_of("moe shared experts weight gradient", mb);
      EXPECT_LT(attention_b, shared_w);
      EXPECT_EQ(index_of("moe experts weight gradient", mb), shared_w + 1);
      EXPECT_EQ(index_of("moe router weight gradient", mb), shared_w + 2);
      EXPECT_EQ(index_of("attention weight gradient", mb), shared_w + 3);
    }
    // Stage 1 runs W(x) after F(x+1): its weight gradients are not right after their B.
    if (layer == 1) {
      EXPECT_LT(index_of("moe combine", 1), index_of("moe experts weight gradient", 0));
    }
  }
}

TEST(MoePlan, ZeroBubbleSplitsTheMoeBackwardWithoutChangingItsWork) {
  // Every GEMM's backward is its dgrad in B and its wgrad in W: the same kernels as 1F1B's.
  const Plan zb = test::unshared(build_plan(pipelined_moe_job(PipelineSchedule::zero_bubble_h1)));
  const Plan one_f = test::unshared(build_plan(pipelined_moe_job(PipelineSchedule::one_f_one_b)));
  ASSERT_EQ(zb.ranks.size(), one_f.ranks.size());
  for (std::size_t r = 0; r < zb.ranks.size(); ++r) {
    EXPECT_GT(compute_flops(zb, zb.ranks[r]), 0);
    EXPECT_NEAR(compute_flops(zb, zb.ranks[r]), compute_flops(one_f, one_f.ranks[r]),
                1e-12 * compute_flops(one_f, one_f.ranks[r]));
  }
  auto block_flops = [&](const std::string& name) {
    for (const ComputeBlock& block : zb.blocks) {
      if (block.name == name) {
        double flops = 0;
        for (const Kernel& k : block.kernels)
          flops += k.flops;
        return flops;
      }
    }
    ADD_FAILURE() << name;
    return 0.0;
  };
  // The experts' FC1 (256 slots × 2048 × 512) and FC2 (256 × 512 × 1024), 2 local experts: each
  // backward GEMM costs its forward's 2·m·n·k, once in each part.
  const double expert_gemms = 2 * 2 * (256.0 * 2048 * 512 + 256.0 * 512 * 1024);
  EXPECT_DOUBLE_EQ(block_flops("moe experts backward weight gradient"), expert_gemms);
  EXPECT_DOUBLE_EQ(block_flops("moe experts backward input gradient"), expert_gemms);
  EXPECT_DOUBLE_EQ(block_flops("moe router backward weight gradient"), 2 * 256.0 * 4 * 512);
}

TEST(MoePlan, ZeroBubbleKeepsOnlyWhatTheWeightGradientsReadUntilTheyRun) {
  // What each MoE block's input gradient leaves for its weight gradient (tp 1, 256 tokens,
  // 16-bit): router input 256·512 and router output gradient 256·4 elements; the experts'
  // gathered copies 512·512, FC2 input 2·256·1024 and output gradients 2·256·(2048 + 512); the
  // shared expert's FC2 input 256·1024 and output gradients 256·(2048 + 512) (its FC1 input is
  // the router's).
  const double router = (256.0 * 512 + 256 * 4) * 2;
  const double experts = (512.0 * 512 + 2 * 256 * 1024 + 2 * 256 * (2048 + 512)) * 2;
  const double shared = (256.0 * 1024 + 256 * (2048 + 512)) * 2;
  const TrainingJob job = pipelined_moe_job(PipelineSchedule::zero_bubble_h1);
  const LayerWork layer = transformer_layer(job.model, 1, {}, job.training.dtype);
  const double waiting = layer.attention.weight_gradient_inputs_bytes +
                         layer.attention.weight_gradient_operands_bytes + router + experts + shared;
  // Stage 1 runs W(x) after F(x+1): it holds one micro-batch's waiting weight-gradient operands
  // on top of 1F1B's peak. Stage 0 runs each W right after its B, but inside B the experts keep
  // more than they free: the combine's backward frees the expert outputs (512·512), then the
  // shared expert's input gradient frees its activations and keeps their FC2 input and output
  // gradients (net: its output gradient, 256·512) and the experts' input gradient likewise keeps
  // their output gradient (512·512); the router, which frees the normed input, comes last.
  const double stage0_rise = 256.0 * 512 * 2;
  const SimulationResult zb = simulate_on_one_node(build_plan(job));
  const SimulationResult one_f =
      simulate_on_one_node(build_plan(pipelined_moe_job(PipelineSchedule::one_f_one_b)));
  ASSERT_EQ(zb.ranks.size(), 4u);
  for (std::size_t r = 0; r < zb.ranks.size(); ++r) {
    const bool stage0 = coordinates_of(static_cast<int>(r), job.parallelism).pp == 0;
    EXPECT_NEAR(zb.ranks[r].peak_activation_bytes,
                one_f.ranks[r].peak_activation_bytes + (stage0 ? stage0_rise : waiting), 1.0)
        << "rank " << r;
  }
}

TEST(MoePlan, ZeroBubbleIsFasterThan1F1BWhenThePipelineIdles) {
  const SimulationResult zb =
      simulate_on_one_node(build_plan(pipelined_moe_job(PipelineSchedule::zero_bubble_h1)));
  const SimulationResult one_f =
      simulate_on_one_node(build_plan(pipelined_moe_job(PipelineSchedule::one_f_one_b)));
  EXPECT_LT(zb.step_time_s, one_f.step_time_s);
  for (std::size_t r = 0; r < zb.ranks.size(); ++r)
    EXPECT_LT(zb.ranks[r].idle_s, one_f.ranks[r].idle_s) << "rank " << r;
}

// A scenario's prediction and the plan it simulated.
std::pair<Prediction, Plan> predict_with_plan(const std::string& text) {
  const Scenario s = parse_scenario(text, "s.yaml", Catalog::builtin());
  const PreparedRun run = prepare_run(s, Catalog::builtin(), {});
  return {predict(s, run), run.plan};
}

TEST(MoePlan, MlaUpProjectionRecomputeTradesTheQueriesKeysAndValuesForTwoGemms) {
  // DeepSeek-V3's first four layers (three dense, one MoE) on one H100 node, no pipeline.
  const std::string base = R"(name: mla
cluster: {device: H100-SXM5-80GB, nodes: 1, devices_per_node: 8}
model: {preset: deepseek-v3, layers: 4}
training: {global_batch: 8, micro_batch: 1, dtype: bf16}
parallelism: {tp: 2, ep: 4, sequence_parallel: true, recompute: selective)";
  const auto [core, core_plan] = predict_with_plan(base + "}\n");
  const auto [up, up_plan] = predict_with_plan(base + ", recompute_modules: [mla_up_proj]}\n");
  // The recompute op before each layer's attention backward runs q_up and kv_up again.
  const auto recomputed = [](const Plan& plan) {
    std::vector<std::string> names;
    for (const auto& op : plan.ranks[0].ops) {
      if (op.kind == OpKind::compute &&
          plan.labels[op.label].find("recompute attention core") != std::string::npos) {
        for (const Kernel& k : plan.blocks[op.block].kernels)
          names.push_back(k.name);
        break;
      }
    }
    return names;
  };
  EXPECT_TRUE(recomputed(core_plan).empty());
  EXPECT_EQ(recomputed(up_plan), (std::vector<std::string>{"q_up", "kv_up"}));
  // Each layer of the micro-batch in flight keeps its latents, not its Q, K and V: 4096 tokens
  // of the rank's 64 heads (128 over tp 2), Q and K 192 wide, V 128, in bf16: at least one
  // layer's worth less at the peak.
  const double per_layer = 4096.0 * 2 * 64 * (192 + 192 + 128);
  EXPECT_LT(up.memory.activations_bytes, core.memory.activations_bytes - per_layer);
  EXPECT_GT(up.step_time_s, core.step_time_s);
}

TEST(MoePlan, MoeActivationRecomputeKeepsLessAndRunsTheActivationAgain) {
  const std::string base = R"(name: act
cluster: {device: H100-SXM5-80GB, nodes: 1, devices_per_node: 8}
model: {preset: mixtral-8x7b, layers: 4, seq_len: 4096}
training: {global_batch: 16, micro_batch: 1, dtype: bf16}
parallelism: {tp: 1, pp: 2, ep: 4, recompute: selective)";
  const auto [core, core_plan] = predict_with_plan(base + "}\n");
  const auto [act, act_plan] =
      predict_with_plan(base + ", recompute_modules: [core_attn, moe_act]}\n");
  const auto recomputes = [](const Plan& plan) {
    int count = 0;
    for (const auto& op : plan.ranks[0].ops) {
      if (op.kind == OpKind::compute &&
          plan.labels[op.label].find("recompute moe experts activation") != std::string::npos)
        ++count;
    }
    return count;
  };
  EXPECT_EQ(recomputes(core_plan), 0);
  // Rank 0 holds 2 MoE layers; each of its 4 micro-batches (16 sequences over dp 4) recomputes
  // each once.
  EXPECT_EQ(recomputes(act_plan), 2 * 4);
  // The rank's 2 experts compute 4096 · 2 token copies a layer: at the peak at least one layer's
  // FC2 input less (8192 copies of 14336 in bf16).
  EXPECT_LT(act.memory.activations_bytes, core.memory.activations_bytes - 8192.0 * 14336 * 2);
  EXPECT_GT(act.step_time_s, core.step_time_s);
}

}  // namespace
}  // namespace scaleplan
