#include "sim/strategy/search_space.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "hardware/input/diagnostics.hpp"

namespace scaleplan {

namespace {

std::optional<std::int64_t> whole_number(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

// Sets `axis` to `value`; returns what is wrong with the value, empty when it is fine.
std::string fix_one(SearchSpace& space, std::string_view axis, std::string_view value) {
  const auto integer = [&](auto& list, std::int64_t low, std::int64_t high) -> std::string {
    const auto v = whole_number(value);
    if (!v || *v < low || *v > high)
      return fmt::format("'{}' is not a whole number from {} to {}", value, low, high);
    list = {static_cast<typename std::decay_t<decltype(list)>::value_type>(*v)};
    return {};
  };
  const auto enumeration = [&](auto& list, const auto& names) -> std::string {
    const auto v = names.parse(value);
    if (!v)
      return fmt::format("'{}' is not one of {}", value, join_alternatives(names.names()));
    list = {*v};
    return {};
  };
  constexpr std::int64_t degree_limit = 1 << 20;
  if (axis == "tp")
    return integer(space.tp, 1, degree_limit);
  if (axis == "pp")
    return integer(space.pp, 1, degree_limit);
  if (axis == "dp")
    return integer(space.dp, 1, degree_limit);
  if (axis == "cp")
    return integer(space.cp, 1, degree_limit);
  if (axis == "ep")
    return integer(space.ep, 1, degree_limit);
  if (axis == "micro_batch")
    return integer(space.micro_batch, 1, std::int64_t{1} << 24);
  if (axis == "virtual_stages")
    return integer(space.virtual_stages, 1, degree_limit);
  if (axis == "zero")
    return integer(space.zero, 0, 3);
  if (axis == "schedule")
    return enumeration(space.schedule, pipeline_schedule_names);
  if (axis == "recompute")
    return enumeration(space.recompute, recompute_names);
  if (value == "true" || value == "false") {
    space.sequence_parallel = {value == "true"};
    return {};
  }
  return fmt::format("'{}' is not true or false", value);
}

}  // namespace

const std::vector<std::string>& search_axis_names() {
  static const std::vector<std::string> names{"tp",
                                              "pp",
                                              "dp",
                                              "cp",
                                              "ep",
                                              "micro_batch",
                                              "schedule",
                                              "virtual_stages",
                                              "recompute",
                                              "zero",
                                              "sequence_parallel"};
  return names;
}

void fix_axes(SearchSpace& space, std::string_view text, const std::string& source) {
  std::vector<Diagnostic> problems;
  std::set<std::string, std::less<>> seen;
  const auto problem = [&](std::string key, std::string message) {
    problems.push_back({{source, 0, 0}, std::move(key), std::move(message)});
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    start = comma + 1;
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      problem("", fmt::format("'{}' is not AXIS=VALUE; axes: {}", item,
                              join_alternatives(search_axis_names())));
      continue;
    }
    const std::string axis(item.substr(0, equals));
    const std::string_view value = item.substr(equals + 1);
    const auto& names = search_axis_names();
    if (std::find(names.begin(), names.end(), axis) == names.end()) {
      const auto near = closest_match(axis, names);
      problem(axis, near ? fmt::format("not an axis of the search; did you mean '{}'?", *near)
                         : "not an axis of the search; axes: " + join_alternatives(names));
      continue;
    }
    if (!seen.insert(axis).second) {
      problem(axis, "given twice");
      continue;
    }
    if (std::string wrong = fix_one(space, axis, value); !wrong.empty())
      problem(axis, std::move(wrong));
  }
  if (!problems.empty())
    throw InputError(std::move(problems));
}

}  // namespace scaleplan
