// Reading hand-written YAML: every error names the file, the line, the column and the key, says
// what would be valid, and all errors of a file are reported together.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "hardware/input/diagnostics.hpp"
#include "hardware/input/enum_names.hpp"

namespace scaleplan {

// Collects the errors of one file so that a user sees all of them at once.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Node& at, std::string key, std::string message);
  void error(SourceLocation where, std::string key, std::string message);
  const std::string& file() const { return file_; }
  bool empty() const { return diagnostics_.empty(); }
  void throw_if_any() const;

 private:
  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

// Largest input file read; beyond it the file is refused before parsing (a planner input is
// kilobytes, a measurement file megabytes).
inline constexpr std::uintmax_t max_input_file_bytes = 256ull << 20;

// Reads a whole input file; throws InputError for a missing, unreadable or oversized file.
std::string read_input_file(const std::filesystem::path& path);

// Throws InputError naming the line and column of the first byte that is not well-formed UTF-8
// (RFC 3629: no overlong forms, surrogates or code points past U+10FFFF). Every text input is
// checked, so that what is read can be written back as YAML and JSON.
void check_utf8(std::string_view text, const std::string& file_label);

// Parses a YAML file or string. Throws InputError naming the line of a syntax error, a missing
// file, or a file over max_input_file_bytes.
YAML::Node load_yaml_file(const std::filesystem::path& path);
YAML::Node load_yaml_string(std::string_view text, const std::string& file_label);

SourceLocation location_of(const YAML::Node& node, const std::string& file);

// Reads one YAML mapping. The keys a caller asks for are the schema: finish() reports every
// other key as unknown, with the closest known key as a suggestion. Type and range errors go
// to the Diagnostics; getters then return std::nullopt so that reading carries on.
class MapReader {
 public:
  MapReader(const YAML::Node& node, std::string path, Diagnostics& diagnostics);

  bool has(std::string_view key) const;
  std::string path_of(std::string_view key) const;
  SourceLocation location(std::string_view key) const;
  const YAML::Node& node() const { return node_; }
  Diagnostics& diagnostics() const { return *diagnostics_; }

  std::optional<std::int64_t> integer(std::string_view key);
  std::optional<double> number(std::string_view key);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::string> string(std::string_view key);
  // One of `allowed`; anything else is reported with the allowed values.
  std::optional<std::string> choice(std::string_view key, const std::vector<std::string>& allowed);
  // One of the names in `table`, as its enum value; anything else is reported with the names.
  template <class Enum, std::size_t N>
  std::optional<Enum> enumeration(std::string_view key, const EnumNames<Enum, N>& table) {
    const auto name = choice(key, table.names());
    return name ? table.parse(*name) : std::nullopt;
  }

  // Reports a missing key; returns whether it is present.
  bool require(std::string_view key);
  // A nested mapping (an empty one if the key is absent). Reports a value that is not a map.
  MapReader child(std::string_view key);
  // Reports a value that is not a sequence; returns the items otherwise.
  std::vector<YAML::Node> sequence(std::string_view key);

  void error(std::string_view key, std::string message) const;

  // Declares a key as known without reading it (read elsewhere or deliberately ignored).
  void accept(std::string_view key);
  void finish();

 private:
  YAML::Node lookup(std::string_view key);
  template <class T>
  std::optional<T> scalar(std::string_view key, const char* expected);

  YAML::Node node_;
  std::string path_;
  Diagnostics* diagnostics_;
  std::vector<std::string> known_keys_;
};

}  // namespace scaleplan
