// Route search by route classes (hardware/route_search.cpp) finds, link for link, the routes of a
// plain breadth-first search from every source device, and keeps tables per class, not per
// device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include "hardware/topology.hpp"
#include "tests/hardware/topology_fixtures.hpp"

namespace scaleplan {
namespace {

using test::cluster;

// The key D-mod-k routing takes for a source: where it is wired to a NIC of its own that hangs
// from a leaf switch, that NIC's leaf port, numbering the NICs leaf by leaf (each leaf's from its
// index times the most NICs a leaf holds, in the order they were linked); else its index.
std::uint64_t route_key(const Topology& t, int src) {
  const auto is_device = [&](VertexId v) { return t.vertex(v).kind == VertexKind::device; };
  const auto is_nic = [&](VertexId v) { return t.vertex(v).kind == VertexKind::nic; };
  const auto is_leaf = [&](VertexId v) {
    return t.vertex(v).kind == VertexKind::network_switch && t.vertex(v).tier == 1;
  };
  std::vector<std::vector<VertexId>> leaf_nics;
  std::vector<int> devices_of(t.vertex_count(), 0);
  std::vector<VertexId> nics_of_src;
  for (LinkId id = 0; id < t.link_count(); ++id) {
    const Link& l = t.link(id);
    if (is_nic(l.from) && is_leaf(l.to)) {
      const auto leaf = static_cast<std::size_t>(t.vertex(l.to).index);
      leaf_nics.resize(std::max(leaf_nics.size(), leaf + 1));
      leaf_nics[leaf].push_back(l.from);
    }
    if (is_device(l.from) && is_nic(l.to)) {
      ++devices_of[l.to];
      if (l.from == t.device_vertex(src))
        nics_of_src.push_back(l.to);
    }
  }
  std::size_t most = 0;
  for (const auto& nics : leaf_nics)
    most = std::max(most, nics.size());
  if (nics_of_src.size() == 1 && devices_of[nics_of_src.front()] == 1) {
    for (std::size_t leaf = 0; leaf < leaf_nics.size(); ++leaf) {
      const auto& nics = leaf_nics[leaf];
      const auto at = std::find(nics.begin(), nics.end(), nics_of_src.front());
      if (at != nics.end())
        return leaf * most + static_cast<std::uint64_t>(at - nics.begin());
    }
  }
  return static_cast<std::uint64_t>(src);
}

// The routing rule of hardware/topology.hpp, done the plain way: hops from the source to every
// vertex by breadth-first search, no edge out of a device but the source's (unless devices
// forward) and none from a NIC to a device of the source's node; then back from the destination,
// at each vertex along the links into it one hop closer to the source, in the order they were
// added, the digits of the source's key choosing (least significant first).
std::vector<LinkId> plain_route(const Topology& t, int src, int dst, bool devices_forward) {
  const std::size_t n = t.vertex_count();
  std::vector<std::vector<LinkId>> out(n), in(n);
  for (LinkId id = 0; id < t.link_count(); ++id) {
    out[t.link(id).from].push_back(id);
    in[t.link(id).to].push_back(id);
  }
  const VertexId source = t.device_vertex(src);
  const auto may = [&](VertexId from, VertexId to) {
    if (devices_forward)
      return true;
    if (t.vertex(from).kind == VertexKind::device && from != source)
      return false;
    return !(t.vertex(from).kind == VertexKind::nic && t.vertex(to).kind == VertexKind::device &&
             t.vertex(to).node == t.vertex(source).node);
  };
  constexpr int none = std::numeric_limits<int>::max();
  std::vector<int> hops(n, none);
  std::vector<VertexId> queue{source};
  hops[source] = 0;
  for (std::size_t head = 0; head < queue.size(); ++head) {
    const VertexId u = queue[head];
    for (LinkId id : out[u]) {
      const VertexId v = t.link(id).to;
      if (hops[v] == none && may(u, v)) {
        hops[v] = hops[u] + 1;
        queue.push_back(v);
      }
    }
  }
  std::vector<LinkId> path;
  std::uint64_t spread = route_key(t, src);
  for (VertexId v = t.device_vertex(dst); v != source;) {
    std::vector<LinkId> candidates;
    for (LinkId id : in[v]) {
      const VertexId u = t.link(id).from;
      if (hops[u] != none && hops[u] + 1 == hops[v] && may(u, v))
        candidates.push_back(id);
    }
    EXPECT_FALSE(candidates.empty());
    if (candidates.empty())
      return {};
    const LinkId chosen = candidates[spread % candidates.size()];
    spread /= candidates.size();
    path.push_back(chosen);
    v = t.link(chosen).from;
  }
  std::reverse(path.begin(), path.end());
  return path;
}

void expect_plain_routes(const Topology& t, bool devices_forward = false) {
  const int devices = t.device_count();
  int differing = 0;
  for (int src = 0; src < devices; ++src) {
    for (int dst = 0; dst < devices; ++dst) {
      if (t.route(src, dst) != plain_route(t, src, dst, devices_forward) && ++differing <= 5)
        ADD_FAILURE() << src << " -> " << dst;
    }
  }
  EXPECT_EQ(differing, 0);
}

TEST(RouteSearch, FatTreesRouteAsAPlainSearchDoes) {
  expect_plain_routes(Topology(cluster(1, 8, 8)));     // one node, no network
  expect_plain_routes(Topology(cluster(2, 8, 8)));     // one leaf
  expect_plain_routes(Topology(cluster(6, 8, 8, 8)));  // two tiers: leaf, spine
  expect_plain_routes(Topology(cluster(4, 8, 2)));     // NICs shared by 4 devices
  expect_plain_routes(Topology(cluster(8, 2, 2, 4)));  // three tiers of radix 4, 4 pods
  ClusterSpec oversubscribed = cluster(8, 2, 2, 4);
  oversubscribed.network.oversubscription = {3, 1};  // leaves of 3 down, 1 up
  expect_plain_routes(Topology(oversubscribed));
  ClusterSpec straddling = cluster(5, 3, 3, 8);  // a node's NICs over two leaves
  expect_plain_routes(Topology(straddling));
  ClusterSpec mesh = cluster(4, 4, 2, 4);
  mesh.node_fabric = NodeFabric::nvlink_mesh;
  expect_plain_routes(Topology(mesh));
}

TEST(RouteSearch, RailAndPcieFabricsRouteAsAPlainSearchDoes) {
  ClusterSpec rail = cluster(4, 4, 4);
  rail.network.topology = NetworkTopologyKind::rail_optimized;
  expect_plain_routes(Topology(rail));
  ClusterSpec rails = cluster(10, 4, 4, 8);  // rails over several leaves, two tiers
  rails.network.topology = NetworkTopologyKind::rail_optimized;
  expect_plain_routes(Topology(rails));
  // NICs on PCIe switches: a route may cross another node from NIC to NIC (transit), and a
  // device leaves its node through several NICs at different hops.
  ClusterSpec pcie = cluster(3, 8, 2);
  pcie.node_fabric = NodeFabric::pcie;
  pcie.pcie = {2, 2, 40e9};
  expect_plain_routes(Topology(pcie));
  // Three tiers of radix 4, a node's NICs over two leaves: through a node (leaf, NIC, PCIe
  // switch, NIC, leaf) ties with the way through the core.
  ClusterSpec pcie_tree = cluster(4, 4, 4, 4);
  pcie_tree.node_fabric = NodeFabric::pcie;
  pcie_tree.pcie = {2, 1, 40e9};
  expect_plain_routes(Topology(pcie_tree));
  // NICs on one PCIe switch over leaves in different pods: the way through a node (leaf, NIC,
  // PCIe switch, NIC, leaf: 4 hops) ties with the way through the core (4 hops), and some routes
  // cross a third node (9 here, and 4 in the second).
  ClusterSpec crossing = cluster(6, 3, 4, 4);
  crossing.node_fabric = NodeFabric::pcie;
  crossing.pcie = {1, 1, 40e9};
  crossing.network.oversubscription = {3, 1};
  expect_plain_routes(Topology(crossing));
  crossing = cluster(6, 4, 4, 6);
  crossing.node_fabric = NodeFabric::pcie;
  crossing.pcie = {1, 1, 40e9};
  expect_plain_routes(Topology(crossing));
  ClusterSpec pcie_rail = cluster(6, 4, 2, 4);
  pcie_rail.network.topology = NetworkTopologyKind::rail_optimized;
  pcie_rail.node_fabric = NodeFabric::pcie;
  pcie_rail.pcie = {1, 1, 40e9};
  expect_plain_routes(Topology(pcie_rail));
}

TEST(RouteSearch, DragonfliesRouteAsAPlainSearchDoes) {
  ClusterSpec dragonfly = cluster(24, 2, 1);
  dragonfly.network.topology = NetworkTopologyKind::dragonfly;
  dragonfly.network.dragonfly = {4, 2, 2};
  expect_plain_routes(Topology(dragonfly));
  ClusterSpec wide = cluster(18, 2, 2);  // 2 NICs a node, 3 a router: nodes over two routers
  wide.network.topology = NetworkTopologyKind::dragonfly;
  wide.network.dragonfly = {3, 3, 2};
  expect_plain_routes(Topology(wide));
}

TEST(RouteSearch, ToriRouteAsAPlainSearchDoes) {
  expect_plain_routes(Topology(test::torus_cluster({4, 4}, 4, 50e9)), true);
  expect_plain_routes(Topology(test::torus_cluster({3, 2, 5}, 2, 50e9)), true);
  expect_plain_routes(Topology(test::torus_cluster({2, 2, 2}, 8, 50e9)), true);
  ClusterSpec open = test::torus_cluster({4, 3, 5}, 4, 50e9);
  open.network.torus.wraparound = {true, false, false};  // a slice: two axes do not wrap
  expect_plain_routes(Topology(open), true);
  // Devices placed on the axes in another order (rank_axes): the hops along each axis follow the
  // placement, not the index's digits in axis order.
  ClusterSpec placed = test::torus_cluster({4, 3, 5}, 4, 50e9);
  placed.network.torus.rank_axes = {2, 0, 1};
  expect_plain_routes(Topology(placed), true);
  placed.network.torus.wraparound = {false, true, true};
  expect_plain_routes(Topology(placed), true);
}

TEST(RouteSearch, CustomNetworksRouteAsAPlainSearchDoes) {
  // A ring of five devices with a switch across it: per-source tables.
  std::vector<Topology::DuplexLink> links;
  for (VertexId d = 0; d < 5; ++d)
    links.push_back({d, (d + 1) % 5, 10e9, 1e-6});
  links.push_back({0, 5, 10e9, 1e-6});
  links.push_back({3, 5, 10e9, 1e-6});
  const Topology t = Topology::custom(5, 1, links);
  expect_plain_routes(t, true);
  EXPECT_EQ(t.route_class_count(), 5u);
  EXPECT_EQ(t.route_class_search_work(), static_cast<double>(t.vertex_count() + t.link_count()));
}

// Every device routes to its ring neighbours and to the same local device four nodes on.
Topology::RouteTableUse route_from_every_device(const Topology& t, int per_node) {
  const int n = t.device_count();
  for (int d = 0; d < n; ++d) {
    t.route(d, (d + 1) % n);
    t.route(d, (d + n - 1) % n);
    t.route(d, (d + 4 * per_node) % n);
  }
  return t.route_table_use();
}

std::size_t switch_count(const Topology& t) {
  std::size_t switches = 0;
  for (VertexId v = 0; v < t.vertex_count(); ++v)
    switches += t.vertex(v).kind == VertexKind::network_switch ? 1 : 0;
  return switches;
}

std::size_t switch_links(const Topology& t) {
  std::size_t links = 0;
  for (LinkId id = 0; id < t.link_count(); ++id) {
    links += t.vertex(t.link(id).from).kind == VertexKind::network_switch &&
                     t.vertex(t.link(id).to).kind == VertexKind::network_switch
                 ? 1
                 : 0;
  }
  return links;
}

TEST(RouteSearch, TablesGrowWithSwitchesNotDevices) {
  // Two-tier fat-trees of radix 64 (32 NICs a leaf, 32 spines), one NIC per device, 64 to 1,024
  // devices: every leaf has the same spines, so all leaves are twins and every device reads one
  // table, of 2 bytes a switch, searched over the switches and their links. A table per device
  // held 2 bytes a vertex per device, each searched over every vertex and link.
  for (int nodes : {8, 32, 128}) {
    const Topology t(cluster(nodes, 8, 8, 64));
    const std::size_t switches = switch_count(t);
    const Topology::RouteTableUse use = route_from_every_device(t, 8);
    EXPECT_EQ(use.tables, 1u) << nodes;
    EXPECT_EQ(use.bytes, 2 * switches) << nodes;
    EXPECT_EQ(t.route_class_table_bytes(), 2 * switches);
    EXPECT_LE(t.route_class_count(), switches);
    EXPECT_EQ(t.route_class_search_work(), static_cast<double>(switches + switch_links(t)));
  }
  // Three tiers of radix 8 (4 NICs a leaf, pods of 4 leaves, a node per leaf): one table per
  // pod, 4 and 8 of them for 64 and 128 devices.
  for (int nodes : {16, 32}) {
    const Topology t(cluster(nodes, 4, 4, 8));
    const Topology::RouteTableUse use = route_from_every_device(t, 4);
    EXPECT_EQ(use.tables, static_cast<std::size_t>(nodes / 4)) << nodes;
    EXPECT_LT(use.tables, switch_count(t));
  }
  // Rail-optimized: a rail's leaves (one per group of nodes) are not twins of each other, but
  // they are leaves, not devices: one table per leaf at most.
  ClusterSpec rail = cluster(32, 4, 4, 8);
  rail.network.topology = NetworkTopologyKind::rail_optimized;
  const Topology rails(rail);
  EXPECT_LE(route_from_every_device(rails, 4).tables, switch_count(rails));
  // Through PCIe trees, a class is the set of switches and hops a device leaves through: two
  // per node here (the devices under each PCIe switch), shared by the nodes of a leaf.
  ClusterSpec pcie = cluster(32, 4, 2, 8);
  pcie.node_fabric = NodeFabric::pcie;
  pcie.pcie = {2, 1, 40e9};
  const Topology t(pcie);
  const Topology::RouteTableUse use = route_from_every_device(t, 4);
  EXPECT_LE(use.tables, 2 * switch_count(t));
  EXPECT_LT(use.tables, static_cast<std::size_t>(t.device_count()) / 4);
  // A torus needs no table.
  const Topology torus(test::torus_cluster({8, 8}, 4, 50e9));
  EXPECT_EQ(route_from_every_device(torus, 4).tables, 0u);
  EXPECT_EQ(torus.route_class_count(), 1u);
}

TEST(RouteSearch, DevicesOfALeafShareTheirClass) {
  const Topology t(cluster(8, 8, 8, 32));  // 16 NICs a leaf, two tiers
  for (int d = 1; d < t.device_count(); ++d)
    EXPECT_EQ(t.route_class(d), t.route_class(0)) << d;  // all leaves are twins
  const Topology shared(cluster(4, 8, 2));               // NICs shared by 4 devices, one leaf
  EXPECT_EQ(shared.route_class(0), shared.route_class(7));
}

}  // namespace
}  // namespace scaleplan
