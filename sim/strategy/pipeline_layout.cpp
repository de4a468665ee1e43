#include "sim/strategy/pipeline_layout.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

namespace scaleplan {

namespace {

// Repeats are unrolled before anything else is read; a layout unrolled past this many
// characters is no layout of a real model.
constexpr std::size_t max_unrolled_characters = 1'000'000;

struct Unrolled {
  std::string text;
  std::string problem;
};

// Reads a repeat count after a '*' at `i`; advances `i` past it.
std::optional<std::size_t> repeat_count(std::string_view s, std::size_t& i) {
  std::size_t start = i;
  std::size_t n = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    n = n * 10 + static_cast<std::size_t>(s[i] - '0');
    if (n > max_unrolled_characters)
      return std::nullopt;
    ++i;
  }
  if (i == start)
    return std::nullopt;
  return n;
}

// Appends `s` (which starts at character `offset` of the layout) to `out` with its x*n repeats
// written out and its commas dropped; a problem names the character that breaks the syntax.
std::string expand_repeats(std::string_view s, std::size_t offset, std::string& out) {
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == ',') {
      ++i;
      continue;
    }
    if (c == '*' || (c >= '0' && c <= '9')) {
      return fmt::format(
          "character {}: '{}' repeats nothing; a count follows '*' after a "
          "layer or a group",
          offset + i + 1, c);
    }
    if (c == '(' || c == ')')
      return fmt::format("character {}: groups do not nest (Megatron-Core unrolls one level)",
                         offset + i + 1);
    ++i;
    std::size_t times = 1;
    if (i < s.size() && s[i] == '*') {
      ++i;
      const std::size_t count_at = i;
      const auto n = repeat_count(s, i);
      if (!n) {
        return fmt::format("character {}: '*' needs a count from 0 to {}", offset + count_at + 1,
                           max_unrolled_characters);
      }
      times = *n;
    }
    if (out.size() + times > max_unrolled_characters)
      return fmt::format("it unrolls to more than {} layers and separators",
                         max_unrolled_characters);
    out.append(times, c);
  }
  return {};
}

// "(X)*n" and "x*n" written out, commas dropped: Megatron-Core's unrolling, groups first (one
// level, their content's x*n repeats then), then the x*n repeats outside them.
Unrolled unroll(std::string_view s) {
  Unrolled out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t open = s.find_first_of("()", i);
    const std::size_t plain_end = open == std::string_view::npos ? s.size() : open;
    out.problem = expand_repeats(s.substr(i, plain_end - i), i, out.text);
    if (!out.problem.empty() || plain_end == s.size())
      return out;
    if (s[open] == ')') {
      out.problem = fmt::format("character {}: ')' closes no group", open + 1);
      return out;
    }
    const std::size_t close = s.find(')', open);
    if (close == std::string_view::npos) {
      out.problem = fmt::format("the group opened at character {} is not closed", open + 1);
      return out;
    }
    std::string unit;
    out.problem = expand_repeats(s.substr(open + 1, close - open - 1), open + 1, unit);
    if (!out.problem.empty())
      return out;
    if (unit.empty()) {
      out.problem = fmt::format("character {}: an empty group", open + 1);
      return out;
    }
    i = close + 1;
    if (i >= s.size() || s[i] != '*') {
      out.problem = fmt::format(
          "character {}: a group is a repeat, (...)*n; write its layers without the brackets",
          open + 1);
      return out;
    }
    ++i;
    const std::size_t count_at = i;
    const auto n = repeat_count(s, i);
    if (!n) {
      out.problem = fmt::format("character {}: '*' needs a count from 0 to {}", count_at + 1,
                                max_unrolled_characters);
      return out;
    }
    if (out.text.size() + unit.size() * *n > max_unrolled_characters) {
      out.problem =
          fmt::format("it unrolls to more than {} layers and separators", max_unrolled_characters);
      return out;
    }
    for (std::size_t k = 0; k < *n; ++k)
      out.text += unit;
  }
  return out;
}

}  // namespace

PipelineLayout parse_pipeline_layout(std::string_view layout, std::int64_t chunks,
                                     std::int64_t layers, std::int64_t mtp_layers) {
  PipelineLayout r;
  for (std::size_t i = 0; i < layout.size(); ++i) {
    const char c = layout[i];
    if (std::string_view("ELtm|()*,0123456789").find(c) == std::string_view::npos) {
      r.problem = fmt::format(
          "character {} ('{}') is none of E (embedding), t (layer), m (prediction layer), L "
          "(loss), | (next chunk), (...)*n and x*n (repeats)",
          i + 1, c);
      return r;
    }
  }
  const Unrolled unrolled = unroll(layout);
  if (!unrolled.problem.empty()) {
    r.problem = unrolled.problem;
    return r;
  }
  std::vector<std::string> parts(1);
  for (const char c : unrolled.text) {
    if (c == '|')
      parts.emplace_back();
    else
      parts.back() += c;
  }
  const auto count = [&](char c) {
    return std::count(unrolled.text.begin(), unrolled.text.end(), c);
  };
  if (static_cast<std::int64_t>(parts.size()) != chunks) {
    r.problem = fmt::format(
        "{} chunks, and pp·virtual_stages is {}; give one chunk a model "
        "chunk, chunk c on stage c mod pp",
        parts.size(), chunks);
  } else if (count('E') != 1 || parts.front().empty() || parts.front().front() != 'E') {
    r.problem = "the embedding (E) comes once, first in the first chunk";
  } else if (count('L') != 1 || parts.back().empty() || parts.back().back() != 'L') {
    r.problem = "the loss (L) comes once, last in the last chunk";
  } else if (count('t') != layers) {
    r.problem = fmt::format("{} layers (t), and the model has {}", count('t'), layers);
  } else if (count('m') != mtp_layers) {
    r.problem =
        fmt::format("{} prediction layers (m), and model.mtp_layers is {}", count('m'), mtp_layers);
  } else if (std::count(parts.back().begin(), parts.back().end(), 'm') != mtp_layers ||
             parts.back().find('t', parts.back().find('m') == std::string::npos
                                        ? parts.back().size()
                                        : parts.back().find('m')) != std::string::npos) {
    r.problem =
        "the prediction layers (m) run with the loss in the last chunk, after its layers "
        "(Megatron-Core's standalone MTP chunk is not modelled)";
  }
  if (!r.problem.empty())
    return r;
  for (const std::string& part : parts)
    r.layers_per_chunk.push_back(std::count(part.begin(), part.end(), 't'));
  return r;
}

}  // namespace scaleplan
