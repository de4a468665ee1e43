// Dense decoder-only transformers (GPT and Llama families): parameter counts, and per-layer
// kernels, communication volumes and stored activations as functions of micro-batch, tensor,
// sequence and context parallelism and dtype.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/device_spec.hpp"
#include "models/kernel.hpp"

namespace scaleplan {

struct TransformerConfig {
  std::string name;
  std::int64_t layers = 0;
  std::int64_t hidden = 0;
  std::int64_t ffn_hidden = 0;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t vocab = 0;
  std::int64_t seq_len = 0;
  bool gated_mlp = false;              // SwiGLU (Llama): three FFN matrices instead of two
  bool biases = true;                  // GPT has biases on every linear layer; Llama has none
  bool learned_positions = true;       // GPT learns position embeddings; Llama uses rotary
  bool tied_embeddings = true;         // output projection shares the input embedding
  int norm_parameters_per_hidden = 2;  // LayerNorm: gain and bias; RMSNorm: gain only
  // Fused attention (FlashAttention) never writes the score matrix; materialised attention
  // (Megatron-LM before 2023) runs two batched GEMMs and a softmax over it and keeps it for
  // backward.
  bool flash_attention = true;
  bool causal = true;  // decoder masking; fused kernels skip the masked half of the scores

  std::int64_t head_dim() const { return hidden / heads; }
  std::int64_t kv_dim() const { return kv_heads * head_dim(); }
};

const std::vector<std::string>& transformer_preset_names();
std::optional<TransformerConfig> transformer_preset(std::string_view name);

// Parameter counts.
double layer_parameters(const TransformerConfig& model);
double embedding_parameters(const TransformerConfig& model);  // word, position, untied output
double total_parameters(const TransformerConfig& model);

// How one layer is split across devices.
struct LayerPartition {
  int tp = 1;
  int cp = 1;
  bool sequence_parallel = false;
};

// Parameters of one transformer layer held by one tensor-parallel rank.
double layer_parameters_per_rank(const TransformerConfig& model, int tp);

// Half a transformer layer (attention or MLP) as one tensor-parallel rank runs it.
struct Block {
  std::string name;
  std::vector<Kernel> forward;
  std::vector<Kernel> backward;
  // Kernels of `forward` that selective recompute runs again before backward (the attention
  // core: scores, softmax, dropout, values).
  std::vector<Kernel> recompute_selective;
  // Bytes of the activation tensor that tensor parallelism all-reduces at this block's output in
  // forward and at its input gradient in backward (reduce-scatter / all-gather with sequence
  // parallelism).
  double tp_collective_bytes = 0;
  // Bytes stored from forward to backward for one micro-batch without recompute, and the part of
  // them selective recompute drops.
  double activation_bytes = 0;
  double selective_recompute_saved_bytes = 0;
  // The block's input, which full recompute keeps instead of everything else.
  double input_bytes = 0;
};

struct LayerWork {
  Block attention;
  Block mlp;
};

// Bytes of one stored activation element: 16-bit training keeps 16-bit activations (fp8 GEMMs
// still store their inputs in 16 bits), fp32 and tf32 keep 32-bit ones.
double activation_element_bytes(Dtype dtype);

LayerWork transformer_layer(const TransformerConfig& model, std::int64_t micro_batch,
                            const LayerPartition& partition, Dtype dtype);
// Word (and position) embedding of the first pipeline stage.
Block embedding_block(const TransformerConfig& model, std::int64_t micro_batch,
                      const LayerPartition& partition, Dtype dtype);
// Final norm, output projection and cross-entropy loss of the last pipeline stage.
Block output_block(const TransformerConfig& model, std::int64_t micro_batch,
                   const LayerPartition& partition, Dtype dtype);

// FLOPs of one training step (forward and backward, no recompute) per token, summed over the
// model's GEMM and attention kernels: the "model FLOPs" that MFU divides by.
double training_flops_per_token(const TransformerConfig& model);

}  // namespace scaleplan
