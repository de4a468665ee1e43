// Running a sweep: every scenario predicted as `scaleplan run` would, failures as rows, the
// network of a cluster built once, and the same rows whatever the threads.
#include <algorithm>
#include <mutex>

#include <gtest/gtest.h>

#include "sim/sweep/sweep_run.hpp"
#include "tests/sweep/sweep_test_support.hpp"

namespace scaleplan::sweep {
namespace {

std::vector<SweepRow> run_all(const Sweep& s, int threads, SweepOptions options = {}) {
  SweepRunner runner(s, Catalog::builtin());
  options.threads = threads;
  std::vector<SweepRow> rows;
  run_sweep(runner, options, [&](const SweepRow& row) { rows.push_back(row); });
  std::sort(rows.begin(), rows.end(),
            [](const SweepRow& a, const SweepRow& b) { return a.index < b.index; });
  return rows;
}

TEST(SweepRun, EachScenarioIsPredictedAsRunWouldAndFailuresAreRows) {
  const Sweep s =
      test::parse_test_sweep("axes:\n  parallelism.tp: [1, 3]\n  training.micro_batch: [1, 2]\n");
  const std::vector<SweepRow> rows = run_all(s, 2);
  ASSERT_EQ(rows.size(), 4u);
  // tp 1: a valid plan, predicted as the same scenario read by parse_scenario.
  const SweepRow& ok = rows[0];
  ASSERT_TRUE(ok.ok()) << *ok.error;
  EXPECT_EQ(ok.device, "A100-SXM4-80GB");
  EXPECT_EQ(ok.devices, 8);
  EXPECT_EQ(ok.dp, 4);
  EXPECT_GT(ok.step_time_s, 0);
  EXPECT_GT(ok.mfu, 0);
  EXPECT_LT(ok.mfu, 1);
  EXPECT_TRUE(ok.fits);
  EXPECT_NEAR(ok.compute_s + ok.exposed_comm_s + ok.bubble_s, ok.step_time_s,
              ok.step_time_s * 0.05);
  ASSERT_TRUE(ok.power_w.has_value());
  EXPECT_DOUBLE_EQ(*ok.energy_per_step_j, *ok.power_w * ok.step_time_s);
  // tp 3 breaks the strategy rules: a row with the error at its key, no metrics.
  for (std::size_t i : {2u, 3u}) {
    ASSERT_FALSE(rows[i].ok());
    EXPECT_NE(rows[i].error->find("parallelism.tp:"), std::string::npos) << *rows[i].error;
    EXPECT_EQ(rows[i].values.front(), "3");
  }
}

TEST(SweepRun, APredictionMatchesTheValueEntryPoint) {
  const Sweep s = test::parse_test_sweep("axes:\n  training.micro_batch: [2]\n");
  const std::vector<SweepRow> rows = run_all(s, 1);
  ASSERT_TRUE(rows.at(0).ok());
  Scenario scenario = parse_scenario(s.base_yaml, "base.yaml", Catalog::builtin());
  scenario.job.training.micro_batch = 2;
  const PreparedRun run = prepare_run(scenario, Catalog::builtin());
  const Prediction p = predict(scenario, run);
  EXPECT_EQ(rows[0].step_time_s, p.step_time_s);
  EXPECT_EQ(rows[0].peak_memory_bytes, p.memory.peak_bytes);
}

TEST(SweepRun, AClusterIsPreparedOnceForEveryScenarioOnIt) {
  const Sweep s = test::parse_test_sweep(
      "axes:\n  training.micro_batch: [1, 2, 4]\n  parallelism.recompute: [none, full]\n"
      "  cluster.device: [A100-SXM4-80GB, H100-SXM5-80GB]\n");
  SweepRunner runner(s, Catalog::builtin());
  SweepOptions options;
  options.threads = 2;
  std::size_t rows = 0;
  run_sweep(runner, options, [&](const SweepRow&) { ++rows; });
  EXPECT_EQ(rows, 12u);
  EXPECT_EQ(runner.clusters_prepared(), 2u);
}

TEST(SweepRun, TheRowsAreTheSameWhateverTheThreads) {
  const Sweep s = test::parse_test_sweep(
      "axes:\n  training.micro_batch: [1, 2, 4]\n  parallelism.pp: [1, 2, 4]\n");
  const auto one = run_all(s, 1);
  const auto three = run_all(s, 3);
  ASSERT_EQ(one.size(), three.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].error, three[i].error);
    EXPECT_EQ(one[i].step_time_s, three[i].step_time_s);
    EXPECT_EQ(one[i].peak_memory_bytes, three[i].peak_memory_bytes);
  }
}

TEST(SweepRun, ScenariosDoneBeforeAreSkippedAndProgressCountsFailures) {
  const Sweep s = test::parse_test_sweep("axes:\n  parallelism.tp: [1, 3, 5]\n");
  struct Sink : ProgressSink {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;  // done, failed
    void report(const ProgressUpdate& u) override { seen.emplace_back(u.done, u.failed); }
  } sink;
  SweepOptions options;
  options.done = {true, false, false};
  options.progress = &sink;
  SweepRunner runner(s, Catalog::builtin());
  std::vector<std::size_t> indices;
  const SweepSummary summary =
      run_sweep(runner, options, [&](const SweepRow& row) { indices.push_back(row.index); });
  std::sort(indices.begin(), indices.end());
  EXPECT_EQ(indices, (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(summary.skipped, 1u);
  EXPECT_EQ(summary.ran, 2u);
  EXPECT_EQ(summary.failed, 2u);
  ASSERT_FALSE(sink.seen.empty());
  EXPECT_EQ(sink.seen.back(), (std::pair<std::uint64_t, std::uint64_t>{2, 2}));
}

TEST(SweepRun, AWriterThatFailsStopsTheSweep) {
  const Sweep s = test::parse_test_sweep("axes:\n  training.micro_batch: [1, 2, 4, 8]\n");
  SweepRunner runner(s, Catalog::builtin());
  SweepOptions options;
  options.threads = 2;
  EXPECT_THROW(
      run_sweep(runner, options, [](const SweepRow&) { throw std::runtime_error("disk full"); }),
      std::runtime_error);
}

}  // namespace
}  // namespace scaleplan::sweep
