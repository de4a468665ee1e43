// Layer-graph jobs end to end: the scenario forms and their errors, the plans they build (the
// tables' all-to-all, the data-parallel gradient buckets, pipeline splits) and predictions.
#include <algorithm>

#include <gtest/gtest.h>

#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/strategy_check.hpp"
#include "tests/support/scenario_text.hpp"

namespace scaleplan {
namespace {

const std::string resnet = R"(name: r
cluster:
  device: A100-SXM4-80GB
  nodes: 1
  devices_per_node: 8
model:
  preset: resnet-50
training:
  global_batch: 512
  micro_batch: 64
  dtype: bf16
parallelism:
  dp: 8
)";

Prediction predict_text(const std::string& text) {
  const Catalog& catalog = Catalog::builtin();
  const Scenario s = parse_scenario(text, "s.yaml", catalog);
  return predict(s, prepare_run(s, catalog));
}

TEST(GraphScenario, PresetReadsAsALayerGraph) {
  const Scenario s = parse_scenario(resnet, "s.yaml", Catalog::builtin());
  ASSERT_TRUE(s.job.graph != nullptr);
  EXPECT_EQ(s.job.graph->name, "resnet-50");
  EXPECT_EQ(s.job.model.layers, static_cast<std::int64_t>(s.job.graph->layers.size()));
  EXPECT_EQ(s.job.model.seq_len, 1);
}

TEST(GraphScenario, ErrorsNameTheirKeys) {
  const std::string layers = test::replace(resnet, "  preset: resnet-50\n",
                                           "  layers:\n"
                                           "    - {kind: gemm, n: 10, k: 10}\n"
                                           "    - {kind: matmul, n: 10, k: 10}\n"
                                           "    - {kind: conv, in_channels: 3, out_channels: 8, "
                                           "kernel: 9, height: 4}\n"
                                           "    - {kind: gemm, n: 10}\n"
                                           "    - {kind: norm, elements: 10, chanels: 4}\n");
  EXPECT_SCENARIO_ERROR(layers,
                        "s.yaml:9:14: model.layers[1].kind: 'matmul' is not one of gemm, conv");
  EXPECT_SCENARIO_ERROR(layers, "model.layers[2].kernel: a 9×9 kernel leaves no output");
  EXPECT_SCENARIO_ERROR(layers, "model.layers[3].k:");
  EXPECT_SCENARIO_ERROR(layers, "model.layers[4].chanels:");
  EXPECT_SCENARIO_ERROR(test::replace(resnet, "preset: resnet-50", "preset: resnet-51"),
                        "model.preset:");
  EXPECT_SCENARIO_ERROR(test::replace(resnet, "  preset: resnet-50\n", "  resnet: {depth: 42}\n"),
                        "model.resnet.depth: 42 is not a ResNet depth");
  EXPECT_SCENARIO_ERROR(
      test::replace(resnet, "  preset: resnet-50\n", "  vit: {layers: 2, hidden: 100, heads: 3}\n"),
      "model.vit.heads: 3 heads do not divide hidden (100)");
  EXPECT_SCENARIO_ERROR(test::replace(resnet, "  preset: resnet-50\n",
                                      "  dlrm: {table_rows: [10, 20, 30], pooling: [1, 2]}\n"),
                        "model.dlrm.pooling: 2 poolings for 3 tables");
  EXPECT_SCENARIO_ERROR(test::replace(resnet, "  dp: 8\n", "  dp: 4\n  tp: 2\n"),
                        "parallelism.tp: parallelism.tp is not modelled for layer-graph models");
  EXPECT_SCENARIO_ERROR(
      test::replace(resnet, "  dp: 8\n", "  dp: 4\n  pp: 2\n  stage_layers: [1, 2]\n"),
      "parallelism.stage_layers: the stages hold 3 layers but the model has");
  EXPECT_SCENARIO_ERROR(
      test::replace(resnet, "  dp: 8\n", "  dp: 4\n  pp: 2\n  stage_layers: [1, 2, 3]\n"),
      "parallelism.stage_layers: 3 counts for 2 pipeline stages");
  EXPECT_SCENARIO_ERROR(
      test::replace(resnet, "  dp: 8\n", "  dp: 4\n  pp: 2\n  pipeline_layout: \"Et|tL\"\n"),
      "parallelism.pipeline_layout: the layout places a decoder's embedding, layers and loss; "
      "this model's layers run whole: give stage_layers instead");
  EXPECT_SCENARIO_ERROR(resnet + "search:\n  tp: [1]\n", "model: the plan search");
}

TEST(GraphPlan, DlrmExchangesPooledVectorsByAllToAll) {
  // 8 ranks, 512 queries each per micro-batch: each all-to-all sends 512 · 26 tables · 128 ·
  // 2 bytes = 3,407,872 bytes per rank; one forward and one backward per micro-batch (2 each).
  const std::string dlrm = test::replace(
      test::replace(resnet, "preset: resnet-50", "preset: dlrm-dcnv2"),
      "  global_batch: 512\n  micro_batch: 64\n", "  global_batch: 8192\n  micro_batch: 512\n");
  const Scenario s = parse_scenario(dlrm, "s.yaml", Catalog::builtin());
  const Plan plan = build_plan(s.job, RankScope::one_replica);
  ASSERT_EQ(plan.ranks.size(), 8u);  // the exchange joins the replicas: every rank is listed
  int all_to_alls = 0;
  for (const Op& op : plan.ops_of(0)) {
    if (op.kind == OpKind::collective && op.collective == CollectiveKind::all_to_all) {
      ++all_to_alls;
      EXPECT_DOUBLE_EQ(op.bytes, 512.0 * 26 * 128 * 2);
      EXPECT_EQ(plan.groups[plan.group_of(0, op)].ranks.size(), 8u);
    }
  }
  EXPECT_EQ(all_to_alls, 2 * 2);
  // The tables' 26.1 B parameters are sharded: each rank holds an eighth of them in fp32 with
  // row-wise Adagrad's accumulators (4 bytes per 128-wide row).
  const double table_bytes = 204'184'588.0 * 128 / 8 * 4;
  EXPECT_GT(plan.ranks[0].static_memory.weights_bytes, table_bytes);
  EXPECT_LT(plan.ranks[0].static_memory.weights_bytes, table_bytes * 1.01);
  const Prediction p = predict_text(dlrm);
  EXPECT_GT(p.step_time_s, 0);
  EXPECT_NEAR(p.model_parameters / (204'184'588.0 * 128), 1.0, 0.01);
}

TEST(GraphPlan, ResnetReducesGradientsInBucketsDuringBackward) {
  // ResNet-50's 25.6 M parameters in fp32 gradients are 102 MB: 25 MB buckets make four or five
  // all-reduces, the first issued while backward still runs.
  const Scenario s =
      parse_scenario(resnet + "  grad_bucket_mb: 25\n", "s.yaml", Catalog::builtin());
  const Plan plan = build_plan(s.job, RankScope::one_replica);
  EXPECT_EQ(plan.replicas.count, 8);
  double reduced = 0;
  int reductions = 0;
  std::size_t first_reduction = 0, last_compute = 0;
  const auto& ops = plan.ops_of(0);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].kind == OpKind::collective && ops[i].collective == CollectiveKind::all_reduce) {
      reduced += ops[i].bytes;
      if (reductions++ == 0)
        first_reduction = i;
    }
    if (ops[i].kind == OpKind::compute && plan.labels[ops[i].label] != "optimizer step")
      last_compute = i;
  }
  EXPECT_NEAR(reduced / (25'557'032.0 * 4), 1.0, 1e-9);
  EXPECT_GE(reductions, 4);
  EXPECT_LT(first_reduction, last_compute);
  const Prediction p = predict_text(resnet);
  // 512 images a step: the throughput counts them as tokens.
  EXPECT_NEAR(p.tokens_per_s * p.step_time_s, 512, 1e-6);
  EXPECT_NEAR(p.model_flops_per_step / (3 * 2 * 4.1e9 * 512), 1.0, 0.02);
}

TEST(GraphPlan, BalancedSplitBeatsTheUniformOne) {
  // ViT-B/16 has 16 layers (patch embedding, positions, 12 encoder layers, norm, head): the
  // even split over 4 stages puts the cheap patch embedding, positions and two encoder layers on
  // the first stage and one encoder layer with the norm and head on the last; balancing by
  // time gives each stage three encoder layers.
  const std::string vit =
      test::replace(test::replace(resnet, "preset: resnet-50", "preset: vit-b/16"), "  dp: 8\n",
                    "  dp: 2\n  pp: 4\n");
  const Prediction uniform = predict_text(vit);
  const Scenario balanced_scenario =
      parse_scenario(vit + "  balance: time\n", "s.yaml", Catalog::builtin());
  EXPECT_EQ(balanced_scenario.job.parallelism.stage_layers,
            (std::vector<std::int64_t>{5, 3, 3, 5}));
  const Prediction balanced = predict_text(vit + "  balance: time\n");
  EXPECT_LT(balanced.step_time_s, uniform.step_time_s * 0.95);
  // An explicit split is taken as given.
  const Scenario explicit_split =
      parse_scenario(vit + "  stage_layers: [5, 3, 3, 5]\n", "s.yaml", Catalog::builtin());
  EXPECT_EQ(explicit_split.job.parallelism.stage_layers, (std::vector<std::int64_t>{5, 3, 3, 5}));
}

// GPT-3 1.3B's 24 layers on 2 stages of a DGX A100, dp 4.
const std::string gpt_1_3b_pp2 = R"(name: g
cluster:
  device: A100-SXM4-80GB
  nodes: 1
  devices_per_node: 8
model:
  preset: gpt3-1.3b
training:
  global_batch: 64
parallelism:
  pp: 2
  dp: 4
)";

TEST(GraphPlan, TransformerStageLayersMoveTheSplit) {
  // GPT-3 1.3B's 24 layers on 2 stages: 10 and 14 instead of 12 and 12 changes the plan and
  // the stage memory.
  const Scenario even = parse_scenario(gpt_1_3b_pp2, "s.yaml", Catalog::builtin());
  const Scenario split =
      parse_scenario(gpt_1_3b_pp2 + "  stage_layers: [10, 14]\n", "s.yaml", Catalog::builtin());
  EXPECT_LT(static_memory_of_stage(split.job, 0).weights_bytes,
            static_memory_of_stage(even.job, 0).weights_bytes);
  EXPECT_GT(static_memory_of_stage(split.job, 1).weights_bytes,
            static_memory_of_stage(even.job, 1).weights_bytes);
}

TEST(GraphPlan, InterleavedStageLayersGiveEachModelChunkItsCount) {
  // GPT-3 1.3B's 24 layers in pp 2 x 2 virtual stages as Megatron-Core's layout
  // "E|t*12|t*12|L" would place them: the first chunk holds the embedding alone, the last the
  // output head alone, stage 0 runs chunks 0 and 2 (layers 12-23), stage 1 chunks 1 and 3.
  const std::string gpt = gpt_1_3b_pp2 + "  schedule: interleaved-1f1b\n  virtual_stages: 2\n";
  const Scenario split =
      parse_scenario(gpt + "  stage_layers: [0, 12, 12, 0]\n", "s.yaml", Catalog::builtin());
  const Plan plan = build_plan(split.job);
  const auto runs = [&](int rank, const std::string& label) {
    const auto& ops = plan.ranks[static_cast<std::size_t>(rank)].ops;
    return std::any_of(ops.begin(), ops.end(),
                       [&](const Op& op) { return plan.labels[op.label] == label; });
  };
  const int stage1 = 4;  // tp 1, dp 4: ranks 4-7 are stage 1
  EXPECT_TRUE(runs(0, "embedding forward"));
  EXPECT_FALSE(runs(0, "L0 attention forward"));
  EXPECT_TRUE(runs(0, "L12 attention forward"));
  EXPECT_TRUE(runs(0, "L23 attention forward"));
  EXPECT_TRUE(runs(stage1, "L0 attention forward"));
  EXPECT_TRUE(runs(stage1, "output forward"));
  EXPECT_FALSE(runs(stage1, "L12 attention forward"));
  EXPECT_EQ(test::scenario_errors_of(gpt + "  stage_layers: [1, 11, 12, 0]\n"), "");
  EXPECT_SCENARIO_ERROR(gpt + "  stage_layers: [12, 12]\n",
                        "parallelism.stage_layers: 2 counts for 4 model chunks; give one count per "
                        "chunk in model order (pp·virtual_stages: 4; chunk c runs on stage c mod "
                        "pp)");
  EXPECT_SCENARIO_ERROR(gpt + "  stage_layers: [12, 0, 12, 0]\n",
                        "parallelism.stage_layers: 0 layers on chunk 1; every one but the first "
                        "and last (which may hold the embedding and the output head alone) needs "
                        "at least one");
  EXPECT_SCENARIO_ERROR(gpt + "  balance: time\n",
                        "parallelism.balance: balance: time splits the layers over pipeline "
                        "stages, not over the interleaved schedule's model chunks");
}

TEST(Stragglers, ASlowDeviceSlowsTheDataParallelStepByItsOwnFactor) {
  // ResNet-50 on 8 data-parallel GPUs is compute-bound: every rank waits for the slowest at the
  // gradient all-reduce, so one device 1.5 times slower makes the step about 1.5 times longer,
  // not 1 + 0.5/8 (the average device's slowdown).
  const std::string slowed = test::replace(resnet, "  devices_per_node: 8\n",
                                           "  devices_per_node: 8\n"
                                           "  slow_devices: [{device: 3, factor: 1.5}]\n");
  const Prediction even = predict_text(resnet);
  const Prediction straggler = predict_text(slowed);
  const double ratio = straggler.step_time_s / even.step_time_s;
  EXPECT_GT(ratio, 1.4);
  EXPECT_LT(ratio, 1.55);
  EXPECT_EQ(straggler.replicas_simulated_as_one, 1);  // every rank simulated
  ASSERT_TRUE(straggler.step_bound.has_value());
  EXPECT_EQ(straggler.step_bound->rank, 3);
  EXPECT_EQ(straggler.step_bound->device, 3);
  EXPECT_EQ(straggler.step_bound->slowed, "x1.5");
  EXPECT_EQ(straggler.step_bound->other_ranks, 7);
  // A whole node slowed by 1.2.
  const Prediction node = predict_text(test::replace(resnet, "  devices_per_node: 8\n",
                                                     "  devices_per_node: 8\n"
                                                     "  slow_devices: [{node: 0, factor: 1.2}]\n"));
  EXPECT_NEAR(node.step_time_s / even.step_time_s, 1.2, 0.05);
}

TEST(Stragglers, ErrorsNameTheirKeys) {
  const auto with = [&](const std::string& list) {
    return test::replace(resnet, "  devices_per_node: 8\n",
                         "  devices_per_node: 8\n  slow_devices: " + list + "\n");
  };
  EXPECT_SCENARIO_ERROR(with("[{device: 8, factor: 2}]"),
                        "cluster.slow_devices[0].device: 8 is out of range");
  EXPECT_SCENARIO_ERROR(with("[{device: 1, factor: 0.5}]"), "cluster.slow_devices[0].factor:");
  EXPECT_SCENARIO_ERROR(with("[{device: 1, node: 0, factor: 2}]"), "name one device");
  EXPECT_SCENARIO_ERROR(with("[{device: 1, factor: 2}, {node: 0, factor: 2}]"),
                        "device 1 is slowed twice");
}

}  // namespace
}  // namespace scaleplan
