// Reading a `model:` section that describes a layer graph (models/layer_graph.hpp).
#pragma once

#include "hardware/input/yaml_reader.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

// Whether the model section describes a layer graph: a graph preset's name, or a `resnet`,
// `vit`, `dlrm` or `layers` key.
bool is_graph_model(const MapReader& model_map);

// Reads it into `job` (set_graph), every problem reported at its key; finishes the map.
void read_graph_model(MapReader& model_map, TrainingJob& job);

}  // namespace scaleplan
