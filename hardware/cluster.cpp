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
  }
  return "?";
}

const std::vector<std::string>& node_fabric_names() {
  static const std::vector<std::string> names{"nvswitch", "nvlink-mesh", "pcie"};
  return names;
}

std::string_view to_string(NetworkTopologyKind kind) {
  switch (kind) {
    case NetworkTopologyKind::fat_tree:
      return "fat-tree";
  }
  return "?";
}

}  // namespace scaleplan
