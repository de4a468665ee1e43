#include "sim/report/validation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <variant>

#include <fmt/format.h>

#include "hardware/input/diagnostics.hpp"
#include "hardware/input/parallel_for.hpp"
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

constexpr double gib = 1024.0 * 1024 * 1024;

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

// The device a case runs on: the cluster's, or its node groups' joined by " + ".
std::string case_device(const ClusterSpec& cluster) {
  if (cluster.node_groups.empty())
    return cluster.device.name;
  std::vector<std::string> names;
  std::string joined;
  for (const NodeGroup& g : cluster.node_groups) {
    if (std::find(names.begin(), names.end(), g.device.name) != names.end())
      continue;
    joined += (names.empty() ? "" : " + ") + g.device.name;
    names.push_back(g.device.name);
  }
  return joined;
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
  c.predicted_peak_bytes = prediction.memory.peak_bytes;
  c.capacity_bytes = prediction.memory.capacity_bytes;
  c.fits = prediction.memory.fits;
  c.device = case_device(scenario.cluster);
  const std::optional<Framework>& framework = scenario.job.framework.framework;
  c.framework = framework ? std::string(to_string(*framework)) : "none";
  c.dtype = std::string(to_string(scenario.job.training.dtype));
  return c;
}

// `counter` advanced from the threads that predict cases side by side.
class SharedCounter {
 public:
  explicit SharedCounter(ProgressCounter& counter) : counter_(counter) {}
  void advance(std::string_view current) {
    const std::lock_guard lock(mutex_);
    counter_.advance(current);
  }

 private:
  ProgressCounter& counter_;
  std::mutex mutex_;
};

// The report on `cases`, in their order, with the mean and the worst.
ValidationReport report_on(std::vector<ValidationCase> cases, const NamedProfile* calibration) {
  ValidationReport report;
  if (calibration)
    report.calibration = calibration->name;
  double sum = 0;
  for (ValidationCase& c : cases) {
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

// The report on `cases` timed with `calibration` (or each its own profile), predicted on
// `threads` threads.
ValidationReport predict_cases(const std::vector<LoadedCase>& cases,
                               const NamedProfile* calibration, int threads,
                               SharedCounter& counter) {
  return report_on(parallel_map(cases.size(), threads,
                                [&](std::size_t i) {
                                  ValidationCase c = predict_case(cases[i], calibration);
                                  counter.advance(c.file);
                                  return c;
                                }),
                   calibration);
}

}  // namespace

ValidationReport validate(const std::vector<ValidationFile>& files, const Catalog& catalog,
                          const NamedProfile* calibration, ProgressSink* progress, int threads) {
  ProgressCounter counter(progress, "validate", "files", files.size());
  SharedCounter shared(counter);
  // Each file is read and predicted on its own; a file that is not a case stays a SkippedFile.
  std::vector<std::variant<ValidationCase, SkippedFile>> outcomes = parallel_map(
      files.size(), threads, [&](std::size_t i) -> std::variant<ValidationCase, SkippedFile> {
        const ValidationFile& file = files[i];
        std::optional<LoadedCase> loaded = load_case(file, catalog, calibration);
        shared.advance(file.path.string());
        if (!loaded)
          return SkippedFile{file.path.string(), no_measured_block};
        return predict_case(*loaded, calibration);
      });
  counter.finish();
  std::vector<ValidationCase> cases;
  std::vector<SkippedFile> skipped;
  for (auto& outcome : outcomes) {
    if (auto* c = std::get_if<ValidationCase>(&outcome))
      cases.push_back(std::move(*c));
    else
      skipped.push_back(std::move(std::get<SkippedFile>(outcome)));
  }
  require_cases(cases.size(), skipped);
  ValidationReport report = report_on(std::move(cases), calibration);
  report.skipped = std::move(skipped);
  return report;
}

namespace {

// Tries of least_mape_fraction at most, for the progress total: the grid from `lowest` to
// `highest`, the golden section's two starting points, one a step while it narrows two grid steps
// down to the tolerance, and the last step's new point, compared after the loop.
constexpr double fraction_grid_step = 0.05, lowest_fraction = 0.3, fraction_tolerance = 0.001;
const double golden_ratio = (std::sqrt(5.0) - 1) / 2;

std::size_t fraction_search_tries(double highest) {
  const auto grid_points = static_cast<int>((highest - lowest_fraction) / fraction_grid_step);
  const auto golden_steps = static_cast<std::size_t>(
      std::ceil(std::log(fraction_tolerance / (2 * fraction_grid_step)) / std::log(golden_ratio)));
  return static_cast<std::size_t>(grid_points + 1) + 2 + golden_steps + 1;
}

// The fraction in [lowest_fraction, highest] of least `mape(fraction)`, starting from `first`: a
// grid of fraction_grid_step, then golden section to fraction_tolerance around the best grid
// point. Every prediction scales monotonically with the fraction, so the MAPE has one valley near
// the best grid point.
template <class MapeOf>
double least_mape_fraction(double first, double highest, MapeOf mape) {
  double best = first;
  const auto grid_points = static_cast<int>((highest - lowest_fraction) / fraction_grid_step);
  for (int i = 0; i <= grid_points; ++i) {
    const double f = lowest_fraction + i * fraction_grid_step;
    if (mape(f) < mape(best))
      best = f;
  }
  double a = std::max(lowest_fraction, best - fraction_grid_step);
  double b = std::min(highest, best + fraction_grid_step);
  double c = b - golden_ratio * (b - a), d = a + golden_ratio * (b - a);
  while (b - a > fraction_tolerance) {
    if (mape(c) < mape(d)) {
      b = d;
      d = c;
      c = b - golden_ratio * (b - a);
    } else {
      a = c;
      c = d;
      d = a + golden_ratio * (b - a);
    }
  }
  for (double f : {c, d}) {
    if (mape(f) < mape(best))
      best = f;
  }
  return best;
}

// `visit` on the cluster's device and each node group's (its own copy of its device).
template <class Cluster, class Visit>
void for_each_device(Cluster& cluster, Visit visit) {
  visit(cluster.device);
  for (auto& group : cluster.node_groups)
    visit(group.device);
}

// Reads every file that is a validation case, timed with `calibration` when given; the others
// go to `skipped`. Throws when none is a case.
std::vector<LoadedCase> load_cases(const std::vector<ValidationFile>& files, const Catalog& catalog,
                                   const NamedProfile* calibration,
                                   std::vector<SkippedFile>& skipped, int threads) {
  std::vector<std::optional<LoadedCase>> loaded =
      parallel_map(files.size(), threads,
                   [&](std::size_t i) { return load_case(files[i], catalog, calibration); });
  std::vector<LoadedCase> cases;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (loaded[i])
      cases.push_back(std::move(*loaded[i]));
    else
      skipped.push_back({files[i].path.string(), no_measured_block});
  }
  require_cases(cases.size(), skipped);
  return cases;
}

}  // namespace

SustainedFractionFit fit_sustained_gemm_fraction(const std::vector<ValidationFile>& files,
                                                 const Catalog& catalog,
                                                 const NamedProfile& calibration,
                                                 ProgressSink* progress, int threads) {
  // The fraction changes only how long GEMMs take: every case is read, and its network built,
  // once for all the tries.
  std::vector<SkippedFile> skipped;
  const std::vector<LoadedCase> cases = load_cases(files, catalog, &calibration, skipped, threads);
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
  // Tries: the profile as given and the fraction 1 besides the search.
  ProgressCounter counter(progress, "calibrate fit-steps", "predictions",
                          cases.size() * (2 + fraction_search_tries(highest)));
  SharedCounter shared(counter);
  const auto evaluate = [&](const NamedProfile& profile) {
    return predict_cases(cases, &profile, threads, shared);
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
  fit.fraction = least_mape_fraction(std::min(1.0, highest), highest, mape);
  counter.finish();
  fit.after = tried.at(fit.fraction);
  return fit;
}

SustainedFractionFit fit_catalog_sustained_share(const std::vector<ValidationFile>& files,
                                                 const Catalog& catalog, ProgressSink* progress,
                                                 int threads) {
  std::vector<SkippedFile> skipped;
  std::vector<LoadedCase> cases = load_cases(files, catalog, nullptr, skipped, threads);
  // One share for every device of the cases, as the catalog gives one to a family of devices
  // (the GH100 devices share theirs): each must carry it, and carry the same.
  std::optional<Figure> share;
  std::string share_device;
  // The share may not lift any catalog efficiency above 1.
  double highest = max_sustained_gemm_fraction;
  for (const LoadedCase& c : cases) {
    const SourceLocation where{c.file.string(), 0, 0};
    if (c.scenario.profile) {
      throw InputError({{where, "calibration",
                         "the case is timed by its calibration profile, not by the catalog: "
                         "fit-catalog fits the catalog's sustained_share (fit-steps fits a "
                         "profile's)"}});
    }
    for_each_device(c.scenario.cluster, [&](const DeviceSpec& d) {
      const DeviceSpec* device = &d;
      if (!device->sustained_share) {
        throw InputError(
            {{where, "cluster.device",
              "the catalog gives " + device->name +
                  " no sustained_share: fit-catalog fits the share the cases' devices carry"}});
      }
      if (!share) {
        share = device->sustained_share;
        share_device = device->name;
      } else if (device->sustained_share->value != share->value) {
        throw InputError({{where, "cluster.device",
                           fmt::format("{} has sustained_share {} but {} has {}: fit-catalog "
                                       "fits one share, so fit the two devices' cases apart",
                                       device->name, device->sustained_share->value, share_device,
                                       share->value)}});
      }
      double largest = device->compute_efficiency.value;
      for (const auto& [library, figures] : device->attention)
        largest = std::max(largest, figures.efficiency.value);
      for (const auto& [dtype, figure] : device->compute_efficiency_by_dtype)
        largest = std::max(largest, figure.value);
      highest = std::min(highest, 1 / largest);
    });
  }
  ProgressCounter counter(progress, "calibrate fit-catalog", "predictions",
                          cases.size() * (1 + fraction_search_tries(highest)));
  SharedCounter shared(counter);
  std::map<double, ValidationReport> tried;
  const auto mape = [&](double fraction) {
    auto found = tried.find(fraction);
    if (found == tried.end()) {
      for (LoadedCase& c : cases) {
        for_each_device(c.scenario.cluster,
                        [&](DeviceSpec& device) { device.sustained_share->value = fraction; });
      }
      found = tried.emplace(fraction, predict_cases(cases, nullptr, threads, shared)).first;
    }
    return found->second.mean_absolute_percentage_error;
  };
  SustainedFractionFit fit;
  mape(share->value);
  fit.before = tried.at(share->value);
  fit.before.skipped = std::move(skipped);
  fit.fraction = least_mape_fraction(share->value, highest, mape);
  counter.finish();
  fit.after = tried.at(fit.fraction);
  return fit;
}

ValidationGroups group_cases(const ValidationReport& report, ValidationGrouping by) {
  std::map<std::string, std::vector<ValidationCase>> cases_by_name;
  for (const ValidationCase& c : report.cases) {
    const std::string& name = by == ValidationGrouping::device      ? c.device
                              : by == ValidationGrouping::framework ? c.framework
                                                                    : c.dtype;
    cases_by_name[name].push_back(c);
  }
  ValidationGroups grouped{by, {}};
  for (auto& [name, cases] : cases_by_name)
    grouped.groups.push_back({name, report_on(std::move(cases), nullptr)});
  std::stable_sort(grouped.groups.begin(), grouped.groups.end(), [](const auto& a, const auto& b) {
    return a.report.cases.size() > b.report.cases.size();
  });
  return grouped;
}

std::string format_groups_text(const ValidationGroups& grouped) {
  const std::string heading(validation_grouping_names.name(grouped.by));
  std::size_t width = heading.size();
  for (const ValidationGroup& g : grouped.groups)
    width = std::max(width, g.name.size());
  std::string out = fmt::format("\n{:<{}}  {:>5}  {:>7}  {:>7}  {}\n", heading, width, "cases",
                                "MAPE", "worst", "worst case");
  for (const ValidationGroup& g : grouped.groups) {
    out += fmt::format("{:<{}}  {:>5}  {:>5.2f} %  {:>5.2f} %  {}\n", g.name, width,
                       g.report.cases.size(), g.report.mean_absolute_percentage_error,
                       g.report.worst_absolute_percentage_error, g.report.worst_case);
  }
  return printable_text(out);
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
  std::string not_fitting;
  for (const auto& c : report.cases) {
    if (!c.fits) {
      not_fitting += fmt::format("  {}: {:.1f} of {:.1f} GiB\n", c.name,
                                 c.predicted_peak_bytes / gib, c.capacity_bytes / gib);
    }
  }
  if (!not_fitting.empty()) {
    out +=
        "\npredicted not to fit in device memory, though the run ran (the memory model's "
        "error):\n" +
        not_fitting;
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
                     {"device", c.device},
                     {"framework", c.framework},
                     {"dtype", c.dtype},
                     {"measured_step_time_s", c.measured_step_time_s},
                     {"predicted_step_time_s", c.predicted_step_time_s},
                     {"relative_error", c.relative_error},
                     {"predicted_peak_bytes", c.predicted_peak_bytes},
                     {"capacity_bytes", c.capacity_bytes},
                     {"fits", c.fits}});
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

std::string format_json(const ValidationReport& report, const ValidationGroups* grouped) {
  nlohmann::json json = to_json(report);
  if (grouped) {
    nlohmann::json rows = nlohmann::json::array();
    for (const ValidationGroup& g : grouped->groups) {
      rows.push_back({{std::string(validation_grouping_names.name(grouped->by)), g.name},
                      {"cases", g.report.cases.size()},
                      {"mape_percent", g.report.mean_absolute_percentage_error},
                      {"worst_percent", g.report.worst_absolute_percentage_error},
                      {"worst_case", g.report.worst_case}});
    }
    json["groups"] = rows;
  }
  return json.dump(2) + "\n";
}

}  // namespace scaleplan
