// The calibration's robust timing: trials in passes, the median of those that agree best, more
// passes where they disagree, and the spread recorded in the measurements and the profile.
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <gtest/gtest.h>

#include "calibrate/compute_bench.hpp"
#include "calibrate/cpu_backend.hpp"
#include "calibrate/fit.hpp"
#include "calibrate/measurements.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "hardware/io/profile_io.hpp"

namespace scaleplan {
namespace {

TEST(TrialAgreement, AnInjectedOutlierIsLeftOut) {
  // Three trials within 2 % and one slowed fivefold by another process.
  const TrialAgreement a = agreeing_trials({1.00, 5.00, 1.01, 0.99}, 3);
  EXPECT_DOUBLE_EQ(a.time_s, 1.00);
  EXPECT_DOUBLE_EQ(a.spread, (1.01 - 0.99) / 1.00);
  EXPECT_EQ(a.trials, 4);
  // With only as many trials as must agree, the outlier is in, and the spread says so.
  const TrialAgreement b = agreeing_trials({1.00, 5.00, 1.01}, 3);
  EXPECT_DOUBLE_EQ(b.time_s, 1.01);
  EXPECT_GT(b.spread, 3.9);
  // A mean would have moved by a third; the median of the agreeing ones does not move at all.
  EXPECT_DOUBLE_EQ(agreeing_trials({1.00, 1.01, 0.99, 1.00, 9.0, 7.0}, 3).time_s, 1.00);
  // One trial agrees with itself.
  EXPECT_EQ(agreeing_trials({2.5}, 3).spread, 0);
  EXPECT_EQ(agreeing_trials({2.5}, 3).time_s, 2.5);
}

// A backend whose every trial is a deterministic function of what it times and of how many trials
// of it were taken before: trial t takes base · (1 + (t mod 3)/1000), except the trials listed in
// `slowed`, which another process slowed down (t + 2 times, so that no two slowed trials agree).
class FakeTimer final : public ComputeBackend {
 public:
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, std::set<int>> slowed;
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, int> calls;

  Environment environment() const override {
    Environment e;
    e.tool = "fake";
    e.backend = "cpu";
    e.device = "fake CPU";
    return e;
  }
  std::optional<std::string> unsupported(Dtype dtype) const override {
    return dtype == Dtype::fp32 ? std::nullopt : std::optional<std::string>("fp32 only");
  }
  double gemm_time_s(Dtype, const GemmDims& d, const TimingOptions&) override {
    return trial({d.m, d.n, d.k}, gemm_flops(d) / 1e10);
  }
  double copy_time_s(std::int64_t elements, const TimingOptions&) override {
    return trial({-1, elements, 0}, 8.0 * static_cast<double>(elements) / 1e10 + 1e-6);
  }
  double triad_time_s(std::int64_t elements, const TimingOptions&) override {
    return trial({-2, elements, 0}, 12.0 * static_cast<double>(elements) / 1e10 + 1e-6);
  }
  double launch_time_s(const TimingOptions&) override { return trial({-3, 0, 0}, 1e-6); }

 private:
  double trial(std::tuple<std::int64_t, std::int64_t, std::int64_t> key, double base) {
    const int t = calls[key]++;
    const double clean = base * (1 + (t % 3) / 1000.0);
    return slowed[key].count(t) ? (t + 2) * clean : clean;
  }
};

ComputeBenchOptions small_sweep() {
  ComputeBenchOptions o;
  o.dtypes = {Dtype::fp32};
  o.sweep.transformer = false;
  o.sweep.grid_min = 64;
  o.sweep.grid_max = 256;
  o.memory_min_elements = 1 << 16;
  o.memory_max_elements = 1 << 22;
  o.timing.trials = 3;
  o.timing.max_trials = 8;
  o.timing.tolerance = 0.03;
  return o;
}

TEST(ComputeBench, ATrialSlowedByInterferenceIsMeasuredAgainAndLeftOut) {
  FakeTimer timer;
  timer.slowed[{256, 64, 256}] = {1};  // the second trial of one shape met another process
  std::ostringstream log;
  const MeasurementRun run = run_compute_bench(timer, small_sweep(), log);
  ASSERT_EQ(run.gemm.size(), 8u);
  for (const GemmMeasurement& g : run.gemm) {
    const double base = gemm_flops(g.dims) / 1e10;
    if (g.dims.m == 256 && g.dims.n == 64 && g.dims.k == 256) {
      // Trials 0, 2 and 3 agree (1.000, 1.002, 1.000 times the base); their median is 1.000.
      EXPECT_EQ(g.agreement.trials, 4);
      EXPECT_DOUBLE_EQ(g.time_s, base);
      EXPECT_NEAR(g.agreement.spread, 0.002, 1e-12);
    } else {
      // Every other measurement was taken three times, once per pass, and not again.
      EXPECT_EQ(g.agreement.trials, 3);
      EXPECT_DOUBLE_EQ(g.time_s, base * 1.001);
      EXPECT_NEAR(g.agreement.spread, 0.002 / 1.001, 1e-12);
    }
  }
  EXPECT_EQ((timer.calls[{256, 64, 256}]), 4);
  EXPECT_EQ((timer.calls[{64, 64, 64}]), 3);
  EXPECT_NE(log.str().find("pass 4: 1 measurement(s)"), std::string::npos) << log.str();
}

TEST(ComputeBench, TrialsThatNeverAgreeStopAtTheMostAndSaySo) {
  FakeTimer timer;
  // All but two of eight trials slowed, each differently: no three agree.
  timer.slowed[{64, 64, 64}] = {1, 2, 3, 4, 5, 6};
  std::ostringstream log;
  const MeasurementRun run = run_compute_bench(timer, small_sweep(), log);
  const GemmMeasurement& g = run.gemm.front();
  ASSERT_EQ(g.dims.m, 64);
  ASSERT_EQ(g.dims.n, 64);
  ASSERT_EQ(g.dims.k, 64);
  EXPECT_EQ(g.agreement.trials, 8);
  EXPECT_GT(g.agreement.spread, 0.03);  // recorded, for the fit report and the profile
}

TEST(ComputeBench, TwoCalibrationsOfADeterministicTimerAgreeExactly) {
  FakeTimer first, second;
  first.slowed[{64, 256, 64}] = {0};
  second.slowed[{64, 256, 64}] = {2};  // interference at another moment
  std::ostringstream log;
  Measurements a{{run_compute_bench(first, small_sweep(), log)}};
  Measurements b{{run_compute_bench(second, small_sweep(), log)}};
  // The slowed trials differ, so the trials kept differ; what they agree on stays within the
  // clean trials' own spread, and every other measurement is the same.
  for (std::size_t i = 0; i < a.runs[0].gemm.size(); ++i) {
    const double ta = a.runs[0].gemm[i].time_s, tb = b.runs[0].gemm[i].time_s;
    EXPECT_NEAR(ta / tb, 1, 0.0021) << i;
    if (a.runs[0].gemm[i].dims.n != 256 || a.runs[0].gemm[i].dims.m != 64 ||
        a.runs[0].gemm[i].dims.k != 64) {
      EXPECT_EQ(ta, tb) << i;
    }
  }
  // Without the interference the two files, and the profiles fitted from them, are the same bytes.
  FakeTimer third, fourth;
  const Measurements c{{run_compute_bench(third, small_sweep(), log)}};
  const Measurements d{{run_compute_bench(fourth, small_sweep(), log)}};
  EXPECT_EQ(write_measurements(c), write_measurements(d));
  EXPECT_EQ(write_profile(fit_profile({c}, {}).profile),
            write_profile(fit_profile({d}, {}).profile));
}

TEST(ComputeBench, TheSpreadGoesIntoTheFileTheProfileAndTheReport) {
  FakeTimer timer;
  timer.slowed[{256, 64, 256}] = {1};
  std::ostringstream log;
  const Measurements m{{run_compute_bench(timer, small_sweep(), log)}};
  const std::string text = write_measurements(m);
  EXPECT_NE(text.find("trials: 4, spread: "), std::string::npos);
  const Measurements back = parse_measurements(text, "m.yaml");
  EXPECT_EQ(write_measurements(back), text);
  EXPECT_EQ(back.runs[0].gemm[0].agreement.trials, 3);
  const FitResult fit = fit_profile({back}, {});
  const FitQuality& q = *fit.profile.gemm.at(Dtype::fp32).fit;
  ASSERT_TRUE(q.median_spread && q.worst_spread);
  EXPECT_NEAR(*q.median_spread, 0.002 / 1.001, 1e-12);
  EXPECT_NEAR(*q.worst_spread, 0.002, 1e-12);
  ASSERT_TRUE(fit.profile.memory && fit.profile.memory->fit->worst_spread);
  const std::string profile = write_profile(fit.profile);
  EXPECT_NE(profile.find("worst_spread: "), std::string::npos);
  EXPECT_EQ(write_profile(parse_profile(profile, "p.yaml")), profile);
  EXPECT_NE(format_fit_report(fit).find("trials agree within 0.2 %, worst 0.2 %"),
            std::string::npos)
      << format_fit_report(fit);
  // A spread needs its trials, and the two spreads of a fit go together.
  EXPECT_THROW(parse_measurements("format: scaleplan-measurements/1\nruns:\n  - source: s\n"
                                  "    environment: {}\n    launch:\n"
                                  "      - {kernel: empty, time_s: 1e-6, spread: 0.1}\n",
                                  "m.yaml"),
               InputError);
  std::string lopsided = profile;
  lopsided.replace(lopsided.find(", worst_spread: "), 16, ", worst_spreads: ");
  EXPECT_THROW(parse_profile(lopsided, "p.yaml"), InputError);
}

TEST(CpuTiming, ASampleOnTheThreadsCpuTimeCountsItsShareAndKeepsTheFastest) {
  // A clock that advances 1 ms per call of the body, and 20 ms more during one sample: another
  // process's slice.
  double now = 0;
  int calls = 0;
  const auto clock = [&] { return now; };
  const auto body = [&] {
    now += 1e-3;
    if (++calls == 7)
      now += 20e-3;
  };
  TimingOptions t;
  t.warmup = 1;
  t.repeats = 4;
  t.min_sample_s = 2.5e-3;  // three calls a sample
  EXPECT_DOUBLE_EQ(time_trial(t, clock, body), 1e-3);
  EXPECT_EQ(calls, 1 + 4 * 3);
  // On the thread's CPU time a rank at half a core takes twice its CPU time.
  t.clock = SampleClock::thread_cpu;
  t.core_share = 0.5;
  EXPECT_DOUBLE_EQ(time_trial(t, clock, body), 2e-3);
  // The real clocks advance.
  const double cpu = thread_cpu_clock_s(), wall = steady_clock_s();
  volatile double x = 0;
  for (int i = 0; i < 1000000; ++i)
    x = x + 1;
  EXPECT_GT(thread_cpu_clock_s(), cpu);
  EXPECT_GT(steady_clock_s(), wall);
}

}  // namespace
}  // namespace scaleplan
