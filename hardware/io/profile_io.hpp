// Reading and writing calibration profiles (docs/calibration.md), as YAML.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "hardware/profile.hpp"

namespace scaleplan {

// Throws InputError naming file, line and key, every error of the file at once.
Profile parse_profile(std::string_view yaml_text, const std::string& file_label);
Profile load_profile(const std::filesystem::path& path);
// Deterministic YAML that parse_profile reads back to an equal profile.
std::string write_profile(const Profile& profile);

// Helpers for YAML writers: the shortest text of a double that reads back to the same value, and
// a double-quoted string.
std::string yaml_number(double value);
std::string yaml_quoted(std::string_view text);

}  // namespace scaleplan
