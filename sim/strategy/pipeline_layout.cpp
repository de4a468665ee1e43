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

// "(X)*n" and "x*n" written out, commas dropped: Megatron-Core's unrolling, which does not nest
// groups.
Unrolled unroll(std::string_view s) {
  Unrolled out;
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == ',') {
      ++i;
      continue;
    }
    std::string unit;
    const std::size_t unit_start = i;
    if (c == '(') {
      const std::size_t close = s.find(')', i);
      if (close == std::string_view::npos) {
        out.problem = fmt::format("the group opened at character {} is not closed", i + 1);
        return out;
      }
      for (std::size_t k = i + 1; k < close; ++k) {
        if (s[k] == '(') {
          out.problem = fmt::format(
              "character {}: groups do not nest (Megatron-Core unrolls one level)", k + 1);
          return out;
        }
        if (s[k] != ',')
          unit += s[k];
      }
      if (unit.empty()) {
        out.problem = fmt::format("character {}: an empty group", i + 1);
        return out;
      }
      i = close + 1;
      if (i >= s.size() || s[i] != '*') {
        out.problem = fmt::format(
            "character {}: a group is a repeat, (...)*n; write its layers without the brackets",
            unit_start + 1);
        return out;
      }
    } else if (c == ')') {
      out.problem = fmt::format("character {}: ')' closes no group", i + 1);
      return out;
    } else if (c == '*') {
      out.problem = fmt::format("character {}: '*' repeats nothing", i + 1);
      return out;
    } else {
      unit = std::string(1, c);
      ++i;
    }
    std::size_t times = 1;
    if (i < s.size() && s[i] == '*') {
      ++i;
      const std::size_t count_at = i;
      const auto n = repeat_count(s, i);
      if (!n) {
        out.problem = fmt::format("character {}: '*' needs a count from 0 to {}", count_at + 1,
                                  max_unrolled_characters);
        return out;
      }
      times = *n;
    }
    if (out.text.size() + unit.size() * times > max_unrolled_characters) {
      out.problem =
          fmt::format("it unrolls to more than {} layers and separators", max_unrolled_characters);
      return out;
    }
    for (std::size_t k = 0; k < times; ++k)
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
