// A sweep file: a base scenario and axes of values for its keys, combined as a cartesian product
// or in zipped groups, and a filter that drops combinations (docs/sweep-format.md). Reading one
// checks it whole and enumerates its scenarios; each scenario is the base with one value of each
// axis set, read by the scenario reader when it runs (sweep_run.hpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/input/diagnostics.hpp"
#include "hardware/io/catalog.hpp"

namespace scaleplan::sweep {

// Most scenarios one sweep enumerates (before its filter): ten million, a few hundred megabytes
// of combinations, and days of simulation at the fastest.
inline constexpr std::uint64_t max_sweep_combinations = 10'000'000;

struct Axis {
  std::string key;                  // dotted scenario key: "parallelism.tp"
  std::vector<std::string> values;  // each as written: "4", "H100-SXM5-80GB", "{preset: x}"
  std::vector<std::string> yaml;    // each as YAML that reads back as the same value
  SourceLocation where;
};

struct Sweep {
  std::string name;
  std::string file;
  // The base scenario as YAML text, and the file its errors and relative paths refer to (the
  // base file, or the sweep file when the base is inline).
  std::string base_yaml;
  std::string base_file;
  std::vector<Axis> axes;
  // The dimensions of the product, slowest first: each the axes that advance together (one
  // axis, or a zipped group), as indices into `axes`.
  std::vector<std::vector<std::size_t>> dimensions;
  std::optional<std::string> filter;
  // The combinations (numbered in the product, the last dimension fastest) that the filter
  // keeps, in order; empty without a filter, when every combination is a scenario.
  std::vector<std::uint64_t> kept;
  std::uint64_t combinations = 0;  // in the product

  // How many scenarios the sweep runs.
  std::size_t size() const { return filter ? kept.size() : static_cast<std::size_t>(combinations); }
  // The index of each axis's value in scenario `index` (0-based, < size()).
  std::vector<std::uint32_t> value_indices(std::size_t index) const;
  // The value of each axis in scenario `index`, as written in the sweep file.
  std::vector<std::string> values_of(std::size_t index) const;
};

// Reads and checks a sweep file. Throws InputError with every problem found, each naming the
// file, line, column and key and saying what would be valid. An axis whose key the scenario
// format does not have is an error at the axis; the scenarios' own errors (a tp that does not
// divide the heads) are found when each runs, and become rows with their error.
Sweep load_sweep(const std::filesystem::path& path, const Catalog& catalog);
Sweep parse_sweep(std::string_view yaml_text, const std::string& file_label,
                  const Catalog& catalog);

}  // namespace scaleplan::sweep
