#include "sim/scenario/scenario_search.hpp"

#include <fmt/format.h>

#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {

namespace {

// One value or a list of them; an empty list is an error. `list` returns nullopt where it has
// reported what is wrong with the list.
template <class T, class ReadOne, class ReadList>
std::vector<T> one_or_list(MapReader& map, std::string_view key, ReadOne one, ReadList list) {
  if (!map.has(key))
    return {};
  if (map.node()[std::string(key)].IsSequence()) {
    std::optional<std::vector<T>> values = list();
    if (!values)
      return {};
    if (values->empty())
      map.error(key, "expected at least one value");
    return *values;
  }
  if (auto v = one())
    return {*v};
  return {};
}

std::vector<int> degrees(MapReader& map, std::string_view key, std::int64_t max) {
  return one_or_list<int>(
      map, key,
      [&]() -> std::optional<int> {
        if (auto v = map.integer(key, 1, max))
          return static_cast<int>(*v);
        return std::nullopt;
      },
      [&]() -> std::optional<std::vector<int>> {
        const auto values = map.integers(key, 1, max, 1, 64);
        if (!values)
          return std::nullopt;
        return std::vector<int>(values->begin(), values->end());
      });
}

template <class Enum, std::size_t N>
std::vector<Enum> choices(MapReader& map, std::string_view key, const EnumNames<Enum, N>& names) {
  return one_or_list<Enum>(
      map, key, [&] { return map.enumeration(key, names); },
      [&]() -> std::optional<std::vector<Enum>> {
        std::vector<Enum> out;
        for (const YAML::Node& item : map.sequence(key)) {
          const auto value = item.IsScalar() ? names.parse(item.Scalar()) : std::nullopt;
          if (!value) {
            map.diagnostics().error(
                item, map.path_of(key),
                fmt::format("expected one of {}", join_alternatives(names.names())));
            return std::nullopt;
          }
          out.push_back(*value);
        }
        return out;
      });
}

// The rules a degree breaks on its own: it must divide the devices, and whatever the other axes,
// what check_strategy says of a job with only that degree set at its key.
std::vector<std::string> degree_problems(std::string_view key, int v, const ClusterSpec& cluster,
                                         const TrainingJob& job) {
  if (cluster.device_count() % v != 0) {
    return {fmt::format("{} does not divide the {} devices; use one of {}", v,
                        cluster.device_count(), divisor_hint(cluster.device_count()))};
  }
  if (key == "dp")
    return {};
  TrainingJob probe = job;
  probe.parallelism = ParallelismSpec{};
  probe.parallelism.sequence_parallel = true;
  if (key == "tp")
    probe.parallelism.tp = v;
  else if (key == "pp")
    probe.parallelism.pp = v;
  else if (key == "cp")
    probe.parallelism.cp = v;
  else
    probe.parallelism.ep = probe.parallelism.dp = v;
  const std::string parallelism_key = "parallelism." + std::string(key);
  std::vector<std::string> out;
  for (const PlanProblem& problem : check_strategy(probe)) {
    if (problem.key == parallelism_key)
      out.push_back(problem.message);
  }
  return out;
}

const std::vector<int>& degrees_of(const SearchSpace& space, std::string_view key) {
  return key == "tp"   ? space.tp
         : key == "pp" ? space.pp
         : key == "dp" ? space.dp
         : key == "cp" ? space.cp
                       : space.ep;
}

constexpr std::string_view degree_axes[] = {"tp", "pp", "dp", "cp", "ep"};

}  // namespace

SearchSpace read_search(MapReader& top, const ClusterSpec& cluster, const TrainingJob& job) {
  MapReader map = top.child("search");
  // Every axis is a key of the section, whether this file gives it or not: an unknown key's
  // message lists them all.
  for (const std::string& axis : search_axis_names())
    map.accept(axis);
  SearchSpace space;
  constexpr std::int64_t max_degree = 1 << 15;
  space.tp = degrees(map, "tp", max_degree);
  space.pp = degrees(map, "pp", max_degree);
  space.dp = degrees(map, "dp", max_degree);
  space.cp = degrees(map, "cp", max_degree);
  space.ep = degrees(map, "ep", max_degree);
  space.virtual_stages = degrees(map, "virtual_stages", max_degree);
  if (cluster.device_count() > 0 && job.model.layers > 0) {
    for (const std::string_view key : degree_axes) {
      for (const int v : degrees_of(space, key)) {
        for (const std::string& problem : degree_problems(key, v, cluster, job))
          map.error(key, problem);
      }
    }
  }
  for (int v : space.virtual_stages) {
    if (v < 2)
      map.error("virtual_stages", fmt::format("{}: interleaving needs 2 or more", v));
  }
  for (int v : degrees(map, "micro_batch", std::int64_t{1} << 24)) {
    if (job.training.global_batch % v != 0) {
      map.error("micro_batch",
                fmt::format("{} does not divide global_batch ({}); use one of {}", v,
                            job.training.global_batch, divisor_hint(job.training.global_batch)));
    }
    space.micro_batch.push_back(v);
  }
  space.schedule = choices(map, "schedule", pipeline_schedule_names);
  space.recompute = choices(map, "recompute", recompute_names);
  space.zero = one_or_list<int>(
      map, "zero",
      [&]() -> std::optional<int> {
        if (auto v = map.integer("zero", 0, 3))
          return static_cast<int>(*v);
        return std::nullopt;
      },
      [&]() -> std::optional<std::vector<int>> {
        const auto values = map.integers("zero", 0, 3, 1, 4);
        if (!values)
          return std::nullopt;
        return std::vector<int>(values->begin(), values->end());
      });
  space.sequence_parallel = one_or_list<bool>(
      map, "sequence_parallel", [&] { return map.boolean("sequence_parallel"); },
      [&]() -> std::optional<std::vector<bool>> {
        std::vector<bool> out;
        for (const YAML::Node& item : map.sequence("sequence_parallel")) {
          if (!item.IsScalar() || (item.Scalar() != "true" && item.Scalar() != "false")) {
            map.diagnostics().error(item, map.path_of("sequence_parallel"),
                                    "expected true or false");
            return std::nullopt;
          }
          out.push_back(item.Scalar() == "true");
        }
        return out;
      });
  map.finish();
  return space;
}

void check_search_degrees(const SearchSpace& space, const ClusterSpec& cluster,
                          const TrainingJob& job, const std::string& source) {
  std::vector<Diagnostic> problems;
  for (const std::string_view key : degree_axes) {
    for (const int v : degrees_of(space, key)) {
      for (std::string& problem : degree_problems(key, v, cluster, job))
        problems.push_back({{source, 0, 0}, std::string(key), std::move(problem)});
    }
  }
  if (!problems.empty())
    throw InputError(std::move(problems));
}

}  // namespace scaleplan
