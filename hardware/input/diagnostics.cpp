#include "hardware/input/diagnostics.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <fmt/format.h>

namespace scaleplan {

std::string Diagnostic::format() const {
  std::ostringstream out;
  out << (where.file.empty() ? "<input>" : where.file);
  if (where.line > 0) {
    out << ':' << where.line;
    if (where.column > 0)
      out << ':' << where.column;
  }
  out << ": ";
  if (!key.empty())
    out << key << ": ";
  out << message;
  return printable_text(out.str());
}

std::string printable_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto byte = [&](std::size_t i) {
    return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned c = byte(i);
    if ((c < 0x20 && c != '\n') || c == 0x7f) {
      out += fmt::format("\\x{:02X}", c);
    } else if (c == 0xc2 && byte(i + 1) >= 0x80 && byte(i + 1) <= 0x9f) {
      out += fmt::format("\\u{:04X}", byte(i + 1));
      ++i;
    } else if (c == 0xe2 && byte(i + 1) == 0x80 && byte(i + 2) >= 0xaa && byte(i + 2) <= 0xae) {
      out += fmt::format("\\u{:04X}", 0x2000 + byte(i + 2) - 0x80);
      i += 2;
    } else if (c == 0xe2 && byte(i + 1) == 0x81 && byte(i + 2) >= 0xa6 && byte(i + 2) <= 0xa9) {
      out += fmt::format("\\u{:04X}", 0x2040 + byte(i + 2) - 0x80);
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

namespace {
std::string join_diagnostics(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const auto& d : diagnostics) {
    if (!text.empty())
      text += '\n';
    text += d.format();
  }
  return text;
}
}  // namespace

InputError::InputError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(join_diagnostics(diagnostics)), diagnostics_(std::move(diagnostics)) {}

namespace {
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}
}  // namespace

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return bytes == std::floor(bytes) ? fmt::format("{:.0f} {}", bytes, units[unit])
                                    : fmt::format("{:.2f} {}", bytes, units[unit]);
}

namespace {

std::string join_words(const std::vector<std::string>& words, std::string_view last) {
  std::string text;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0)
      text += (i + 1 == words.size()) ? last : ", ";
    text += words[i];
  }
  return text;
}

}  // namespace

std::string join_alternatives(const std::vector<std::string>& words) {
  return join_words(words, " or ");
}

std::string join_all(const std::vector<std::string>& words) {
  return join_words(words, " and ");
}

std::string counted(std::int64_t count, std::string_view noun, std::string_view plural) {
  std::string text = std::to_string(count) + " ";
  if (count == 1)
    return text.append(noun);
  return plural.empty() ? text.append(noun).append("s") : text.append(plural);
}

}  // namespace scaleplan
