#include "gui/models/scenario_form.hpp"

#include <sstream>

#include <yaml-cpp/yaml.h>

#include "hardware/cluster.hpp"
#include "hardware/device_spec.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "models/transformer.hpp"
#include "sim/strategy/strategy.hpp"

namespace scaleplan::gui {
namespace {

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::stringstream in(key);
  std::string part;
  while (std::getline(in, part, '.'))
    parts.push_back(part);
  return parts;
}

// The node at `parts` under `node`, or an invalid node.
YAML::Node find(YAML::Node node, const std::vector<std::string>& parts) {
  for (const std::string& part : parts) {
    if (!node.IsMap())
      return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node child = node[part];
    if (!child)
      return YAML::Node(YAML::NodeType::Undefined);
    node.reset(child);  // rebinds; `node = child` would overwrite the parent with the child
  }
  return node;
}

}  // namespace

std::vector<FieldSpec> scenario_fields(const Catalog& catalog) {
  using K = FieldKind;
  std::vector<std::string> presets = transformer_preset_names();
  presets.insert(presets.begin(), "");  // no preset: every dimension given
  return {
      {"name", "name", "cluster", K::text, {}, ""},
      {"cluster.device", "device", "cluster", K::choice, catalog.names(), ""},
      {"cluster.nodes", "nodes", "cluster", K::integer, {}, "nodes"},
      {"cluster.devices_per_node", "devices per node", "cluster", K::integer, {}, "devices"},
      {"cluster.node_fabric", "node fabric", "cluster", K::choice, node_fabric_names.names(), ""},
      {"cluster.network.topology", "network topology", "cluster", K::choice,
       [] {
         auto names = network_topology_names.names();
         names.insert(names.begin(), "");
         return names;
       }(),
       ""},
      {"cluster.network.link_bandwidth_gbps", "link bandwidth", "cluster", K::number, {}, "Gb/s"},
      {"cluster.network.nics_per_node", "NICs per node", "cluster", K::integer, {}, "NICs"},
      {"cluster.network.oversubscription", "oversubscription", "cluster", K::number, {}, ":1"},
      {"model.preset", "preset", "model", K::choice, presets, ""},
      {"model.layers", "layers", "model", K::integer, {}, ""},
      {"model.hidden", "hidden size", "model", K::integer, {}, ""},
      {"model.ffn_hidden", "FFN hidden size", "model", K::integer, {}, ""},
      {"model.heads", "attention heads", "model", K::integer, {}, ""},
      {"model.kv_heads", "KV heads", "model", K::integer, {}, ""},
      {"model.vocab", "vocabulary", "model", K::integer, {}, "tokens"},
      {"model.seq_len", "sequence length", "model", K::integer, {}, "tokens"},
      {"training.global_batch", "global batch", "training", K::integer, {}, "sequences"},
      {"training.micro_batch", "micro-batch", "training", K::integer, {}, "sequences"},
      {"training.dtype", "dtype", "training", K::choice, dtype_names.names(), ""},
      {"parallelism.tp", "tensor parallel (tp)", "parallelism", K::integer, {}, ""},
      {"parallelism.pp", "pipeline parallel (pp)", "parallelism", K::integer, {}, ""},
      {"parallelism.dp", "data parallel (dp)", "parallelism", K::integer, {}, ""},
      {"parallelism.cp", "context parallel (cp)", "parallelism", K::integer, {}, ""},
      {"parallelism.ep", "expert parallel (ep)", "parallelism", K::integer, {}, ""},
      {"parallelism.schedule", "schedule", "parallelism", K::choice,
       pipeline_schedule_names.names(), ""},
      {"parallelism.virtual_stages", "virtual stages", "parallelism", K::integer, {}, ""},
      {"parallelism.zero", "ZeRO stage", "parallelism", K::integer, {}, ""},
      {"parallelism.recompute", "recompute", "parallelism", K::choice, recompute_names.names(), ""},
      {"parallelism.sequence_parallel", "sequence parallel", "parallelism", K::boolean, {}, ""},
  };
}

std::map<std::string, std::string> field_values(std::string_view yaml_text,
                                                const std::string& file_label,
                                                const std::vector<FieldSpec>& fields) {
  const YAML::Node root = load_yaml_string(yaml_text, file_label);
  std::map<std::string, std::string> values;
  for (const FieldSpec& field : fields) {
    const YAML::Node node = find(root, split_key(field.key));
    if (node.IsDefined() && node.IsScalar())
      values[field.key] = node.Scalar();
  }
  return values;
}

std::string with_field_value(std::string_view yaml_text, const std::string& file_label,
                             const std::string& key, const std::string& value) {
  YAML::Node root = load_yaml_string(yaml_text, file_label);
  if (!root.IsMap())
    root.reset(YAML::Node(YAML::NodeType::Map));
  const std::vector<std::string> parts = split_key(key);
  std::vector<YAML::Node> path{root};
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node child = path.back()[parts[i]];
    if (!child.IsMap()) {
      if (value.empty())
        return std::string(yaml_text);  // nothing to remove
      path.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
      child.reset(path.back()[parts[i]]);
    }
    path.push_back(child);
  }
  if (value.empty()) {
    path.back().remove(parts.back());
    // A section left empty goes too, so that removing a key does not leave `network: {}`.
    for (std::size_t i = path.size() - 1; i > 0 && path[i].size() == 0; --i)
      path[i - 1].remove(parts[i - 1]);
  } else {
    path.back()[parts.back()] = value;
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

FormValidation validate_scenario_text(std::string_view yaml_text, const std::string& file_label,
                                      const Catalog& catalog,
                                      const std::vector<FieldSpec>& fields) {
  FormValidation result;
  try {
    result.scenario = parse_scenario(yaml_text, file_label, catalog);
  } catch (const InputError& error) {
    for (const Diagnostic& diagnostic : error.diagnostics()) {
      const FieldSpec* owner = nullptr;
      for (const FieldSpec& field : fields) {
        if (diagnostic.key == field.key || diagnostic.key.starts_with(field.key + "."))
          owner = &field;
      }
      if (owner)
        result.by_field[owner->key].push_back(diagnostic.message);
      else
        result.other.push_back(diagnostic.format());
    }
  }
  return result;
}

}  // namespace scaleplan::gui
