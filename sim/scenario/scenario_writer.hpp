// Writing a scenario back with another plan in it: `scaleplan plan --emit-scenario` turns a
// ranked plan into a scenario that `scaleplan run` runs as it is.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

// `yaml_text`, a scenario file read from `file_label`, with `job`'s parallelism (every key of the
// parallelism section) and micro-batch in place of its own, without its search section, and
// named `name`. A calibration profile it names is written as `calibration_path` (the path as
// resolved against the original file's folder), so that the new file may live elsewhere. Keys and
// values are kept; comments and layout are not. Throws InputError for text that is not YAML.
std::string scenario_with_plan(std::string_view yaml_text, const std::string& file_label,
                               const TrainingJob& job, const std::string& name,
                               const std::optional<std::string>& calibration_path);

}  // namespace scaleplan
