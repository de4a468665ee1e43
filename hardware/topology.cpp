#include "hardware/topology.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/visitors.hpp>

namespace scaleplan {

namespace {
struct EdgeProperties {
  LinkId link = 0;
};
using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS,
                                         boost::no_property, EdgeProperties>;
constexpr std::uint16_t unreachable = std::numeric_limits<std::uint16_t>::max();

std::uint64_t mix(std::uint64_t x) {
  // splitmix64 finaliser: a fixed, portable hash so that ECMP choices never change between runs.
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

struct Topology::Graph {
  BoostGraph graph;
  mutable std::map<VertexId, std::vector<std::uint16_t>> distances;
  mutable std::unordered_map<std::uint64_t, std::vector<LinkId>> routes;
};

Topology::Topology() : graph_(std::make_unique<Graph>()) {}
Topology::~Topology() = default;
Topology::Topology(Topology&&) noexcept = default;
Topology& Topology::operator=(Topology&&) noexcept = default;

Topology::Topology(const ClusterSpec& cluster) : graph_(std::make_unique<Graph>()) {
  if (cluster.nodes < 1 || cluster.devices_per_node < 1) {
    throw TopologyError("a cluster needs at least one node with at least one device");
  }
  device_count_ = cluster.device_count();
  // Devices first, so that device d is vertex d.
  for (int node = 0; node < cluster.nodes; ++node) {
    for (int i = 0; i < cluster.devices_per_node; ++i) {
      add_vertex({VertexKind::device, node, i, 0});
    }
  }
  std::vector<VertexId> nic_vertices;
  for (int node = 0; node < cluster.nodes; ++node)
    build_node(cluster, node, nic_vertices);
  if (cluster.nodes > 1) {
    if (nic_vertices.empty()) {
      throw TopologyError(std::to_string(cluster.nodes) +
                          " nodes with no NICs are not connected to each other");
    }
    build_fat_tree(cluster, nic_vertices);
  }
  check_connected();
}

Topology Topology::custom(int device_count, int switch_count,
                          const std::vector<DuplexLink>& links) {
  if (device_count < 1)
    throw TopologyError("a network needs at least one device");
  Topology t;
  t.device_count_ = device_count;
  for (int d = 0; d < device_count; ++d)
    t.add_vertex({VertexKind::device, 0, d, 0});
  for (int s = 0; s < switch_count; ++s)
    t.add_vertex({VertexKind::network_switch, -1, s, 1});
  for (const auto& l : links) {
    if (l.a >= t.vertices_.size() || l.b >= t.vertices_.size() || l.a == l.b) {
      throw TopologyError("link " + std::to_string(l.a) + " <-> " + std::to_string(l.b) +
                          " does not join two distinct vertices of the network");
    }
    t.add_duplex_link(l.a, l.b, l.bandwidth_bytes_per_s, l.latency_s);
  }
  t.check_connected();
  return t;
}

VertexId Topology::add_vertex(Vertex v) {
  vertices_.push_back(v);
  return static_cast<VertexId>(boost::add_vertex(graph_->graph));
}

void Topology::add_duplex_link(VertexId a, VertexId b, double bandwidth_bytes_per_s,
                               double latency_s) {
  if (!(bandwidth_bytes_per_s > 0) || !std::isfinite(bandwidth_bytes_per_s)) {
    throw TopologyError("link " + vertex_name(a) + " <-> " + vertex_name(b) +
                        " has no bandwidth; every link needs a bandwidth above zero");
  }
  for (auto [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
    const auto id = static_cast<LinkId>(links_.size());
    links_.push_back({from, to, bandwidth_bytes_per_s, latency_s});
    boost::add_edge(from, to, EdgeProperties{id}, graph_->graph);
  }
}

void Topology::build_node(const ClusterSpec& cluster, int node,
                          std::vector<VertexId>& nic_vertices) {
  const DeviceSpec& d = cluster.device;
  const int n = cluster.devices_per_node;
  const auto first_device = static_cast<VertexId>(node * n);
  const double nvlink_bw = d.intra_node_link_bandwidth_bytes_per_s.value;
  const double nvlink_latency = d.intra_node_link_latency_s.value;
  const double pcie_bw = d.host_link_bandwidth_bytes_per_s.value;
  const double nic_latency = cluster.network.nic_latency_s;

  std::optional<VertexId> pcie_switch;
  switch (cluster.node_fabric) {
    case NodeFabric::nvswitch: {
      const VertexId sw = add_vertex({VertexKind::node_switch, node, 0, 0});
      for (int i = 0; i < n; ++i)
        add_duplex_link(first_device + i, sw, nvlink_bw, nvlink_latency);
      break;
    }
    case NodeFabric::nvlink_mesh: {
      // A full mesh splits each device's NVLink lanes evenly among its peers.
      const double per_peer = n > 1 ? nvlink_bw / (n - 1) : nvlink_bw;
      for (int i = 0; i < n; ++i) {
        for (int j = i + 1; j < n; ++j) {
          add_duplex_link(first_device + i, first_device + j, per_peer, nvlink_latency);
        }
      }
      break;
    }
    case NodeFabric::pcie: {
      pcie_switch = add_vertex({VertexKind::node_switch, node, 0, 0});
      for (int i = 0; i < n; ++i)
        add_duplex_link(first_device + i, *pcie_switch, pcie_bw, nic_latency);
      break;
    }
  }
  const int nics = cluster.network.nics_per_node;
  if (cluster.nodes == 1 || nics == 0)
    return;
  for (int k = 0; k < nics; ++k) {
    const VertexId nic = add_vertex({VertexKind::nic, node, k, 0});
    nic_vertices.push_back(nic);
    if (pcie_switch) {
      add_duplex_link(nic, *pcie_switch, pcie_bw, nic_latency);
      continue;
    }
    // GPUDirect RDMA: each NIC sits on the PCIe switch of the devices it serves.
    for (int i = 0; i < n; ++i) {
      if (i * nics / n == k)
        add_duplex_link(first_device + i, nic, pcie_bw, nic_latency);
    }
  }
}

void Topology::build_fat_tree(const ClusterSpec& cluster,
                              const std::vector<VertexId>& nic_vertices) {
  const NetworkSpec& net = cluster.network;
  const double bw = net.link_bandwidth_bytes_per_s;
  const double latency = net.switch_latency_s;
  const int radix = net.switch_radix;
  // Leaf ports split into downlinks and uplinks in the ratio oversubscription : 1.
  const int down = std::max(
      1, static_cast<int>(std::floor(radix * net.oversubscription / (1.0 + net.oversubscription))));
  const int up = std::max(1, radix - down);
  const int nic_count = static_cast<int>(nic_vertices.size());
  const int leaves = (nic_count + down - 1) / down;

  std::vector<VertexId> leaf(leaves);
  for (int l = 0; l < leaves; ++l)
    leaf[l] = add_vertex({VertexKind::network_switch, -1, l, 1});
  // NIC k of every node goes to the same leaf group where possible (nodes fill leaves in order).
  for (int i = 0; i < nic_count; ++i)
    add_duplex_link(nic_vertices[i], leaf[i / down], bw, latency);
  if (leaves == 1)
    return;

  const int leaves_per_pod = std::max(1, radix / 2);
  if (leaves <= radix) {
    // Two tiers: every leaf has one uplink to each of `up` spines.
    for (int s = 0; s < up; ++s) {
      const VertexId spine = add_vertex({VertexKind::network_switch, -1, s, 2});
      for (int l = 0; l < leaves; ++l)
        add_duplex_link(leaf[l], spine, bw, latency);
    }
    return;
  }
  // Three tiers: pods of leaves_per_pod leaves under `up` aggregation switches; aggregation
  // switch j of every pod joins core group j. A core group stands for the radix/2 core switches
  // an aggregation switch reaches, as one vertex with one bundled link per aggregation switch.
  const int pods = (leaves + leaves_per_pod - 1) / leaves_per_pod;
  std::vector<VertexId> core(up);
  for (int j = 0; j < up; ++j)
    core[j] = add_vertex({VertexKind::network_switch, -1, j, 3});
  for (int p = 0; p < pods; ++p) {
    for (int j = 0; j < up; ++j) {
      const VertexId agg = add_vertex({VertexKind::network_switch, -1, p * up + j, 2});
      for (int l = p * leaves_per_pod; l < std::min(leaves, (p + 1) * leaves_per_pod); ++l) {
        add_duplex_link(leaf[l], agg, bw, latency);
      }
      add_duplex_link(agg, core[j], bw * (radix / 2), latency);
    }
  }
}

const std::vector<std::uint16_t>& Topology::distances_from(VertexId source) const {
  auto it = graph_->distances.find(source);
  if (it != graph_->distances.end())
    return it->second;
  std::vector<std::uint16_t> distance(vertices_.size(), unreachable);
  distance[source] = 0;
  boost::breadth_first_search(
      graph_->graph, source,
      boost::visitor(boost::make_bfs_visitor(boost::record_distances(
          boost::make_iterator_property_map(distance.begin(),
                                            boost::get(boost::vertex_index, graph_->graph)),
          boost::on_tree_edge()))));
  return graph_->distances.emplace(source, std::move(distance)).first->second;
}

void Topology::check_connected() const {
  const auto& distance = distances_from(device_vertex(0));
  for (int d = 0; d < device_count_; ++d) {
    if (distance[device_vertex(d)] == unreachable) {
      throw TopologyError(vertex_name(device_vertex(d)) + " cannot reach " +
                          vertex_name(device_vertex(0)) + ": the network is disconnected");
    }
  }
}

const std::vector<LinkId>& Topology::route(int src_device, int dst_device) const {
  const std::uint64_t key =
      (static_cast<std::uint64_t>(src_device) << 32) | static_cast<std::uint32_t>(dst_device);
  auto cached = graph_->routes.find(key);
  if (cached != graph_->routes.end())
    return cached->second;

  const VertexId src = device_vertex(src_device);
  const VertexId dst = device_vertex(dst_device);
  const auto& distance = distances_from(src);
  std::vector<LinkId> path;
  VertexId v = dst;
  std::vector<LinkId> candidates;
  while (v != src) {
    // Walk back along any in-edge one hop closer to the source; the hash picks among equals.
    candidates.clear();
    for (auto [e, end] = boost::in_edges(v, graph_->graph); e != end; ++e) {
      const VertexId u = static_cast<VertexId>(boost::source(*e, graph_->graph));
      if (distance[u] + 1 == distance[v])
        candidates.push_back(graph_->graph[*e].link);
    }
    const std::uint64_t h = mix(key ^ (static_cast<std::uint64_t>(v) * 0x100000001b3ull));
    const LinkId chosen = candidates[h % candidates.size()];
    path.push_back(chosen);
    v = links_[chosen].from;
  }
  std::reverse(path.begin(), path.end());
  return graph_->routes.emplace(key, std::move(path)).first->second;
}

double Topology::route_latency_s(int src_device, int dst_device) const {
  double latency = 0;
  for (LinkId id : route(src_device, dst_device))
    latency += links_[id].latency_s;
  return latency;
}

std::string Topology::vertex_name(VertexId v) const {
  const Vertex& x = vertices_[v];
  switch (x.kind) {
    case VertexKind::device:
      return "node" + std::to_string(x.node) + "/dev" + std::to_string(x.index);
    case VertexKind::nic:
      return "node" + std::to_string(x.node) + "/nic" + std::to_string(x.index);
    case VertexKind::node_switch:
      return "node" + std::to_string(x.node) + "/switch";
    case VertexKind::network_switch: {
      static const char* tier_names[] = {"?", "leaf", "spine", "core"};
      return std::string(tier_names[std::clamp(x.tier, 0, 3)]) + std::to_string(x.index);
    }
  }
  return "?";
}

std::string Topology::link_name(LinkId id) const {
  return vertex_name(links_[id].from) + "->" + vertex_name(links_[id].to);
}

}  // namespace scaleplan
