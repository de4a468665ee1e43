// A simulation's progress: every op counted once, a bounded number of reports, and the same
// prediction with or without anyone listening.
#include "sim/simulate/simulation_progress.hpp"

#include <gtest/gtest.h>

#include "sim/report/prediction.hpp"
#include "tests/support/prediction_values.hpp"

namespace scaleplan {
namespace {

class LastReport final : public ProgressSink {
 public:
  void report(const ProgressUpdate& u) override {
    ++reports;
    EXPECT_EQ(u.task, "simulating");
    EXPECT_EQ(u.units, "ops");
    EXPECT_LE(u.done, u.total);
    EXPECT_GE(u.done, done);  // never backwards
    done = u.done;
    total = u.total;
  }
  std::uint64_t reports = 0;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
};

TEST(SimulationProgress, CountsEveryOpOfTheListedRanksInAboutAThousandReports) {
  // GPT-3 1.3B, tp 2, pp 4, 64 micro-batches on one node: thousands of ops on 8 ranks.
  const ClusterSpec cluster = test::a100_cluster(1);
  const TrainingJob job = test::gpt3_1_3b_job(2, 4, 1, 64);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  const Plan plan = build_plan(job);
  std::uint64_t ops = 0;
  for (std::size_t r = 0; r < plan.ranks.size(); ++r)
    ops += plan.ops_of(r).size();
  ASSERT_GT(ops, 5000u);

  LastReport sink;
  SimulationProgress progress(plan, &sink);
  const Prediction watched = predict({cluster, job, *compute, network}, plan, {&progress});
  progress.finish();
  EXPECT_EQ(sink.done, ops);
  EXPECT_EQ(sink.total, ops);
  // One report every ops / 1000 ops (rounded down: between 1,000 and 2,000 reports), and one
  // for the remainder.
  const std::uint64_t stride = ops / 1000;
  EXPECT_EQ(sink.reports, ops / stride + (ops % stride > 0 ? 1 : 0));
  EXPECT_EQ(format_json(watched), format_json(predict({cluster, job, *compute, network}, plan)));
}

TEST(SimulationProgress, WithoutASinkItCostsNothingButTheCount) {
  const ClusterSpec cluster = test::a100_cluster(1);
  const TrainingJob job = test::gpt3_1_3b_job(2, 4, 1, 8);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  const Plan plan = build_plan(job);
  SimulationProgress progress(plan, nullptr);
  const Prediction p = predict({cluster, job, *compute, network}, plan, {&progress});
  progress.finish();
  EXPECT_GT(p.step_time_s, 0);
}

}  // namespace
}  // namespace scaleplan
