// Reading hand-written YAML: every error names the file, the line, the column and the key, says
// what would be valid, and all errors of a file are reported together.
#pragma once

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <limits>
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
  std::size_t size() const { return diagnostics_.size(); }
  void throw_if_any() const;

 private:
  std::string file_;
  std::vector<Diagnostic> diagnostics_;
};

// Largest input file read; beyond it the file is refused before parsing (a planner input is
// kilobytes, a measurement file megabytes).
inline constexpr std::uintmax_t max_input_file_bytes = 256ull << 20;

// Largest YAML input in nodes (every value, list and map; an alias counts as the nodes it
// repeats), checked before yaml-cpp builds its tree: yaml-cpp takes about 460 bytes per node
// (measured with yaml-cpp 0.7: a list of 10^6 numbers, 463 MB), so the limit bounds a parse to
// about 1.9 GB; the file size limit alone would allow tens of GB. The deepest nesting of lists
// and maps read: scaleplan's formats nest six levels at most, and yaml-cpp's own guard stops
// near 500 with the message "bad file".
inline constexpr std::uint64_t max_yaml_nodes = 1 << 22;
inline constexpr std::uint64_t yaml_bytes_per_node = 460;
inline constexpr std::size_t max_yaml_depth = 64;

// The YAML values, lists and maps `text` holds, an alias counting as what it repeats: what the
// readers limit to max_yaml_nodes, counted without building them, so that a writer can tell
// before writing whether what it writes can be read back. Throws InputError for text that is
// not YAML (or nests deeper than max_yaml_depth).
std::uint64_t yaml_value_count(std::string_view text, const std::string& file_label);

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

// The one number syntax of every input (docs/scenario-format.md): decimal. An integer is an
// optional sign and digits; a number may also have a fraction and an exponent (2.5, 1e-6, .5).
// A leading zero before another digit is an error, not octal and not decimal: YAML 1.1 reads
// `040` as 32 and YAML 1.2 as 40, and a file must not mean one thing to one reader and another
// to the next. Hexadecimal, octal and binary forms (0x1F, 0o17, 0b1), digit separators, .inf
// and .nan are errors too. On an error the functions return std::nullopt and set `problem` to
// the message ("expected an integer, got '0x1F'").
std::optional<std::int64_t> decimal_integer(std::string_view text, std::string& problem);
std::optional<double> decimal_number(std::string_view text, std::string& problem);

// The numbers a key accepts: from `low` to `high`, each end included or not, either end possibly
// infinite. Messages describe it as a user reads it ("greater than 0 and at most 64").
struct NumberRange {
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  bool low_included = true;
  bool high_included = true;

  // [low, high]
  static constexpr NumberRange closed(double low, double high) { return {low, high, true, true}; }
  // (0, high]
  static constexpr NumberRange positive(double high = std::numeric_limits<double>::infinity()) {
    return {0, high, false, true};
  }
  // [0, high]
  static constexpr NumberRange non_negative(double high = std::numeric_limits<double>::infinity()) {
    return {0, high, true, true};
  }
  // [low, high)
  static constexpr NumberRange below(double low, double high) { return {low, high, true, false}; }

  constexpr bool contains(double value) const {
    return (low_included ? value >= low : value > low) &&
           (high_included ? value <= high : value < high);
  }
  // "from 1 to 64", "greater than 0 and at most 1000000", "not negative", ...
  std::string describe() const;
  // What a message says of a value outside: "must be from 1 to 64, got 0.5".
  std::string violation(double value) const;
};

// A ranged getter given `required_key` reports an absent key as missing.
struct Required {};
inline constexpr Required required_key{};

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

  // An integer from `min` to `max` ("0 is out of range; use a value from 1 to 64" otherwise).
  // Absent: std::nullopt without an error, `if_absent`, or a "required key is missing" error.
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                      std::int64_t if_absent);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                      Required);
  // A finite number within `range` ("must be from 1 to 64, got 0.5" otherwise). Absent: as for
  // integer().
  std::optional<double> number(std::string_view key, NumberRange range);
  std::optional<double> number(std::string_view key, NumberRange range, double if_absent);
  std::optional<double> number(std::string_view key, NumberRange range, Required);
  // A bool is neither a default nor `required_key` (a flag named `required` passed by mistake).
  template <class Flag>
  requires std::same_as<Flag, bool> std::optional<double> number(std::string_view, NumberRange,
                                                                 Flag)
  = delete;
  template <class Flag>
  requires std::same_as<Flag, bool> std::optional<std::int64_t> integer(std::string_view,
                                                                        std::int64_t, std::int64_t,
                                                                        Flag)
  = delete;
  // A list of `min_items` to `max_items` numbers, each within `range`; absent: std::nullopt
  // without an error. One bad item rejects the whole list.
  std::optional<std::vector<double>> numbers(std::string_view key, NumberRange range,
                                             std::size_t min_items, std::size_t max_items);
  // As numbers(), each a whole number from `min` to `max`.
  std::optional<std::vector<std::int64_t>> integers(std::string_view key, std::int64_t min,
                                                    std::int64_t max, std::size_t min_items,
                                                    std::size_t max_items);
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

  // The header of a scaleplan file: `format:` naming its kind ("scaleplan-profile/1"), and for
  // formats that number their versions apart, `version:`. Both are required; anything else than
  // `format` and `version` is reported ("expected 'scaleplan-plan' (a plan file), got 'x'").
  // Returns whether the header is this build's.
  bool header(std::string_view format, std::string_view kind_of_file,
              std::optional<std::int64_t> version = std::nullopt);

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
  // The scalar at `key`; std::nullopt when it is absent, or not a scalar (reported as not
  // `expected`).
  std::optional<YAML::Node> scalar_node(std::string_view key, const char* expected);
  template <class T>
  std::optional<T> scalar(std::string_view key, const char* expected);
  template <class T, class Parse>
  std::optional<T> decimal(std::string_view key, const char* expected, Parse parse);
  // The items of the list at `key`, each read by `parse` (decimal_integer or decimal_number);
  // std::nullopt after reporting the first that is not one, or a list of the wrong length.
  template <class T, class Parse>
  std::optional<std::vector<T>> decimal_list(std::string_view key, const char* expected,
                                             Parse parse, std::size_t min_items,
                                             std::size_t max_items);
  std::optional<std::int64_t> integer_within(std::string_view key, std::int64_t min,
                                             std::int64_t max);
  std::optional<double> number_within(std::string_view key, NumberRange range);

  YAML::Node node_;
  std::string path_;
  Diagnostics* diagnostics_;
  std::vector<std::string> known_keys_;
};

}  // namespace scaleplan
