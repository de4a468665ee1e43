// A cluster as the scenario describes it: nodes of devices on an intra-node fabric, joined by an
// inter-node network.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/device_spec.hpp"
#include "hardware/input/enum_names.hpp"

namespace scaleplan {

// How the devices of one node are joined. `ici` joins devices directly, chip to chip, as the
// torus the network section describes (TPU inter-chip interconnect): it spans nodes.
enum class NodeFabric { nvswitch, nvlink_mesh, pcie, ici };
enum class NetworkTopologyKind { fat_tree, rail_optimized, torus, dragonfly };

inline constexpr EnumNames<NodeFabric, 4> node_fabric_names{{{
    {NodeFabric::nvswitch, "nvswitch"},
    {NodeFabric::nvlink_mesh, "nvlink-mesh"},
    {NodeFabric::pcie, "pcie"},
    {NodeFabric::ici, "ici"},
}}};
inline constexpr EnumNames<NetworkTopologyKind, 4> network_topology_names{{{
    {NetworkTopologyKind::fat_tree, "fat-tree"},
    {NetworkTopologyKind::rail_optimized, "rail-optimized"},
    {NetworkTopologyKind::torus, "torus"},
    {NetworkTopologyKind::dragonfly, "dragonfly"},
}}};

inline std::string_view to_string(NodeFabric fabric) {
  return node_fabric_names.name(fabric);
}
inline std::string_view to_string(NetworkTopologyKind kind) {
  return network_topology_names.name(kind);
}

// PCIe inside a node: devices split evenly over PCIe switches, each switch under the host bridge
// (CPU root complex) of one socket, sockets joined by a cross-socket link (UPI, xGMI).
struct PcieLayout {
  int switches = 1;
  int sockets = 1;
  double cross_socket_bandwidth_bytes_per_s = 0;  // per direction, all socket-to-socket links
  // One way through a device's PCIe hop. Apart from NIC latency, which a calibration profile may
  // replace with what it measured between nodes.
  double device_link_latency_s = 0;
};

struct TorusSpec {
  std::vector<int> dims;         // devices along each axis; 2 or 3 axes
  std::vector<bool> wraparound;  // per axis: the last device links back to the first
  // Slices bigger than one cube are whole cubes joined by optical circuit switches (TPU v4/v5p:
  // 4×4×4). An OCS steers light with mirrors and adds no switching hop, so links between cube
  // faces are direct links like the ones inside a cube. Empty: no cube structure.
  std::vector<int> cube;
  // The order in which consecutive device indices, and so consecutive ranks (tp fastest, then
  // cp, dp, pp: RankCoordinates), fill the axes, fastest first: a permutation of 0 .. axes − 1.
  // [2, 0, 1] puts a tensor-parallel group of dims[2] ranks on axis 2, its wrap-around ring.
  // Empty: axis 0 first, then 1, then 2.
  std::vector<int> rank_axes;
  // Whether rank_axes was chosen by place_tensor_parallel_on_torus rather than written.
  bool rank_axes_automatic = false;
  double link_bandwidth_bytes_per_s = 0;  // per link, per direction
  double link_latency_s = 0;
  // Multi-slice: `slices` tori of `dims` each (TPU pods), device indices slice after slice, each
  // node (host) inside one slice. Slices reach each other only over the data-centre network
  // (DCN): every host has one NIC, reached from its devices over their host links (PCIe), on a
  // non-blocking DCN switch, at dcn_bandwidth_per_host_bytes_per_s per direction.
  int slices = 1;
  double dcn_bandwidth_per_host_bytes_per_s = 0;
  double dcn_latency_s = 0;  // one way, host to host
};

struct DragonflySpec {
  int routers_per_group = 0;        // a: routers in a group, all joined to each other
  int nics_per_router = 0;          // p: NICs (terminals) on each router
  int global_links_per_router = 0;  // h: links from each router to other groups
};

struct NetworkSpec {
  NetworkTopologyKind topology = NetworkTopologyKind::fat_tree;
  double link_bandwidth_bytes_per_s = 0;  // per NIC, per direction; every switch port
  int nics_per_node = 0;
  // Fat-tree and rail-optimized: downlinks : uplinks of a switch, per tier from the leaf up.
  // Tiers past the end of the list are non-blocking (1). The top tier has no uplinks.
  std::vector<double> oversubscription{1.0};
  int switch_radix = 64;     // ports per switch
  std::optional<int> tiers;  // switch tiers; fewest that hold the NICs when absent
  double switch_latency_s = 0;
  double nic_latency_s = 0;
  // Switches that reduce in the network (NVLink SHARP in NVSwitch nodes, SHARP in InfiniBand).
  bool in_network_reduction = false;
  TorusSpec torus;
  DragonflySpec dragonfly;

  double oversubscription_at(int tier) const {
    return tier >= 1 && tier <= static_cast<int>(oversubscription.size())
               ? oversubscription[tier - 1]
               : 1.0;
  }
};

// The most devices a cluster (and so a plan) has: 131,072, the clusters being bought now. What
// grows with devices is checked before it is built: the network's links (max_network_links), the
// plan's ops (max_plan_ops), the trace's events, and routing, whose per-source hop tables the
// flow model's route-search budget and limit bound (docs/reliability.md has the measured cost).
// Ranks and devices fit in 32 bits wherever they are packed (event payloads, matcher channels).
inline constexpr std::int64_t max_devices = 1 << 17;

// How each compute op's time on a jittered device varies (cluster.slow_devices[].jitter): the
// op's time is multiplied by a draw X from the distribution, independent between ops and
// devices, and the same for a given seed, bit for bit (sim/simulate/op_jitter.hpp draws it).
// lognormal: X = exp(sigma·Z), Z standard normal (median 1, mean exp(sigma²/2));
// normal: X = max(0, 1 + sigma·Z) (mean 1).
enum class JitterDistribution { lognormal, normal };
inline constexpr EnumNames<JitterDistribution, 2> jitter_distribution_names{{{
    {JitterDistribution::lognormal, "lognormal"},
    {JitterDistribution::normal, "normal"},
}}};
inline std::string_view to_string(JitterDistribution d) {
  return jitter_distribution_names.name(d);
}

struct OpJitter {
  JitterDistribution distribution = JitterDistribution::lognormal;
  double sigma = 0;
  std::uint64_t seed = 0;
};

// A device slower than its kind (a straggler: throttled, degraded memory, a noisy neighbour):
// its compute takes `factor` times as long, and each op a jitter draw longer still where one is
// given (cluster.slow_devices).
struct DeviceSlowdown {
  int device = 0;  // index in the cluster, node-major
  double factor = 1;
  std::optional<OpJitter> jitter;
};

// What one node is made of: its devices, the fabric that joins them, its NICs.
struct NodeShape {
  int devices = 1;
  NodeFabric fabric = NodeFabric::nvswitch;
  int nics = 0;
  bool operator==(const NodeShape&) const = default;
};

// Consecutive nodes of one device kind (cluster.node_groups): a cluster that mixes device
// generations, 32 H100 nodes and 32 A100 nodes say. A group may have its own node shape (4-GPU
// A100 nodes beside 8-GPU H100 nodes, PCIe beside NVSwitch); each node is built with its group's
// shape and its group's device's links.
struct NodeGroup {
  std::string name;  // unique in the cluster; for reports and slow_devices' `group:`
  DeviceSpec device;
  int nodes = 1;
  // The group's own shape; absent: the cluster's (devices_per_node, node_fabric,
  // network.nics_per_node).
  std::optional<int> devices_per_node;
  std::optional<NodeFabric> node_fabric;
  std::optional<int> nics_per_node;
};

struct ClusterSpec {
  // The device of every node; with node groups, the first group's device (whose figures the
  // cluster-wide settings take: the collective step latency, the torus links).
  DeviceSpec device;
  int nodes = 1;
  // Every node's shape without node groups; with them, the shape of the groups that do not give
  // their own (shape_of_node).
  int devices_per_node = 1;
  NodeFabric node_fabric = NodeFabric::nvswitch;
  PcieLayout pcie;
  NetworkSpec network;
  // Slowed devices, at most one entry per device; empty: every device runs at its kind's speed.
  std::vector<DeviceSlowdown> slowdowns;
  // Empty: every node has `device`. Otherwise the groups in node order, their nodes adding up
  // to `nodes`, the first group's device in `device`.
  std::vector<NodeGroup> node_groups;

  // Devices are numbered node after node, each node's devices consecutively (node-major).
  // With node groups these are O(groups).
  int device_count() const {
    if (node_groups.empty())
      return nodes * devices_per_node;
    int count = 0;
    for (const NodeGroup& g : node_groups)
      count += g.nodes * shape_of_group(g).devices;
    return count;
  }
  NodeShape shape_of_group(const NodeGroup& g) const {
    return {g.devices_per_node.value_or(devices_per_node), g.node_fabric.value_or(node_fabric),
            g.nics_per_node.value_or(network.nics_per_node)};
  }
  NodeShape shape_of_node(int node) const {
    return node_groups.empty() ? NodeShape{devices_per_node, node_fabric, network.nics_per_node}
                               : shape_of_group(node_groups[group_of_node(node)]);
  }
  // Whether some node's shape is not another's: devices, fabric or NICs.
  bool mixes_shapes() const {
    for (const NodeGroup& g : node_groups) {
      if (!(shape_of_group(g) == shape_of_group(node_groups.front())))
        return true;
    }
    return false;
  }
  // The node of a device index, and a node's first device index.
  int node_of_device(int device_index) const {
    int node = 0, first = 0;
    for (const NodeGroup& g : node_groups) {
      const int per_node = shape_of_group(g).devices;
      if (device_index < first + g.nodes * per_node)
        return node + (device_index - first) / per_node;
      node += g.nodes;
      first += g.nodes * per_node;
    }
    return node_groups.empty() ? device_index / devices_per_node : node;
  }
  int first_device_of_node(int node) const {
    int first = 0, start = 0;
    for (const NodeGroup& g : node_groups) {
      const int per_node = shape_of_group(g).devices;
      if (node < start + g.nodes)
        return first + (node - start) * per_node;
      start += g.nodes;
      first += g.nodes * per_node;
    }
    return node_groups.empty() ? node * devices_per_node : first;
  }
  // The node group of a node (index into node_groups); 0 without groups. O(groups).
  std::size_t group_of_node(int node) const {
    int end = 0;
    for (std::size_t g = 0; g < node_groups.size(); ++g) {
      end += node_groups[g].nodes;
      if (node < end)
        return g;
    }
    return 0;
  }
  const DeviceSpec& device_of_node(int node) const {
    return node_groups.empty() ? device : node_groups[group_of_node(node)].device;
  }
  // The device at a device index (node-major).
  const DeviceSpec& device_at(int device_index) const {
    return device_of_node(node_of_device(device_index));
  }
  // The device of the cluster slowest at `dtype` (the lowest peak; the first of equals), and the
  // least memory any device has: what bounds a step whose data-parallel replicas span every
  // group, so the planner's estimate of a mixed cluster takes them.
  const DeviceSpec& slowest_device(Dtype dtype) const {
    const DeviceSpec* slowest = &device;
    for (const NodeGroup& g : node_groups) {
      if (g.device.peak_flops(dtype) < slowest->peak_flops(dtype))
        slowest = &g.device;
    }
    return *slowest;
  }
  double smallest_memory_bytes() const {
    double smallest = device.memory_bytes.value;
    for (const NodeGroup& g : node_groups)
      smallest = std::min(smallest, g.device.memory_bytes.value);
    return smallest;
  }
  // Whether some node's device is not `device` (by catalog name).
  bool mixes_devices() const {
    for (const NodeGroup& g : node_groups) {
      if (g.device.name != device.name)
        return true;
    }
    return false;
  }
  // Whether ranks differ: in speed (mixed or slowed devices) or in the way out of their node
  // (mixed node shapes). Such a cluster is simulated rank by rank (the data-parallel replicas are
  // not alike).
  bool ranks_differ() const { return mixes_devices() || mixes_shapes() || !slowdowns.empty(); }
};

}  // namespace scaleplan
