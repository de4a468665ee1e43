// The YAML side of a sweep, shared by the reader and the runner (not a public header): setting a
// dotted key in a scenario tree.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

namespace scaleplan::sweep {

// Sets the dotted `key` of the mapping `root` to `value`, making the mappings on the way. Returns
// the problem when a section on the way is not a mapping ("model is not a mapping").
std::optional<std::string> set_key(YAML::Node root, std::string_view key, const YAML::Node& value);

// The scalar at the dotted `key` of `root`, if there is one.
std::optional<std::string> scalar_at(const YAML::Node& root, std::string_view key);

// A value as one line of text: a scalar as written, a list or mapping in flow style.
std::string value_text(const YAML::Node& value);

}  // namespace scaleplan::sweep
