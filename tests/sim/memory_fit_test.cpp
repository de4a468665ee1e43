// What makes a plan that does not fit fit: memory counted without simulating is the simulated
// memory, and every change suggested fits and is valid.
#include "sim/report/memory_fit.hpp"

#include <gtest/gtest.h>

#include "sim/simulate/device_memory.hpp"
#include "sim/strategy/strategy_check.hpp"
#include "tests/support/prediction_values.hpp"

namespace scaleplan {
namespace {

// Activations rise and fall in program order on a rank's compute stream whatever the timing, so
// the running sum's peak is the simulator's, for every schedule and recompute.
TEST(MemoryFit, ActivationPeaksWithoutSimulatingAreTheSimulatedOnes) {
  const ClusterSpec cluster = test::a100_cluster(1);
  const Catalog& catalog = Catalog::builtin();
  const ClusterNetwork network = prepare_network(cluster, catalog);
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  std::vector<TrainingJob> jobs{
      test::gpt3_1_3b_job(2, 4, 1, 8, PipelineSchedule::gpipe),
      test::gpt3_1_3b_job(2, 4, 1, 8, PipelineSchedule::one_f_one_b),
      test::gpt3_1_3b_job(2, 4, 1, 8, PipelineSchedule::interleaved_1f1b, 2),
      test::gpt3_1_3b_job(2, 4, 1, 8, PipelineSchedule::zero_bubble_h1)};
  TrainingJob recomputed = jobs[1];
  recomputed.parallelism.recompute = Recompute::full;
  jobs.push_back(recomputed);
  for (const TrainingJob& job : jobs) {
    const Plan plan = build_plan(job);
    const Prediction simulated = predict({cluster, job, *compute, network}, plan);
    const std::vector<double> peaks = activation_peak_bytes(plan);
    ASSERT_EQ(peaks.size(), plan.ranks.size());
    // The report's highest rank and its peak, found both ways.
    const MemoryBreakdown counted =
        peak_memory(cluster, job, default_allocator_headroom_fraction().value);
    EXPECT_EQ(counted.rank, simulated.memory.rank) << to_string(job.parallelism.schedule);
    EXPECT_EQ(counted.activations_bytes, simulated.memory.activations_bytes)
        << to_string(job.parallelism.schedule);
    EXPECT_EQ(counted.peak_bytes, simulated.memory.peak_bytes);
    EXPECT_EQ(peaks[static_cast<std::size_t>(simulated.memory.rank)],
              simulated.memory.activations_bytes);
  }
}

TEST(MemoryFit, EveryChangeSuggestedFitsAndIsValidFastestFirst) {
  // GPT-3 1.3B with 16 sequences of 2,048 tokens per micro-batch on one A100-80GB node at tp 1,
  // pp 1, dp 8: the activations of one micro-batch far exceed 80 GiB.
  const ClusterSpec cluster = test::a100_cluster(1);
  TrainingJob job = test::gpt3_1_3b_job(1, 1, 8, 128);
  job.training.micro_batch = 16;
  const double headroom = default_allocator_headroom_fraction().value;
  ASSERT_FALSE(peak_memory(cluster, job, headroom).fits);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  const std::vector<MemoryFitChange> changes = changes_that_fit({cluster, job, *compute, network});
  ASSERT_FALSE(changes.empty());
  EXPECT_LE(changes.size(), 3u);
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const MemoryFitChange& c = changes[i];
    EXPECT_TRUE(check_strategy(cluster, c.job).empty()) << c.change;
    EXPECT_TRUE(c.memory.fits) << c.change;
    EXPECT_EQ(c.memory.peak_bytes, peak_memory(cluster, c.job, headroom).peak_bytes) << c.change;
    // The step time is the changed job's, simulated.
    EXPECT_EQ(c.step_time_s, predict({cluster, c.job, *compute, network}).step_time_s);
    if (i > 0) {
      EXPECT_LE(changes[i - 1].step_time_s, c.step_time_s);
    }
  }
}

TEST(MemoryFit, NothingIsSuggestedWhenNothingTriedFits) {
  // GPT-3 175B on one A100 node: its weights and optimizer state alone (about 2.8 TB in mixed
  // precision) exceed the node's 640 GB under any strategy tried.
  const ClusterSpec cluster = test::a100_cluster(1);
  TrainingJob job = test::gpt3_1_3b_job(8, 1, 1, 8);
  job.model = *transformer_preset("gpt3-175b");
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  EXPECT_TRUE(changes_that_fit({cluster, job, *compute, network}).empty());
}

}  // namespace
}  // namespace scaleplan
