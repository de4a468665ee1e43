// The strategy rules on values, without YAML: each rule's key and message, the order and gating
// of the rules, and a valid job's empty answer.
#include <gtest/gtest.h>

#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {
namespace {

// 2 nodes of 8 devices with a bf16 peak.
ClusterSpec two_nodes() {
  ClusterSpec cluster;
  cluster.device.name = "test-gpu";
  cluster.device.peak_flops_per_s[Dtype::bf16] = Figure{1e15, "test"};
  cluster.nodes = 2;
  cluster.devices_per_node = 8;
  return cluster;
}

// A dense model on the 16 devices: tp 4, pp 2, dp 2; 32 sequences per step in micro-batches of
// 1, so 16 micro-batches per pipeline.
TrainingJob dense_job() {
  TrainingJob job;
  job.model.layers = 8;
  job.model.hidden = 1024;
  job.model.heads = 16;
  job.model.kv_heads = 16;
  job.model.ffn_hidden = 4096;
  job.model.vocab = 32000;
  job.model.seq_len = 2048;
  job.training.global_batch = 32;
  job.training.micro_batch = 1;
  job.parallelism.tp = 4;
  job.parallelism.pp = 2;
  job.parallelism.dp = 2;
  return job;
}

// A small MoE model (8 experts) on the same devices.
TrainingJob moe_job() {
  TrainingJob job = dense_job();
  job.model.moe.experts = 8;
  job.model.moe.top_k = 2;
  job.model.moe.expert_ffn_hidden = 1024;
  job.parallelism.sequence_parallel = true;
  return job;
}

// "key: message" per problem, one a line.
std::string text_of(const std::vector<PlanProblem>& problems) {
  std::string text;
  for (const PlanProblem& p : problems)
    text += std::string(p.key) + ": " + p.message + "\n";
  return text;
}

TEST(StrategyCheck, AValidJobHasNoProblemAndAllocatesNothing) {
  const auto problems = check_strategy(two_nodes(), dense_job());
  EXPECT_TRUE(problems.empty()) << text_of(problems);
  EXPECT_EQ(problems.capacity(), 0u);
  EXPECT_TRUE(check_strategy(dense_job()).empty());
  EXPECT_TRUE(check_strategy(two_nodes(), moe_job()).empty());
}

TEST(StrategyCheck, TensorParallelDegreeMustDivideHeads) {
  TrainingJob job = dense_job();
  job.parallelism.tp = 6;       // 6·2·2 = 24 devices, and 6 divides none of heads, ffn or vocab
  job.model.kv_heads = 2;       // 6 is a multiple of 2
  job.model.ffn_hidden = 4104;  // a multiple of 6, so that only heads and vocab are left
  job.model.vocab = 32004;      // likewise (one tp does not divide is padded, not refused)
  // Divisors of 16 up to 4096: 1, 2, 4, 8, 16.
  EXPECT_EQ(text_of(check_strategy(job)),
            "parallelism.tp: 6 does not divide heads (16); use one of 1, 2, 4, 8, 16\n");
}

TEST(StrategyCheck, AVocabularyThatTpDoesNotDivideIsPaddedNotRefused) {
  TrainingJob job = dense_job();  // tp 4
  job.model.vocab = 32001;
  EXPECT_TRUE(check_strategy(job).empty()) << text_of(check_strategy(job));
  // Megatron-LM (no framework named): a multiple of 128 · tp = 512; ⌈32001 / 512⌉ = 63, and
  // 63 · 512 = 32256.
  EXPECT_EQ(vocab_padding_multiple(job), 512);
  pad_vocabulary(job);
  EXPECT_EQ(job.model.vocab, 32256);
  EXPECT_EQ(job.unpadded_vocab, 32001);
  // Idempotent, and from the written size when tp changes: tp 2 pads 32001 to a multiple of
  // 256, ⌈32001 / 256⌉ = 126, 126 · 256 = 32256 again; tp 1 divides it, which restores it.
  pad_vocabulary(job);
  EXPECT_EQ(job.model.vocab, 32256);
  job.parallelism.tp = 2;
  pad_vocabulary(job);
  EXPECT_EQ(job.model.vocab, 32256);
  job.parallelism.tp = 1;
  pad_vocabulary(job);
  EXPECT_EQ(job.model.vocab, 32001);
  EXPECT_FALSE(job.unpadded_vocab);
  // JAX under GSPMD pads to a multiple of the shard count: PaLM's 256,000 over tp 12 is
  // ⌈256000 / 12⌉ · 12 = 21334 · 12 = 256008; Megatron-LM's 1536 would give 167 · 1536 = 256512.
  job.model.vocab = 256000;
  job.parallelism.tp = 12;
  job.framework.framework = Framework::jax_gspmd;
  pad_vocabulary(job);
  EXPECT_EQ(job.model.vocab, 256008);
  job.framework.framework = Framework::megatron_core;
  pad_vocabulary(job);
  EXPECT_EQ(job.model.vocab, 256512);
  // A vocabulary tp divides is left as written (GPT cases keep their prediction).
  TrainingJob divided = dense_job();
  pad_vocabulary(divided);
  EXPECT_EQ(divided.model.vocab, 32000);
  EXPECT_FALSE(divided.unpadded_vocab);
}

TEST(StrategyCheck, DegreesMustFillTheCluster) {
  TrainingJob job = dense_job();
  job.parallelism.dp = 4;  // 4·2·1·4 = 32 devices for 16; tp·pp·cp = 8 fits 16 / 8 = 2 times
  EXPECT_EQ(text_of(check_strategy(two_nodes(), job)),
            "parallelism.dp: tp·pp·cp·dp = 4·2·1·4 = 32, but the cluster has 16 devices (2 nodes "
            "× 8); use dp: 2\n");
  // One node is "1 node", not "1 nodes".
  ClusterSpec one_node = two_nodes();
  one_node.nodes = 1;
  EXPECT_EQ(text_of(check_strategy(one_node, job)),
            "parallelism.dp: tp·pp·cp·dp = 4·2·1·4 = 32, but the cluster has 8 devices (1 node "
            "× 8); use dp: 1\n");
  // On its own the job is its own cluster of 32 devices, and valid.
  EXPECT_TRUE(check_strategy(job).empty());

  job.parallelism.pp = 3;  // 4·3 = 12 does not divide 16: no dp fits
  job.model.layers = 9;
  const auto problems = check_strategy(two_nodes(), job);
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems.front().key, "parallelism.tp");
  EXPECT_EQ(problems.front().message,
            "tp·pp·cp = 12 does not divide the 16 devices, so no data-parallel degree fits");
}

TEST(StrategyCheck, FittingDataParallelDegree) {
  ParallelismSpec p = dense_job().parallelism;
  EXPECT_EQ(fitting_data_parallel_degree(two_nodes(), p), 2);  // 16 / (4·2)
  p.pp = 3;
  EXPECT_EQ(fitting_data_parallel_degree(two_nodes(), p), 1);  // 12 does not divide 16
}

TEST(StrategyCheck, ExpertParallelRules) {
  TrainingJob job = moe_job();
  job.parallelism.ep = 3;  // divides neither the 8 experts nor dp 2
  EXPECT_EQ(text_of(check_strategy(two_nodes(), job)),
            "parallelism.ep: 3 does not divide moe.experts (8); use one of 1, 2, 4, 8\n"
            "parallelism.ep: 3 does not divide dp (2): expert-parallel ranks are carved out of the "
            "data-parallel ranks; use one of 1, 2\n");

  job = moe_job();
  job.parallelism.sequence_parallel = false;
  job.parallelism.zero = 3;
  const auto problems = check_strategy(two_nodes(), job);
  ASSERT_EQ(problems.size(), 2u) << text_of(problems);
  // Left out of a file, sequence_parallel is reported at tp, which the file writes.
  EXPECT_EQ(problems[0].key, "parallelism.sequence_parallel");
  EXPECT_EQ(problems[0].key_if_unwritten, "parallelism.tp");
  EXPECT_EQ(problems[1].key, "parallelism.zero");

  job = dense_job();
  job.parallelism.ep = 2;
  EXPECT_EQ(text_of(check_strategy(two_nodes(), job)),
            "parallelism.ep: expert parallelism needs a model with MoE layers (model.moe, or a "
            "preset such as mixtral-8x7b); use ep: 1\n");
}

TEST(StrategyCheck, ContextParallelDegreeMustDivideTheSequence) {
  TrainingJob job = dense_job();
  job.parallelism.cp = 3;
  job.parallelism.dp = 1;    // 4·2·3·1 = 24
  job.model.seq_len = 2000;  // 2000 = 2^4 · 5^3
  EXPECT_EQ(text_of(check_strategy(job)),
            "parallelism.cp: 3 does not divide seq_len (2000); use one of 1, 2, 4, 5, 8, 10, 16, "
            "20, 25, 40, 50, 80\n");
}

TEST(StrategyCheck, VirtualStagesGoWithTheInterleavedSchedule) {
  TrainingJob job = dense_job();
  job.parallelism.virtual_stages = 2;
  EXPECT_EQ(check_strategy(job).at(0).key, "parallelism.virtual_stages");
  job.parallelism.schedule = PipelineSchedule::interleaved_1f1b;
  job.parallelism.virtual_stages = 6;  // 2·6 = 12 chunks for 8 layers
  EXPECT_EQ(text_of(check_strategy(job)),
            "parallelism.virtual_stages: pp·virtual_stages = 12 model chunks need a layer each "
            "but the first and last (which may hold the embedding and the output head alone), "
            "but the model has 8; use pp·virtual_stages of at most 10\n");
  job.parallelism.virtual_stages = 2;
  job.training.global_batch = 6;  // 6 / (1·2) = 3 micro-batches, not a multiple of pp 2
  EXPECT_EQ(text_of(check_strategy(job)),
            "parallelism.schedule: interleaved-1f1b needs the micro-batches per pipeline (3) to "
            "be a multiple of pp (2)\n");
}

TEST(StrategyCheck, BatchRulesWaitForTheDegrees) {
  TrainingJob job = dense_job();
  job.training.global_batch = 31;  // not a multiple of 1·2
  EXPECT_EQ(text_of(check_strategy(job)),
            "parallelism.dp: global_batch (31) is not a multiple of micro_batch·dp (1·2)\n");
  job.parallelism.tp = 3;  // 3 does not divide heads: the batch is no longer looked at
  job.model.kv_heads = 1;
  const std::string text = text_of(check_strategy(job));
  EXPECT_NE(text.find("parallelism.tp: 3 does not divide heads (16)"), std::string::npos) << text;
  EXPECT_EQ(text.find("global_batch"), std::string::npos) << text;
}

TEST(StrategyCheck, TooManyMicroBatchesOrOpsAreRefused) {
  TrainingJob job = dense_job();
  job.training.global_batch = 2 * (max_microbatches + 1);
  EXPECT_EQ(text_of(check_strategy(job)),
            "parallelism.dp: 65537 micro-batches per pipeline per step is beyond the limit of "
            "65536; raise micro_batch\n");
  // 1000 layers over pp 2, 65536 micro-batches: far beyond max_plan_ops even for the 8 ranks of
  // the one data-parallel replica (of 2) that is simulated for both.
  job.training.global_batch = 2 * max_microbatches;
  job.model.layers = 1000;
  const auto problems = check_strategy(job);
  ASSERT_EQ(problems.size(), 1u) << text_of(problems);
  EXPECT_EQ(problems[0].key, "parallelism.dp");
  EXPECT_NE(
      problems[0].message.find("(8 simulated ranks × 65536 micro-batches × 500 layers per stage)"),
      std::string::npos)
      << problems[0].message;
}

TEST(StrategyCheck, DegreesOutOfRangeAreReportedBeforeAnythingDividesByThem) {
  TrainingJob job = dense_job();
  job.parallelism.tp = 0;
  job.parallelism.zero = 4;
  job.training.micro_batch = 0;
  EXPECT_EQ(text_of(check_strategy(two_nodes(), job)),
            "parallelism.tp: 0 is out of range; use 1 or more\n"
            "parallelism.zero: 4 is out of range; use a value from 0 to 3\n"
            "training.micro_batch: 0 is out of range; use 1 or more\n");
}

TEST(StrategyCheck, TheDeviceMustHaveAPeakForTheDtype) {
  TrainingJob job = dense_job();
  job.training.dtype = Dtype::fp8;
  EXPECT_EQ(text_of(check_strategy(two_nodes(), job)),
            "training.dtype: test-gpu has no fp8 peak in the catalog; use one of bf16\n");
}

TEST(StrategyCheck, DivisorHint) {
  EXPECT_EQ(divisor_hint(96), "1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 96");
  EXPECT_EQ(divisor_hint(1 << 20), "1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048");  // 12
  EXPECT_EQ(divisor_hint(97, 10), "1");
}

}  // namespace
}  // namespace scaleplan
