#include "hardware/topology.hpp"

#include <set>

#include <gtest/gtest.h>

#include "tests/hardware/topology_fixtures.hpp"

namespace scaleplan {
namespace {

using test::cluster;

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

TEST(Topology, OnChipNicsAreReachedAtTheirOwnRate) {
  // Gaudi-like: the device's own network ports (50 GB/s) carry its scale-out traffic instead of
  // its 32 GB/s host link, and a full mesh joins the devices of a node.
  ClusterSpec c = cluster(2, 8, 8);
  c.node_fabric = NodeFabric::nvlink_mesh;
  c.device.on_chip_nic_bandwidth_bytes_per_s = Figure{50e9, "test"};
  const Topology t(c);
  const auto& out = t.route(3, 8 + 3);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(t.vertex(t.link(out[0]).to).kind, VertexKind::nic);
  EXPECT_EQ(t.link(out[0]).bandwidth_bytes_per_s, 50e9);
  // Inside the node each pair has its own link: 300 GB/s over the 7 peers.
  const auto& inside = t.route(0, 5);
  ASSERT_EQ(inside.size(), 1u);
  EXPECT_DOUBLE_EQ(t.link(inside[0]).bandwidth_bytes_per_s, 300e9 / 7);
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

// Routes pick among equal-cost branches by the source's digits: consecutive sources (a ring's
// senders) take distinct branches.
TEST(Topology, EqualCostBranchesFollowTheSource) {
  const Topology t(cluster(8, 8, 8, 16));
  // 8 leaves of 8 NICs, 8 spines: sources 0..7 (node 0) to node 7 take spines 0..7 once each.
  std::set<VertexId> spines;
  for (int src = 0; src < 8; ++src)
    spines.insert(t.link(t.route(src, 56 + src)[2]).to);
  EXPECT_EQ(spines.size(), 8u);
}

TEST(Topology, PcieNodeWithTwoSwitchesUnderTwoSockets) {
  ClusterSpec c = cluster(1, 8, 0);
  c.node_fabric = NodeFabric::pcie;
  c.pcie = {2, 2, 20e9};
  const Topology t(c);
  // 8 devices + 2 PCIe switches + 2 host bridges; duplex links: 8 device-switch, 2
  // switch-bridge, 1 cross-socket = 11, i.e. 22 directed links.
  EXPECT_EQ(t.vertex_count(), 12u);
  EXPECT_EQ(t.link_count(), 22u);
  // Devices 0-3 share switch 0: device, switch, device.
  EXPECT_EQ(t.route(0, 3).size(), 2u);
  // Device 4 is under the other socket: switch0, socket0, socket1, switch1: 5 links, the
  // cross-socket link (20 GB/s, below the devices' 32 GB/s PCIe) the narrowest.
  const auto& far = t.route(0, 4);
  ASSERT_EQ(far.size(), 5u);
  double narrowest = 1e300;
  for (LinkId l : far)
    narrowest = std::min(narrowest, t.link(l).bandwidth_bytes_per_s);
  EXPECT_DOUBLE_EQ(narrowest, 20e9);
  EXPECT_EQ(t.vertex(t.link(far[1]).to).kind, VertexKind::host_bridge);
  // Every switch of a node is named with its index, the first one too.
  EXPECT_EQ(t.vertex_name(t.link(far[0]).to), "node0/switch0");
  EXPECT_EQ(t.vertex_name(t.link(far[3]).to), "node0/switch1");
  // One socket, two switches: the route turns at the one host bridge (4 links).
  c.pcie = {2, 1, 20e9};
  EXPECT_EQ(Topology(c).route(0, 4).size(), 4u);
}

TEST(Topology, PcieNicsSpreadOverTheSwitches) {
  ClusterSpec c = cluster(2, 8, 2);
  c.node_fabric = NodeFabric::pcie;
  c.pcie = {2, 2, 40e9};
  const Topology t(c);
  // NIC 1 sits on switch 1 with devices 4-7: device 5 reaches node 1's device 5 through
  // switch, NIC, leaf, NIC, switch: 6 links, never crossing a socket.
  const auto& route = t.route(5, 8 + 5);
  ASSERT_EQ(route.size(), 6u);
  for (LinkId l : route)
    EXPECT_NE(t.vertex(t.link(l).to).kind, VertexKind::host_bridge);
}

// endpoint_links names, without routing, the links of a route it can know from node 0: all of
// an intra-node route, and both ends of an inter-node one up to and from the NICs' switches.
void expect_endpoint_links_match_routes(const ClusterSpec& c) {
  const Topology t(c);
  const int n = c.devices_per_node;
  for (int src = 0; src < t.device_count(); src += 3) {
    for (int dst = 0; dst < t.device_count(); dst += 5) {
      std::vector<LinkId> links;
      t.endpoint_links(src, dst, links);
      const std::vector<LinkId>& route = t.route(src, dst);
      if (src / n == dst / n) {
        EXPECT_EQ(links, route) << src << " -> " << dst;
        continue;
      }
      // Up to the first NIC's link into the network, and from the last NIC's link out of it.
      std::vector<LinkId> ends;
      std::size_t up = 0;
      while (t.vertex(t.link(route[up]).from).kind != VertexKind::nic)
        ends.push_back(route[up++]);
      ends.push_back(route[up]);
      std::size_t down = route.size() - 1;
      while (t.vertex(t.link(route[down]).to).kind != VertexKind::nic)
        --down;
      ends.insert(ends.end(), route.begin() + static_cast<std::ptrdiff_t>(down), route.end());
      EXPECT_EQ(links, ends) << src << " -> " << dst;
    }
  }
}

TEST(Topology, EndpointLinksAreTheEndsOfTheRoute) {
  expect_endpoint_links_match_routes(cluster(6, 8, 8, 8));  // two tiers: leaf, spine
  expect_endpoint_links_match_routes(cluster(4, 8, 2));     // NICs shared by 4 devices
  ClusterSpec rail = cluster(4, 4, 4);
  rail.network.topology = NetworkTopologyKind::rail_optimized;
  expect_endpoint_links_match_routes(rail);
  ClusterSpec pcie = cluster(3, 8, 2);
  pcie.node_fabric = NodeFabric::pcie;
  pcie.pcie = {2, 2, 40e9};
  expect_endpoint_links_match_routes(pcie);
  ClusterSpec dragonfly = cluster(24, 2, 1);
  dragonfly.network.topology = NetworkTopologyKind::dragonfly;
  dragonfly.network.dragonfly = {4, 2, 2};
  expect_endpoint_links_match_routes(dragonfly);
  // A torus routes through devices: the whole route.
  const Topology torus(test::torus_cluster({4, 4}, 4, 50e9));
  std::vector<LinkId> links;
  torus.endpoint_links(0, 10, links);
  EXPECT_EQ(links, torus.route(0, 10));
}

}  // namespace
}  // namespace scaleplan
