// Reading a scenario's cluster network (cluster.network) and node PCIe layout (cluster.pcie_*):
// the part of the scenario format that describes topologies. See docs/scenario-format.md.
#pragma once

#include "hardware/cluster.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "hardware/io/catalog.hpp"

namespace scaleplan {

// Reads the network keys of `cluster_map` (the `cluster` section) into `cluster`, whose device,
// nodes, devices_per_node and node_fabric are already read. Reports every problem to the map's
// diagnostics.
void read_network(MapReader& cluster_map, const Catalog& catalog, ClusterSpec& cluster);

}  // namespace scaleplan
