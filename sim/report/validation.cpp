#include "sim/report/validation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "hardware/input/diagnostics.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"

#include <nlohmann/json.hpp>

namespace scaleplan {

std::vector<std::filesystem::path> validation_files(const std::vector<std::string>& paths) {
  std::vector<std::filesystem::path> files;
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
      files.insert(files.end(), found.begin(), found.end());
    } else if (std::filesystem::exists(p, ec)) {
      files.emplace_back(p);
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

// Reads a case, with `calibration` in place of its own profile when given.
LoadedCase load_case(const std::filesystem::path& file, const Catalog& catalog,
                     const NamedProfile* calibration) {
  Scenario scenario = load_scenario(file, catalog);
  if (!scenario.measured) {
    throw InputError({{{file.string(), 1, 1},
                       "measured",
                       "a validation case needs a measured: block with step_time_s and source"}});
  }
  if (calibration) {
    std::vector<Diagnostic> mismatches;
    for (const std::string& m :
         calibration_mismatches(scenario, calibration->profile, calibration->name))
      mismatches.push_back({{file.string(), 0, 0}, "--calibration", m});
    if (!mismatches.empty())
      throw InputError(std::move(mismatches));
    scenario.profile = calibration->profile;
    scenario.calibration = calibration->name;
  }
  ClusterNetwork network = prepare_network(scenario, catalog);
  return {file, std::move(scenario), std::move(network)};
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

ValidationReport validate(const std::vector<std::filesystem::path>& files, const Catalog& catalog,
                          const NamedProfile* calibration) {
  return report_on(files.size(), calibration, [&](std::size_t i) {
    return predict_case(load_case(files[i], catalog, calibration), calibration);
  });
}

SustainedFractionFit fit_sustained_gemm_fraction(const std::vector<std::filesystem::path>& files,
                                                 const Catalog& catalog,
                                                 const NamedProfile& calibration) {
  // The fraction changes only how long GEMMs take: every case is read, and its network built,
  // once for all the tries.
  std::vector<LoadedCase> cases;
  for (const auto& file : files)
    cases.push_back(load_case(file, catalog, &calibration));
  const auto evaluate = [&](const NamedProfile& profile) {
    return report_on(cases.size(), &profile,
                     [&](std::size_t i) { return predict_case(cases[i], &profile); });
  };
  // The fraction may not lift any case's GEMMs above its device's datasheet peak (the scenario
  // reader refuses such a profile): at most datasheet / highest throughput of the profile.
  double highest = max_sustained_gemm_fraction;
  for (const LoadedCase& c : cases) {
    const Dtype dtype = c.scenario.job.training.dtype;
    highest = std::min(highest, c.scenario.cluster.device.peak_flops(dtype) /
                                    calibration.profile.gemm.at(dtype).highest_flops_per_s());
  }
  SustainedFractionFit fit;
  fit.before = evaluate(calibration);
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
  constexpr double grid_step = 0.05, lowest = 0.3, tolerance = 0.001;
  double best = std::min(1.0, highest);
  const auto grid_points = static_cast<int>((highest - lowest) / grid_step);
  for (int i = 0; i <= grid_points; ++i) {
    const double f = lowest + i * grid_step;
    if (mape(f) < mape(best))
      best = f;
  }
  // Every prediction scales monotonically with the fraction, so the MAPE has one valley near the
  // best grid point; golden section narrows it, one new try a step.
  const double golden = (std::sqrt(5.0) - 1) / 2;
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
  std::snprintf(line, sizeof line, "\n%zu cases: MAPE %.2f %%, worst %.2f %% (%s)\n",
                report.cases.size(), report.mean_absolute_percentage_error,
                report.worst_absolute_percentage_error, report.worst_case.c_str());
  out += line;
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
  return {{"cases", cases},
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
