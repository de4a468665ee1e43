#include "sim/scenario/scenario_network.hpp"

#include <cmath>

namespace scaleplan {

namespace {

// A number in (0, high]; `fallback` when absent (nullopt: absent stays absent, no error).
std::optional<double> positive(MapReader& map, std::string_view key, double high, bool& ok) {
  if (!map.has(key)) {
    map.accept(key);
    return std::nullopt;
  }
  auto value = map.number(key);
  if (value && (!(*value > 0) || *value > high)) {
    map.error(key, "must be greater than 0 and at most " + std::to_string(high) + ", got " +
                       std::to_string(*value));
    value.reset();
  }
  if (!value)
    ok = false;
  return value;
}

std::optional<int> integer_in(MapReader& map, std::string_view key, int low, int high, bool& ok) {
  if (!map.has(key)) {
    map.accept(key);
    return std::nullopt;
  }
  auto value = map.integer(key);
  if (value && (*value < low || *value > high)) {
    map.error(key, std::to_string(*value) + " is out of range; use a value from " +
                       std::to_string(low) + " to " + std::to_string(high));
    value.reset();
  }
  if (!value) {
    ok = false;
    return std::nullopt;
  }
  return static_cast<int>(*value);
}

// A number, or a list of `min_items` to `max_items` numbers, each within [low, high].
std::optional<std::vector<double>> number_list(MapReader& map, std::string_view key, double low,
                                               double high, std::size_t min_items,
                                               std::size_t max_items, bool scalar_allowed,
                                               bool& ok) {
  if (!map.has(key)) {
    map.accept(key);
    return std::nullopt;
  }
  const YAML::Node node = map.node()[std::string(key)];
  std::vector<double> values;
  if (node.IsScalar() && scalar_allowed) {
    auto v = map.number(key);
    if (!v) {
      ok = false;
      return std::nullopt;
    }
    values.push_back(*v);
  } else {
    const auto items = map.sequence(key);
    for (const auto& item : items) {
      double v = 0;
      if (!item.IsScalar() || !YAML::convert<double>::decode(item, v) || !std::isfinite(v)) {
        map.diagnostics().error(item, map.path_of(key), "expected a list of numbers");
        ok = false;
        return std::nullopt;
      }
      values.push_back(v);
    }
    if (!node.IsSequence()) {
      ok = false;
      return std::nullopt;
    }
  }
  if (values.size() < min_items || values.size() > max_items) {
    map.error(key, "expected " + std::to_string(min_items) +
                       (max_items > min_items ? " to " + std::to_string(max_items) : "") +
                       " values, got " + std::to_string(values.size()));
    ok = false;
    return std::nullopt;
  }
  for (double v : values) {
    if (v < low || v > high) {
      map.error(key, "every value must be from " + std::to_string(low) + " to " +
                         std::to_string(high) + ", got " + std::to_string(v));
      ok = false;
      return std::nullopt;
    }
  }
  return values;
}

std::optional<std::vector<int>> integer_list(MapReader& map, std::string_view key, int low,
                                             int high, std::size_t min_items, std::size_t max_items,
                                             bool& ok) {
  auto values = number_list(map, key, low, high, min_items, max_items, false, ok);
  if (!values)
    return std::nullopt;
  std::vector<int> result;
  for (double v : *values) {
    if (v != std::floor(v)) {
      map.error(key, "expected whole numbers, got " + std::to_string(v));
      ok = false;
      return std::nullopt;
    }
    result.push_back(static_cast<int>(v));
  }
  return result;
}

// Keys that belong to other topologies or fabrics are refused rather than ignored.
void only_for(MapReader& map, std::string_view key, bool applies, const std::string& where,
              bool& ok) {
  map.accept(key);
  if (map.has(key) && !applies) {
    map.error(key, "applies only to " + where);
    ok = false;
  }
}

void read_pcie(MapReader& c, const Catalog& catalog, ClusterSpec& cluster, bool& ok) {
  const bool pcie = cluster.node_fabric == NodeFabric::pcie;
  for (const char* key :
       {"pcie_switches_per_node", "sockets_per_node", "cross_socket_bandwidth_gbps"}) {
    if (!pcie && c.has(key)) {
      only_for(c, key, false, "node_fabric: pcie", ok);
      return;
    }
  }
  PcieLayout& layout = cluster.pcie;
  // The catalog's NIC figure is an RDMA endpoint's NIC plus PCIe hop; a device's own hop to its
  // switch is taken to cost the same.
  layout.device_link_latency_s = catalog.network_defaults().nic_latency_s.value;
  const int per_node = cluster.devices_per_node;
  if (auto v = integer_in(c, "pcie_switches_per_node", 1, std::max(1, per_node), ok))
    layout.switches = *v;
  if (auto v = integer_in(c, "sockets_per_node", 1, 8, ok)) {
    layout.sockets = *v;
    if (layout.sockets > layout.switches) {
      c.error("sockets_per_node", std::to_string(layout.sockets) + " sockets need at least as " +
                                      "many PCIe switches (pcie_switches_per_node is " +
                                      std::to_string(layout.switches) + ")");
      ok = false;
    }
  }
  if (auto gbps = positive(c, "cross_socket_bandwidth_gbps", 1e6, ok)) {
    layout.cross_socket_bandwidth_bytes_per_s = *gbps * 1e9 / 8;
  } else if (const auto& figure = catalog.network_defaults().cross_socket_bandwidth_bytes_per_s) {
    layout.cross_socket_bandwidth_bytes_per_s = figure->value;
  } else if (layout.sockets > 1) {
    c.error("sockets_per_node",
            "the catalog has no network_defaults.cross_socket_bandwidth_bytes_per_s; give "
            "cross_socket_bandwidth_gbps");
    ok = false;
  }
}

void read_torus(MapReader& n, const ClusterSpec& cluster, NetworkSpec& net, bool& ok) {
  TorusSpec& torus = net.torus;
  if (!n.require("dims")) {
    ok = false;
    return;
  }
  if (auto dims = integer_list(n, "dims", 1, 1 << 16, 2, 3, ok)) {
    std::int64_t size = 1;
    for (int d : *dims)
      size *= d;
    if (size != cluster.device_count()) {
      n.error("dims", "a torus of " + std::to_string(size) + " devices for a cluster of " +
                          std::to_string(cluster.device_count()) + " (" +
                          std::to_string(cluster.nodes) + " nodes × " +
                          std::to_string(cluster.devices_per_node) +
                          "); the product of dims must be the device count");
      ok = false;
    }
    torus.dims = *dims;
  }
  const std::size_t axes = torus.dims.empty() ? 3 : torus.dims.size();
  if (n.has("wraparound")) {
    const YAML::Node node = n.node()["wraparound"];
    if (node.IsScalar()) {
      if (auto v = n.boolean("wraparound"))
        torus.wraparound.assign(axes, *v);
      else
        ok = false;
    } else {
      const auto items = n.sequence("wraparound");
      for (const auto& item : items) {
        bool v = false;
        if (!item.IsScalar() || !YAML::convert<bool>::decode(item, v)) {
          n.diagnostics().error(item, n.path_of("wraparound"), "expected true or false");
          ok = false;
          return;
        }
        torus.wraparound.push_back(v);
      }
      if (node.IsSequence() && torus.wraparound.size() != axes) {
        n.error("wraparound", "expected one value per axis of dims (" + std::to_string(axes) + ")");
        ok = false;
      }
      if (!node.IsSequence())
        ok = false;
    }
  } else {
    n.accept("wraparound");
  }
  if (auto cube = integer_list(n, "cube", 1, 1 << 16, axes, axes, ok)) {
    for (std::size_t a = 0; a < torus.dims.size(); ++a) {
      const int extent = torus.dims[a];
      if (extent > (*cube)[a] && extent % (*cube)[a] != 0) {
        n.error("cube", "dims axis " + std::to_string(a) + " (" + std::to_string(extent) +
                            ") is neither within one cube nor a whole number of cubes of " +
                            std::to_string((*cube)[a]));
        ok = false;
      }
    }
    torus.cube = *cube;
  }
  const DeviceSpec& d = cluster.device;
  torus.link_latency_s = d.intra_node_link_latency_s.value;
  if (auto gbps = positive(n, "link_bandwidth_gbps", 1e6, ok)) {
    torus.link_bandwidth_bytes_per_s = *gbps * 1e9 / 8;
  } else if (d.intra_node_link_count && d.intra_node_link_count->value >= 1) {
    // The catalog's figure sums a chip's links: one link carries its share.
    torus.link_bandwidth_bytes_per_s =
        d.intra_node_link_bandwidth_bytes_per_s.value / d.intra_node_link_count->value;
  } else if (!d.name.empty() && !n.has("link_bandwidth_gbps")) {
    n.error("topology", d.name +
                            " has no intra_node_link_count in the catalog, so its per-link "
                            "bandwidth is unknown; give link_bandwidth_gbps (per link)");
    ok = false;
  }
}

}  // namespace

void read_network(MapReader& c, const Catalog& catalog, ClusterSpec& cluster, bool& ok) {
  read_pcie(c, catalog, cluster, ok);
  MapReader n = c.child("network");
  NetworkSpec& net = cluster.network;
  net.switch_latency_s = catalog.network_defaults().switch_latency_s.value;
  net.nic_latency_s = catalog.network_defaults().nic_latency_s.value;
  if (auto topology = n.choice("topology", network_topology_names())) {
    const auto& names = network_topology_names();
    net.topology = static_cast<NetworkTopologyKind>(
        std::find(names.begin(), names.end(), *topology) - names.begin());
  } else if (n.has("topology")) {
    ok = false;
  }
  const bool torus = net.topology == NetworkTopologyKind::torus;
  const bool clos = net.topology == NetworkTopologyKind::fat_tree ||
                    net.topology == NetworkTopologyKind::rail_optimized;
  const bool dragonfly = net.topology == NetworkTopologyKind::dragonfly;
  const bool ici = cluster.node_fabric == NodeFabric::ici;
  if (torus != ici) {
    c.error("node_fabric", torus ? "a torus joins devices chip to chip: use node_fabric: ici"
                                 : "ici is the chip-to-chip link of a torus: use network: "
                                   "{topology: torus, dims: [...]}");
    ok = false;
  }
  if (auto v = n.boolean("in_network_reduction"))
    net.in_network_reduction = *v;
  else if (n.has("in_network_reduction"))
    ok = false;

  only_for(n, "dims", torus, "topology: torus", ok);
  only_for(n, "wraparound", torus, "topology: torus", ok);
  only_for(n, "cube", torus, "topology: torus", ok);
  for (const char* key : {"oversubscription", "tiers"})
    only_for(n, key, clos, "topology: fat-tree or rail-optimized", ok);
  for (const char* key : {"routers_per_group", "nics_per_router", "global_links_per_router"})
    only_for(n, key, dragonfly, "topology: dragonfly", ok);
  only_for(n, "switch_radix", !torus && !dragonfly, "topology: fat-tree or rail-optimized", ok);
  if (torus) {
    only_for(n, "nics_per_node", false, "networks of switches (a torus has no NICs)", ok);
    net.nics_per_node = 0;
    read_torus(n, cluster, net, ok);
    n.finish();
    return;
  }

  const bool multi_node = cluster.nodes > 1;
  if (auto gbps = positive(n, "link_bandwidth_gbps", 1e6, ok)) {
    net.link_bandwidth_bytes_per_s = *gbps * 1e9 / 8;
  } else if (multi_node && !n.has("link_bandwidth_gbps")) {
    n.require("link_bandwidth_gbps");
    ok = false;
  } else {
    net.link_bandwidth_bytes_per_s = 100e9 / 8;  // unused: one node has no network links
  }
  net.nics_per_node = cluster.devices_per_node;
  if (auto nics = integer_in(n, "nics_per_node", 0, 64, ok)) {
    net.nics_per_node = *nics;
    if (multi_node && *nics == 0) {
      n.error("nics_per_node", "0 NICs leave the " + std::to_string(cluster.nodes) +
                                   " nodes disconnected; use at least 1");
      ok = false;
    }
  }
  if (clos) {
    if (auto over = number_list(n, "oversubscription", 1, 64, 1, 2, true, ok))
      net.oversubscription = *over;
    if (auto radix = integer_in(n, "switch_radix", 4, 1024, ok))
      net.switch_radix = *radix;
    if (auto tiers = integer_in(n, "tiers", 1, 3, ok)) {
      net.tiers = *tiers;
      if (net.oversubscription.size() > 1 &&
          static_cast<int>(net.oversubscription.size()) >= *tiers) {
        n.error("oversubscription", "lists " + std::to_string(net.oversubscription.size()) +
                                        " tiers but the network has " + std::to_string(*tiers) +
                                        " and its top tier has no uplinks; list at most " +
                                        std::to_string(*tiers - 1));
        ok = false;
      }
    }
  }
  if (dragonfly) {
    DragonflySpec& df = net.dragonfly;
    bool read = true;  // all three read, whatever else is wrong in the file
    auto required = [&](const char* key, int& field) {
      if (!n.require(key)) {
        ok = read = false;
        return;
      }
      if (auto v = integer_in(n, key, 1, 1024, ok))
        field = *v;
      else
        read = false;
    };
    required("routers_per_group", df.routers_per_group);
    required("nics_per_router", df.nics_per_router);
    required("global_links_per_router", df.global_links_per_router);
    if (read && net.nics_per_node > 0) {
      const std::int64_t nics = std::int64_t{cluster.nodes} * net.nics_per_node;
      const std::int64_t routers = (nics + df.nics_per_router - 1) / df.nics_per_router;
      const std::int64_t groups = (routers + df.routers_per_group - 1) / df.routers_per_group;
      const std::int64_t reach = std::int64_t{df.routers_per_group} * df.global_links_per_router;
      if (groups - 1 > reach) {
        n.error("global_links_per_router",
                std::to_string(nics) + " NICs make " + std::to_string(groups) +
                    " groups, but groups of " + std::to_string(df.routers_per_group) +
                    " routers with " + std::to_string(df.global_links_per_router) +
                    " global links each reach at most " + std::to_string(reach + 1) +
                    " groups; raise routers_per_group, global_links_per_router or "
                    "nics_per_router");
        ok = false;
      }
    }
  }
  n.finish();
}

}  // namespace scaleplan
