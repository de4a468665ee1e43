// Clusters for topology and collective tests: a test device with round figures.
#pragma once

#include "hardware/cluster.hpp"

namespace scaleplan::test {

inline DeviceSpec test_device() {
  DeviceSpec d;
  d.name = "test";
  d.peak_flops_per_s[Dtype::bf16] = {1e12, "test"};
  d.memory_bandwidth_bytes_per_s = {1e12, "test"};
  d.compute_efficiency = {1, "test"};
  d.memory_efficiency = {1, "test"};
  d.intra_node_link_bandwidth_bytes_per_s = {300e9, "test"};
  d.host_link_bandwidth_bytes_per_s = {32e9, "test"};
  d.intra_node_link_latency_s = {1e-6, "test"};
  return d;
}

// `nodes` × `per_node` devices on NVSwitch, `nics` NICs per node on a 25 GB/s fat-tree.
inline ClusterSpec cluster(int nodes, int per_node, int nics, int radix = 64) {
  ClusterSpec c;
  c.device = test_device();
  c.nodes = nodes;
  c.devices_per_node = per_node;
  c.network.link_bandwidth_bytes_per_s = 25e9;
  c.network.nics_per_node = nics;
  c.network.switch_radix = radix;
  c.network.switch_latency_s = 1e-7;
  c.network.nic_latency_s = 1e-6;
  c.pcie.device_link_latency_s = 1e-6;
  return c;
}

// A torus of test devices, `per_node` to a host, each link `link_bandwidth` per direction.
inline ClusterSpec torus_cluster(std::vector<int> dims, int per_node, double link_bandwidth) {
  int devices = 1;
  for (int d : dims)
    devices *= d;
  ClusterSpec c;
  c.device = test_device();
  c.nodes = devices / per_node;
  c.devices_per_node = per_node;
  c.node_fabric = NodeFabric::ici;
  c.network.topology = NetworkTopologyKind::torus;
  c.network.nics_per_node = 0;
  c.network.torus.dims = std::move(dims);
  c.network.torus.link_bandwidth_bytes_per_s = link_bandwidth;
  c.network.torus.link_latency_s = 1e-6;
  return c;
}

}  // namespace scaleplan::test
