// The scenario editor's fields as values: which keys the four forms (cluster, model, training,
// parallelism) show and what may be picked for each, the scenario's YAML with the forms' values
// written into it, and the scenario reader's own diagnostics sorted by the field they belong to,
// so that a field shows exactly what `scaleplan run` would print for it. No Qt here.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/io/catalog.hpp"
#include "sim/scenario/scenario.hpp"

namespace scaleplan::gui {

enum class FieldKind { text, integer, number, choice, boolean };

struct FieldSpec {
  std::string key;      // the scenario key, dotted: "parallelism.tp"
  std::string label;    // what the form shows: "tensor parallel (tp)"
  std::string section;  // "cluster", "model", "training" or "parallelism"
  FieldKind kind = FieldKind::integer;
  std::vector<std::string> choices;  // choice: catalog devices, presets, enum names
  std::string unit;                  // "Gb/s", "sequences", "tokens"; may be empty
};

// The forms' fields, in form order; the devices from `catalog`, the model presets and every
// enum's names from the library's tables.
std::vector<FieldSpec> scenario_fields(const Catalog& catalog);

// The value of each field present in `yaml_text` as its scalar text; fields absent are left
// out. Throws InputError for text that is not YAML.
std::map<std::string, std::string> field_values(std::string_view yaml_text,
                                                const std::string& file_label,
                                                const std::vector<FieldSpec>& fields);

// `yaml_text` with `key` (dotted) set to `value`, written as a plain YAML scalar (quoted only
// where YAML needs it) so that the reader sees what a user would have typed; an empty value
// removes the key, and the sections it leaves empty. The edit is made in the text where the key
// stands (a key added goes after the last key of its section, indented as they are), so that
// comments, blank lines, key order and quoting are kept, and it stands only when the text it
// gives reads as the same tree as the whole document written again would. Where the text's
// layout is not one it edits in place (flow collections such as `{tp: 2}`, block scalars, an
// empty document), the whole document is written again, and its comments are lost. Throws
// InputError for text that is not YAML.
std::string with_field_value(std::string_view yaml_text, const std::string& file_label,
                             const std::string& key, const std::string& value);

// What the scenario reader says about a text, sorted for the forms.
struct FormValidation {
  std::optional<Scenario> scenario;  // read without error
  // The reader's messages at each field's key or below it, as the command line prints them
  // ("file:line:column: key: message").
  std::map<std::string, std::vector<std::string>> by_field;
  // The rest, formatted as the command line prints them ("file:line:column: key: message").
  std::vector<std::string> other;
  bool ok() const { return scenario.has_value(); }
};
FormValidation validate_scenario_text(std::string_view yaml_text, const std::string& file_label,
                                      const Catalog& catalog, const std::vector<FieldSpec>& fields);

}  // namespace scaleplan::gui
