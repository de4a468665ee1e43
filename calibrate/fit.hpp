// Fitting measurements into a Profile (Eigen least squares):
//  - GEMM, per dtype: the GemmModel of hardware/profile.hpp, linear in its coefficients
//    (time = c0 + c1·F + c2·F/m + c3·F/n + c4·F/k), fitted by least squares on relative error
//    with every coefficient non-negative, plus the measured table the profile interpolates.
//  - Memory: time = latency + bytes / bandwidth over the copy and triad points.
//  - Launch overhead: the median of the launch measurements.
//  - Collectives, per (collective, algorithm, ranks, nodes): time = alpha + bytes·factor / busbw.
// Each fit carries its quality: R² of log(time) and the worst relative error of its times.
// docs/calibration.md explains the choice of model.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "calibrate/measurements.hpp"
#include "hardware/device_spec.hpp"
#include "hardware/profile.hpp"

namespace scaleplan {

struct FitOptions {
  // The catalog device the profile refines: its peaks are what efficiencies are fractions of and
  // its name is the profile's device. Without one, efficiencies are fractions of the highest
  // throughput measured per dtype and the profile names the measured device.
  const DeviceSpec* device = nullptr;
  double interpolation_radius_octaves = 2;
};

// One fitted quantity, for the report `scaleplan calibrate fit` prints.
struct FitLine {
  std::string what;     // "gemm bf16", "memory", "all-reduce nccl 8 ranks / 1 node"
  std::string summary;  // the fitted parameters, in words
  std::optional<FitQuality> quality;
};

struct FitResult {
  Profile profile;
  std::vector<FitLine> lines;
};

// Fits everything the runs of `inputs` measured. Throws
// std::invalid_argument when there is nothing to fit.
FitResult fit_profile(const std::vector<Measurements>& inputs, const FitOptions& options);

std::string format_fit_report(const FitResult& result);

// The least-squares core, exposed for tests: minimises Σ((A·c − b)_i)² subject to c ≥ 0 by
// trying every subset of columns that contains `required` (columns are few), keeping the
// non-negative solution with the smallest residual; ties go to fewer columns. Returns
// coefficients with zeros for dropped columns; throws std::invalid_argument when no subset has
// a non-negative solution. At most `max_columns` columns are used (and never more than there
// are rows).
Eigen::VectorXd nonnegative_least_squares(const Eigen::MatrixXd& a, const Eigen::VectorXd& b,
                                          unsigned required_columns_mask, int max_columns = 16);

}  // namespace scaleplan
