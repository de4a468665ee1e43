// Validation against published runs: every scenario with a `measured:` block is predicted and
// compared with its measured step time.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "hardware/input/enum_names.hpp"
#include "hardware/input/progress.hpp"
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
  // The predicted memory peak of the busiest rank and the device's capacity: a measured run
  // ran, so a prediction that it does not fit is an error of the memory model.
  double predicted_peak_bytes = 0;
  double capacity_bytes = 0;
  bool fits = true;
  // What cases are grouped by (ValidationGrouping): the device ("H100-SXM5-80GB"; a cluster of
  // node groups joins their devices with " + "), the framework the scenario names ("none" where
  // it names none), and the training dtype.
  std::string device;
  std::string framework;
  std::string dtype;
};

// A scenario file found in a directory without a `measured:` block: not a validation case, left
// out with a note rather than refused.
struct SkippedFile {
  std::string file;
  std::string reason;
};

struct ValidationReport {
  std::vector<ValidationCase> cases;
  std::vector<SkippedFile> skipped;
  double mean_absolute_percentage_error = 0;  // in percent
  double worst_absolute_percentage_error = 0;
  std::string worst_case;
  std::string calibration;  // the profile every case was timed with; empty: each case's own
};

// A file to validate, and whether the user named it or it was found in a named directory.
struct ValidationFile {
  std::filesystem::path path;
  // Found in a directory: a scenario there without a `measured:` block is skipped with a note; a
  // file named on its own must be a validation case.
  bool found_in_directory = false;
};

// The scenario files named, and the *.yaml files inside named directories, in sorted order.
// Throws InputError for a path that does not exist or a directory without scenarios.
std::vector<ValidationFile> validation_files(const std::vector<std::string>& paths);

// A calibration profile and the name reports give it (its file).
struct NamedProfile {
  Profile profile;
  std::string name;
};

// Predicts every case, each timed with `calibration` when given (in place of the profile the
// case names, if any): how well a profile predicts runs it was not fitted to. A file found in a
// directory without a `measured:` block is skipped (ValidationReport::skipped). Throws
// InputError for a named file without a `measured:` block, and for a profile that cannot time a
// case (another device). `progress`, when given, hears of each file read (task "validate", units
// "files", the file's path). The files are read and predicted on `threads` threads (every core
// for 0); the report is the same, case for case and bit for bit, whatever their number, and of
// several bad files the first in `files` is the one named.
ValidationReport validate(const std::vector<ValidationFile>& files, const Catalog& catalog,
                          const NamedProfile* calibration = nullptr,
                          ProgressSink* progress = nullptr, int threads = 0);

// The sustained GEMM fraction (Profile::sustained_gemm_fraction) that best predicts measured
// steps with `calibration`: the one of least MAPE over the cases, searched on a grid of 0.05 from
// 0.3 to max_sustained_gemm_fraction, then by golden section to 0.001 around the best grid point.
// Each try predicts every case, so it takes some twenty validations; each case is read, and its
// network built, once for all of them. `progress` hears of every prediction (task "calibrate
// fit-steps", units "predictions"); its total is an upper bound (the tries that the golden section
// needs are not known beforehand) until the last report, whose `done` equals its `total`. The
// cases of a try are predicted on `threads` threads, as validate's.
struct SustainedFractionFit {
  double fraction = 1;
  ValidationReport before;  // the profile as given, with the files skipped
  ValidationReport after;   // with `fraction`
};
SustainedFractionFit fit_sustained_gemm_fraction(const std::vector<ValidationFile>& files,
                                                 const Catalog& catalog,
                                                 const NamedProfile& calibration,
                                                 ProgressSink* progress = nullptr, int threads = 0);

// The catalog's sustained_share (DeviceSpec) that best predicts measured steps: the one of least
// MAPE over the cases, searched as fit_sustained_gemm_fraction searches, up to the share that
// lifts one of the devices' efficiency figures to 1. One share for every device of the cases:
// each must carry one, the same, and no case may name a calibration profile (InputError naming
// the case otherwise). `before` is the catalog's share; `progress` and `threads` as above (task
// "calibrate fit-catalog").
SustainedFractionFit fit_catalog_sustained_share(const std::vector<ValidationFile>& files,
                                                 const Catalog& catalog,
                                                 ProgressSink* progress = nullptr, int threads = 0);

// The error by device, framework or dtype: where a model is off on one kind of run and right on
// another (docs/validation-sources.md's tables per device, framework and dtype).
enum class ValidationGrouping { device, framework, dtype };

inline constexpr EnumNames<ValidationGrouping, 3> validation_grouping_names{{{
    {ValidationGrouping::device, "device"},
    {ValidationGrouping::framework, "framework"},
    {ValidationGrouping::dtype, "dtype"},
}}};

struct ValidationGroup {
  std::string name;         // the device, framework or dtype the cases share
  ValidationReport report;  // its cases, in the report's order, with their MAPE and worst
};

struct ValidationGroups {
  ValidationGrouping by = ValidationGrouping::device;
  std::vector<ValidationGroup> groups;  // most cases first, then by name
};

// The report's cases grouped `by` their device, framework or dtype.
ValidationGroups group_cases(const ValidationReport& report, ValidationGrouping by);

std::string format_text(const ValidationReport& report);
// A table of the groups: cases, MAPE and worst (with its case) of each, under the heading of what
// they are grouped by.
std::string format_groups_text(const ValidationGroups& groups);
// Indented JSON (docs/scenario-format.md lists the keys), with a final newline; with `groups`, a
// "groups" array of them.
std::string format_json(const ValidationReport& report, const ValidationGroups* groups = nullptr);

}  // namespace scaleplan
