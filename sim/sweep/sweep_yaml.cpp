#include "sim/sweep/sweep_yaml.hpp"

#include <vector>

namespace scaleplan::sweep {

namespace {

std::vector<std::string> parts_of(std::string_view key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = key.find('.', start);
    parts.emplace_back(key.substr(start, dot - start));
    if (dot == std::string_view::npos)
      return parts;
    start = dot + 1;
  }
}

}  // namespace

std::optional<std::string> set_key(YAML::Node root, std::string_view key, const YAML::Node& value) {
  const std::vector<std::string> parts = parts_of(key);
  YAML::Node node = root;
  std::string path;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    path += (path.empty() ? "" : ".") + parts[i];
    YAML::Node child = node[parts[i]];
    if (!child.IsDefined() || child.IsNull()) {
      node[parts[i]] = YAML::Node(YAML::NodeType::Map);
      child = node[parts[i]];
    } else if (!child.IsMap()) {
      return path + " is not a mapping in the base scenario, so it has no key " + parts[i + 1];
    }
    node.reset(child);
  }
  node[parts.back()] = value;
  return std::nullopt;
}

std::optional<std::string> scalar_at(const YAML::Node& root, std::string_view key) {
  YAML::Node node = root;
  for (const std::string& part : parts_of(key)) {
    if (!node.IsMap())
      return std::nullopt;
    const YAML::Node& lookup = node;  // the const operator[]: no key is added
    const YAML::Node child = lookup[part];
    if (!child.IsDefined())
      return std::nullopt;
    node.reset(child);
  }
  if (!node.IsScalar())
    return std::nullopt;
  return node.Scalar();
}

std::string value_text(const YAML::Node& value) {
  if (value.IsScalar())
    return value.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << value;
  return out.c_str();
}

}  // namespace scaleplan::sweep
