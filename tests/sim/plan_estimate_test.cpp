// The planner's fast estimate against sums worked out by hand from the collectives' prices: the
// tensor-parallel traffic a one-stage, one-replica plan leaves exposed, with and without the
// framework's tp_comm_overlap (which the simulator models, so the estimate must too).
#include "sim/planner/plan_estimate.hpp"

#include <gtest/gtest.h>

#include "sim/collective/expert_dispatch.hpp"
#include "sim/planner/collective_prices.hpp"
#include "sim/report/prediction.hpp"
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

TEST(PlanEstimate, ZeroTwoReducesEveryMicroBatchAsTheSimulatorDoes) {
  // GPT-3 1.3B data parallel over 2 DGX A100 nodes, 4 micro-batches a replica, the reduction
  // after the backward: ZeRO-1 reduce-scatters the gradients once, ZeRO-2 (sharded gradients,
  // as DeepSpeed runs it) after each micro-batch, so 3 more reductions of the whole gradient land
  // on the step. The
  // estimate adds what the simulator adds, within a tenth.
  const ClusterSpec cluster = test::a100_cluster(2);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const auto compute = make_compute_model(cluster.device);
  PlanEstimator estimator(cluster, network, *compute, 0.0);
  TrainingJob job = test::gpt3_1_3b_job(1, 1, 16, 64);
  job.parallelism.overlap_grad_reduce = false;
  job.framework.zero2_gradient_reduction = Zero2GradientReduction::micro_batch;
  const auto added = [&](auto time_s) {
    job.parallelism.zero = 1;
    const double zero1_s = time_s();
    job.parallelism.zero = 2;
    return time_s() - zero1_s;
  };
  const double estimated_s = added([&] { return estimator.estimate(job).step_time_s; });
  const double simulated_s = added([&] {
    return predict({cluster, job, *compute, network}).step_time_s;
  });
  EXPECT_GT(simulated_s, 0);
  EXPECT_NEAR(estimated_s / simulated_s, 1, 0.1) << estimated_s << " " << simulated_s;
  // Overlapped with the backward, the earlier micro-batches' reductions hide behind the later
  // ones' compute here: ZeRO-2 then costs only the compute their NCCL kernels slow, 24 of A100's
  // 108 SMs for the time they run, about 0.22 of what they cost exposed; the estimate adds the
  // same, within a tenth.
  job.parallelism.overlap_grad_reduce = true;
  const double overlapped_s = added([&] {
    return predict({cluster, job, *compute, network}).step_time_s;
  });
  EXPECT_NEAR(overlapped_s / simulated_s, 24.0 / 108, 0.03) << overlapped_s;
  EXPECT_NEAR(added([&] { return estimator.estimate(job).step_time_s; }) / overlapped_s, 1, 0.1);
}

// DeepSeek-V3's first `layers` layers (the first dense), bf16, a micro-batch of one sequence,
// pp 2 with dp = ep.
TrainingJob deepseek_layers(std::int64_t layers, std::int64_t global_batch, int dp) {
  TrainingJob job;
  job.model = *transformer_preset("deepseek-v3");
  job.model.layers = layers;
  job.model.moe.dense_layers = 1;
  job.training.global_batch = global_batch;
  job.training.micro_batch = 1;
  job.training.dtype = Dtype::bf16;
  job.parallelism.pp = 2;
  job.parallelism.dp = dp;
  job.parallelism.ep = dp;
  return job;
}

TEST(PlanEstimate, MultiTokenPredictionAddsWhatTheSimulatorAdds) {
  // Four DeepSeek-V3 layers (one dense) of 1,024 tokens on a DGX A100, pp 2, ep 4, two
  // micro-batches: its prediction module (an MoE layer, eh_proj and a second pass through the
  // head) on the last stage lengthens the step by as much in the estimate as in the simulation,
  // within a quarter (a fifth before the compute beside NCCL's kernels was slowed: the estimate
  // takes that slowdown as spread over the last backward, the simulation where each bucket's
  // reduction runs).
  const ClusterSpec cluster = test::a100_cluster(1);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const auto compute = make_compute_model(cluster.device);
  TrainingJob job = deepseek_layers(4, 8, 4);
  job.model.seq_len = 1024;
  const auto added = [&](auto time_s) {
    job.model.mtp_layers = 0;
    const double plain_s = time_s();
    job.model.mtp_layers = 1;
    return time_s() - plain_s;
  };
  // An estimator is for one model (it keeps the layers' costs): one for each.
  const double estimated_s = added(
      [&] { return PlanEstimator(cluster, network, *compute, 0.0).estimate(job).step_time_s; });
  const double simulated_s = added([&] {
    return predict({cluster, job, *compute, network}).step_time_s;
  });
  EXPECT_GT(simulated_s, 0);
  EXPECT_NEAR(estimated_s / simulated_s, 1, 0.25) << estimated_s << " " << simulated_s;
}

TEST(PlanEstimate, CombinedOneFOneBHidesTheAllToAllsAsTheSimulatorDoes) {
  // Eight DeepSeek-V3 layers (one dense) of 4,096 tokens over 2 DGX A100 nodes, interleaved
  // pp 2 x 2, ep 8 across the nodes, 8 micro-batches: Megatron-Core's combined 1F1B
  // (overlap_moe_expert_parallel_comm) runs each steady-state pair's all-to-alls beside the
  // other step's compute. The estimate saves about what the simulation saves (0.241 s against
  // 0.209 s: it takes the pair's overlap as perfect, where the simulation keeps each phase's
  // order).
  const ClusterSpec cluster = test::a100_cluster(2);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const auto compute = make_compute_model(cluster.device);
  TrainingJob job = deepseek_layers(8, 64, 8);
  job.parallelism.schedule = PipelineSchedule::interleaved_1f1b;
  job.parallelism.virtual_stages = 2;
  const auto saved = [&](auto time_s) {
    job.framework.overlap_moe_expert_parallel_comm = false;
    const double apart_s = time_s();
    job.framework.overlap_moe_expert_parallel_comm = true;
    return apart_s - time_s();
  };
  // With DeepEP as the dispatcher as well, whose kernels slow the compute beside them.
  for (MoeDispatcher dispatcher : {MoeDispatcher::all_to_all, MoeDispatcher::deepep}) {
    job.framework.moe_dispatcher = dispatcher;
    const double estimated_s = saved(
        [&] { return PlanEstimator(cluster, network, *compute, 0.0).estimate(job).step_time_s; });
    const double simulated_s = saved([&] {
      return predict({cluster, job, *compute, network}).step_time_s;
    });
    EXPECT_GT(simulated_s, 0);
    EXPECT_NEAR(estimated_s / simulated_s, 1, 0.2)
        << to_string(dispatcher) << ": " << estimated_s << " " << simulated_s;
  }
}

TEST(PlanEstimate, ExpertDispatchIsPricedAsTheSimulatorExpandsIt) {
  // ep 16 over 2 DGX A100 nodes (one group, no copies beside it): the estimate's price of a
  // DeepEP dispatch is the alpha-beta time of expand_expert_dispatch's transfers. 16 experts
  // (1 a rank), round-robin top 4: a token reaches 4 ranks of one node, so each rank's NIC
  // carries T / 2 where the plain all-to-all puts 4T · 8/16 = 2T on it (PXN): about a quarter of
  // the time, the NICs (200 Gb/s) being the bottleneck over NVLink (T / 2 to each of 7 ranks).
  const ClusterSpec cluster = test::a100_cluster(2);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  CollectivePrices prices(network.topology, network.collective_step_latency_s);
  ParallelismSpec p;
  p.dp = 16;
  p.ep = 16;
  const ExpertDispatch dispatch{
      MoeDispatcher::deepep, {ExpertRoutingKind::round_robin, 16, 4, 1, 1}, 4.0};
  const double bytes = 4e8;  // T = 1e8 bytes
  std::vector<int> devices(16);
  for (int d = 0; d < 16; ++d)
    devices[static_cast<std::size_t>(d)] = d;
  const double deepep_s = prices.expert_dispatch_s(p, dispatch, bytes);
  EXPECT_DOUBLE_EQ(deepep_s, estimate_collective_time_s(
                                 expand_expert_dispatch(dispatch, devices, bytes, network.topology),
                                 network.topology, network.collective_step_latency_s));
  const double plain_s =
      prices.collective_s(GroupKind::ep, CollectiveKind::all_to_all, bytes, p, Concurrency::world);
  EXPECT_NEAR(plain_s / deepep_s, 4.0, 0.1);
}

}  // namespace
}  // namespace scaleplan
