// What the report counts: MFU by the field's convention and HFU beside it, the step split of the
// stage that bound the step, and the notes on modelling a reader might not expect.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/report/prediction.hpp"

namespace scaleplan {
namespace {

Prediction run(const std::string& text) {
  const Scenario s = parse_scenario(text, "s.yaml", Catalog::builtin());
  return predict(s, prepare_run(s, Catalog::builtin()));
}

std::string scenario(const std::string& model, const std::string& parallelism) {
  return "name: acc\n"
         "cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 8}\n"
         "model: " +
         model +
         "\n"
         "training: {global_batch: 8, micro_batch: 1, dtype: bf16}\n"
         "parallelism: " +
         parallelism + "\n";
}

TEST(ReportAccounting, HardwareFlopsAddWhatRecomputeRunsAgain) {
  // Materialised attention without a mask runs exactly the model's FLOPs: every GEMM forward,
  // input and weight gradient; both attention products forward and twice each backward.
  const std::string model =
      "{preset: gpt3-1.3b, layers: 8, attention: materialized, causal: false}";
  const Prediction plain = run(scenario(model, "{tp: 2, pp: 2, dp: 2}"));
  EXPECT_NEAR(plain.hardware_flops_per_step / plain.model_flops_per_step, 1.0, 1e-9);
  EXPECT_NEAR(plain.hfu / plain.mfu, 1.0, 1e-9);
  // Full recompute runs every layer's forward again: a third of the layers' FLOPs (forward one
  // part in three), i.e. of all but the output projection's 3 · 2·h·V per token.
  const Prediction full = run(scenario(model, "{tp: 2, pp: 2, dp: 2, recompute: full}"));
  const double tokens = 8.0 * 2048;
  const double head = 3 * 2 * 2048.0 * 51200 * tokens;
  const double expected = full.model_flops_per_step + (full.model_flops_per_step - head) / 3;
  EXPECT_NEAR(full.hardware_flops_per_step / expected, 1.0, 1e-9);
  EXPECT_NEAR(full.hfu / full.mfu, expected / full.model_flops_per_step, 1e-9);
  const auto json = nlohmann::json::parse(format_json(full));
  EXPECT_EQ(json["mfu_convention"], "model FLOPs, causal attention counted half");
  EXPECT_DOUBLE_EQ(json["hfu"].get<double>(), full.hfu);
  EXPECT_NE(format_text(full).find("HFU "), std::string::npos);
}

TEST(ReportAccounting, TheSplitIsThatOfTheStageThatBoundTheStep) {
  // 5 layers on 2 stages: the first gives one back for the embedding, so stage 0 runs 2 layers
  // and stage 1 runs 3 and the output head. Stage 1 computes longest: it binds the step, and
  // the other waits on it.
  const Prediction p = run(scenario("{preset: gpt3-1.3b, layers: 5}", "{tp: 2, pp: 2, dp: 2}"));
  ASSERT_EQ(p.stage_breakdown.size(), 2u);
  for (int s = 0; s < 2; ++s) {
    EXPECT_EQ(p.stage_breakdown[s].stage, s);
    EXPECT_EQ(coordinates_of(p.stage_breakdown[s].rank, p.parallelism).pp, s);
  }
  EXPECT_GT(p.stage_breakdown[1].compute_s, p.stage_breakdown[0].compute_s);
  EXPECT_EQ(p.breakdown.stage, 1);
  EXPECT_EQ(p.breakdown.bound_by(), Stream::compute);
  EXPECT_GT(p.stage_breakdown[0].bubble_s, p.stage_breakdown[1].bubble_s);
  const std::string text = format_text(p);
  EXPECT_NE(text.find("step split (stage 1, the busiest, rank "), std::string::npos) << text;
  EXPECT_NE(text.find("  bound by                 stage 1, compute ("), std::string::npos) << text;
  const auto json = nlohmann::json::parse(format_json(p));
  EXPECT_EQ(json["stage_breakdown"].size(), 2u);
  EXPECT_EQ(json["breakdown"]["stage"], 1);
  EXPECT_EQ(json["breakdown"]["bound_by"], "compute");
}

TEST(ReportAccounting, ExposedCommunicationIsNamedByStream) {
  // A bound step's resource: the exposed time by stream never exceeds the stream's share of the
  // whole exposed time, and the tensor-parallel all-reduces of tp 8 are exposed (they sit on
  // the compute chain).
  const Prediction p = run(scenario("{preset: gpt3-1.3b, layers: 4}", "{tp: 8}"));
  const auto& b = p.breakdown;
  const double tp = b.exposed_by_stream_s[static_cast<std::size_t>(Stream::tp_comm)];
  EXPECT_GT(tp, 0);
  EXPECT_LE(tp, b.exposed_comm_s + 1e-12);
  EXPECT_EQ(b.exposed_by_stream_s[static_cast<std::size_t>(Stream::compute)], 0);
}

TEST(ReportAccounting, SelectiveRecomputeWithFlashAttentionIsSaidToChangeNothing) {
  const Prediction flash = run(
      scenario("{preset: gpt3-1.3b, layers: 4}", "{tp: 2, pp: 2, dp: 2, recompute: selective}"));
  ASSERT_FALSE(flash.notes.empty());
  EXPECT_NE(flash.notes[0].find("recompute: selective changes nothing with flash attention"),
            std::string::npos);
  EXPECT_NE(format_text(flash).find("note: recompute: selective changes nothing"),
            std::string::npos);
  // The same plan without recompute takes the same time: nothing was recomputed.
  const Prediction none = run(scenario("{preset: gpt3-1.3b, layers: 4}", "{tp: 2, pp: 2, dp: 2}"));
  EXPECT_EQ(flash.step_time_s, none.step_time_s);
  // Materialised attention keeps scores that selective recompute drops: no note.
  const Prediction materialised =
      run(scenario("{preset: gpt3-1.3b, layers: 4, attention: materialized}",
                   "{tp: 2, pp: 2, dp: 2, recompute: selective}"));
  EXPECT_TRUE(materialised.notes.empty());
}

TEST(ReportAccounting, RecomputingTheMlpKeepsOnlyItsInputAndRunsItAgain) {
  const std::string model = "{preset: gpt3-1.3b, layers: 4}";
  const Prediction core = run(scenario(model, "{tp: 2, pp: 2, dp: 2, recompute: selective}"));
  const Prediction mlp = run(scenario(
      model, "{tp: 2, pp: 2, dp: 2, recompute: selective, recompute_modules: [core_attn, mlp]}"));
  const Prediction full = run(scenario(model, "{tp: 2, pp: 2, dp: 2, recompute: full}"));
  // Between none (the same as selective with fused attention) and full, in memory and in time.
  EXPECT_LT(mlp.memory.activations_bytes, core.memory.activations_bytes);
  EXPECT_GT(mlp.memory.activations_bytes, full.memory.activations_bytes);
  EXPECT_GT(mlp.step_time_s, core.step_time_s);
  EXPECT_LT(mlp.step_time_s, full.step_time_s);
  // The hardware FLOPs add the MLP's forward once more: its two GEMMs, 2 · 2 · tokens · h · 4h
  // per layer (1.3B: h 2048; 8 sequences of 2048 tokens; 4 layers).
  const double mlp_forward_flops = 2.0 * 2 * 8 * 2048 * 2048 * 8192 * 4;
  EXPECT_NEAR(mlp.hardware_flops_per_step - core.hardware_flops_per_step, mlp_forward_flops,
              1e-9 * mlp_forward_flops);
  EXPECT_NE(format_text(mlp).find("note: recompute: selective runs again before each layer's "
                                  "backward: the dense layers' MLP (keeping its input)"),
            std::string::npos)
      << format_text(mlp);
}

TEST(ReportAccounting, LayernormRecomputeKeepsLessAndRunsTheNormsAgain) {
  // The two norms' outputs not kept, made again before each layer's backward: fewer activations,
  // a slightly longer step, no tensor-parallel traffic of their own, and the note says so.
  const std::string model = "{preset: gpt3-1.3b, layers: 4}";
  const Prediction core = run(scenario(model, "{tp: 2, pp: 2, dp: 2, recompute: selective}"));
  const Prediction norms = run(scenario(
      model, "{tp: 2, pp: 2, dp: 2, recompute: selective, recompute_modules: [layernorm]}"));
  EXPECT_LT(norms.memory.activations_bytes, core.memory.activations_bytes);
  EXPECT_GT(norms.step_time_s, core.step_time_s);
  EXPECT_DOUBLE_EQ(norms.hardware_flops_per_step, core.hardware_flops_per_step);
  EXPECT_NE(format_text(norms).find("the norms before attention and the MLP (keeping their "
                                    "inputs)"),
            std::string::npos)
      << format_text(norms);
}

TEST(ReportAccounting, MultiTokenPredictionIsNamedInTheModelLineTheNoteAndTheJson) {
  // GPT-3 1.3B (4 layers, tied head) with one module: one more of its layers, eh_proj
  // (2·2048 → 2048, no bias) and three LayerNorms of 2·2048 (gain and bias).
  const Prediction p =
      run(scenario("{preset: gpt3-1.3b, layers: 4, mtp_layers: 1}", "{pp: 2, dp: 4}"));
  TransformerConfig m = *transformer_preset("gpt3-1.3b");
  m.layers = 4;
  const double module = layer_parameters(m, 4) + 2 * 2048.0 * 2048 + 3 * 2 * 2048.0;
  EXPECT_EQ(p.mtp_modules, 1);
  EXPECT_DOUBLE_EQ(p.mtp_parameters, module);
  const std::string text = format_text(p);
  EXPECT_NE(text.find("of them in 1 multi-token prediction module)"), std::string::npos) << text;
  EXPECT_NE(text.find("note: multi-token prediction: 1 module after the last layer, on the last "
                      "pipeline stage: one more transformer layer"),
            std::string::npos)
      << text;
  const nlohmann::json j = nlohmann::json::parse(format_json(p));
  EXPECT_EQ(j.at("mtp_modules"), 1);
  EXPECT_DOUBLE_EQ(j.at("mtp_parameters").get<double>(), module);
  // A model without modules says nothing of them.
  const Prediction plain = run(scenario("{preset: gpt3-1.3b, layers: 4}", "{pp: 2, dp: 4}"));
  EXPECT_FALSE(nlohmann::json::parse(format_json(plain)).contains("mtp_modules"));
  EXPECT_EQ(format_text(plain).find("multi-token"), std::string::npos);
}

}  // namespace
}  // namespace scaleplan
