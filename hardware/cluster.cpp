#include "hardware/cluster.hpp"

namespace scaleplan {

std::string_view to_string(NodeFabric fabric) {
  switch (fabric) {
    case NodeFabric::nvswitch:
      return "nvswitch";
    case NodeFabric::nvlink_mesh:
      return "nvlink-mesh";
    case NodeFabric::pcie:
      return "pcie";
    case NodeFabric::ici:
      return "ici";
  }
  return "?";
}

const std::vector<std::string>& node_fabric_names() {
  static const std::vector<std::string> names{"nvswitch", "nvlink-mesh", "pcie", "ici"};
  return names;
}

std::string_view to_string(NetworkTopologyKind kind) {
  switch (kind) {
    case NetworkTopologyKind::fat_tree:
      return "fat-tree";
    case NetworkTopologyKind::rail_optimized:
      return "rail-optimized";
    case NetworkTopologyKind::torus:
      return "torus";
    case NetworkTopologyKind::dragonfly:
      return "dragonfly";
  }
  return "?";
}

const std::vector<std::string>& network_topology_names() {
  static const std::vector<std::string> names{"fat-tree", "rail-optimized", "torus", "dragonfly"};
  return names;
}

}  // namespace scaleplan
