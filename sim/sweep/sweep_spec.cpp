#include "sim/sweep/sweep_spec.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "hardware/input/yaml_reader.hpp"
#include "sim/scenario/scenario_node.hpp"
#include "sim/sweep/sweep_filter.hpp"
#include "sim/sweep/sweep_yaml.hpp"

namespace scaleplan::sweep {

namespace {

bool valid_key(std::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.' ||
      key.find("..") != std::string_view::npos)
    return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
  });
}

std::string axis_names(const std::vector<Axis>& axes) {
  std::vector<std::string> names;
  for (const Axis& a : axes)
    names.push_back(a.key);
  return join_alternatives(names);
}

// `base` from the sweep's `base:` key: a path (relative to the sweep file's folder) or a mapping.
void read_base(MapReader& top, Sweep& s, YAML::Node& base) {
  top.accept("base");
  if (!top.require("base"))
    return;
  const YAML::Node node = top.node()["base"];
  if (node.IsMap()) {
    base = node;
    s.base_file = s.file;
    s.base_yaml = YAML::Dump(node);
    return;
  }
  if (!node.IsScalar() || node.Scalar().empty()) {
    top.error("base",
              "expected the path of a scenario file or a scenario as a mapping "
              "(cluster, model, training, parallelism)");
    return;
  }
  std::filesystem::path path(node.Scalar());
  if (path.is_relative())
    path = std::filesystem::path(s.file).parent_path() / path;
  s.base_file = path.lexically_normal().string();
  try {
    s.base_yaml = read_input_file(path);
    base = load_yaml_string(s.base_yaml, s.base_file);
  } catch (const InputError& e) {
    for (const Diagnostic& d : e.diagnostics())
      top.diagnostics().error(d.where, d.key, d.message);
    top.error("base", "cannot read the base scenario " + s.base_file);
    return;
  }
  if (!base.IsMap()) {
    top.error("base", fmt::format("{} is not a scenario: a scenario is a mapping with cluster, "
                                  "model, training and parallelism sections",
                                  s.base_file));
    base = YAML::Node();
  }
}

void read_axes(MapReader& top, Sweep& s) {
  top.accept("axes");
  if (!top.require("axes"))
    return;
  const YAML::Node axes = top.node()["axes"];
  if (!axes.IsMap() || axes.size() == 0) {
    top.error("axes",
              "expected a mapping of scenario keys to lists of values, such as "
              "parallelism.tp: [1, 2, 4]");
    return;
  }
  Diagnostics& d = top.diagnostics();
  for (const auto& item : axes) {
    const std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
    const std::string path = "axes." + key;
    if (!valid_key(key)) {
      d.error(item.first, "axes",
              fmt::format("'{}' is not a scenario key; an axis is a dotted key such as "
                          "cluster.nodes or parallelism.tp",
                          printable_text(key)));
      continue;
    }
    if (std::any_of(s.axes.begin(), s.axes.end(), [&](const Axis& a) { return a.key == key; })) {
      d.error(item.first, path, "the axis is given twice; give each key once, with all its values");
      continue;
    }
    const YAML::Node& list = item.second;
    if (!list.IsSequence() || list.size() == 0) {
      d.error(list, path, "expected a list of one or more values, such as [1, 2, 4]");
      continue;
    }
    Axis axis;
    axis.key = key;
    axis.where = location_of(item.first, s.file);
    for (const auto& value : list) {
      std::string text = value_text(value);
      if (std::find(axis.values.begin(), axis.values.end(), text) != axis.values.end()) {
        d.error(value, path,
                fmt::format("the value {} is listed twice; each scenario would run twice",
                            printable_text(text)));
        continue;
      }
      axis.values.push_back(std::move(text));
      YAML::Emitter out;
      out << YAML::Flow << value;
      axis.yaml.emplace_back(out.c_str());
    }
    s.axes.push_back(std::move(axis));
  }
}

// `zip:`: groups of axes that advance together; every other axis is a dimension of its own.
void read_dimensions(MapReader& top, Sweep& s) {
  std::vector<int> group_of(s.axes.size(), -1);
  std::vector<std::vector<std::size_t>> groups;
  if (top.has("zip")) {
    const YAML::Node zip = top.node()["zip"];
    if (!zip.IsSequence()) {
      top.error("zip",
                "expected a list of groups of axes, such as [[parallelism.tp, "
                "parallelism.pp]]");
    } else {
      for (std::size_t g = 0; g < zip.size(); ++g) {
        const YAML::Node group = zip[g];
        const std::string path = fmt::format("zip[{}]", g);
        if (!group.IsSequence() || group.size() < 2) {
          top.diagnostics().error(group, path,
                                  "expected a list of two or more axes that advance together, "
                                  "such as [parallelism.tp, parallelism.pp]");
          continue;
        }
        std::vector<std::size_t> members;
        for (const auto& name : group) {
          const std::string key = name.IsScalar() ? name.Scalar() : value_text(name);
          const auto found = std::find_if(s.axes.begin(), s.axes.end(),
                                          [&](const Axis& a) { return a.key == key; });
          if (found == s.axes.end()) {
            top.diagnostics().error(name, path,
                                    fmt::format("'{}' is not an axis; the axes are {}",
                                                printable_text(key), axis_names(s.axes)));
            continue;
          }
          const auto a = static_cast<std::size_t>(found - s.axes.begin());
          if (group_of[a] >= 0) {
            top.diagnostics().error(name, path,
                                    fmt::format("{} is zipped twice; an axis belongs to one "
                                                "group at most",
                                                key));
            continue;
          }
          group_of[a] = static_cast<int>(groups.size());
          members.push_back(a);
        }
        for (const std::size_t a : members) {
          if (s.axes[a].values.size() != s.axes[members.front()].values.size()) {
            std::vector<std::string> sizes;
            for (const std::size_t m : members)
              sizes.push_back(fmt::format("{} has {}", s.axes[m].key, s.axes[m].values.size()));
            top.diagnostics().error(group, path,
                                    fmt::format("zipped axes advance together, so they need as "
                                                "many values each: {}",
                                                fmt::join(sizes, ", ")));
            break;
          }
        }
        groups.push_back(std::move(members));
      }
    }
  }
  top.accept("zip");
  std::vector<bool> emitted(groups.size(), false);
  for (std::size_t a = 0; a < s.axes.size(); ++a) {
    if (group_of[a] < 0) {
      s.dimensions.push_back({a});
    } else if (!emitted[static_cast<std::size_t>(group_of[a])]) {
      emitted[static_cast<std::size_t>(group_of[a])] = true;
      s.dimensions.push_back(groups[static_cast<std::size_t>(group_of[a])]);
    }
  }
  s.combinations = 1;
  for (const auto& dimension : s.dimensions) {
    const std::uint64_t n = s.axes[dimension.front()].values.size();
    if (s.combinations > max_sweep_combinations / n) {
      top.error("axes", fmt::format("the axes make more than {} combinations; split the sweep "
                                    "or use fewer values",
                                    max_sweep_combinations));
      s.combinations = 0;
      return;
    }
    s.combinations *= n;
  }
}

// Each axis must name a key of the scenario format: the base with every axis at its first value
// is read, and a key the reader does not know is reported at the axis.
void check_axis_keys(Diagnostics& d, Sweep& s, const YAML::Node& base, const Catalog& catalog) {
  YAML::Node scenario = YAML::Clone(base);
  for (const Axis& axis : s.axes) {
    if (auto problem = set_key(scenario, axis.key, YAML::Load(axis.yaml.front()))) {
      d.error(axis.where, "axes." + axis.key, *problem);
      return;
    }
  }
  try {
    parse_scenario_node(scenario, s.base_file, catalog, ScenarioUse::plan);
  } catch (const InputError& e) {
    for (const Diagnostic& problem : e.diagnostics()) {
      if (problem.message.rfind("unknown key", 0) != 0)
        continue;
      for (const Axis& axis : s.axes) {
        if (problem.key == axis.key || problem.key.rfind(axis.key + ".", 0) == 0) {
          d.error(axis.where, "axes." + axis.key,
                  fmt::format("a scenario has no key {}: {}", problem.key, problem.message));
        }
      }
    }
  } catch (const std::exception&) {
    // Anything else is the scenario's own problem, reported by each row that has it.
  }
}

void read_filter(MapReader& top, Sweep& s, const YAML::Node& base) {
  const auto text = top.string("filter");
  if (!text)
    return;
  s.filter = *text;
  const auto axis_of = [&](const std::string& key) {
    return std::find_if(s.axes.begin(), s.axes.end(), [&](const Axis& a) { return a.key == key; });
  };
  const auto known = [&](const std::string& key) {
    return axis_of(key) != s.axes.end() || scalar_at(base, key).has_value();
  };
  const auto report = [&](const FilterError& e, const std::string& context) {
    top.error("filter", fmt::format("{}{} (at character {} of the filter)", e.what(), context,
                                    e.offset() + 1));
  };
  try {
    const Filter filter(*text, known);
    // Each key the filter reads: an axis (its values converted once), or the base's constant.
    struct Source {
      std::optional<std::size_t> axis;
      FilterValue constant;
    };
    std::vector<Source> sources;
    std::vector<std::vector<FilterValue>> axis_values(s.axes.size());
    for (const std::string& key : filter.keys()) {
      const auto axis = axis_of(key);
      if (axis != s.axes.end()) {
        const auto a = static_cast<std::size_t>(axis - s.axes.begin());
        for (const std::string& v : axis->values)
          axis_values[a].push_back(filter_value_of(v));
        sources.push_back({a, {}});
      } else {
        sources.push_back({std::nullopt, filter_value_of(*scalar_at(base, key))});
      }
    }
    s.filter.reset();  // value_indices() below numbers the whole product
    std::vector<std::uint32_t> indices;
    for (std::uint64_t c = 0; c < s.combinations; ++c) {
      // Decoded as value_indices() does, without the filter.
      std::uint64_t rest = c;
      indices.assign(s.axes.size(), 0);
      for (std::size_t d = s.dimensions.size(); d-- > 0;) {
        const std::uint64_t n = s.axes[s.dimensions[d].front()].values.size();
        for (const std::size_t a : s.dimensions[d])
          indices[a] = static_cast<std::uint32_t>(rest % n);
        rest /= n;
      }
      try {
        const bool keep = filter.keep([&](std::size_t k) {
          const Source& source = sources[k];
          return source.axis ? axis_values[*source.axis][indices[*source.axis]] : source.constant;
        });
        if (keep)
          s.kept.push_back(c);
      } catch (const FilterError& e) {
        std::vector<std::string> values;
        for (std::size_t a = 0; a < s.axes.size(); ++a)
          values.push_back(s.axes[a].key + " " + s.axes[a].values[indices[a]]);
        report(e, " with " + join_alternatives(values));
        s.kept.clear();
        break;
      }
    }
    s.filter = *text;
    if (top.diagnostics().empty() && s.kept.empty())
      top.error("filter", "the filter drops every combination, which leaves nothing to run");
  } catch (const FilterError& e) {
    report(e, "");
  }
}

}  // namespace

std::vector<std::uint32_t> Sweep::value_indices(std::size_t index) const {
  std::uint64_t rest = filter ? kept.at(index) : static_cast<std::uint64_t>(index);
  std::vector<std::uint32_t> indices(axes.size(), 0);
  for (std::size_t d = dimensions.size(); d-- > 0;) {
    const std::uint64_t n = axes[dimensions[d].front()].values.size();
    for (const std::size_t a : dimensions[d])
      indices[a] = static_cast<std::uint32_t>(rest % n);
    rest /= n;
  }
  return indices;
}

std::vector<std::string> Sweep::values_of(std::size_t index) const {
  const std::vector<std::uint32_t> indices = value_indices(index);
  std::vector<std::string> values;
  values.reserve(axes.size());
  for (std::size_t a = 0; a < axes.size(); ++a)
    values.push_back(axes[a].values[indices[a]]);
  return values;
}

Sweep parse_sweep(std::string_view yaml_text, const std::string& file_label,
                  const Catalog& catalog) {
  const YAML::Node root = load_yaml_string(yaml_text, file_label);
  Diagnostics diagnostics(file_label);
  if (!root.IsMap()) {
    diagnostics.error(root, "",
                      "a sweep is a mapping with a base scenario and axes (docs/sweep-format.md)");
    diagnostics.throw_if_any();
  }
  MapReader top(root, "", diagnostics);
  Sweep s;
  s.file = file_label;
  s.name = top.string("name").value_or(std::filesystem::path(file_label).stem().string());
  top.accept("description");
  YAML::Node base;
  read_base(top, s, base);
  read_axes(top, s);
  if (diagnostics.empty())
    read_dimensions(top, s);
  else
    top.accept("zip");
  if (diagnostics.empty() && base.IsMap())
    check_axis_keys(diagnostics, s, base, catalog);
  if (top.has("filter") && diagnostics.empty() && base.IsMap())
    read_filter(top, s, base);
  else
    top.accept("filter");
  top.finish();
  diagnostics.throw_if_any();
  return s;
}

Sweep load_sweep(const std::filesystem::path& path, const Catalog& catalog) {
  return parse_sweep(read_input_file(path), path.string(), catalog);
}

}  // namespace scaleplan::sweep
