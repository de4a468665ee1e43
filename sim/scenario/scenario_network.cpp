#include "sim/scenario/scenario_network.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "hardware/topology.hpp"

namespace scaleplan {

namespace {

// Link bandwidths in Gbit/s: a megabit to a petabit per second (physical::bytes_per_s in bits).
constexpr NumberRange gigabits_per_s = NumberRange::closed(1e-3, 1e6);

std::optional<int> small_integer(MapReader& map, std::string_view key, int min, int max) {
  const auto v = map.integer(key, min, max);
  return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
}

// Keys that belong to other topologies or fabrics are refused rather than ignored.
void only_for(MapReader& map, std::string_view key, bool applies, std::string_view where) {
  map.accept(key);
  if (map.has(key) && !applies)
    map.error(key, fmt::format("applies only to {}", where));
}

void read_pcie(MapReader& c, const Catalog& catalog, ClusterSpec& cluster) {
  // The PCIe layout is every PCIe node's: the cluster's, or its node groups' of that fabric.
  bool pcie = false;
  int per_node = 1024;  // the fewest devices of a PCIe node
  const auto take = [&](const NodeShape& shape) {
    if (shape.fabric == NodeFabric::pcie) {
      pcie = true;
      per_node = std::min(per_node, shape.devices);
    }
  };
  if (cluster.node_groups.empty())
    take(cluster.shape_of_node(0));
  for (const NodeGroup& g : cluster.node_groups)
    take(cluster.shape_of_group(g));
  for (const char* key :
       {"pcie_switches_per_node", "sockets_per_node", "cross_socket_bandwidth_gbps"}) {
    if (!pcie && c.has(key)) {
      only_for(c, key, false, "node_fabric: pcie");
      return;
    }
  }
  PcieLayout& layout = cluster.pcie;
  // The catalog's NIC figure is an RDMA endpoint's NIC plus PCIe hop; a device's own hop to its
  // switch is taken to cost the same.
  layout.device_link_latency_s = catalog.network_defaults().nic_latency_s.value;
  if (auto v = small_integer(c, "pcie_switches_per_node", 1, std::max(1, per_node)))
    layout.switches = *v;
  if (auto v = small_integer(c, "sockets_per_node", 1, 8)) {
    layout.sockets = *v;
    if (layout.sockets > layout.switches) {
      c.error("sockets_per_node", fmt::format("{} sockets need at least as many PCIe switches "
                                              "(pcie_switches_per_node is {})",
                                              layout.sockets, layout.switches));
    }
  }
  if (auto gbps = c.number("cross_socket_bandwidth_gbps", gigabits_per_s)) {
    layout.cross_socket_bandwidth_bytes_per_s = *gbps * 1e9 / 8;
  } else if (const auto& figure = catalog.network_defaults().cross_socket_bandwidth_bytes_per_s) {
    layout.cross_socket_bandwidth_bytes_per_s = figure->value;
  } else if (layout.sockets > 1) {
    c.error("sockets_per_node",
            "the catalog has no network_defaults.cross_socket_bandwidth_bytes_per_s; give "
            "cross_socket_bandwidth_gbps");
  }
}

// A list of whole numbers that fit an int (torus axes and cubes).
std::optional<std::vector<int>> axis_list(MapReader& map, std::string_view key,
                                          std::size_t min_items, std::size_t max_items) {
  const auto values = map.integers(key, 1, 1 << 16, min_items, max_items);
  if (!values)
    return std::nullopt;
  return std::vector<int>(values->begin(), values->end());
}

// network.slices and network.dcn_bandwidth_gbps: several tori (TPU pods) joined by the
// data-centre network, each host on it at the catalog's (or the given) bandwidth.
void read_slices(MapReader& n, const Catalog& catalog, const ClusterSpec& cluster,
                 TorusSpec& torus) {
  if (auto slices = small_integer(n, "slices", 1, 1 << 16))
    torus.slices = *slices;
  if (torus.slices == 1) {
    only_for(n, "dcn_bandwidth_gbps", false, "several slices (network.slices above 1)");
    return;
  }
  const DeviceSpec& d = cluster.device;
  if (auto gbps = n.number("dcn_bandwidth_gbps", gigabits_per_s)) {
    torus.dcn_bandwidth_per_host_bytes_per_s = *gbps * 1e9 / 8;
  } else if (d.dcn_bandwidth_per_host_bytes_per_s) {
    torus.dcn_bandwidth_per_host_bytes_per_s = d.dcn_bandwidth_per_host_bytes_per_s->value;
  } else if (!d.name.empty() && !n.has("dcn_bandwidth_gbps")) {
    n.error("slices", d.name +
                          " has no dcn_bandwidth_per_host_bytes_per_s in the catalog; give "
                          "dcn_bandwidth_gbps (per host, per direction) to join the slices");
  }
  // Host to host: each NIC and its PCIe hop, one switch between (the catalog's figures).
  torus.dcn_latency_s = 2 * catalog.network_defaults().nic_latency_s.value +
                        catalog.network_defaults().switch_latency_s.value;
}

void read_torus(MapReader& n, const Catalog& catalog, const ClusterSpec& cluster,
                NetworkSpec& net) {
  TorusSpec& torus = net.torus;
  read_slices(n, catalog, cluster, torus);
  if (!n.require("dims"))
    return;
  if (auto dims = axis_list(n, "dims", 2, 3)) {
    std::int64_t size = 1;
    for (int d : *dims)
      size *= d;
    if (size * torus.slices != cluster.device_count()) {
      n.error("dims", torus.slices == 1
                          ? fmt::format("a torus of {} devices for a cluster of {} ({} × {}); "
                                        "the product of dims must be the device count",
                                        size, cluster.device_count(),
                                        counted(cluster.nodes, "node"), cluster.devices_per_node)
                          : fmt::format("{} slices of a torus of {} devices for a cluster of {} "
                                        "({} × {}); slices × the product of dims must be the "
                                        "device count",
                                        torus.slices, size, cluster.device_count(),
                                        counted(cluster.nodes, "node"), cluster.devices_per_node));
    } else if (torus.slices > 1 && size % cluster.devices_per_node != 0) {
      n.error("dims", fmt::format("a slice of {} devices does not hold whole hosts of {} "
                                  "(devices_per_node); every host belongs to one slice",
                                  size, cluster.devices_per_node));
    }
    torus.dims = *dims;
  }
  const std::size_t axes = torus.dims.empty() ? 3 : torus.dims.size();
  if (n.has("wraparound")) {
    const YAML::Node node = n.node()["wraparound"];
    if (node.IsScalar()) {
      if (auto v = n.boolean("wraparound"))
        torus.wraparound.assign(axes, *v);
    } else {
      const auto items = n.sequence("wraparound");
      for (const auto& item : items) {
        bool v = false;
        if (!item.IsScalar() || !YAML::convert<bool>::decode(item, v)) {
          n.diagnostics().error(item, n.path_of("wraparound"), "expected true or false");
          return;
        }
        torus.wraparound.push_back(v);
      }
      if (node.IsSequence() && torus.wraparound.size() != axes) {
        n.error("wraparound", fmt::format("expected one value per axis of dims ({})", axes));
      }
    }
  } else {
    n.accept("wraparound");
  }
  if (auto cube = axis_list(n, "cube", axes, axes)) {
    for (std::size_t a = 0; a < torus.dims.size(); ++a) {
      const int extent = torus.dims[a];
      if (extent > (*cube)[a] && extent % (*cube)[a] != 0) {
        n.error("cube", fmt::format("dims axis {} ({}) is neither within one cube nor a whole "
                                    "number of cubes of {}",
                                    a, extent, (*cube)[a]));
      }
    }
    torus.cube = *cube;
  }
  // rank_axes: the order in which consecutive ranks (tp fastest) fill the axes, fastest first.
  if (auto order = n.integers("rank_axes", 0, static_cast<std::int64_t>(axes) - 1, axes, axes)) {
    std::vector<int> sorted(order->begin(), order->end());
    std::sort(sorted.begin(), sorted.end());
    bool permutation = true;
    for (std::size_t a = 0; a < sorted.size(); ++a)
      permutation = permutation && sorted[a] == static_cast<int>(a);
    if (!permutation) {
      n.error("rank_axes", fmt::format("name each of the {} torus axes once (0 to {}), the one "
                                       "the tensor-parallel ranks fill first: e.g. [{}]",
                                       axes, axes - 1, axes == 2 ? "1, 0" : "2, 0, 1"));
    } else {
      torus.rank_axes.assign(order->begin(), order->end());
    }
  }
  const DeviceSpec& d = cluster.device;
  torus.link_latency_s = d.intra_node_link_latency_s.value;
  if (auto gbps = n.number("link_bandwidth_gbps", gigabits_per_s)) {
    torus.link_bandwidth_bytes_per_s = *gbps * 1e9 / 8;
  } else if (d.intra_node_link_count && d.intra_node_link_count->value >= 1) {
    // The catalog's figure sums a chip's links: one link carries its share.
    torus.link_bandwidth_bytes_per_s =
        d.intra_node_link_bandwidth_bytes_per_s.value / d.intra_node_link_count->value;
  } else if (!d.name.empty() && !n.has("link_bandwidth_gbps")) {
    n.error("topology", d.name +
                            " has no intra_node_link_count in the catalog, so its per-link "
                            "bandwidth is unknown; give link_bandwidth_gbps (per link)");
  }
}

// network.oversubscription: one ratio for every tier, or one per tier from the bottom.
std::optional<std::vector<double>> read_oversubscription(MapReader& n) {
  constexpr NumberRange ratio = NumberRange::closed(1, 64);
  if (n.has("oversubscription") && n.node()["oversubscription"].IsScalar()) {
    const auto v = n.number("oversubscription", ratio);
    return v ? std::optional<std::vector<double>>(std::vector<double>{*v}) : std::nullopt;
  }
  return n.numbers("oversubscription", ratio, 1, 2);
}

void read_clos(MapReader& n, NetworkSpec& net) {
  if (auto over = read_oversubscription(n))
    net.oversubscription = *over;
  if (auto radix = small_integer(n, "switch_radix", 4, 1024))
    net.switch_radix = *radix;
  if (auto tiers = small_integer(n, "tiers", 1, 3)) {
    net.tiers = *tiers;
    if (net.oversubscription.size() > 1 &&
        static_cast<int>(net.oversubscription.size()) >= *tiers) {
      n.error("oversubscription",
              fmt::format("lists {} tiers but the network has {} and its top tier has no "
                          "uplinks; list at most {}",
                          net.oversubscription.size(), *tiers, *tiers - 1));
    }
  }
}

void read_dragonfly(MapReader& n, const ClusterSpec& cluster, NetworkSpec& net) {
  DragonflySpec& df = net.dragonfly;
  bool read = true;  // all three read, whatever else is wrong in the file
  for (auto [key, field] :
       {std::pair<const char*, int*>{"routers_per_group", &df.routers_per_group},
        {"nics_per_router", &df.nics_per_router},
        {"global_links_per_router", &df.global_links_per_router}}) {
    if (auto v = n.integer(key, 1, 1024, required_key))
      *field = static_cast<int>(*v);
    else
      read = false;
  }
  if (!read || net.nics_per_node == 0)
    return;
  std::int64_t nics = std::int64_t{cluster.nodes} * net.nics_per_node;
  if (!cluster.node_groups.empty()) {
    nics = 0;
    for (const NodeGroup& g : cluster.node_groups)
      nics += std::int64_t{g.nodes} * cluster.shape_of_group(g).nics;
  }
  const std::int64_t routers = (nics + df.nics_per_router - 1) / df.nics_per_router;
  const std::int64_t groups = (routers + df.routers_per_group - 1) / df.routers_per_group;
  const std::int64_t reach = std::int64_t{df.routers_per_group} * df.global_links_per_router;
  if (groups - 1 > reach) {
    n.error("global_links_per_router",
            fmt::format("{} NICs make {} groups, but groups of {} routers with {} global links "
                        "each reach at most {} groups; raise routers_per_group, "
                        "global_links_per_router or nics_per_router",
                        nics, groups, df.routers_per_group, df.global_links_per_router, reach + 1));
    return;
  }
  // Local links grow with the square of routers_per_group, global ones with groups × a × h.
  const double links = dragonfly_links(static_cast<double>(nics), df);
  if (links > static_cast<double>(max_network_links)) {
    n.error("routers_per_group",
            fmt::format("a dragonfly of {} groups of {} routers with {} global links each has "
                        "{:.3g} links, more than the {} scaleplan builds (about 160 bytes "
                        "each); lower routers_per_group or global_links_per_router",
                        groups, df.routers_per_group, df.global_links_per_router, links,
                        max_network_links));
  }
}

}  // namespace

void read_network(MapReader& c, const Catalog& catalog, ClusterSpec& cluster) {
  read_pcie(c, catalog, cluster);
  MapReader n = c.child("network");
  NetworkSpec& net = cluster.network;
  net.switch_latency_s = catalog.network_defaults().switch_latency_s.value;
  net.nic_latency_s = catalog.network_defaults().nic_latency_s.value;
  if (auto topology = n.enumeration("topology", network_topology_names))
    net.topology = *topology;
  const bool torus = net.topology == NetworkTopologyKind::torus;
  const bool clos = net.topology == NetworkTopologyKind::fat_tree ||
                    net.topology == NetworkTopologyKind::rail_optimized;
  const bool dragonfly = net.topology == NetworkTopologyKind::dragonfly;
  const bool ici = cluster.node_fabric == NodeFabric::ici;
  if (torus != ici) {
    c.error("node_fabric", torus ? "a torus joins devices chip to chip: use node_fabric: ici"
                                 : "ici is the chip-to-chip link of a torus: use network: "
                                   "{topology: torus, dims: [...]}");
  }
  if (auto v = n.boolean("in_network_reduction"))
    net.in_network_reduction = *v;

  only_for(n, "dims", torus, "topology: torus");
  only_for(n, "wraparound", torus, "topology: torus");
  only_for(n, "cube", torus, "topology: torus");
  only_for(n, "slices", torus, "topology: torus");
  only_for(n, "dcn_bandwidth_gbps", torus, "topology: torus");
  for (const char* key : {"oversubscription", "tiers"})
    only_for(n, key, clos, "topology: fat-tree or rail-optimized");
  for (const char* key : {"routers_per_group", "nics_per_router", "global_links_per_router"})
    only_for(n, key, dragonfly, "topology: dragonfly");
  only_for(n, "switch_radix", !torus && !dragonfly, "topology: fat-tree or rail-optimized");
  if (torus) {
    only_for(n, "nics_per_node", false, "networks of switches (a torus has no NICs)");
    net.nics_per_node = 0;
    read_torus(n, catalog, cluster, net);
    n.finish();
    return;
  }

  const bool multi_node = cluster.nodes > 1;
  if (auto gbps = n.number("link_bandwidth_gbps", gigabits_per_s)) {
    net.link_bandwidth_bytes_per_s = *gbps * 1e9 / 8;
  } else if (multi_node && !n.has("link_bandwidth_gbps")) {
    n.require("link_bandwidth_gbps");
  } else {
    net.link_bandwidth_bytes_per_s = 100e9 / 8;  // unused: one node has no network links
  }
  net.nics_per_node = cluster.devices_per_node;
  if (auto nics = small_integer(n, "nics_per_node", 0, 64)) {
    net.nics_per_node = *nics;
    if (multi_node && *nics == 0) {
      n.error("nics_per_node",
              fmt::format("0 NICs leave the {} nodes disconnected; use at least 1", cluster.nodes));
    }
  } else if (!n.has("nics_per_node")) {
    // A node group of its own size has, like the cluster's nodes, one NIC per device unless
    // the network or the group says otherwise.
    for (NodeGroup& g : cluster.node_groups) {
      if (g.devices_per_node && !g.nics_per_node)
        g.nics_per_node = *g.devices_per_node;
    }
  }
  if (clos)
    read_clos(n, net);
  if (dragonfly)
    read_dragonfly(n, cluster, net);
  n.finish();
}

}  // namespace scaleplan
