// Validation against published runs: every scenario with a `measured:` block is predicted and
// compared with its measured step time.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hardware/catalog.hpp"

namespace scaleplan {

struct ValidationCase {
  std::string name;
  std::string file;
  std::string source;
  double measured_step_time_s = 0;
  double predicted_step_time_s = 0;
  double relative_error = 0;  // (predicted - measured) / measured
};

struct ValidationReport {
  std::vector<ValidationCase> cases;
  double mean_absolute_percentage_error = 0;  // in percent
  double worst_absolute_percentage_error = 0;
  std::string worst_case;
  std::string calibration;  // the profile every case was timed with; empty: each case's own
};

// The scenario files named, and the *.yaml files inside named directories, in sorted order.
// Throws InputError for a path that does not exist or a directory without scenarios.
std::vector<std::filesystem::path> validation_files(const std::vector<std::string>& paths);

// Predicts every case, each timed with the calibration profile `calibration` when given (in place
// of the one the case names, if any): how well a profile predicts the runs it was not fitted to.
// Throws InputError for a scenario without a `measured:` block, and for a profile that cannot
// time a case (another device, no GEMM fit for its dtype).
ValidationReport validate(const std::vector<std::filesystem::path>& files, const Catalog& catalog,
                          const std::optional<std::filesystem::path>& calibration = std::nullopt);

std::string format_text(const ValidationReport& report);
nlohmann::json to_json(const ValidationReport& report);

}  // namespace scaleplan
