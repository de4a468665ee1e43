#include "sim/validation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sim/prediction.hpp"
#include "sim/scenario.hpp"

namespace scaleplan {

std::vector<std::filesystem::path> validation_files(const std::vector<std::string>& paths) {
  std::vector<std::filesystem::path> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> found;
      for (const auto& entry : std::filesystem::directory_iterator(p)) {
        if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
          found.push_back(entry.path());
        }
      }
      if (found.empty())
        throw InputError({{{p, 0, 0}, "", "no *.yaml scenarios in this directory"}});
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::exists(p, ec)) {
      files.emplace_back(p);
    } else {
      throw InputError({{{p, 0, 0}, "", "no such file or directory"}});
    }
  }
  return files;
}

ValidationReport validate(const std::vector<std::filesystem::path>& files, const Catalog& catalog,
                          const std::optional<std::filesystem::path>& calibration) {
  ValidationReport report;
  std::optional<Profile> profile;
  if (calibration) {
    profile = load_profile(*calibration);
    report.calibration = calibration->string();
  }
  double sum = 0;
  for (const auto& file : files) {
    Scenario scenario = load_scenario(file, catalog);
    if (!scenario.measured) {
      throw InputError({{{file.string(), 1, 1},
                         "measured",
                         "a validation case needs a measured: block with step_time_s and source"}});
    }
    if (profile) {
      std::vector<Diagnostic> mismatches;
      for (const std::string& m : calibration_mismatches(scenario, *profile, report.calibration))
        mismatches.push_back({{file.string(), 0, 0}, "--calibration", m});
      if (!mismatches.empty())
        throw InputError(std::move(mismatches));
      scenario.profile = profile;
      scenario.calibration = report.calibration;
    }
    const PreparedRun run = prepare_run(scenario, catalog);
    const Prediction prediction = predict(scenario, run);
    ValidationCase c;
    c.name = scenario.name;
    c.file = file.string();
    c.source = scenario.measured->source;
    c.measured_step_time_s = scenario.measured->step_time_s;
    c.predicted_step_time_s = prediction.step_time_s;
    c.relative_error = (c.predicted_step_time_s - c.measured_step_time_s) / c.measured_step_time_s;
    const double absolute_percent = 100 * std::abs(c.relative_error);
    sum += absolute_percent;
    if (absolute_percent >= report.worst_absolute_percentage_error) {
      report.worst_absolute_percentage_error = absolute_percent;
      report.worst_case = c.name;
    }
    report.cases.push_back(std::move(c));
  }
  if (!report.cases.empty()) {
    report.mean_absolute_percentage_error = sum / static_cast<double>(report.cases.size());
  }
  return report;
}

std::string format_text(const ValidationReport& report) {
  std::size_t width = 4;
  for (const auto& c : report.cases)
    width = std::max(width, c.name.size());
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %12s  %12s  %8s\n", static_cast<int>(width), "case",
                "measured s", "predicted s", "error");
  out += line;
  for (const auto& c : report.cases) {
    std::snprintf(line, sizeof line, "%-*s  %12.3f  %12.3f  %+7.1f%%\n", static_cast<int>(width),
                  c.name.c_str(), c.measured_step_time_s, c.predicted_step_time_s,
                  100 * c.relative_error);
    out += line;
  }
  if (!report.calibration.empty())
    out += "\nevery case timed with the calibration profile " + report.calibration + "\n";
  std::snprintf(line, sizeof line, "\n%zu cases: MAPE %.2f %%, worst %.2f %% (%s)\n",
                report.cases.size(), report.mean_absolute_percentage_error,
                report.worst_absolute_percentage_error, report.worst_case.c_str());
  out += line;
  return out;
}

nlohmann::json to_json(const ValidationReport& report) {
  nlohmann::json cases = nlohmann::json::array();
  for (const auto& c : report.cases) {
    cases.push_back({{"case", c.name},
                     {"file", c.file},
                     {"source", c.source},
                     {"measured_step_time_s", c.measured_step_time_s},
                     {"predicted_step_time_s", c.predicted_step_time_s},
                     {"relative_error", c.relative_error}});
  }
  return {{"cases", cases},
          {"mape_percent", report.mean_absolute_percentage_error},
          {"worst_percent", report.worst_absolute_percentage_error},
          {"worst_case", report.worst_case},
          {"calibration", report.calibration}};
}

}  // namespace scaleplan
