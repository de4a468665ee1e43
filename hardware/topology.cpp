#include "hardware/topology.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "hardware/topology_graph.hpp"

namespace scaleplan {

using namespace topology_detail;

Topology::Topology() : graph_(std::make_unique<Graph>()) {}
Topology::~Topology() = default;
Topology::Topology(Topology&&) noexcept = default;
Topology& Topology::operator=(Topology&&) noexcept = default;

Topology::Topology(const ClusterSpec& cluster) : graph_(std::make_unique<Graph>()) {
  if (cluster.nodes < 1) {
    throw TopologyError("a cluster needs at least one node with at least one device");
  }
  const NetworkSpec& net = cluster.network;
  node_count_ = cluster.nodes;
  node_fabric_ = cluster.node_fabric;
  in_network_reduction_ = net.in_network_reduction;
  shapes_alike_ = !cluster.mixes_shapes();
  nodes_alike_ = !cluster.mixes_devices() && shapes_alike_;
  add_devices(cluster);
  const bool torus = net.topology == NetworkTopologyKind::torus;
  for (const NodeGroup& g : cluster.node_groups) {
    if (g.node_fabric && torus != (*g.node_fabric == NodeFabric::ici)) {
      throw TopologyError(
          torus ? "a torus joins devices chip to chip: use node_fabric ici in every node group"
                : "an ici node fabric is part of a torus: use network topology torus");
    }
  }
  if (torus != (cluster.node_fabric == NodeFabric::ici)) {
    throw TopologyError(torus
                            ? "a torus joins devices chip to chip: use node_fabric ici"
                            : "an ici node fabric is part of a torus: use network topology torus");
  }
  if (torus && !shapes_alike_) {
    throw TopologyError(
        "a torus numbers its chips by coordinates, one host shape throughout: "
        "give every node group the cluster's devices_per_node");
  }
  if (torus) {
    // Chips route ICI traffic for their neighbours: a device is a router.
    devices_forward_ = true;
    build_torus(cluster);
    finish_building();
    return;
  }
  std::vector<VertexId> nic_vertices;
  // Each node's shape's first node: the first node whose shape is its own.
  std::vector<std::pair<NodeShape, int>> shapes;
  for (int node = 0; node < cluster.nodes; ++node) {
    const NodeShape shape = cluster.shape_of_node(node);
    auto known =
        std::find_if(shapes.begin(), shapes.end(), [&](const auto& s) { return s.first == shape; });
    if (known == shapes.end())
      known = shapes.insert(shapes.end(), {shape, node});
    node_shape_node_.push_back(known->second);
    node_first_vertex_.push_back(static_cast<VertexId>(vertices_.size()));
    node_first_link_.push_back(static_cast<LinkId>(links_.size()));
    build_node(cluster, node, nic_vertices);
  }
  node_first_vertex_.push_back(static_cast<VertexId>(vertices_.size()));
  node_first_link_.push_back(static_cast<LinkId>(links_.size()));
  if (shapes_alike_) {
    node_link_stride_ = static_cast<LinkId>(links_.size()) / static_cast<LinkId>(cluster.nodes);
    node_vertex_stride_ =
        static_cast<VertexId>(vertices_.size() - static_cast<std::size_t>(device_count_)) /
        static_cast<VertexId>(cluster.nodes);
  }
  if (cluster.nodes > 1) {
    if (nic_vertices.empty()) {
      throw TopologyError(std::to_string(cluster.nodes) +
                          " nodes with no NICs are not connected to each other");
    }
    switch (net.topology) {
      case NetworkTopologyKind::fat_tree:
        build_fat_tree(cluster, nic_vertices);
        break;
      case NetworkTopologyKind::rail_optimized:
        build_rail_optimized(cluster, nic_vertices);
        break;
      case NetworkTopologyKind::dragonfly:
        build_dragonfly(cluster, nic_vertices);
        break;
      case NetworkTopologyKind::torus:
        break;  // handled above
    }
    nic_uplink_.assign(vertices_.size(), 0);
    for (LinkId id = 0; id < links_.size(); ++id) {
      const Vertex& from = vertices_[links_[id].from];
      if (from.kind == VertexKind::nic && vertices_[links_[id].to].node != from.node)
        nic_uplink_[links_[id].from] = id;
    }
    find_leaf_uplinks();
  }
  finish_building();
}

Topology Topology::custom(int device_count, int switch_count,
                          const std::vector<DuplexLink>& links) {
  if (device_count < 1)
    throw TopologyError("a network needs at least one device");
  Topology t;
  t.device_count_ = device_count;
  t.node_first_device_ = {0, device_count};
  t.devices_forward_ = true;
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
  t.finish_building();
  return t;
}

double node_mesh_links(const ClusterSpec& cluster) {
  const auto mesh_links = [](const NodeShape& shape, int nodes) {
    const double n = shape.devices;
    return shape.fabric == NodeFabric::nvlink_mesh ? static_cast<double>(nodes) * n * (n - 1) : 0.0;
  };
  if (cluster.node_groups.empty())
    return mesh_links(cluster.shape_of_node(0), cluster.nodes);
  double links = 0;
  for (const NodeGroup& g : cluster.node_groups)
    links += mesh_links(cluster.shape_of_group(g), g.nodes);
  return links;
}

VertexId Topology::add_vertex(Vertex v) {
  vertices_.push_back(v);
  return static_cast<VertexId>(boost::add_vertex(graph_->graph));
}

void Topology::add_duplex_link(VertexId a, VertexId b, double bandwidth_bytes_per_s,
                               double latency_s) {
  if (static_cast<std::int64_t>(links_.size()) + 2 > max_network_links) {
    throw TopologyError("the network has more than " + std::to_string(max_network_links) +
                        " links, the most scaleplan builds (about 160 bytes each); use fewer "
                        "nodes, devices per node, NICs or switches");
  }
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

void Topology::add_devices(const ClusterSpec& cluster) {
  // Devices first, so that device d is vertex d.
  for (int node = 0; node < cluster.nodes; ++node) {
    const int devices = cluster.shape_of_node(node).devices;
    if (devices < 1)
      throw TopologyError("node " + std::to_string(node) + " has no devices; give it at least one");
    if (static_cast<std::int64_t>(vertices_.size()) + devices > max_devices) {
      throw TopologyError("the cluster has more than " + std::to_string(max_devices) +
                          " devices, the most scaleplan simulates");
    }
    node_first_device_.push_back(static_cast<int>(vertices_.size()));
    node_fabrics_.push_back(cluster.shape_of_node(node).fabric);
    for (int i = 0; i < devices; ++i)
      add_vertex({VertexKind::device, node, i, 0});
  }
  device_count_ = static_cast<int>(vertices_.size());
  node_first_device_.push_back(device_count_);
}

void Topology::build_node(const ClusterSpec& cluster, int node,
                          std::vector<VertexId>& nic_vertices) {
  const DeviceSpec& d = cluster.device_of_node(node);
  const NodeShape shape = cluster.shape_of_node(node);
  const int n = shape.devices;
  const auto first_device =
      static_cast<VertexId>(node_first_device_[static_cast<std::size_t>(node)]);
  const double nvlink_bw = d.intra_node_link_bandwidth_bytes_per_s.value;
  const double nvlink_latency = d.intra_node_link_latency_s.value;
  const double pcie_bw = d.host_link_bandwidth_bytes_per_s.value;
  const double nic_latency = cluster.network.nic_latency_s;

  std::vector<VertexId> pcie_switches;
  switch (shape.fabric) {
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
      const PcieLayout& layout = cluster.pcie;
      if (layout.switches < 1 || layout.switches > n || layout.sockets < 1 ||
          layout.sockets > layout.switches) {
        throw TopologyError("a PCIe node of " + std::to_string(n) + " devices cannot have " +
                            std::to_string(layout.switches) + " PCIe switches under " +
                            std::to_string(layout.sockets) +
                            " sockets; use 1 to devices_per_node switches and at most one "
                            "socket per switch");
      }
      for (int s = 0; s < layout.switches; ++s)
        pcie_switches.push_back(add_vertex({VertexKind::node_switch, node, s, 0}));
      // Devices split evenly, in order, over the switches.
      for (int i = 0; i < n; ++i) {
        add_duplex_link(first_device + i, pcie_switches[i * layout.switches / n], pcie_bw,
                        layout.device_link_latency_s);
      }
      if (layout.switches > 1 || layout.sockets > 1) {
        // Each switch's upstream port is an x16 link of the devices' PCIe generation to the host
        // bridge of its socket. The endpoint links already carry the PCIe latency; the root
        // complex adds well under a microsecond, which is not modelled.
        std::vector<VertexId> bridges;
        for (int k = 0; k < layout.sockets; ++k)
          bridges.push_back(add_vertex({VertexKind::host_bridge, node, k, 0}));
        for (int s = 0; s < layout.switches; ++s) {
          add_duplex_link(pcie_switches[s], bridges[s * layout.sockets / layout.switches], pcie_bw,
                          0.0);
        }
        for (int a = 0; a < layout.sockets; ++a) {
          for (int b = a + 1; b < layout.sockets; ++b) {
            add_duplex_link(bridges[a], bridges[b], layout.cross_socket_bandwidth_bytes_per_s, 0.0);
          }
        }
      }
      break;
    }
    case NodeFabric::ici:
      break;  // a torus, built by build_torus
  }
  const int nics = shape.nics;
  if (cluster.nodes == 1 || nics == 0)
    return;
  for (int k = 0; k < nics; ++k) {
    const VertexId nic = add_vertex({VertexKind::nic, node, k, 0});
    nic_vertices.push_back(nic);
    if (!pcie_switches.empty()) {
      // NICs spread over the PCIe switches like the devices.
      const auto sw = pcie_switches[k * static_cast<int>(pcie_switches.size()) / nics];
      add_duplex_link(nic, sw, pcie_bw, nic_latency);
      continue;
    }
    // GPUDirect RDMA: each NIC sits on the PCIe switch of the devices it serves, or on the
    // device itself (Gaudi's RoCE ports), reached at the ports' own rate.
    const double device_nic_bw =
        d.on_chip_nic_bandwidth_bytes_per_s ? d.on_chip_nic_bandwidth_bytes_per_s->value : pcie_bw;
    for (int i = 0; i < n; ++i) {
      if (i * nics / n == k)
        add_duplex_link(first_device + i, nic, device_nic_bw, nic_latency);
    }
  }
}

void Topology::finish_building() {
  const auto devices = static_cast<std::size_t>(device_count_);
  key_routes_by_device_index();
  graph_->routes_from = OnceSlots<RoutesFromSource>(devices);
  if (!devices_forward_) {
    // Where devices forward, endpoint_path and endpoint_links take whole routes instead. Paths
    // from each shape's first node: inside it, every pair of its devices; out of it, by its
    // devices' indices.
    std::size_t inside = 0, way_out = 0;
    inside_node_slot_.assign(static_cast<std::size_t>(node_count_), 0);
    for (int node = 0; node < node_count_; ++node) {
      if (node_shape_node_[static_cast<std::size_t>(node)] != node)
        continue;
      const auto first = static_cast<std::size_t>(node_first_device_[node]);
      const auto end = static_cast<std::size_t>(node_first_device_[node + 1]);
      inside_node_slot_[static_cast<std::size_t>(node)] = inside;
      inside += (end - first) * (end - first);
      way_out = end;
    }
    graph_->inside_node = OnceSlots<InsideNode>(inside);
    graph_->way_out = OnceSlots<WayOut>(way_out);
  }
  prepare_route_search();
}

double Topology::route_latency_s(int src_device, int dst_device) const {
  double latency = 0;
  for (LinkId id : route(src_device, dst_device))
    latency += links_[id].latency_s;
  return latency;
}

Topology::EndpointPath Topology::summarize_route(int src_device, int dst_device) const {
  EndpointPath path;
  path.bandwidth_bytes_per_s = std::numeric_limits<double>::infinity();
  for (LinkId id : route(src_device, dst_device)) {
    path.bandwidth_bytes_per_s =
        std::min(path.bandwidth_bytes_per_s, links_[id].bandwidth_bytes_per_s);
    path.latency_s += links_[id].latency_s;
  }
  return path;
}

void Topology::find_leaf_uplinks() {
  const auto tier_of = [&](VertexId v) {
    return vertices_[v].kind == VertexKind::network_switch ? vertices_[v].tier : 0;
  };
  std::vector<double> aggregation_up(vertices_.size(), 0.0);
  for (const Link& l : links_) {
    if (tier_of(l.from) == 2 && tier_of(l.to) == 3)
      aggregation_up[l.from] += l.bandwidth_bytes_per_s;
  }
  leaf_uplinks_.assign(vertices_.size(), LeafUplinks{0, std::numeric_limits<VertexId>::max(), 0});
  for (const Link& l : links_) {
    if (tier_of(l.from) != 1 || tier_of(l.to) != 2)
      continue;
    LeafUplinks& leaf = leaf_uplinks_[l.from];
    leaf.leaf_bytes_per_s += l.bandwidth_bytes_per_s;
    leaf.pod = std::min(leaf.pod, l.to);
    leaf.pod_bytes_per_s += aggregation_up[l.to];
  }
}

void Topology::key_routes_by_device_index() {
  if (route_key_.size() == static_cast<std::size_t>(device_count_))
    return;
  route_key_.resize(static_cast<std::size_t>(device_count_));
  std::iota(route_key_.begin(), route_key_.end(), std::uint64_t{0});
}

const Topology::WayOut& Topology::way_out(int shape_node, int local_device) const {
  const int source = node_first_device_[static_cast<std::size_t>(shape_node)] + local_device;
  const auto slot = static_cast<std::size_t>(source);
  if (const WayOut* cached = graph_->way_out.find(slot))
    return *cached;
  auto made = std::make_unique<WayOut>();
  int far_node = node_count_ - 1;
  while (far_node > shape_node &&
         node_shape_node_[static_cast<std::size_t>(far_node)] != shape_node)
    --far_node;
  if (far_node == shape_node)
    far_node = shape_node == node_count_ - 1 ? 0 : node_count_ - 1;
  const int far_first = node_first_device_[static_cast<std::size_t>(far_node)];
  const int far_devices = node_first_device_[static_cast<std::size_t>(far_node) + 1] - far_first;
  const int far = far_first + std::min(local_device, far_devices - 1);
  const EndpointPath whole = summarize_route(source, far);
  made->bandwidth_bytes_per_s = whole.bandwidth_bytes_per_s;
  made->latency_s = whole.latency_s;
  for (LinkId id : route(source, far)) {
    made->links.push_back(id);
    if (vertices_[links_[id].to].kind == VertexKind::nic) {
      made->nic = links_[id].to;
      break;
    }
  }
  return graph_->way_out.publish(slot, std::move(made));
}

const Topology::InsideNode& Topology::inside_node(int shape_node, int src_local,
                                                  int dst_local) const {
  const auto node = static_cast<std::size_t>(shape_node);
  const int first = node_first_device_[node];
  const auto per_node = static_cast<std::size_t>(node_first_device_[node + 1] - first);
  const std::size_t slot =
      inside_node_slot_[node] + static_cast<std::size_t>(src_local) * per_node + dst_local;
  if (const InsideNode* cached = graph_->inside_node.find(slot))
    return *cached;
  const int src = first + src_local, dst = first + dst_local;
  return graph_->inside_node.publish(
      slot, std::make_unique<InsideNode>(
                InsideNode{summarize_route(src, dst), route(src, dst).size() == 1}));
}

void Topology::endpoint_links(int src_device, int dst_device, std::vector<LinkId>& out) const {
  if (src_device == dst_device)
    return;
  if (devices_forward_) {
    const auto& links = route(src_device, dst_device);
    out.insert(out.end(), links.begin(), links.end());
    return;
  }
  const int src_node = node_of(src_device), dst_node = node_of(dst_device);
  const int src_local = vertices_[device_vertex(src_device)].index;
  const int dst_local = vertices_[device_vertex(dst_device)].index;
  const int src_shape = node_shape_node_[static_cast<std::size_t>(src_node)];
  const int dst_shape = node_shape_node_[static_cast<std::size_t>(dst_node)];
  if (src_node == dst_node) {
    const int first = node_first_device_[static_cast<std::size_t>(src_shape)];
    for (LinkId id : route(first + src_local, first + dst_local))
      out.push_back(in_node(id, src_node));
    return;
  }
  const WayOut& leaving = way_out(src_shape, src_local);
  for (LinkId id : leaving.links)
    out.push_back(in_node(id, src_node));
  out.push_back(nic_uplink_[in_node_vertex(leaving.nic, src_node)]);
  // The way in is the destination's way out, backwards: a duplex link's two directions are
  // consecutive ids 2k and 2k + 1.
  const WayOut& entering = way_out(dst_shape, dst_local);
  out.push_back(nic_uplink_[in_node_vertex(entering.nic, dst_node)] ^ 1u);
  for (auto it = entering.links.rbegin(); it != entering.links.rend(); ++it)
    out.push_back(in_node(*it, dst_node) ^ 1u);
}

Topology::EndpointPath Topology::endpoint_path(int src_device, int dst_device) const {
  if (devices_forward_) {
    EndpointPath path = summarize_route(src_device, dst_device);
    path.routed = true;
    return path;
  }
  // Port ids: the kind in the top bits, then a device, a device pair, a node's NIC or a switch.
  constexpr int kind_shift = 60;
  const std::uint64_t out_port = 0, in_port = 1, pair_port = 2, nic_out = 3, nic_in = 4;
  const int src_node = node_of(src_device), dst_node = node_of(dst_device);
  const int src_local = vertices_[device_vertex(src_device)].index;
  const int dst_local = vertices_[device_vertex(dst_device)].index;
  const int src_shape = node_shape_node_[static_cast<std::size_t>(src_node)];
  const int dst_shape = node_shape_node_[static_cast<std::size_t>(dst_node)];
  if (src_node == dst_node) {
    const InsideNode& inside = inside_node(src_shape, src_local, dst_local);
    EndpointPath path = inside.path;
    if (!nodes_alike_)
      set_route_figures(path, src_device, dst_device);
    // A directly linked pair owns its link; through a switch or a PCIe tree, a device's traffic
    // shares its own port.
    if (inside.direct) {
      path.egress_port = path.ingress_port =
          (pair_port << kind_shift) |
          (static_cast<std::uint64_t>(src_device) * device_count_ + dst_device);
    } else {
      path.egress_port = (out_port << kind_shift) | static_cast<std::uint64_t>(src_device);
      path.ingress_port = (in_port << kind_shift) | static_cast<std::uint64_t>(dst_device);
    }
    return path;
  }
  // Each end leaves or enters its node through the first NIC on its way out.
  const WayOut& leaving = way_out(src_shape, src_local);
  const WayOut& entering = way_out(dst_shape, dst_local);
  EndpointPath path;
  path.bandwidth_bytes_per_s = leaving.bandwidth_bytes_per_s;
  path.latency_s = leaving.latency_s;
  if (!nodes_alike_)
    set_route_figures(path, src_device, dst_device);
  constexpr int node_shift = 24;  // NICs per node stay far below 2^24
  const auto nic_index = [&](const WayOut& w) {
    return static_cast<std::uint64_t>(vertices_[w.nic].index);
  };
  path.egress_port = (nic_out << kind_shift) |
                     (static_cast<std::uint64_t>(src_node) << node_shift) | nic_index(leaving);
  path.ingress_port = (nic_in << kind_shift) |
                      (static_cast<std::uint64_t>(dst_node) << node_shift) | nic_index(entering);
  // The switches the two NICs hang from: their uplink bundles, if they differ.
  const auto leaf_of = [&](const WayOut& w, int node) {
    return links_[nic_uplink_[in_node_vertex(w.nic, node)]].to;
  };
  const VertexId src_leaf = leaf_of(leaving, src_node), dst_leaf = leaf_of(entering, dst_node);
  const LeafUplinks& up = leaf_uplinks_[src_leaf];
  const LeafUplinks& down = leaf_uplinks_[dst_leaf];
  const std::uint64_t leaf_up = 5, leaf_down = 6, pod_up = 7, pod_down = 8;
  auto add = [&](std::uint64_t kind, VertexId v, double bandwidth_bytes_per_s) {
    path.bundles[static_cast<std::size_t>(path.bundle_count++)] = {(kind << kind_shift) | v,
                                                                   bandwidth_bytes_per_s};
  };
  if (src_leaf != dst_leaf && up.leaf_bytes_per_s > 0 && down.leaf_bytes_per_s > 0) {
    add(leaf_up, src_leaf, up.leaf_bytes_per_s);
    add(leaf_down, dst_leaf, down.leaf_bytes_per_s);
    if (up.pod != down.pod && up.pod_bytes_per_s > 0 && down.pod_bytes_per_s > 0) {
      add(pod_up, up.pod, up.pod_bytes_per_s);
      add(pod_down, down.pod, down.pod_bytes_per_s);
    }
  }
  return path;
}

void Topology::set_route_figures(EndpointPath& path, int src_device, int dst_device) const {
  const EndpointPath whole = summarize_route(src_device, dst_device);
  path.bandwidth_bytes_per_s = whole.bandwidth_bytes_per_s;
  path.latency_s = whole.latency_s;
}

std::vector<int> Topology::torus_coordinates(int device) const {
  std::vector<int> coordinates(torus_dims_.size());
  for (int axis : torus_rank_axes_) {
    const int extent = torus_dims_[static_cast<std::size_t>(axis)];
    coordinates[static_cast<std::size_t>(axis)] = device % extent;
    device /= extent;
  }
  return coordinates;
}

int Topology::torus_device(const std::vector<int>& coordinates) const {
  int device = 0;
  for (std::size_t i = torus_rank_axes_.size(); i-- > 0;) {
    const auto axis = static_cast<std::size_t>(torus_rank_axes_[i]);
    device = device * torus_dims_[axis] + coordinates[axis];
  }
  return device;
}

std::string Topology::vertex_name(VertexId v) const {
  const Vertex& x = vertices_[v];
  switch (x.kind) {
    case VertexKind::device:
      return "node" + std::to_string(x.node) + "/dev" + std::to_string(x.index);
    case VertexKind::nic:
      return "node" + std::to_string(x.node) + "/nic" + std::to_string(x.index);
    case VertexKind::node_switch:
      return "node" + std::to_string(x.node) + "/switch" + std::to_string(x.index);
    case VertexKind::host_bridge:
      return "node" + std::to_string(x.node) + "/socket" + std::to_string(x.index);
    case VertexKind::network_switch: {
      static const char* tier_names[] = {"router", "leaf", "spine", "core"};
      return std::string(tier_names[std::clamp(x.tier, 0, 3)]) + std::to_string(x.index);
    }
  }
  return "?";
}

std::string Topology::link_name(LinkId id) const {
  return vertex_name(links_[id].from) + "->" + vertex_name(links_[id].to);
}

}  // namespace scaleplan
