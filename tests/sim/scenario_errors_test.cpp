// Every error the scenario reader (sim/scenario.cpp) can give, with its message; the common
// ones are in scenario_test.cpp, the rest here.
#include <gtest/gtest.h>

#include "hardware/io/profile_io.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "tests/support/scenario_text.hpp"

namespace scaleplan {
namespace {

const std::string good = R"(name: t
cluster:
  device: A100-SXM4-80GB
  nodes: 2
  devices_per_node: 8
  network:
    link_bandwidth_gbps: 200
model:
  family: gpt
  layers: 8
  hidden: 1024
  heads: 16
  vocab: 32000
  seq_len: 2048
training:
  global_batch: 32
parallelism:
  tp: 4
  pp: 2
)";

TEST(ScenarioErrors, GoodParses) {
  EXPECT_EQ(test::scenario_errors_of(good), "");
}

TEST(ScenarioErrors, TopLevelAndSections) {
  EXPECT_SCENARIO_ERROR("- a\n- b\n",
                        "s.yaml:1:1: a scenario is a mapping with cluster, model, training "
                        "and parallelism sections");
  EXPECT_SCENARIO_ERROR("name: x\n", "s.yaml:1:1: cluster: required key is missing");
  EXPECT_SCENARIO_ERROR("name: x\n", "s.yaml:1:1: model: required key is missing");
  EXPECT_SCENARIO_ERROR("name: x\n", "s.yaml:1:1: training: required key is missing");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  nodes: 2\n", ""),
                        "cluster.nodes: required key is missing");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  device: A100-SXM4-80GB\n", ""),
                        "cluster.device: required key is missing");
}

TEST(ScenarioErrors, CalibrationIsAKeyLikeTheOthers) {
  // Listed among the valid keys, and a misspelling of it gets a did-you-mean, though a scenario
  // without it never reads it.
  EXPECT_SCENARIO_ERROR(
      "bogus: 1\n" + good,
      "s.yaml:1:1: bogus: unknown key; valid keys here: name, description, cluster, "
      "model, training, parallelism, framework, search, calibration, memory or measured");
  EXPECT_SCENARIO_ERROR("calibraton: p.yaml\n" + good,
                        "s.yaml:1:1: calibraton: unknown key; did you mean 'calibration'?");
}

TEST(ScenarioErrors, UnknownDeviceWithoutANearMatchListsTheCatalog) {
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "A100-SXM4-80GB", "ZZZZZZZZZZZZZZZZZZ"),
      "s.yaml:3:11: cluster.device: 'ZZZZZZZZZZZZZZZZZZ' is not in the device catalog; "
      "known devices: A100-SXM4-40GB, A100-SXM4-80GB");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "A100-SXM4-80GB", "a100"),
      "s.yaml:3:11: cluster.device: 'a100' is not in the device catalog; did you mean "
      "A100-SXM4-40GB or A100-SXM4-80GB?");
}

TEST(ScenarioErrors, NetworkKeys) {
  EXPECT_SCENARIO_ERROR(test::replace(good, "  nodes: 2", "  nodes: 2\n  node_fabric: nvswich"),
                        "cluster.node_fabric: 'nvswich' is not one of nvswitch, nvlink-mesh");
  EXPECT_SCENARIO_ERROR(test::replace(good, "    link_bandwidth_gbps: 200",
                                      "    link_bandwidth_gbps: 200\n    topology: torus3"),
                        "cluster.network.topology: 'torus3' is not one of");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "    link_bandwidth_gbps: 200", "    oversubscription: 0.5"),
      "cluster.network.link_bandwidth_gbps: required key is missing");
  EXPECT_SCENARIO_ERROR(test::replace(good, "    link_bandwidth_gbps: 200",
                                      "    link_bandwidth_gbps: 200\n    oversubscription: 0.5"),
                        "cluster.network.oversubscription: must be from 1 to 64, got 0.5");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "    link_bandwidth_gbps: 200",
                    "    link_bandwidth_gbps: 200\n    oversubscription: [2, 65]"),
      "cluster.network.oversubscription: every value must be from 1 to 64, got 65");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "    link_bandwidth_gbps: 200",
                    "    link_bandwidth_gbps: 200\n    switch_radix: 2"),
      "cluster.network.switch_radix: 2 is out of range; use a value from 4 to 1024");
}

TEST(ScenarioErrors, ModelKeys) {
  EXPECT_SCENARIO_ERROR(test::replace(good, "  family: gpt", "  preset: gpt5"),
                        "model.preset: 'gpt5' is not one of");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  family: gpt", "  family: bert"),
                        "model.family: 'bert' is not one of gpt or llama");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  heads: 16", "  heads: 24"),
      "model.heads: 24 heads do not divide hidden (1024); use one of 1, 2, 4, 8, 16, 32");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  heads: 16", "  heads: 24"),
      ", or give head_dim (the width of one head) where it is not hidden / heads");
  // With head_dim the heads need not divide hidden (Qwen3: 32 heads of 128 on 2048).
  EXPECT_EQ(
      test::scenario_errors_of(test::replace(good, "  heads: 16", "  heads: 24\n  head_dim: 128")),
      "");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  heads: 16", "  heads: 16\n  head_dim: 0"),
                        "model.head_dim: 0 is out of range; use a value from 1 to");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  seq_len: 2048",
                                      "  seq_len: 2048\n  head_dim: 128\n  mla: {kv_lora_rank: 64, "
                                      "qk_nope_head_dim: 64, v_head_dim: 64}"),
                        "model.head_dim: latent attention sets its heads' widths in mla");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  heads: 16", "  heads: 16\n  qk_norm: maybe"),
                        "model.qk_norm:");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  heads: 16", "  heads: 16\n  kv_heads: 3"),
                        "model.kv_heads: 3 does not divide heads (16); use one of 1, 2, 4, 8, 16");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  layers: 8", "  layers: 0"),
                        "model.layers: 0 is out of range; use a value from 1 to 10000");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  seq_len: 2048", "  seq_len: 99999999999"),
      "model.seq_len: 99999999999 is out of range; use a value from 1 to 16777216");
}

TEST(ScenarioErrors, TrainingKeys) {
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  global_batch: 32", "  global_batch: 32\n  dtype: fp4"),
      "training.dtype: 'fp4' is not one of fp32, tf32, bf16, fp16 or fp8; did you mean");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  global_batch: 32", "  global_batch: 32\n  micro_batch: 0"),
      "training.micro_batch: 0 is out of range; use a value from 1 to 16777216");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  global_batch: 32", "  global_batch: 31"),
      "parallelism.dp: global_batch (31) is not a multiple of micro_batch·dp (1·2)");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  global_batch: 32", "  global_batch: 16777216"),
      "parallelism.dp: 8388608 micro-batches per pipeline per step is beyond the limit of "
      "65536; raise micro_batch");
}

TEST(ScenarioErrors, RecomputeModules) {
  const std::string selective =
      test::replace(good, "  pp: 2\n", "  pp: 2\n  recompute: selective\n");
  EXPECT_EQ(test::scenario_errors_of(selective + "  recompute_modules: [core_attn]\n"), "");
  EXPECT_EQ(test::scenario_errors_of(selective + "  recompute_modules: [core_attn, mlp]\n"), "");
  EXPECT_EQ(test::scenario_errors_of(selective + "  recompute_modules: [core_attn, layernorm]\n"),
            "");
  EXPECT_SCENARIO_ERROR(selective + "  recompute_modules: [core_attn, moe]\n",
                        "s.yaml:21:34: parallelism.recompute_modules: expected core_attn, "
                        "mla_up_proj, mlp, moe_act or layernorm (Megatron-Core's moe and "
                        "shared_experts are not modelled)");
  EXPECT_SCENARIO_ERROR(selective + "  recompute_modules: [moe_act]\n",
                        "parallelism.recompute_modules: moe_act recomputes the routed experts' "
                        "activation, and the model has no experts (model.moe)");
  EXPECT_SCENARIO_ERROR(selective + "  recompute_modules: [mla_up_proj]\n",
                        "parallelism.recompute_modules: mla_up_proj recomputes latent attention's "
                        "up-projections, and the model has no latent attention (model.mla)");
  EXPECT_SCENARIO_ERROR(good + "  recompute_modules: [core_attn]\n",
                        "parallelism.recompute_modules: the modules are what recompute: selective "
                        "runs again; set recompute: selective or leave recompute_modules out");
  EXPECT_SCENARIO_ERROR(selective + "  recompute_modules: core_attn\n",
                        "parallelism.recompute_modules: expected a list");
}

TEST(ScenarioErrors, MultiTokenPredictionLayers) {
  const auto with = [](const std::string& line) {
    return test::replace(good, "  seq_len: 2048\n", "  seq_len: 2048\n" + line);
  };
  EXPECT_EQ(test::scenario_errors_of(with("  mtp_layers: 1\n")), "");
  EXPECT_SCENARIO_ERROR(with("  mtp_layers: 9\n"),
                        "s.yaml:15:15: model.mtp_layers: 9 is out of range; use a value from 0 "
                        "to 8");
  EXPECT_SCENARIO_ERROR(with("  mtp_layers: -1\n"), "model.mtp_layers:");
  EXPECT_SCENARIO_ERROR(with("  mtp_layers: 1\n  causal: false\n"),
                        "model.mtp_layers: multi-token prediction predicts the next tokens of a "
                        "causal decoder; leave mtp_layers out or at 0, or set causal: true");
}

TEST(ScenarioErrors, PipelineLayout) {
  // good: 8 layers on pp 2.
  EXPECT_EQ(test::scenario_errors_of(good + "  pipeline_layout: \"Et*3|t*5L\"\n"), "");
  EXPECT_SCENARIO_ERROR(good + "  pipeline_layout: \"Et*3|t*4L\"\n",
                        "s.yaml:20:20: parallelism.pipeline_layout: 7 layers (t), and the model "
                        "has 8");
  EXPECT_SCENARIO_ERROR(good + "  pipeline_layout: \"Et*4|t*4|L\"\n",
                        "parallelism.pipeline_layout: 3 chunks, and pp·virtual_stages is 2");
  EXPECT_SCENARIO_ERROR(good + "  pipeline_layout: \"Et*4|t*4L\"\n  stage_layers: [4, 4]\n",
                        "parallelism.pipeline_layout: stage_layers sets the split already; give "
                        "one of the two");
  EXPECT_SCENARIO_ERROR(good + "  pipeline_layout: \"Et*4|t*4L\"\n  balance: time\n",
                        "parallelism.balance: stage_layers (or pipeline_layout) sets the split");
  EXPECT_SCENARIO_ERROR(good + "  pipeline_layout: [E, L]\n", "parallelism.pipeline_layout:");
}

// Mixtral 8x7B's layers on 16 devices: 2 pipeline stages, dp 8, the 8 experts over 8 ranks.
const std::string moe = R"(name: t
cluster:
  device: H100-SXM5-80GB
  nodes: 2
  devices_per_node: 8
  network:
    link_bandwidth_gbps: 400
model:
  preset: mixtral-8x7b
  layers: 8
  seq_len: 4096
training:
  global_batch: 64
parallelism:
  tp: 1
  pp: 2
  ep: 8
)";

TEST(ScenarioErrors, MoeParses) {
  EXPECT_EQ(test::scenario_errors_of(moe), "");
  const Scenario s = parse_scenario(moe, "s.yaml", Catalog::builtin());
  EXPECT_EQ(s.job.parallelism.ep, 8);
  EXPECT_EQ(s.job.parallelism.dp, 8);
  EXPECT_EQ(s.job.model.moe.experts, 8);
  const Scenario keys = parse_scenario(
      test::replace(moe, "  seq_len: 4096",
                    "  seq_len: 4096\n  moe: {top_k: 1, shared_experts: 2, capacity_factor: 1.5}"),
      "s.yaml", Catalog::builtin());
  EXPECT_EQ(keys.job.model.moe.experts, 8);  // the preset's
  EXPECT_EQ(keys.job.model.moe.top_k, 1);
  EXPECT_EQ(keys.job.model.moe.shared_experts, 2);
  EXPECT_DOUBLE_EQ(keys.job.model.moe.capacity_factor, 1.5);
}

TEST(ScenarioErrors, ExpertParallelism) {
  EXPECT_SCENARIO_ERROR(
      test::replace(moe, "  ep: 8", "  ep: 3"),
      "s.yaml:17:7: parallelism.ep: 3 does not divide moe.experts (8); use one of 1, 2, 4, "
      "8");
  EXPECT_SCENARIO_ERROR(
      test::replace(moe, "  ep: 8", "  ep: 3"),
      "s.yaml:17:7: parallelism.ep: 3 does not divide dp (8): expert-parallel ranks are "
      "carved out of the data-parallel ranks; use one of 1, 2, 4, 8");
  EXPECT_SCENARIO_ERROR(test::replace(moe, "  pp: 2", "  pp: 4"),
                        "s.yaml:17:7: parallelism.ep: 8 does not divide dp (4)");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  pp: 2", "  pp: 2\n  ep: 2"),
      "parallelism.ep: expert parallelism needs a model with MoE layers (model.moe, or a "
      "preset such as mixtral-8x7b); use ep: 1");
  EXPECT_SCENARIO_ERROR(
      test::replace(moe, "  tp: 1", "  tp: 2"),
      "s.yaml:15:7: parallelism.tp: MoE layers with tp > 1 need sequence parallelism (as "
      "in Megatron-LM); set sequence_parallel: true or tp: 1");
  EXPECT_SCENARIO_ERROR(
      test::replace(moe, "  tp: 1", "  tp: 2\n  sequence_parallel: false"),
      "parallelism.sequence_parallel: MoE layers with tp > 1 need sequence parallelism");
  EXPECT_SCENARIO_ERROR(
      test::replace(moe, "  ep: 8", "  ep: 8\n  zero: 3"),
      "parallelism.zero: ZeRO-3 is not modelled for MoE models; use zero 0, 1 or 2");
  EXPECT_SCENARIO_ERROR(
      test::replace(test::replace(moe, "  tp: 1", "  tp: 2\n  sequence_parallel: true"),
                    "  seq_len: 4096", "  seq_len: 4096\n  moe: {expert_ffn_hidden: 1001}"),
      "parallelism.tp: 2 does not divide moe.expert_ffn_hidden (1001); use one of 1, 7, "
      "11, 13, 77, 91, 143, 1001");
}

TEST(ScenarioErrors, MoeRoutingAndDispatcherKeys) {
  auto with = [](const std::string& keys) {
    return test::replace(moe, "  seq_len: 4096", "  seq_len: 4096\n" + keys);
  };
  const Scenario grouped = parse_scenario(
      with("  moe: {routing: group-limited, router_groups: 4, router_group_topk: 2}") +
          "framework:\n  name: megatron-core\n  moe_dispatcher: deepep\n",
      "s.yaml", Catalog::builtin());
  EXPECT_EQ(grouped.job.model.moe.routing, ExpertRoutingKind::group_limited);
  EXPECT_EQ(grouped.job.model.moe.router_groups, 4);
  EXPECT_EQ(grouped.job.model.moe.router_group_topk, 2);
  EXPECT_EQ(grouped.job.framework.moe_dispatcher, MoeDispatcher::deepep);
  EXPECT_EQ(parse_scenario(moe, "s.yaml", Catalog::builtin()).job.framework.moe_dispatcher,
            MoeDispatcher::all_to_all);
  EXPECT_SCENARIO_ERROR(with("  moe: {routing: random}"),
                        "model.moe.routing: 'random' is not one of uniform, group-limited or "
                        "round-robin");
  // The preset (Mixtral) routes uniformly: group-limited routing needs its blocks.
  EXPECT_SCENARIO_ERROR(with("  moe: {routing: group-limited}"),
                        "model.moe.router_groups: required key is missing");
  EXPECT_SCENARIO_ERROR(with("  moe: {router_groups: 4}"),
                        "model.moe.router_groups: applies to routing: group-limited only "
                        "(routing is uniform)");
  EXPECT_SCENARIO_ERROR(
      with("  moe: {routing: group-limited, router_groups: 3, router_group_topk: 1}"),
      "model.moe.router_groups: 3 groups do not split 8 experts evenly; use a divisor of 8");
  EXPECT_SCENARIO_ERROR(
      with("  moe: {routing: group-limited, router_groups: 4, router_group_topk: 3}"),
      "model.moe.router_group_topk: 3 groups per token must divide top_k 2");
  EXPECT_SCENARIO_ERROR(moe + "framework:\n  moe_dispatcher: nccl\n",
                        "framework.moe_dispatcher: 'nccl' is not one of all-to-all or deepep");
}

TEST(ScenarioErrors, MoeAndLatentAttentionKeys) {
  auto with = [](const std::string& keys) {
    return test::replace(moe, "  seq_len: 4096", "  seq_len: 4096\n" + keys);
  };
  EXPECT_SCENARIO_ERROR(with("  moe: {top_k: 9}"),
                        "model.moe.top_k: 9 experts per token, but the layer has 8; use at most 8");
  EXPECT_SCENARIO_ERROR(
      with("  moe: {dense_layers: 8}"),
      "model.moe.dense_layers: 8 dense layers leave none of the 8 layers with experts; "
      "use fewer than 8");
  EXPECT_SCENARIO_ERROR(with("  moe: {expert: 4}"),
                        "model.moe.expert: unknown key; did you mean 'experts'?");
  EXPECT_SCENARIO_ERROR(with("  moe: {capacity_factor: 0}"),
                        "model.moe.capacity_factor: must be from 0.1 to 64, got 0");
  EXPECT_SCENARIO_ERROR(with("  moe: {capacity_factor: 1e-300}"),
                        "model.moe.capacity_factor: must be from 0.1 to 64, got 1e-300");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  seq_len: 2048", "  seq_len: 2048\n  moe: {top_k: 2}"),
      "model.moe.experts: required key is missing");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  seq_len: 2048", "  seq_len: 2048\n  mla: {kv_lora_rank: 0}"),
      "model.mla.kv_lora_rank: 0 is out of range; use a value from 1 to 1048576");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  seq_len: 2048", "  seq_len: 2048\n  mla: {kv_lora_rank: 64}"),
      "model.mla.qk_nope_head_dim: required key is missing");
  EXPECT_SCENARIO_ERROR(
      test::replace(test::replace(moe, "mixtral-8x7b", "deepseek-v3"), "  layers: 8",
                    "  layers: 2"),
      "model.layers: the preset's first 3 layers are dense, which leaves none of 2 with "
      "experts; use more layers or set moe.dense_layers");
}

TEST(ScenarioErrors, ParallelismKeys) {
  EXPECT_SCENARIO_ERROR(test::replace(good, "  tp: 4", "  tp: 0"),
                        "parallelism.tp: 0 is out of range; use a value from 1 to 131072");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  pp: 2", "  pp: 2\n  schedule: zigzag"),
      "parallelism.schedule: 'zigzag' is not one of gpipe, 1f1b, interleaved-1f1b or zb-h1");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  pp: 2", "  pp: 2\n  recompute: most"),
                        "parallelism.recompute: 'most' is not one of none, selective or full");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  pp: 2", "  pp: 2\n  sequence_parallel: maybe"),
                        "parallelism.sequence_parallel: expected true or false, got 'maybe'");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  pp: 2", "  pp: 2\n  grad_bucket_mb: -5"),
                        "parallelism.grad_bucket_mb: must be from 0.001 to 1000000, got -5");
  EXPECT_SCENARIO_ERROR(test::replace(good, "  pp: 2", "  pp: 2\n  zero: 4"),
                        "parallelism.zero: 4 is out of range; use a value from 0 to 3");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  pp: 2", "  pp: 3"),
      "parallelism.tp: tp·pp·cp = 12 does not divide the 16 devices, so no data-parallel "
      "degree fits");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  heads: 16", "  heads: 16\n  ffn_hidden: 4098"),
      "parallelism.tp: 4 does not divide ffn_hidden (4098); use one of 1, 2, 3, 6");
  // A vocabulary tp does not divide is padded (pad_vocabulary), not refused.
  EXPECT_EQ(test::scenario_errors_of(test::replace(good, "  vocab: 32000", "  vocab: 32001")), "");
  // kv_heads 8 with tp 4 is fine: tp divides it.
  EXPECT_EQ(
      test::scenario_errors_of(test::replace(good, "  heads: 16", "  heads: 16\n  kv_heads: 8")),
      "");
  EXPECT_SCENARIO_ERROR(
      test::replace(test::replace(good, "  heads: 16", "  heads: 12\n  kv_heads: 6"),
                    "  hidden: 1024", "  hidden: 1200"),
      "parallelism.tp: 4 neither divides nor is a multiple of kv_heads (6)");
}

TEST(ScenarioErrors, PipelineShape) {
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  pp: 2", "  pp: 2\n  virtual_stages: 2"),
      "parallelism.virtual_stages: only the interleaved-1f1b schedule uses virtual "
      "stages; set schedule: interleaved-1f1b or virtual_stages: 1");
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  pp: 2", "  pp: 2\n  schedule: interleaved-1f1b\n  virtual_stages: 6"),
      "parallelism.virtual_stages: pp·virtual_stages = 12 model chunks need a layer each but the "
      "first and last (which may hold the embedding and the output head alone), but the model "
      "has 8; use pp·virtual_stages of at most 10");
  // Ten chunks for eight layers: the first holds the embedding alone, the last the output head.
  EXPECT_EQ(test::scenario_errors_of(test::replace(
                good, "  pp: 2", "  pp: 2\n  schedule: interleaved-1f1b\n  virtual_stages: 5")),
            "");
  // Found by the scenario fuzzer: with pp 1 the plan sent activations from a rank to itself.
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  pp: 2", "  pp: 1\n  schedule: interleaved-1f1b\n  virtual_stages: 2"),
      "parallelism.virtual_stages: virtual stages interleave the layers of several "
      "pipeline stages; with pp: 1 use virtual_stages: 1 (or pp of 2 or more)");
  EXPECT_SCENARIO_ERROR(
      test::replace(test::replace(good, "  pp: 2",
                                  "  pp: 2\n  schedule: interleaved-1f1b\n  virtual_stages: 2"),
                    "  global_batch: 32", "  global_batch: 6"),
      "parallelism.schedule: interleaved-1f1b needs the micro-batches per pipeline (3) "
      "to be a multiple of pp (2)");
}

TEST(ScenarioErrors, MemoryKeys) {
  EXPECT_SCENARIO_ERROR(
      good + "memory: {allocator_headroom_fraction: 1}\n",
      "s.yaml:20:39: memory.allocator_headroom_fraction: must be from 0 to 0.9, got 1");
  // Just below 1 the headroom A·f/(1−f) would be 1e16 times the allocated memory.
  EXPECT_SCENARIO_ERROR(good + "memory: {allocator_headroom_fraction: 0.9999999999999999}\n",
                        "memory.allocator_headroom_fraction: must be from 0 to 0.9");
  EXPECT_SCENARIO_ERROR(good + "memory: {allocator_headroom_fraction: -0.1}\n",
                        "memory.allocator_headroom_fraction: must be from 0 to 0.9");
  EXPECT_SCENARIO_ERROR(good + "memory: {allocator_headroom_fraction: lots}\n",
                        "memory.allocator_headroom_fraction: expected a number");
  EXPECT_SCENARIO_ERROR(good + "memory: {allocator_headroom: 0.1}\n",
                        "memory.allocator_headroom: unknown key; valid keys here: "
                        "allocator_headroom_fraction");
  EXPECT_SCENARIO_ERROR(good + "memory: 0.1\n", "memory: ");
}

TEST(ScenarioErrors, MeasuredNeedsASource) {
  EXPECT_SCENARIO_ERROR(good + "measured: {step_time_s: 1.5}\n",
                        "measured.source: required key is missing");
  EXPECT_SCENARIO_ERROR(good + "measured: {step_time_s: 0, source: x}\n",
                        "measured.step_time_s: must be from 1e-06 to 1000000, got 0");
  // A step of 1e-300 s would give a percentage error of 300 digits.
  EXPECT_SCENARIO_ERROR(good + "measured: {step_time_s: 1e-300, source: x}\n",
                        "measured.step_time_s: must be from 1e-06 to 1000000, got 1e-300");
}

TEST(ScenarioErrors, AProfileAboveTheDatasheetPeakIsAMismatch) {
  // The A100 profile's bf16 GEMMs run at up to 0.869 of its 312 TFLOP/s peak; at a sustained
  // fraction of 1.5 that is 1.3 times the datasheet peak: an MFU above 100 %.
  Scenario s = parse_scenario(good, "s.yaml", Catalog::builtin());
  s.job.training.dtype = Dtype::bf16;
  Profile profile =
      load_profile(std::string(SCALEPLAN_SOURCE_DIR) + "/scenarios/profiles/a100.yaml");
  EXPECT_TRUE(calibration_mismatches(s, profile, "a100.yaml").empty());
  profile.sustained_gemm_fraction = Figure{1.5, "test"};
  const std::vector<std::string> mismatches = calibration_mismatches(s, profile, "a100.yaml");
  ASSERT_EQ(mismatches.size(), 1u);
  EXPECT_EQ(mismatches[0],
            "the profile a100.yaml runs bf16 GEMMs at up to 4.068e+14 FLOP/s (1.3 times the "
            "A100-SXM4-80GB datasheet peak of 3.12e+14): an efficiency above 1, which no "
            "measurement gives; refit it with calibrate fit --device A100-SXM4-80GB or lower its "
            "sustained_gemm_fraction (1.5)");
}

}  // namespace
}  // namespace scaleplan
