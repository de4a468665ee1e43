// Clusters whose ranks differ: node groups of different devices, slowed and jittered devices.
// The scenario keys and their errors, the network and compute each rank gets, the rank that
// bounds the step, pipeline splits that follow the devices' speeds, and the jitter's draws.
#include <cmath>

#include <gtest/gtest.h>

#include "hardware/topology.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/op_jitter.hpp"
#include "tests/support/scenario_text.hpp"

namespace scaleplan {
namespace {

using test::replace;
const std::string& mixed = test::mixed_resnet50_dp;

// The same cluster section with one device everywhere.
std::string uniform(const std::string& device) {
  return replace(replace(mixed,
                         "  node_groups:\n"
                         "    - {name: h100, device: H100-SXM5-80GB, nodes: 1}\n"
                         "    - {name: a100, device: A100-SXM4-80GB, nodes: 1}\n",
                         "  device: " + device + "\n  nodes: 2\n"),
                 "name: mixed", "name: uniform");
}

Prediction predict_text(const std::string& text) {
  const Catalog& catalog = Catalog::builtin();
  const Scenario s = parse_scenario(text, "s.yaml", catalog);
  return predict(s, prepare_run(s, catalog));
}

// Seconds of compute of rank 0's program on `device`: its compute ops' blocks, timed by the
// device's roofline, as the simulator times them (rounded up to picoseconds).
double compute_s_on(const TrainingJob& job, const DeviceSpec& device) {
  const Plan plan = build_plan(job, RankScope::all_ranks);
  const RooflineModel roofline(device);
  double s = 0;
  for (const Op& op : plan.ops_of(0)) {
    if (op.kind == OpKind::compute)
      s += to_seconds(to_sim_time(block_time_s(roofline, plan.blocks[op.block])));
  }
  return s;
}

TEST(NodeGroups, ReadAsConsecutiveNodesOfTheirDevices) {
  const Scenario s = parse_scenario(mixed, "s.yaml", Catalog::builtin());
  ASSERT_EQ(s.cluster.node_groups.size(), 2u);
  EXPECT_EQ(s.cluster.nodes, 2);
  EXPECT_EQ(s.cluster.device.name, "H100-SXM5-80GB");  // the first group's
  EXPECT_EQ(s.cluster.device_at(7).name, "H100-SXM5-80GB");
  EXPECT_EQ(s.cluster.device_at(8).name, "A100-SXM4-80GB");
  EXPECT_TRUE(s.cluster.mixes_devices());
  EXPECT_TRUE(s.cluster.ranks_differ());
  // One group, or groups of one device, are a uniform cluster.
  const Scenario same =
      parse_scenario(replace(mixed, "device: A100-SXM4-80GB", "device: H100-SXM5-80GB"), "s.yaml",
                     Catalog::builtin());
  EXPECT_FALSE(same.cluster.ranks_differ());
}

TEST(NodeGroups, ErrorsNameTheirKeys) {
  EXPECT_SCENARIO_ERROR(replace(mixed, "  devices_per_node: 8\n",
                                "  devices_per_node: 8\n  device: A100-SXM4-80GB\n"),
                        "cluster.device: node_groups give each group's device and nodes");
  EXPECT_SCENARIO_ERROR(replace(mixed, "device: A100-SXM4-80GB", "device: A100-SXM9"),
                        "cluster.node_groups[1].device:");
  EXPECT_SCENARIO_ERROR(
      replace(mixed, "nodes: 1}\n    - {name: a100", "nodes: 0}\n    - {name: a100"),
      "cluster.node_groups[0].nodes: 0 is out of range");
  EXPECT_SCENARIO_ERROR(replace(mixed, "name: a100", "name: h100"),
                        "cluster.node_groups[1].name: two node groups are named 'h100'");
  EXPECT_SCENARIO_ERROR(
      replace(mixed, "nodes: 1}\n  devices", "nodes: 1, devices_per_node: 0}\n  devices"),
      "cluster.node_groups[1].devices_per_node: 0 is out of range");
  EXPECT_SCENARIO_ERROR(replace(mixed, "name: a100, ", "name: a100, nics: 2, "),
                        "cluster.node_groups[1].nics");
  EXPECT_SCENARIO_ERROR(replace(mixed,
                                "    - {name: h100, device: H100-SXM5-80GB, nodes: 1}\n"
                                "    - {name: a100, device: A100-SXM4-80GB, nodes: 1}\n",
                                "    []\n"),
                        "cluster.node_groups: lists no group");
  // The second group's device must run the training dtype: A100s have no fp8.
  EXPECT_SCENARIO_ERROR(replace(mixed, "dtype: bf16", "dtype: fp8"),
                        "cluster.node_groups[1].device: A100-SXM4-80GB has no fp8 peak");
  // The plan search takes mixed clusters (tests/sim/stage_split_test.cpp), not layer graphs.
  EXPECT_SCENARIO_ERROR(mixed + "search: {tp: [1]}\n", "covers transformers only");
}

TEST(NodeGroups, TheSlowestDeviceAndTheLeastMemoryAreEachGroups) {
  const Catalog& catalog = Catalog::builtin();
  const Scenario s = parse_scenario(
      test::replace(test::mixed_resnet50_dp, "device: A100-SXM4-80GB", "device: A100-SXM4-40GB"),
      "s.yaml", catalog);
  // The A100 is the slower in bf16 (312 against 989 TFLOP/s) and has the least memory, 40 GB.
  EXPECT_EQ(s.cluster.slowest_device(Dtype::bf16).name, "A100-SXM4-40GB");
  EXPECT_EQ(s.cluster.smallest_memory_bytes(), 40.0 * 1024 * 1024 * 1024);
  // One device kind: that device.
  const Scenario one = parse_scenario(
      test::replace(test::mixed_resnet50_dp, "device: A100-SXM4-80GB", "device: H100-SXM5-80GB"),
      "s.yaml", catalog);
  EXPECT_EQ(one.cluster.slowest_device(Dtype::bf16).name, "H100-SXM5-80GB");
  EXPECT_EQ(one.cluster.smallest_memory_bytes(), 80.0 * 1024 * 1024 * 1024);
}

TEST(NodeGroups, EachNodeIsBuiltWithItsDevicesLinks) {
  const Scenario s = parse_scenario(mixed, "s.yaml", Catalog::builtin());
  const Topology topology(s.cluster);
  const double h100 = s.cluster.node_groups[0].device.intra_node_link_bandwidth_bytes_per_s.value;
  const double a100 = s.cluster.node_groups[1].device.intra_node_link_bandwidth_bytes_per_s.value;
  ASSERT_NE(h100, a100);
  // Inside each node, a transfer runs at its own node's device link.
  EXPECT_DOUBLE_EQ(topology.endpoint_path(0, 1).bandwidth_bytes_per_s, h100);
  EXPECT_DOUBLE_EQ(topology.endpoint_path(8, 9).bandwidth_bytes_per_s, a100);
  EXPECT_DOUBLE_EQ(topology.endpoint_path(8, 9).latency_s, topology.route_latency_s(8, 9));
}

TEST(NodeGroups, ADataParallelStepIsBoundByTheSlowerGroup) {
  const Scenario s = parse_scenario(mixed, "s.yaml", Catalog::builtin());
  const Prediction p = predict_text(mixed);
  const Prediction h100 = predict_text(uniform("H100-SXM5-80GB"));
  const Prediction a100 = predict_text(uniform("A100-SXM4-80GB"));
  // Every rank simulated, and the report says why.
  EXPECT_EQ(p.replicas_simulated_as_one, 1);
  EXPECT_NE(p.ranks_differ.find("node groups of H100-SXM5-80GB + A100-SXM4-80GB"),
            std::string::npos);
  ASSERT_TRUE(p.step_bound.has_value());
  const StepBound& b = *p.step_bound;
  EXPECT_EQ(b.device_name, "A100-SXM4-80GB");
  EXPECT_EQ(b.group, "a100");
  EXPECT_GE(b.rank, 8);
  // Each rank computes the same blocks; the bound rank's compute is their time on the A100.
  const double on_h100 = compute_s_on(s.job, s.cluster.node_groups[0].device);
  const double on_a100 = compute_s_on(s.job, s.cluster.node_groups[1].device);
  ASSERT_GT(on_a100, on_h100);
  EXPECT_NEAR(p.breakdown.compute_s, on_a100, 1e-9);
  // Under data parallelism every rank waits for the slowest at the gradient all-reduce: the
  // mixed step is the A100 step, up to what the A100 ranks expose of communication (their
  // partners' links differ), and longer than the H100 step by the ratio of compute times up to
  // the H100 step's exposed communication.
  const double exposed = a100.breakdown.exposed_comm_s + p.breakdown.exposed_comm_s;
  EXPECT_NEAR(p.step_time_s, a100.step_time_s, exposed + 1e-6);
  const double ratio = on_a100 / on_h100;
  EXPECT_NEAR(p.step_time_s / h100.step_time_s, ratio,
              ratio * (h100.breakdown.exposed_comm_s + exposed) / h100.step_time_s);
  // The H100 ranks wait for it about the difference of the compute times.
  ASSERT_EQ(b.groups.size(), 2u);
  EXPECT_EQ(b.groups[0].ranks, 8);
  EXPECT_EQ(b.groups[1].ranks, 8);
  EXPECT_NEAR(b.groups[0].mean_wait_s - b.groups[1].mean_wait_s, on_a100 - on_h100,
              exposed + h100.breakdown.exposed_comm_s);
  EXPECT_GT(b.mean_wait_s, 0);
  EXPECT_GE(b.max_wait_s, b.mean_wait_s);
  // The reports name it.
  const std::string text = format_text(p);
  EXPECT_NE(text.find("bound by rank " + std::to_string(b.rank) + " (device " +
                      std::to_string(b.device) + ", A100-SXM4-80GB, group a100)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("the one-replica shortcut is off"), std::string::npos);
  const std::string json = format_json(p);
  EXPECT_NE(json.find("\"step_bound\""), std::string::npos);
  EXPECT_NE(json.find("\"ranks_differ\""), std::string::npos);
  // A uniform cluster's reports have neither.
  EXPECT_FALSE(h100.step_bound.has_value());
  EXPECT_EQ(format_json(h100).find("\"step_bound\""), std::string::npos);
}

TEST(NodeGroups, MemoryIsCountedAgainstEachRanksDevice) {
  // An A100 of 40 GB beside H100s of 80 GB: the rank reported is the one closest to its
  // capacity, on the smaller device.
  const Prediction p =
      predict_text(replace(mixed, "device: A100-SXM4-80GB", "device: A100-SXM4-40GB"));
  EXPECT_GE(p.memory.rank, 8);
  EXPECT_DOUBLE_EQ(p.memory.capacity_bytes,
                   Catalog::builtin().find("A100-SXM4-40GB")->memory_bytes.value);
}

// GPT-style layers over two pipeline stages, one per node.
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
  global_batch: 64
  micro_batch: 1
  dtype: bf16
parallelism:
  tp: 8
  pp: 2
  dp: 1
  balance: time
)";

TEST(NodeGroups, BalanceByTimeGivesTheSlowerGroupsStageFewerLayers) {
  const Scenario s = parse_scenario(pipeline, "s.yaml", Catalog::builtin());
  const auto& split = s.job.parallelism.stage_layers;
  ASSERT_EQ(split.size(), 2u);
  EXPECT_EQ(split[0] + split[1], 24);
  EXPECT_GT(split[0], split[1]);  // stage 0 on the H100s
  // Balanced by the devices' speeds, the step is shorter than the even split's.
  const Prediction balanced = predict_text(pipeline);
  const Prediction even = predict_text(replace(pipeline, "  balance: time\n", ""));
  EXPECT_LT(balanced.step_time_s, even.step_time_s);
  // A slowed node counts too: on one device kind, the slowed stage gets fewer layers.
  const Scenario slowed =
      parse_scenario(replace(replace(pipeline, "device: A100-SXM4-80GB", "device: H100-SXM5-80GB"),
                             "  devices_per_node: 8\n",
                             "  devices_per_node: 8\n  slow_devices: [{node: 0, factor: 2}]\n"),
                     "s.yaml", Catalog::builtin());
  ASSERT_EQ(slowed.job.parallelism.stage_layers.size(), 2u);
  EXPECT_LT(slowed.job.parallelism.stage_layers[0], slowed.job.parallelism.stage_layers[1]);
}

TEST(BalanceLayersByStage, OneDeviceKindIsTheUniformSplit) {
  const std::vector<double> costs = {3, 1, 1, 1, 1, 1, 1, 4};
  EXPECT_EQ(balance_layers_by_stage({{costs}, {costs}, {costs}}), balance_layers(costs, 3));
  // A stage twice as slow gets half the work: 6 layers of cost 1, the second stage 2x slower.
  const std::vector<double> ones(6, 1.0), twos(6, 2.0);
  EXPECT_EQ(balance_layers_by_stage({{ones}, {twos}}), (std::vector<std::int64_t>{4, 2}));
  // A stage is as slow as its slowest device.
  EXPECT_EQ(balance_layers_by_stage({{ones}, {ones, twos}}), (std::vector<std::int64_t>{4, 2}));
}

TEST(Jitter, ScenarioErrorsNameTheirKeys) {
  const auto with = [&](const std::string& list) {
    return replace(mixed, "  devices_per_node: 8\n",
                   "  devices_per_node: 8\n  slow_devices: " + list + "\n");
  };
  EXPECT_SCENARIO_ERROR(with("[{device: 1, jitter: {distribution: lognormal, sigma: 0.1}}]"),
                        "cluster.slow_devices[0].jitter.seed: required key");
  EXPECT_SCENARIO_ERROR(with("[{device: 1, jitter: {distribution: gamma, sigma: 0.1, seed: 1}}]"),
                        "cluster.slow_devices[0].jitter.distribution:");
  EXPECT_SCENARIO_ERROR(with("[{device: 1, jitter: {distribution: normal, sigma: 0.5, seed: 1}}]"),
                        "cluster.slow_devices[0].jitter.sigma:");
  EXPECT_SCENARIO_ERROR(with("[{device: 1, jitter: {sigma: 0, seed: 1}}]"),
                        "cluster.slow_devices[0].jitter.sigma:");
  EXPECT_SCENARIO_ERROR(with("[{device: 1}]"), "cluster.slow_devices[0].factor: required key");
  EXPECT_SCENARIO_ERROR(
      with("[{group: b200, factor: 2}]"),
      "cluster.slow_devices[0].group: no node group is named 'b200'; use one of h100, "
      "a100");
  EXPECT_SCENARIO_ERROR(with("[{group: a100, factor: 2}, {device: 9, factor: 2}]"),
                        "device 9 is slowed twice");
  // A whole group, slowed and jittered.
  const Scenario s =
      parse_scenario(with("[{group: a100, factor: 1.1, jitter: {sigma: 0.05, seed: 3}}]"), "s.yaml",
                     Catalog::builtin());
  ASSERT_EQ(s.cluster.slowdowns.size(), 8u);
  EXPECT_EQ(s.cluster.slowdowns.front().device, 8);
  ASSERT_TRUE(s.cluster.slowdowns.front().jitter.has_value());
  EXPECT_EQ(s.cluster.slowdowns.front().jitter->distribution, JitterDistribution::lognormal);
  EXPECT_EQ(s.cluster.slowdowns.front().jitter->seed, 3u);
}

TEST(Jitter, DrawsHaveTheDistributionsMean) {
  // The mean of n independent draws lies within 4 standard errors (sd / sqrt(n)) of the
  // distribution's mean but once in 15,000 runs; the draws are fixed by the seed, so the test
  // gives the same answer every time.
  constexpr int n = 200'000;
  for (const OpJitter jitter : {OpJitter{JitterDistribution::lognormal, 0.2, 7},
                                OpJitter{JitterDistribution::lognormal, 0.8, 8},
                                OpJitter{JitterDistribution::normal, 0.1, 9}}) {
    double sum = 0, sum_squares = 0;
    for (int k = 0; k < n; ++k) {
      const double x = op_jitter_factor(jitter, 5, static_cast<std::uint64_t>(k));
      ASSERT_GE(x, 0);
      sum += x;
      sum_squares += x * x;
    }
    const double mean = sum / n;
    const double sd = op_jitter_stddev(jitter);
    EXPECT_NEAR(mean, op_jitter_mean(jitter), 4 * sd / std::sqrt(n))
        << to_string(jitter.distribution);
    EXPECT_NEAR(std::sqrt(sum_squares / n - mean * mean), sd, 0.02 * sd);
  }
  // Devices and seeds draw apart.
  const OpJitter a{JitterDistribution::lognormal, 0.1, 1}, b{JitterDistribution::lognormal, 0.1, 2};
  EXPECT_NE(op_jitter_factor(a, 0, 0), op_jitter_factor(b, 0, 0));
  EXPECT_NE(op_jitter_factor(a, 0, 0), op_jitter_factor(a, 1, 0));
  EXPECT_EQ(op_jitter_factor(a, 3, 17), op_jitter_factor(a, 3, 17));
}

// ResNet-50 on one device with its every compute op jittered.
std::string jittered(const std::string& distribution, double sigma, int seed) {
  return "name: j\ncluster:\n  device: H100-SXM5-80GB\n  nodes: 1\n  devices_per_node: 1\n"
         "  slow_devices: [{device: 0, jitter: {distribution: " +
         distribution + ", sigma: " + std::to_string(sigma) + ", seed: " + std::to_string(seed) +
         "}}]\nmodel:\n  preset: resnet-50\ntraining:\n  global_batch: 256\n  micro_batch: 64\n"
         "  dtype: bf16\n";
}

TEST(Jitter, SameSeedIsBitIdenticalAndTheMeanSlowdownIsTheDistributions) {
  const Prediction first = predict_text(jittered("lognormal", 0.3, 11));
  const Prediction again = predict_text(jittered("lognormal", 0.3, 11));
  const Prediction other = predict_text(jittered("lognormal", 0.3, 12));
  EXPECT_EQ(first.step_time_s, again.step_time_s);  // bit for bit
  EXPECT_EQ(format_json(first), format_json(again));
  EXPECT_NE(first.step_time_s, other.step_time_s);
  ASSERT_TRUE(first.step_bound.has_value());
  EXPECT_NE(first.step_bound->slowed.find("jitter lognormal sigma 0.3 seed 11"), std::string::npos);

  // The compute time is Σ d_k·X_k over the rank's compute ops (d_k its block's time): its mean is
  // mean(X)·Σ d_k, its standard deviation sd(X)·sqrt(Σ d_k²). Within 4 of those of the mean.
  const Scenario s = parse_scenario(jittered("lognormal", 0.3, 11), "s.yaml", Catalog::builtin());
  const Plan plan = build_plan(s.job, RankScope::all_ranks);
  const RooflineModel roofline(s.cluster.device);
  double sum = 0, sum_squares = 0;
  int ops = 0;
  for (const Op& op : plan.ops_of(0)) {
    if (op.kind != OpKind::compute)
      continue;
    const double d = to_seconds(to_sim_time(block_time_s(roofline, plan.blocks[op.block])));
    sum += d;
    sum_squares += d * d;
    ++ops;
  }
  ASSERT_GT(ops, 100);
  for (const auto& [distribution, sigma] :
       {std::pair<std::string, double>{"lognormal", 0.3}, {"normal", 0.2}}) {
    const OpJitter jitter{
        distribution == "normal" ? JitterDistribution::normal : JitterDistribution::lognormal,
        sigma, 11};
    for (int seed : {11, 12, 13}) {
      const Prediction p = predict_text(jittered(distribution, sigma, seed));
      EXPECT_NEAR(p.breakdown.compute_s, op_jitter_mean(jitter) * sum,
                  4 * op_jitter_stddev(jitter) * std::sqrt(sum_squares) + 1e-9)
          << distribution << " seed " << seed;
    }
  }
}

}  // namespace
}  // namespace scaleplan
