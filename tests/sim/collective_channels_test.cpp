// Rings across nodes as NCCL opens them: a channel per member of a node, the hop between nodes on
// the channel's own rail (PXN), so that every NIC carries its share and rail-optimized fabrics
// keep ring traffic off their spines.
#include <gtest/gtest.h>

#include <numeric>
#include <string>

#include "hardware/io/catalog.hpp"
#include "sim/collective/collective.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/simulator.hpp"
#include "tests/hardware/topology_fixtures.hpp"
#include "tests/support/plans.hpp"

namespace scaleplan {
namespace {

std::vector<int> first_devices(int n) {
  std::vector<int> devices(static_cast<std::size_t>(n));
  std::iota(devices.begin(), devices.end(), 0);
  return devices;
}

TEST(ChannelRing, EveryNicOfANodeCarriesItsShare) {
  // 2 nodes of 4 members: 4 links inside each node with the ring's bytes per member B, and one
  // hop per channel and node between the nodes, each B / 4, from member c to member c.
  const Topology topology(test::cluster(2, 4, 4));
  const std::vector<Phase> phases = expand_collective(
      CollectiveKind::all_gather, CollectiveAlgorithm::ring, first_devices(8), 8e6, topology);
  ASSERT_EQ(phases.size(), 1u);
  const double per_member = 7.0 / 8 * 8e6;
  int across = 0;
  for (const Transfer& t : phases[0].transfers) {
    if (topology.node_of(t.src_device) == topology.node_of(t.dst_device)) {
      EXPECT_DOUBLE_EQ(t.bytes, per_member);
    } else {
      ++across;
      EXPECT_EQ(t.src_device % 4, t.dst_device % 4) << "a hop between nodes stays on its rail";
      EXPECT_DOUBLE_EQ(t.bytes, per_member / 4);
    }
  }
  EXPECT_EQ(across, 8);
  EXPECT_EQ(phases[0].steps, 7);
}

double ring_all_reduce_s(int nics, NetworkModel model, std::optional<CollectiveAlgorithm> forced) {
  const Topology topology(test::cluster(4, 8, nics));
  const Plan plan = test::one_collective(first_devices(32), CollectiveKind::all_reduce, 4e9);
  const RooflineModel compute(test::test_device());
  SimulationOptions options;
  options.collective_step_latency_s = 3e-6;
  options.network_model = model;
  options.collective_algorithm = forced;
  return simulate(plan, topology, compute, options).step_time_s;
}

TEST(ChannelRing, HalvingTheNicsSlowsABandwidthBoundAllReduceByHalf) {
  // A ring all-reduce of S = 4 GB over 4 nodes of 8 test devices (NVSwitch ports at 300 GB/s,
  // host links at 32 GB/s, NICs at 25 GB/s): every member moves B = 2 · 31/32 · S = 7.75 GB.
  // Inside a node each NVSwitch port carries B: 7.75e9 / 300e9 = 26 ms. Between nodes each of
  // the 8 channels carries B / 8 through the NIC of its member; with k NICs a node's NIC serves
  // 8 / k members, so it carries B / k: 7.75e9 / (k · 25e9) = 39 ms with 8 NICs, 78 ms with 4,
  // 155 ms with 2 and 310 ms with 1. The NICs bound it at every count, so each halving doubles
  // the step, up to the 62 steps' latency (about 0.5 ms, under 2 % of the fastest).
  for (NetworkModel model : {NetworkModel::flows, NetworkModel::alpha_beta}) {
    double previous = ring_all_reduce_s(8, model, CollectiveAlgorithm::ring);
    EXPECT_NEAR(previous, 7.75e9 / (8 * 25e9), 0.03 * previous);
    for (int nics : {4, 2, 1}) {
      const double t = ring_all_reduce_s(nics, model, CollectiveAlgorithm::ring);
      EXPECT_NEAR(t / previous, 2.0, 0.05) << nics << " NICs, " << to_string(model);
      previous = t;
    }
  }
  // As NCCL chooses (a tree or the node hierarchy may win), the NICs still bound it: half of
  // them, about twice the time.
  const double eight = ring_all_reduce_s(8, NetworkModel::flows, std::nullopt);
  const double four = ring_all_reduce_s(4, NetworkModel::flows, std::nullopt);
  EXPECT_GT(four / eight, 1.8);
}

// Llama-3 70B, tp 2, dp 128 with ZeRO-3 on 256 H100 (32 DGX nodes, 8 NICs of 400 Gb/s each): the
// data-parallel rings gather and scatter every layer across all 32 nodes, 4 members a node.
std::string llama3_70b_256(const std::string& network) {
  return R"(
name: llama3-70b-256xh100
cluster:
  device: H100-SXM5-80GB
  nodes: 32
  devices_per_node: 8
  node_fabric: nvswitch
  network:
)" + network +
         R"(
    link_bandwidth_gbps: 400
    nics_per_node: 8
model:
  preset: llama3-70b
training:
  global_batch: 256
  micro_batch: 1
  dtype: bf16
parallelism: {tp: 2, pp: 1, dp: 128, zero: 3, recompute: full}
)";
}

Prediction predict_yaml(const std::string& yaml, NetworkModel model) {
  const Scenario scenario = parse_scenario(yaml, "rail.yaml", Catalog::builtin());
  const PreparedRun run =
      prepare_run(scenario, Catalog::builtin(), {RankScope::one_replica, model});
  return predict(scenario, run);
}

TEST(ChannelRing, ARailFabricIsNoSlowerThanAnOversubscribedFatTree) {
  // On the rail-optimized fabric (radix 64, 32 downlinks a leaf) each rail's 32 NICs hang from
  // one leaf. Every hop of a ring between nodes goes from a node's c-th member to the next node's
  // c-th member: the same local device, so the same NIC index and the same rail leaf. No ring
  // byte climbs to a spine, so the leaf-spine tier carries nothing (pipeline sends: none, pp 1;
  // tensor parallelism stays inside the node). Without those spines in the way the rail fabric
  // is at least as fast as a fat-tree whose leaves are 2:1 oversubscribed.
  const Prediction rail =
      predict_yaml(llama3_70b_256("    topology: rail-optimized\n"), NetworkModel::flows);
  const Prediction fat = predict_yaml(
      llama3_70b_256("    topology: fat-tree\n    oversubscription: 2.0\n"), NetworkModel::flows);
  EXPECT_LE(rail.step_time_s, fat.step_time_s * (1 + 1e-9));
  bool seen = false;
  for (const LinkTier& tier : rail.link_tiers) {
    if (tier.tier != "leaf-spine")
      continue;
    seen = true;
    EXPECT_GT(tier.links, 0u);
    EXPECT_EQ(tier.bytes, 0.0) << "ring traffic climbed to a spine";
  }
  EXPECT_TRUE(seen);
  // Every NIC of a node carries traffic: 4 dp members a node per tensor rank, two tensor ranks.
  for (const LinkTier& tier : rail.link_tiers) {
    if (tier.tier == "NIC") {
      EXPECT_EQ(tier.used, tier.links);
    }
  }
  // The fast path prices the same rings the same way.
  const Prediction fast =
      predict_yaml(llama3_70b_256("    topology: rail-optimized\n"), NetworkModel::alpha_beta);
  EXPECT_NEAR(fast.step_time_s, rail.step_time_s, 0.03 * rail.step_time_s);
}

TEST(ChannelRing, AnAllToAllCrossesRailsOverNvlinkNotTheSpines) {
  // An all-to-all of S = 1 GB over 4 nodes of 4 on a rail-optimized fabric of radix-8 switches at
  // 4:1 (6 downlinks and 2 uplinks a leaf; each rail leaf holds its rail's 4 NICs). Each member
  // sends S/16 = 62.5 MB to each of the 15 others; with PXN a block for another node goes over
  // NVLink to the member of its own node on the destination's rail, so nothing climbs to a spine.
  // The NIC of rail r then carries the blocks of the node's 4 members for the 3 other nodes' r-th
  // member: 12 × 62.5 MB = 750 MB at 25 GB/s, 30 ms, the bound (its host link: 750 MB at 32 GB/s,
  // 23 ms; NVLink: 750 MB out of each member at 300 GB/s, 2.5 ms). Sent straight from each
  // member's own NIC, 9 of its 12 blocks between nodes would cross rails, through the 2 uplinks
  // of its leaf, which routing by source puts on one spine (devices r, 4 + r, 8 + r, 12 + r are
  // all even or all odd): 9 × 4 × 62.5 MB at 25 GB/s, 90 ms.
  ClusterSpec spec = test::cluster(4, 4, 4, 8);
  spec.network.topology = NetworkTopologyKind::rail_optimized;
  spec.network.oversubscription = {4.0};
  const Topology topology(spec);
  const Plan plan = test::one_collective(first_devices(16), CollectiveKind::all_to_all, 1e9);
  const RooflineModel compute(test::test_device());
  SimulationOptions options;
  options.collective_step_latency_s = 3e-6;
  options.network_model = NetworkModel::flows;
  const SimulationResult flows = simulate(plan, topology, compute, options);
  EXPECT_NEAR(flows.step_time_s, 750e6 / 25e9, 0.05 * flows.step_time_s);
  for (LinkId l = 0; l < topology.link_count(); ++l) {
    if (link_tier(topology, l) == "leaf-spine") {
      EXPECT_EQ(flows.link_bytes[l], 0.0) << topology.link_name(l);
    }
  }
  // The fast path prices the same transfers alike.
  options.network_model = NetworkModel::alpha_beta;
  const double fast = simulate(plan, topology, compute, options).step_time_s;
  EXPECT_NEAR(fast, flows.step_time_s, 0.05 * flows.step_time_s);
}

}  // namespace
}  // namespace scaleplan
