#include "models/layer_graph.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

double forward_macs(const LayerGraph& g) {
  return graph_forward_flops_per_sample(g) / 2;
}

TEST(LayerGraph, ConvShapeIsTheIm2colGemm) {
  // ResNet's stem: 3×224×224 through a 7×7 stride-2 convolution padded by 3 to 64×112×112;
  // the implicit GEMM is 112·112 output pixels × 64 filters × 3·7·7 taps.
  const ConvShape c{3, 64, 7, 2, 3, 224, 224};
  EXPECT_EQ(c.out_height(), 112);
  EXPECT_EQ(c.out_width(), 112);
  const GemmShape g = c.gemm();
  EXPECT_EQ(g.m, 112 * 112);
  EXPECT_EQ(g.n, 64);
  EXPECT_EQ(g.k, 147);
}

TEST(LayerGraph, Resnet50ForwardIs4Point1GigaMacsPerImage) {
  // He et al. 2016, table 1: 3.8e9 FLOPs (multiply-adds) for v1; v1.5 moves the stride onto the
  // 3×3 convolution and costs 4.1e9 (NVIDIA's and torchvision's figure for 224×224).
  const LayerGraph g = resnet_graph(50);
  EXPECT_NEAR(forward_macs(g) / 4.1e9, 1.0, 0.02);
}

TEST(LayerGraph, Resnet50ParameterCountMatchesTorchvision) {
  // torchvision resnet50: 25,557,032 parameters.
  EXPECT_NEAR(graph_total_parameters(resnet_graph(50)) / 25'557'032.0, 1.0, 0.001);
  // resnet18: 11,689,512.
  EXPECT_NEAR(graph_total_parameters(resnet_graph(18)) / 11'689'512.0, 1.0, 0.001);
}

TEST(LayerGraph, VitLarge16ParameterCountMatchesThePaper) {
  // Dosovitskiy et al. 2021, table 1: ViT-Large 307M (ImageNet head of 1000 classes here).
  const LayerGraph g = *graph_preset("vit-l/16");
  EXPECT_NEAR(graph_total_parameters(g) / 307e6, 1.0, 0.01);
  // ViT-Base: 86M.
  EXPECT_NEAR(graph_total_parameters(*graph_preset("vit-b/16")) / 86e6, 1.0, 0.01);
}

TEST(LayerGraph, VitEncoderLayersAreTheTransformers) {
  // One way to do each thing: the encoder layer's kernels are the transformer's (non-causal).
  const LayerGraph g = *graph_preset("vit-b/16");
  const GraphLayer& encoder = g.layers[2];
  ASSERT_EQ(encoder.kind, LayerKind::transformer);
  const LayerWork lw = transformer_layer(*encoder.encoder, 4, LayerPartition{}, Dtype::bf16);
  const GraphLayerWork w = graph_layer_work(encoder, 4, 1, Dtype::bf16);
  EXPECT_EQ(w.forward.size(), lw.attention.forward.size() + lw.mlp.forward.size());
  EXPECT_DOUBLE_EQ(w.dense_parameters, layer_parameters(*encoder.encoder, 0));
  EXPECT_FALSE(encoder.encoder->causal);
  EXPECT_EQ(encoder.encoder->seq_len, 197);  // 14×14 patches and the class token
}

TEST(LayerGraph, DlrmAllToAllIsTheRanksPooledVectors) {
  // Each rank sends, for its 1,024 samples, one pooled 128-wide vector per table (26), in
  // 16-bit: 1024 · 26 · 128 · 2 = 6,815,744 bytes; the same back with their gradients.
  const LayerGraph g = dlrm_graph(dlrm_dcnv2_config());
  const auto it = std::find_if(g.layers.begin(), g.layers.end(),
                               [](const GraphLayer& l) { return l.kind == LayerKind::embedding; });
  ASSERT_NE(it, g.layers.end());
  const GraphLayerWork w = graph_layer_work(*it, 1024, 8, Dtype::bf16);
  EXPECT_DOUBLE_EQ(w.all_to_all_bytes, 6'815'744.0);
  EXPECT_DOUBLE_EQ(w.dense_parameters, 0.0);
  // One rank alone exchanges nothing.
  EXPECT_DOUBLE_EQ(graph_layer_work(*it, 1024, 1, Dtype::bf16).all_to_all_bytes, 0.0);
  // Lookups: the multi-hot sizes add up to 214 rows per sample, each 128 fp32 read.
  EXPECT_DOUBLE_EQ(w.forward.front().flops, 1024.0 * 214 * 128);
}

TEST(LayerGraph, DlrmDcnv2Parameters) {
  // MLPerf DLRM-DCNv2: 204,184,588 embedding rows of 128 (26.1B parameters), and the dense
  // part: bottom MLP 13-512-256-128, three rank-512 cross layers over 27·128 = 3456 features,
  // top MLP 3456-1024-1024-512-256-1.
  const LayerGraph g = dlrm_graph(dlrm_dcnv2_config());
  double embedding = 0, dense = 0;
  for (const GraphLayer& l : g.layers) {
    embedding += graph_embedding_parameters(l);
    dense += graph_dense_parameters(l);
  }
  EXPECT_DOUBLE_EQ(embedding, 204'184'588.0 * 128);
  const double bottom = (13 * 512 + 512) + (512 * 256 + 256) + (256 * 128 + 128);
  const double cross = 3 * (3456.0 * 512 + 512 * 3456 + 3456);
  const double top = (3456.0 * 1024 + 1024) + (1024 * 1024 + 1024) + (1024 * 512 + 512) +
                     (512 * 256 + 256) + (256 + 1);
  EXPECT_DOUBLE_EQ(dense, bottom + cross + top);
}

TEST(LayerGraph, FirstLayerHasNoInputGradient) {
  // The data needs no gradient: conv1's backward is its weight gradient alone.
  const LayerGraph g = resnet_graph(50);
  const GraphLayerWork w = graph_layer_work(g.layers.front(), 32, 1, Dtype::bf16);
  ASSERT_EQ(w.backward.size(), 1u);
  EXPECT_EQ(w.backward.front().name, "conv1_wgrad");
  EXPECT_EQ(graph_layer_work(g.layers[4], 32, 1, Dtype::bf16).backward.size(), 2u);
}

TEST(LayerGraph, KernelsScaleWithTheMicroBatch) {
  const LayerGraph g = resnet_graph(50);
  for (const GraphLayer& l : g.layers) {
    const GraphLayerWork one = graph_layer_work(l, 1, 1, Dtype::bf16);
    const GraphLayerWork many = graph_layer_work(l, 64, 1, Dtype::bf16);
    double f1 = 0, f64 = 0;
    for (const Kernel& k : one.forward)
      f1 += k.flops;
    for (const Kernel& k : many.forward)
      f64 += k.flops;
    EXPECT_DOUBLE_EQ(f64, 64 * f1) << l.name;
    EXPECT_DOUBLE_EQ(many.activation_bytes, 64 * one.activation_bytes) << l.name;
  }
}

TEST(LayerGraph, BalanceMinimisesTheSlowestStage) {
  // {1, 1, 1, 10} on two stages: the heavy layer alone, the three light ones together.
  EXPECT_EQ(balance_layers({1, 1, 1, 10}, 2), (std::vector<std::int64_t>{3, 1}));
  // Even costs split evenly.
  EXPECT_EQ(balance_layers({2, 2, 2, 2, 2, 2}, 3), (std::vector<std::int64_t>{2, 2, 2}));
  // Every stage keeps a layer even when one layer outweighs the rest.
  EXPECT_EQ(balance_layers({100, 1, 1}, 3), (std::vector<std::int64_t>{1, 1, 1}));
  EXPECT_THROW(balance_layers({1, 1}, 3), std::invalid_argument);
}

TEST(LayerGraph, PresetsAndNames) {
  for (const std::string& name : graph_preset_names())
    EXPECT_TRUE(graph_preset(name).has_value()) << name;
  EXPECT_FALSE(graph_preset("resnet-51").has_value());
  EXPECT_THROW(resnet_graph(51), std::invalid_argument);
}

TEST(LayerGraph, DecoderGraphPutsThePredictionModulesLayersBeforeTheOutputAndReadsThemBack) {
  TransformerConfig m = *transformer_preset("deepseek-v3");
  m.mtp_layers = 2;
  const LayerGraph g = decoder_graph(m);
  ASSERT_EQ(g.layers.size(), 1u + 61 + 2 + 1);
  EXPECT_EQ(g.layers[62].name, "mtp.0");
  EXPECT_EQ(g.layers[63].name, "mtp.1");
  EXPECT_TRUE(g.layers[63].encoder->is_moe());
  EXPECT_EQ(g.layers.back().encoder->mtp_layers, 2);
  const DecoderReading back = decoder_config(g);
  ASSERT_TRUE(back.config) << back.problem;
  EXPECT_EQ(back.config->layers, 61);
  EXPECT_EQ(back.config->mtp_layers, 2);
  EXPECT_EQ(back.config->moe.dense_layers, 3);
  // Prediction modules that would leave the decoder no layer are refused.
  LayerGraph bad = g;
  bad.layers.back().encoder->mtp_layers = 63;
  EXPECT_FALSE(decoder_config(bad).config);
}

}  // namespace
}  // namespace scaleplan
