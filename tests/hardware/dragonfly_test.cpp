#include <gtest/gtest.h>

#include "hardware/topology.hpp"
#include "tests/hardware/topology_fixtures.hpp"

namespace scaleplan {
namespace {

ClusterSpec dragonfly(int nodes) {
  // One device and one NIC per node; 4 routers per group, 2 NICs per router, 2 global links per
  // router: a group has 8 global ports, enough for 9 groups.
  ClusterSpec c = test::cluster(nodes, 1, 1);
  c.network.topology = NetworkTopologyKind::dragonfly;
  c.network.dragonfly = {4, 2, 2};
  return c;
}

TEST(Dragonfly, GroupsOfRoutersJoinedAllToAll) {
  // 24 NICs: 12 routers, 3 groups; each pair of groups gets 8 / 2 = 4 global links.
  const Topology t(dragonfly(24));
  // 24 devices + 24 node switches + 24 NICs + 12 routers.
  EXPECT_EQ(t.vertex_count(), 84u);
  // Duplex: 24 device-switch + 24 device-NIC + 24 NIC-router + 3 groups × 6 local + 3 × 4
  // global = 102.
  EXPECT_EQ(t.link_count(), 204u);
  // Same router: device, NIC, router, NIC, device. Same group: one local hop more.
  EXPECT_EQ(t.route(0, 1).size(), 4u);
  EXPECT_EQ(t.route(0, 2).size(), 5u);
  // Groups 0 and 1 meet at their routers 0 and 1 (ports 0-3 of each): router 0 to router 0 is
  // device, NIC, router, global link, router, NIC, device (5 links); router 3 to router 3 adds
  // a local hop at each end (7 links), the minimal-routing diameter.
  EXPECT_EQ(t.route(0, 8).size(), 5u);
  EXPECT_EQ(t.route(6, 14).size(), 7u);
  std::size_t diameter = 0;
  for (int a = 0; a < 24; ++a) {
    for (int b = 0; b < 24; ++b)
      diameter = std::max(diameter, t.route(a, b).size());
  }
  EXPECT_EQ(diameter, 7u);
}

TEST(Dragonfly, TooManyGroupsIsAnError) {
  // 80 NICs: 40 routers, 10 groups, but 4 routers × 2 global links reach only 9.
  EXPECT_THROW(Topology{dragonfly(80)}, TopologyError);
  EXPECT_NO_THROW(Topology{dragonfly(72)});
}

}  // namespace
}  // namespace scaleplan
