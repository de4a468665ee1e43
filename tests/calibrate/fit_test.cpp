#include "calibrate/fit.hpp"

#include <cmath>

#include <gtest/gtest.h>

#include "calibrate/compare.hpp"
#include "hardware/io/catalog.hpp"

namespace scaleplan {
namespace {

TEST(Fit, NonNegativeLeastSquaresDropsANegativeColumn) {
  // b = 2·x0 − 0.3·x1: the unconstrained fit is (2, −0.3); with c ≥ 0 the second column goes
  // and c0 is the one-column least-squares fit (x0·b) / (x0·x0).
  Eigen::MatrixXd a(4, 2);
  a << 1, 0.1, 2, 0.5, 3, 0.2, 4, 0.9;
  const Eigen::VectorXd b = 2 * a.col(0) - 0.3 * a.col(1);
  const Eigen::VectorXd c = nonnegative_least_squares(a, b, 0b01);
  EXPECT_NEAR(c(0), a.col(0).dot(b) / a.col(0).squaredNorm(), 1e-12);
  EXPECT_EQ(c(1), 0);
  // With the second column required, the only non-negative candidate is that column alone.
  const Eigen::VectorXd forced = nonnegative_least_squares(a, b, 0b10);
  EXPECT_EQ(forced(0), 0);
  EXPECT_NEAR(forced(1), a.col(1).dot(b) / a.col(1).squaredNorm(), 1e-12);
}

// Times made by a known GemmModel on a grid are fitted back to that model.
TEST(Fit, RecoversAKnownGemmModel) {
  const GemmModel truth{4e-6, 0.8, 128, 64, 256};
  GemmProfile reference;
  reference.peak_flops_per_s = {1e14, "synthetic"};
  reference.model = truth;
  MeasurementRun run;
  run.source = "synthetic";
  for (std::int64_t m : {64, 256, 1024, 4096}) {
    for (std::int64_t n : {64, 512, 4096}) {
      for (std::int64_t k : {128, 1024, 8192}) {
        const GemmDims d{m, n, k, 1};
        run.gemm.push_back(
            {Dtype::bf16, d, gemm_flops(d) / (reference.model_efficiency(d) * 1e14), 1});
      }
    }
  }
  DeviceSpec device;
  device.name = "synthetic";
  device.peak_flops_per_s[Dtype::bf16] = {1e14, "synthetic peak"};
  FitOptions options;
  options.device = &device;
  const FitResult result = fit_profile({Measurements{{run}}}, options);
  const GemmProfile& g = result.profile.gemm.at(Dtype::bf16);
  EXPECT_NEAR(g.model.peak_efficiency, 0.8, 1e-9);
  EXPECT_NEAR(g.model.m_half, 128, 1e-6);
  EXPECT_NEAR(g.model.n_half, 64, 1e-6);
  EXPECT_NEAR(g.model.k_half, 256, 1e-6);
  EXPECT_NEAR(g.model.fixed_s, 4e-6, 1e-12);
  ASSERT_TRUE(g.fit);
  EXPECT_NEAR(g.fit->r_squared, 1, 1e-9);
  EXPECT_LT(g.fit->worst_relative_error, 1e-9);
  EXPECT_EQ(g.fit->points, 36);
  EXPECT_EQ(g.peak_flops_per_s.source, "synthetic peak");
  // A shape outside the table is the model's.
  const GemmDims outside{16384, 16384, 16384, 1};
  EXPECT_NEAR(g.efficiency(outside), reference.model_efficiency(outside), 1e-9);
}

TEST(Fit, AFitKeepsADegreeOfFreedom) {
  // Two shapes 1.2 % apart in efficiency. Two coefficients would pass through both and turn the
  // difference into a law of n (half efficiency at n = 32) for every shape never measured; the
  // fit uses one, the least-squares constant on relative error: Σe² / Σe.
  MeasurementRun run;
  run.source = "synthetic";
  const GemmDims a{1024, 10240, 5120, 1}, b{6912, 2048, 16384, 1};
  const double ea = 0.8692, eb = 0.8587;
  run.gemm.push_back({Dtype::bf16, a, gemm_flops(a) / (ea * 1e14), 1});
  run.gemm.push_back({Dtype::bf16, b, gemm_flops(b) / (eb * 1e14), 1});
  DeviceSpec device;
  device.name = "synthetic";
  device.peak_flops_per_s[Dtype::bf16] = {1e14, "peak"};
  FitOptions options;
  options.device = &device;
  const GemmProfile g = fit_profile({Measurements{{run}}}, options).profile.gemm.at(Dtype::bf16);
  EXPECT_NEAR(g.model.peak_efficiency, (ea * ea + eb * eb) / (ea + eb), 1e-12);
  EXPECT_EQ(g.model.m_half + g.model.n_half + g.model.k_half + g.model.fixed_s, 0);
  // Its quality says it does not pass through both points.
  EXPECT_GT(g.fit->worst_relative_error, 0.005);
  // The table still reproduces each measurement exactly.
  EXPECT_DOUBLE_EQ(g.efficiency(a), ea);
}

TEST(Fit, AsymptoteAboveTheDatasheetPeakIsCapped) {
  MeasurementRun run;
  run.source = "synthetic";
  for (std::int64_t s : {128, 256, 1024}) {
    const GemmDims d{s, s, s, 1};
    const double size = static_cast<double>(s);
    // Efficiency 1.2 · s / (s + 300): the asymptote 1.2 exceeds the peak, while every point
    // measured stays below it (0.36, 0.55, 0.93).
    run.gemm.push_back({Dtype::fp16, d, gemm_flops(d) / (1e14 * 1.2 * size / (size + 300.0)), 1});
  }
  DeviceSpec device;
  device.name = "synthetic";
  device.peak_flops_per_s[Dtype::fp16] = {1e14, "peak"};
  FitOptions options;
  options.device = &device;
  const FitResult result = fit_profile({Measurements{{run}}}, options);
  EXPECT_DOUBLE_EQ(result.profile.gemm.at(Dtype::fp16).model.peak_efficiency, 1.0);
  EXPECT_NE(format_fit_report(result).find("capped"), std::string::npos);
}

TEST(Fit, AGemmFasterThanTheDatasheetPeakIsRefused) {
  // 2·1024³ FLOP in 1e-6 s is 2.1e15 FLOP/s, 21 times the device's 1e14: stored against that
  // peak it would be an efficiency of 21.
  MeasurementRun run;
  run.source = "fast.yaml";
  const GemmDims d{1024, 1024, 1024, 1};
  run.gemm.push_back({Dtype::fp16, d, 1e-6, 1});
  DeviceSpec device;
  device.name = "synthetic";
  device.peak_flops_per_s[Dtype::fp16] = {1e14, "peak"};
  FitOptions options;
  options.device = &device;
  try {
    fit_profile({Measurements{{run}}}, options);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "fast.yaml: gemm: fp16 1024×1024×1024 (batch 1) in 1e-06 s is 2.15e+15 FLOP/s, 21.5 "
              "times the synthetic datasheet peak of 1e+14 FLOP/s; the time is too short, or it "
              "was measured on another device or dtype");
  }
}

TEST(Fit, AFitOutsideThePhysicalRangesIsRefused) {
  // A memory copy of 1 PB in 1 ns fits a bandwidth of 1e24 B/s, which the profile reader would
  // refuse (at most 1e15): the fit refuses it rather than write a profile nothing can read.
  MeasurementRun run;
  run.source = "synthetic";
  run.memory.push_back({"copy", 1e15, 1e-9, 1});
  run.memory.push_back({"copy", 5e14, 0.5e-9, 1});
  try {
    fit_profile({Measurements{{run}}}, {});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("memory.bandwidth_bytes_per_s.value: the measurements fit a figure outside "
                        "its physical range: must be from 1000000 to 1000000000000000"),
              std::string::npos)
        << what;
  }
}

// An all-reduce over 8 ranks of one node measured at `bytes` in `time_s`.
CollectiveMeasurement all_reduce_8(double bytes, double time_s) {
  CollectiveMeasurement c;
  c.op = CollectiveOp::all_reduce;
  c.algorithm = "nccl";
  c.ranks = 8;
  c.nodes = 1;
  c.bytes = bytes;
  c.time_s = time_s;
  return c;
}

TEST(Fit, AlphaBetaCollectiveAndMemoryRecovered) {
  MeasurementRun run;
  run.source = "synthetic";
  for (double bytes = 8; bytes <= 1e9; bytes *= 4) {
    // busbw 200 GB/s, alpha 20 us: algbw = busbw / (2·7/8).
    run.collectives.push_back(all_reduce_8(bytes, 20e-6 + bytes * 1.75 / 200e9));
    run.memory.push_back({"triad", bytes, 1e-6 + bytes / 2e12, 1});
  }
  run.launch.push_back({"empty", 2e-6, 1});
  run.launch.push_back({"empty", 3e-6, 1});
  run.launch.push_back({"empty", 10e-6, 1});
  const FitResult result = fit_profile({Measurements{{run}}}, {});
  const Profile& p = result.profile;
  ASSERT_EQ(p.collectives.size(), 1u);
  EXPECT_NEAR(p.collectives[0].latency_s.value, 20e-6, 1e-12);
  EXPECT_NEAR(p.collectives[0].bus_bandwidth_bytes_per_s.value, 200e9, 1e-3);
  EXPECT_NEAR(p.collectives[0].fit->r_squared, 1, 1e-9);
  ASSERT_TRUE(p.memory);
  EXPECT_NEAR(p.memory->bandwidth_bytes_per_s.value, 2e12, 1);
  EXPECT_NEAR(p.memory->latency_s.value, 1e-6, 1e-15);
  EXPECT_DOUBLE_EQ(p.kernel_launch_overhead_s->value, 3e-6);  // the median
  const std::string report = format_fit_report(result);
  EXPECT_NE(report.find("all-reduce nccl 8 ranks / 1 node"), std::string::npos) << report;
  EXPECT_NE(report.find("R² 1.0000"), std::string::npos) << report;

  // Predicted against measured on the same points: errors at rounding level.
  const Comparison c = compare_profile(p, Measurements{{run}});
  ASSERT_EQ(c.summaries.size(), 3u);
  for (const ComparisonSummary& s : c.summaries) {
    if (s.kind != "launch") {
      EXPECT_LT(s.worst_abs_error, 1e-9) << s.kind;
    }
  }
  for (const ComparisonSummary& s : c.summaries) {
    if (s.kind == "launch") {
      EXPECT_NEAR(s.worst_abs_error, 7.0 / 10, 1e-12);  // the 3 us median against 10 us
    }
  }
  EXPECT_NE(format_comparison(c).find("collective all-reduce 8 ranks / 1 node"), std::string::npos);
}

TEST(Fit, CollectiveSizeRegimesAreFoundWhereTheCurveBends) {
  // An 8-rank all-reduce whose protocol changes twice, as NCCL's LL, LL128 and Simple do: below
  // 64 KiB 20 us + bytes / 10 GB/s, up to 16 MiB 30 us + bytes / 100 GB/s, beyond 200 us +
  // bytes / 171.4 GB/s (busbw 300 GB/s: algbw = busbw / (2·7/8)).
  MeasurementRun run;
  run.source = "synthetic";
  const auto regime_time_s = [](double bytes) {
    if (bytes < 65536)
      return 20e-6 + bytes / 10e9;
    if (bytes < 16777216)
      return 30e-6 + bytes / 100e9;
    return 200e-6 + bytes * 1.75 / 300e9;
  };
  for (double bytes = 8; bytes <= 4e9; bytes *= 2)
    run.collectives.push_back(all_reduce_8(bytes, regime_time_s(bytes)));
  const FitResult result = fit_profile({Measurements{{run}}}, {});
  const CollectiveProfile& c = result.profile.collectives.at(0);
  ASSERT_EQ(c.segments.size(), 3u);
  EXPECT_EQ(c.segments[1].from_bytes, 65536);
  EXPECT_EQ(c.segments[2].from_bytes, 16777216);
  // The smallest messages' latency and the largest messages' bus bandwidth, exactly.
  EXPECT_NEAR(c.latency_s.value, 20e-6, 1e-12);
  EXPECT_NEAR(c.bus_bandwidth_bytes_per_s.value, 300e9, 1);
  EXPECT_NEAR(c.fit->worst_relative_error, 0, 1e-9);
  for (const CollectiveMeasurement& m : run.collectives)
    EXPECT_NEAR(c.time_s(m.bytes) / m.time_s, 1, 1e-9) << m.bytes;
  EXPECT_NE(format_fit_report(result).find("3 size regimes from 8 B, 64 KiB, 16 MiB"),
            std::string::npos)
      << format_fit_report(result);

  // Noise of a percent does not make regimes of its own: a single line stays one.
  MeasurementRun line = run;
  for (std::size_t i = 0; i < line.collectives.size(); ++i) {
    CollectiveMeasurement& m = line.collectives[i];
    m.time_s = (20e-6 + m.bytes * 1.75 / 300e9) * (i % 2 ? 1.01 : 0.99);
  }
  const CollectiveProfile one = fit_profile({Measurements{{line}}}, {}).profile.collectives.at(0);
  EXPECT_TRUE(one.segments.empty());
  EXPECT_NEAR(one.bus_bandwidth_bytes_per_s.value, 300e9, 0.02 * 300e9);
}

// A CPU's copy and triad: 60 GB/s from its caches below 32 MiB, 8 GB/s (and 0.2 ms) from DRAM
// beyond. The fit finds the two regimes, so that a 1 MiB norm and a 193 MB optimizer step each
// take their own; one line through all the points would give both one bandwidth.
TEST(Fit, MemorySizeRegimesSplitTheCachesFromDram) {
  MeasurementRun run;
  run.source = "synthetic";
  const auto time_s = [](double bytes) {
    return bytes < 33554432 ? 1e-6 + bytes / 60e9 : 2e-4 + bytes / 8e9;
  };
  for (double bytes = 262144; bytes <= 536870912; bytes *= 2) {
    run.memory.push_back({"copy", bytes, time_s(bytes), 1});
    run.memory.push_back({"triad", bytes, time_s(bytes), 1});
  }
  const FitResult result = fit_profile({Measurements{{run}}}, {});
  const BandwidthProfile& m = *result.profile.memory;
  ASSERT_EQ(m.segments.size(), 2u);
  EXPECT_EQ(m.segments[1].from_bytes, 33554432);
  // The smallest arrays' latency and the largest arrays' bandwidth, exactly.
  EXPECT_NEAR(m.latency_s.value, 1e-6, 1e-12);
  EXPECT_NEAR(m.bandwidth_bytes_per_s.value, 8e9, 1e-3);
  for (const double bytes : {1048576.0, 193077248.0})
    EXPECT_NEAR(m.time_s(bytes) / time_s(bytes), 1, 1e-9) << bytes;
  EXPECT_NE(format_fit_report(result).find("60.0 GB/s from 256 KiB, 8.0 GB/s from 32 MiB"),
            std::string::npos)
      << format_fit_report(result);
}

TEST(Fit, ComparisonNamesWhatTheProfileCannotPredict) {
  Profile p;
  MeasurementRun run;
  run.gemm.push_back({Dtype::fp8, {64, 64, 64, 1}, 1e-5, 1});
  const Comparison c = compare_profile(p, Measurements{{run}});
  EXPECT_TRUE(c.rows.empty());
  ASSERT_EQ(c.unmatched.size(), 1u);
  EXPECT_EQ(c.unmatched[0], "gemm fp8: the profile has no fit");
}

TEST(Fit, NothingToFitIsAnError) {
  EXPECT_THROW(fit_profile({Measurements{{MeasurementRun{}}}}, {}), std::invalid_argument);
}

}  // namespace
}  // namespace scaleplan
