// The value entry point: a prediction from a cluster, a job, a compute model and a network
// built in code, without a scenario file, is the scenario path's.
#include "sim/report/prediction.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/prediction_values.hpp"

namespace scaleplan {
namespace {

// The YAML that tests::a100_cluster(4) and gpt3_1_3b_job(2, 2, 8, 32) describe.
const char* const scenario_text = R"(name: values
cluster:
  device: A100-SXM4-80GB
  nodes: 4
  devices_per_node: 8
  network: {link_bandwidth_gbps: 200, nics_per_node: 8}
model: {preset: gpt3-1.3b}
training: {global_batch: 32, micro_batch: 1, dtype: bf16}
parallelism: {tp: 2, pp: 2, dp: 8}
)";

TEST(Prediction, ValuesBuiltInCodePredictWhatTheScenarioDoes) {
  const Catalog& catalog = Catalog::builtin();
  const ClusterSpec cluster = test::a100_cluster(4);
  const TrainingJob job = test::gpt3_1_3b_job(2, 2, 8, 32);
  const ClusterNetwork network = prepare_network(cluster, catalog);
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  Prediction from_values = predict({cluster, job, *compute, network});

  const Scenario scenario = parse_scenario(scenario_text, "values.yaml", catalog);
  const Prediction from_scenario = predict(scenario, prepare_run(scenario, catalog));
  EXPECT_EQ(from_values.scenario, "");
  from_values.scenario = scenario.name;
  EXPECT_EQ(format_json(from_values), format_json(from_scenario));
  // A real step: 32 sequences of 2,048 tokens in 8 pipelines of 4 micro-batches each, with
  // every rank's weights on its device.
  EXPECT_EQ(from_values.devices, 32);
  EXPECT_EQ(from_values.microbatches, 4);
  EXPECT_GT(from_values.step_time_s, 0);
  EXPECT_GT(from_values.mfu, 0.05);
  EXPECT_LT(from_values.mfu, 1);
  EXPECT_GT(from_values.memory.weights_bytes, 0);
  EXPECT_TRUE(from_values.memory.fits);
}

TEST(Prediction, AVocabularyTpDoesNotDivideIsPaddedSimulatedAndReported) {
  const Catalog& catalog = Catalog::builtin();
  const ClusterSpec cluster = test::a100_cluster(4);
  const ClusterNetwork network = prepare_network(cluster, catalog);
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  TrainingJob job = test::gpt3_1_3b_job(2, 2, 8, 32);  // tp 2
  job.model.vocab = 50257;                             // GPT-2's tokenizer, odd
  const Prediction padded = predict({cluster, job, *compute, network});
  // Megatron-LM pads to a multiple of 128 · tp = 256: ⌈50257 / 256⌉ = 197, 197 · 256 = 50432,
  // and simulates that vocabulary: the step of a job written with 50,432 is the same.
  job.model.vocab = 50432;
  const Prediction written = predict({cluster, job, *compute, network});
  EXPECT_EQ(padded.step_time_s, written.step_time_s);
  EXPECT_EQ(padded.model_flops_per_step, written.model_flops_per_step);
  ASSERT_TRUE(padded.vocab_padding);
  EXPECT_EQ(padded.vocab_padding->written, 50257);
  EXPECT_EQ(padded.vocab_padding->padded, 50432);
  EXPECT_FALSE(written.vocab_padding);
  const std::string text = format_text(padded);
  EXPECT_NE(text.find("note: vocabulary 50257 padded to 50432, a multiple of 256 that tp 2 "
                      "divides (Megatron-LM's make_vocab_size_divisible_by 128 times tp)"),
            std::string::npos)
      << text;
  const std::string json = format_json(padded);
  EXPECT_NE(json.find("\"vocab_padding\": {\n    \"padded\": 50432,\n    \"written\": 50257"),
            std::string::npos)
      << json;
  EXPECT_EQ(format_json(written).find("vocab_padding"), std::string::npos);
}

TEST(Prediction, OneNetworkServesManyJobsAsFreshOnesDo) {
  // Predicting a job on a network that has routed other jobs first (warm caches) gives what a
  // network built for that job alone gives, bit for bit.
  const Catalog& catalog = Catalog::builtin();
  const ClusterSpec cluster = test::a100_cluster(4);
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  const ClusterNetwork shared = prepare_network(cluster, catalog);
  const std::vector<TrainingJob> jobs{test::gpt3_1_3b_job(8, 1, 4, 32),
                                      test::gpt3_1_3b_job(2, 4, 4, 32),
                                      test::gpt3_1_3b_job(1, 1, 32, 64)};
  for (const TrainingJob& job : jobs) {
    const ClusterNetwork fresh = prepare_network(cluster, catalog);
    const RunSettings flows{RankScope::one_replica, NetworkModel::flows};
    EXPECT_EQ(format_json(predict({cluster, job, *compute, shared, flows})),
              format_json(predict({cluster, job, *compute, fresh, flows})));
  }
}

TEST(Prediction, SettingsReachTheReport) {
  const ClusterSpec cluster = test::a100_cluster(2);
  const TrainingJob job = test::gpt3_1_3b_job(8, 1, 2, 16);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  RunSettings settings;
  settings.ranks = RankScope::all_ranks;
  settings.network_model = NetworkModel::alpha_beta;
  settings.allocator_headroom_fraction = 0.25;
  const Prediction p = predict({cluster, job, *compute, network, settings});
  EXPECT_EQ(p.replicas_simulated_as_one, 1);
  EXPECT_EQ(p.network_model, NetworkModel::alpha_beta);
  EXPECT_EQ(p.flow_transactions, 0u);
  // A quarter of the reserved memory is headroom: a third of what is allocated.
  const MemoryBreakdown& m = p.memory;
  const double allocated = m.peak_bytes - m.nccl_buffer_bytes - m.allocator_headroom_bytes;
  EXPECT_DOUBLE_EQ(m.allocator_headroom_bytes, allocated / 3);
}

}  // namespace
}  // namespace scaleplan

namespace scaleplan {
namespace {

// The layers whose forward a listed rank runs ("L<n> attention forward").
std::set<int> forward_layers_of(const Plan& plan, std::size_t rank) {
  std::set<int> layers;
  for (const Op& op : plan.ops_of(rank)) {
    const std::string& label = plan.labels[op.label];
    const auto space = label.find(' ');
    if (label.starts_with('L') && label.substr(space + 1) == "attention forward")
      layers.insert(std::stoi(label.substr(1, space - 1)));
  }
  return layers;
}

// GPT-3 1.3B's 24 layers in 2 stages x 13 chunks (26 = 24 + 2): chunk_layers gives the first and
// last chunk no layer and every other one layer, chunk k holding layer k - 1. Stage 0 runs the
// even chunks 0, 2, ..., 24 (the embedding alone, then layers 1, 3, ..., 23), stage 1 the odd
// ones 1, ..., 25 (layers 0, 2, ..., 22, then the output head alone): Llama 3's layout.
TEST(Prediction, TheFirstAndLastChunksMayHoldTheEmbeddingAndTheHeadAlone) {
  const ClusterSpec cluster = test::a100_cluster(4);
  const TrainingJob job = test::gpt3_1_3b_job(2, 2, 8, 32, PipelineSchedule::interleaved_1f1b, 13);
  std::set<int> odd, even;
  for (int l = 0; l < 24; ++l)
    (l % 2 == 0 ? even : odd).insert(l);
  const Plan plan = build_plan(job, RankScope::one_replica);
  // Listed ranks: stage 0's two tensor-parallel ranks, then stage 1's.
  EXPECT_EQ(forward_layers_of(plan, 0), odd);
  EXPECT_EQ(forward_layers_of(plan, 2), even);
  const ClusterNetwork network = prepare_network(cluster, Catalog::builtin());
  const std::unique_ptr<ComputeModel> compute = make_compute_model(cluster.device);
  for (const PipelineSchedule schedule :
       {PipelineSchedule::gpipe, PipelineSchedule::one_f_one_b, PipelineSchedule::zero_bubble_h1}) {
    // One stage more than layers: the first holds the embedding alone.
    TrainingJob one_layer = test::gpt3_1_3b_job(2, 2, 8, 32, schedule);
    one_layer.model.layers = 1;
    EXPECT_GT(predict({cluster, one_layer, *compute, network}).step_time_s, 0);
  }
  EXPECT_GT(predict({cluster, job, *compute, network}).step_time_s, 0);
}

}  // namespace
}  // namespace scaleplan
