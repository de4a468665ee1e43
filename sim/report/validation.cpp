#include "sim/report/validation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "hardware/input/diagnostics.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "version/version.hpp"

#include <nlohmann/json.hpp>

namespace scaleplan {

std::vector<ValidationFile> validation_files(const std::vector<std::string>& paths) {
  std::vector<ValidationFile> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      std::vector<std::filesystem::path> found;
      // Error codes rather than exceptions: an unreadable directory is the user's to fix.
      std::filesystem::directory_iterator entry(p, ec), end;
      for (; !ec && entry != end; entry.increment(ec)) {
        std::error_code type_ec;
        if (entry->is_regular_file(type_ec) && entry->path().extension() == ".yaml")
          found.push_back(entry->path());
      }
      if (ec)
        throw InputError({{{p, 0, 0}, "", "cannot read the directory: " + ec.message()}});
      if (found.empty())
        throw InputError({{{p, 0, 0}, "", "no *.yaml scenarios in this directory"}});
      std::sort(found.begin(), found.end());
      for (auto& f : found)
        files.push_back({std::move(f), true});
    } else if (std::filesystem::exists(p, ec)) {
      files.push_back({p, false});
    } else {
      throw InputError({{{p, 0, 0}, "", "no such file or directory"}});
    }
  }
  return files;
}

namespace {

// A validation case read once: its scenario and its network, ready to predict as many times as a
// fit asks. Each prediction builds the plan again, a fraction of a percent of its time, so that
// only one plan at a time is in memory.
struct LoadedCase {
  std::filesystem::path file;
  Scenario scenario;
  ClusterNetwork network;
};

constexpr const char* no_measured_block = "no measured: block";

// A validation with every file skipped has nothing to report.
void require_cases(std::size_t cases, const std::vector<SkippedFile>& skipped) {
  if (cases == 0 && !skipped.empty()) {
    throw InputError({{{skipped.front().file, 0, 0},
                       "measured",
                       "none of the " + counted(static_cast<std::int64_t>(skipped.size()), "file") +
                           " given is a validation case (a scenario with a measured: block)"}});
  }
}

// Reads a case, with `calibration` in place of its own profile when given; nullopt for a file
// found in a directory that is not a validation case (no `measured:` block).
std::optional<LoadedCase> load_case(const ValidationFile& validation_file, const Catalog& catalog,
                                    const NamedProfile* calibration) {
  const std::filesystem::path& file = validation_file.path;
  Scenario scenario = load_scenario(file, catalog);
  if (!scenario.measured) {
    if (validation_file.found_in_directory)
      return std::nullopt;
    throw InputError({{{file.string(), 1, 1},
                       "measured",
                       "a validation case needs a measured: block with step_time_s and source"}});
  }
  if (calibration)
    use_calibration(scenario, calibration->profile, calibration->name, {file.string(), 0, 0});
  ClusterNetwork network = prepare_network(scenario, catalog);
  return LoadedCase{file, std::move(scenario), std::move(network)};
}

// Predicts a case, timed with `calibration` when given (its collective fits are the ones the case
// was loaded with; only its compute curves may differ), with the case's own profile otherwise.
ValidationCase predict_case(const LoadedCase& loaded, const NamedProfile* calibration) {
  const Scenario& scenario = loaded.scenario;
  const Profile* profile = calibration        ? &calibration->profile
                           : scenario.profile ? &*scenario.profile
                                              : nullptr;
  const std::unique_ptr<ComputeModel> compute =
      make_compute_model(scenario.cluster.device, profile, scenario.calibration.value_or("?"));
  Prediction prediction;
  try {
    prediction =
        predict({scenario.cluster, scenario.job, *compute, loaded.network, run_settings(scenario)});
  } catch (const TimeOverflow& overflow) {
    throw time_overflow_error(scenario, overflow);
  }
  ValidationCase c;
  c.name = scenario.name;
  c.file = loaded.file.string();
  c.source = scenario.measured->source;
  c.measured_step_time_s = scenario.measured->step_time_s;
  c.predicted_step_time_s = prediction.step_time_s;
  c.relative_error = (c.predicted_step_time_s - c.measured_step_time_s) / c.measured_step_time_s;
  return c;
}

// The report on `cases` cases, case i predicted by `predict_one(i)`.
template <class PredictCase>
ValidationReport report_on(std::size_t cases, const NamedProfile* calibration,
                           PredictCase predict_one) {
  ValidationReport report;
  if (calibration)
    report.calibration = calibration->name;
  double sum = 0;
  for (std::size_t i = 0; i < cases; ++i) {
    ValidationCase c = predict_one(i);
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

}  // namespace

ValidationReport validate(const std::vector<ValidationFile>& files, const Catalog& catalog,
                          const NamedProfile* calibration, ProgressSink* progress) {
  ProgressCounter counter(progress, "validate", "files", files.size());
  std::vector<SkippedFile> skipped;
  std::vector<ValidationCase> cases;
  for (const ValidationFile& file : files) {
    std::optional<LoadedCase> loaded = load_case(file, catalog, calibration);
    if (loaded)
      cases.push_back(predict_case(*loaded, calibration));
    else
      skipped.push_back({file.path.string(), no_measured_block});
    counter.advance(file.path.string());
  }
  counter.finish();
  require_cases(cases.size(), skipped);
  ValidationReport report =
      report_on(cases.size(), calibration, [&](std::size_t i) { return std::move(cases[i]); });
  report.skipped = std::move(skipped);
  return report;
}

SustainedFractionFit fit_sustained_gemm_fraction(const std::vector<ValidationFile>& files,
                                                 const Catalog& catalog,
                                                 const NamedProfile& calibration,
                                                 ProgressSink* progress) {
  // The fraction changes only how long GEMMs take: every case is read, and its network built,
  // once for all the tries.
  std::vector<LoadedCase> cases;
  std::vector<SkippedFile> skipped;
  for (const auto& file : files) {
    if (std::optional<LoadedCase> loaded = load_case(file, catalog, &calibration))
      cases.push_back(std::move(*loaded));
    else
      skipped.push_back({file.path.string(), no_measured_block});
  }
  require_cases(cases.size(), skipped);
  // The fraction may not lift any case's GEMMs above its device's datasheet peak (the scenario
  // reader refuses such a profile): at most datasheet / highest throughput of the profile. A case
  // whose dtype the profile lacks times its GEMMs from the catalog, which the fraction leaves be.
  double highest = max_sustained_gemm_fraction;
  for (const LoadedCase& c : cases) {
    const Dtype dtype = c.scenario.job.training.dtype;
    if (const auto gemm = calibration.profile.gemm.find(dtype);
        gemm != calibration.profile.gemm.end()) {
      highest = std::min(highest, c.scenario.cluster.device.peak_flops(dtype) /
                                      gemm->second.highest_flops_per_s());
    }
  }
  constexpr double grid_step = 0.05, lowest = 0.3, tolerance = 0.001;
  const auto grid_points = static_cast<int>((highest - lowest) / grid_step);
  const double golden = (std::sqrt(5.0) - 1) / 2;
  // Tries at most: the profile as given, the fraction 1, the grid, the golden section's two
  // starting points, one a step while it narrows 2·grid_step down to the tolerance, and the last
  // step's new point, compared after the loop.
  const auto golden_steps =
      static_cast<std::size_t>(std::ceil(std::log(tolerance / (2 * grid_step)) / std::log(golden)));
  const std::size_t tries = 2 + static_cast<std::size_t>(grid_points + 1) + 2 + golden_steps + 1;
  ProgressCounter counter(progress, "calibrate fit-steps", "predictions", cases.size() * tries);
  const auto evaluate = [&](const NamedProfile& profile) {
    return report_on(cases.size(), &profile, [&](std::size_t i) {
      ValidationCase c = predict_case(cases[i], &profile);
      counter.advance(c.file);
      return c;
    });
  };
  SustainedFractionFit fit;
  fit.before = evaluate(calibration);
  // Said once, with the report before the fit.
  fit.before.skipped = std::move(skipped);
  std::map<double, ValidationReport> tried;
  const auto mape = [&](double fraction) {
    auto found = tried.find(fraction);
    if (found == tried.end()) {
      NamedProfile sustained = calibration;
      sustained.profile.sustained_gemm_fraction = Figure{fraction, "trial"};
      found = tried.emplace(fraction, evaluate(sustained)).first;
    }
    return found->second.mean_absolute_percentage_error;
  };
  double best = std::min(1.0, highest);
  for (int i = 0; i <= grid_points; ++i) {
    const double f = lowest + i * grid_step;
    if (mape(f) < mape(best))
      best = f;
  }
  // Every prediction scales monotonically with the fraction, so the MAPE has one valley near the
  // best grid point; golden section narrows it, one new try a step.
  double a = std::max(lowest, best - grid_step);
  double b = std::min(highest, best + grid_step);
  double c = b - golden * (b - a), d = a + golden * (b - a);
  while (b - a > tolerance) {
    if (mape(c) < mape(d)) {
      b = d;
      d = c;
      c = b - golden * (b - a);
    } else {
      a = c;
      c = d;
      d = a + golden * (b - a);
    }
  }
  for (double f : {c, d}) {
    if (mape(f) < mape(best))
      best = f;
  }
  counter.finish();
  fit.fraction = best;
  fit.after = tried.at(best);
  return fit;
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
  if (!report.skipped.empty())
    out += "\n";
  for (const SkippedFile& f : report.skipped)
    out += "skipped " + f.file + ": " + f.reason + "\n";
  out += fmt::format("\n{}: MAPE {:.2f} %, worst {:.2f} % ({})\n",
                     counted(static_cast<std::int64_t>(report.cases.size()), "case"),
                     report.mean_absolute_percentage_error, report.worst_absolute_percentage_error,
                     report.worst_case);
  return printable_text(out);
}

namespace {
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
  nlohmann::json skipped = nlohmann::json::array();
  for (const SkippedFile& f : report.skipped)
    skipped.push_back({{"file", f.file}, {"reason", f.reason}});
  return {{"scaleplan_version", scaleplan_version_text()},
          {"cases", cases},
          {"skipped", skipped},
          {"mape_percent", report.mean_absolute_percentage_error},
          {"worst_percent", report.worst_absolute_percentage_error},
          {"worst_case", report.worst_case},
          {"calibration", report.calibration}};
}

}  // namespace

std::string format_json(const ValidationReport& report) {
  return to_json(report).dump(2) + "\n";
}

}  // namespace scaleplan
