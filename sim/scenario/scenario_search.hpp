// Reading a scenario's `search:` section: the axes `scaleplan plan` ranges over
// (docs/planner.md). Part of the scenario reader.
#pragma once

#include "hardware/cluster.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/search_space.hpp"

namespace scaleplan {

// Reads `search` of `top` (present) into a SearchSpace for `job` on `cluster`, both read before.
// Each axis takes one value (the axis is fixed) or a list. A value no plan could take on its
// own is an error at its key: a degree that does not divide the device count, or breaks a rule
// of the model whatever the other axes (tp and the heads, cp and the sequence), a micro-batch
// that does not divide the global batch.
SearchSpace read_search(MapReader& top, const ClusterSpec& cluster, const TrainingJob& job);

// The same rules for the degrees of a space from elsewhere (`scaleplan plan --fix`): throws
// InputError naming `source` and the axis for each degree that breaks one.
void check_search_degrees(const SearchSpace& space, const ClusterSpec& cluster,
                          const TrainingJob& job, const std::string& source);

}  // namespace scaleplan
