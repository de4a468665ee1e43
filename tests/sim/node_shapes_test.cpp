// Node groups of different node shapes (8-GPU NVSwitch nodes beside 4-GPU nodes): the scenario
// keys and their errors, device-to-node numbering, each node built with its group's shape and
// NICs, a transfer into a smaller node bound by its NICs, and a data-parallel step bound by them.
#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "hardware/topology.hpp"
#include "sim/collective/collective.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/support/scenario_text.hpp"

namespace scaleplan {
namespace {

using test::replace;

// Two 8-GPU H100 nodes (eight NICs each) and four 4-GPU A100 nodes of two NICs each on one
// 100 Gb/s fat-tree, ResNet-50 data parallel over all 32 devices.
const std::string shapes = R"(name: shapes
cluster:
  node_groups:
    - {name: h100, device: H100-SXM5-80GB, nodes: 2}
    - {name: a100, device: A100-SXM4-80GB, nodes: 4, devices_per_node: 4, nics_per_node: 2}
  devices_per_node: 8
  network: {topology: fat-tree, link_bandwidth_gbps: 100}
model:
  preset: resnet-50
training:
  global_batch: 2048
  micro_batch: 64
  dtype: bf16
parallelism:
  dp: 32
)";

Scenario read(const std::string& text) {
  return parse_scenario(text, "s.yaml", Catalog::builtin());
}

Prediction predict_text(const std::string& text) {
  const Scenario s = read(text);
  return predict(s, prepare_run(s, Catalog::builtin()));
}

TEST(NodeShapes, DevicesAreNumberedNodeByNodeInEachGroupsShape) {
  const ClusterSpec c = read(shapes).cluster;
  // 2 × 8 + 4 × 4 devices: nodes 0 and 1 hold devices 0-15, node 2 devices 16-19, node 5 28-31.
  EXPECT_EQ(c.device_count(), 32);
  EXPECT_TRUE(c.mixes_shapes());
  EXPECT_TRUE(c.ranks_differ());
  EXPECT_EQ(c.node_of_device(15), 1);
  EXPECT_EQ(c.node_of_device(16), 2);
  EXPECT_EQ(c.node_of_device(19), 2);
  EXPECT_EQ(c.node_of_device(20), 3);
  EXPECT_EQ(c.node_of_device(31), 5);
  EXPECT_EQ(c.first_device_of_node(2), 16);
  EXPECT_EQ(c.first_device_of_node(5), 28);
  EXPECT_EQ(c.shape_of_node(1), (NodeShape{8, NodeFabric::nvswitch, 8}));
  EXPECT_EQ(c.shape_of_node(2), (NodeShape{4, NodeFabric::nvswitch, 2}));
  EXPECT_EQ(c.device_at(15).name, "H100-SXM5-80GB");
  EXPECT_EQ(c.device_at(16).name, "A100-SXM4-80GB");

  const Topology t(c);
  ASSERT_EQ(t.device_count(), 32);
  ASSERT_EQ(t.node_count(), 6);
  for (int d = 0; d < 32; ++d)
    EXPECT_EQ(t.node_of(d), c.node_of_device(d)) << d;
  EXPECT_EQ(t.node_first_device(3), 20);
  EXPECT_EQ(t.node_device_count(3), 4);
  EXPECT_EQ(t.node_device_count(0), 8);
  // Each node has its group's NICs.
  std::vector<int> nics(6, 0);
  for (VertexId v = 0; v < t.vertex_count(); ++v) {
    if (t.vertex(v).kind == VertexKind::nic)
      ++nics[static_cast<std::size_t>(t.vertex(v).node)];
  }
  EXPECT_EQ(nics, (std::vector<int>{8, 8, 2, 2, 2, 2}));

  // A slowed node is its own devices.
  const Scenario slowed =
      read(replace(shapes, "  devices_per_node: 8\n",
                   "  devices_per_node: 8\n  slow_devices: [{node: 2, factor: 2}]\n"));
  ASSERT_EQ(slowed.cluster.slowdowns.size(), 4u);
  EXPECT_EQ(slowed.cluster.slowdowns.front().device, 16);
  EXPECT_EQ(slowed.cluster.slowdowns.back().device, 19);
}

TEST(NodeShapes, EndpointLinksAreOnEachTransfersOwnRoute) {
  // endpoint_links names a transfer's links from the paths of the first node of each shape,
  // moved to the transfer's nodes: inside a node its whole route, between nodes the route's
  // links up to the network and from it. Every pair of devices, on fat-tree and rail-optimized.
  for (const std::string topology : {"fat-tree", "rail-optimized"}) {
    const Topology t(read(replace(shapes, "fat-tree", topology)).cluster);
    std::vector<LinkId> named;
    for (int src = 0; src < t.device_count(); ++src) {
      for (int dst = 0; dst < t.device_count(); ++dst) {
        named.clear();
        t.endpoint_links(src, dst, named);
        const auto& route = t.route(src, dst);
        const std::set<LinkId> on_route(route.begin(), route.end());
        if (t.node_of(src) == t.node_of(dst)) {
          EXPECT_EQ(named, route) << topology << " " << src << " -> " << dst;
        }
        for (LinkId id : named)
          EXPECT_TRUE(on_route.count(id)) << topology << " " << src << " -> " << dst;
      }
    }
  }
}

TEST(NodeShapes, TransfersIntoASmallerNodeShareItsNics) {
  // Every device of H100 node 0 sends S to a device of A100 node 2: device i to 16 + i mod 4.
  // A node of d devices and k NICs has device j on NIC j·k/d, so with k NICs each takes 8/k of
  // the eight transfers (the H100 node's eight NICs one each). On a 100 Gb/s network (12.5 GB/s),
  // slower than either device's host link, every transfer runs at the NIC's rate, and the
  // busiest port, an A100 node's NIC, is busy 8/k · S / 12.5 GB/s.
  const double nic_bytes_per_s = 100e9 / 8;
  const double bytes = 1e9;
  for (int k : {1, 2, 4}) {
    const ClusterSpec c =
        read(replace(shapes, "nics_per_node: 2", "nics_per_node: " + std::to_string(k))).cluster;
    ASSERT_LT(nic_bytes_per_s, c.device_at(0).host_link_bandwidth_bytes_per_s.value);
    ASSERT_LT(nic_bytes_per_s, c.device_at(16).host_link_bandwidth_bytes_per_s.value);
    const Topology t(c);
    Phase phase;
    for (int i = 0; i < 8; ++i)
      phase.transfers.push_back({i, 16 + i % 4, bytes});
    const double expected_s = 8.0 / k * bytes / nic_bytes_per_s;
    EXPECT_NEAR(phase_load(phase, t).busiest_s, expected_s, 1e-9 * expected_s) << k;
  }
}

TEST(NodeShapes, ADataParallelStepIsBoundByTheSmallerNodesNics) {
  // The same device everywhere, so that only the node shapes differ: the 4-GPU nodes with one
  // NIC each on a 25 Gb/s network. Their nodes hold 4 members of the gradient all-reduce and the
  // 8-GPU nodes 8, so it cannot run hierarchically nor as one ring channel per local index (as on
  // uniform nodes, each channel's NIC carrying 1/8 of it): it runs as one ring over the 32
  // ranks, whose six hops between nodes each carry 2·31/32 of the gradients G through one NIC,
  // at that NIC link's rate, the 4-GPU nodes' only NICs among them.
  const std::string one_nic =
      replace(replace(replace(shapes, "device: A100-SXM4-80GB", "device: H100-SXM5-80GB"),
                      "nics_per_node: 2", "nics_per_node: 1"),
              "link_bandwidth_gbps: 100", "link_bandwidth_gbps: 25");
  const Scenario s = read(one_nic);
  double gradient_bytes = 0;
  const Plan plan = build_plan(s.job, RankScope::all_ranks);
  for (const Op& op : plan.ops_of(0)) {
    if (op.kind == OpKind::collective && op.stream == Stream::dp_comm)
      gradient_bytes += op.bytes;
  }
  ASSERT_GT(gradient_bytes, 0);
  const Prediction p = predict_text(one_nic);
  EXPECT_EQ(p.replicas_simulated_as_one, 1);
  EXPECT_NE(p.ranks_differ.find("node groups of different node shapes"), std::string::npos);
  EXPECT_EQ(p.collectives_by_algorithm, (std::map<std::string, std::uint64_t>{{"ring", 1}}));
  const double hop_bytes = 2.0 * 31 / 32 * gradient_bytes;
  const auto nic_tier = std::find_if(p.link_tiers.begin(), p.link_tiers.end(),
                                     [](const LinkTier& t) { return t.tier == "NIC"; });
  ASSERT_NE(nic_tier, p.link_tiers.end());
  // Six hops, each up one NIC link and down another, every one carrying a hop's bytes.
  EXPECT_EQ(nic_tier->used, 12u);
  EXPECT_NEAR(nic_tier->bytes, 12 * hop_bytes, 1e-9 * hop_bytes);
  for (const LinkUsage& l : nic_tier->busiest) {
    EXPECT_NEAR(l.bytes, hop_bytes, 1e-9 * hop_bytes) << l.name;
  }
  // The step waits for the ring at least as long as one hop takes at the NIC link's rate (the
  // scenario's 25 Gb/s times the catalog's NIC efficiency, as prepare_network builds it).
  const ClusterNetwork network = prepare_network(s.cluster, Catalog::builtin(), nullptr, "");
  const double nic_bytes_per_s =
      network.topology.link(nic_tier->busiest.front().link).bandwidth_bytes_per_s;
  EXPECT_LT(nic_bytes_per_s, 25e9 / 8 + 1);
  EXPECT_GE(p.step_time_s, hop_bytes / nic_bytes_per_s);
  EXPECT_GT(p.breakdown.exposed_comm_s, 0);
  // The report shows each group's shape.
  const std::string text = format_text(p);
  EXPECT_NE(text.find("16 x H100-SXM5-80GB (a100) in 4 nodes of 4, nvswitch, 1 NIC"),
            std::string::npos)
      << text;
  const std::string json = format_json(p);
  EXPECT_NE(json.find("\"devices_per_node\": 4"), std::string::npos);
}

TEST(NodeShapes, ErrorsNameTheirKeysAndWhatIsValid) {
  EXPECT_SCENARIO_ERROR(replace(shapes, "devices_per_node: 4,", "devices_per_node: 0,"),
                        "s.yaml:5:");
  EXPECT_SCENARIO_ERROR(replace(shapes, "devices_per_node: 4,", "devices_per_node: 0,"),
                        "cluster.node_groups[1].devices_per_node: 0 is out of range; use a value "
                        "from 1 to 1024");
  // tp 8 fits the H100 nodes but would split a tensor-parallel group over two A100 nodes.
  EXPECT_SCENARIO_ERROR(replace(shapes, "  dp: 32\n", "  tp: 8\n  dp: 4\n"),
                        "parallelism.tp: 8 does not divide the 4 devices of a node of node group "
                        "'a100'; a tensor-parallel group stays inside one node, so tp divides "
                        "every group's devices_per_node: use one of 1, 2, 4");
  EXPECT_SCENARIO_ERROR(replace(shapes, "nics_per_node: 2}", "nics_per_node: 2, node_fabric: ici}"),
                        "cluster.node_groups[1].node_fabric: ici is the chip-to-chip link of a "
                        "torus");
  EXPECT_SCENARIO_ERROR(replace(shapes, "nics_per_node: 2}", "nics_per_node: 0}"),
                        "cluster.node_groups[1].nics_per_node: 0 is out of range");
  // The PCIe layout is every PCIe node's, so at most the smallest PCIe node's devices.
  EXPECT_SCENARIO_ERROR(
      replace(replace(shapes, "nics_per_node: 2}", "nics_per_node: 2, node_fabric: pcie}"),
              "  devices_per_node: 8\n", "  devices_per_node: 8\n  pcie_switches_per_node: 8\n"),
      "cluster.pcie_switches_per_node: 8 is out of range; use a value from 1 to 4");
  // cluster.devices_per_node may be left out only when every group gives its own.
  EXPECT_SCENARIO_ERROR(replace(shapes, "  devices_per_node: 8\n", ""),
                        "cluster.devices_per_node: required key");
  const Scenario every_group = read(replace(replace(shapes, "  devices_per_node: 8\n", ""),
                                            "nodes: 2}", "nodes: 2, devices_per_node: 8}"));
  EXPECT_EQ(every_group.cluster.device_count(), 32);
}

}  // namespace
}  // namespace scaleplan
