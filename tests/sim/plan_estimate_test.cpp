// The planner's fast estimate against sums worked out by hand from the collectives' prices: the
// tensor-parallel traffic a one-stage, one-replica plan leaves exposed, with and without the
// framework's tp_comm_overlap (which the simulator models, so the estimate must too).
#include "sim/planner/plan_estimate.hpp"

#include <gtest/gtest.h>

#include "sim/planner/collective_prices.hpp"
#include "sim/strategy/plan_quantities.hpp"
#include "tests/support/prediction_values.hpp"

namespace scaleplan {
namespace {

// Two layers of a 70B-sized decoder on one DGX A100 at tp 8 with sequence parallelism, one
// micro-batch: every block's GEMMs take longer than the collectives that may run beside them, so
// what is exposed is only what waits on the chain.
TrainingJob wide_two_layer_job(bool tp_comm_overlap) {
  TrainingJob job;
  TransformerConfig& m = job.model;
  m.name = "wide-two-layer";
  m.layers = 2;
  m.hidden = 8192;
  m.ffn_hidden = 32768;
  m.heads = 64;
  m.kv_heads = 64;
  m.vocab = 32768;
  m.seq_len = 4096;
  job.training.global_batch = 1;
  job.training.micro_batch = 1;
  job.training.dtype = Dtype::bf16;
  job.parallelism.tp = 8;
  job.parallelism.sequence_parallel = true;
  job.framework.tp_comm_overlap = tp_comm_overlap;
  return job;
}

struct Prices {
  double all_gather_s, reduce_scatter_s, reduce_scatter_last_chunk_s;
};

// The collectives of one block's activations, [1, 4096, 8192] in bf16, over the tp group.
Prices tp_prices(const ClusterNetwork& network, const TrainingJob& job) {
  CollectivePrices prices(network.topology, network.collective_step_latency_s);
  const double bytes = 1.0 * 4096 * 8192 * 2;
  EXPECT_DOUBLE_EQ(tensor_parallel_bytes(job), bytes);
  const auto price = [&](CollectiveKind kind, double b) {
    return prices.collective_s(GroupKind::tp, kind, b, job.parallelism, Concurrency::world);
  };
  return {price(CollectiveKind::all_gather, bytes), price(CollectiveKind::reduce_scatter, bytes),
          price(CollectiveKind::reduce_scatter, bytes / 8)};
}

TEST(PlanEstimate, TensorParallelTrafficOnTheChainWithoutOverlap) {
  const ClusterSpec cluster = test::a100_cluster(1);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const auto compute = make_compute_model(cluster.device);
  PlanEstimator estimator(cluster, network, *compute, 0.0);
  const TrainingJob job = wide_two_layer_job(false);
  const Prices c = tp_prices(network, job);
  // Each layer's attention and MLP, forward and backward: an all-gather before the block and a
  // reduce-scatter after it (the backward's input all-gather hides behind its GEMMs); the
  // embedding's reduce-scatter after its forward, the output head's after its backward.
  const double expected_s =
      2 * 4 * (c.all_gather_s + c.reduce_scatter_s) + c.reduce_scatter_s + c.reduce_scatter_s;
  EXPECT_NEAR(estimator.estimate(job).exposed_comm_s, expected_s, 1e-12);
}

TEST(PlanEstimate, TensorParallelOverlapLeavesEachBlocksLastReduceScatterChunk) {
  const ClusterSpec cluster = test::a100_cluster(1);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const auto compute = make_compute_model(cluster.device);
  PlanEstimator estimator(cluster, network, *compute, 0.0);
  const TrainingJob job = wide_two_layer_job(true);
  const Prices c = tp_prices(network, job);
  // With the overlap (StageBuilder::tp_before, tp_after) the all-gathers and 7 of the 8 chunks of
  // each reduce-scatter run beside the block; the last chunk (1/tp of the bytes) follows it: four
  // blocks per layer and the output head's backward. The embedding's reduce-scatter stays on the
  // chain.
  const double expected_s =
      2 * 4 * c.reduce_scatter_last_chunk_s + c.reduce_scatter_s + c.reduce_scatter_last_chunk_s;
  const PlanEstimate overlapped = estimator.estimate(job);
  EXPECT_NEAR(overlapped.exposed_comm_s, expected_s, 1e-12);
  // The same estimator, asked about the job without the overlap, does not reuse these costs.
  EXPECT_GT(estimator.estimate(wide_two_layer_job(false)).exposed_comm_s,
            overlapped.exposed_comm_s);
}

}  // namespace
}  // namespace scaleplan
