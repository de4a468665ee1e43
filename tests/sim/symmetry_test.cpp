// Data-parallel symmetry (one replica simulated, its copies still on the network) against
// simulating every rank, and the alpha-beta fast path against the flow model.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <string>

#include "hardware/io/catalog.hpp"
#include "sim/collective/collective.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/simulator.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "tests/hardware/topology_fixtures.hpp"
#include "tests/support/plans.hpp"

namespace scaleplan {
namespace {

// 256 A100 in 32 nodes on a fat-tree whose leaves are 2:1 oversubscribed, so the replicas'
// gradient all-reduces and pipeline messages contend for the uplinks.
constexpr const char* cluster_256 = R"(
name: symmetry-256
cluster:
  device: A100-SXM4-80GB
  nodes: 32
  devices_per_node: 8
  node_fabric: nvswitch
  network:
    topology: fat-tree
    link_bandwidth_gbps: 200
    nics_per_node: 8
    switch_radix: 32
    oversubscription: 2.0
model:
  preset: gpt3-13b
training:
  global_batch: 64
  micro_batch: 1
  dtype: bf16
)";

Prediction run(const std::string& parallelism, RankScope ranks, NetworkModel network) {
  const Scenario scenario =
      parse_scenario(std::string(cluster_256) + parallelism, "symmetry.yaml", Catalog::builtin());
  const PreparedRun prepared = prepare_run(scenario, Catalog::builtin(), {ranks, network});
  return predict(scenario, prepared);
}

void expect_symmetry_agrees(const std::string& parallelism, NetworkModel network) {
  const Prediction one = run(parallelism, RankScope::one_replica, network);
  const Prediction all = run(parallelism, RankScope::all_ranks, network);
  EXPECT_GT(one.replicas_simulated_as_one, 1);
  EXPECT_EQ(all.replicas_simulated_as_one, 1);
  EXPECT_LT(one.events * 4, all.events) << "one replica should cost a fraction of all ranks";
  EXPECT_NEAR(one.step_time_s, all.step_time_s, 0.01 * all.step_time_s) << parallelism;
  EXPECT_DOUBLE_EQ(one.memory.peak_bytes, all.memory.peak_bytes);
}

TEST(Symmetry, OneReplicaAgreesWithAllRanksOn256Gpus) {
  expect_symmetry_agrees(R"(
parallelism: {tp: 8, pp: 4, dp: 8, schedule: 1f1b}
)",
                         NetworkModel::flows);
}

TEST(Symmetry, AgreesWithZeroThreeAndTheFastPath) {
  // Every layer's weights gathered and gradients scattered over data-parallel groups that span
  // all replicas.
  expect_symmetry_agrees(R"(
parallelism: {tp: 4, pp: 2, dp: 32, zero: 3}
)",
                         NetworkModel::flows);
  expect_symmetry_agrees(R"(
parallelism: {tp: 8, pp: 4, dp: 8, schedule: 1f1b}
)",
                         NetworkModel::alpha_beta);
}

TEST(Symmetry, ReplicaCopiesContendOnTheFabric) {
  // Pipeline messages cross the oversubscribed leaves; with their copies left out, one replica
  // would have the uplinks to itself and finish sooner than the cluster does.
  const std::string parallelism = R"(
parallelism: {tp: 8, pp: 4, dp: 8, schedule: 1f1b}
)";
  const Prediction one = run(parallelism, RankScope::one_replica, NetworkModel::flows);
  EXPECT_GT(one.flows, one.flow_transactions) << "copies add flows beside the listed ones";
}

using test::one_collective;

double step_time_s(const Plan& plan, const Topology& topology, NetworkModel model,
                   std::optional<CollectiveAlgorithm> algorithm = std::nullopt) {
  const RooflineModel compute(test::test_device());
  SimulationOptions options;
  options.collective_step_latency_s = 3e-6;
  options.collective_algorithm = algorithm;
  options.network_model = model;
  return simulate(plan, topology, compute, options).step_time_s;
}

TEST(AlphaBeta, AgreesWithTheFlowModelWithinFivePercentUncontended) {
  // 4 nodes of 8 on a nonblocking fat-tree: rings, trees, the node hierarchy and all-to-all,
  // inside a node and across nodes, from latency-bound to bandwidth-bound sizes.
  const Topology topology(test::cluster(4, 8, 8));
  std::vector<int> node, across, one_per_node;
  for (int d = 0; d < 8; ++d)
    node.push_back(d);
  for (int d = 0; d < 32; ++d)
    across.push_back(d);
  for (int n = 0; n < 4; ++n)
    one_per_node.push_back(8 * n + 3);
  struct Case {
    const std::vector<int>* devices;
    CollectiveKind kind;
    std::optional<CollectiveAlgorithm> algorithm;
  };
  const std::vector<Case> cases = {
      {&node, CollectiveKind::all_reduce, CollectiveAlgorithm::ring},
      {&node, CollectiveKind::all_gather, std::nullopt},
      {&node, CollectiveKind::all_to_all, std::nullopt},
      {&across, CollectiveKind::all_reduce, CollectiveAlgorithm::ring},
      {&across, CollectiveKind::all_reduce, CollectiveAlgorithm::double_binary_tree},
      {&across, CollectiveKind::all_reduce, CollectiveAlgorithm::hierarchical},
      {&across, CollectiveKind::reduce_scatter, std::nullopt},
      {&one_per_node, CollectiveKind::all_reduce, std::nullopt},
      {&one_per_node, CollectiveKind::all_to_all, std::nullopt},
  };
  for (const Case& c : cases) {
    for (double bytes : {64e3, 16e6, 1e9}) {
      const Plan plan = one_collective(*c.devices, c.kind, bytes);
      const double flows = step_time_s(plan, topology, NetworkModel::flows, c.algorithm);
      const double fast = step_time_s(plan, topology, NetworkModel::alpha_beta, c.algorithm);
      EXPECT_NEAR(fast, flows, 0.05 * flows)
          << to_string(c.kind) << " on " << c.devices->size() << " devices, " << bytes << " bytes, "
          << (c.algorithm ? to_string(*c.algorithm) : "chosen");
    }
  }
}

TEST(AlphaBeta, SeesTheOversubscribedUplinksItsTransfersShare) {
  // All-to-alls whose transfers climb oversubscribed uplinks: the fast path prices each leaf's
  // and each pod's uplinks as one bundle, so it finds the bottleneck the flows do.
  const auto all_devices = [](int n) {
    std::vector<int> devices(static_cast<std::size_t>(n));
    std::iota(devices.begin(), devices.end(), 0);
    return devices;
  };
  // 4 nodes of 8 NICs under radix-8 leaves at 4:1 (6 NICs down, 2 links up each).
  ClusterSpec two_tiers = test::cluster(4, 8, 8, 8);
  two_tiers.network.oversubscription = {4.0};
  // 12 nodes of 2 under radix-6 switches: leaves 1:1 (3 NICs each), pods of 5 leaves whose
  // three aggregation switches have one core uplink each (5:1); three tiers.
  ClusterSpec three_tiers = test::cluster(12, 2, 2, 6);
  three_tiers.network.oversubscription = {1.0, 5.0};
  for (const ClusterSpec& spec : {two_tiers, three_tiers}) {
    const Topology topology(spec);
    const Plan plan =
        one_collective(all_devices(topology.device_count()), CollectiveKind::all_to_all, 1e9);
    const double flows = step_time_s(plan, topology, NetworkModel::flows);
    const double fast = step_time_s(plan, topology, NetworkModel::alpha_beta);
    // Within 3 %: PXN sends a node's blocks for a rail from one NIC, so fewer, larger flows
    // climb the uplinks, and their max-min shares on single links differ a little from the
    // bundle's.
    EXPECT_NEAR(fast, flows, 0.03 * flows) << topology.device_count() << " devices";
    // The uplinks are what limits it: without oversubscription it runs faster.
    ClusterSpec nonblocking = spec;
    nonblocking.network.oversubscription = {1.0};
    const Topology open(nonblocking);
    EXPECT_LT(step_time_s(plan, open, NetworkModel::flows), 0.8 * flows);
    EXPECT_LT(step_time_s(plan, open, NetworkModel::alpha_beta), 0.8 * fast);
  }
}

TEST(AlphaBeta, ConcurrentCollectivesShareTheirPorts) {
  // All-reduces of devices {0, 4} and {1, 5}: nodes 0 and 2, under different leaves (radix 5 at
  // 4:1: a leaf holds the 4 NICs of 2 nodes and has 1 uplink), so both cross leaf 0's one
  // uplink. The flows share it; on the fast path the two share the uplink bundle's port half and
  // half, and both end when it has carried both, as the flows do.
  ClusterSpec spec = test::cluster(4, 2, 2, 5);
  spec.network.oversubscription = {4.0};
  const Topology topology(spec);
  const auto rings = [](int count) {
    Plan plan;
    plan.ranks.resize(4);
    const std::vector<int> devices = {0, 1, 4, 5};
    for (int r = 0; r < 4; ++r) {
      plan.ranks[r].rank = r;
      plan.ranks[r].device = devices[r];
    }
    for (int ring = 0; ring < count; ++ring) {
      const std::vector<int> members = {ring, ring + 2};
      const std::uint32_t g = plan.add_group({"g" + std::to_string(ring), members, {}});
      for (int r : members) {
        Op op;
        op.kind = OpKind::collective;
        op.stream = Stream::dp_comm;
        op.collective = CollectiveKind::all_reduce;
        op.group = g;
        op.bytes = 1e9;
        op.label = plan.label("all-reduce");
        plan.ranks[r].ops.push_back(op);
      }
    }
    return plan;
  };
  const double flows = step_time_s(rings(2), topology, NetworkModel::flows);
  EXPECT_NEAR(step_time_s(rings(2), topology, NetworkModel::alpha_beta), flows, 0.01 * flows);
  // One alone takes about half as long: the uplink is what they contend for.
  EXPECT_LT(step_time_s(rings(1), topology, NetworkModel::alpha_beta), 0.6 * flows);
}

TEST(AlphaBeta, AgreesWithFlowsWhereReplicasContend) {
  // The 256-GPU cases, one replica simulated: data-parallel groups of every pipeline and tensor
  // rank run at once. On a nonblocking fat-tree only the endpoints limit them, and the two models
  // agree within 2 %. On the 2:1 fat-tree the rings' hops between nodes climb the leaves'
  // uplinks: the fast path prices each leaf's uplinks as one bundle, as ECMP spreading traffic
  // evenly would, while the flows' routes pick a spine by their source's index, which puts some
  // pairs of hops on one uplink (a spine link at 96 % beside others at half that on the ZeRO-3
  // case). So the flows come out slower there, by what those collisions cost, and never faster.
  for (const char* parallelism : {"parallelism: {tp: 8, pp: 4, dp: 8, schedule: 1f1b}\n",
                                  "parallelism: {tp: 4, pp: 2, dp: 32, zero: 3}\n"}) {
    const double flows = run(parallelism, RankScope::one_replica, NetworkModel::flows).step_time_s;
    const double fast =
        run(parallelism, RankScope::one_replica, NetworkModel::alpha_beta).step_time_s;
    EXPECT_LE(fast, flows * 1.02) << parallelism;
    std::string open = std::string(cluster_256);
    open.replace(open.find("oversubscription: 2.0"), 21, "oversubscription: 1.0");
    const auto run_open = [&](NetworkModel model) {
      const Scenario scenario =
          parse_scenario(open + parallelism, "symmetry.yaml", Catalog::builtin());
      return predict(scenario,
                     prepare_run(scenario, Catalog::builtin(), {RankScope::one_replica, model}))
          .step_time_s;
    };
    const double open_flows = run_open(NetworkModel::flows);
    EXPECT_NEAR(run_open(NetworkModel::alpha_beta), open_flows, 0.02 * open_flows) << parallelism;
  }
}

TEST(AlphaBeta, AutomaticTakesTheFastPathOverTheFlowBudget) {
  const Topology topology(test::cluster(4, 8, 8));
  std::vector<int> devices;
  for (int d = 0; d < 32; ++d)
    devices.push_back(d);
  const Plan plan = one_collective(devices, CollectiveKind::all_reduce, 1e8);
  const RooflineModel compute(test::test_device());
  SimulationOptions options;
  options.collective_step_latency_s = 3e-6;
  options.collective_algorithm = CollectiveAlgorithm::ring;
  const SimulationResult within = simulate(plan, topology, compute, options);
  EXPECT_EQ(within.flow_transactions, 1u);
  EXPECT_EQ(within.alpha_beta_transactions, 0u);
  // A ring all-reduce on 32 devices in 4 nodes of 8: one phase through the 2(n-1) steps, of 32
  // transfers inside the nodes (each member to the next, for all 8 channels) and 32 between them
  // (each channel from its member of a node to the same member of the next).
  EXPECT_EQ(within.flows_if_all_flows, 64u);
  options.flow_budget = 63;
  const SimulationResult over = simulate(plan, topology, compute, options);
  EXPECT_EQ(over.flow_transactions, 0u);
  EXPECT_EQ(over.alpha_beta_transactions, 1u);
  EXPECT_EQ(over.flows, 0u);
  EXPECT_NEAR(over.step_time_s, within.step_time_s, 0.05 * within.step_time_s);
}

}  // namespace
}  // namespace scaleplan

namespace scaleplan {
namespace {

TEST(ChunkLayers, UnevenSplitsGiveBackLayersAtTheEnds) {
  EXPECT_EQ(chunk_layers(96, 8), std::vector<std::int64_t>(8, 12));
  // Llama 3 405B: 126 layers on 16 stages, 7 on the first and last.
  std::vector<std::int64_t> llama(16, 8);
  llama.front() = llama.back() = 7;
  EXPECT_EQ(chunk_layers(126, 16), llama);
  EXPECT_EQ(chunk_layers(10, 4), (std::vector<std::int64_t>{2, 3, 3, 2}));
  EXPECT_EQ(chunk_layers(9, 4), (std::vector<std::int64_t>{2, 2, 3, 2}));
  // One or two chunks more than layers: the first (and last) chunk holds the embedding (the
  // output head) alone, as Llama 3 405B ran 126 layers in 16 x 8 chunks of one.
  EXPECT_EQ(chunk_layers(3, 4), (std::vector<std::int64_t>{0, 1, 1, 1}));
  std::vector<std::int64_t> llama_interleaved(128, 1);
  llama_interleaved.front() = llama_interleaved.back() = 0;
  EXPECT_EQ(chunk_layers(126, 128), llama_interleaved);
  EXPECT_THROW(chunk_layers(2, 5), std::invalid_argument);
  EXPECT_THROW(chunk_layers(0, 1), std::invalid_argument);
}

}  // namespace
}  // namespace scaleplan
