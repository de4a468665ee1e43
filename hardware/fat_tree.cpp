// Folded-Clos generators: the fat-tree (nodes fill leaves in order) and the rail-optimized fabric
// (NIC k of every node on the rail-k leaf), both with per-tier oversubscription.
#include <algorithm>
#include <cmath>
#include <limits>

#include "hardware/topology.hpp"

namespace scaleplan {

namespace {

// Ports of a switch below the top tier, split into downlinks and uplinks as close to
// oversubscription : 1 as whole ports allow (downlinks rounded down, at least one of each).
struct PortSplit {
  int down = 1;
  int up = 1;
};

PortSplit split_ports(const NetworkSpec& net, int tier) {
  const double o = net.oversubscription_at(tier);
  const int radix = net.switch_radix;
  const int down = std::clamp(static_cast<int>(std::floor(radix * o / (1.0 + o))), 1, radix - 1);
  return {down, radix - down};
}

std::string tier_limit_message(std::size_t nics, int radix, int tiers, std::size_t capacity) {
  return std::to_string(nics) + " NICs do not fit in " + std::to_string(tiers) +
         (tiers == 1 ? " tier" : " tiers") + " of radix-" + std::to_string(radix) +
         " switches, which hold at most " + std::to_string(capacity) + "; raise switch_radix" +
         (tiers < 3 ? " or tiers (at most 3)" : "");
}

}  // namespace

void Topology::build_fat_tree(const ClusterSpec& cluster,
                              const std::vector<VertexId>& nic_vertices) {
  // Nodes fill leaves in order, so that a node's NICs share a leaf where they fit.
  const int down = split_ports(cluster.network, 1).down;
  std::vector<std::vector<VertexId>> leaves;
  for (std::size_t i = 0; i < nic_vertices.size(); ++i) {
    if (i % down == 0)
      leaves.emplace_back();
    leaves.back().push_back(nic_vertices[i]);
  }
  build_folded_clos(cluster.network, leaves);
}

void Topology::build_rail_optimized(const ClusterSpec& cluster,
                                    const std::vector<VertexId>& nic_vertices) {
  // Rail k: NIC k of every node (that has one: nodes of fewer NICs, in node groups of their own
  // shape, are on the first rails only). A rail of more nodes than a leaf's downlinks spans
  // several leaves; the leaves of a group of nodes sit side by side (one pod per group where they
  // fit), so that traffic between rails of nearby nodes stays low in the tree.
  int rails = 0;
  for (VertexId nic : nic_vertices)
    rails = std::max(rails, vertices_[nic].index + 1);
  const int down = split_ports(cluster.network, 1).down;
  const int groups = (cluster.nodes + down - 1) / down;
  std::vector<std::vector<VertexId>> by_rail(static_cast<std::size_t>(groups) * rails);
  for (VertexId nic : nic_vertices) {
    const Vertex& v = vertices_[nic];
    by_rail[static_cast<std::size_t>(v.node / down) * rails + v.index].push_back(nic);
  }
  std::vector<std::vector<VertexId>> leaves;
  for (auto& rail : by_rail) {
    if (!rail.empty())
      leaves.push_back(std::move(rail));
  }
  build_folded_clos(cluster.network, leaves);
}

void Topology::build_folded_clos(const NetworkSpec& net,
                                 const std::vector<std::vector<VertexId>>& leaf_nics) {
  const double bw = net.link_bandwidth_bytes_per_s;
  const double latency = net.switch_latency_s;
  const int radix = net.switch_radix;
  const PortSplit leaf_ports = split_ports(net, 1);
  const PortSplit agg_ports = split_ports(net, 2);
  const auto leaves = static_cast<int>(leaf_nics.size());
  std::size_t nic_count = 0;
  for (const auto& l : leaf_nics)
    nic_count += l.size();

  // Fewest tiers that hold the leaves: one leaf; leaves ≤ radix under one spine tier; pods of
  // agg_ports.down leaves, at most radix pods (one port per pod on every core switch).
  const auto per_leaf = static_cast<std::size_t>(leaf_ports.down);
  const std::size_t capacity[] = {per_leaf, per_leaf * radix,
                                  per_leaf * agg_ports.down * static_cast<std::size_t>(radix)};
  const int needed = leaves == 1 ? 1 : leaves <= radix ? 2 : 3;
  const int pods = (leaves + agg_ports.down - 1) / agg_ports.down;
  const int listed = static_cast<int>(net.oversubscription.size());
  // An oversubscription list of n tiers describes a tree of at least n + 1 tiers.
  const int tiers = net.tiers.value_or(std::max(needed, listed > 1 ? listed + 1 : 1));
  if (tiers < 1 || tiers > 3)
    throw TopologyError("a fat-tree has 1 to 3 switch tiers, not " + std::to_string(tiers));
  // The tree the scenario asked for (or the fewest tiers that could hold it) is the one the
  // message names, so that `tiers: 2` is never reported as three.
  if (tiers < needed || (tiers == 3 && pods > radix))
    throw TopologyError(tier_limit_message(nic_count, radix, tiers, capacity[tiers - 1]));
  if (listed > 1 && listed >= tiers) {
    throw TopologyError("oversubscription lists " + std::to_string(listed) +
                        " tiers but the fat-tree has " + std::to_string(tiers) +
                        " tiers, and its top tier has no uplinks; list at most " +
                        std::to_string(tiers - 1));
  }

  std::vector<VertexId> leaf(leaves);
  for (int l = 0; l < leaves; ++l) {
    leaf[l] = add_vertex({VertexKind::network_switch, -1, l, 1});
    for (VertexId nic : leaf_nics[l])
      add_duplex_link(nic, leaf[l], bw, latency);
  }
  key_routes_by_leaf_port(leaf_nics);
  if (tiers == 1)
    return;
  if (tiers == 2) {
    // Every leaf has one uplink to each of its leaf_ports.up spines.
    for (int s = 0; s < leaf_ports.up; ++s) {
      const VertexId spine = add_vertex({VertexKind::network_switch, -1, s, 2});
      for (int l = 0; l < leaves; ++l)
        add_duplex_link(leaf[l], spine, bw, latency);
    }
    return;
  }
  // Three tiers: a pod is agg_ports.down leaves under leaf_ports.up aggregation switches, each
  // leaf linked once to each. Aggregation switch j of every pod has agg_ports.up uplinks, one to
  // each core switch of core group j; a core group is one vertex and the agg_ports.up links one
  // bundle, so that core-level ECMP spreads perfectly (as a core of radix-port switches with one
  // port per pod would, up to hash collisions).
  std::vector<VertexId> core(leaf_ports.up);
  for (int j = 0; j < leaf_ports.up; ++j)
    core[j] = add_vertex({VertexKind::network_switch, -1, j, 3});
  for (int p = 0; p < pods; ++p) {
    for (int j = 0; j < leaf_ports.up; ++j) {
      const VertexId agg = add_vertex({VertexKind::network_switch, -1, p * leaf_ports.up + j, 2});
      for (int l = p * agg_ports.down; l < std::min(leaves, (p + 1) * agg_ports.down); ++l)
        add_duplex_link(leaf[l], agg, bw, latency);
      add_duplex_link(agg, core[j], bw * agg_ports.up, latency);
    }
  }
}

void Topology::key_routes_by_leaf_port(const std::vector<std::vector<VertexId>>& leaf_nics) {
  // NICs are numbered leaf by leaf, each leaf's from l times the most NICs a leaf holds (a fat
  // tree's numbering is then its devices'). A rail puts NIC k of every node on its leaf, so the
  // devices under one leaf are numbered devices-per-node apart, and their indices modulo a leaf's
  // uplinks took a few of the spines (4 of 32 for 8 devices a node); their leaf ports take each a
  // spine of its own. A NIC that serves several devices leaves them their indices.
  key_routes_by_device_index();
  std::size_t ports_per_leaf = 0;
  for (const auto& nics : leaf_nics)
    ports_per_leaf = std::max(ports_per_leaf, nics.size());
  std::vector<std::uint64_t> port_of(vertices_.size(), std::numeric_limits<std::uint64_t>::max());
  for (std::size_t l = 0; l < leaf_nics.size(); ++l) {
    for (std::size_t i = 0; i < leaf_nics[l].size(); ++i)
      port_of[leaf_nics[l][i]] = l * ports_per_leaf + i;
  }
  std::vector<int> devices_of_nic(vertices_.size(), 0);
  const auto device_to_nic = [&](const Link& link) {
    return link.from < static_cast<VertexId>(device_count_) &&
           vertices_[link.to].kind == VertexKind::nic;
  };
  for (const Link& link : links_) {
    if (device_to_nic(link))
      ++devices_of_nic[link.to];
  }
  for (const Link& link : links_) {
    if (device_to_nic(link) && devices_of_nic[link.to] == 1 &&
        port_of[link.to] != std::numeric_limits<std::uint64_t>::max())
      route_key_[link.from] = port_of[link.to];
  }
}

}  // namespace scaleplan
