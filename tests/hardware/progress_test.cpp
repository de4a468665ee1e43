#include "hardware/input/progress.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

struct Recorded {
  std::string task;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  std::string units;
  std::string current;
};

class RecordingSink final : public ProgressSink {
 public:
  void report(const ProgressUpdate& u) override {
    updates.push_back(
        {std::string(u.task), u.done, u.total, std::string(u.units), std::string(u.current)});
  }
  std::vector<Recorded> updates;
};

TEST(Progress, ACounterReportsEachStepAndTheEnd) {
  RecordingSink sink;
  ProgressCounter counter(&sink, "validate", "files", 3);
  counter.advance("a.yaml");
  counter.advance("b.yaml", 2);
  counter.finish();  // the last advance already said 3 of 3: nothing more
  ASSERT_EQ(sink.updates.size(), 2u);
  EXPECT_EQ(sink.updates[0].task, "validate");
  EXPECT_EQ(sink.updates[0].units, "files");
  EXPECT_EQ(sink.updates[0].done, 1u);
  EXPECT_EQ(sink.updates[0].total, 3u);
  EXPECT_EQ(sink.updates[0].current, "a.yaml");
  EXPECT_EQ(sink.updates[1].done, 3u);
  EXPECT_EQ(sink.updates[1].total, 3u);
}

TEST(Progress, AnEstimatedTotalNeverFallsBelowTheCountAndEndsAtIt) {
  RecordingSink sink;
  // An upper bound that proves high: the task ends at 2 of 2.
  ProgressCounter high(&sink, "fit", "predictions", 10);
  high.advance();
  high.advance();
  high.finish();
  ASSERT_EQ(sink.updates.size(), 3u);
  EXPECT_EQ(sink.updates[1].total, 10u);
  EXPECT_EQ(sink.updates[2].done, 2u);
  EXPECT_EQ(sink.updates[2].total, 2u);
  // An estimate that proves low grows with the count.
  sink.updates.clear();
  ProgressCounter low(&sink, "fit", "predictions", 1);
  low.advance();
  low.advance();
  EXPECT_EQ(sink.updates.back().done, 2u);
  EXPECT_EQ(sink.updates.back().total, 2u);
}

TEST(Progress, WithoutASinkNothingIsReported) {
  ProgressCounter counter(nullptr, "validate", "files", 3);
  counter.advance("a.yaml");
  counter.finish();
  EXPECT_EQ(counter.done(), 1u);
}

}  // namespace
}  // namespace scaleplan
