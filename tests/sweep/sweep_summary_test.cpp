// `scaleplan report`'s summary: read back from every format, the fastest, the fastest per value,
// the sensitivity of step time to each axis.
#include <fstream>

#include <gtest/gtest.h>

#include "sim/sweep/sweep_summary.hpp"
#include "tests/support/command.hpp"
#include "tests/sweep/sweep_test_support.hpp"

namespace scaleplan::sweep {
namespace {

// Step time: micro-batch 1 takes 2 s, 2 takes 1 s; the H100 halves it. Scenario 3 (2, H100)
// does not fit, scenario 1 failed. 8 devices; 1000 tokens a step; a step costs 3 USD a second.
std::filesystem::path write_results(const std::string& format) {
  const Sweep s = test::parse_test_sweep(
      "axes:\n  training.micro_batch: [1, 2]\n  cluster.device: [A100-SXM4-80GB, "
      "H100-SXM5-80GB]\n");
  const auto path = test::scratch_dir("scaleplan-sweep-summary-test") / ("results." + format);
  std::filesystem::remove(path);
  const auto store = open_results(path, s, false);
  for (std::size_t i = 0; i < 4; ++i) {
    SweepRow row;
    row.index = i;
    row.values = s.values_of(i);
    if (i == 1) {
      row.error = "parallelism.tp: broken";
    } else {
      row.device = row.values[1];
      row.step_time_s = (row.values[0] == "1" ? 2.0 : 1.0) / (i % 2 == 1 ? 2 : 1);
      row.mfu = i == 0 ? 0.3 : 0.4;
      row.fits = i != 3;
      row.devices = 8;
      row.tokens_per_s = 1000 / row.step_time_s;
      row.usd_per_step = 3 * row.step_time_s;
    }
    store->write(row);
  }
  store->complete();
  return path;
}

TEST(SweepSummary, EveryFormatReadsBackToTheSameSummary) {
  const std::string csv = format_summary(read_results(write_results("csv")));
  EXPECT_NE(csv.find("4 scenarios, 3 ok (2 fit in memory), 1 failed"), std::string::npos) << csv;
  EXPECT_NE(csv.find("fastest that fits: scenario 2, step 1 s, MFU 40.0 %  "
                     "(training.micro_batch 2, cluster.device A100-SXM4-80GB)"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("    H100-SXM5-80GB   no scenario fits"), std::string::npos) << csv;
  // Mean step over the values: micro-batch 1 takes 2 s, 2 takes 1 s among those that fit.
  EXPECT_NE(csv.find("  training.micro_batch         2x  (fastest 2, slowest 1)"),
            std::string::npos)
      << csv;
  for (const char* format : {"jsonl", "sqlite"}) {
    std::string other = format_summary(read_results(write_results(format)));
    const auto first_line = [](const std::string& text) { return text.substr(text.find('\n')); };
    EXPECT_EQ(first_line(other), first_line(csv)) << format;
  }
}

TEST(SweepSummary, AMetricAgainstAnAxisIsTheBestAndMeanOfTheScenariosThatFit) {
  const ResultTable t = read_results(write_results("csv"));
  ASSERT_EQ(t.axes.size(), 2u);
  EXPECT_EQ(sweep_fitting_rows(t), (std::vector<std::size_t>{0, 2}));
  // training.micro_batch: 1 fits on the A100 only (2 s; the H100 row failed), 2 on the A100 only
  // (1 s; the H100 does not fit). Numbers: in numeric order.
  const SweepAxisSeries mb = sweep_axis_series(t, 0, SweepMetric::step_time);
  EXPECT_EQ(mb.axis, "training.micro_batch");
  EXPECT_TRUE(mb.numeric);
  ASSERT_EQ(mb.points.size(), 2u);
  EXPECT_EQ(mb.points[0].value, "1");
  EXPECT_EQ(mb.points[0].scenarios, 2u);
  EXPECT_EQ(mb.points[0].fitting, 1u);
  EXPECT_EQ(mb.points[0].best, 2.0);
  EXPECT_EQ(mb.points[1].best, 1.0);
  // cluster.device: the A100 fits twice (2 s and 1 s: best 1, mean 1.5), the H100 never; text
  // values in the order the results hold them.
  const SweepAxisSeries device = sweep_axis_series(t, 1, SweepMetric::step_time);
  EXPECT_FALSE(device.numeric);
  ASSERT_EQ(device.points.size(), 2u);
  EXPECT_EQ(device.points[0].value, "A100-SXM4-80GB");
  EXPECT_EQ(device.points[0].best, 1.0);
  EXPECT_EQ(device.points[0].mean, 1.5);
  EXPECT_EQ(device.points[1].fitting, 0u);
  EXPECT_FALSE(device.points[1].best.has_value());
  // Throughput and MFU are best high: 1000 tokens a step in 1 s; MFU 0.3 and 0.4.
  EXPECT_EQ(sweep_axis_series(t, 1, SweepMetric::throughput).points[0].best, 1000.0);
  EXPECT_EQ(sweep_axis_series(t, 1, SweepMetric::mfu).points[0].best, 0.4);
  EXPECT_DOUBLE_EQ(*sweep_axis_series(t, 1, SweepMetric::mfu).points[0].mean, 0.35);
  EXPECT_EQ(sweep_axis_series(t, 1, SweepMetric::cost).points[0].best, 3.0);
  EXPECT_TRUE(has_sweep_metric(t, SweepMetric::cost));

  // Step time against cost: the two that fit, in USD since both have a price.
  const SweepCostPoints cost = sweep_cost_points(t);
  EXPECT_TRUE(cost.usd);
  EXPECT_EQ(cost.rows, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(cost.step_time_s, (std::vector<double>{2, 1}));
  EXPECT_EQ(cost.cost, (std::vector<double>{6, 3}));
}

TEST(SweepSummary, WithoutPricesCostIsInDeviceHours) {
  // A results file whose devices have no price: usd_per_step is empty.
  const auto path = test::scratch_dir("scaleplan-sweep-summary-test") / "no-price.csv";
  std::ofstream(path) << "index,status,error,cluster.nodes,device,devices,step_time_s,fits,"
                         "usd_per_step\n"
                         "0,ok,,1,X,8,900,true,\n"
                         "1,ok,,2,X,16,450,true,\n";
  const ResultTable t = read_results(path);
  EXPECT_FALSE(has_sweep_metric(t, SweepMetric::cost));
  const SweepCostPoints cost = sweep_cost_points(t);
  EXPECT_FALSE(cost.usd);
  // 8 devices × 900 s = 2 device-hours; 16 × 450 s, the same.
  EXPECT_EQ(cost.cost, (std::vector<double>{2, 2}));
}

TEST(SweepSummary, FailuresAreGroupedByTheirErrorMostFrequentFirst) {
  // Seven distinct errors: "e1" three times, "e2" twice, "e3" to "e7" once each (ties keep the
  // order in which they first appear); five are shown, the last two counted together. The file
  // has no mfu column (and its metrics are read as empty).
  const auto path = test::scratch_dir("scaleplan-sweep-summary-test") / "failures.csv";
  std::ofstream file(path);
  file << "index,status,error,parallelism.tp,device,step_time_s,fits\n0,ok,,1,X,2,true\n";
  const char* errors[] = {"e3", "e1", "e2", "e1", "e4", "e2", "e1", "e5", "e6", "e7"};
  int index = 1;
  for (const char* e : errors)
    file << index++ << ",failed," << e << ",2,,,\n";
  file.close();
  const std::string summary = format_summary(read_results(path));
  EXPECT_NE(summary.find("11 scenarios, 1 ok (1 fit in memory), 10 failed\n"
                         "why they failed, most frequent first\n"
                         "         3 x  e1\n"
                         "         2 x  e2\n"
                         "         1 x  e3\n"
                         "         1 x  e4\n"
                         "         1 x  e5\n"
                         "         2 x  for 2 other reasons (the error column of each row)\n"),
            std::string::npos)
      << summary;
}

TEST(SweepSummary, ARowNoSweepWritesIsRefusedAtItsLine) {
  const auto dir = test::scratch_dir("scaleplan-sweep-summary-test");
  const std::string header = "index,status,error,tp,device,step_time_s,fits\n";
  const std::pair<const char*, const char*> cases[] = {
      {"0,ok,,1,X,2,true\n1,ok,,2,X,-5,true\n",
       "bad.csv:3: step_time_s: a scenario that ran needs a positive step time, got '-5'"},
      {"0,ok,,1,X,fast,true\n",
       "bad.csv:2: step_time_s: a scenario that ran needs a positive step time, got 'fast'"},
      {"0,done,,1,X,2,true\n", "bad.csv:2: status: expected ok or failed, got 'done'"},
      {"0,ok,,1,X,2,maybe\n", "bad.csv:2: fits: expected true or false, got 'maybe'"},
  };
  for (const auto& [rows, expected] : cases) {
    std::ofstream(dir / "bad.csv") << header << rows;
    try {
      read_results(dir / "bad.csv");
      ADD_FAILURE() << "accepted: " << rows;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
  // A failed row needs no step time; JSON lines are checked the same way.
  std::ofstream(dir / "failed.csv") << header << "0,failed,broken,1,X,,\n";
  EXPECT_NO_THROW(read_results(dir / "failed.csv"));
  std::ofstream(dir / "bad.jsonl") << R"({"index": 0, "status": "ok", "error": null, "tp": 1, )"
                                      R"("device": "X", "step_time_s": 0, "fits": true})"
                                   << "\n";
  EXPECT_THROW(read_results(dir / "bad.jsonl"), InputError);
}

TEST(SweepSummary, AFileThatIsNotResultsIsRefused) {
  const auto path = test::scratch_dir("scaleplan-sweep-summary-test") / "other.csv";
  std::ofstream(path) << "a,b\n1,2\n";
  EXPECT_THROW(read_results(path), InputError);
}

}  // namespace
}  // namespace scaleplan::sweep
