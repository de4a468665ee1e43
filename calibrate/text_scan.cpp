#include "calibrate/text_scan.hpp"

namespace scaleplan {

namespace {

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// std::isspace in the C locale, without its undefined behaviour for negative chars.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// The length of the run of characters from `from` for which `keep` holds.
template <class Predicate>
std::size_t run_length(std::string_view text, std::size_t from, Predicate keep) {
  std::size_t end = from;
  while (end < text.size() && keep(text[end]))
    ++end;
  return end - from;
}

// Dot-separated runs of digits from `from`: at least `min_parts`, at most `max_parts`. Returns
// the length matched, 0 if fewer than `min_parts`.
std::size_t dotted_number(std::string_view text, std::size_t from, int min_parts, int max_parts) {
  std::size_t at = from, matched = 0;
  for (int part = 0; part < max_parts; ++part) {
    if (part > 0) {
      if (at >= text.size() || text[at] != '.')
        break;
      ++at;
    }
    const std::size_t digits = run_length(text, at, is_digit);
    if (digits == 0)
      break;
    at += digits;
    if (part + 1 >= min_parts)
      matched = at - from;
  }
  return matched;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

std::vector<std::string_view> identifier_words(std::string_view line) {
  std::vector<std::string_view> words;
  for (std::size_t i = 0; i < line.size();) {
    const std::size_t length = run_length(line, i, is_word_char);
    if (length > 0) {
      words.push_back(line.substr(i, length));
      i += length;
    } else {
      ++i;
    }
  }
  return words;
}

std::optional<std::string> nccl_tests_binary_in(std::string_view line) {
  for (std::string_view word : identifier_words(line)) {
    if (run_length(word, 0, [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; }) !=
        word.size())
      continue;
    // The longest base name first: "x_perf_mpi_perf" is the binary x_perf_mpi.
    for (std::string_view suffix : {std::string_view("_perf"), std::string_view("_perf_mpi")}) {
      if (word.size() > suffix.size() && ends_with(word, suffix))
        return std::string(word.substr(0, word.size() - suffix.size()));
    }
  }
  return std::nullopt;
}

bool names_mpi_launcher(std::string_view line) {
  for (std::string_view word : identifier_words(line)) {
    if (word == "mpirun" || word == "mpiexec" || word == "srun")
      return true;
  }
  return false;
}

std::optional<std::string> nccl_version_in(std::string_view line) {
  constexpr std::string_view marker = "NCCL version ";
  for (std::size_t at = line.find(marker); at != std::string_view::npos;
       at = line.find(marker, at + 1)) {
    const std::size_t from = at + marker.size();
    const std::size_t number = dotted_number(line, from, 3, 3);
    if (number == 0)
      continue;
    const std::size_t rest = run_length(line, from + number, [](char c) { return !is_space(c); });
    return std::string(line.substr(from, number + rest));
  }
  return std::nullopt;
}

std::optional<std::string> nvidia_module_version_in(std::string_view line) {
  constexpr std::string_view marker = "Kernel Module";
  for (std::size_t at = line.find(marker); at != std::string_view::npos;
       at = line.find(marker, at + 1)) {
    std::size_t from = at + marker.size();
    const std::size_t space = run_length(line, from, is_space);
    if (space == 0)
      continue;
    from += space;
    // "for x86_64  ": an architecture between the words and the version.
    if (line.substr(from, 4) == "for ") {
      const std::size_t word_at = from + 4;
      const std::size_t word = run_length(line, word_at, [](char c) { return !is_space(c); });
      const std::size_t after = run_length(line, word_at + word, is_space);
      if (word > 0 && after > 0 && dotted_number(line, word_at + word + after, 2, 3) > 0)
        from = word_at + word + after;
    }
    if (const std::size_t number = dotted_number(line, from, 2, 3))
      return std::string(line.substr(from, number));
  }
  return std::nullopt;
}

}  // namespace scaleplan
