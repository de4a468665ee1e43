// The `cluster` section of a scenario (and of a capacity spec's options): devices and nodes or
// node groups, the node's fabric, the network, slowed devices.
#include <algorithm>

#include <fmt/format.h>

#include "hardware/topology.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/scenario_network.hpp"
#include "sim/scenario/scenario_node.hpp"
#include "sim/scenario/scenario_sections.hpp"

namespace scaleplan {

namespace {

// Devices in the groups' nodes, in 64 bits: checked against max_devices before they are counted
// in an int.
std::int64_t devices_of_groups(const ClusterSpec& cluster) {
  std::int64_t devices = 0;
  for (const NodeGroup& g : cluster.node_groups)
    devices += std::int64_t{g.nodes} * cluster.shape_of_group(g).devices;
  return devices;
}

// `jitter: {distribution: lognormal, sigma: 0.1, seed: 7}` of a slow_devices entry.
std::optional<OpJitter> read_jitter(MapReader& entry) {
  if (!entry.has("jitter")) {
    entry.accept("jitter");
    return std::nullopt;
  }
  MapReader j = entry.child("jitter");
  OpJitter jitter;
  bool read = true;
  if (auto d = j.enumeration("distribution", jitter_distribution_names))
    jitter.distribution = *d;
  else if (j.has("distribution"))
    read = false;
  // A normal draw 1 + sigma·Z is cut at zero; up to 0.25 that is four standard deviations away
  // (one op in 30,000). A lognormal one of sigma 1 is already ten times slower one op in 100.
  const bool normal = jitter.distribution == JitterDistribution::normal;
  if (auto v = j.number("sigma", NumberRange::positive(normal ? 0.25 : 1), required_key))
    jitter.sigma = *v;
  else
    read = false;
  if (auto v = j.integer("seed", 0, std::int64_t{1} << 53, required_key))
    jitter.seed = static_cast<std::uint64_t>(*v);
  else
    read = false;
  j.finish();
  return read ? std::optional<OpJitter>(jitter) : std::nullopt;
}

// `slow_devices: [{device: 3, factor: 1.5}, {node: 1, factor: 1.2}, {group: a100, jitter: ...}]`:
// stragglers, by device index, whole nodes or whole node groups, each slowed by a factor, a
// per-op jitter, or both; a device named twice is an error.
void read_slow_devices(MapReader& c, ClusterSpec& cluster) {
  const auto items = c.sequence("slow_devices");
  std::vector<bool> slowed(static_cast<std::size_t>(cluster.device_count()), false);
  for (std::size_t i = 0; i < items.size(); ++i) {
    MapReader s(items[i], c.path_of("slow_devices") + "[" + std::to_string(i) + "]",
                c.diagnostics());
    // From no slowdown to a hundred times: beyond that the device is down, not slow.
    const bool has_jitter = s.has("jitter");
    const auto f = has_jitter ? s.number("factor", NumberRange::closed(1, 100), 1.0)
                              : s.number("factor", NumberRange::closed(1, 100), required_key);
    const auto jitter = read_jitter(s);
    int first = 0, count = 0;
    const int named = int{s.has("device")} + int{s.has("node")} + int{s.has("group")};
    if (named != 1) {
      for (const char* key : {"device", "node", "group"})
        s.accept(key);
      s.error(named == 0 ? "device" : "node",
              "name one device (device: INDEX), one node (node: INDEX) or one node group "
              "(group: NAME)");
    } else if (s.has("device")) {
      if (auto d = s.integer("device", 0, cluster.device_count() - 1)) {
        first = static_cast<int>(*d);
        count = 1;
      }
    } else if (s.has("node")) {
      if (auto n = s.integer("node", 0, cluster.nodes - 1)) {
        first = cluster.first_device_of_node(static_cast<int>(*n));
        count = cluster.shape_of_node(static_cast<int>(*n)).devices;
      }
    } else if (auto name = s.string("group")) {
      int node = 0;
      std::string names;
      for (const NodeGroup& g : cluster.node_groups) {
        if (g.name == *name) {
          first = cluster.first_device_of_node(node);
          count = g.nodes * cluster.shape_of_group(g).devices;
        }
        node += g.nodes;
        names += (names.empty() ? "" : ", ") + g.name;
      }
      if (count == 0) {
        s.error("group", cluster.node_groups.empty()
                             ? "the cluster has no node_groups; name a device or a node"
                             : fmt::format("no node group is named '{}'; use one of {}",
                                           printable_text(*name), names));
      }
    }
    s.finish();
    if (!f || (has_jitter && !jitter))
      continue;
    for (int d = first; d < first + count; ++d) {
      if (slowed[static_cast<std::size_t>(d)]) {
        c.diagnostics().error(items[i], c.path_of("slow_devices"),
                              fmt::format("device {} is slowed twice; name it once", d));
        break;
      }
      slowed[static_cast<std::size_t>(d)] = true;
      cluster.slowdowns.push_back({d, *f, jitter});
    }
  }
  std::sort(cluster.slowdowns.begin(), cluster.slowdowns.end(),
            [](const DeviceSlowdown& a, const DeviceSlowdown& b) { return a.device < b.device; });
}

// `node_groups: [{name: h100, device: H100-SXM5-80GB, nodes: 32}, ...]`: consecutive nodes of
// one device each, in node order, in place of cluster.device and cluster.nodes.
void read_node_groups(MapReader& c, const Catalog& catalog, ClusterSpec& cluster) {
  for (const char* key : {"device", "nodes"}) {
    c.accept(key);
    if (c.has(key)) {
      c.error(key, fmt::format("node_groups give each group's device and nodes; leave out "
                               "cluster.{}",
                               key));
    }
  }
  const auto items = c.sequence("node_groups");
  if (items.empty() && c.node()["node_groups"].IsSequence())
    c.error("node_groups", "lists no group; give at least one {name, device, nodes}");
  std::int64_t nodes = 0;
  bool read = !items.empty();
  for (std::size_t i = 0; i < items.size(); ++i) {
    MapReader g(items[i], c.path_of("node_groups") + "[" + std::to_string(i) + "]",
                c.diagnostics());
    NodeGroup group;
    if (g.require("device")) {
      if (auto name = g.string("device")) {
        if (const DeviceSpec* device = catalog.find(*name))
          group.device = *device;
        else
          g.error("device", unknown_device_message(catalog, *name));
      }
    }
    if (group.device.name.empty())
      read = false;
    if (auto n = g.integer("nodes", 1, max_devices, required_key)) {
      group.nodes = static_cast<int>(*n);
      nodes += *n;
    } else {
      read = false;
    }
    group.name = g.string("name").value_or(group.device.name);
    if (g.has("name") && group.name.empty())
      g.error("name", "expected a name for the group (h100, say)");
    for (const NodeGroup& other : cluster.node_groups) {
      if (!group.name.empty() && other.name == group.name) {
        g.error(g.has("name") ? "name" : "device",
                fmt::format("two node groups are named '{}'; give each a different name:",
                            printable_text(group.name)));
      }
    }
    // The group's own node shape, where it differs from the cluster's.
    if (auto v = g.integer("devices_per_node", 1, 1024))
      group.devices_per_node = static_cast<int>(*v);
    if (auto fabric = g.enumeration("node_fabric", node_fabric_names)) {
      if (*fabric == NodeFabric::ici) {
        g.error("node_fabric",
                "ici is the chip-to-chip link of a torus, which has one host shape "
                "throughout; a node group takes nvswitch, nvlink-mesh or pcie");
      } else {
        group.node_fabric = *fabric;
      }
    }
    if (auto v = g.integer("nics_per_node", 1, 64))
      group.nics_per_node = static_cast<int>(*v);
    g.finish();
    cluster.node_groups.push_back(std::move(group));
  }
  if (!read) {
    cluster.node_groups.clear();
    return;
  }
  if (nodes > max_devices) {
    c.error("node_groups", fmt::format("the groups have {} nodes; scaleplan simulates at most {} "
                                       "devices",
                                       nodes, max_devices));
    cluster.node_groups.clear();
    return;
  }
  cluster.nodes = static_cast<int>(nodes);
  cluster.device = cluster.node_groups.front().device;
}

}  // namespace

void read_cluster_section(MapReader& c, const Catalog& catalog, ClusterSpec& cluster,
                          ClusterSectionUse use) {
  std::optional<std::int64_t> nodes;
  if (c.has("node_groups") && use == ClusterSectionUse::capacity) {
    c.accept("node_groups");
    c.error("node_groups",
            "the capacity planner prices one device kind per option; give "
            "cluster.device and nodes, and compare options of each kind");
  }
  if (c.has("node_groups") && use == ClusterSectionUse::scenario) {
    read_node_groups(c, catalog, cluster);
    if (!cluster.node_groups.empty())
      nodes = cluster.nodes;
  } else {
    c.accept("node_groups");
    if (c.has("node_groups") || c.require("device")) {
      if (auto name = c.string("device")) {
        if (const DeviceSpec* device = catalog.find(*name)) {
          cluster.device = *device;
        } else {
          c.error("device", unknown_device_message(catalog, *name));
        }
      }
    }
    nodes = c.integer("nodes", 1, max_devices, required_key);
  }
  // Node groups that all give their own devices_per_node need none from the cluster.
  const bool every_group_shaped =
      !cluster.node_groups.empty() &&
      std::all_of(cluster.node_groups.begin(), cluster.node_groups.end(),
                  [](const NodeGroup& g) { return g.devices_per_node.has_value(); });
  const auto per_node = every_group_shaped ? c.integer("devices_per_node", 1, 1024)
                                           : c.integer("devices_per_node", 1, 1024, required_key);
  if (nodes && (per_node || every_group_shaped)) {
    ClusterSpec sized = cluster;
    sized.nodes = static_cast<int>(*nodes);
    sized.devices_per_node = static_cast<int>(per_node.value_or(1));
    if (sized.node_groups.empty() && *nodes * *per_node > max_devices) {
      c.error("nodes", fmt::format("{} nodes of {} devices is {} devices; scaleplan simulates at "
                                   "most {}",
                                   *nodes, *per_node, *nodes * *per_node, max_devices));
    } else if (const std::int64_t devices = devices_of_groups(sized); devices > max_devices) {
      c.error("node_groups", fmt::format("the groups' nodes hold {} devices; scaleplan "
                                         "simulates at most {}",
                                         devices, max_devices));
      cluster.node_groups.clear();  // not counted again in an int, nor built
    } else {
      cluster.nodes = sized.nodes;
      cluster.devices_per_node = sized.devices_per_node;
    }
  }
  if (auto fabric = c.enumeration("node_fabric", node_fabric_names))
    cluster.node_fabric = *fabric;
  if (cluster.node_fabric == NodeFabric::ici &&
      (cluster.mixes_devices() || cluster.mixes_shapes())) {
    c.error("node_groups",
            "a torus joins chips of one kind in hosts of one shape; node groups of different "
            "devices or node shapes need a network of switches (node_fabric nvswitch, "
            "nvlink-mesh or pcie)");
  }
  // A mesh joins every pair of a node's devices: links grow with the square of the node.
  if (const double mesh = node_mesh_links(cluster); mesh > static_cast<double>(max_network_links)) {
    c.error(cluster.mixes_shapes() ? "node_groups" : "devices_per_node",
            cluster.mixes_shapes()
                ? fmt::format("the node groups' NVLink meshes have {:.3g} links, more than the {} "
                              "scaleplan builds (about 160 bytes each); use fewer devices per "
                              "node or node_fabric: nvswitch",
                              mesh, max_network_links)
                : fmt::format(
                      "an NVLink mesh of {} devices per node in {} nodes has {:.3g} links, more "
                      "than the {} scaleplan builds (about 160 bytes each); use fewer devices "
                      "per node or node_fabric: nvswitch",
                      cluster.devices_per_node, cluster.nodes, mesh, max_network_links));
  }

  read_network(c, catalog, cluster);
  read_slow_devices(c, cluster);
  c.finish();
}

}  // namespace scaleplan
