// The cluster network keys of a scenario (docs/scenario-format.md, "Cluster and network").
#include "sim/scenario/scenario_network.hpp"

#include <gtest/gtest.h>

#include "hardware/topology.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/support/scenario_text.hpp"

namespace scaleplan {
namespace {

std::string scenario(const std::string& cluster) {
  return "name: t\ncluster:\n" + cluster +
         "model:\n  preset: gpt3-175b\n  layers: 8\ntraining:\n  global_batch: 64\n";
}

const std::string gpu_cluster = R"(  device: A100-SXM4-80GB
  nodes: 4
  devices_per_node: 8
  network:
    link_bandwidth_gbps: 200
)";

TEST(ScenarioNetwork, OversubscriptionIsANumberOrAListPerTier) {
  Scenario s = parse_scenario(scenario(gpu_cluster + "    oversubscription: [2, 1.5]\n"), "s.yaml",
                              Catalog::builtin());
  EXPECT_EQ(s.cluster.network.oversubscription, (std::vector<double>{2, 1.5}));
  EXPECT_DOUBLE_EQ(s.cluster.network.oversubscription_at(3), 1.0);
  s = parse_scenario(scenario(gpu_cluster + "    oversubscription: 3\n"), "s.yaml",
                     Catalog::builtin());
  EXPECT_EQ(s.cluster.network.oversubscription, (std::vector<double>{3}));
  // Line 8 is the oversubscription key (name, cluster, device, nodes, per node, network, bw).
  const std::string e = test::scenario_errors_of(
      scenario(gpu_cluster + "    oversubscription: [2, 0.5]\n    tiers: 3\n"));
  EXPECT_NE(e.find("s.yaml:8:23: cluster.network.oversubscription: every value must be from 1"),
            std::string::npos)
      << e;
  const std::string tiers = test::scenario_errors_of(
      scenario(gpu_cluster + "    oversubscription: [2, 2]\n    tiers: 2\n"));
  EXPECT_NE(tiers.find("cluster.network.oversubscription: lists 2 tiers but the network has 2"),
            std::string::npos)
      << tiers;
}

TEST(ScenarioNetwork, TooFewTiersNamesTheTiersAskedFor) {
  // 20 single-NIC nodes on radix-4 switches: two tiers hold 8 NICs. The error comes from
  // building the topology and is reported at cluster.network (line 7).
  const Scenario s = parse_scenario(R"(name: t
cluster:
  device: A100-SXM4-80GB
  nodes: 20
  devices_per_node: 1
  network:
    link_bandwidth_gbps: 200
    nics_per_node: 1
    switch_radix: 4
    tiers: 2
model:
  preset: gpt3-175b
  layers: 8
training:
  global_batch: 20
)",
                                    "s.yaml", Catalog::builtin());
  std::string e;
  try {
    prepare_run(s, Catalog::builtin());
  } catch (const InputError& error) {
    e = error.what();
  }
  EXPECT_NE(e.find("s.yaml:7:5: cluster.network: 20 NICs do not fit in 2 tiers of radix-4 "
                   "switches, which hold at most 8; raise switch_radix or tiers (at most 3)"),
            std::string::npos)
      << e;
}

TEST(ScenarioNetwork, UnknownTopologySuggestsTheClosest) {
  const std::string e =
      test::scenario_errors_of(scenario(gpu_cluster + "    topology: rail-optimised\n"));
  EXPECT_NE(e.find("s.yaml:8:15: cluster.network.topology: 'rail-optimised' is not one of "
                   "fat-tree, rail-optimized, torus or dragonfly; did you mean 'rail-optimized'?"),
            std::string::npos)
      << e;
}

TEST(ScenarioNetwork, TpuTorusTakesItsLinksFromTheCatalog) {
  const Scenario s = parse_scenario(scenario(R"(  device: TPU-v4
  nodes: 16
  devices_per_node: 4
  node_fabric: ici
  network:
    topology: torus
    dims: [4, 4, 4]
    cube: [4, 4, 4]
)"),
                                    "s.yaml", Catalog::builtin());
  const TorusSpec& torus = s.cluster.network.torus;
  EXPECT_EQ(torus.dims, (std::vector<int>{4, 4, 4}));
  // TPU v4: 2.7e11 bytes/s over 6 ICI links = 4.5e10 per link per direction.
  EXPECT_DOUBLE_EQ(torus.link_bandwidth_bytes_per_s, 4.5e10);
  EXPECT_EQ(Topology(s.cluster).link_count(), 384u);
}

TEST(ScenarioNetwork, TorusRankAxesPlaceTheGroups) {
  const auto text = [](const std::string& order) {
    return scenario(R"(  device: TPU-v4
  nodes: 16
  devices_per_node: 4
  node_fabric: ici
  network:
    topology: torus
    dims: [4, 4, 4]
    rank_axes: )" + order +
                    "\n");
  };
  const Scenario s = parse_scenario(text("[2, 0, 1]"), "s.yaml", Catalog::builtin());
  EXPECT_EQ(s.cluster.network.torus.rank_axes, (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(Topology(s.cluster).torus_coordinates(1), (std::vector<int>{0, 0, 1}));
  const auto error = [&](const std::string& order) {
    try {
      parse_scenario(text(order), "s.yaml", Catalog::builtin());
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string twice = error("[2, 0, 0]");
  EXPECT_NE(twice.find("cluster.network.rank_axes: name each of the 3 torus axes once (0 to 2)"),
            std::string::npos)
      << twice;
  EXPECT_NE(error("[0, 1]").find("cluster.network.rank_axes"), std::string::npos);
  EXPECT_NE(error("[3, 0, 1]").find("cluster.network.rank_axes"), std::string::npos);
}

TEST(ScenarioNetwork, TorusPlacesTensorParallelGroupsWhenRankAxesIsLeftOut) {
  // tp 8 on a 4 × 8 × 2 torus of 64 TPU v4 chips: axis 1 holds each group whole, a ring.
  const std::string text = R"(name: t
cluster:
  device: TPU-v4
  nodes: 16
  devices_per_node: 4
  node_fabric: ici
  network:
    topology: torus
    dims: [4, 8, 2]
model:
  preset: gpt3-1.3b
  layers: 4
training:
  global_batch: 8
parallelism:
  tp: 8
  dp: 8
)";
  const Scenario s = parse_scenario(text, "s.yaml", Catalog::builtin());
  const TorusSpec& torus = s.cluster.network.torus;
  EXPECT_EQ(torus.rank_axes, (std::vector<int>{1, 0, 2}));
  EXPECT_TRUE(torus.rank_axes_automatic);
  // Ranks 0..7 (tp group 0) lie on axis 1: coordinates (0, k, 0).
  const Topology topology(s.cluster);
  for (int r = 0; r < 8; ++r)
    EXPECT_EQ(topology.torus_coordinates(r), (std::vector<int>{0, r, 0}));
  // The report names the order and that it was chosen.
  const EffectiveCluster effective = effective_cluster(s.cluster, Catalog::builtin());
  EXPECT_NE(effective.description.find("ranks fill axes [1, 0, 2] (automatic"), std::string::npos)
      << effective.description;
  // rank_axes written stays the override.
  std::string written = text;
  written.replace(written.find("    dims: [4, 8, 2]\n"), 20,
                  "    dims: [4, 8, 2]\n    rank_axes: [0, 1, 2]\n");
  const Scenario w = parse_scenario(written, "s.yaml", Catalog::builtin());
  EXPECT_EQ(w.cluster.network.torus.rank_axes, (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(w.cluster.network.torus.rank_axes_automatic);
}

TEST(ScenarioNetwork, SlicesJoinToriOverTheDcn) {
  const auto text = [](const std::string& network, const std::string& parallelism) {
    return R"(name: t
cluster:
  device: TPU-v4
  nodes: 32
  devices_per_node: 4
  node_fabric: ici
  network:
    topology: torus
    dims: [4, 4, 4]
)" + network +
           R"(model:
  preset: gpt3-1.3b
  layers: 4
training:
  global_batch: 32
parallelism:
  tp: 4
  dp: 32
)" + parallelism;
  };
  const Scenario s =
      parse_scenario(text("    slices: 2\n", "  sharding: 2d\n"), "s.yaml", Catalog::builtin());
  const TorusSpec& torus = s.cluster.network.torus;
  EXPECT_EQ(torus.slices, 2);
  // The catalog's TPU v4 figure: 2.5e10 bytes/s per host.
  EXPECT_DOUBLE_EQ(torus.dcn_bandwidth_per_host_bytes_per_s, 2.5e10);
  EXPECT_EQ(s.job.parallelism.sharding, WeightSharding::two_d);
  EXPECT_EQ(s.job.parallelism.dcn_dp, 2);  // the slices
  EXPECT_EQ(s.job.parallelism.zero, 3);
  EXPECT_TRUE(s.job.parallelism.sequence_parallel);
  const Topology topology(s.cluster);
  EXPECT_EQ(topology.torus_slices(), 2);
  EXPECT_EQ(topology.route(0, 64).size(), 4u);  // device, NIC, DCN switch, NIC, device
  const Scenario given = parse_scenario(text("    slices: 2\n    dcn_bandwidth_gbps: 100\n", ""),
                                        "s.yaml", Catalog::builtin());
  EXPECT_DOUBLE_EQ(given.cluster.network.torus.dcn_bandwidth_per_host_bytes_per_s, 12.5e9);

  // Errors name the file, line and key, and what would be valid.
  const std::string wrong = test::scenario_errors_of(text("    slices: 3\n", ""));
  EXPECT_NE(wrong.find("s.yaml:9:11: cluster.network.dims: 3 slices of a torus of 64 devices for "
                       "a cluster of 128"),
            std::string::npos)
      << wrong;
  const std::string one = test::scenario_errors_of(text("    dcn_bandwidth_gbps: 100\n", ""));
  EXPECT_NE(one.find("cluster.network.dcn_bandwidth_gbps: applies only to several slices"),
            std::string::npos)
      << one;
  const std::string zero =
      test::scenario_errors_of(text("    slices: 2\n", "  sharding: 2d\n  zero: 1\n"));
  EXPECT_NE(zero.find("parallelism.zero: sharding: 2d shards the weights over the data axis (ZeRO "
                      "stage 3), not stage 1"),
            std::string::npos)
      << zero;
  const std::string cross =
      test::scenario_errors_of(text("    slices: 2\n", "  sharding: 2d\n  dcn_dp: 4\n"));
  EXPECT_NE(cross.find("parallelism.dcn_dp: the cluster has 2 slices (network.slices): dcn_dp "
                       "must be 2"),
            std::string::npos)
      << cross;
  const std::string plain = test::scenario_errors_of(text("", "  dcn_dp: 2\n"));
  EXPECT_NE(plain.find("parallelism.dcn_dp: applies only to sharding: 2d"), std::string::npos)
      << plain;
  const std::string layout = test::scenario_errors_of(text("", "  sharding: 3d\n"));
  EXPECT_NE(layout.find("parallelism.sharding"), std::string::npos) << layout;
  EXPECT_NE(layout.find("2d"), std::string::npos) << layout;
}

TEST(ScenarioNetwork, TorusErrorsNameTheKey) {
  const std::string cluster = R"(  device: TPU-v4
  nodes: 16
  devices_per_node: 4
  node_fabric: ici
  network:
    topology: torus
    dims: [4, 4, 2]
    switch_radix: 64
)";
  const std::string e = test::scenario_errors_of(scenario(cluster));
  EXPECT_NE(e.find("s.yaml:9:11: cluster.network.dims: a torus of 32 devices for a cluster of 64"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("cluster.network.switch_radix: applies only to topology: fat-tree or "
                   "rail-optimized"),
            std::string::npos)
      << e;
  const std::string fabric = test::scenario_errors_of(scenario(R"(  device: TPU-v4
  nodes: 16
  devices_per_node: 4
  network:
    topology: torus
    dims: [4, 4, 4]
)"));
  EXPECT_NE(fabric.find("cluster.node_fabric: a torus joins devices chip to chip: use "
                        "node_fabric: ici"),
            std::string::npos)
      << fabric;
}

TEST(ScenarioNetwork, DragonflyAndPcieKeys) {
  const Scenario s = parse_scenario(scenario(R"(  device: H100-PCIe-80GB
  nodes: 4
  devices_per_node: 8
  node_fabric: pcie
  pcie_switches_per_node: 2
  sockets_per_node: 2
  network:
    topology: dragonfly
    link_bandwidth_gbps: 200
    nics_per_node: 2
    routers_per_group: 2
    nics_per_router: 2
    global_links_per_router: 1
    in_network_reduction: true
)"),
                                    "s.yaml", Catalog::builtin());
  EXPECT_EQ(s.cluster.pcie.switches, 2);
  EXPECT_EQ(s.cluster.pcie.sockets, 2);
  // The catalog's UPI figure: 2 links × 20.8 GB/s.
  EXPECT_DOUBLE_EQ(s.cluster.pcie.cross_socket_bandwidth_bytes_per_s, 41.6e9);
  EXPECT_EQ(s.cluster.network.dragonfly.routers_per_group, 2);
  EXPECT_TRUE(s.cluster.network.in_network_reduction);
  EXPECT_NO_THROW(Topology{s.cluster});
  // 8 NICs on 2-NIC routers in groups of 2 routers: 2 groups, one global link each: fine. With
  // 16 NICs: 4 groups, but 2 routers × 1 global link reach only 3 groups.
  const std::string e = test::scenario_errors_of(scenario(R"(  device: A100-SXM4-80GB
  nodes: 8
  devices_per_node: 8
  pcie_switches_per_node: 2
  network:
    topology: dragonfly
    link_bandwidth_gbps: 200
    nics_per_node: 2
    routers_per_group: 2
    nics_per_router: 2
    global_links_per_router: 1
)"));
  EXPECT_NE(e.find("cluster.pcie_switches_per_node: applies only to node_fabric: pcie"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("cluster.network.global_links_per_router: 16 NICs make 4 groups"),
            std::string::npos)
      << e;
}

TEST(ScenarioNetwork, NetworksTooLargeToBuildAreRefusedBeforeBuilding) {
  // Each key is in range, but 32,768 NICs on routers of 1 NIC in groups of 1,024 routers make 32
  // groups with 1024·1023/2 local links each and ⌊1024·1024/31⌋ = 33,825 global links between
  // every two of them: 2·(32,768 + 32·523,776 + 496·33,825) = 6.71e7 directed links, 8 times
  // the most built (about 11 GB); the build ran out of memory before the check.
  const std::string dragonfly = test::scenario_errors_of(scenario(R"(  device: H100-SXM5-80GB
  nodes: 4096
  devices_per_node: 8
  network:
    topology: dragonfly
    link_bandwidth_gbps: 400
    routers_per_group: 1024
    nics_per_router: 1
    global_links_per_router: 1024
)"));
  EXPECT_EQ(dragonfly,
            "s.yaml:9:24: cluster.network.routers_per_group: a dragonfly of 32 groups of 1024 "
            "routers with 1024 global links each has 6.71e+07 links, more than the 8388608 "
            "scaleplan builds (about 160 bytes each); lower routers_per_group or "
            "global_links_per_router");
  // The dragonfly counted is the one built.
  DragonflySpec small{4, 2, 3};
  ClusterSpec cluster;
  cluster.device = *Catalog::builtin().find("H100-SXM5-80GB");
  cluster.nodes = 8;
  cluster.devices_per_node = 2;
  cluster.network.topology = NetworkTopologyKind::dragonfly;
  cluster.network.link_bandwidth_bytes_per_s = 50e9;
  cluster.network.nics_per_node = 2;
  cluster.network.dragonfly = small;
  // Against the same nodes on one leaf switch (2 directed links per NIC): the dragonfly adds
  // its 8 routers' links. 16 NICs, 8 routers, 2 groups of 4: 2·(16 + 2·6 + 1·⌊12/1⌋) = 80.
  ClusterSpec one_leaf = cluster;
  one_leaf.network.topology = NetworkTopologyKind::fat_tree;
  one_leaf.network.switch_radix = 64;
  one_leaf.network.tiers = 1;
  EXPECT_EQ(dragonfly_links(16, small), 80.0);
  EXPECT_EQ(static_cast<double>(Topology(cluster).link_count() - Topology(one_leaf).link_count()),
            dragonfly_links(16, small) - 2 * 16);

  // A mesh of 1,024 devices per node in 32 nodes: 32·1024·1023 = 3.35e7 directed links.
  const std::string mesh = test::scenario_errors_of(scenario(R"(  device: H100-SXM5-80GB
  nodes: 32
  devices_per_node: 1024
  node_fabric: nvlink-mesh
  network:
    link_bandwidth_gbps: 400
)"));
  EXPECT_NE(mesh.find("s.yaml:5:21: cluster.devices_per_node: an NVLink mesh of 1024 devices per "
                      "node in 32 nodes has 3.35e+07 links, more than the 8388608 scaleplan "
                      "builds"),
            std::string::npos)
      << mesh;
}

}  // namespace
}  // namespace scaleplan
