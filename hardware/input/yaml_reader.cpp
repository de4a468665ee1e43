#include "hardware/input/yaml_reader.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace scaleplan {

std::string NumberRange::violation(double value) const {
  if (low == 0 && low_included && !std::isfinite(high))
    return fmt::format("must not be negative, got {}", value);
  return fmt::format("must be {}, got {}", describe(), value);
}

std::string NumberRange::describe() const {
  const bool bounded_below = std::isfinite(low);
  const bool bounded_above = std::isfinite(high);
  const std::string lower = fmt::format("{} {}", low_included ? "at least" : "greater than", low);
  const std::string upper = fmt::format("{} {}", high_included ? "at most" : "less than", high);
  if (bounded_below && bounded_above) {
    if (low_included && high_included)
      return fmt::format("from {} to {}", low, high);
    return lower + " and " + upper;
  }
  if (bounded_below)
    return lower;
  if (bounded_above)
    return upper;
  return "a number";
}

SourceLocation location_of(const YAML::Node& node, const std::string& file) {
  if (!node.IsDefined())
    return {file, 0, 0};
  const YAML::Mark mark = node.Mark();
  if (mark.is_null())
    return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

void Diagnostics::error(const YAML::Node& at, std::string key, std::string message) {
  error(location_of(at, file_), std::move(key), std::move(message));
}

void Diagnostics::error(SourceLocation where, std::string key, std::string message) {
  diagnostics_.push_back({std::move(where), std::move(key), std::move(message)});
}

void Diagnostics::throw_if_any() const {
  if (!diagnostics_.empty())
    throw InputError(diagnostics_);
}

namespace {

// Length of the well-formed UTF-8 sequence starting at text[i], or 0 if it is malformed
// (overlong forms, surrogates and code points past U+10FFFF included), per RFC 3629.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80)
    return 1;
  std::size_t length;
  unsigned char low = 0x80, high = 0xbf;  // range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0)
      low = 0xa0;
    if (lead == 0xed)
      high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0)
      low = 0x90;
    if (lead == 0xf4)
      high = 0x8f;
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high)
    return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf)
      return 0;
  }
  return length;
}

}  // namespace

// YAML is Unicode text; yaml-cpp passes other bytes through into strings, which then break
// JSON reports and traces far from the input. They are refused here, where the line is known.
void check_utf8(std::string_view text, const std::string& file_label) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      throw InputError(
          {{{file_label, line, column},
            "",
            fmt::format("byte 0x{:02X} is not valid UTF-8; save the file as UTF-8 text",
                        static_cast<unsigned char>(text[i]))}});
    }
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
  }
}

namespace {

YAML::Node parse_yaml(std::string_view text, const std::string& file_label) {
  check_utf8(text, file_label);
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    SourceLocation where{file_label, e.mark.is_null() ? 0 : e.mark.line + 1,
                         e.mark.is_null() ? 0 : e.mark.column + 1};
    throw InputError({{where, "", "malformed YAML: " + e.msg}});
  } catch (const YAML::Exception& e) {
    throw InputError({{{file_label, 0, 0}, "", std::string("malformed YAML: ") + e.what()}});
  }
}
}  // namespace

std::string read_input_file(const std::filesystem::path& path) {
  const std::string label = path.string();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    throw InputError({{{label, 0, 0}, "", "no such file"}});
  }
  if (!std::filesystem::is_regular_file(status)) {
    throw InputError({{{label, 0, 0}, "", "not a regular file"}});
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec)
    throw InputError({{{label, 0, 0}, "", "cannot read the file size: " + ec.message()}});
  if (size > max_input_file_bytes) {
    throw InputError({{{label, 0, 0},
                       "",
                       "file is " + std::to_string(size) + " bytes; inputs are limited to " +
                           std::to_string(max_input_file_bytes) + " bytes"}});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError({{{label, 0, 0}, "", "cannot open the file"}});
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

YAML::Node load_yaml_file(const std::filesystem::path& path) {
  return parse_yaml(read_input_file(path), path.string());
}

YAML::Node load_yaml_string(std::string_view text, const std::string& file_label) {
  if (text.size() > max_input_file_bytes) {
    throw InputError(
        {{{file_label, 0, 0},
          "",
          "input is " + std::to_string(text.size()) + " bytes; inputs are limited to " +
              std::to_string(max_input_file_bytes) + " bytes"}});
  }
  return parse_yaml(text, file_label);
}

MapReader::MapReader(const YAML::Node& node, std::string path, Diagnostics& diagnostics)
    : node_(node), path_(std::move(path)), diagnostics_(&diagnostics) {
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    diagnostics_->error(node_, path_.empty() ? std::string("<top level>") : path_,
                        "expected a mapping of keys to values");
    node_ = YAML::Node(YAML::NodeType::Map);
  }
}

std::string MapReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool MapReader::has(std::string_view key) const {
  if (!node_.IsMap())
    return false;
  const YAML::Node& self = node_;
  return self[std::string(key)].IsDefined();
}

SourceLocation MapReader::location(std::string_view key) const {
  if (node_.IsMap()) {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      if (it->first.Scalar() == key) {
        // An empty value has no place of its own (yaml-cpp marks it where the next token starts,
        // often the next line); the key's place is where the user looks.
        return location_of(it->second.IsNull() ? it->first : it->second, diagnostics_->file());
      }
    }
  }
  return location_of(node_, diagnostics_->file());
}

void MapReader::error(std::string_view key, std::string message) const {
  diagnostics_->error(location(key), path_of(key), std::move(message));
}

YAML::Node MapReader::lookup(std::string_view key) {
  accept(key);
  if (!node_.IsMap())
    return YAML::Node();
  const YAML::Node& self = node_;
  return self[std::string(key)];
}

void MapReader::accept(std::string_view key) {
  if (std::find(known_keys_.begin(), known_keys_.end(), key) == known_keys_.end()) {
    known_keys_.emplace_back(key);
  }
}

template <class T>
std::optional<T> MapReader::scalar(std::string_view key, const char* expected) {
  const YAML::Node value = lookup(key);
  if (!value.IsDefined())
    return std::nullopt;
  if (!value.IsScalar()) {
    error(key, std::string("expected ") + expected);
    return std::nullopt;
  }
  try {
    return value.as<T>();
  } catch (const YAML::Exception&) {
    error(key, std::string("expected ") + expected + ", got '" + value.Scalar() + "'");
    return std::nullopt;
  }
}

std::optional<std::int64_t> MapReader::integer(std::string_view key) {
  return scalar<std::int64_t>(key, "an integer");
}

std::optional<double> MapReader::number(std::string_view key) {
  auto value = scalar<double>(key, "a number");
  if (value && !std::isfinite(*value)) {
    error(key, "expected a finite number, got '" + node_[std::string(key)].Scalar() + "'");
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> MapReader::integer_within(std::string_view key, std::int64_t min,
                                                      std::int64_t max) {
  const auto value = integer(key);
  if (!value || (*value >= min && *value <= max))
    return value;
  if (max == std::numeric_limits<std::int64_t>::max()) {
    error(key, fmt::format("{} is out of range; use {} or more", *value, min));
  } else {
    error(key, fmt::format("{} is out of range; use a value from {} to {}", *value, min, max));
  }
  return std::nullopt;
}

std::optional<std::int64_t> MapReader::integer(std::string_view key, std::int64_t min,
                                               std::int64_t max) {
  if (!has(key)) {
    accept(key);
    return std::nullopt;
  }
  return integer_within(key, min, max);
}

std::optional<std::int64_t> MapReader::integer(std::string_view key, std::int64_t min,
                                               std::int64_t max, std::int64_t if_absent) {
  if (!has(key)) {
    accept(key);
    return if_absent;
  }
  return integer_within(key, min, max);
}

std::optional<std::int64_t> MapReader::integer(std::string_view key, std::int64_t min,
                                               std::int64_t max, Required) {
  if (!require(key))
    return std::nullopt;
  return integer_within(key, min, max);
}

std::optional<double> MapReader::number_within(std::string_view key, NumberRange range) {
  const auto value = number(key);
  if (!value || range.contains(*value))
    return value;
  error(key, range.violation(*value));
  return std::nullopt;
}

std::optional<double> MapReader::number(std::string_view key, NumberRange range) {
  if (!has(key)) {
    accept(key);
    return std::nullopt;
  }
  return number_within(key, range);
}

std::optional<double> MapReader::number(std::string_view key, NumberRange range, double if_absent) {
  if (!has(key)) {
    accept(key);
    return if_absent;
  }
  return number_within(key, range);
}

std::optional<double> MapReader::number(std::string_view key, NumberRange range, Required) {
  if (!require(key))
    return std::nullopt;
  return number_within(key, range);
}

std::optional<std::vector<double>> MapReader::numbers(std::string_view key, NumberRange range,
                                                      std::size_t min_items,
                                                      std::size_t max_items) {
  if (!has(key)) {
    accept(key);
    return std::nullopt;
  }
  const YAML::Node list = lookup(key);
  if (!list.IsSequence()) {
    error(key, "expected a list of numbers");
    return std::nullopt;
  }
  std::vector<double> values;
  for (const auto& item : list) {
    double v = 0;
    if (!item.IsScalar() || !YAML::convert<double>::decode(item, v) || !std::isfinite(v)) {
      diagnostics_->error(item, path_of(key), "expected a list of numbers");
      return std::nullopt;
    }
    values.push_back(v);
  }
  if (values.size() < min_items || values.size() > max_items) {
    const std::string count = max_items > min_items ? fmt::format("{} to {}", min_items, max_items)
                                                    : fmt::format("{}", min_items);
    error(key, fmt::format("expected {} values, got {}", count, values.size()));
    return std::nullopt;
  }
  for (double v : values) {
    if (!range.contains(v)) {
      error(key, fmt::format("every value must be {}, got {}", range.describe(), v));
      return std::nullopt;
    }
  }
  return values;
}

std::optional<std::vector<std::int64_t>> MapReader::integers(std::string_view key, std::int64_t min,
                                                             std::int64_t max,
                                                             std::size_t min_items,
                                                             std::size_t max_items) {
  const auto values =
      numbers(key, NumberRange::closed(static_cast<double>(min), static_cast<double>(max)),
              min_items, max_items);
  if (!values)
    return std::nullopt;
  std::vector<std::int64_t> result;
  result.reserve(values->size());
  for (double v : *values) {
    if (v != std::floor(v)) {
      error(key, fmt::format("expected whole numbers, got {}", v));
      return std::nullopt;
    }
    result.push_back(static_cast<std::int64_t>(v));
  }
  return result;
}

std::optional<bool> MapReader::boolean(std::string_view key) {
  return scalar<bool>(key, "true or false");
}

std::optional<std::string> MapReader::string(std::string_view key) {
  return scalar<std::string>(key, "a string");
}

std::optional<std::string> MapReader::choice(std::string_view key,
                                             const std::vector<std::string>& allowed) {
  auto value = string(key);
  if (!value)
    return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *value) != allowed.end())
    return value;
  std::string message = "'" + *value + "' is not one of " + join_alternatives(allowed);
  if (auto near = closest_match(*value, allowed))
    message += "; did you mean '" + *near + "'?";
  error(key, message);
  return std::nullopt;
}

bool MapReader::header(std::string_view format, std::string_view kind_of_file,
                       std::optional<std::int64_t> version) {
  bool right = false;
  if (require("format")) {
    const auto text = string("format");
    right = text && *text == format;
    if (text && !right) {
      error("format",
            fmt::format("expected '{}' (a {} file), got '{}'", format, kind_of_file, *text));
    }
  }
  if (!version)
    return right;
  if (!require("version"))
    return false;
  const auto number = integer("version");
  if (number && *number != *version) {
    error("version", fmt::format("version {} is not supported; this build reads version {}",
                                 *number, *version));
  }
  return right && number == version;
}

bool MapReader::require(std::string_view key) {
  accept(key);
  if (has(key))
    return true;
  diagnostics_->error(location_of(node_, diagnostics_->file()), path_of(key),
                      "required key is missing");
  return false;
}

MapReader MapReader::child(std::string_view key) {
  YAML::Node value = lookup(key);
  if (!value.IsDefined() || value.IsNull()) {
    return MapReader(YAML::Node(YAML::NodeType::Map), path_of(key), *diagnostics_);
  }
  return MapReader(value, path_of(key), *diagnostics_);
}

std::vector<YAML::Node> MapReader::sequence(std::string_view key) {
  const YAML::Node value = lookup(key);
  std::vector<YAML::Node> items;
  if (!value.IsDefined() || value.IsNull())
    return items;
  if (!value.IsSequence()) {
    error(key, "expected a list");
    return items;
  }
  for (const auto& item : value)
    items.push_back(item);
  return items;
}

void MapReader::finish() {
  if (!node_.IsMap())
    return;
  // yaml-cpp keeps every copy of a repeated key and lookups find the first, so a second
  // `schedule:` would be ignored without a word.
  std::map<std::string, SourceLocation> first_seen;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string key =
        it->first.IsScalar() ? it->first.Scalar() : std::string("<complex key>");
    const SourceLocation here = location_of(it->first, diagnostics_->file());
    if (it->first.IsScalar()) {
      const auto [first, inserted] = first_seen.emplace(key, here);
      if (!inserted) {
        diagnostics_->error(here, path_of(key),
                            "appears twice in this mapping (first at line " +
                                std::to_string(first->second.line) + "); keep one");
        continue;
      }
    }
    if (std::find(known_keys_.begin(), known_keys_.end(), key) != known_keys_.end())
      continue;
    std::string message = "unknown key";
    if (auto near = closest_match(key, known_keys_)) {
      message += "; did you mean '" + *near + "'?";
    } else if (!known_keys_.empty()) {
      message += "; valid keys here: " + join_alternatives(known_keys_);
    }
    diagnostics_->error(location_of(it->first, diagnostics_->file()), path_of(key), message);
  }
}

}  // namespace scaleplan
