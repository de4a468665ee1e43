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
    EXPECT_NEAR(training_flops_per_token(m, AttentionFlops::whole_matrix) / expected, 1.0, 1e-9)
        << name;
  }
}

TEST(Transformer, Gpt3FlopsMatchMegatronFormula) {
  // Narayanan et al. 2021, eq. 3: 72·B·s·l·h²·(1 + s/(6h) + V/(12·h·l)) per iteration.
  const auto m = *transformer_preset("gpt3-175b");
  const double h = 12288, l = 96, s = 2048, v = 51200;
  const double per_token = 72 * l * h * h * (1 + s / (6 * h) + v / (12 * h * l));
  EXPECT_NEAR(training_flops_per_token(m, AttentionFlops::whole_matrix) / per_token, 1.0, 1e-6);
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
  for (const KorthikantiCase& c : {KorthikantiCase{"megatron-22b", 8},
                                   {"gpt3-175b", 8},
                                   {"megatron-530b", 8},
                                   {"megatron-1t", 8}}) {
    const int t = c.tp;
    auto m = *transformer_preset(c.preset);
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
    EXPECT_NEAR(layer_bytes(false, false) / plain, 1.0, 0.01) << c.preset;
    EXPECT_NEAR(layer_bytes(true, false) / with_sp, 1.0, 0.01) << c.preset;
    EXPECT_NEAR(layer_bytes(true, true) / selective_sp, 1.0, 0.01) << c.preset;
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
  EXPECT_DOUBLE_EQ(attention_flops(fused.attention.backward_input),
                   2.5 * attention_flops(fused.attention.forward));
  // No s×s term in the stored activations: 8192 tokens, 32 heads of fp32 statistics.
  EXPECT_DOUBLE_EQ(materialised.attention.activation_bytes - fused.attention.activation_bytes,
                   materialised.attention.selective_recompute_saved_bytes - 8192.0 * 32 * 4);
  EXPECT_TRUE(fused.attention.recompute_selective.empty());
  // Model FLOPs (for MFU) do not depend on the kernel.
  EXPECT_DOUBLE_EQ(training_flops_per_token(m),
                   training_flops_per_token(*transformer_preset("llama3-8b")));
}

TEST(Transformer, ContextParallelAttentionRunsOneCallPerChunkOfKeys) {
  // Ring attention over cp 4: a rank's 2048 queries of an 8192-token sequence meet the keys in
  // four chunks of 2048, one fused call each, so the kernel is named by a 2048 × 2048 QK^T four
  // times over; its FLOPs are a quarter of the whole sequence's, as its queries are.
  const auto m = *transformer_preset("llama3-8b");
  const LayerWork whole = transformer_layer(m, 1, {1, 1, false}, Dtype::bf16);
  const LayerWork ring = transformer_layer(m, 1, {1, 4, false}, Dtype::bf16);
  auto fused = [](const LayerWork& w) {
    for (const Kernel& k : w.attention.forward) {
      if (k.name == fused_attention_kernel_name)
        return k;
    }
    ADD_FAILURE() << "no fused attention kernel";
    return Kernel{};
  };
  const Kernel one = fused(whole);
  const Kernel chunked = fused(ring);
  EXPECT_EQ(one.gemm.m, 8192);
  EXPECT_EQ(one.gemm.n, 8192);
  EXPECT_EQ(chunked.gemm.m, 2048);
  EXPECT_EQ(chunked.gemm.n, 2048);
  EXPECT_EQ(chunked.gemm.batch, 4 * one.gemm.batch);
  EXPECT_DOUBLE_EQ(chunked.flops, one.flops / 4);
}

TEST(Transformer, BackwardSplitsIntoInputAndWeightGradients) {
  const auto m = *transformer_preset("gpt3-175b");
  const LayerWork layer = transformer_layer(m, 1, {8, 1, true}, Dtype::bf16);
  auto gemm_flops = [](const std::vector<Kernel>& kernels, KernelKind kind) {
    double f = 0;
    for (const auto& k : kernels)
      f += k.kind == kind ? k.flops : 0;
    return f;
  };
  for (const Block* block : {&layer.attention, &layer.mlp}) {
    // Each GEMM's dgrad and wgrad each cost its forward; attention has no weights, so its whole
    // backward is input gradient.
    const double forward = gemm_flops(block->forward, KernelKind::gemm);
    EXPECT_DOUBLE_EQ(gemm_flops(block->backward_input, KernelKind::gemm), forward);
    EXPECT_DOUBLE_EQ(gemm_flops(block->backward_weight, KernelKind::gemm), forward);
    EXPECT_EQ(gemm_flops(block->backward_weight, KernelKind::attention), 0);
    for (const Kernel& k : block->backward_weight)
      EXPECT_NE(k.name.find("_wgrad"), std::string::npos) << k.name;
    EXPECT_EQ(block->backward().size(),
              block->backward_input.size() + block->backward_weight.size());
  }
  EXPECT_DOUBLE_EQ(gemm_flops(layer.attention.backward_input, KernelKind::attention),
                   2.5 * gemm_flops(layer.attention.forward, KernelKind::attention));
  // The embedding's backward is its weight gradient alone.
  const Block embedding = embedding_block(m, 1, {8, 1, true}, Dtype::bf16);
  EXPECT_TRUE(embedding.backward_input.empty());
  EXPECT_EQ(embedding.backward_weight.size(), 1u);

  // Kept for a deferred weight gradient, in units of tokens·hidden bytes (2048 tokens, 16-bit,
  // tp 8 with sequence parallelism): attention reads the QKV input as stored (2/8) and the
  // projection input (2/8), and keeps QKV's output gradient (3·2/8), the projection's whole
  // output gradient (2) and the QKV input gathered again (2); the MLP reads the FC1 input (2/8)
  // and the FC2 input (4·2/8) and keeps FC1's output gradient (4·2/8), FC2's (2) and the FC1
  // input gathered again (2).
  const double unit = 2048.0 * 12288;
  EXPECT_DOUBLE_EQ(layer.attention.weight_gradient_inputs_bytes, 0.5 * unit);
  EXPECT_DOUBLE_EQ(layer.attention.weight_gradient_operands_bytes, 4.75 * unit);
  EXPECT_DOUBLE_EQ(layer.mlp.weight_gradient_inputs_bytes, 1.25 * unit);
  EXPECT_DOUBLE_EQ(layer.mlp.weight_gradient_operands_bytes, 5 * unit);
  // Without tensor parallelism nothing is gathered again and the inputs are whole.
  const LayerWork whole = transformer_layer(m, 1, {1, 1, false}, Dtype::bf16);
  EXPECT_DOUBLE_EQ(whole.mlp.weight_gradient_inputs_bytes, 10 * unit);
  EXPECT_DOUBLE_EQ(whole.mlp.weight_gradient_operands_bytes, 10 * unit);
}

// Finds the kernel named `name` among `kernels`.
const Kernel& named(const std::vector<Kernel>& kernels, const std::string& name) {
  for (const Kernel& k : kernels) {
    if (k.name == name)
      return k;
  }
  ADD_FAILURE() << "no kernel " << name;
  return kernels.front();
}

TEST(Transformer, MaterialisedAttentionRunsDropoutAsItsOwnKernel) {
  auto m = *transformer_preset("gpt3-175b");
  m.flash_attention = false;
  const LayerWork w = transformer_layer(m, 1, {8, 1, false}, Dtype::fp16);
  // 96 / 8 = 12 heads of 2048 × 2048 scores on a rank.
  const double scores = 12.0 * 2048 * 2048;
  // Forward: the fused scale-mask-softmax reads the scores and writes the probabilities (2 + 2
  // bytes per element); the dropout reads them and writes its output and a one-byte mask
  // (2 + 2 + 1): 9 bytes per element where one kernel of 5 stood before.
  const auto& f = w.attention.forward;
  EXPECT_DOUBLE_EQ(named(f, "attn_softmax").bytes, 4 * scores);
  EXPECT_DOUBLE_EQ(named(f, "attn_dropout").bytes, 5 * scores);
  // Backward: the dropout's reads the gradient and the mask and writes the gradient (2 + 1 + 2);
  // the softmax's reads the probabilities and their gradient and writes the scores' (2 + 2 + 2).
  const auto& b = w.attention.backward_input;
  EXPECT_DOUBLE_EQ(named(b, "attn_dropout_backward").bytes, 5 * scores);
  EXPECT_DOUBLE_EQ(named(b, "attn_softmax_backward").bytes, 6 * scores);
  // Selective recompute runs both again with the two products.
  ASSERT_EQ(w.attention.recompute_selective.size(), 4u);
  EXPECT_EQ(w.attention.recompute_selective[2].name, "attn_dropout");
  // Fused attention has neither.
  m.flash_attention = true;
  for (const Kernel& k : transformer_layer(m, 1, {8, 1, false}, Dtype::fp16).attention.forward)
    EXPECT_EQ(k.name.find("attn_dropout"), std::string::npos);
}

TEST(Transformer, WithoutDropoutNoMaskIsDrawnOrKept) {
  auto with = *transformer_preset("gpt3-175b");
  ASSERT_TRUE(with.dropout);
  auto without = with;
  without.dropout = false;
  EXPECT_FALSE(transformer_preset("llama3-8b")->dropout);
  const LayerPartition p{8, 1, true};
  const LayerWork a = transformer_layer(with, 1, p, Dtype::bf16);
  const LayerWork b = transformer_layer(without, 1, p, Dtype::bf16);
  // A one-byte mask per element of each block's output (2048 tokens x 12288, a sequence shard
  // of 1/8): kept for backward, and written by the residual add.
  const double mask_bytes = 2048.0 * 12288 / 8;
  EXPECT_DOUBLE_EQ(a.attention.activation_bytes - b.attention.activation_bytes, mask_bytes);
  EXPECT_DOUBLE_EQ(a.mlp.activation_bytes - b.mlp.activation_bytes, mask_bytes);
  EXPECT_DOUBLE_EQ(
      named(a.mlp.forward, "mlp_residual").bytes - named(b.mlp.forward, "mlp_residual").bytes,
      mask_bytes);
  // Materialised attention loses its dropout kernel, and keeps the probabilities alone: 12 heads
  // of 2048 x 2048 scores, where dropout kept its one-byte mask and its 2-byte output too.
  with.flash_attention = without.flash_attention = false;
  const LayerWork c = transformer_layer(with, 1, p, Dtype::bf16);
  const LayerWork d = transformer_layer(without, 1, p, Dtype::bf16);
  const double scores = 12.0 * 2048 * 2048;
  EXPECT_DOUBLE_EQ(c.attention.activation_bytes - d.attention.activation_bytes,
                   mask_bytes + scores * 3);
  for (const auto* kernels :
       {&d.attention.forward, &d.attention.backward_input, &d.attention.recompute_selective}) {
    for (const Kernel& k : *kernels)
      EXPECT_EQ(k.name.find("dropout"), std::string::npos) << k.name;
  }
  EXPECT_EQ(c.attention.recompute_selective.size(), d.attention.recompute_selective.size() + 1);
}

TEST(Transformer, Fp8RunsOnlyTheLinearLayersGemmsInFp8) {
  const auto m = *transformer_preset("llama3-8b");
  const LayerPartition p{2, 1, true};
  const LayerWork fp8 = transformer_layer(m, 1, p, Dtype::fp8);
  const LayerWork bf16 = transformer_layer(m, 1, p, Dtype::bf16);
  // Transformer Engine: the linear layers' GEMMs in fp8, everything else in bf16.
  for (const Block* block : {&fp8.attention, &fp8.mlp}) {
    for (const auto* list : {&block->forward, &block->backward_input, &block->backward_weight}) {
      for (const Kernel& k : *list)
        EXPECT_EQ(k.dtype, k.kind == KernelKind::gemm ? Dtype::fp8 : Dtype::bf16) << k.name;
    }
  }
  // Memory-bound kernels move the same bf16 bytes, and the tensor-parallel collectives carry
  // bf16 activations: 8192 tokens × 4096 × 2 bytes.
  EXPECT_DOUBLE_EQ(named(fp8.attention.forward, "attn_norm").bytes,
                   named(bf16.attention.forward, "attn_norm").bytes);
  EXPECT_DOUBLE_EQ(fp8.mlp.tp_collective_bytes, 8192.0 * 4096 * 2);
  // Transformer Engine keeps each GEMM's input as the GEMM read it, in fp8: 1 byte an element
  // where bf16 training keeps 2. Per token, that is the QKV input and the FC1 input (the norms'
  // outputs, sequence shards of 4096 / 2) and the FC2 input (14336 / 2). Fused attention keeps
  // its output, the projection's input, in bf16 for its own backward, so the projection's fp8
  // copy (4096 / 2) comes on top; materialised attention needs no output of its own.
  const double tokens = 8192;
  EXPECT_DOUBLE_EQ(bf16.attention.activation_bytes - fp8.attention.activation_bytes,
                   tokens * (4096.0 / 2 - 4096.0 / 2));
  EXPECT_DOUBLE_EQ(bf16.mlp.activation_bytes - fp8.mlp.activation_bytes,
                   tokens * (4096.0 / 2 + 14336.0 / 2));
  auto materialised = m;
  materialised.flash_attention = false;
  EXPECT_DOUBLE_EQ(transformer_layer(materialised, 1, p, Dtype::bf16).attention.activation_bytes -
                       transformer_layer(materialised, 1, p, Dtype::fp8).attention.activation_bytes,
                   tokens * (4096.0 / 2 + 4096.0 / 2));
  // A deferred weight gradient reads those copies: the QKV and projection inputs, the FC1 and FC2
  // inputs, at half the bytes.
  EXPECT_DOUBLE_EQ(fp8.attention.weight_gradient_inputs_bytes,
                   0.5 * bf16.attention.weight_gradient_inputs_bytes);
  EXPECT_DOUBLE_EQ(fp8.mlp.weight_gradient_inputs_bytes,
                   0.5 * bf16.mlp.weight_gradient_inputs_bytes);
  // The output layer is outside the fp8 region: its GEMM stays bf16.
  EXPECT_EQ(named(output_block(m, 1, p, Dtype::fp8).forward, "lm_head").dtype, Dtype::bf16);
  EXPECT_EQ(non_gemm_dtype(Dtype::fp8), Dtype::bf16);
  EXPECT_EQ(non_gemm_dtype(Dtype::fp32), Dtype::fp32);
}

TEST(Transformer, Fp8CastsEachGemmsInputWeightsAndOutputGradient) {
  // Llama 3 8B (h 4096, 8 KV heads of 128: QKV width 4096 + 2 x 1024 = 6144; gated FFN 14336:
  // FC1 width 28672), micro-batch 1 of 8192 tokens, no tensor parallelism. Delayed scaling's
  // cast-transpose reads 2 bytes and writes 1 + 1 per element: 4.
  const auto m = *transformer_preset("llama3-8b");
  const double tokens = 8192;
  LayerWork w = transformer_layer(m, 1, {1, 1, false}, Dtype::fp8);
  const std::size_t forward = w.mlp.forward.size();
  const std::size_t backward = w.mlp.backward_input.size();
  add_fp8_casts(w.mlp, {Fp8Recipe::delayed, 1.0, 4096, 1});
  // Two fp8 GEMMs (FC1, FC2): an input and a weight cast each forward, an output-gradient cast
  // each backward; the weight gradients' list is untouched.
  EXPECT_EQ(w.mlp.forward.size(), forward + 4);
  EXPECT_EQ(w.mlp.backward_input.size(), backward + 2);
  EXPECT_DOUBLE_EQ(named(w.mlp.forward, "fc1_input_fp8_cast").bytes, tokens * 4096 * 4);
  EXPECT_DOUBLE_EQ(named(w.mlp.forward, "fc1_weight_fp8_cast").bytes, 28672.0 * 4096 * 4);
  EXPECT_DOUBLE_EQ(named(w.mlp.forward, "fc2_input_fp8_cast").bytes, tokens * 14336 * 4);
  EXPECT_DOUBLE_EQ(named(w.mlp.forward, "fc2_weight_fp8_cast").bytes, 4096.0 * 14336 * 4);
  EXPECT_DOUBLE_EQ(named(w.mlp.backward_input, "fc1_grad_fp8_cast").bytes, tokens * 28672 * 4);
  EXPECT_DOUBLE_EQ(named(w.mlp.backward_input, "fc2_grad_fp8_cast").bytes, tokens * 4096 * 4);
  EXPECT_EQ(named(w.mlp.forward, "fc1_input_fp8_cast").kind, KernelKind::elementwise);
  EXPECT_EQ(named(w.mlp.forward, "fc1_input_fp8_cast").flops, 0);
  // Current scaling reads each tensor once more for its amax: 6 bytes an element. Weights cast
  // once per step of 16 micro-batches: a sixteenth per micro-batch.
  EXPECT_DOUBLE_EQ(fp8_cast_bytes_per_element(Fp8Recipe::delayed), 4);
  EXPECT_DOUBLE_EQ(fp8_cast_bytes_per_element(Fp8Recipe::current), 6);
  LayerWork cs = transformer_layer(m, 1, {1, 1, false}, Dtype::fp8);
  add_fp8_casts(cs.attention, {Fp8Recipe::current, 1.0 / 16, 4096, 1});
  EXPECT_DOUBLE_EQ(named(cs.attention.forward, "qkv_input_fp8_cast").bytes, tokens * 4096 * 6);
  EXPECT_DOUBLE_EQ(named(cs.attention.forward, "qkv_weight_fp8_cast").bytes,
                   6144.0 * 4096 * 6 / 16);
  EXPECT_DOUBLE_EQ(named(cs.attention.backward_input, "qkv_grad_fp8_cast").bytes,
                   tokens * 6144 * 6);
  EXPECT_DOUBLE_EQ(named(cs.attention.backward_input, "attn_proj_grad_fp8_cast").bytes,
                   tokens * 4096 * 6);
  // Sequence parallelism over tp 2: QKV's normed input is cast without its transpose on the
  // rank's half of the sequence (read 2, write 1), all-gathered in fp8 and transposed whole in
  // the weight gradient (read 1, write 1); so is the output projection's output gradient
  // (n = 4096, reduce-scattered forward, all-gathered backward). The output projection's input
  // (k = 4096 / 2) and QKV's output gradient (n = 6144 / 2) are whole: cast-transposed, 4.
  LayerWork sp = transformer_layer(m, 1, {2, 1, true}, Dtype::fp8);
  const std::size_t sp_weight_gradient = sp.attention.backward_weight.size();
  add_fp8_casts(sp.attention, {Fp8Recipe::delayed, 1.0, 4096, 2});
  EXPECT_DOUBLE_EQ(named(sp.attention.forward, "qkv_input_fp8_cast").bytes, tokens / 2 * 4096 * 3);
  EXPECT_DOUBLE_EQ(named(sp.attention.backward_weight, "qkv_input_fp8_transpose").bytes,
                   tokens * 4096 * 2);
  EXPECT_DOUBLE_EQ(named(sp.attention.forward, "attn_proj_input_fp8_cast").bytes,
                   tokens * 2048 * 4);
  EXPECT_DOUBLE_EQ(named(sp.attention.backward_input, "attn_proj_grad_fp8_cast").bytes,
                   tokens / 2 * 4096 * 3);
  EXPECT_DOUBLE_EQ(named(sp.attention.backward_weight, "attn_proj_grad_fp8_transpose").bytes,
                   tokens * 4096 * 2);
  EXPECT_DOUBLE_EQ(named(sp.attention.backward_input, "qkv_grad_fp8_cast").bytes,
                   tokens * 3072 * 4);
  EXPECT_EQ(sp.attention.backward_weight.size(), sp_weight_gradient + 2);
  // bf16 GEMMs get no casts.
  LayerWork bf16 = transformer_layer(m, 1, {1, 1, false}, Dtype::bf16);
  const std::size_t bf16_forward = bf16.mlp.forward.size();
  add_fp8_casts(bf16.mlp, {Fp8Recipe::current, 1.0, 4096, 1});
  EXPECT_EQ(bf16.mlp.forward.size(), bf16_forward);
}

TEST(Transformer, Fp8InputsOfLayerNormLinearComeFromTheNorm) {
  // Llama 3 8B's MLP (h 4096, FC1 width 28672, FC2 input 14336 wide), 8192 tokens, no tensor
  // parallelism, FC1 a LayerNormLinear (fusion `norm`), FC2 a te.Linear.
  const auto m = *transformer_preset("llama3-8b");
  const double tokens = 8192, h = 4096;
  const LayerWork plain = transformer_layer(m, 1, {1, 1, false}, Dtype::fp8);
  // The bf16 norm reads 2 and writes 2 bytes an element.
  ASSERT_DOUBLE_EQ(named(plain.mlp.forward, "mlp_norm").bytes, tokens * h * 4);
  // Delayed scaling: the norm writes fp8 (read 2, write 1: 3 bytes an element), no cast of
  // FC1's input runs, its transpose is a pass of its own (read 1, write 1). FC1's input costs
  // 3 + 2 = 5 bytes an element with the norm where the norm and a cast cost 4 + 4 = 8. FC2's
  // input (written by Megatron's bf16 activation) keeps its cast-transpose, 4.
  LayerWork fused = plain;
  add_fp8_casts(fused.mlp, {Fp8Recipe::delayed, 1.0, 4096, 1, Fp8CastFusion::norm});
  EXPECT_DOUBLE_EQ(named(fused.mlp.forward, "mlp_norm").bytes, tokens * h * 3);
  for (const Kernel& k : fused.mlp.forward)
    EXPECT_NE(k.name, "fc1_input_fp8_cast");
  // Run again before backward (recompute_modules layernorm), the norm writes fp8 the same.
  LayerWork again = transformer_layer(m, 1, {1, 1, false}, Dtype::fp8,
                                      SelectiveRecompute{false, false, false, false, true});
  add_fp8_casts(again.mlp, {Fp8Recipe::delayed, 1.0, 4096, 1, Fp8CastFusion::norm});
  EXPECT_DOUBLE_EQ(named(again.mlp.recompute_selective, "mlp_norm").bytes, tokens * h * 3);
  EXPECT_DOUBLE_EQ(named(fused.mlp.forward, "fc1_input_fp8_transpose").bytes, tokens * h * 2);
  EXPECT_DOUBLE_EQ(named(fused.mlp.forward, "fc2_input_fp8_cast").bytes, tokens * 14336 * 4);
  // The weights and the output gradients are cast as before: 4 bytes an element.
  EXPECT_DOUBLE_EQ(named(fused.mlp.forward, "fc1_weight_fp8_cast").bytes, 28672.0 * h * 4);
  EXPECT_DOUBLE_EQ(named(fused.mlp.backward_input, "fc1_grad_fp8_cast").bytes, tokens * 28672 * 4);
  // Current scaling: the norm writes bf16 and its amax in one pass (4 bytes, as bf16); the
  // cast-transpose after it skips the amax read: 2 + 1 + 1 = 4 where a te.Linear's is 6.
  LayerWork current = plain;
  add_fp8_casts(current.mlp, {Fp8Recipe::current, 1.0, 4096, 1, Fp8CastFusion::norm});
  EXPECT_DOUBLE_EQ(named(current.mlp.forward, "mlp_norm").bytes, tokens * h * 4);
  EXPECT_DOUBLE_EQ(named(current.mlp.forward, "fc1_input_fp8_cast").bytes, tokens * h * 4);
  EXPECT_DOUBLE_EQ(named(current.mlp.forward, "fc2_input_fp8_cast").bytes, tokens * 14336 * 6);
  // Sequence parallelism over tp 2, delayed: the norm on the rank's half writes fp8 (2 x 2 / 2
  // - 1 / 2 = 1.5 bytes per element of the whole), gathered in fp8, transposed whole in the
  // weight gradient (2): QKV's input 3.5 bytes an element of the whole where a te.Linear's
  // costs 2 (norm) + 1.5 (cast) + 2 (transpose) = 5.5.
  LayerWork sp = transformer_layer(m, 1, {2, 1, true}, Dtype::fp8);
  add_fp8_casts(sp.attention, {Fp8Recipe::delayed, 1.0, 4096, 2, Fp8CastFusion::norm});
  EXPECT_DOUBLE_EQ(named(sp.attention.forward, "attn_norm").bytes, tokens * h * 1.5);
  EXPECT_DOUBLE_EQ(named(sp.attention.backward_weight, "qkv_input_fp8_transpose").bytes,
                   tokens * h * 2);
  for (const Kernel& k : sp.attention.forward) {
    EXPECT_NE(k.name, "qkv_input_fp8_cast");
    EXPECT_NE(k.name, "qkv_input_fp8_transpose");
  }
  // MLA (DeepSeek-V3: q_lora_rank 1536, kv_lora_rank 512, 4096 tokens): q_up and kv_up are
  // LayerNormLinear after the latent norms (one latent_norm kernel, 2 + 2 bytes over 1536 + 512
  // elements a token): it writes fp8 (3 bytes), their inputs' transposes are passes of their
  // own; the down-projections read the input norm's output through a te.Linear: a cast, 4.
  const auto ds = *transformer_preset("deepseek-v3");
  const double ds_tokens = 4096;
  LayerWork mla = transformer_layer(ds, 1, {1, 1, false}, Dtype::fp8);
  ASSERT_DOUBLE_EQ(named(mla.attention.forward, "latent_norm").bytes, ds_tokens * 2048 * 4);
  add_fp8_casts(mla.attention, {Fp8Recipe::delayed, 1.0, 7168, 1, Fp8CastFusion::norm});
  EXPECT_DOUBLE_EQ(named(mla.attention.forward, "latent_norm").bytes, ds_tokens * 2048 * 3);
  EXPECT_DOUBLE_EQ(named(mla.attention.forward, "q_up_input_fp8_transpose").bytes,
                   ds_tokens * 1536 * 2);
  EXPECT_DOUBLE_EQ(named(mla.attention.forward, "kv_up_input_fp8_transpose").bytes,
                   ds_tokens * 512 * 2);
  EXPECT_DOUBLE_EQ(named(mla.attention.forward, "q_down_input_fp8_cast").bytes,
                   ds_tokens * 7168 * 4);
  // Without fp8 GEMMs nothing changes, the norm included.
  LayerWork bf16 = transformer_layer(m, 1, {1, 1, false}, Dtype::bf16);
  add_fp8_casts(bf16.mlp, {Fp8Recipe::delayed, 1.0, 4096, 1, Fp8CastFusion::norm});
  EXPECT_DOUBLE_EQ(named(bf16.mlp.forward, "mlp_norm").bytes, tokens * h * 4);
}

TEST(Transformer, FusedCrossEntropyMovesLessPerLogit) {
  // bf16 logits (2 bytes). Megatron-Core's native fusion (fused_cross_entropy.py): the fp32
  // copy with its max (read 2, write 4), the subtraction, exp and sum in one pass (read 4, write
  // 4), the division in place (8): 22 forward; the gradient read in fp32 and written in bf16:
  // 6 backward. Transformer Engine's Triton kernels: the logits read for the online softmax
  // (2), read again and the gradient written over them (2 + 2): 6 forward; the gradient scaled
  // in place by the per-token loss gradient (read 2, write 2): 4 backward. Megatron's passes:
  // 38 and 14.
  EXPECT_DOUBLE_EQ(cross_entropy_forward_bytes(CrossEntropyFusion::none, 2), 38);
  EXPECT_DOUBLE_EQ(cross_entropy_backward_bytes(CrossEntropyFusion::none, 2), 14);
  EXPECT_DOUBLE_EQ(cross_entropy_forward_bytes(CrossEntropyFusion::native, 2), 22);
  EXPECT_DOUBLE_EQ(cross_entropy_backward_bytes(CrossEntropyFusion::native, 2), 6);
  EXPECT_DOUBLE_EQ(cross_entropy_forward_bytes(CrossEntropyFusion::te, 2), 6);
  EXPECT_DOUBLE_EQ(cross_entropy_backward_bytes(CrossEntropyFusion::te, 2), 4);
  // In the output head, over tokens x the local vocabulary (micro-batch 2 of 8192 tokens,
  // 128256 / 2 entries on each of tp 2).
  const auto m = *transformer_preset("llama3-8b");
  const double logits = 2.0 * 8192 * (128256 / 2);
  const Block te = output_block(m, 2, {2, 1, true}, Dtype::fp8, CrossEntropyFusion::te);
  EXPECT_DOUBLE_EQ(named(te.forward, "cross_entropy").bytes, logits * 6);
  EXPECT_DOUBLE_EQ(named(te.backward_input, "cross_entropy_backward").bytes, logits * 4);
}

TEST(Transformer, CrossEntropyMovesEveryFp32PassOverTheLogits) {
  // Megatron-LM's vocab-parallel cross-entropy on bf16 logits (2 bytes), pass by pass over the
  // tokens x local vocabulary: forward the fp32 copy (read 2, write 4), max (read 4), subtraction
  // in place (8), exp in place (8), sum (read 4), division in place (8); backward the product
  // with the loss gradient in place (8) and the cast back to bf16 (read 4, write 2).
  const auto m = *transformer_preset("llama3-8b");
  const LayerPartition p{2, 1, true};
  const double logits = 2.0 * 8192 * (128256 / 2);  // micro-batch 2, vocabulary over tp 2
  const Block out = output_block(m, 2, p, Dtype::bf16);
  EXPECT_DOUBLE_EQ(named(out.forward, "cross_entropy").bytes, logits * (6 + 4 + 8 + 8 + 4 + 8));
  EXPECT_DOUBLE_EQ(named(out.backward_input, "cross_entropy_backward").bytes, logits * (8 + 6));
  // Under fp8 the logits stay bf16 (the output layer is outside the fp8 region): the same bytes.
  const Block fp8 = output_block(m, 2, p, Dtype::fp8);
  EXPECT_DOUBLE_EQ(named(fp8.forward, "cross_entropy").bytes,
                   named(out.forward, "cross_entropy").bytes);
  // fp32 logits skip nothing but move 4-byte elements where bf16 ones move 2.
  EXPECT_DOUBLE_EQ(cross_entropy_forward_bytes(CrossEntropyFusion::none, 4) -
                       cross_entropy_forward_bytes(CrossEntropyFusion::none, 2),
                   2);
  EXPECT_DOUBLE_EQ(cross_entropy_backward_bytes(CrossEntropyFusion::none, 4) -
                       cross_entropy_backward_bytes(CrossEntropyFusion::none, 2),
                   2);
}

TEST(Transformer, ModelFlopsCountHalfOfCausalAttention) {
  auto m = *transformer_preset("llama3-8b");
  const double l = 32, h = 4096, s = 8192;
  // The whole score matrix adds 12·l·h·s per token (two products forward, four backward, each
  // 2·s·h per token and layer); causal masking leaves half of it: 6·l·h·s.
  const double whole = training_flops_per_token(m, AttentionFlops::whole_matrix);
  EXPECT_DOUBLE_EQ(whole - training_flops_per_token(m), 6 * l * h * s);
  // Without the mask the conventions agree.
  m.causal = false;
  EXPECT_DOUBLE_EQ(training_flops_per_token(m),
                   training_flops_per_token(m, AttentionFlops::whole_matrix));
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

TEST(Transformer, MixtralParameterCountsMatchPublished) {
  // Jiang et al. 2024 (arXiv:2401.04088) and Mistral AI's announcement: 46.7B parameters, 12.9B
  // used per token (two of eight experts).
  const auto m = *transformer_preset("mixtral-8x7b");
  EXPECT_NEAR(total_parameters(m) / 46.7e9, 1.0, 0.01);
  EXPECT_NEAR(active_parameters(m) / 12.9e9, 1.0, 0.01);
  // By hand from the released config: per layer, attention 4096·(4096 + 2·1024) + 4096², norms
  // 2·4096, router 8·4096 and 8 experts of 3·4096·14336; untied embeddings of 32000·4096.
  const double attention = 4096.0 * 6144 + 4096.0 * 4096, expert = 3 * 4096.0 * 14336;
  const double layer = attention + 2 * 4096 + 8 * 4096 + 8 * expert;
  EXPECT_DOUBLE_EQ(layer_parameters(m, 0), layer);
  EXPECT_DOUBLE_EQ(total_parameters(m), 32 * layer + 2 * 32000.0 * 4096 + 4096);
  EXPECT_DOUBLE_EQ(active_parameters(m), 32 * (layer - 6 * expert) + 2 * 32000.0 * 4096 + 4096);
}

TEST(Transformer, DeepSeekV3ParameterCountsMatchPublished) {
  // DeepSeek-V3 technical report (arXiv:2412.19437): 671B parameters, 37B activated per token;
  // the released checkpoint's README counts 36.6B activated for the main model, the output head
  // included and the input embedding (a lookup) not. Both within 0.5 %: MLA is modelled with
  // its own projections, so the count is exact up to the router's 256 bias terms per layer,
  // which are not trained by gradient (auxiliary-loss-free balancing).
  const auto m = *transformer_preset("deepseek-v3");
  const double embedding = 129280.0 * 7168;
  EXPECT_NEAR(total_parameters(m) / 671e9, 1.0, 0.005);
  EXPECT_NEAR((active_parameters(m) - embedding) / 36.6e9, 1.0, 0.005);
  EXPECT_NEAR(active_parameters(m) / 37e9, 1.0, 0.02);
  // By hand from config.json. MLA: q_a 7168·1536 and its norm 1536, q_b 1536·128·192, kv_a
  // 7168·(512 + 64) and its norm 512, kv_b 512·128·(128 + 128), o 128·128·7168.
  const double mla = 7168.0 * 1536 + 1536 + 1536.0 * 128 * 192 + 7168.0 * 576 + 512 +
                     512.0 * 128 * 256 + 128.0 * 128 * 7168;
  EXPECT_DOUBLE_EQ(mla, 187'107'328.0);
  const double norms = 2 * 7168.0, expert = 3 * 7168.0 * 2048;
  EXPECT_DOUBLE_EQ(layer_parameters(m, 2), mla + norms + 3 * 7168.0 * 18432);
  EXPECT_DOUBLE_EQ(layer_parameters(m, 3), mla + norms + 256 * 7168.0 + 257 * expert);
  EXPECT_DOUBLE_EQ(total_parameters(m),
                   3 * layer_parameters(m, 2) + 58 * layer_parameters(m, 3) + 2 * embedding + 7168);
}

TEST(Transformer, MultiTokenPredictionAddsAnMoeLayerEhProjAndThreeNormsPerModule) {
  // DeepSeek-V3 with its one MTP module (arXiv:2412.19437, section 2.2): one more MoE layer,
  // eh_proj (2 x 7168 -> 7168, no bias) and the embedding's, hidden state's and final RMSNorms;
  // embedding and output head shared with the main model.
  const auto main_model = *transformer_preset("deepseek-v3");
  auto m = main_model;
  m.mtp_layers = 1;
  EXPECT_TRUE(m.is_moe_layer(61));
  EXPECT_DOUBLE_EQ(mtp_extra_parameters_per_rank(m, 1), 2 * 7168.0 * 7168 + 3 * 7168.0);
  EXPECT_DOUBLE_EQ(total_parameters(m) - total_parameters(main_model),
                   layer_parameters(m, 3) + 2 * 7168.0 * 7168 + 3 * 7168.0);
  // The released checkpoint's 685B counts the module's own copies of the embedding and head
  // (its "14B of the Multi-Token Prediction Module weights").
  const double embedding = 129280.0 * 7168;
  EXPECT_NEAR((total_parameters(m) + 2 * embedding) / 685e9, 1.0, 0.005);
  // A token's training FLOPs: one more MoE layer (as a 62-layer model's), eh_proj's
  // 2 x (2h x h) forward and twice that backward, and the head's 2 x h x vocab likewise.
  auto deeper = main_model;
  deeper.layers = 62;
  EXPECT_NEAR(training_flops_per_token(m) - training_flops_per_token(deeper),
              6 * (2 * 7168.0 * 7168) + 6 * 7168.0 * 129280, 1e-6 * training_flops_per_token(m));
}

TEST(Transformer, MultiTokenPredictionRunsEhProjAndTheSharedHeadAgainInTheOutputBlock) {
  auto m = *transformer_preset("deepseek-v3");
  m.mtp_layers = 1;
  const LayerPartition p{2, 1, true, 64};
  const Block out = output_block(m, 1, p, Dtype::fp8);
  const Block main_head = output_block(*transformer_preset("deepseek-v3"), 1, p, Dtype::fp8);
  const double tok = 4096, h = 7168;
  // eh_proj: every token's 2h-wide concatenation into the rank's h / tp columns, in fp8 as the
  // layers' linear layers run.
  const Kernel& eh = named(out.forward, "mtp1_eh_proj");
  EXPECT_EQ(eh.dtype, Dtype::fp8);
  EXPECT_DOUBLE_EQ(eh.flops, 2 * tok * (2 * h) * (h / 2));
  // The module's own pass through the head and loss: the same kernels as the main one's.
  EXPECT_DOUBLE_EQ(named(out.forward, "mtp1_lm_head").flops,
                   named(main_head.forward, "lm_head").flops);
  EXPECT_DOUBLE_EQ(named(out.backward_input, "mtp1_cross_entropy_backward").bytes,
                   named(main_head.backward_input, "cross_entropy_backward").bytes);
  EXPECT_DOUBLE_EQ(named(out.backward_weight, "mtp1_embedding_grad").bytes, 2 * tok * h * 2);
  // Tensor-parallel traffic under sequence parallelism: eh_proj's 2h-wide input all-gathered,
  // its output gathered, and the module's head input, beside the main head's.
  EXPECT_DOUBLE_EQ(out.tp_collective_bytes, main_head.tp_collective_bytes + 4 * tok * h * 2);
  EXPECT_GT(out.activation_bytes, 2 * main_head.activation_bytes);
}

TEST(Transformer, ParametersPerRankSplitExpertsOverExpertParallelRanks) {
  const auto m = *transformer_preset("mixtral-8x7b");
  const ParameterSplit whole = layer_parameters_per_rank(m, 5, 1, 1);
  const ParameterSplit split = layer_parameters_per_rank(m, 5, 2, 4);
  // Two of the eight experts, each halved by tensor parallelism; attention halved; norms and
  // router replicated.
  EXPECT_DOUBLE_EQ(split.expert, whole.expert / 4 / 2);
  EXPECT_DOUBLE_EQ(split.dense, (4096.0 * 6144 + 4096.0 * 4096) / 2 + 2 * 4096 + 8 * 4096);
  EXPECT_DOUBLE_EQ(whole.total(), layer_parameters(m, 5));
}

// A small MoE model whose FLOPs are worked out by hand below.
TransformerConfig small_moe() {
  TransformerConfig m = *transformer_preset("llama2-7b");
  m.layers = 4;
  m.hidden = 512;
  m.heads = 8;
  m.kv_heads = 8;
  m.ffn_hidden = 2048;
  m.vocab = 1000;
  m.seq_len = 256;
  m.moe.experts = 8;
  m.moe.top_k = 2;
  m.moe.shared_experts = 1;
  m.moe.expert_ffn_hidden = 256;
  m.moe.dense_layers = 1;
  return m;
}

TEST(Transformer, MoeTrainingFlopsCountActiveParametersByHand) {
  TransformerConfig m = small_moe();
  // Weights a token multiplies: the dense layer's attention 4·512² and FFN 3·512·2048; each of
  // the three MoE layers' attention, router 8·512, one shared and two routed experts of
  // 3·512·256; the output projection 1000·512. Six FLOPs per weight, plus attention scores and
  // values 12·l·h·s.
  const double dense_layer = 4 * 512.0 * 512 + 3 * 512.0 * 2048;
  const double moe_layer = 4 * 512.0 * 512 + 8 * 512 + 3 * (3 * 512.0 * 256);
  const double weights = dense_layer + 3 * moe_layer + 1000 * 512;
  EXPECT_DOUBLE_EQ(weights, 11'403'264.0);
  const double expected = 6 * weights + 12 * 4 * 512.0 * 256;
  EXPECT_DOUBLE_EQ(training_flops_per_token(m, AttentionFlops::whole_matrix), expected);
  // Padding to capacity is not model work.
  m.moe.capacity_factor = 1.25;
  EXPECT_DOUBLE_EQ(training_flops_per_token(m, AttentionFlops::whole_matrix), expected);
}

TEST(Transformer, MixtralFlopsAreSixActiveParametersPlusAttention) {
  const auto m = *transformer_preset("mixtral-8x7b");
  const double h = 4096, l = 32, s = static_cast<double>(m.seq_len);
  // Active parameters but the input embedding (a lookup) and the norms.
  const double matrices = active_parameters(m) - 32000 * h - (2 * l + 1) * h;
  EXPECT_NEAR(
      training_flops_per_token(m, AttentionFlops::whole_matrix) / (6 * matrices + 12 * l * h * s),
      1.0, 1e-12);
}

TEST(Transformer, LatentAttentionScoresUseTheQueryKeyAndValueHeadWidths) {
  auto m = *transformer_preset("deepseek-v3");
  m.flash_attention = false;
  const LayerWork w = transformer_layer(m, 1, {8, 1, true}, Dtype::bf16);
  // Norm, q_down, q_up, kv_down, latent norm, kv_up, scores, softmax, values, projection,
  // residual (DeepSeek-V3 trains without dropout).
  const auto& f = w.attention.forward;
  ASSERT_EQ(f.size(), 11u);
  EXPECT_EQ(f[1].name, "q_down");
  EXPECT_EQ(f[1].gemm.n, 1536);  // replicated over tensor-parallel ranks
  EXPECT_EQ(f[2].gemm.n, 16 * 192);
  EXPECT_EQ(f[5].gemm.n, 16 * 256);
  EXPECT_EQ(f[6].gemm.k, 192);
  EXPECT_EQ(f[7].name, "attn_softmax");
  EXPECT_EQ(f[8].gemm.n, 128);
  EXPECT_EQ(f[9].gemm.k, 16 * 128);
  // Stored: norm and QKV inputs (sequence parallel), the latents (whole), Q, K (192 wide), V and
  // the projection input (128 wide) of 16 heads, and the probabilities.
  const double t = 4096, act = 2;
  const double scores = 16 * t * t;
  const double expected = t * 7168 * (2 * act) / 8 + t * (1536 + 512) * act +
                          t * act * 16 * (192 + 192 + 128 + 128) + scores * act;
  EXPECT_DOUBLE_EQ(w.attention.activation_bytes, expected);
}

TEST(Transformer, MlaUpProjectionRecomputeKeepsTheLatentsInsteadOfTheQueriesKeysAndValues) {
  const TransformerConfig m = *transformer_preset("deepseek-v3");  // fused attention
  const LayerWork core = transformer_layer(m, 1, {8, 1, true}, Dtype::bf16);
  // Fused attention keeps no scores: the default module, core_attn, drops nothing.
  EXPECT_TRUE(core.attention.recompute_selective.empty());
  EXPECT_EQ(core.attention.selective_recompute_saved_bytes, 0);
  const LayerWork up = transformer_layer(m, 1, {8, 1, true}, Dtype::bf16, {true, true});
  // q_up and kv_up run again from the kept latents; their outputs, Q and K (192 wide) and V
  // (128 wide) of the rank's 16 heads, are not kept.
  const auto& again = up.attention.recompute_selective;
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].name, "q_up");
  EXPECT_EQ(again[1].name, "kv_up");
  const double t = 4096, act = 2;
  EXPECT_DOUBLE_EQ(up.attention.selective_recompute_saved_bytes, t * act * 16 * (192 + 192 + 128));
  EXPECT_DOUBLE_EQ(up.attention.activation_bytes, core.attention.activation_bytes);
  // Without a query latent the queries come from the kept input and stay: K and V only.
  TransformerConfig lite = m;
  lite.mla.q_lora_rank = 0;
  const LayerWork no_q = transformer_layer(lite, 1, {8, 1, true}, Dtype::bf16, {true, true});
  ASSERT_EQ(no_q.attention.recompute_selective.size(), 1u);
  EXPECT_EQ(no_q.attention.recompute_selective[0].name, "kv_up");
  EXPECT_DOUBLE_EQ(no_q.attention.selective_recompute_saved_bytes, t * act * 16 * (192 + 128));
  // Materialised attention without core_attn keeps its scores.
  TransformerConfig materialised = m;
  materialised.flash_attention = false;
  const LayerWork only_up =
      transformer_layer(materialised, 1, {8, 1, true}, Dtype::bf16, {false, true});
  EXPECT_DOUBLE_EQ(only_up.attention.selective_recompute_saved_bytes,
                   t * act * 16 * (192 + 192 + 128));
}

TEST(Transformer, MlpRecomputeRunsTheModuleButItsResidualAndKeepsItsInput) {
  const TransformerConfig m = *transformer_preset("llama3-8b");
  const LayerWork kept = transformer_layer(m, 1, {4, 1, true}, Dtype::bf16);
  EXPECT_TRUE(kept.mlp.recompute_selective.empty());
  const LayerWork redo = transformer_layer(m, 1, {4, 1, true}, Dtype::bf16, {true, false, true});
  const auto& again = redo.mlp.recompute_selective;
  ASSERT_EQ(again.size(), redo.mlp.forward.size() - 1);
  EXPECT_EQ(again.front().name, "mlp_norm");
  EXPECT_EQ(again.back().name, "fc2");
  EXPECT_DOUBLE_EQ(redo.mlp.selective_recompute_saved_bytes,
                   redo.mlp.activation_bytes - redo.mlp.input_bytes);
  EXPECT_DOUBLE_EQ(redo.mlp.input_bytes, 8192.0 * 4096 * 2 / 4);
}

TEST(Transformer, LayernormRecomputeRunsTheTwoNormsAgainAndKeepsNotTheirOutputs) {
  // Megatron-Core's recompute_modules layernorm: input_layernorm and pre_mlp_layernorm behind
  // output-discarding checkpoints. Llama 3 8B, 8,192 tokens, tp 4 with sequence parallelism: each
  // norm's output is the next GEMM's input as stored, 8192 · 4096 · 2 / 4 bytes, made again
  // from the input kept anyway; with mlp the MLP's norm is already in the module run again.
  const TransformerConfig m = *transformer_preset("llama3-8b");
  SelectiveRecompute norms{false, false, false, false, true};
  const LayerWork w = transformer_layer(m, 1, {4, 1, true}, Dtype::bf16, norms);
  const double output = 8192.0 * 4096 * 2 / 4;
  ASSERT_EQ(w.attention.recompute_selective.size(), 1u);
  EXPECT_EQ(w.attention.recompute_selective[0].name, "attn_norm");
  EXPECT_DOUBLE_EQ(w.attention.selective_recompute_saved_bytes, output);
  ASSERT_EQ(w.mlp.recompute_selective.size(), 1u);
  EXPECT_EQ(w.mlp.recompute_selective[0].name, "mlp_norm");
  EXPECT_DOUBLE_EQ(w.mlp.selective_recompute_saved_bytes, output);
  SelectiveRecompute with_mlp = norms;
  with_mlp.mlp = true;
  const LayerWork both = transformer_layer(m, 1, {4, 1, true}, Dtype::bf16, with_mlp);
  EXPECT_EQ(both.mlp.recompute_selective.size(), both.mlp.forward.size() - 1);
  // An MoE layer's pre-MLP norm sits in its router block, whose input the shared experts read.
  const TransformerConfig mixtral = *transformer_preset("mixtral-8x7b");
  const MoeWork moe = moe_mlp(mixtral, 1, {4, 1, true, 8}, Dtype::bf16, norms);
  ASSERT_EQ(moe.router.recompute_selective.size(), 1u);
  EXPECT_EQ(moe.router.recompute_selective[0].name, "mlp_norm");
  EXPECT_DOUBLE_EQ(moe.router.selective_recompute_saved_bytes, 32768.0 * 4096 * 2 / 4);
}

TEST(Transformer, MoeActivationRecomputeDropsTheExpertsFc2Input) {
  TransformerConfig m = *transformer_preset("mixtral-8x7b");
  m.seq_len = 4096;
  // One expert a rank of eight, 8192 token copies; SwiGLU's output, FC2's input, is 14336 wide.
  const MoeWork kept = moe_mlp(m, 1, {1, 1, false, 8}, Dtype::bf16);
  EXPECT_TRUE(kept.experts.recompute_selective.empty());
  const MoeWork act = moe_mlp(m, 1, {1, 1, false, 8}, Dtype::bf16, {true, false, false, true});
  ASSERT_EQ(act.experts.recompute_selective.size(), 1u);
  EXPECT_EQ(act.experts.recompute_selective[0].name, "expert_mlp_activation");
  EXPECT_DOUBLE_EQ(act.experts.selective_recompute_saved_bytes, 8192.0 * 14336 * 2);
  EXPECT_DOUBLE_EQ(act.experts.activation_bytes, kept.experts.activation_bytes);
  // Under fp8 FC2 keeps its input as the fp8 copy it read: one byte an element.
  const MoeWork fp8 = moe_mlp(m, 1, {1, 1, false, 8}, Dtype::fp8, {true, false, false, true});
  EXPECT_DOUBLE_EQ(fp8.experts.selective_recompute_saved_bytes, 8192.0 * 14336 * 1);
}

TEST(Transformer, MoeMlpDispatchesTopKCopiesToTheLocalExperts) {
  auto m = *transformer_preset("mixtral-8x7b");
  m.seq_len = 4096;
  // Eight experts over eight ranks: one each, computing 4096·2 token copies under balanced
  // routing; the all-to-all sends each rank's 8192 copies of 4096 bf16 elements.
  const MoeWork one = moe_mlp(m, 1, {1, 1, false, 8}, Dtype::bf16);
  EXPECT_EQ(one.local_experts, 1);
  EXPECT_EQ(one.tokens_per_expert, 8192);
  EXPECT_DOUBLE_EQ(one.dispatch_bytes, 8192.0 * 4096 * 2);
  EXPECT_EQ(one.expert_tp_bytes, 0);
  const Kernel& fc1 = one.experts.forward[0];
  EXPECT_EQ(fc1.gemm.m, 8192);
  EXPECT_EQ(fc1.gemm.n, 2 * 14336);
  EXPECT_EQ(fc1.gemm.batch, 1);
  // Stored for backward: norm input and router input (no dropout mask: Mixtral trains without);
  // fp32 routing probabilities; expert FC1 input, activation input (2·14336) and FC2 input
  // (14336); the returned expert outputs.
  const double t = 4096, act = 2, copies = 8192;
  EXPECT_DOUBLE_EQ(one.router.activation_bytes, t * 4096 * (2 * act) + t * 8 * 4);
  EXPECT_DOUBLE_EQ(one.experts.activation_bytes, copies * (4096 + 3 * 14336) * act);
  EXPECT_DOUBLE_EQ(one.combine.activation_bytes, copies * 4096 * act);
  EXPECT_TRUE(one.shared.forward.empty());

  // Two tensor-parallel ranks with sequence parallelism and ep 2: each rank routes its half of
  // the sequence, four local experts compute 4096·2·1.25·2/8 slots each on the copies the
  // tensor-parallel pair gathered, with half of every expert's FFN.
  m.moe.capacity_factor = 1.25;
  const MoeWork tp = moe_mlp(m, 1, {2, 1, true, 2}, Dtype::bf16);
  EXPECT_EQ(tp.local_experts, 4);
  EXPECT_EQ(tp.tokens_per_expert, 2560);
  EXPECT_EQ(tp.router.forward[1].gemm.m, 2048);
  EXPECT_DOUBLE_EQ(tp.dispatch_bytes, 2048 * 2 * 1.25 * 4096 * 2);
  EXPECT_DOUBLE_EQ(tp.expert_tp_bytes, 4 * 2560.0 * 4096 * 2);
  EXPECT_EQ(tp.experts.forward[0].gemm.n, 14336);
  EXPECT_EQ(tp.experts.forward[0].gemm.batch, 4);
  // Megatron-LM runs MoE with tensor parallelism only under sequence parallelism.
  EXPECT_THROW(moe_mlp(m, 1, {2, 1, false, 2}, Dtype::bf16), std::invalid_argument);
  EXPECT_THROW(moe_mlp(m, 1, {1, 1, false, 3}, Dtype::bf16), std::invalid_argument);
}

}  // namespace
}  // namespace scaleplan
