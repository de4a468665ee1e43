// The planner's threads: estimates on every worker, each with its own estimator on the shared
// network, then full simulations side by side; the ranked list is what one thread gets. Run
// under ThreadSanitizer by the tsan preset (label threads).
#include <gtest/gtest.h>

#include "sim/planner/planner.hpp"
#include "tests/support/prediction_values.hpp"

namespace scaleplan {
namespace {

TEST(PlannerThreads, FourThreadsRankAsOneDoes) {
  // GPT-3 1.3B on 16 A100 with a small space: 3 degrees of tp, 2 micro-batches, 2 schedules.
  ClusterSpec cluster = test::a100_cluster(2);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const auto compute = make_compute_model(cluster.device);
  const TrainingJob base = test::gpt3_1_3b_job(1, 1, 16, 32);
  SearchSpace space;
  space.tp = {1, 2, 4};
  space.cp = {1};
  space.micro_batch = {1, 2};
  space.schedule = {PipelineSchedule::one_f_one_b, PipelineSchedule::zero_bubble_h1};
  space.recompute = {Recompute::none};
  space.zero = {0, 1};
  SearchOptions options;
  options.top_k = 4;
  options.threads = 1;
  const PlanSearch one = search_plans(space, cluster, network, *compute, base, options);
  options.threads = 4;
  const PlanSearch four = search_plans(space, cluster, network, *compute, base, options);
  ASSERT_EQ(one.ranked.size(), 4u);
  ASSERT_EQ(four.ranked.size(), one.ranked.size());
  for (std::size_t i = 0; i < one.ranked.size(); ++i) {
    EXPECT_EQ(four.ranked[i].index, one.ranked[i].index);
    EXPECT_EQ(four.ranked[i].step_time_s, one.ranked[i].step_time_s);
    EXPECT_EQ(four.ranked[i].estimate.step_time_s, one.ranked[i].estimate.step_time_s);
  }
  EXPECT_EQ(four.counts.estimated, one.counts.estimated);
  EXPECT_EQ(four.counts.pruned_by_memory, one.counts.pruned_by_memory);
}

}  // namespace
}  // namespace scaleplan
