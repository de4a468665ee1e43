// Load balance (issue 19, points 3 and 4): the pipeline split proposed by simulating splits
// (propose_stage_split, `scaleplan balance`) and the data-parallel replicas of slower node groups
// given smaller micro-batches (training.micro_batch_by_group).
#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "sim/planner/plan_report.hpp"
#include "sim/planner/planner.hpp"
#include "sim/report/prediction.hpp"
#include "sim/report/stage_split.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/compute_model.hpp"
#include "tests/support/scenario_text.hpp"

namespace scaleplan {
namespace {

using test::replace;

StageSplitProposal propose_text(const std::string& text, int max_simulations = 40) {
  const Catalog& catalog = Catalog::builtin();
  const Scenario s = parse_scenario(text, "s.yaml", catalog);
  const ClusterNetwork network = prepare_network(s, catalog);
  const auto compute = make_compute_model(s.cluster.device);
  return propose_stage_split({s.cluster, s.job, *compute, network, run_settings(s)},
                             max_simulations);
}

Prediction predict_text(const std::string& text) {
  const Catalog& catalog = Catalog::builtin();
  const Scenario s = parse_scenario(text, "s.yaml", catalog);
  return predict(s, prepare_run(s, catalog));
}

// A small transformer whose embedding and output head (a 256k vocabulary) weigh as much as a few
// of its layers, on four pipeline stages of one node.
const std::string heavy_ends = R"(name: heavy-ends
cluster:
  device: H100-SXM5-80GB
  nodes: 1
  devices_per_node: 8
  network: {topology: fat-tree, link_bandwidth_gbps: 400}
model:
  preset: gpt3-1.3b
  vocab: 262144
  layers: 16
training:
  global_batch: 32
  micro_batch: 1
  dtype: bf16
parallelism:
  tp: 2
  pp: 4
  dp: 1
)";

TEST(StageSplit, TheBalancedSplitBeatsTheUniformOneWhenTheEndsCarryTheEmbeddingAndHead) {
  const StageSplitProposal p = propose_text(heavy_ends);
  // The uniform split is the even one; the head's stage is the slowest of it.
  EXPECT_EQ(p.uniform.stage_layers, (std::vector<std::int64_t>{4, 4, 4, 4}));
  ASSERT_EQ(p.uniform.stage_busy_s.size(), 4u);
  EXPECT_EQ(std::max_element(p.uniform.stage_busy_s.begin(), p.uniform.stage_busy_s.end()) -
                p.uniform.stage_busy_s.begin(),
            3);
  // The last stage gives layers away, and the step is shorter, simulated.
  EXPECT_LT(p.proposed.stage_layers.back(), 4);
  EXPECT_LT(p.proposed.step_time_s, p.uniform.step_time_s);
  EXPECT_LE(p.proposed.step_time_s, p.estimated.step_time_s);
  EXPECT_LT(p.proposed.imbalance, p.uniform.imbalance);
  EXPECT_TRUE(p.proposed.fits);
  std::int64_t layers = 0;
  for (const std::int64_t l : p.proposed.stage_layers)
    layers += l;
  EXPECT_EQ(layers, 16);
  // The proposal is what `run` gives with its stage_layers written.
  const Prediction written = predict_text(replace(
      heavy_ends, "  dp: 1\n", "  dp: 1\n  " + stage_layers_yaml(p.proposed.stage_layers) + "\n"));
  EXPECT_EQ(written.step_time_s, p.proposed.step_time_s);
  EXPECT_EQ(p.proposed_prediction.step_time_s, p.proposed.step_time_s);
  // Each stage's time is its busiest rank's busy time; the imbalance the slowest over the mean.
  double sum = 0, most = 0;
  for (std::size_t s = 0; s < 4; ++s) {
    EXPECT_EQ(p.proposed.stage_busy_s[s], written.stage_breakdown[s].busy_s());
    sum += p.proposed.stage_busy_s[s];
    most = std::max(most, p.proposed.stage_busy_s[s]);
  }
  EXPECT_DOUBLE_EQ(p.proposed.imbalance, most / (sum / 4) - 1);
}

TEST(StageSplit, ThePlannerRanksPipelinePlansWithTheBalancedSplitWhereItIsFaster) {
  const Catalog& catalog = Catalog::builtin();
  const Scenario s = parse_scenario(heavy_ends, "s.yaml", catalog, ScenarioUse::plan);
  const ClusterNetwork network = prepare_network(s, catalog);
  const auto compute = make_compute_model(s.cluster.device);
  SearchSpace space;
  space.tp = {2};
  space.pp = {4};
  space.cp = {1};
  space.micro_batch = {1};
  space.schedule = {PipelineSchedule::one_f_one_b};
  space.recompute = {Recompute::none};
  space.zero = {0};
  space.sequence_parallel = {false};
  SearchOptions options;
  options.threads = 1;
  const PlanSearch search = search_plans(space, s.cluster, network, *compute, s.job, options);
  ASSERT_EQ(search.ranked.size(), 1u);
  const RankedPlan& plan = search.ranked.front();
  // The even split, simulated as `run` simulates it, is slower than the split the plan keeps.
  const std::vector<std::int64_t>& split = plan.job.parallelism.stage_layers;
  ASSERT_EQ(split.size(), 4u);
  EXPECT_NE(split, (std::vector<std::int64_t>{4, 4, 4, 4}));
  TrainingJob even = plan.job;
  even.parallelism.stage_layers.clear();
  const Prediction uniform = predict({s.cluster, even, *compute, network, run_settings(s)});
  ASSERT_TRUE(plan.simulated.has_value());
  EXPECT_LT(plan.simulated->step_time_s, uniform.step_time_s);
  EXPECT_EQ(plan.step_time_s, plan.simulated->step_time_s);
  // The report says so.
  const std::string text =
      format_plan_text(search, {s.name, "8 x " + s.cluster.device.name, s.cluster.device.name, 8,
                                s.cluster.device.memory_bytes.value, s.job, PlanObjective::time});
  EXPECT_NE(text.find("pipeline splits balanced by layer time"), std::string::npos) << text;
}

TEST(StageSplit, ThePlannerSearchesAMixedClusterSimulatingEveryRank) {
  const std::string mixed = R"(name: mixed
cluster:
  node_groups:
    - {name: h100, device: H100-SXM5-80GB, nodes: 1}
    - {name: a100, device: A100-SXM4-80GB, nodes: 1}
  devices_per_node: 8
  network: {topology: fat-tree, link_bandwidth_gbps: 400}
model:
  preset: gpt3-1.3b
training:
  global_batch: 16
  micro_batch: 1
  dtype: bf16
search:
  tp: [8]
  micro_batch: [1]
  recompute: [none]
  zero: [0]
  sequence_parallel: [false]
)";
  const Catalog& catalog = Catalog::builtin();
  const Scenario s = parse_scenario(mixed, "s.yaml", catalog, ScenarioUse::plan);
  ASSERT_TRUE(s.search.has_value());
  const ClusterNetwork network = prepare_network(s, catalog);
  // Candidates are estimated on the slower device, as `scaleplan plan` does.
  const DeviceSpec& slowest = s.cluster.slowest_device(Dtype::bf16);
  EXPECT_EQ(slowest.name, "A100-SXM4-80GB");
  const auto compute = make_compute_model(slowest);
  SearchOptions options;
  options.threads = 1;
  const PlanSearch search = search_plans(*s.search, s.cluster, network, *compute, s.job, options);
  ASSERT_FALSE(search.ranked.empty());
  for (const RankedPlan& plan : search.ranked) {
    ASSERT_TRUE(plan.simulated.has_value());
    // Every rank simulated, and the step is what `run` gives for the plan.
    EXPECT_TRUE(plan.simulated->step_bound.has_value());
    EXPECT_EQ(plan.simulated->step_time_s,
              predict({s.cluster, plan.job, *compute, network, run_settings(s)}).step_time_s);
    // A replica of dp 2 spans both groups, so the A100 half bounds the step: the estimate on
    // the A100 is near the simulated step (on the H100 it was less than half of it).
    if (plan.job.parallelism.pp == 1) {
      EXPECT_NEAR(plan.estimate.step_time_s, plan.simulated->step_time_s,
                  0.15 * plan.simulated->step_time_s);
    }
  }
  // A pipeline across the groups keeps the split that gives the A100 stage fewer layers.
  for (const RankedPlan& plan : search.ranked) {
    const auto& split = plan.job.parallelism.stage_layers;
    if (plan.job.parallelism.pp == 2 && !split.empty()) {
      EXPECT_GT(split[0], split[1]);
    }
  }
}

TEST(StageSplit, TheSearchStaysWithinItsBudgetAndIsDeterministic) {
  const StageSplitProposal a = propose_text(heavy_ends, 3);
  EXPECT_LE(a.simulations, 3);
  const StageSplitProposal b = propose_text(heavy_ends, 3);
  EXPECT_EQ(a.proposed.stage_layers, b.proposed.stage_layers);
  EXPECT_EQ(a.proposed.step_time_s, b.proposed.step_time_s);
}

TEST(StageSplit, RefusesOneStageAndInterleaving) {
  EXPECT_THROW(propose_text(replace(replace(heavy_ends, "pp: 4", "pp: 1"), "dp: 1", "dp: 4")),
               std::invalid_argument);
  EXPECT_THROW(
      propose_text(replace(heavy_ends, "  dp: 1\n",
                           "  dp: 1\n  schedule: interleaved-1f1b\n  virtual_stages: 2\n")),
      std::invalid_argument);
}

TEST(StageSplit, OnMixedGroupsTheSlowerGroupsStageGetsFewerLayers) {
  const std::string pipeline = R"(name: pipeline
cluster:
  node_groups:
    - {name: h100, device: H100-SXM5-80GB, nodes: 1}
    - {name: a100, device: A100-SXM4-80GB, nodes: 1}
  devices_per_node: 8
  network: {topology: fat-tree, link_bandwidth_gbps: 400}
model:
  preset: gpt3-1.3b
training:
  global_batch: 16
  micro_batch: 1
  dtype: bf16
parallelism:
  tp: 8
  pp: 2
  dp: 1
)";
  const StageSplitProposal p = propose_text(pipeline);
  ASSERT_EQ(p.proposed.stage_layers.size(), 2u);
  EXPECT_GT(p.proposed.stage_layers[0], p.proposed.stage_layers[1]);  // stage 0 on the H100s
  EXPECT_LT(p.proposed.step_time_s, p.uniform.step_time_s);
  EXPECT_LE(p.proposed.step_time_s, p.estimated.step_time_s);
}

// ResNet-50 data parallel over one H100 node and one A100 node: 16 replicas, one micro-batch
// each per step.
const std::string& mixed_dp = test::mixed_resnet50_dp;

// Seconds of compute of rank 0's program on `device` with micro-batch `mb`, as the simulator
// times it.
double compute_s_on(TrainingJob job, std::int64_t mb, const DeviceSpec& device) {
  job.training.micro_batch = mb;
  job.training.replica_micro_batch.clear();
  job.training.global_batch = mb * job.parallelism.dp;
  const Plan plan = build_plan(job, RankScope::one_replica);
  const RooflineModel roofline(device);
  double s = 0;
  for (const Op& op : plan.ops_of(0)) {
    if (op.kind == OpKind::compute)
      s += to_seconds(to_sim_time(block_time_s(roofline, plan.blocks[op.block])));
  }
  return s;
}

TEST(ReplicaMicroBatches, TheSlowerGroupsProportionalShareShortensTheStep) {
  const Catalog& catalog = Catalog::builtin();
  const Scenario s = parse_scenario(mixed_dp, "s.yaml", catalog);
  const DeviceSpec& h100 = s.cluster.node_groups[0].device;
  const DeviceSpec& a100 = s.cluster.node_groups[1].device;
  // Each replica's share of the 256 samples an H100 and an A100 replica take together, in
  // proportion to their speed at the equal share: the A100 takes 256·t_H / (t_H + t_A).
  const double t_h = compute_s_on(s.job, 128, h100);
  const double t_a = compute_s_on(s.job, 128, a100);
  ASSERT_GT(t_a, t_h);
  const auto a100_share = static_cast<std::int64_t>(std::lround(256 * t_h / (t_h + t_a)));
  const std::int64_t h100_share = 256 - a100_share;
  const std::string proportional =
      replace(replace(mixed_dp, "  micro_batch: 128\n",
                      "  micro_batch: " + std::to_string(h100_share) +
                          "\n  micro_batch_by_group: {a100: " + std::to_string(a100_share) + "}\n"),
              "name: mixed", "name: proportional");
  const Scenario ps = parse_scenario(proportional, "s.yaml", catalog);
  std::vector<std::int64_t> expected(8, h100_share);
  expected.resize(16, a100_share);
  EXPECT_EQ(ps.job.training.replica_micro_batch, expected);

  const Prediction equal = predict_text(mixed_dp);
  const Prediction shared = predict_text(proportional);
  EXPECT_EQ(shared.microbatches, 1);
  // The same samples per step; the step shorter.
  EXPECT_EQ(shared.tokens_per_s * shared.step_time_s, equal.tokens_per_s * equal.step_time_s);
  EXPECT_LT(shared.step_time_s, equal.step_time_s);
  // By what the compute says: the equal split waits for the A100's 128 samples, the
  // proportional one for the slower of the two shares; the gradient all-reduce is the same in
  // both (within 10 %: it overlaps backward differently).
  const double expected_ratio =
      std::max(compute_s_on(s.job, h100_share, h100), compute_s_on(s.job, a100_share, a100)) / t_a;
  EXPECT_NEAR(shared.step_time_s / equal.step_time_s, expected_ratio, 0.1 * expected_ratio);
  // The H100s wait less for the A100s: the groups' busy times are closer than with equal shares.
  ASSERT_TRUE(shared.step_bound.has_value() && equal.step_bound.has_value());
  ASSERT_EQ(shared.step_bound->groups.size(), 2u);
  const auto gap = [](const StepBound& b) {
    return std::abs(b.groups[0].mean_busy_s - b.groups[1].mean_busy_s);
  };
  EXPECT_LT(gap(*shared.step_bound), 0.5 * gap(*equal.step_bound));
}

TEST(ReplicaMicroBatches, ErrorsNameTheirKeys) {
  EXPECT_SCENARIO_ERROR(replace(mixed_dp, "  micro_batch: 128\n",
                                "  micro_batch: 128\n  micro_batch_by_group: {a10: 64}\n"),
                        "training.micro_batch_by_group.a10");
  EXPECT_SCENARIO_ERROR(replace(mixed_dp, "  micro_batch: 128\n",
                                "  micro_batch: 128\n  micro_batch_by_group: {a100: 0}\n"),
                        "training.micro_batch_by_group.a100: 0 is out of range");
  // 8·128 + 8·100 = 1824 does not divide 2048.
  EXPECT_SCENARIO_ERROR(
      replace(mixed_dp, "  micro_batch: 128\n",
              "  micro_batch: 128\n  micro_batch_by_group: {a100: 100}\n"),
      "training.micro_batch_by_group: the replicas' micro-batches add up to 1824, which "
      "does not divide global_batch (2048)");
  // Without node groups there is no group to name.
  EXPECT_SCENARIO_ERROR(
      replace(replace(mixed_dp,
                      "  node_groups:\n"
                      "    - {name: h100, device: H100-SXM5-80GB, nodes: 1}\n"
                      "    - {name: a100, device: A100-SXM4-80GB, nodes: 1}\n",
                      "  device: H100-SXM5-80GB\n  nodes: 2\n"),
              "  micro_batch: 128\n", "  micro_batch: 128\n  micro_batch_by_group: {a100: 64}\n"),
      "training.micro_batch_by_group: the cluster has no node_groups");
  // A replica whose pipeline crosses both groups runs one micro-batch size.
  EXPECT_SCENARIO_ERROR(
      replace(replace(mixed_dp, "  dp: 16\n", "  dp: 8\n  pp: 2\n"), "  micro_batch: 128\n",
              "  micro_batch: 128\n  micro_batch_by_group: {a100: 64}\n"),
      "training.micro_batch_by_group: data-parallel replica 0 runs on node groups h100 "
      "and a100");
}

}  // namespace
}  // namespace scaleplan
