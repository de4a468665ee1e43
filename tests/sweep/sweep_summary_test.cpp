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
// does not fit, scenario 1 failed.
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
      row.mfu = 0.4;
      row.fits = i != 3;
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

TEST(SweepSummary, AFileThatIsNotResultsIsRefused) {
  const auto path = test::scratch_dir("scaleplan-sweep-summary-test") / "other.csv";
  std::ofstream(path) << "a,b\n1,2\n";
  EXPECT_THROW(read_results(path), InputError);
}

}  // namespace
}  // namespace scaleplan::sweep
