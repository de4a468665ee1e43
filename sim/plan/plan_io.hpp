// The plan file (docs/plan-format.md): what `scaleplan run --dump-plan` writes and the executor
// reads back. YAML, one op per line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>

#include "sim/plan/plan.hpp"

namespace scaleplan {

inline constexpr int plan_format_version = 1;

void write_plan(const Plan& plan, std::ostream& out);

// The YAML values, lists and maps the file write_plan writes holds, counted from the plan in
// O(ops) without writing it: the YAML reader takes files of at most max_yaml_nodes
// (hardware/input/yaml_reader.hpp), about 240,000 ops.
std::uint64_t plan_yaml_values(const Plan& plan);

// Reads and validates a plan file. Throws InputError naming the file, line and key.
Plan read_plan(const std::filesystem::path& path);
Plan parse_plan(std::string_view yaml_text, const std::string& file_label);

}  // namespace scaleplan
