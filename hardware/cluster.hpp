// A cluster as the scenario describes it: nodes of devices on an intra-node fabric, joined by an
// inter-node network.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hardware/device_spec.hpp"

namespace scaleplan {

enum class NodeFabric { nvswitch, nvlink_mesh, pcie };
enum class NetworkTopologyKind { fat_tree };

std::string_view to_string(NodeFabric fabric);
const std::vector<std::string>& node_fabric_names();
std::string_view to_string(NetworkTopologyKind kind);

struct NetworkSpec {
  NetworkTopologyKind topology = NetworkTopologyKind::fat_tree;
  double link_bandwidth_bytes_per_s = 0;  // per NIC, per direction
  int nics_per_node = 0;
  double oversubscription = 1.0;  // leaf downlinks : uplinks
  int switch_radix = 64;          // ports per switch
  double switch_latency_s = 0;
  double nic_latency_s = 0;
};

struct ClusterSpec {
  DeviceSpec device;
  int nodes = 1;
  int devices_per_node = 1;
  NodeFabric node_fabric = NodeFabric::nvswitch;
  NetworkSpec network;

  int device_count() const { return nodes * devices_per_node; }
};

}  // namespace scaleplan
