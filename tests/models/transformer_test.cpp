#include "models/transformer.hpp"

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

TEST(Transformer, Gpt3ParameterCountMatchesPublished) {
  // Brown et al. 2020, Table 2.1: 175.0 B parameters.
  const auto gpt3 = *transformer_preset("gpt3-175b");
  EXPECT_NEAR(total_parameters(gpt3) / 175.0e9, 1.0, 0.01);
}

TEST(Transformer, Llama2ParameterCountMatchesPublished) {
  // Released Llama-2-70b checkpoint: 68,976,648,192 parameters (its safetensors index lists
  // 137,953,296,384 bytes of 16-bit weights).
  const auto llama = *transformer_preset("llama2-70b");
  EXPECT_NEAR(total_parameters(llama) / 68'976'648'192.0, 1.0, 0.01);
  // And Llama-2-7b: 6,738,415,616.
  EXPECT_NEAR(total_parameters(*transformer_preset("llama2-7b")) / 6'738'415'616.0, 1.0, 0.01);
}

TEST(Transformer, TrainingFlopsMatchSixNPlusAttention) {
  for (const char* name : {"gpt3-175b", "llama2-70b", "llama3-405b", "megatron-1t"}) {
    const auto m = *transformer_preset(name);
    // 6 FLOPs per parameter per token for the matrix multiplies (forward 2, backward 4), plus
    // 12·l·h·s for attention scores and values over the whole sequence. N counts every weight
    // that multiplies activations: all but the position embeddings, norms and biases.
    double n = total_parameters(m);
    if (m.learned_positions)
      n -= static_cast<double>(m.seq_len * m.hidden);
    const double h = static_cast<double>(m.hidden), l = static_cast<double>(m.layers);
    const double f = static_cast<double>(m.ffn_hidden), kv = static_cast<double>(m.kv_dim());
    if (m.biases)
      n -= l * (h + 2 * kv + f + 2 * h);
    n -= l * 2 * m.norm_parameters_per_hidden * h + m.norm_parameters_per_hidden * h;
    // The input embedding is a lookup, the output projection a GEMM: tied, they count once;
    // untied, the lookup table does no arithmetic.
    if (!m.tied_embeddings)
      n -= static_cast<double>(m.vocab) * h;
    const double expected = 6 * n + 12 * l * h * static_cast<double>(m.seq_len);
    EXPECT_NEAR(training_flops_per_token(m) / expected, 1.0, 1e-9) << name;
  }
}

TEST(Transformer, Gpt3FlopsMatchMegatronFormula) {
  // Narayanan et al. 2021, eq. 3: 72·B·s·l·h²·(1 + s/(6h) + V/(12·h·l)) per iteration.
  const auto m = *transformer_preset("gpt3-175b");
  const double h = 12288, l = 96, s = 2048, v = 51200;
  const double per_token = 72 * l * h * h * (1 + s / (6 * h) + v / (12 * h * l));
  EXPECT_NEAR(training_flops_per_token(m) / per_token, 1.0, 1e-6);
}

// Korthikanti et al. 2022, Table 2: activation bytes per layer, with t-way tensor parallelism:
//   none:                 s·b·h·(10 + 24/t + 5·a·s/(h·t))
//   sequence parallel:    s·b·h/t·(34 + 5·a·s/h)
//   selective + sp:       s·b·h/t·34
struct KorthikantiCase {
  const char* preset;
  int tp;
};

TEST(Transformer, ActivationsMatchKorthikanti) {
  for (auto [name, t] : {KorthikantiCase{"megatron-22b", 8},
                         {"gpt3-175b", 8},
                         {"megatron-530b", 8},
                         {"megatron-1t", 8}}) {
    auto m = *transformer_preset(name);
    m.flash_attention = false;  // the paper's Megatron-LM materialised the attention scores
    const double s = static_cast<double>(m.seq_len), h = static_cast<double>(m.hidden);
    const double a = static_cast<double>(m.heads), b = 1;
    auto layer_bytes = [&](bool sp, bool selective) {
      const LayerWork w = transformer_layer(m, 1, {t, 1, sp}, Dtype::fp16);
      double bytes = w.attention.activation_bytes + w.mlp.activation_bytes;
      if (selective)
        bytes -= w.attention.selective_recompute_saved_bytes;
      return bytes;
    };
    const double plain = s * b * h * (10 + 24.0 / t + 5 * a * s / (h * t));
    const double with_sp = s * b * h / t * (34 + 5 * a * s / h);
    const double selective_sp = s * b * h / t * 34;
    EXPECT_NEAR(layer_bytes(false, false) / plain, 1.0, 0.01) << name;
    EXPECT_NEAR(layer_bytes(true, false) / with_sp, 1.0, 0.01) << name;
    EXPECT_NEAR(layer_bytes(true, true) / selective_sp, 1.0, 0.01) << name;
  }
}

TEST(Transformer, FlashAttentionKeepsNoScoresAndSkipsTheMaskedHalf) {
  auto m = *transformer_preset("llama3-8b");
  const LayerWork fused = transformer_layer(m, 1, {1, 1, false}, Dtype::bf16);
  m.flash_attention = false;
  const LayerWork materialised = transformer_layer(m, 1, {1, 1, false}, Dtype::bf16);
  auto attention_flops = [](const std::vector<Kernel>& kernels) {
    double f = 0;
    for (const auto& k : kernels)
      f += k.kind == KernelKind::attention ? k.flops : 0;
    return f;
  };
  // Causal: half the score tiles forward; backward 2.5 times the fused forward, against twice
  // the materialised forward.
  EXPECT_DOUBLE_EQ(attention_flops(fused.attention.forward),
                   0.5 * attention_flops(materialised.attention.forward));
  EXPECT_DOUBLE_EQ(attention_flops(fused.attention.backward),
                   2.5 * attention_flops(fused.attention.forward));
  // No s×s term in the stored activations: 8192 tokens, 32 heads of fp32 statistics.
  EXPECT_DOUBLE_EQ(materialised.attention.activation_bytes - fused.attention.activation_bytes,
                   materialised.attention.selective_recompute_saved_bytes - 8192.0 * 32 * 4);
  EXPECT_TRUE(fused.attention.recompute_selective.empty());
  // Model FLOPs (for MFU) do not depend on the kernel.
  EXPECT_DOUBLE_EQ(training_flops_per_token(m),
                   training_flops_per_token(*transformer_preset("llama3-8b")));
}

TEST(Transformer, TensorParallelSplitsGemms) {
  const auto m = *transformer_preset("gpt3-175b");
  const LayerWork one = transformer_layer(m, 1, {1, 1, false}, Dtype::bf16);
  const LayerWork eight = transformer_layer(m, 1, {8, 1, false}, Dtype::bf16);
  EXPECT_EQ(one.attention.forward[1].gemm.n, 3 * 12288);
  EXPECT_EQ(eight.attention.forward[1].gemm.n, 3 * 12288 / 8);
  EXPECT_EQ(one.attention.tp_collective_bytes, 0);
  EXPECT_DOUBLE_EQ(eight.attention.tp_collective_bytes, 2048.0 * 12288 * 2);
}

}  // namespace
}  // namespace scaleplan
