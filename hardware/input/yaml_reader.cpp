#include "hardware/input/yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <streambuf>

#include <fmt/format.h>
#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>

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

// A first pass over the parser's events, before yaml-cpp builds any node: counts the nodes the
// tree would hold and the reading would visit (an alias counts as the nodes it repeats, so that
// ten aliases of ten aliases of ... cannot make a small file read as billions of values), and
// refuses excessive nesting, an alias inside the node it names (a cycle that no reader could
// finish) and a second document (which YAML::Load would drop without a word). It holds a counter
// per anchor, not the tree.
class InputShape final : public YAML::EventHandler {
 public:
  // `limit`: the most nodes before it throws.
  InputShape(const std::string& file_label, std::uint64_t limit)
      : file_(file_label), limit_(limit) {}
  std::uint64_t nodes() const { return nodes_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1) {
      fail(mark,
           "a second YAML document starts here; scaleplan reads one document per file, so "
           "the rest would be ignored");
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    leaf(mark, anchor);
  }
  void OnAnchor(const YAML::Mark&, const std::string& name) override { pending_name_ = name; }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (anchor >= anchors_.size() || !anchors_[anchor].closed) {
      const std::string name = anchor < anchors_.size() ? anchors_[anchor].name : "";
      fail(mark, fmt::format("alias *{} is inside the node &{} it repeats, which would make it "
                             "endless",
                             name, name));
    }
    add(mark, anchors_[anchor].nodes);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Anchor {
    std::string name;
    std::uint64_t nodes = 0;
    bool closed = false;
  };
  struct Open {
    YAML::anchor_t anchor;
    std::uint64_t nodes_before;
  };

  [[noreturn]] void fail(const YAML::Mark& mark, std::string message) const {
    throw InputError({{{file_, mark.line + 1, mark.column + 1}, "", std::move(message)}});
  }
  void add(const YAML::Mark& mark, std::uint64_t nodes) {
    nodes_ += nodes;
    if (nodes_ > limit_) {
      fail(mark, fmt::format("the file holds more than {} YAML values, lists and maps (an alias "
                             "counting as what it repeats); yaml-cpp takes about {} bytes per "
                             "node to parse, so inputs are limited to {}; split the input",
                             max_yaml_nodes, yaml_bytes_per_node, max_yaml_nodes));
    }
  }
  void name_anchor(YAML::anchor_t anchor) {
    if (anchor == YAML::NullAnchor)
      return;
    if (anchors_.size() <= anchor)
      anchors_.resize(anchor + 1);
    anchors_[anchor].name = std::move(pending_name_);
  }
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    name_anchor(anchor);
    add(mark, 1);
    if (anchor != YAML::NullAnchor) {
      anchors_[anchor].nodes = 1;
      anchors_[anchor].closed = true;
    }
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (open_.size() >= max_yaml_depth) {
      fail(mark, fmt::format("lists and maps nested more than {} deep; scaleplan's formats nest "
                             "a few levels",
                             max_yaml_depth));
    }
    name_anchor(anchor);
    open_.push_back({anchor, nodes_});
    add(mark, 1);
  }
  void close() {
    const Open done = open_.back();
    open_.pop_back();
    if (done.anchor != YAML::NullAnchor) {
      anchors_[done.anchor].nodes = nodes_ - done.nodes_before;
      anchors_[done.anchor].closed = true;
    }
  }

  const std::string& file_;
  std::uint64_t limit_;
  int documents_ = 0;
  std::uint64_t nodes_ = 0;
  std::vector<Anchor> anchors_;  // by yaml-cpp's anchor number
  std::vector<Open> open_;
  std::string pending_name_;
};

// A stream buffer that reads a string without copying it (a 256 MiB input is parsed twice).
class TextBuffer final : public std::streambuf {
 public:
  explicit TextBuffer(std::string_view text) {
    // The get area is only read.
    char* begin = const_cast<char*>(text.data());
    setg(begin, begin, begin + text.size());
  }
};

// The first line up to `last_line` (1-based) whose indentation holds a tab, or 0: YAML indents
// with spaces only, and yaml-cpp's message for a tab ("illegal map value", "end of map not
// found") does not say so.
int first_tab_indented_line(std::string_view text, int last_line) {
  int line = 1;
  bool indentation = true;
  for (const char c : text) {
    if (line > last_line)
      break;
    if (c == '\n') {
      ++line;
      indentation = true;
    } else if (indentation && c == '\t') {
      return line;
    } else if (c != ' ') {
      indentation = false;
    }
  }
  return 0;
}

[[noreturn]] void throw_malformed(const YAML::Exception& e, std::string_view text,
                                  const std::string& file_label) {
  SourceLocation where{file_label, e.mark.is_null() ? 0 : e.mark.line + 1,
                       e.mark.is_null() ? 0 : e.mark.column + 1};
  std::string message = "malformed YAML: " + e.msg;
  const int last_line = e.mark.is_null() ? std::numeric_limits<int>::max() : e.mark.line + 1;
  if (const int tab = first_tab_indented_line(text, last_line); tab > 0) {
    message += fmt::format(" (line {} is indented with a tab; YAML indents with spaces only)", tab);
  }
  throw InputError({{where, "", message}});
}

// The first pass over `text`'s events (InputShape), before any node is built.
std::uint64_t scan_shape(std::string_view text, const std::string& file_label,
                         std::uint64_t limit) {
  TextBuffer events_text(text);
  std::istream events(&events_text);
  YAML::Parser parser(events);
  InputShape shape(file_label, limit);
  while (parser.HandleNextDocument(shape)) {
  }
  return shape.nodes();
}

YAML::Node parse_yaml(std::string_view text, const std::string& file_label) {
  check_utf8(text, file_label);
  try {
    scan_shape(text, file_label, max_yaml_nodes);
    TextBuffer nodes_text(text);
    std::istream nodes(&nodes_text);
    return YAML::Load(nodes);
  } catch (const YAML::Exception& e) {
    throw_malformed(e, text, file_label);
  }
}
}  // namespace

std::uint64_t yaml_value_count(std::string_view text, const std::string& file_label) {
  try {
    return scan_shape(text, file_label, std::numeric_limits<std::uint64_t>::max());
  } catch (const YAML::Exception& e) {
    throw_malformed(e, text, file_label);
  }
}

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

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The length of the run of digits at text[from].
std::size_t digits_at(std::string_view text, std::size_t from) {
  std::size_t end = from;
  while (end < text.size() && is_digit(text[end]))
    ++end;
  return end - from;
}

// Where `text` breaks the decimal syntax, as a message; empty when it keeps it. `fraction`:
// whether a fraction and an exponent may follow the integer part.
std::string syntax_problem(std::string_view text, bool fraction, const char* expected) {
  const std::string got = fmt::format("expected {}, got '{}'", expected, text);
  std::size_t at = (!text.empty() && (text[0] == '-' || text[0] == '+')) ? 1 : 0;
  if (fraction) {
    std::string word(text.substr(at));
    std::transform(word.begin(), word.end(), word.begin(),
                   [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
    if (word == ".inf" || word == ".nan" || word == "inf" || word == "nan" || word == "infinity")
      return fmt::format("expected a finite number, got '{}'", text);
  }
  const std::size_t whole = digits_at(text, at);
  if (whole > 1 && text[at] == '0') {
    return fmt::format(
        "'{}' has a leading zero, which YAML 1.1 reads as octal and YAML 1.2 as "
        "decimal; write it without the zero",
        text);
  }
  at += whole;
  std::size_t mantissa = whole;
  if (fraction && at < text.size() && text[at] == '.') {
    const std::size_t after = digits_at(text, at + 1);
    mantissa += after;
    at += 1 + after;
  }
  if (mantissa == 0)
    return got;
  if (fraction && at < text.size() && (text[at] == 'e' || text[at] == 'E')) {
    std::size_t exponent_at = at + 1;
    if (exponent_at < text.size() && (text[exponent_at] == '-' || text[exponent_at] == '+'))
      ++exponent_at;
    const std::size_t exponent = digits_at(text, exponent_at);
    if (exponent == 0)
      return got;
    at = exponent_at + exponent;
  }
  return at == text.size() ? std::string() : got;
}

}  // namespace

std::optional<std::int64_t> decimal_integer(std::string_view text, std::string& problem) {
  problem = syntax_problem(text, false, "an integer");
  if (!problem.empty())
    return std::nullopt;
  const std::size_t sign = text[0] == '+' ? 1 : 0;  // from_chars takes '-' only
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data() + sign, text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    problem = fmt::format("{} is beyond the range of a 64-bit integer", text);
    return std::nullopt;
  }
  return value;
}

std::optional<double> decimal_number(std::string_view text, std::string& problem) {
  problem = syntax_problem(text, true, "a number");
  if (!problem.empty())
    return std::nullopt;
  const std::size_t sign = text[0] == '+' ? 1 : 0;
  double value = 0;
  const auto [end, error] = std::from_chars(text.data() + sign, text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    problem = fmt::format("expected a finite number, got '{}'", text);
    return std::nullopt;
  }
  return value;
}

std::optional<YAML::Node> MapReader::scalar_node(std::string_view key, const char* expected) {
  const YAML::Node value = lookup(key);
  if (!value.IsDefined())
    return std::nullopt;
  if (!value.IsScalar()) {
    error(key, std::string("expected ") + expected);
    return std::nullopt;
  }
  return value;
}

template <class T>
std::optional<T> MapReader::scalar(std::string_view key, const char* expected) {
  const std::optional<YAML::Node> value = scalar_node(key, expected);
  if (!value)
    return std::nullopt;
  try {
    return value->as<T>();
  } catch (const YAML::Exception&) {
    error(key, std::string("expected ") + expected + ", got '" + value->Scalar() + "'");
    return std::nullopt;
  }
}

// A decimal integer or number (decimal_integer, decimal_number) at `key`.
template <class T, class Parse>
std::optional<T> MapReader::decimal(std::string_view key, const char* expected, Parse parse) {
  const std::optional<YAML::Node> value = scalar_node(key, expected);
  if (!value)
    return std::nullopt;
  std::string problem;
  const std::optional<T> result = parse(value->Scalar(), problem);
  if (!result)
    error(key, problem);
  return result;
}

std::optional<std::int64_t> MapReader::integer(std::string_view key) {
  return decimal<std::int64_t>(key, "an integer", decimal_integer);
}

std::optional<double> MapReader::number(std::string_view key) {
  return decimal<double>(key, "a number", decimal_number);
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

template <class T, class Parse>
std::optional<std::vector<T>> MapReader::decimal_list(std::string_view key, const char* expected,
                                                      Parse parse, std::size_t min_items,
                                                      std::size_t max_items) {
  const YAML::Node list = lookup(key);
  if (!list.IsSequence()) {
    error(key, fmt::format("expected a list of {}", expected));
    return std::nullopt;
  }
  std::vector<T> values;
  for (const auto& item : list) {
    std::string problem;
    const std::optional<T> v = item.IsScalar() ? parse(item.Scalar(), problem) : std::optional<T>();
    if (!v) {
      diagnostics_->error(
          item, path_of(key),
          problem.empty() ? fmt::format("expected a list of {}", expected) : problem);
      return std::nullopt;
    }
    values.push_back(*v);
  }
  if (values.size() < min_items || values.size() > max_items) {
    const std::string count = max_items > min_items ? fmt::format("{} to {}", min_items, max_items)
                                                    : fmt::format("{}", min_items);
    error(key, fmt::format("expected {} values, got {}", count, values.size()));
    return std::nullopt;
  }
  return values;
}

std::optional<std::vector<double>> MapReader::numbers(std::string_view key, NumberRange range,
                                                      std::size_t min_items,
                                                      std::size_t max_items) {
  if (!has(key)) {
    accept(key);
    return std::nullopt;
  }
  auto values = decimal_list<double>(key, "numbers", decimal_number, min_items, max_items);
  for (double v : values.value_or(std::vector<double>{})) {
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
  if (!has(key)) {
    accept(key);
    return std::nullopt;
  }
  auto values = decimal_list<std::int64_t>(key, "integers", decimal_integer, min_items, max_items);
  for (std::int64_t v : values.value_or(std::vector<std::int64_t>{})) {
    if (v < min || v > max) {
      error(key, fmt::format("every value must be from {} to {}, got {}", min, max, v));
      return std::nullopt;
    }
  }
  return values;
}

std::optional<bool> MapReader::boolean(std::string_view key) {
  return scalar<bool>(key, "true or false");
}

std::optional<std::string> MapReader::string(std::string_view key) {
  return scalar<std::string>(key, "a string");
}

std::optional<std::string> MapReader::choice(std::string_view key,
                                             const std::vector<std::string>& allowed) {
  const std::string expected = "one of " + join_alternatives(allowed);
  auto value = scalar<std::string>(key, expected.c_str());
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
    if (key == "<<") {
      // YAML 1.1's merge key; yaml-cpp reads it as an ordinary key named "<<".
      message = "merge keys (<<) are not supported; write the keys out";
    } else if (auto near = closest_match(key, known_keys_)) {
      message += "; did you mean '" + *near + "'?";
    } else if (!known_keys_.empty()) {
      message += "; valid keys here: " + join_alternatives(known_keys_);
    }
    diagnostics_->error(location_of(it->first, diagnostics_->file()), path_of(key), message);
  }
}

}  // namespace scaleplan
