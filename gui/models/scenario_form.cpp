#include "gui/models/scenario_form.hpp"

#include <algorithm>
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

namespace {

// What the YAML text says, in a form two texts can be compared by: their trees, emitted.
std::string tree_of(std::string_view yaml_text, const std::string& file_label) {
  YAML::Emitter out;
  out << load_yaml_string(yaml_text, file_label);
  return out.c_str();
}

// `yaml_text` with `key` set to `value` (removed when empty) through the tree: the whole text is
// emitted again, so its comments and layout are lost. The fallback of the edit in place, and the
// tree the edit in place must give.
std::string rewritten(std::string_view yaml_text, const std::string& file_label,
                      const std::vector<std::string>& parts, const std::string& value) {
  YAML::Node root = load_yaml_string(yaml_text, file_label);
  if (!root.IsMap())
    root.reset(YAML::Node(YAML::NodeType::Map));
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

// The text's lines, for editing it where its nodes are (yaml-cpp's marks: 0-based line and
// column).
class TextLines {
 public:
  explicit TextLines(std::string_view text) : text_(text) {
    starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n')
        starts_.push_back(i + 1);
    }
  }
  std::size_t count() const { return starts_.size(); }
  // The offset of a mark, nullopt where it is not in the text.
  std::optional<std::size_t> offset(const YAML::Mark& mark) const {
    if (mark.line < 0 || mark.column < 0 || std::size_t(mark.line) >= starts_.size())
      return std::nullopt;
    const std::size_t at = starts_[std::size_t(mark.line)] + std::size_t(mark.column);
    return at <= text_.size() ? std::optional(at) : std::nullopt;
  }
  std::size_t line_start(std::size_t line) const {
    return line < starts_.size() ? starts_[line] : text_.size();
  }
  // Where the line after `line` starts (the end of the text after the last).
  std::size_t after_line(std::size_t line) const { return line_start(line + 1); }

 private:
  std::string_view text_;
  std::vector<std::size_t> starts_;
};

// Where the scalar that starts at `begin` ends: after a quoted scalar's closing quote; a plain
// one's last character before the end of the line or a comment (and in a flow collection, a
// comma or bracket). nullopt for a block scalar (| or >). A plain scalar that goes on over more
// lines is not seen here: the edit's check catches it.
std::optional<std::size_t> scalar_end(std::string_view text, std::size_t begin, bool in_flow) {
  if (begin >= text.size())
    return std::nullopt;
  const char first = text[begin];
  if (first == '|' || first == '>')
    return std::nullopt;
  if (first == '\'' || first == '"') {
    for (std::size_t i = begin + 1; i < text.size(); ++i) {
      if (first == '"' && text[i] == '\\') {
        ++i;
      } else if (text[i] == first) {
        if (first == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i;  // '' is a quote inside single quotes
          continue;
        }
        return i + 1;
      }
    }
    return std::nullopt;
  }
  std::size_t end = begin;
  for (std::size_t i = begin; i < text.size() && text[i] != '\n' && text[i] != '\r'; ++i) {
    if (text[i] == '#' && i > begin && (text[i - 1] == ' ' || text[i - 1] == '\t'))
      break;
    if (in_flow && (text[i] == ',' || text[i] == ']' || text[i] == '}'))
      break;
    if (text[i] != ' ' && text[i] != '\t')
      end = i + 1;
  }
  return end;
}

// The last line that a node's text reaches (the last of its keys and values, for a collection).
int last_line(const YAML::Node& node) {
  int line = node.Mark().line;
  if (node.IsMap()) {
    for (const auto& item : node)
      line = std::max({line, last_line(item.first), last_line(item.second)});
  } else if (node.IsSequence()) {
    for (const auto& item : node)
      line = std::max(line, last_line(item));
  }
  return line;
}

// `value` as YAML writes a plain scalar, quoted where it must be.
std::string scalar_text(const std::string& value) {
  YAML::Emitter out;
  out << value;
  return out.c_str();
}

bool only_spaces(std::string_view text) {
  return text.find_first_not_of(' ') == std::string_view::npos;
}

// The edit made in the text where the nodes are, so that comments, blank lines, the order of the
// keys and their quoting stay as they were. nullopt where the text's layout is not one it edits
// (flow collections, block scalars, a key without a value, an empty document).
std::optional<std::string> edited_in_place(std::string_view text, const std::string& file_label,
                                           const std::vector<std::string>& parts,
                                           const std::string& value) {
  const YAML::Node root = load_yaml_string(text, file_label);
  if (!root.IsMap() || root.size() == 0 || root.Style() == YAML::EmitterStyle::Flow)
    return std::nullopt;
  const TextLines lines(text);
  // The maps along the key as far as they exist, and the key's own node if it does.
  std::vector<YAML::Node> maps{root};
  YAML::Node node;
  bool found = true;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const YAML::Node& section = maps.back();  // const: looking a key up adds nothing
    const YAML::Node child = section[parts[i]];
    if (!child) {
      found = false;
      break;
    }
    if (i + 1 == parts.size()) {
      node.reset(child);
    } else {
      if (!child.IsMap() || child.Style() == YAML::EmitterStyle::Flow)
        return std::nullopt;  // a scalar where a section should be; a flow section
      maps.push_back(child);
    }
  }
  std::string out(text);
  if (found && !value.empty()) {
    // Replace the scalar where it stands.
    if (!node.IsScalar())
      return std::nullopt;
    const auto begin = lines.offset(node.Mark());
    if (!begin)
      return std::nullopt;
    const auto end = scalar_end(text, *begin, false);
    if (!end)
      return std::nullopt;
    return out.replace(*begin, *end - *begin, scalar_text(value));
  }
  if (found) {
    // Remove the key's lines, and those of the sections it leaves empty.
    std::size_t depth = parts.size() - 1;  // maps[depth] holds the entry to remove
    while (depth > 0 && maps[depth].size() == 1)
      --depth;
    const YAML::Node& owner = maps[depth];
    for (const auto& item : owner) {
      if (!item.first.IsScalar() || item.first.Scalar() != parts[depth])
        continue;
      const auto key = lines.offset(item.first.Mark());
      if (!key)
        return std::nullopt;
      const std::size_t start = lines.line_start(std::size_t(item.first.Mark().line));
      if (!only_spaces(std::string_view(text).substr(start, *key - start)))
        return std::nullopt;  // not a key on a line of its own
      const int last = std::max(last_line(item.first), last_line(item.second));
      return out.erase(start, lines.after_line(std::size_t(last)) - start);
    }
    return std::nullopt;
  }
  if (value.empty())
    return std::string(text);  // nothing to remove
  // Add the key (and the sections it needs) after the last entry of the deepest section there
  // is, indented as that section's keys are.
  const YAML::Node& parent = maps.back();
  const std::size_t depth = maps.size() - 1;
  if (parent.size() == 0)
    return std::nullopt;
  const int column = parent.begin()->first.Mark().column;
  int step = 2;  // the file's indentation: the first nested section's, else two spaces
  for (const auto& item : root) {
    if (item.second.IsMap() && item.second.size() > 0 &&
        item.second.Style() != YAML::EmitterStyle::Flow) {
      step = std::max(1, item.second.begin()->first.Mark().column - item.first.Mark().column);
      break;
    }
  }
  std::string added;
  for (std::size_t i = depth; i < parts.size(); ++i) {
    added += std::string(std::size_t(column + int(i - depth) * step), ' ') + parts[i] + ":";
    added += i + 1 == parts.size() ? " " + scalar_text(value) + "\n" : "\n";
  }
  std::size_t at = lines.after_line(std::size_t(last_line(parent)));
  if (at == text.size() && !text.empty() && text.back() != '\n') {
    out += '\n';
    at = out.size();
  }
  return out.insert(at, added);
}

}  // namespace

std::string with_field_value(std::string_view yaml_text, const std::string& file_label,
                             const std::string& key, const std::string& value) {
  const std::vector<std::string> parts = split_key(key);
  const std::string whole = rewritten(yaml_text, file_label, parts, value);
  if (whole == yaml_text)
    return whole;
  // The edit in place stands only where it says what the rewritten text says.
  if (auto in_place = edited_in_place(yaml_text, file_label, parts, value)) {
    try {
      if (tree_of(*in_place, file_label) == tree_of(whole, file_label))
        return *in_place;
    } catch (const InputError&) {
      // The edit in place broke the text: the rewritten one stands.
    }
  }
  return whole;
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
        result.by_field[owner->key].push_back(diagnostic.format());
      else
        result.other.push_back(diagnostic.format());
    }
  }
  return result;
}

}  // namespace scaleplan::gui
