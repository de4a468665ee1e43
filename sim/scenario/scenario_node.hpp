// A scenario read from a YAML tree already parsed, for callers that build scenarios as trees (a
// sweep sets its axes' values in a copy of its base scenario): the same checks and errors as
// parse_scenario, without printing and re-parsing the text.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "sim/scenario/scenario.hpp"

namespace scaleplan {

// parse_scenario for a tree; `file_label` names the file in errors and resolves a calibration
// profile's relative path.
Scenario parse_scenario_node(const YAML::Node& root, const std::string& file_label,
                             const Catalog& catalog, ScenarioUse use = ScenarioUse::run);

}  // namespace scaleplan
