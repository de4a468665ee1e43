#include <gtest/gtest.h>

#include "hardware/topology.hpp"
#include "tests/hardware/topology_fixtures.hpp"

namespace scaleplan {
namespace {

using test::torus_cluster;

TEST(Torus, ThreeDimensionalWithWrapAround) {
  // TPU v4 cube: 4×4×4 chips, 4 to a host.
  const Topology t(torus_cluster({4, 4, 4}, 4, 45e9));
  // Only devices: 64 vertices; each has 6 neighbours, so 64·6/2 = 192 duplex links.
  EXPECT_EQ(t.vertex_count(), 64u);
  EXPECT_EQ(t.link_count(), 384u);
  // Device 42 = (2, 2, 2): two hops on each axis, 6 in all; device 63 = (3, 3, 3) is one
  // wrap-around hop on each axis, 3 in all.
  EXPECT_EQ(t.torus_coordinates(42), (std::vector<int>{2, 2, 2}));
  EXPECT_EQ(t.route(0, 42).size(), 6u);
  EXPECT_EQ(t.route(0, 63).size(), 3u);
  EXPECT_DOUBLE_EQ(t.route_latency_s(0, 63), 3e-6);
  // Bisection across axis 0 (x < 2 against x ≥ 2): each of the 16 x-lines crosses twice (1-2
  // and the wrap-around 3-0): 32 links per direction.
  int crossing = 0;
  for (LinkId l = 0; l < t.link_count(); ++l) {
    const int from_x = t.torus_coordinates(static_cast<int>(t.link(l).from))[0];
    const int to_x = t.torus_coordinates(static_cast<int>(t.link(l).to))[0];
    crossing += from_x < 2 && to_x >= 2;
  }
  EXPECT_EQ(crossing, 32);
}

TEST(Torus, TwoDimensionalWithoutWrapOnOneAxis) {
  ClusterSpec c = torus_cluster({4, 4}, 4, 45e9);
  c.network.torus.wraparound = {true, false};
  const Topology t(c);
  // Axis 0 wraps: 4 links per row × 4 rows; axis 1 is a line: 3 links per column × 4 columns.
  EXPECT_EQ(t.link_count(), 2u * (16 + 12));
  // (0,0) to (0,3) walks the whole column (3 hops); (0,0) to (3,0) wraps (1 hop).
  EXPECT_EQ(t.route(0, 12).size(), 3u);
  EXPECT_EQ(t.route(0, 3).size(), 1u);
}

TEST(Torus, CubesJoinedByOpticalSwitches) {
  // 8×4×4 is two 4×4×4 cubes: axis 0 joins them face to face and wraps through the OCS, a
  // plain 8-ring of direct links; 128 devices × 3 axes = 384 duplex links.
  ClusterSpec c = torus_cluster({8, 4, 4}, 4, 45e9);
  c.network.torus.cube = {4, 4, 4};
  const Topology t(c);
  EXPECT_EQ(t.link_count(), 2u * 384);
  // (0,0,0) to (4,0,0): 4 hops either way round the 8-ring.
  EXPECT_EQ(t.route(0, 4).size(), 4u);
  // A 6-long axis is not a whole number of 4-cubes.
  c = torus_cluster({6, 4, 4}, 4, 45e9);
  c.network.torus.cube = {4, 4, 4};
  EXPECT_THROW(Topology{c}, TopologyError);
}

TEST(Torus, SizeMustMatchTheCluster) {
  ClusterSpec c = torus_cluster({4, 4, 4}, 4, 45e9);
  c.nodes = 8;  // 32 devices for a 64-chip torus
  EXPECT_THROW(Topology{c}, TopologyError);
  // A torus needs the ici fabric.
  c = torus_cluster({4, 4}, 4, 45e9);
  c.node_fabric = NodeFabric::nvswitch;
  EXPECT_THROW(Topology{c}, TopologyError);
}

}  // namespace
}  // namespace scaleplan
