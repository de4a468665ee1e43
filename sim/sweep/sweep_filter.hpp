// The filter of a sweep: an expression over the values of a combination that keeps it (true) or
// drops it (false). The grammar, lowest precedence first (docs/sweep-format.md):
//   or:      and ("or" | "||") and ...
//   and:     not ("and" | "&&") not ...
//   not:     ("not" | "!") not | compare
//   compare: sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum]
//   sum:     product ("+" | "-") product ...
//   product: unary ("*" | "/" | "%") unary ...
//   unary:   "-" unary | primary
//   primary: number | 'text' | "text" | true | false | KEY | "(" or ")"
// KEY is a dotted scenario key (parallelism.tp); its value is the combination's value of that
// axis, or the base scenario's. Numbers are doubles; % is the remainder of whole numbers.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace scaleplan::sweep {

// A value in a filter: a number, a text or a truth value.
using FilterValue = std::variant<double, std::string, bool>;

// A scalar read from YAML as a filter sees it: a decimal number, true or false, or else text.
FilterValue filter_value_of(const std::string& scalar);

// What is wrong with a filter; `offset` is the 0-based character where it was found.
class FilterError : public std::runtime_error {
 public:
  FilterError(const std::string& message, std::size_t offset)
      : std::runtime_error(message), offset_(offset) {}
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

class Filter {
 public:
  struct Node;

  // Parses `text`; throws FilterError for a syntax error or a key for which `known` is false.
  Filter(std::string_view text, const std::function<bool(const std::string&)>& known);
  ~Filter();
  Filter(Filter&&) noexcept;
  Filter& operator=(Filter&&) noexcept;

  // The keys the expression reads, each once, in order of appearance.
  const std::vector<std::string>& keys() const { return keys_; }
  // Evaluates with `value(i)` the value of keys()[i]; throws FilterError when a value has the
  // wrong type for its operator ("parallelism.tp + 'x'") or the result is not true or false.
  bool keep(const std::function<FilterValue(std::size_t)>& value) const;

 private:
  std::unique_ptr<Node> root_;
  std::vector<std::string> keys_;
};

}  // namespace scaleplan::sweep
