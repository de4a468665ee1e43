// Collective algorithms against their closed forms, on clusters built by the topology
// generators. Every expected time is derived in the comment before its assertion.
#include <gtest/gtest.h>

#include <algorithm>

#include "sim/collective/collective.hpp"
#include "sim/simulate/simulator.hpp"
#include "tests/hardware/topology_fixtures.hpp"

namespace scaleplan {
namespace {

using test::cluster;

// Each group runs one collective of `bytes`; rank r runs on device r.
Plan collectives(int ranks, const std::vector<std::vector<int>>& groups, CollectiveKind kind,
                 double bytes) {
  Plan plan;
  plan.ranks.resize(ranks);
  for (int r = 0; r < ranks; ++r) {
    plan.ranks[r].rank = r;
    plan.ranks[r].device = r;
  }
  for (const auto& members : groups) {
    const std::uint32_t g = plan.add_group({"g" + std::to_string(plan.groups.size()), members, {}});
    for (int r : members) {
      Op op;
      op.kind = OpKind::collective;
      op.stream = Stream::dp_comm;
      op.collective = kind;
      op.group = g;
      op.bytes = bytes;
      op.label = plan.label("collective");
      plan.ranks[r].ops.push_back(op);
    }
  }
  return plan;
}

std::vector<int> all(int n) {
  std::vector<int> members;
  for (int r = 0; r < n; ++r)
    members.push_back(r);
  return members;
}

SimulationResult run(const Plan& plan, const Topology& topology, double step_latency_s,
                     std::optional<CollectiveAlgorithm> algorithm = std::nullopt) {
  const RooflineModel compute(test::test_device());
  SimulationOptions options;
  options.collective_step_latency_s = step_latency_s;
  options.collective_algorithm = algorithm;
  return simulate(plan, topology, compute, options);
}

constexpr double step = 5e-6;       // software step latency
constexpr double nvlink = 300e9;    // test device, per direction
constexpr double nic = 25e9;        // test network, per NIC per direction
constexpr double intra_s = 2e-6;    // device, NVSwitch, device: 2 × 1 µs
constexpr double inter_s = 2.2e-6;  // device, NIC, leaf, NIC, device: 1 + 0.1 + 0.1 + 1 µs

TEST(CollectiveAlgorithms, HalvingDoublingTakesLog2NStepsEachWay) {
  const Topology topology(cluster(1, 8, 0));
  const double bytes = 1e9;
  // 8 members on one NVSwitch: halving exchanges S/2, S/4, S/8 with partners 4, 2, 1 away,
  // doubling S/8, S/4, S/2 back; each exchange has one flow per NVLink direction. 2·log2(8) = 6
  // steps: 2·(7/8)·S/B + 6·(α + route latency).
  const auto r = run(collectives(8, {all(8)}, CollectiveKind::all_reduce, bytes), topology, step,
                     CollectiveAlgorithm::halving_doubling);
  EXPECT_NEAR(r.step_time_s, 2 * 7.0 / 8 * bytes / nvlink + 6 * (step + intra_s), 1e-9);
  EXPECT_EQ(r.collectives_by_algorithm.at("halving-doubling"), 1u);
  // 6 members: 4 exchange, 2 fold in first (S) and out last (S): (S + S/2 + S/4) · 2 / B over
  // 6 phases.
  const auto six = run(collectives(6, {all(6)}, CollectiveKind::all_reduce, bytes), topology, step,
                       CollectiveAlgorithm::halving_doubling);
  EXPECT_NEAR(six.step_time_s, 2 * 1.75 * bytes / nvlink + 6 * (step + intra_s), 1e-9);
}

TEST(CollectiveAlgorithms, HierarchicalAllReduceOnNodesTimesGpus) {
  // 4 nodes × 4 GPUs, a NIC per GPU, all 16 NICs on one leaf.
  const Topology topology(cluster(4, 4, 4));
  const double bytes = 1e9;
  // Inside each node a 4-ring reduce-scatter: (3/4)·S over NVLink in 3 steps; across nodes
  // one 4-ring per local index (rail) all-reduces its S/4 shard: 2·(3/4)·(S/4) over one NIC in
  // 6 steps; then the all-gather mirrors the first phase.
  const double intra = 3.0 / 4 * bytes / nvlink + 3 * (step + intra_s);
  const double across = 2 * 3.0 / 4 * (bytes / 4) / nic + 6 * (step + inter_s);
  const auto r = run(collectives(16, {all(16)}, CollectiveKind::all_reduce, bytes), topology, step,
                     CollectiveAlgorithm::hierarchical);
  EXPECT_NEAR(r.step_time_s, 2 * intra + across, 1e-9);
  // The flat ring over the same 16 GPUs opens a channel per member of a node, so it too crosses
  // the nodes on all four NICs: 2·(15/16)·(S/4) through each, a little more than the hierarchy's
  // 2·(3/4)·(S/4), but without the two phases inside the nodes. The choice takes the faster.
  const auto ring = run(collectives(16, {all(16)}, CollectiveKind::all_reduce, bytes), topology,
                        step, CollectiveAlgorithm::ring);
  const auto chosen =
      run(collectives(16, {all(16)}, CollectiveKind::all_reduce, bytes), topology, step);
  EXPECT_NEAR(chosen.step_time_s, std::min(ring.step_time_s, r.step_time_s), 1e-12);
}

TEST(CollectiveAlgorithms, TreeBeatsRingForSmallMessagesAndLosesForLarge) {
  // 16 nodes of one GPU on one leaf. A ring pays 2(n−1) = 30 steps; the double binary tree
  // pays 2·log2(16) = 8 (up and down a depth-4 tree).
  const Topology topology(cluster(16, 1, 1));
  const auto plan = [](double bytes) {
    return collectives(16, {all(16)}, CollectiveKind::all_reduce, bytes);
  };
  // 1 KiB: ring = 2·(15/16)·S/B + 30·(α + route latency) ≈ 216 µs; the tree's 8 steps take
  // 57.6 µs and its bytes under a microsecond.
  const double small = 1024;
  const double ring_small = 2 * 15.0 / 16 * small / nic + 30 * (step + inter_s);
  const auto ring_s = run(plan(small), topology, step, CollectiveAlgorithm::ring);
  const auto tree_s = run(plan(small), topology, step, CollectiveAlgorithm::double_binary_tree);
  EXPECT_NEAR(ring_s.step_time_s, ring_small, 1e-9);
  EXPECT_LT(tree_s.step_time_s, ring_small / 3);
  EXPECT_GT(tree_s.step_time_s, 8 * (step + inter_s));
  // 1 GB: ring = 2·(15/16)·S/B + 216 µs = 75.2 ms. In the tree a node interior to one tree
  // and a leaf of the other sends S/2 to its parent and to two children there and S/2 to its
  // parent in the other: 2·S through its NIC, 80 ms at least.
  const double large = 1e9;
  const auto ring_l = run(plan(large), topology, step, CollectiveAlgorithm::ring);
  const auto tree_l = run(plan(large), topology, step, CollectiveAlgorithm::double_binary_tree);
  EXPECT_NEAR(ring_l.step_time_s, 2 * 15.0 / 16 * large / nic + 30 * (step + inter_s), 1e-9);
  EXPECT_GE(tree_l.step_time_s, 2 * large / nic);
  EXPECT_LT(ring_l.step_time_s, tree_l.step_time_s);
  // The NCCL-like choice follows: tree for the small message, ring for the large one.
  EXPECT_EQ(run(plan(small), topology, step).collectives_by_algorithm.at("double-binary-tree"), 1u);
  EXPECT_EQ(run(plan(large), topology, step).collectives_by_algorithm.at("ring"), 1u);
}

TEST(CollectiveAlgorithms, TreePipelinesItsChunks) {
  // Two devices, one 1 GB/s link, no latency. Each tree sends S/2 up and S/2 down, so each
  // direction carries S: the flows take S/B. A chunk crosses 2 stages (up, down).
  const Topology topology = Topology::custom(2, 0, {{0, 1, 1e9, 0}});
  const auto time = [&](double bytes) {
    return run(collectives(2, {all(2)}, CollectiveKind::all_reduce, bytes), topology, 0,
               CollectiveAlgorithm::double_binary_tree)
        .step_time_s;
  };
  // 1 MiB: each tree's 512 KiB is one chunk: (1 + (2 − 1)/1) · S/B, store and forward.
  const double one_chunk = 1024.0 * 1024;
  EXPECT_NEAR(time(one_chunk), 2 * one_chunk / 1e9, 1e-9);
  // 64 MiB: 32 MiB per tree in 64 chunks of 512 KiB: (1 + 1/64) · S/B.
  const double many = 64.0 * 1024 * 1024;
  EXPECT_NEAR(time(many), (1 + 1.0 / 64) * many / 1e9, 1e-9);
}

TEST(CollectiveAlgorithms, TorusAllReduceMatchesPerAxisRings) {
  // 4×4×4 torus, 45 GB/s per link per direction, 1 µs per hop, α = 2 µs.
  const double link = 45e9, alpha = 2e-6, bytes = 1e9;
  const Topology topology(test::torus_cluster({4, 4, 4}, 4, link));
  // Per axis d a bidirectional ring (both directions of every link, B_d = 2·45 GB/s)
  // reduce-scatters S_d and later all-gathers it back: 2(k−1)/k · S_d / B_d with
  // S_0 = S, S_1 = S/4, S_2 = S/16; six phases of k − 1 = 3 one-hop steps.
  double expected = 0;
  for (double s_d : {bytes, bytes / 4, bytes / 16})
    expected += 2 * 3.0 / 4 * s_d / (2 * link);
  expected += 6 * 3 * (alpha + 1e-6);
  const auto plan = collectives(64, {all(64)}, CollectiveKind::all_reduce, bytes);
  const auto r = run(plan, topology, alpha, CollectiveAlgorithm::torus);
  EXPECT_NEAR(r.step_time_s, expected, 1e-9);
  // Chosen unforced too: a 64-member ring would take 126 steps and cross the slow diagonal.
  EXPECT_EQ(run(plan, topology, alpha).collectives_by_algorithm.at("torus"), 1u);
  // A box of the torus (a 4×4 plane at z = 0) runs two axes only: (S, S/4).
  const auto plane = collectives(64, {all(16)}, CollectiveKind::all_reduce, bytes);
  const double plane_expected = 2 * 3.0 / 4 * bytes / (2 * link) +
                                2 * 3.0 / 4 * bytes / 4 / (2 * link) + 4 * 3 * (alpha + 1e-6);
  EXPECT_NEAR(run(plane, topology, alpha, CollectiveAlgorithm::torus).step_time_s, plane_expected,
              1e-9);
}

TEST(CollectiveAlgorithms, GroupOnOneTorusAxisRingsOverThatAxis) {
  // 4×4×4 torus, 45 GB/s per link per direction, 1 µs per hop, α = 2 µs; rank_axes [2, 0, 1]
  // puts consecutive ranks on axis 2, so ranks 4g .. 4g + 3 (a tensor-parallel group of 4) are
  // one axis-2 line of the torus, its wrap-around link included.
  const double link = 45e9, alpha = 2e-6, bytes = 1e9;
  ClusterSpec c = test::torus_cluster({4, 4, 4}, 4, link);
  c.network.torus.rank_axes = {2, 0, 1};
  const Topology topology(c);
  EXPECT_EQ(topology.torus_coordinates(1), (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(topology.torus_coordinates(4), (std::vector<int>{1, 0, 0}));
  EXPECT_EQ(topology.torus_device({1, 0, 3}), 7);
  EXPECT_EQ(topology.link_count(), 384u);      // the same torus, numbered otherwise
  EXPECT_EQ(topology.route(0, 3).size(), 1u);  // (0,0,0) to (0,0,3): the wrap-around link
  // A bidirectional ring over the k = 4 chips of the axis: each member sends (k−1)/k · S/2 each
  // way in the reduce-scatter and again in the all-gather, every direction of every link of the
  // line carrying one flow at B: 2 · (3/4) · S / (2B), plus 2 phases of k − 1 = 3 one-hop steps
  // of (α + 1 µs). The 16 groups are 16 disjoint lines, so running all of them at once changes
  // nothing.
  const double expected = 2 * 3.0 / 4 * bytes / (2 * link) + 2 * 3 * (alpha + 1e-6);
  std::vector<std::vector<int>> groups;
  for (int g = 0; g < 16; ++g)
    groups.push_back({4 * g, 4 * g + 1, 4 * g + 2, 4 * g + 3});
  const auto plan = collectives(64, groups, CollectiveKind::all_reduce, bytes);
  EXPECT_NEAR(run(plan, topology, alpha, CollectiveAlgorithm::torus).step_time_s, expected, 1e-9);
  // Chosen unforced: the plain ring of 4 would run one direction only, half the bandwidth.
  const auto unforced = run(plan, topology, alpha);
  EXPECT_EQ(unforced.collectives_by_algorithm.at("torus"), 16u);
  EXPECT_NEAR(unforced.step_time_s, expected, 1e-9);
  // A permutation that misses an axis is refused.
  c.network.torus.rank_axes = {2, 0, 0};
  EXPECT_THROW(Topology{c}, TopologyError);
}

// Two slices (pods) of a 4×4 torus of 16 chips, 4 chips to a host, joined by the DCN at
// `dcn` per host per direction; host links (PCIe) of the test device, 32 GB/s.
ClusterSpec two_slices(double link, double dcn) {
  ClusterSpec c = test::torus_cluster({4, 4}, 4, link);
  c.nodes = 8;
  c.network.torus.slices = 2;
  c.network.torus.dcn_bandwidth_per_host_bytes_per_s = dcn;
  c.network.torus.dcn_latency_s = 0;
  return c;
}

TEST(CollectiveAlgorithms, CrossSliceTrafficTakesTheDcn) {
  const Topology topology(two_slices(45e9, 25e9));
  EXPECT_EQ(topology.torus_slices(), 2);
  EXPECT_EQ(topology.torus_slice_of(15), 0);
  EXPECT_EQ(topology.torus_slice_of(16), 1);
  EXPECT_EQ(topology.torus_coordinates(17), topology.torus_coordinates(1));
  // Inside a slice: the torus only (device 0 to 3 over the wrap-around, one ICI link).
  EXPECT_EQ(topology.route(0, 3).size(), 1u);
  EXPECT_EQ(topology.route(16, 19).size(), 1u);
  EXPECT_EQ(topology.vertex(topology.link(topology.route(16, 19)[0]).to).kind, VertexKind::device);
  // Between slices: device, host NIC, DCN switch, host NIC, device.
  const auto& across = topology.route(5, 21);
  ASSERT_EQ(across.size(), 4u);
  EXPECT_EQ(topology.vertex(topology.link(across[0]).to).kind, VertexKind::nic);
  EXPECT_EQ(topology.vertex(topology.link(across[1]).to).kind, VertexKind::network_switch);
  EXPECT_DOUBLE_EQ(topology.link(across[1]).bandwidth_bytes_per_s, 25e9);
  EXPECT_EQ(topology.link(across[3]).to, topology.device_vertex(21));
}

TEST(CollectiveAlgorithms, CrossSliceAllReduceIsDcnBound) {
  // An all-reduce of S over all 32 chips of two 4×4 slices, α = 2 µs, no DCN latency. The
  // torus algorithm treats the slice as a third axis, last: bidirectional rings on axis 0 and 1
  // inside each slice reduce-scatter S then S/4 (each 2·(3/4)·S_d/(2B) with the all-gather, over
  // 3 steps of α + 1 µs), leaving S/16 per chip; across the slices (k = 2) each chip sends
  // (1/2)·(S/16) to its counterpart in the reduce-scatter and again in the all-gather. A host's 4
  // chips share its NIC: 4 · S/32 = S/8 per direction per phase at D, two phases: S/(4D) (the
  // chip's PCIe hop carries S/32 at 32 GB/s, less than the NIC's time), plus 2 steps of α (no hop
  // latency: the host links and the DCN are set to 0 here).
  const double link = 45e9, alpha = 2e-6, bytes = 1e9;
  const auto time = [&](double dcn) {
    const Topology topology(two_slices(link, dcn));
    const auto plan = collectives(32, {all(32)}, CollectiveKind::all_reduce, bytes);
    const auto r = run(plan, topology, alpha);
    EXPECT_EQ(r.collectives_by_algorithm.at("torus"), 1u);
    return r.step_time_s;
  };
  const double ici = 2 * 3.0 / 4 * bytes / (2 * link) + 2 * 3.0 / 4 * bytes / 4 / (2 * link) +
                     4 * 3 * (alpha + 1e-6);
  const double dcn = 5e9;
  const double expected = ici + bytes / (4 * dcn) + 2 * alpha;
  EXPECT_NEAR(time(dcn), expected, 1e-9);
  // DCN-bound: the DCN phases are most of the step, and halving the DCN bandwidth adds exactly
  // their time again: S/(4·D/2) − S/(4D) = S/(4D).
  EXPECT_GT(bytes / (4 * dcn), ici);
  EXPECT_NEAR(time(dcn / 2) - time(dcn), bytes / (4 * dcn), 1e-9);
}

TEST(CollectiveAlgorithms, TensorParallelGroupsPlacedOnOneTorusAxis) {
  // tp 8 on a 4×8 torus: axis 0 first would split a group over 4 + 2 (two axes, no closed
  // ring); axis 1 first holds it whole, a ring over its wrap-around.
  EXPECT_EQ(torus_fill_order_for_group({4, 8}, 8), (std::vector<int>{1, 0}));
  EXPECT_EQ(torus_axes_spanned({4, 8}, {0, 1}, 8), 2);
  EXPECT_EQ(torus_axes_spanned({4, 8}, {1, 0}, 8), 1);
  // Nothing to gain: the default order.
  EXPECT_EQ(torus_fill_order_for_group({4, 4, 4}, 4), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(torus_fill_order_for_group({4, 4, 4}, 1), (std::vector<int>{0, 1, 2}));
  // tp 12 on 16×12×16 (PaLM's 12-way model axis): the axis of 12, a closed ring.
  EXPECT_EQ(torus_fill_order_for_group({16, 12, 16}, 12), (std::vector<int>{1, 0, 2}));
  // tp 4 on 8×4×8: axis 1 (a ring of 4) beats a half of axis 0 (a line of 4 without its wrap).
  EXPECT_EQ(torus_fill_order_for_group({8, 4, 8}, 4), (std::vector<int>{1, 0, 2}));
  // tp 32 on 4×8×4: two whole axes (0 and 1), as the default order already does.
  EXPECT_EQ(torus_fill_order_for_group({4, 8, 4}, 32), (std::vector<int>{0, 1, 2}));
}

TEST(CollectiveAlgorithms, InNetworkReductionSendsAndReceivesOnce) {
  ClusterSpec c = cluster(1, 8, 0);
  c.network.in_network_reduction = true;
  const Topology topology(c);
  const double bytes = 1e9;
  // NVLS: each GPU sends S to the NVSwitch and receives the reduced S: S/B + one step,
  // against the ring's 2·(7/8)·S/B + 14 steps.
  const auto plan = collectives(8, {all(8)}, CollectiveKind::all_reduce, bytes);
  const auto r = run(plan, topology, step, CollectiveAlgorithm::in_network);
  EXPECT_NEAR(r.step_time_s, bytes / nvlink + (step + intra_s), 1e-9);
  EXPECT_EQ(run(plan, topology, step).collectives_by_algorithm.at("in-network"), 1u);
  // Without switches that reduce, the algorithm does not apply.
  EXPECT_FALSE(algorithm_applies(CollectiveKind::all_reduce, CollectiveAlgorithm::in_network,
                                 all(8), Topology(cluster(1, 8, 0))));
}

TEST(CollectiveAlgorithms, OversubscribedFatTreeSlowsCrossPodAllReduce) {
  // Radix 6, three tiers; leaves 1:1 (3 NICs down, 3 up). Aggregation 1:1 (3 leaves a pod, 3
  // core links) or 2:1 (4 leaves a pod, 2 core links). Node i of pod 0 all-reduces with node i
  // of pod 1, every pair at once: each member sends S across the core.
  const auto cross_pod = [](double agg_oversubscription) {
    const int pod_nodes = agg_oversubscription == 1 ? 9 : 12;
    ClusterSpec c = cluster(2 * pod_nodes, 1, 1, 6);
    c.network.oversubscription = {1, agg_oversubscription};
    c.network.switch_latency_s = 0;
    c.network.nic_latency_s = 0;
    const Topology topology(c);
    std::vector<std::vector<int>> pairs;
    for (int i = 0; i < pod_nodes; ++i)
      pairs.push_back({i, pod_nodes + i});
    return run(collectives(2 * pod_nodes, pairs, CollectiveKind::all_reduce, 1e9), topology, 0,
               CollectiveAlgorithm::ring)
        .step_time_s;
  };
  // 1:1: a leaf's 3 flows take its 3 aggregation switches; each aggregation switch's bundle of
  // 3 core links carries one flow per leaf (3): full NIC rate, S/B.
  const double full = cross_pod(1);
  EXPECT_NEAR(full, 1e9 / nic, 1e-9);
  // 2:1: each aggregation switch gathers 4 flows onto 2 core links: half rate, 2·S/B.
  EXPECT_NEAR(cross_pod(2), 2 * full, 1e-9);
}

TEST(CollectiveAlgorithms, ChoiceIsDeterministicAndAlwaysApplies) {
  const Topology topology(cluster(4, 4, 4));
  for (double bytes : {1e3, 1e6, 1e9}) {
    for (auto kind :
         {CollectiveKind::all_reduce, CollectiveKind::all_gather, CollectiveKind::reduce_scatter,
          CollectiveKind::all_to_all, CollectiveKind::broadcast}) {
      const auto a = choose_algorithm(kind, all(16), bytes, topology, step);
      EXPECT_EQ(a, choose_algorithm(kind, all(16), bytes, topology, step));
      EXPECT_TRUE(algorithm_applies(kind, a, all(16), topology)) << to_string(a);
    }
  }
  EXPECT_THROW(expand_collective(CollectiveKind::all_gather, CollectiveAlgorithm::hierarchical,
                                 all(16), 1e6, topology),
               std::invalid_argument);
}

}  // namespace
}  // namespace scaleplan
