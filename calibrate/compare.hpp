// Predicted against measured: every point of a measurements file timed by a profile, with the
// error, so a profile can be checked on the data it was fitted to and on data it was not.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "calibrate/measurements.hpp"
#include "hardware/profile.hpp"

namespace scaleplan {

struct ComparisonRow {
  std::string kind;   // gemm, memory, launch, collective
  std::string point;  // the shape, size or group, in words
  double measured_s = 0;
  double predicted_s = 0;
  // GEMM only: the profile's fitted model without its table, which shows how the model does on
  // a point the table holds.
  std::optional<double> model_only_s;
  double relative_error() const { return (predicted_s - measured_s) / measured_s; }
};

struct ComparisonSummary {
  std::string kind;
  int points = 0;
  double median_abs_error = 0;
  double worst_abs_error = 0;
};

struct Comparison {
  std::vector<ComparisonRow> rows;
  std::vector<ComparisonSummary> summaries;  // one per kind, in the order kinds first appear
  std::vector<std::string> unmatched;        // points the profile has no model for, and why
};

Comparison compare_profile(const Profile& profile, const Measurements& measurements);
std::string format_comparison(const Comparison& comparison);

}  // namespace scaleplan
