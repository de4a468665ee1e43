// Cells as CSV fields and JSON values, shared by the result files and their reader (not a public
// header).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/sweep/sweep_output.hpp"

namespace scaleplan::sweep {

// RFC 4180: quoted when it holds a comma, a quote or nothing; a line break becomes a space.
std::string csv_field(const Cell& cell);
// The fields of one CSV line (no line breaks inside fields); std::nullopt for a quote not closed.
std::optional<std::vector<std::string>> csv_fields(std::string_view line);
nlohmann::ordered_json json_value(const Cell& cell);
// A whole results file, however large (read_input_file stops at max_input_file_bytes: a results
// file of millions of rows is larger). Throws InputError when it cannot be read.
std::string read_results_file(const std::filesystem::path& path);
Cell cell_of_json(const nlohmann::ordered_json& value);

}  // namespace scaleplan::sweep
