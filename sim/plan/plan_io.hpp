// The plan file (docs/plan-format.md): what `scaleplan run --dump-plan` writes and `simulate`,
// `execute` and the benchmark programs read back. Two formats of the same Plan: YAML, one op per
// line, to read and edit, for plans of up to about 240,000 ops; and the compact format
// (plan_io_compact.hpp), binary records that stream, for plans of any size. Readers take either,
// told apart by the file's first bytes; writers choose by the file's extension.
#pragma once

#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string_view>

#include "hardware/input/enum_names.hpp"
#include "sim/plan/plan.hpp"
#include "sim/plan/plan_io_compact.hpp"

namespace scaleplan {

inline constexpr int plan_format_version = 1;

enum class PlanFileFormat { yaml, compact };
inline constexpr EnumNames<PlanFileFormat, 2> plan_file_format_names{{{
    {PlanFileFormat::yaml, "yaml"},
    {PlanFileFormat::compact, "compact"},
}}};
// The extension that asks for the compact format; any other is YAML.
inline constexpr std::string_view compact_plan_extension = ".splan";

// The format a plan written to `path` takes: compact for a name ending in .splan, YAML otherwise.
PlanFileFormat plan_format_for(const std::filesystem::path& path);

// Writes the plan as YAML (a shared program written out whole, with its own groups and peers).
void write_plan(const Plan& plan, std::ostream& out);
// Writes the plan in `format`.
void write_plan(const Plan& plan, std::ostream& out, PlanFileFormat format);

// The YAML values, lists and maps the file write_plan writes holds, counted from the plan in
// O(ops) without writing it: the YAML reader takes files of at most max_yaml_nodes
// (hardware/input/yaml_reader.hpp), about 240,000 ops.
std::uint64_t plan_yaml_values(const Plan& plan);

// Reads and validates a plan file in either format (a compact plan streamed, without the YAML
// reader's limits). Throws InputError naming the file, the key and the line (YAML) or byte
// (compact).
Plan read_plan(const std::filesystem::path& path);
// The same from the file's bytes: `text` is a compact plan when it starts as one, else YAML.
Plan parse_plan(std::string_view text, const std::string& file_label);

// The format of the plan file at `path`, by its first bytes: compact when it starts with a compact
// plan's signature, else YAML (also when it cannot be read; the reader then says why).
PlanFileFormat plan_format_of_file(const std::filesystem::path& path);

// Whether `path` looks like a plan file (a compact plan's signature, or a YAML `format:
// scaleplan-plan` line among its first lines) rather than, say, a scenario. Reads its first bytes.
bool is_plan_file(const std::filesystem::path& path);

}  // namespace scaleplan
