#include "sim/plan/plan.hpp"

#include <algorithm>
#include <sstream>

#include <gtest/gtest.h>

#include "hardware/input/yaml_reader.hpp"
#include "sim/plan/plan_io.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/plan_quantities.hpp"
#include "tests/support/plans.hpp"

namespace scaleplan {
namespace {

TrainingJob small_job(int tp, int pp, int dp, int microbatches) {
  TrainingJob job;
  job.model = *transformer_preset("gpt3-1.3b");
  job.model.layers = 4;
  job.training.micro_batch = 1;
  job.training.global_batch = microbatches * dp;
  job.parallelism.tp = tp;
  job.parallelism.pp = pp;
  job.parallelism.dp = dp;
  return job;
}

std::size_t count(const RankProgram& r, const Plan& plan, OpKind kind, const std::string& group) {
  std::size_t n = 0;
  for (const auto& op : r.ops) {
    if (op.kind != kind)
      continue;
    if (kind == OpKind::collective && plan.groups[op.group].name != group)
      continue;
    ++n;
  }
  return n;
}

TEST(PlanBuilder, MegatronTensorParallelHasTwoAllReducesPerLayerEachWay) {
  const auto job = small_job(2, 2, 1, 3);
  const Plan plan = test::unshared(build_plan(job));
  validate_plan(plan);
  ASSERT_EQ(plan.ranks.size(), 4u);
  // Stage 1 (ranks 2, 3): 2 layers × 3 micro-batches × (2 forward + 2 backward) all-reduces,
  // plus the output block's input-gradient all-reduce per micro-batch.
  EXPECT_EQ(count(plan.ranks[2], plan, OpKind::collective, "tp"), 2u * 3 * 4 + 3);
  // Stage 0 adds the embedding's all-reduce per micro-batch instead.
  EXPECT_EQ(count(plan.ranks[0], plan, OpKind::collective, "tp"), 2u * 3 * 4 + 3);
  // One activation send per micro-batch forward, one gradient receive backward.
  EXPECT_EQ(count(plan.ranks[0], plan, OpKind::send, ""), 3u);
  EXPECT_EQ(count(plan.ranks[0], plan, OpKind::recv, ""), 3u);
}

TEST(PlanBuilder, DataParallelReducesEveryGradientOnce) {
  const auto job = small_job(1, 1, 4, 2);
  const Plan plan = test::unshared(build_plan(job));
  double reduced = 0;
  for (const auto& op : plan.ranks[0].ops) {
    if (op.kind == OpKind::collective && plan.groups[op.group].name == "dp")
      reduced += op.bytes;
  }
  // fp32 gradients of every parameter on the rank.
  EXPECT_NEAR(reduced / (total_parameters(job.model) * 4), 1.0, 1e-9);
  EXPECT_EQ(plan.ranks[0].static_memory.gradients_bytes, total_parameters(job.model) * 4);
}

TEST(PlanBuilder, RankLayoutPutsTensorParallelFastest) {
  ParallelismSpec p;
  p.tp = 8;
  p.pp = 4;
  p.dp = 2;
  EXPECT_EQ(rank_of({3, 0, 1, 2}, p), 3 + 8 * (1 + 2 * 2));
  const auto c = coordinates_of(45, p);
  EXPECT_EQ(rank_of(c, p), 45);
}

TEST(PlanIo, RoundTripsExactly) {
  const Plan plan = test::unshared(build_plan(small_job(2, 2, 2, 2)));
  std::ostringstream first;
  write_plan(plan, first);
  const Plan back = parse_plan(first.str(), "plan.yaml");
  std::ostringstream second;
  write_plan(back, second);
  EXPECT_EQ(first.str(), second.str());
}

TEST(PlanIo, MaterialisedAttentionsProductsKeepTheirFlag) {
  // QK^T and PV of materialised attention and their gradients say so in the file, and read back
  // so: timed as GEMMs, not at a fused kernel's figure.
  TrainingJob job = small_job(1, 1, 1, 1);
  job.model.flash_attention = false;
  const Plan plan = build_plan(job);
  std::ostringstream text;
  write_plan(plan, text);
  EXPECT_NE(text.str().find("{name: \"attn_scores\", kind: attention"), std::string::npos);
  const Plan back = parse_plan(text.str(), "plan.yaml");
  int products = 0;
  for (const ComputeBlock& block : back.blocks) {
    for (const Kernel& k : block.kernels) {
      EXPECT_EQ(k.attention_product,
                k.name.rfind("attn_scores", 0) == 0 || k.name.rfind("attn_values", 0) == 0)
          << k.name;
      products += k.attention_product ? 1 : 0;
    }
  }
  // QK^T and PV forward, in the selective-recompute block that the plan carries, and their two
  // gradients each in the backward.
  EXPECT_EQ(products, 8);
}

TEST(PlanIo, ExpertDispatchRoundTrips) {
  // DeepEP on the expert-parallel groups of a Mixtral job (top 2, capacity 1.5): each EP group
  // carries the dispatcher, the preset's uniform routing over 8 experts and 2 · 1.5 copies of
  // each token; the other groups none; a plain all-to-all leaves every group without.
  TrainingJob job = small_job(1, 1, 2, 2);
  job.model = *transformer_preset("mixtral-8x7b");
  job.model.layers = 2;
  job.model.moe.capacity_factor = 1.5;
  job.parallelism.ep = 2;
  for (const Group& g : build_plan(job).groups)
    EXPECT_FALSE(g.expert_dispatch) << g.name;
  job.framework.moe_dispatcher = MoeDispatcher::deepep;
  const Plan plan = build_plan(job);
  int ep_groups = 0;
  for (const Group& g : plan.groups) {
    ASSERT_EQ(g.expert_dispatch.has_value(), g.name == "ep") << g.name;
    if (!g.expert_dispatch)
      continue;
    ++ep_groups;
    EXPECT_EQ(g.expert_dispatch->dispatcher, MoeDispatcher::deepep);
    EXPECT_EQ(g.expert_dispatch->routing, (ExpertRouting{ExpertRoutingKind::uniform, 8, 2, 1, 1}));
    EXPECT_DOUBLE_EQ(g.expert_dispatch->copies_per_token, 3.0);
  }
  EXPECT_GT(ep_groups, 0);
  std::ostringstream first;
  write_plan(plan, first);
  const Plan back = parse_plan(first.str(), "plan.yaml");
  for (std::size_t g = 0; g < plan.groups.size(); ++g)
    EXPECT_EQ(back.groups[g].expert_dispatch, plan.groups[g].expert_dispatch);
  std::ostringstream second;
  write_plan(back, second);
  EXPECT_EQ(first.str(), second.str());
}

TEST(PlanIo, ValuesAreCountedWithoutWriting) {
  // plan_yaml_values is what the YAML reader counts in the written file, for plans with and
  // without replicas, with every kind of op, and for the hand-made plan of a test.
  std::vector<Plan> plans = {build_plan(small_job(2, 2, 2, 2)),
                             build_plan(small_job(2, 2, 4, 2), RankScope::one_replica),
                             build_plan(small_job(1, 4, 1, 8))};
  TrainingJob moe = small_job(1, 1, 2, 2);
  moe.model = *transformer_preset("mixtral-8x7b");
  moe.model.layers = 2;
  moe.parallelism.ep = 2;
  plans.push_back(build_plan(moe));
  moe.framework.moe_dispatcher = MoeDispatcher::deepep;
  plans.push_back(build_plan(moe));
  for (const Plan& plan : plans) {
    std::ostringstream out;
    write_plan(plan, out);
    EXPECT_EQ(plan_yaml_values(plan), yaml_value_count(out.str(), "plan.yaml"));
  }
}

TEST(PlanIo, OneReplicaPlansRoundTripWithTheirReplicas) {
  const Plan plan = test::unshared(build_plan(small_job(2, 2, 4, 2), RankScope::one_replica));
  EXPECT_EQ(plan.replicas.count, 4);
  EXPECT_EQ(plan.replicas.rank_stride, 2);
  EXPECT_EQ(plan.ranks.size(), 4u);  // tp 2 × pp 2 of replica 0
  EXPECT_EQ(plan.world_size(), 16);
  std::ostringstream first;
  write_plan(plan, first);
  EXPECT_NE(first.str().find("replicas: {count: 4, rank_stride: 2}"), std::string::npos);
  const Plan back = parse_plan(first.str(), "plan.yaml");
  EXPECT_EQ(back.replicas.count, 4);
  std::ostringstream second;
  write_plan(back, second);
  EXPECT_EQ(first.str(), second.str());
}

TEST(PlanIo, ReplicasThatDoNotTileAreInputErrors) {
  const Plan plan = test::unshared(build_plan(small_job(2, 2, 4, 2), RankScope::one_replica));
  std::ostringstream out;
  write_plan(plan, out);
  const std::string text = out.str();
  auto with = [&](const std::string& replicas) {
    std::string changed = text;
    changed.replace(changed.find("replicas: {count: 4, rank_stride: 2}"),
                    std::string("replicas: {count: 4, rank_stride: 2}").size(), replicas);
    try {
      parse_plan(changed, "p.yaml");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(with("replicas: {count: 0, rank_stride: 2}"),
            "p.yaml:4:19: replicas.count: 0 is out of range; use a value from 1 to 2147483647");
  // With stride 4 the listed rank 8 (stage 1) would belong to replica 2.
  EXPECT_EQ(with("replicas: {count: 4, rank_stride: 4}"),
            "p.yaml:219:5: ranks[2]: plan: rank 8: ranks must be replica 0's, listed in ascending "
            "order");
  EXPECT_EQ(with("replicas: {count: 3, rank_stride: 8}"),
            "p.yaml:4:11: replicas: plan: 4 listed ranks in 3 replicas of rank stride 8 do not "
            "make whole replicas (the world size must be a multiple of stride x count)");
  // 4 listed ranks × 2^30 replicas = 2^32 ranks: as an int, 0, which the world size check then
  // divided by (SIGFPE). And stride × count = 2 · (2^31 − 1) wrapped to −2.
  EXPECT_EQ(with("replicas: {count: 1073741824, rank_stride: 2}"),
            "p.yaml:4:11: replicas: plan: 4 listed ranks in 1073741824 replicas make 4294967296 "
            "ranks; a plan runs on at most 131072 devices");
  EXPECT_EQ(with("replicas: {count: 2, rank_stride: 2147483647}"),
            "p.yaml:4:11: replicas: plan: 4 listed ranks in 2 replicas of rank stride 2147483647 "
            "do not make whole replicas (the world size must be a multiple of stride x count)");
}

TEST(PlanIo, CyclesAndBadIndicesAreInputErrors) {
  const std::string header =
      "format: scaleplan-plan\nversion: 1\nlabels: [\"x\"]\n"
      "blocks: [{name: b, kernels: []}]\ngroups: []\n";
  const std::string cycle =
      header +
      "ranks:\n  - rank: 0\n    device: 0\n    ops:\n"
      "      - {kind: compute, stream: compute, label: 0, block: 0, deps: [1]}\n"
      "      - {kind: compute, stream: compute, label: 0, block: 0, deps: [0]}\n";
  try {
    parse_plan(cycle, "p.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("p.yaml:10:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("a cycle cannot run"), std::string::npos) << e.what();
  }
  const std::string orphan =
      header +
      "ranks:\n  - rank: 0\n    device: 0\n    ops:\n"
      "      - {kind: send, stream: pp-send-next, label: 0, peer: 1, bytes: 8}\n"
      "  - rank: 1\n    device: 1\n    ops: []\n";
  try {
    parse_plan(orphan, "p.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0 sends more messages to rank 1"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_plan("format: other\nversion: 1\n", "p.yaml"), InputError);
}

}  // namespace
}  // namespace scaleplan

namespace scaleplan {
namespace {

double dp_bytes(const Plan& plan, int rank, CollectiveKind kind) {
  double total = 0;
  for (const auto& op : plan.ranks[rank].ops) {
    if (op.kind == OpKind::collective && op.collective == kind &&
        plan.groups[op.group].name == "dp") {
      total += op.bytes;
    }
  }
  return total;
}

TEST(PlanBuilder, ZeroStagesShardMemoryAndChangeCollectives) {
  // 4-way data parallel, one micro-batch per replica, fp32 gradients (4 bytes), 16-bit weights.
  auto job = small_job(1, 1, 4, 1);
  const double n = total_parameters(job.model);
  for (int zero = 0; zero <= 3; ++zero) {
    job.parallelism.zero = zero;
    const Plan plan = test::unshared(build_plan(job));
    validate_plan(plan);
    const StaticMemory& m = plan.ranks[0].static_memory;
    // Stage 1 shards the 12 bytes of Adam state, stage 2 the 4 of gradients, stage 3 the 2 of
    // weights, each over the 4 data-parallel ranks.
    EXPECT_DOUBLE_EQ(m.optimizer_bytes, n * 12 / (zero >= 1 ? 4 : 1)) << zero;
    EXPECT_DOUBLE_EQ(m.gradients_bytes, n * 4 / (zero >= 2 ? 4 : 1)) << zero;
    EXPECT_DOUBLE_EQ(m.weights_bytes, n * 2 / (zero >= 3 ? 4 : 1)) << zero;
    const double all_reduced = dp_bytes(plan, 0, CollectiveKind::all_reduce);
    const double scattered = dp_bytes(plan, 0, CollectiveKind::reduce_scatter);
    const double gathered = dp_bytes(plan, 0, CollectiveKind::all_gather);
    if (zero == 0) {
      // Plain data parallelism all-reduces every fp32 gradient once.
      EXPECT_NEAR(all_reduced / (n * 4), 1, 1e-9);
      EXPECT_EQ(scattered + gathered, 0);
    } else if (zero <= 2) {
      // Reduce-scatter the gradients, all-gather the updated 16-bit weights after the step.
      EXPECT_EQ(all_reduced, 0);
      EXPECT_NEAR(scattered / (n * 4), 1, 1e-9);
      EXPECT_NEAR(gathered / (n * 2), 1, 1e-9);
    } else {
      // Weights gathered before forward and again before backward; gradients scattered once.
      EXPECT_EQ(all_reduced, 0);
      EXPECT_NEAR(scattered / (n * 4), 1, 1e-9);
      EXPECT_NEAR(gathered / (2 * n * 2), 1, 1e-9);
    }
  }
}

TEST(PlanBuilder, ShardedGradientsAreReducedEveryMicroBatch) {
  // With 3 micro-batches per replica ZeRO 0 and 1 keep whole gradients, add the micro-batches
  // into them and reduce once. ZeRO-3 keeps only its shard, so each micro-batch's gradients are
  // reduce-scattered as its backward produces them: three times the bytes. ZeRO-2 does the same
  // where its framework does (DeepSpeed's stage 2, FSDP's SHARD_GRAD_OP), and reduces once where
  // it keeps whole gradients until the last micro-batch (zero2_gradient_reduction: step).
  auto job = small_job(1, 1, 4, 3);
  const double n = total_parameters(job.model);
  const auto reduced = [&] {
    const Plan plan = test::unshared(build_plan(job));
    validate_plan(plan);
    return (dp_bytes(plan, 0, CollectiveKind::all_reduce) +
            dp_bytes(plan, 0, CollectiveKind::reduce_scatter)) /
           (n * 4);
  };
  for (bool overlap : {true, false}) {
    job.parallelism.overlap_grad_reduce = overlap;
    for (auto when : {Zero2GradientReduction::step, Zero2GradientReduction::micro_batch,
                      Zero2GradientReduction::micro_batch_unless_pipelined}) {
      job.framework.zero2_gradient_reduction = when;
      for (int zero = 0; zero <= 3; ++zero) {
        job.parallelism.zero = zero;
        const bool every = zero == 3 || (zero == 2 && when != Zero2GradientReduction::step);
        EXPECT_NEAR(reduced(), every ? 3 : 1, 1e-9) << zero << " " << overlap;
      }
    }
  }
  // A pipeline stage of torch.distributed.pipelining syncs FSDP's gradients on its last
  // backward only: 2 stages of 3 micro-batches, each stage reducing its half once.
  job = small_job(1, 2, 4, 3);
  job.parallelism.zero = 2;
  job.framework.zero2_gradient_reduction = Zero2GradientReduction::micro_batch_unless_pipelined;
  EXPECT_FALSE(zero_two_reduces_every_micro_batch(job));
  job.framework.zero2_gradient_reduction = Zero2GradientReduction::micro_batch;
  EXPECT_TRUE(zero_two_reduces_every_micro_batch(job));
  // Overlapped, ZeRO-2's reductions start during the step: the first micro-batch's backward
  // ends before the last one's forward begins, and its gradients are on their way by then.
  job = small_job(1, 1, 4, 3);
  job.parallelism.zero = 2;
  job.framework.zero2_gradient_reduction = Zero2GradientReduction::micro_batch;
  const Plan plan = test::unshared(build_plan(job));
  const auto& ops = plan.ranks[0].ops;
  const auto first_scatter = std::find_if(ops.begin(), ops.end(), [&](const Op& op) {
    return op.kind == OpKind::collective && op.collective == CollectiveKind::reduce_scatter;
  });
  const auto last_forward = std::find_if(ops.rbegin(), ops.rend(), [&](const Op& op) {
    return op.kind == OpKind::compute && plan.labels[op.label].find("forward") != std::string::npos;
  });
  ASSERT_NE(first_scatter, ops.end());
  ASSERT_NE(last_forward, ops.rend());
  EXPECT_LT(first_scatter - ops.begin(), ops.rend() - last_forward - 1);
}

}  // namespace
}  // namespace scaleplan

namespace scaleplan {
namespace {

TEST(PlanBuilder, ContextParallelRingsKeysAndValuesAndShardsActivations) {
  // 2-way context parallel, 2-way data parallel, one micro-batch per replica.
  auto job = small_job(1, 1, 2, 1);
  job.parallelism.cp = 2;
  const Plan plan = test::unshared(build_plan(job));
  validate_plan(plan);
  ASSERT_EQ(plan.ranks.size(), 4u);
  std::size_t gathers = 0, scatters = 0;
  double gathered_bytes = 0;
  bool dp_spans_cp = false;
  for (const auto& op : plan.ranks[0].ops) {
    if (op.kind != OpKind::collective)
      continue;
    const Group& g = plan.groups[op.group];
    if (g.name == "cp") {
      EXPECT_EQ(g.ranks, (std::vector<int>{0, 1}));  // rank = tp + tp·(cp + cp·dp)
      if (op.collective == CollectiveKind::all_gather) {
        ++gathers;
        gathered_bytes = op.bytes;
      }
      if (op.collective == CollectiveKind::reduce_scatter)
        ++scatters;
    }
    if (g.name == "dp")
      dp_spans_cp = g.ranks.size() == 4;
  }
  // Per layer: one key/value exchange forward, one plus a gradient exchange backward.
  EXPECT_EQ(gathers, 2u * 4);
  EXPECT_EQ(scatters, 4u);
  // K and V of the whole 2048-token sequence, 2048 wide, 2 bytes each.
  EXPECT_DOUBLE_EQ(gathered_bytes, 2048.0 * 2 * 2048 * 2);
  // Gradients are reduced over data and context parallel ranks together.
  EXPECT_TRUE(dp_spans_cp);
  // Each context-parallel rank holds half the sequence's activations.
  auto single = small_job(1, 1, 2, 1);
  const LayerWork whole = transformer_layer(single.model, 1, {1, 1, false}, Dtype::bf16);
  const LayerWork half = transformer_layer(single.model, 1, {1, 2, false}, Dtype::bf16);
  EXPECT_NEAR(half.mlp.activation_bytes / whole.mlp.activation_bytes, 0.5, 1e-12);
}

TEST(PlanBuilder, SequenceParallelGathersTheLayerInputAgainBesideTheBackward) {
  // tp 2 with sequence parallelism: each half-layer's backward all-gathers its input again for
  // the weight gradient of QKV or FC1, on the tensor-parallel stream beside the backward compute,
  // and the reduce-scatter of the input gradient waits for it (Megatron-LM's
  // LinearWithGradAccumulationAndAsyncCommunication).
  for (PipelineSchedule schedule :
       {PipelineSchedule::one_f_one_b, PipelineSchedule::zero_bubble_h1}) {
    auto job = small_job(2, 1, 1, 2);
    job.parallelism.sequence_parallel = true;
    job.parallelism.schedule = schedule;
    const Plan plan = test::unshared(build_plan(job));
    validate_plan(plan);
    const RankProgram& rank = plan.ranks[0];
    std::size_t regathers = 0;
    for (std::uint32_t i = 0; i < rank.ops.size(); ++i) {
      const Op& op = rank.ops[i];
      if (!plan.labels[op.label].ends_with("input all-gather"))
        continue;
      ++regathers;
      EXPECT_EQ(op.stream, Stream::tp_comm);
      EXPECT_EQ(op.collective, CollectiveKind::all_gather);
      EXPECT_DOUBLE_EQ(op.bytes, 2048.0 * 2048 * 2);  // the whole sequence's input, 16-bit
      // Next: the backward compute, which does not wait for it; then the reduce-scatter, which
      // does.
      const Op& compute = rank.ops[i + 1];
      const Op& scatter = rank.ops[i + 2];
      EXPECT_EQ(compute.kind, OpKind::compute);
      EXPECT_EQ(std::count(compute.deps.begin(), compute.deps.end(), i), 0);
      EXPECT_EQ(scatter.collective, CollectiveKind::reduce_scatter);
      EXPECT_EQ(std::count(scatter.deps.begin(), scatter.deps.end(), i), 1);
    }
    // Two half-layers, four layers, two micro-batches.
    EXPECT_EQ(regathers, 2u * 4 * 2) << to_string(schedule);
  }
}

}  // namespace
}  // namespace scaleplan

#include "sim/report/prediction.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulator.hpp"
#include "tests/support/plans.hpp"

namespace scaleplan {
namespace {

CollectiveProfile all_reduce_fit(int ranks, int nodes, double bus_bandwidth_bytes_per_s) {
  CollectiveProfile c;
  c.op = CollectiveOp::all_reduce;
  c.algorithm = "nccl";
  c.ranks = ranks;
  c.nodes = nodes;
  c.latency_s = {5e-5, "test"};
  c.bus_bandwidth_bytes_per_s = {bus_bandwidth_bytes_per_s, "test"};
  return c;
}

// `nodes` nodes of 8 A100, `nics` NICs of 200 Gb/s each.
ClusterSpec a100_cluster(int nodes, int nics) {
  ClusterSpec cluster;
  cluster.device = *Catalog::builtin().find("A100-SXM4-80GB");
  cluster.nodes = nodes;
  cluster.devices_per_node = 8;
  cluster.network.link_bandwidth_bytes_per_s = 25e9;
  cluster.network.nics_per_node = nics;
  return cluster;
}

TEST(EffectiveCluster, ProfileBusBandwidthSetsTheIntraNodeLinks) {
  const ClusterSpec cluster = a100_cluster(1, 0);
  // Catalog only: 300 GB/s per direction at the nccl-tests efficiency 0.683.
  const EffectiveCluster from_catalog = effective_cluster(cluster, Catalog::builtin());
  EXPECT_NEAR(from_catalog.cluster.device.intra_node_link_bandwidth_bytes_per_s.value,
              300e9 * 0.683, 1e3);
  EXPECT_EQ(from_catalog.description,
            "intra-node links 204.9 GB/s (catalog 300.0 GB/s x nccl-tests efficiency 0.683)");
  // A profile with a measured 8-GPU all-reduce: its bus bandwidth is the link bandwidth a ring
  // over the NVSwitch sees, whatever the catalog says.
  Profile profile;
  profile.device = "A100-SXM4-80GB";
  profile.collectives.push_back(all_reduce_fit(8, 1, 180e9));
  const EffectiveCluster calibrated =
      effective_cluster(cluster, Catalog::builtin(), &profile, "p.yaml");
  EXPECT_DOUBLE_EQ(calibrated.cluster.device.intra_node_link_bandwidth_bytes_per_s.value, 180e9);
  const Topology topology(calibrated.cluster);
  EXPECT_DOUBLE_EQ(topology.link(topology.route(0, 1)[0]).bandwidth_bytes_per_s, 180e9);
  EXPECT_EQ(calibrated.description,
            "intra-node links 180.0 GB/s (all-reduce 8 ranks / 1 node bus bandwidth, calibration "
            "profile p.yaml)");
}

TEST(EffectiveCluster, ProfileInterNodeBusBandwidthSetsTheNicLinks) {
  const ClusterSpec cluster = a100_cluster(4, 4);
  // Catalog only: line rate at the NIC efficiency 0.94.
  const EffectiveCluster from_catalog = effective_cluster(cluster, Catalog::builtin());
  EXPECT_DOUBLE_EQ(from_catalog.cluster.network.link_bandwidth_bytes_per_s, 25e9 * 0.94);
  EXPECT_NE(from_catalog.description.find(
                "NIC links 23.5 GB/s (scenario 25.0 GB/s x catalog NIC efficiency 0.94)"),
            std::string::npos)
      << from_catalog.description;

  // 24 ranks over 3 nodes (8 a node) through the nodes' 4 NICs: NCCL's 4 rings each cross a
  // node boundary through their own NIC, so each NIC carries 96/4 = 24 GB/s.
  Profile profile;
  profile.device = "A100-SXM4-80GB";
  profile.collectives.push_back(all_reduce_fit(8, 1, 200e9));
  profile.collectives.push_back(all_reduce_fit(24, 3, 96e9));
  EffectiveCluster calibrated = effective_cluster(cluster, Catalog::builtin(), &profile, "p.yaml");
  EXPECT_DOUBLE_EQ(calibrated.cluster.network.link_bandwidth_bytes_per_s, 24e9);
  EXPECT_DOUBLE_EQ(calibrated.cluster.device.intra_node_link_bandwidth_bytes_per_s.value, 200e9);
  EXPECT_NE(calibrated.description.find("NIC links 24.0 GB/s (all-reduce 24 ranks / 3 nodes bus "
                                        "bandwidth 96.0 GB/s over 4 NICs per node, calibration "
                                        "profile p.yaml)"),
            std::string::npos)
      << calibrated.description;
  const Topology topology(calibrated.cluster);
  // Device 0 to device 8 (next node): device, NIC, leaf, NIC, device; the NIC-leaf hop is a
  // network link.
  EXPECT_DOUBLE_EQ(topology.link(topology.route(0, 8)[1]).bandwidth_bytes_per_s, 24e9);

  // The measured cluster had 2 NICs per node: each carried half the bus bandwidth.
  profile.collectives.back().nics_per_node = 2;
  calibrated = effective_cluster(cluster, Catalog::builtin(), &profile, "p.yaml");
  EXPECT_DOUBLE_EQ(calibrated.cluster.network.link_bandwidth_bytes_per_s, 48e9);
  // A rail group (one rank per node) uses one NIC per node: its bus bandwidth is one NIC's.
  profile.collectives.back() = all_reduce_fit(3, 3, 22e9);
  calibrated = effective_cluster(cluster, Catalog::builtin(), &profile, "p.yaml");
  EXPECT_DOUBLE_EQ(calibrated.cluster.network.link_bandwidth_bytes_per_s, 22e9);
  // Only fits over several nodes set the NICs, however near a single-node fit's shape is.
  profile.collectives.pop_back();
  calibrated = effective_cluster(cluster, Catalog::builtin(), &profile, "p.yaml");
  EXPECT_DOUBLE_EQ(calibrated.cluster.network.link_bandwidth_bytes_per_s, 25e9 * 0.94);
}

TEST(EffectiveCluster, ProfileAlphasSetTheStepAndNicLatencies) {
  // 2 nodes of 8 A100, one NIC per GPU. The profile measured 56 us for 8 ranks in a node, 4 us
  // per step of a 14-step ring, and 150 us for 16 ranks over both nodes, 5 us per step of a
  // 30-step ring.
  ClusterSpec cluster = a100_cluster(2, 8);
  cluster.network.switch_latency_s = 1.3e-7;
  cluster.network.nic_latency_s = 6e-7;
  Profile profile;
  profile.device = "A100-SXM4-80GB";
  profile.collectives.push_back(all_reduce_fit(8, 1, 200e9));
  profile.collectives.back().latency_s.value = 56e-6;
  profile.collectives.push_back(all_reduce_fit(16, 2, 180e9));
  profile.collectives.back().latency_s.value = 150e-6;

  // Without calibration: the catalog's step latency, and its NIC latency stays.
  EffectiveCluster catalog_only = effective_cluster(cluster, Catalog::builtin());
  calibrate_latencies(catalog_only, Topology(catalog_only.cluster));
  EXPECT_EQ(catalog_only.collective_step_latency_s, 3.4e-6);
  EXPECT_EQ(catalog_only.cluster.network.nic_latency_s, 6e-7);
  EXPECT_NE(catalog_only.description.find("; collective step latency 3.4 us (catalog)"),
            std::string::npos)
      << catalog_only.description;

  EffectiveCluster calibrated = effective_cluster(cluster, Catalog::builtin(), &profile, "p.yaml");
  ASSERT_TRUE(calibrated.intra_node_ring_step && calibrated.inter_node_ring_step);
  EXPECT_NEAR(calibrated.intra_node_ring_step->time_s, 4e-6, 1e-15);
  EXPECT_NEAR(calibrated.inter_node_ring_step->time_s, 5e-6, 1e-15);
  const Topology topology = calibrate_latencies(calibrated, Topology(calibrated.cluster));
  // Device, NVSwitch, device: two NVLink hops of 0.6 us, so the step latency is 4 - 1.2 us.
  EXPECT_NEAR(calibrated.collective_step_latency_s, 2.8e-6, 1e-15);
  // Device, NIC, leaf, NIC, device: the two NIC-leaf links carry a switch latency each, 0.26 us;
  // the step between nodes leaves 5 - 2.8 - 0.26 = 1.94 us to the two NICs.
  EXPECT_NEAR(calibrated.cluster.network.nic_latency_s, 0.97e-6, 1e-15);
  EXPECT_NEAR(topology.route_latency_s(0, 8), 2.2e-6, 1e-15);
  EXPECT_NE(calibrated.description.find(
                "; collective step latency 2.8 us (4 us per ring step of all-reduce 8 ranks / 1 "
                "node alpha, calibration profile p.yaml, less 1.2 us route between devices); NIC "
                "latency 0.97 us (5 us per ring step of all-reduce 16 ranks / 2 nodes alpha, "
                "calibration profile p.yaml, less 3.06 us step latency, switches and cables)"),
            std::string::npos)
      << calibrated.description;

  // End to end: 8-byte ring all-reduces take the measured alphas, in a node and over both. The
  // bytes add 30 steps of 8/16 B over 180 GB/s, well under a nanosecond.
  SimulationOptions options;
  options.collective_step_latency_s = calibrated.collective_step_latency_s;
  options.collective_algorithm = CollectiveAlgorithm::ring;
  const RooflineModel compute(calibrated.cluster.device);
  EXPECT_NEAR(
      simulate(test::one_collective(8, CollectiveKind::all_reduce, 8), topology, compute, options)
          .step_time_s,
      56e-6, 1e-9);
  EXPECT_NEAR(
      simulate(test::one_collective(16, CollectiveKind::all_reduce, 8), topology, compute, options)
          .step_time_s,
      150e-6, 1e-9);

  // A step between nodes shorter than the step latency and the switches: the NICs take no time,
  // and the description says the measurement is faster than the route.
  profile.collectives.back().latency_s.value = 30 * 3e-6;
  calibrated = effective_cluster(cluster, Catalog::builtin(), &profile, "p.yaml");
  calibrate_latencies(calibrated, Topology(calibrated.cluster));
  EXPECT_EQ(calibrated.cluster.network.nic_latency_s, 0.0);
  EXPECT_NE(calibrated.description.find(
                "less 3.06 us step latency, switches and cables, longer than the measured step)"),
            std::string::npos)
      << calibrated.description;
}

}  // namespace
}  // namespace scaleplan

namespace scaleplan {
namespace {

TEST(PlanBuilder, RanksOfAStageRunOneProgramOnTheirOwnGroupsAndPeers) {
  // The builder builds a stage's first rank and copies it for the others: each copy must name
  // groups holding its own rank and peers that differ from it in the pipeline coordinate alone.
  TrainingJob job = small_job(2, 2, 2, 4);
  job.parallelism.cp = 2;
  job.parallelism.schedule = PipelineSchedule::zero_bubble_h1;
  job.parallelism.zero = 1;
  const Plan built = build_plan(job, RankScope::all_ranks);
  ASSERT_EQ(built.ranks.size(), 16u);
  // The others share the first's ops, held once.
  for (const RankProgram& program : built.ranks) {
    const int first =
        rank_of({0, 0, 0, coordinates_of(program.rank, job.parallelism).pp}, job.parallelism);
    EXPECT_EQ(program.shares, program.rank == first ? -1 : first) << "rank " << program.rank;
    EXPECT_EQ(program.ops.empty(), program.rank != first) << "rank " << program.rank;
  }
  Plan plan = built;
  plan.unshare();
  validate_plan(plan);
  for (const RankProgram& program : plan.ranks) {
    const RankCoordinates c = coordinates_of(program.rank, job.parallelism);
    const RankProgram& first = plan.ranks[rank_of({0, 0, 0, c.pp}, job.parallelism)];
    ASSERT_EQ(program.ops.size(), first.ops.size()) << "rank " << program.rank;
    for (std::size_t i = 0; i < program.ops.size(); ++i) {
      const Op& op = program.ops[i];
      EXPECT_EQ(op.label, first.ops[i].label);
      EXPECT_EQ(op.bytes, first.ops[i].bytes);
      if (op.kind == OpKind::collective) {
        const auto& members = plan.groups[op.group].ranks;
        EXPECT_NE(std::find(members.begin(), members.end(), program.rank), members.end())
            << "rank " << program.rank << " op " << i;
        EXPECT_EQ(plan.groups[op.group].name, plan.groups[first.ops[i].group].name);
      }
      if (op.kind == OpKind::send || op.kind == OpKind::recv) {
        RankCoordinates peer = coordinates_of(op.peer, job.parallelism);
        EXPECT_NE(peer.pp, c.pp);
        peer.pp = c.pp;
        EXPECT_EQ(rank_of(peer, job.parallelism), program.rank);
      }
    }
  }
}

}  // namespace
}  // namespace scaleplan

namespace scaleplan {
namespace {

TEST(PlanBuilder, SharedProgramsWriteAndSimulateAsTheirCopies) {
  // Ranks of a stage share the first's ops; written out or simulated (both network models, every
  // rank), the plan is the one whose every rank holds a copy with its own groups and peers.
  TrainingJob job = small_job(2, 2, 2, 4);
  job.parallelism.schedule = PipelineSchedule::interleaved_1f1b;
  job.parallelism.virtual_stages = 2;
  job.model.layers = 8;
  const Plan shared = build_plan(job, RankScope::all_ranks);
  const Plan copies = test::unshared(shared);
  validate_plan(shared);
  validate_plan(copies);
  std::ostringstream shared_text, copies_text;
  write_plan(shared, shared_text);
  write_plan(copies, copies_text);
  EXPECT_EQ(shared_text.str(), copies_text.str());

  const ClusterSpec cluster = a100_cluster(2, 8);
  const Topology topology(cluster);
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  for (const NetworkModel model : {NetworkModel::flows, NetworkModel::alpha_beta}) {
    SimulationOptions options;
    options.network_model = model;
    const SimulationResult a = simulate(shared, topology, *compute, options);
    const SimulationResult b = simulate(copies, topology, *compute, options);
    EXPECT_EQ(a.step_time_s, b.step_time_s);
    EXPECT_EQ(a.events, b.events);
    EXPECT_EQ(a.flows, b.flows);
    EXPECT_EQ(a.link_bytes, b.link_bytes);
    ASSERT_EQ(a.ranks.size(), b.ranks.size());
    for (std::size_t r = 0; r < a.ranks.size(); ++r) {
      EXPECT_EQ(a.ranks[r].finish_s, b.ranks[r].finish_s);
      EXPECT_EQ(a.ranks[r].exposed_comm_s, b.ranks[r].exposed_comm_s);
      EXPECT_EQ(a.ranks[r].peak_activation_bytes, b.ranks[r].peak_activation_bytes);
    }
  }
}

TEST(PlanBuilder, ABrokenGroupMapIsAPlanError) {
  Plan plan = build_plan(small_job(2, 2, 2, 4), RankScope::all_ranks);
  RankProgram& sharer = plan.ranks[1];
  ASSERT_GE(sharer.shares, 0);
  ASSERT_GE(sharer.group_map.size(), 2u);
  sharer.group_map[1].second = sharer.group_map[0].second;
  EXPECT_THROW(validate_plan(plan), PlanError);
  sharer.group_map.pop_back();
  EXPECT_THROW(validate_plan(plan), PlanError);
}

}  // namespace
}  // namespace scaleplan
