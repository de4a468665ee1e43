#include <map>
#include <set>

#include <gtest/gtest.h>

#include "hardware/topology.hpp"
#include "tests/hardware/topology_fixtures.hpp"

namespace scaleplan {
namespace {

using test::cluster;

TEST(FatTree, ThreeTiersWithOversubscriptionPerTier) {
  // Radix 8, leaves 3:1 (6 down, 2 up), aggregation 1:1 (4 down, 4 up); a list of two tiers
  // asks for three tiers. 48 nodes of one device and one NIC: 8 leaves, pods of 4 leaves, so 2
  // pods of 2 aggregation switches each, and 2 core groups.
  ClusterSpec c = cluster(48, 1, 1, 8);
  c.network.oversubscription = {3, 1};
  const Topology t(c);
  // Vertices: 48 devices + 48 node switches + 48 NICs + 8 leaves + 2 core groups + 4 aggs.
  EXPECT_EQ(t.vertex_count(), 48u * 3 + 8 + 2 + 4);
  // Duplex links: 48 device-switch, 48 device-NIC, 48 NIC-leaf, 8 leaves × 2 aggs, 4 agg-core.
  EXPECT_EQ(t.link_count(), 2u * (48 * 3 + 16 + 4));
  // Hops: same leaf 4 (device, NIC, leaf, NIC, device); same pod 6 (through an aggregation
  // switch); across pods 8 (aggregation, core, aggregation).
  EXPECT_EQ(t.route(0, 1).size(), 4u);
  EXPECT_EQ(t.route(0, 6).size(), 6u);
  EXPECT_EQ(t.route(0, 47).size(), 8u);
  // Pod 0 sends out through 2 aggregation switches, each with a bundle of 4 core links:
  // 8 links' worth for its 24 NICs, 3:1 = the product of the tiers' ratios (3 · 1).
  double pod_uplinks = 0;
  for (LinkId l = 0; l < t.link_count(); ++l) {
    const Vertex& from = t.vertex(t.link(l).from);
    const Vertex& to = t.vertex(t.link(l).to);
    if (from.kind == VertexKind::network_switch && from.tier == 2 && from.index < 2 &&
        to.tier == 3) {
      pod_uplinks += t.link(l).bandwidth_bytes_per_s;
    }
  }
  EXPECT_DOUBLE_EQ(24 * 25e9 / pod_uplinks, 3.0);
}

std::string topology_error(const ClusterSpec& c) {
  try {
    Topology{c};
  } catch (const TopologyError& e) {
    return e.what();
  }
  return "";
}

TEST(FatTree, TooFewTiersIsAnError) {
  // Radix 4: leaves of 2 NICs; two tiers hold at most 4 leaves (8 NICs), not 20. The message
  // names the two tiers asked for, although 20 NICs would not fit in three either.
  ClusterSpec c = cluster(20, 1, 1, 4);
  c.network.tiers = 2;
  EXPECT_EQ(topology_error(c),
            "20 NICs do not fit in 2 tiers of radix-4 switches, which hold at most 8; raise "
            "switch_radix or tiers (at most 3)");
  c.network.tiers = 1;
  EXPECT_EQ(topology_error(c),
            "20 NICs do not fit in 1 tier of radix-4 switches, which hold at most 2; raise "
            "switch_radix or tiers (at most 3)");
  // Three tiers hold pods of 2 leaves under each of 4 core ports: 16 NICs. With the tiers left
  // to the generator, three is what it tried.
  c.network.tiers.reset();
  EXPECT_EQ(topology_error(c),
            "20 NICs do not fit in 3 tiers of radix-4 switches, which hold at most 16; raise "
            "switch_radix");
  // An oversubscription list longer than the tiers below the top is refused.
  c.network.tiers = 3;
  c.network.oversubscription = {1, 1, 1};
  EXPECT_THROW(Topology{c}, TopologyError);
}

TEST(RailOptimized, NicKOfEveryNodeSharesRailLeafK) {
  // 4 nodes × 4 devices × 4 NICs, radix 8 (4 down, 4 up): 4 rail leaves under 4 spines.
  ClusterSpec c = cluster(4, 4, 4, 8);
  c.network.topology = NetworkTopologyKind::rail_optimized;
  const Topology t(c);
  // 16 devices + 4 node switches + 16 NICs + 4 leaves + 4 spines.
  EXPECT_EQ(t.vertex_count(), 44u);
  // Duplex: 16 device-switch, 16 device-NIC, 16 NIC-leaf, 4 × 4 leaf-spine = 64.
  EXPECT_EQ(t.link_count(), 128u);
  // Same rail: device, NIC, rail leaf, NIC, device.
  for (int k = 0; k < 4; ++k)
    EXPECT_EQ(t.route(k, 12 + k).size(), 4u);
  // Across rails, through a spine (6 links), and never through another GPU over NVSwitch.
  const auto& cross = t.route(0, 4 + 1);
  ASSERT_EQ(cross.size(), 6u);
  EXPECT_EQ(t.vertex(t.link(cross[2]).to).tier, 2);
  // The same cluster as a plain fat-tree puts a node's NICs on one leaf: same rail is 6 links.
  c.network.topology = NetworkTopologyKind::fat_tree;
  EXPECT_EQ(Topology(c).route(0, 12).size(), 6u);
}

TEST(RailOptimized, LongRailsSpanSeveralLeaves) {
  // 6 nodes, leaves of 4 downlinks: nodes 0-3 and 4-5 form two groups, 2 rails each: 4 leaves.
  ClusterSpec c = cluster(6, 2, 2, 8);
  c.network.topology = NetworkTopologyKind::rail_optimized;
  const Topology t(c);
  int leaves = 0;
  for (VertexId v = 0; v < t.vertex_count(); ++v)
    leaves += t.vertex(v).kind == VertexKind::network_switch && t.vertex(v).tier == 1;
  EXPECT_EQ(leaves, 4);
  // Rail 1 of node 0 and node 3 share a leaf (4 links); node 0 and node 4 do not (6).
  EXPECT_EQ(t.route(1, 7).size(), 4u);
  EXPECT_EQ(t.route(1, 9).size(), 6u);
}

TEST(RailOptimized, TrafficBetweenGroupsOfNodesTakesEverySpine) {
  // 8 nodes of 4 devices and 4 NICs, leaves of 4 down and 4 up: two groups of 4 nodes, a leaf
  // per group and rail, 4 spines. Every device sends to its peer of the same rail in the other
  // group (pipeline stages a group apart): a rail leaf's 4 sources leave over 4 uplinks, one
  // route each. (Keyed by the device's index, 4·node + rail, the 4 sources of a rail agreed
  // modulo 4 and shared one uplink, the others idle: a quarter of the fabric's bisection.)
  ClusterSpec c = cluster(8, 4, 4, 8);
  c.network.topology = NetworkTopologyKind::rail_optimized;
  const Topology t(c);
  std::map<LinkId, int> routes_on_uplink;
  int uplinks = 0;
  for (LinkId id = 0; id < t.link_count(); ++id) {
    const Link& l = t.link(id);
    uplinks += t.vertex(l.from).kind == VertexKind::network_switch && t.vertex(l.from).tier == 1 &&
               t.vertex(l.to).tier == 2;
  }
  EXPECT_EQ(uplinks, 8 * 4);
  for (int src = 0; src < 32; ++src) {
    for (LinkId id : t.route(src, (src + 16) % 32)) {
      const Link& l = t.link(id);
      if (t.vertex(l.from).kind == VertexKind::network_switch && t.vertex(l.from).tier == 1 &&
          t.vertex(l.to).tier == 2)
        ++routes_on_uplink[id];
    }
  }
  EXPECT_EQ(routes_on_uplink.size(), 32u);
  for (const auto& [link, routes] : routes_on_uplink)
    EXPECT_EQ(routes, 1) << t.link_name(link);
}

}  // namespace
}  // namespace scaleplan
