// The sections of the scenario format that other inputs share: a capacity spec describes its
// clusters and its model with the same keys (docs/scenario-format.md).
#pragma once

#include "hardware/cluster.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "hardware/io/catalog.hpp"
#include "models/transformer.hpp"

namespace scaleplan {

// Reads a `cluster` mapping (device, nodes, devices_per_node, node_fabric, the PCIe and network
// keys) into `cluster`, reporting every problem to the map's diagnostics; finishes the map.
void read_cluster_section(MapReader& cluster_map, const Catalog& catalog, ClusterSpec& cluster);

// Reads a `model` mapping (a preset and the dimensions that override it, moe, mla) into `model`,
// reporting every problem to the map's diagnostics; finishes the map. The model keeps its
// preset's name, or none.
void read_model_section(MapReader& model_map, TransformerConfig& model);

}  // namespace scaleplan
