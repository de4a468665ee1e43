// What every reader reports and every report prints: a place in an input file, an error at a
// key, the exception that carries all of a file's errors, and the text helpers messages share.
// No YAML here, so that value types and their checks can report problems without a parser.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace scaleplan {

// A place in an input file; line and column are 1-based, 0 when unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

struct Diagnostic {
  SourceLocation where;
  std::string key;  // dotted path such as "parallelism.tp"; empty for whole-file errors
  std::string message;

  // "file:line:column: key: message"
  std::string format() const;
};

// Thrown for anything a user can get wrong in an input file. what() holds every diagnostic,
// one per line.
class InputError : public std::runtime_error {
 public:
  explicit InputError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

// `text` safe to print to a terminal: C0 control characters other than the line break, DEL and
// the C1 controls (U+0080..U+009F) become \xNN or \u00NN, and the bidirectional overrides and
// isolates (U+202A..U+202E, U+2066..U+2069) \u20NN, so that a name read from a file cannot move
// the cursor, recolour the terminal, set its title or reorder what is shown. Reports and error
// messages pass what they print through it.
std::string printable_text(std::string_view text);

// The closest candidate within a small edit distance, for "did you mean" hints.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

// Joins words as "a, b or c".
std::string join_alternatives(const std::vector<std::string>& words);
// Joins words as "a, b and c".
std::string join_all(const std::vector<std::string>& words);

// A count and its noun, plural unless the count is 1: "1 node", "8 nodes", "1 micro-batch".
// `plural` defaults to the noun with an "s".
std::string counted(std::int64_t count, std::string_view noun, std::string_view plural = {});

// A byte count in binary units, whole where it is ("32 KiB", "1.50 MiB").
std::string format_bytes(double bytes);

}  // namespace scaleplan
