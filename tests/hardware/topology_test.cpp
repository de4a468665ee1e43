#include "hardware/topology.hpp"

#include <set>

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

DeviceSpec test_device() {
  DeviceSpec d;
  d.name = "test";
  d.intra_node_link_bandwidth_bytes_per_s = {300e9, "test"};
  d.host_link_bandwidth_bytes_per_s = {32e9, "test"};
  d.intra_node_link_latency_s = {1e-6, "test"};
  return d;
}

ClusterSpec cluster(int nodes, int per_node, int nics, int radix = 64) {
  ClusterSpec c;
  c.device = test_device();
  c.nodes = nodes;
  c.devices_per_node = per_node;
  c.network.link_bandwidth_bytes_per_s = 25e9;
  c.network.nics_per_node = nics;
  c.network.switch_radix = radix;
  c.network.switch_latency_s = 1e-7;
  c.network.nic_latency_s = 1e-6;
  return c;
}

TEST(Topology, IntraNodeTrafficStaysOnNvswitch) {
  const Topology t(cluster(2, 8, 8));
  const auto& route = t.route(0, 5);
  ASSERT_EQ(route.size(), 2u);
  EXPECT_EQ(t.link(route[0]).bandwidth_bytes_per_s, 300e9);
  EXPECT_EQ(t.vertex(t.link(route[0]).to).kind, VertexKind::node_switch);
  EXPECT_EQ(t.link(route[1]).to, t.device_vertex(5));
}

TEST(Topology, InterNodeTrafficCrossesNicsAndLeaf) {
  const Topology t(cluster(2, 8, 8));
  const auto& route = t.route(3, 8 + 3);
  // device -> NIC -> leaf -> NIC -> device, all 16 NICs on one 32-port leaf.
  ASSERT_EQ(route.size(), 4u);
  EXPECT_EQ(t.vertex(t.link(route[0]).to).kind, VertexKind::nic);
  EXPECT_EQ(t.vertex(t.link(route[1]).to).kind, VertexKind::network_switch);
  EXPECT_DOUBLE_EQ(t.route_latency_s(3, 11), 1e-6 + 1e-7 + 1e-7 + 1e-6);
}

TEST(Topology, TwoTierFatTreeSpreadsOverSpines) {
  // 8 nodes × 8 NICs = 64 NICs on a radix-16 fabric: 8 leaves of 8 down / 8 up ports, 8 spines.
  const Topology t(cluster(8, 8, 8, 16));
  std::set<VertexId> spines;
  for (int src = 0; src < 8; ++src) {
    const auto& route = t.route(src, 63 - src);
    ASSERT_EQ(route.size(), 6u);
    spines.insert(t.link(route[2]).to);
  }
  EXPECT_GT(spines.size(), 2u) << "ECMP should use several spines";
  // Routes are deterministic: the same pair always takes the same path.
  EXPECT_EQ(t.route(1, 62), Topology(cluster(8, 8, 8, 16)).route(1, 62));
}

TEST(Topology, NodesWithoutNicsAreDisconnected) {
  try {
    Topology t(cluster(2, 8, 0));
    FAIL();
  } catch (const TopologyError& e) {
    EXPECT_NE(std::string(e.what()).find("not connected"), std::string::npos);
  }
}

TEST(Topology, ZeroBandwidthLinkIsRefused) {
  EXPECT_THROW(Topology::custom(2, 0, {{0, 1, 0.0, 0.0}}), TopologyError);
  EXPECT_THROW(Topology::custom(3, 0, {{0, 1, 1e9, 0.0}}), TopologyError);  // device 2 cut off
}

}  // namespace
}  // namespace scaleplan
