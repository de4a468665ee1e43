// A language model is a layer graph: every transformer preset is decoder_graph of its
// configuration, which gives the configuration back, and a decoder written as a list of layers
// (token-embedding, transformer, output) predicts exactly what the preset of its dimensions does.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "models/layer_graph.hpp"
#include "sim/plan/plan_io.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {
namespace {

bool same_config(const TransformerConfig& a, const TransformerConfig& b) {
  return a.name == b.name && a.layers == b.layers && a.hidden == b.hidden &&
         a.ffn_hidden == b.ffn_hidden && a.heads == b.heads && a.kv_heads == b.kv_heads &&
         a.vocab == b.vocab && a.seq_len == b.seq_len && a.gated_mlp == b.gated_mlp &&
         a.biases == b.biases && a.learned_positions == b.learned_positions &&
         a.tied_embeddings == b.tied_embeddings &&
         a.norm_parameters_per_hidden == b.norm_parameters_per_hidden &&
         a.flash_attention == b.flash_attention && a.causal == b.causal &&
         a.moe.experts == b.moe.experts && a.moe.top_k == b.moe.top_k &&
         a.moe.shared_experts == b.moe.shared_experts &&
         a.moe.expert_ffn_hidden == b.moe.expert_ffn_hidden &&
         a.moe.capacity_factor == b.moe.capacity_factor &&
         a.moe.dense_layers == b.moe.dense_layers && a.mla.q_lora_rank == b.mla.q_lora_rank &&
         a.mla.kv_lora_rank == b.mla.kv_lora_rank &&
         a.mla.qk_nope_head_dim == b.mla.qk_nope_head_dim &&
         a.mla.qk_rope_head_dim == b.mla.qk_rope_head_dim && a.mla.v_head_dim == b.mla.v_head_dim;
}

TEST(DecoderGraph, EveryTransformerPresetIsAShippedGraphThatGivesItsConfigurationBack) {
  for (const std::string& name : transformer_preset_names()) {
    const TransformerConfig model = *transformer_preset(name);
    const std::optional<LayerGraph> graph = model_preset_graph(name);
    ASSERT_TRUE(graph) << name;
    ASSERT_TRUE(is_decoder_graph(*graph)) << name;
    EXPECT_EQ(graph->layers.size(), static_cast<std::size_t>(model.layers + 2)) << name;
    const DecoderReading back = decoder_config(*graph);
    ASSERT_TRUE(back.config) << name << ": " << back.problem;
    EXPECT_TRUE(same_config(*back.config, model)) << name;
    // The graph counts the parameters the transformer does.
    EXPECT_DOUBLE_EQ(graph_total_parameters(*graph), total_parameters(model)) << name;
  }
}

TEST(DecoderGraph, LayersThatDisagreeAreNotADecoder) {
  LayerGraph graph = decoder_graph(*transformer_preset("deepseek-v3"));
  EXPECT_EQ(decoder_config(graph).config->moe.dense_layers, 3);
  // A dense layer after the MoE ones.
  LayerGraph dense_late = graph;
  dense_late.layers[10].encoder->moe = MoeConfig{};
  EXPECT_NE(decoder_config(dense_late).problem.find("dense layer after an MoE layer"),
            std::string::npos);
  EXPECT_EQ(decoder_config(dense_late).layer, 10u);
  LayerGraph wide = graph;
  wide.layers[5].encoder->hidden *= 2;
  EXPECT_NE(decoder_config(wide).problem.find("hidden"), std::string::npos);
  LayerGraph vocab = graph;
  vocab.layers.back().encoder->vocab += 1;
  EXPECT_NE(decoder_config(vocab).problem.find("vocab"), std::string::npos);
  // A graph of another shape is no decoder.
  EXPECT_FALSE(is_decoder_graph(*graph_preset("vit-b/16")));
  EXPECT_FALSE(decoder_config(*graph_preset("vit-b/16")).config);
}

std::string report_of(const std::string& text, bool json) {
  const Catalog& catalog = Catalog::builtin();
  const Scenario s = parse_scenario(text, "s.yaml", catalog);
  const Prediction p = predict(s, prepare_run(s, catalog));
  return json ? format_json(p) : format_text(p, true);
}

std::string scenario_text(const std::string& model, const std::string& parallelism) {
  return R"(name: decoder
cluster:
  device: H100-SXM5-80GB
  nodes: 2
  devices_per_node: 8
  node_fabric: nvswitch
  network: {topology: fat-tree, link_bandwidth_gbps: 400, nics_per_node: 8}
model:
)" + model +
         R"(training:
  global_batch: 64
  micro_batch: 1
  dtype: bf16
parallelism:
)" + parallelism;
}

void expect_same_reports(const std::string& preset, const std::string& layers,
                         const std::string& parallelism) {
  const std::string a = scenario_text(preset, parallelism);
  const std::string b = scenario_text(layers, parallelism);
  EXPECT_EQ(report_of(a, false), report_of(b, false));
  EXPECT_EQ(report_of(a, true), report_of(b, true));
}

TEST(DecoderGraph, ALlamaWrittenAsLayersPredictsWhatItsPresetDoes) {
  // Llama 2 7B, shortened to 8 layers, under tp 4 with sequence parallelism, context
  // parallelism, two pipeline stages and selective recompute.
  const std::string preset = "  preset: llama2-7b\n  layers: 8\n";
  const std::string layers = R"(  name: llama2-7b
  layers:
    - {kind: token-embedding, vocab: 32000, hidden: 4096, seq_len: 4096, family: llama}
    - {kind: transformer, repeat: 8, hidden: 4096, heads: 32, kv_heads: 32, ffn_hidden: 11008,
       seq_len: 4096, causal: true, family: llama}
    - {kind: output, vocab: 32000, hidden: 4096, seq_len: 4096, family: llama}
)";
  expect_same_reports(preset, layers,
                      "  tp: 4\n  sequence_parallel: true\n  cp: 2\n  pp: 2\n"
                      "  recompute: selective\n");
}

TEST(DecoderGraph, AnMoeModelWrittenAsLayersPredictsWhatItsPresetDoes) {
  // DeepSeek-V3's shape shortened: latent attention, a dense layer first, then MoE layers with a
  // shared expert, under expert parallelism.
  const std::string preset = R"(  preset: deepseek-v3
  layers: 4
  hidden: 1024
  heads: 16
  kv_heads: 16
  ffn_hidden: 4096
  seq_len: 1024
  vocab: 32768
  moe: {experts: 16, top_k: 4, shared_experts: 1, expert_ffn_hidden: 512, dense_layers: 1}
)";
  const std::string layers = R"(  name: deepseek-v3
  layers:
    - {kind: token-embedding, vocab: 32768, hidden: 1024, seq_len: 1024, family: llama}
    - {kind: transformer, hidden: 1024, heads: 16, ffn_hidden: 4096, seq_len: 1024,
       causal: true, family: llama,
       mla: {q_lora_rank: 1536, kv_lora_rank: 512, qk_nope_head_dim: 128, qk_rope_head_dim: 64,
             v_head_dim: 128}}
    - {kind: transformer, repeat: 3, hidden: 1024, heads: 16, ffn_hidden: 4096, seq_len: 1024,
       causal: true, family: llama,
       mla: {q_lora_rank: 1536, kv_lora_rank: 512, qk_nope_head_dim: 128, qk_rope_head_dim: 64,
             v_head_dim: 128},
       moe: {experts: 16, top_k: 4, shared_experts: 1, expert_ffn_hidden: 512}}
    - {kind: output, vocab: 32768, hidden: 1024, seq_len: 1024, family: llama}
)";
  expect_same_reports(preset, layers, "  tp: 2\n  sequence_parallel: true\n  ep: 4\n");
}

TEST(DecoderGraph, HeadsOfTheirOwnWidthWithQkNormWrittenAsLayersPredictWhatTheirPresetDoes) {
  // Qwen3-30B-A3B shortened to 4 layers: 32 query and 4 key/value heads of 128 on a hidden of
  // 2048, query and key norms, 128 experts; the layer keys head_dim and qk_norm as the model's.
  const std::string preset = "  preset: qwen3-30b-a3b\n  layers: 4\n";
  const std::string layers = R"(  name: qwen3-30b-a3b
  layers:
    - {kind: token-embedding, vocab: 151936, hidden: 2048, seq_len: 4096, family: llama}
    - {kind: transformer, repeat: 4, hidden: 2048, heads: 32, kv_heads: 4, head_dim: 128,
       qk_norm: true, ffn_hidden: 6144, seq_len: 4096, causal: true, family: llama,
       moe: {experts: 128, top_k: 8, expert_ffn_hidden: 768}}
    - {kind: output, vocab: 151936, hidden: 2048, seq_len: 4096, family: llama}
)";
  expect_same_reports(preset, layers, "  tp: 2\n  sequence_parallel: true\n  ep: 4\n");
}

std::string file_text(const std::string& path) {
  std::ifstream in(std::string(SCALEPLAN_SOURCE_DIR) + "/" + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(DecoderGraph, TheShippedLayerListPredictsWhatThePresetScenarioDoes) {
  // scenarios/gpt3-1.3b-layers-8xa100.yaml is gpt3-1.3b-8xa100.yaml with the preset written
  // out as its layers; with one name, the reports are the same byte for byte.
  std::string layers = file_text("scenarios/gpt3-1.3b-layers-8xa100.yaml");
  const std::string preset = file_text("scenarios/gpt3-1.3b-8xa100.yaml");
  ASSERT_FALSE(layers.empty());
  ASSERT_FALSE(preset.empty());
  const std::string name = "name: gpt3-1.3b-layers-8xa100";
  layers.replace(layers.find(name), name.size(), "name: gpt3-1.3b-8xa100");
  EXPECT_EQ(report_of(layers, false), report_of(preset, false));
  EXPECT_EQ(report_of(layers, true), report_of(preset, true));
}

std::string plan_text(const TrainingJob& job) {
  std::ostringstream out;
  write_plan(build_plan(job, RankScope::one_replica), out);
  return out.str();
}

TEST(DecoderGraph, AJobWithoutAGraphBuildsThePlanOfItsDecoderGraph) {
  // One builder walks the graph: a job made in code trains its model as the model's decoder
  // graph, op for op, under every kind of parallelism the transformer's layers take.
  TrainingJob job;
  job.model = *transformer_preset("deepseek-v3");
  job.model.layers = 4;
  job.model.moe.dense_layers = 1;
  job.training.global_batch = 16;
  job.training.micro_batch = 1;
  job.parallelism.tp = 2;
  job.parallelism.sequence_parallel = true;
  job.parallelism.pp = 2;
  job.parallelism.dp = 4;
  job.parallelism.ep = 2;
  job.parallelism.schedule = PipelineSchedule::zero_bubble_h1;
  TrainingJob as_graph = job;
  set_graph(as_graph, decoder_graph(job.model));
  EXPECT_EQ(plan_text(as_graph), plan_text(job));
}

TEST(DecoderGraph, AVitsTransformerLayersRunWholeUnderTheSameBuilder) {
  // A ViT is not a decoder graph: each of its layers, the transformer ones too, is one op per
  // pass, and pipeline stages count its graph layers.
  TrainingJob job;
  set_graph(job, *graph_preset("vit-b/16"));
  EXPECT_FALSE(runs_partitioned(job));
  job.training.global_batch = 8;
  job.training.micro_batch = 2;
  job.parallelism.pp = 2;
  job.parallelism.dp = 2;
  const Plan plan = build_plan(job, RankScope::one_replica);
  int encoder_forwards = 0;
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    for (const Op& op : plan.ops_of(r)) {
      const std::string& label = plan.labels[op.label];
      EXPECT_EQ(label.find("attention"), std::string::npos) << label;
      if (label == "encoder.0 forward")
        ++encoder_forwards;
    }
  }
  // The first stage's listed rank runs encoder.0 once per micro-batch (2 of them).
  EXPECT_EQ(encoder_forwards, 2);
}

TEST(DecoderGraph, ErrorsNameTheLayer) {
  const std::string text = scenario_text(R"(  layers:
    - {kind: token-embedding, vocab: 32000, hidden: 4096, seq_len: 4096}
    - {kind: transformer, repeat: 2, hidden: 2048, heads: 32, seq_len: 4096}
    - {kind: output, vocab: 32000, hidden: 4096, seq_len: 4096}
)",
                                         "  dp: 16\n");
  std::string error;
  try {
    parse_scenario(text, "s.yaml", Catalog::builtin());
  } catch (const InputError& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("model.layers: layer 0 (layer0): its hidden"), std::string::npos) << error;
}

}  // namespace
}  // namespace scaleplan
