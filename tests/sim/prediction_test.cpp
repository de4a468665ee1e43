// The value entry point: a prediction from a cluster, a job, a compute model and a network
// built in code, without a scenario file, is the scenario path's.
#include "sim/report/prediction.hpp"

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
