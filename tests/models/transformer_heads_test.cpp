// Attention heads whose width is not hidden / heads (model.head_dim) and per-head query and key
// norms (model.qk_norm), with the Qwen3 presets that have both.
#include <algorithm>

#include <gtest/gtest.h>

#include "models/transformer.hpp"

namespace scaleplan {
namespace {

TEST(Transformer, Qwen3MoeParameterCountsMatchTheModelCards) {
  // Qwen3 model cards (Qwen/Qwen3-30B-A3B, Qwen/Qwen3-235B-A22B): 30.5B parameters, 3.3B
  // activated; 235B, 22B activated. Their heads are 128 wide, wider than hidden / heads.
  const auto small = *transformer_preset("qwen3-30b-a3b");
  const auto large = *transformer_preset("qwen3-235b-a22b");
  EXPECT_NEAR(total_parameters(small) / 30.5e9, 1.0, 0.005);
  EXPECT_NEAR(active_parameters(small) / 3.3e9, 1.0, 0.02);
  EXPECT_NEAR(total_parameters(large) / 235e9, 1.0, 0.005);
  EXPECT_NEAR(active_parameters(large) / 22e9, 1.0, 0.02);
  // By hand from config.json (30B-A3B): q 2048·(32·128), k and v 2048·(4·128) each, o
  // (32·128)·2048, q and k norms 128 each, two RMSNorms of 2048, router 128·2048, 128 experts of
  // 3·2048·768.
  const double attention = 2048.0 * 4096 + 2 * 2048.0 * 512 + 4096.0 * 2048 + 2 * 128;
  const double layer = attention + 2 * 2048 + 128 * 2048.0 + 128 * 3 * 2048.0 * 768;
  EXPECT_DOUBLE_EQ(layer_parameters(small, 0), layer);
}

TEST(Transformer, HeadsWiderThanHiddenOverHeadsWidenTheProjectionsAndTheScores) {
  // Qwen3-30B-A3B's attention, 32 query and 4 key/value heads of 128 on a hidden of 2048, and the
  // same model with heads of hidden / heads = 64: the QKV and output projections and the
  // attention kernel grow with the head width, the MLP does not.
  auto wide = *transformer_preset("qwen3-30b-a3b");
  wide.qk_norm = false;
  auto narrow = wide;
  narrow.attention_head_dim = 0;
  ASSERT_EQ(narrow.head_dim(), 64);
  const LayerPartition tp2{2, 1, true};
  const LayerWork w = transformer_layer(wide, 1, tp2, Dtype::bf16);
  const LayerWork n = transformer_layer(narrow, 1, tp2, Dtype::bf16);
  const auto& f = w.attention.forward;
  ASSERT_EQ(f[1].name, "qkv");
  EXPECT_EQ(f[1].gemm.n, (4096 + 2 * 512) / 2);
  EXPECT_EQ(f[1].gemm.k, 2048);
  const auto find = [](const std::vector<Kernel>& ks, const std::string& name) {
    return *std::find_if(ks.begin(), ks.end(), [&](const Kernel& k) { return k.name == name; });
  };
  EXPECT_EQ(find(f, "attn_proj").gemm.k, 4096 / 2);
  EXPECT_EQ(find(f, "attn_proj").gemm.n, 2048);
  const std::string fused = f[2].name;
  EXPECT_DOUBLE_EQ(find(f, fused).flops, 2 * find(n.attention.forward, fused).flops);
  EXPECT_DOUBLE_EQ(w.mlp.forward[1].flops, n.mlp.forward[1].flops);
  EXPECT_DOUBLE_EQ(layer_parameters(wide, 0) - layer_parameters(narrow, 0),
                   2048.0 * (2048 + 2 * 256) + 2048.0 * 2048);
}

TEST(Transformer, QkNormNormalisesEachRanksQueriesAndKeysAfterTheProjection) {
  const auto m = *transformer_preset("qwen3-30b-a3b");
  auto plain = m;
  plain.qk_norm = false;
  const LayerPartition tp2{2, 1, true};
  const LayerWork w = transformer_layer(m, 2, tp2, Dtype::bf16);
  const LayerWork p = transformer_layer(plain, 2, tp2, Dtype::bf16);
  const auto& f = w.attention.forward;
  ASSERT_EQ(f[2].name, "qk_norm");
  // 2 x 4096 tokens, the rank's 16 query and 2 key heads of 128, read and written in bf16.
  const double elements = 2 * 4096.0 * (16 + 2) * 128;
  EXPECT_DOUBLE_EQ(f[2].bytes, 2 * elements * 2);
  EXPECT_EQ(f.size(), p.attention.forward.size() + 1);
  EXPECT_EQ(w.attention.backward_input.size(), p.attention.backward_input.size() + 1);
  // Its input is kept for its backward.
  EXPECT_DOUBLE_EQ(w.attention.activation_bytes - p.attention.activation_bytes, elements * 2);
  // Two gains of 128 per layer.
  EXPECT_DOUBLE_EQ(layer_parameters(m, 0) - layer_parameters(plain, 0), 2 * 128.0);
}

}  // namespace
}  // namespace scaleplan
