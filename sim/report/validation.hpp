// Validation against published runs: every scenario with a `measured:` block is predicted and
// compared with its measured step time.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hardware/io/catalog.hpp"
#include "hardware/profile.hpp"

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

// A calibration profile and the name reports give it (its file).
struct NamedProfile {
  Profile profile;
  std::string name;
};

// Predicts every case, each timed with `calibration` when given (in place of the profile the
// case names, if any): how well a profile predicts runs it was not fitted to. Throws InputError
// for a scenario without a `measured:` block, and for a profile that cannot time a case (another
// device, no GEMM fit for its dtype).
ValidationReport validate(const std::vector<std::filesystem::path>& files, const Catalog& catalog,
                          const NamedProfile* calibration = nullptr);

// The sustained GEMM fraction (Profile::sustained_gemm_fraction) that best predicts measured
// steps with `calibration`: the one of least MAPE over the cases, searched on a grid of 0.05 from
// 0.3 to max_sustained_gemm_fraction, then by golden section to 0.001 around the best grid point.
// Each try predicts every case, so it takes some twenty validations; each case is read, and its
// network built, once for all of them.
struct SustainedFractionFit {
  double fraction = 1;
  ValidationReport before;  // the profile as given
  ValidationReport after;   // with `fraction`
};
SustainedFractionFit fit_sustained_gemm_fraction(const std::vector<std::filesystem::path>& files,
                                                 const Catalog& catalog,
                                                 const NamedProfile& calibration);

std::string format_text(const ValidationReport& report);
// Indented JSON (docs/scenario-format.md lists the keys), with a final newline.
std::string format_json(const ValidationReport& report);

}  // namespace scaleplan
