// The sections of the scenario format that other inputs share: a capacity spec describes its
// clusters and its model with the same keys (docs/scenario-format.md).
#pragma once

#include "hardware/cluster.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "hardware/io/catalog.hpp"
#include "models/transformer.hpp"

namespace scaleplan {

// Who reads a cluster section: a scenario, or the capacity planner, whose options each price one
// device kind (node_groups is an error there).
enum class ClusterSectionUse { scenario, capacity };

// Reads a `cluster` mapping (device and nodes or node_groups, devices_per_node, node_fabric, the
// PCIe and network keys, slow_devices) into `cluster`, reporting every problem to the map's
// diagnostics; finishes the map.
void read_cluster_section(MapReader& cluster_map, const Catalog& catalog, ClusterSpec& cluster,
                          ClusterSectionUse use = ClusterSectionUse::scenario);

// Reads a `model` mapping (a preset and the dimensions that override it, moe, mla) into `model`,
// reporting every problem to the map's diagnostics; finishes the map. The model keeps its
// preset's name, or none.
void read_model_section(MapReader& model_map, TransformerConfig& model);

// The `moe` and `mla` keys of a model mapping (or of a transformer layer of a layer graph) into
// `model`, whose values stand for keys left out; each accepts its key when it is absent.
void read_moe(MapReader& model_map, TransformerConfig& model);
void read_latent_attention(MapReader& model_map, TransformerConfig& model);
// The `head_dim` and `qk_norm` keys, read after the heads, hidden and mla: heads must divide
// hidden unless head_dim gives their width, which latent attention sets in mla instead.
void read_head_width(MapReader& model_map, TransformerConfig& model);
// `family: gpt | llama`: GPT's learned positions, biases, LayerNorm, embedding tied to the output
// layer and dropout, or Llama's rotary positions, SwiGLU MLP without biases, RMSNorm, untied output
// layer and no dropout.
void set_family(TransformerConfig& model, bool llama);

}  // namespace scaleplan
