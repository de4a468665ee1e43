// Decoder-only transformers (GPT and Llama families, Mixture-of-Experts models such as Mixtral and
// DeepSeek-V3): parameter counts, and per-layer kernels, communication volumes and stored
// activations as functions of micro-batch, tensor, sequence, context and expert parallelism and
// dtype.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/device_spec.hpp"
#include "models/kernel.hpp"
#include "models/moe_routing.hpp"

namespace scaleplan {

// Mixture-of-Experts MLP (Shazeer et al. 2017, GShard, Switch): a router sends each token to
// `top_k` of `experts` routed experts, each an FFN of `expert_ffn_hidden`; shared experts
// (DeepSeekMoE, Dai et al. 2024) see every token and run as one dense FFN of
// shared_experts · expert_ffn_hidden. Layers before `dense_layers` keep the dense FFN of
// ffn_hidden (DeepSeek-V3's first three).
struct MoeConfig {
  std::int64_t experts = 0;  // routed experts; 0: a dense model
  std::int64_t top_k = 1;
  std::int64_t shared_experts = 0;
  std::int64_t expert_ffn_hidden = 0;
  // Token slots each expert computes, relative to perfectly balanced routing
  // (tokens · top_k / experts): Megatron-LM's --moe-expert-capacity-factor with
  // --moe-pad-expert-input-to-capacity. Above 1 it also stands for routing imbalance: the busiest
  // expert sets the pace. Model FLOPs (MFU) count balanced routing whatever this is.
  double capacity_factor = 1.0;
  std::int64_t dense_layers = 0;
  // How the router picks a token's experts (models/moe_routing.hpp); router_groups and
  // router_group_topk only for group_limited.
  ExpertRoutingKind routing = ExpertRoutingKind::uniform;
  std::int64_t router_groups = 1;
  std::int64_t router_group_topk = 1;

  ExpertRouting expert_routing() const {
    return {routing, experts, top_k, router_groups, router_group_topk};
  }
};

// Multi-head latent attention (DeepSeek-V2, arXiv:2405.04434, section 2.1): queries and
// keys/values are projected down to low-rank latents and back up per head; keys carry a
// decoupled rotary part shared by all heads. Active when kv_lora_rank > 0.
struct LatentAttentionConfig {
  std::int64_t q_lora_rank = 0;  // 0: queries projected straight from the hidden state
  std::int64_t kv_lora_rank = 0;
  std::int64_t qk_nope_head_dim = 0;
  std::int64_t qk_rope_head_dim = 0;
  std::int64_t v_head_dim = 0;
};

struct TransformerConfig {
  std::string name;
  std::int64_t layers = 0;
  std::int64_t hidden = 0;
  std::int64_t ffn_hidden = 0;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  // Width of one attention head where it is not hidden / heads (Qwen3: 32 heads of 128 on a
  // hidden of 2048; Gemma: 256; Mistral NeMo: 128 on 5120 with 32 heads). 0: hidden / heads.
  std::int64_t attention_head_dim = 0;
  std::int64_t vocab = 0;
  std::int64_t seq_len = 0;
  bool gated_mlp = false;              // SwiGLU (Llama): three FFN matrices instead of two
  bool biases = true;                  // GPT has biases on every linear layer; Llama has none
  bool learned_positions = true;       // GPT learns position embeddings; Llama uses rotary
  bool tied_embeddings = true;         // output projection shares the input embedding
  int norm_parameters_per_hidden = 2;  // LayerNorm: gain and bias; RMSNorm: gain only
  // Each head's queries and keys normalised (RMSNorm over head_dim) before attention: Qwen3,
  // Gemma 3, OLMo 2 (Megatron-Core's qk_layernorm).
  bool qk_norm = false;
  // Hidden and attention dropout (GPT-3 and Megatron-LM's GPT recipes: 0.1). Without it (Llama,
  // Mixtral, DeepSeek: probability 0) no mask is drawn or kept: PyTorch's dropout at p = 0
  // returns its input (aten/src/ATen/native/Dropout.cpp), and the residual add writes no mask.
  bool dropout = true;
  // Fused attention (FlashAttention) never writes the score matrix; materialised attention
  // (Megatron-LM before 2023) runs two batched GEMMs and a softmax over it and keeps it for
  // backward.
  bool flash_attention = true;
  bool causal = true;  // decoder masking; fused kernels skip the masked half of the scores
  MoeConfig moe;
  LatentAttentionConfig mla;
  // Multi-token prediction (DeepSeek-V3, arXiv:2412.19437, section 2.2; Megatron-Core's
  // --mtp-num-layers): modules after the last layer, each predicting one token further. A module
  // normalises the previous depth's hidden state and the embedding of the shifted tokens, projects
  // their concatenation from 2·hidden to hidden (eh_proj), runs one more transformer layer (an MoE
  // one in an MoE model) and a final norm, and shares the output head and its loss. Megatron-Core
  // places them on the last pipeline stage, which then also keeps a copy of the word embedding.
  std::int64_t mtp_layers = 0;

  std::int64_t head_dim() const {
    return attention_head_dim > 0 ? attention_head_dim : hidden / heads;
  }
  // Widths of all heads' queries (and attention output) and keys (and values), per token.
  std::int64_t q_dim() const { return heads * head_dim(); }
  std::int64_t kv_dim() const { return kv_heads * head_dim(); }
  bool latent_attention() const { return mla.kv_lora_rank > 0; }
  // Per-head widths of queries and keys, and of values: head_dim without latent attention.
  std::int64_t qk_head_dim() const {
    return latent_attention() ? mla.qk_nope_head_dim + mla.qk_rope_head_dim : head_dim();
  }
  std::int64_t v_head_dim() const { return latent_attention() ? mla.v_head_dim : head_dim(); }
  bool is_moe() const { return moe.experts > 0; }
  // Layers from `layers` on are the multi-token prediction modules' (MoE ones in an MoE model).
  bool is_moe_layer(std::int64_t layer) const { return is_moe() && layer >= moe.dense_layers; }
  // The last pipeline stage keeps a copy of the word embedding, kept in step with the first
  // stage's by a gradient all-reduce: for a tied output head, and for the prediction modules'
  // embedding lookup.
  bool embedding_on_last_stage() const { return tied_embeddings || mtp_layers > 0; }
  // Layers among [first, first + count) with an MoE MLP.
  std::int64_t moe_layers_in(std::int64_t first, std::int64_t count) const;
};

const std::vector<std::string>& transformer_preset_names();
std::optional<TransformerConfig> transformer_preset(std::string_view name);

// Parameters a rank holds, split by which ranks hold the same copy: `dense` ones (attention,
// norms, dense FFN, router, shared experts) are the same on every data-parallel rank, `expert`
// ones (routed experts) only on the ranks that hold the same experts.
struct ParameterSplit {
  double dense = 0;
  double expert = 0;
  double total() const { return dense + expert; }
};

// Parameter counts.
double layer_parameters(const TransformerConfig& model, std::int64_t layer);
double embedding_parameters(const TransformerConfig& model);  // word, position, untied output
double total_parameters(const TransformerConfig& model);
// What each multi-token prediction module adds besides its transformer layer, on one of `tp`
// tensor-parallel ranks: eh_proj (2·hidden x hidden, no bias, column-parallel) and its three
// norms (the embedding's, the hidden state's and its final one).
double mtp_extra_parameters_per_rank(const TransformerConfig& model, int tp);
// The weights one token's computation uses: every parameter but the routed experts the router
// did not pick (top_k of them per MoE layer are used). Counts the input embedding, as Mistral's
// 12.9B for Mixtral 8x7B does (DeepSeek's 37B, 36.6B without it, does not).
double active_parameters(const TransformerConfig& model);

// How one layer is split across devices. Expert parallelism spreads the routed experts over
// `ep` ranks; each expert is split over the tensor-parallel group as the dense FFN is.
struct LayerPartition {
  int tp = 1;
  int cp = 1;
  bool sequence_parallel = false;
  int ep = 1;
};

// Parameters of transformer layer `layer` held by one rank of `tp` tensor-parallel and `ep`
// expert-parallel ranks.
ParameterSplit layer_parameters_per_rank(const TransformerConfig& model, std::int64_t layer, int tp,
                                         int ep);

// Half a transformer layer (attention or MLP) as one tensor-parallel rank runs it.
struct Block {
  std::string name;
  std::vector<Kernel> forward;
  // The backward pass in its two parts (Qi et al. 2024, "Zero Bubble Pipeline Parallelism"):
  // the input gradient, which the previous layer waits for (every GEMM's dgrad, and the backward
  // of the kernels without weights: attention, norms, elementwise), and the weight gradient,
  // which nothing in the backward pass waits for (every GEMM's wgrad, the embedding's gradient).
  std::vector<Kernel> backward_input;
  std::vector<Kernel> backward_weight;
  // Kernels of `forward` that selective recompute runs again before backward (the modules of
  // SelectiveRecompute: by default the attention core, scores, softmax, dropout and values).
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
  // What a weight-gradient pass run after the input-gradient pass (not right after it) keeps
  // until it runs: the part of activation_bytes it reads (the stored inputs of the block's
  // GEMMs), and what the input-gradient pass makes for it (the gradients of the GEMMs' outputs
  // and, with sequence parallelism, the column-parallel GEMM's input all-gathered again).
  double weight_gradient_inputs_bytes = 0;
  double weight_gradient_operands_bytes = 0;

  // Both parts, input gradient first, for schedules that run them back to back.
  std::vector<Kernel> backward() const;
};

struct LayerWork {
  Block attention;
  Block mlp;  // the dense FFN (layers without experts)
};

// The MLP of an MoE layer as one rank runs it, after Megatron-LM's all-to-all token dispatcher:
// the rank routes its tokens (its sequence shard under sequence parallelism), sends each token's
// top_k copies to the ranks holding those experts (all-to-all over the expert-parallel group),
// the tensor-parallel group all-gathers what arrived, the local experts compute on it with their
// FFN split over tp (expert tensor parallelism = tp), a reduce-scatter and a second all-to-all
// bring the results back, and the router's weights combine them.
struct MoeWork {
  Block router;   // norm, router GEMM, top-k, permutation of the rank's tokens
  Block experts;  // grouped GEMMs of the rank's experts over the token copies they receive
  Block shared;   // shared experts: a dense FFN over every token; no kernels without them
  Block combine;  // un-permutation, weighted sum of the expert outputs, residual
  // All-to-all send buffer per rank, each way: the rank's token copies, top_k · capacity of them
  // per token, of hidden elements each.
  double dispatch_bytes = 0;
  // The tensor-parallel all-gather of the dispatched copies (its output) and the reduce-scatter
  // of the expert outputs (its input); 0 without tensor parallelism.
  double expert_tp_bytes = 0;
  std::int64_t local_experts = 0;
  std::int64_t tokens_per_expert = 0;  // token slots each local expert computes
};

// Bytes of one stored activation element: 16-bit training (fp8's included) keeps 16-bit
// activations, fp32 and tf32 keep 32-bit ones.
double activation_element_bytes(Dtype dtype);

// Bytes of one element of a linear layer's input as kept for its weight gradient. Under fp8,
// Transformer Engine keeps the fp8 copy its GEMM read, not the 16-bit input
// (transformer_engine/pytorch/module/linear.py, layernorm_linear.py and grouped_linear.py save the
// quantized input: `inputmat` or its transpose in 1.x, a quantized tensor with column-wise usage
// in 2.x): 1 byte. Other training keeps the input itself (activation_element_bytes).
double gemm_input_element_bytes(Dtype dtype);

// Bytes of the dropout mask kept per element of a dropped-out tensor: 1 (a byte mask), or 0 for
// a model trained without dropout.
double dropout_mask_element_bytes(const TransformerConfig& m);

// The dtype of everything but the linear layers' GEMMs in training of `dtype`. fp8 training
// (Transformer Engine's fp8_autocast, as Megatron-Core and NeMo run it) runs only the GEMMs of
// te.Linear, LayerNormLinear and LayerNormMLP in fp8; attention (DotProductAttention), norms,
// activations, softmax, the output layer and the tensor- and pipeline-parallel traffic stay in
// bf16 (Transformer Engine user guide, "Using FP8 with Transformer Engine"; Megatron-Core wraps
// only the transformer block in fp8_autocast). Every other dtype runs everything in itself.
Dtype non_gemm_dtype(Dtype dtype);

// Transformer Engine's fp8 scaling recipes (transformer_engine/common/recipe.py): `delayed`
// (DelayedScaling: each tensor's scale comes from the amax history of earlier steps, and the
// cast computes the new amax in the same pass) and `current` (Float8CurrentScaling, per-tensor
// current scaling, Megatron-Bridge's "FP8-CS": Float8CurrentScalingQuantizer::quantize_impl
// runs nvte_compute_amax over the input, then the cast: one more read of the input).
enum class Fp8Recipe { delayed, current };

inline constexpr EnumNames<Fp8Recipe, 2> fp8_recipe_names{{{
    {Fp8Recipe::delayed, "delayed"},
    {Fp8Recipe::current, "current"},
}}};

inline std::string_view to_string(Fp8Recipe recipe) {
  return fp8_recipe_names.name(recipe);
}

// Bytes Transformer Engine moves per element of a 16-bit tensor it casts for an fp8 GEMM: the
// fused cast-transpose reads it (2) and writes the fp8 copy the GEMM reads (1) and its transpose
// (1), which Hopper's fp8 GEMMs need for the other product of the backward (only the TN layout
// runs in fp8); current scaling reads it once more for the amax first (2).
double fp8_cast_bytes_per_element(Fp8Recipe recipe);

// Which kernels write an fp8 GEMM's input themselves, instead of a cast of its own after them.
// `none`: every fp8 GEMM is a te.Linear, which casts its 16-bit input. `norm`: the GEMMs that
// read a norm's output (QKV and FC1; MLA's q_up and kv_up after their latent norms) are
// Transformer Engine's LayerNormLinear, whose norm kernel writes the fp8 copy
// (transformer_engine/pytorch/module/layernorm_linear.py, `with_quantized_norm`; csrc/extensions/
// normalization.cpp, `layernorm_fwd`): under delayed scaling the norm writes fp8 in place of
// 16 bits (Impl::FULLY_FUSED) and its transpose is a pass of its own (nvte_transpose after the
// norm, common/normalization/layernorm/ln_api.cpp; TE 1.x: tex.fp8_transpose in the backward);
// under current scaling the norm still writes 16 bits but computes the amax in the same pass
// (Impl::FUSED_NORM_AMAX_FP8), and the cast-transpose that follows
// (Float8CurrentScalingQuantizer::quantize_with_amax) skips the amax read.
enum class Fp8CastFusion { none, norm };

inline constexpr EnumNames<Fp8CastFusion, 2> fp8_cast_fusion_names{{{
    {Fp8CastFusion::none, "none"},
    {Fp8CastFusion::norm, "norm"},
}}};

inline std::string_view to_string(Fp8CastFusion fusion) {
  return fp8_cast_fusion_names.name(fusion);
}

// How a block's fp8 GEMMs get their fp8 operands.
struct Fp8CastSettings {
  Fp8Recipe recipe = Fp8Recipe::delayed;
  // Weight casts per micro-batch: 1 where every call casts the weights (te.Linear without
  // is_first_microbatch), 1/micro-batches where they are cast once per step and cached.
  double weight_casts_per_micro_batch = 1;
  // The model's hidden size and the sequence-parallel degree: a GEMM reading the hidden-wide
  // normed input (QKV, FC1) has it cast on the rank's sequence shard before the all-gather.
  std::int64_t hidden = 0;
  std::int64_t sequence_shards = 1;
  Fp8CastFusion fusion = Fp8CastFusion::none;
};

// The quantisation kernels of `block`'s fp8 GEMMs, added to it: in the forward, each GEMM's
// input (tokens x k) and its weights (n x k, at settings.weight_casts_per_micro_batch); in the
// backward (input gradient), each GEMM's output gradient (tokens x n). A cast of its own moves
// fp8_cast_bytes_per_element per element (memory-bound, in bf16). An operand that sequence
// parallelism all-gathers (the hidden-wide input of QKV and FC1, the hidden-wide output gradient
// of the output projection and FC2) is cast without its transpose on the rank's shard (2 read,
// 1 written, and the amax read under current scaling), all-gathered in fp8, and transposed whole
// where the weight gradient needs it (1 read, 1 written per element, in the backward's weight
// gradient): Transformer Engine cannot all-gather a transpose
// (transformer_engine/pytorch/distributed.py, _all_gather_fp8: quantize rowwise, gather, then
// _create_transpose; layernorm_linear.py's backward "computes FP8 transposes manually"). With
// settings.fusion `norm` the norm-fed GEMMs' inputs come from their norm (Fp8CastFusion): under
// delayed scaling the norm kernel writes 1 byte less per element and no cast runs, the transpose
// a pass of its own (2 bytes per element) where it is not gathered; under current scaling the
// cast runs without its amax read. Blocks without fp8 GEMMs are left as they are. The amax
// all-reduces and scale updates (a few scalars) are not counted.
void add_fp8_casts(Block& block, const Fp8CastSettings& settings);

// The fused attention kernels' names (the FlashAttention-style path of transformer_layer).
inline constexpr std::string_view fused_attention_kernel_name = "flash_attention";
inline constexpr std::string_view fused_attention_backward_kernel_name = "flash_attention_backward";

// Marks the block's fused attention kernels as `library`'s (FrameworkSpec::attention_library);
// materialised attention's products are left as they are.
void use_attention_library(Block& block, AttentionLibrary library);

// The parts of a layer that selective recompute runs again before the layer's backward instead
// of keeping what they made, named as Megatron-Core's --recompute-modules names them: the
// attention core (core_attn, its default: the scores, softmax, dropout and values of
// materialised attention; fused attention keeps nothing of its own to drop), MLA's
// up-projections (mla_up_proj: the queries, keys and values made again from the latents the
// layer keeps anyway), the dense MLP (mlp: run again from its input, which it keeps; not the
// experts of an MoE layer), and the routed experts' activation function (moe_act: FC2's input
// made again from FC1's output, which the activation keeps anyway).
struct SelectiveRecompute {
  bool core_attention = true;
  bool mla_up_projection = false;
  bool mlp = false;
  bool moe_activation = false;
  // The norms before attention and before the MLP (Megatron-Core's "layernorm": output-discarding
  // checkpoints of input_layernorm and pre_mlp_layernorm): their outputs are not kept but made
  // again from their inputs before backward.
  bool layernorm = false;
  bool operator==(const SelectiveRecompute&) const = default;
};

// Each module's name in parallelism.recompute_modules (Megatron-Core's) and its flag.
struct RecomputeModuleName {
  std::string_view name;
  bool SelectiveRecompute::*flag;
};
inline constexpr RecomputeModuleName recompute_module_names[] = {
    {"core_attn", &SelectiveRecompute::core_attention},
    {"mla_up_proj", &SelectiveRecompute::mla_up_projection},
    {"mlp", &SelectiveRecompute::mlp},
    {"moe_act", &SelectiveRecompute::moe_activation},
    {"layernorm", &SelectiveRecompute::layernorm},
};

// `recompute` fills Block::recompute_selective and selective_recompute_saved_bytes of the
// attention and MLP blocks.
LayerWork transformer_layer(const TransformerConfig& model, std::int64_t micro_batch,
                            const LayerPartition& partition, Dtype dtype,
                            const SelectiveRecompute& recompute = {});
// `recompute` (its moe_activation) fills Block::recompute_selective and
// selective_recompute_saved_bytes of the experts block.
MoeWork moe_mlp(const TransformerConfig& model, std::int64_t micro_batch,
                const LayerPartition& partition, Dtype dtype,
                const SelectiveRecompute& recompute = {});
// Word (and position) embedding of the first pipeline stage.
Block embedding_block(const TransformerConfig& model, std::int64_t micro_batch,
                      const LayerPartition& partition, Dtype dtype);
// How the loss runs (Megatron-Core's --cross-entropy-loss-fusion and
// --cross-entropy-fusion-impl): `none`, Megatron's vocab-parallel cross-entropy pass by pass in
// fp32 (megatron/core/tensor_parallel/cross_entropy.py); `native`, the same passes fused by
// jit_fuser (megatron/core/fusions/fused_cross_entropy.py); `te`, Transformer Engine's Triton
// kernels (transformer_engine/pytorch/triton/cross_entropy.py, through
// te_parallel_cross_entropy).
enum class CrossEntropyFusion { none, native, te };

inline constexpr EnumNames<CrossEntropyFusion, 3> cross_entropy_fusion_names{{{
    {CrossEntropyFusion::none, "none"},
    {CrossEntropyFusion::native, "native"},
    {CrossEntropyFusion::te, "te"},
}}};

inline std::string_view to_string(CrossEntropyFusion fusion) {
  return cross_entropy_fusion_names.name(fusion);
}

// Bytes the cross-entropy moves per logit of `logit_bytes` (the logits' element size), forward
// and backward. `none`: the fp32 copy, max, subtraction, exp, sum, division (36 + logit_bytes)
// and the in-place product with the loss gradient and the cast back (12 + logit_bytes).
// `native`: calculate_logits_max returns the fp32 copy it takes the max of (logit_bytes + 4),
// calculate_predicted_logits subtracts and exponentiates in one pass with the sum (8),
// calculate_cross_entropy_loss divides in place (8); calculate_gradients reads the softmax and
// writes the 16-bit gradient (4 + logit_bytes). `te`: online_softmax_kernel reads the logits
// (logit_bytes), cross_entropy_kernel reads them again and writes the gradient over them (2 x
// logit_bytes); the backward's element_mul_kernel scales it in place by the per-token loss
// gradient (2 x logit_bytes; it is skipped only for a scalar gradient of 1, and Megatron-Core
// passes reduce_loss False).
double cross_entropy_forward_bytes(CrossEntropyFusion fusion, double logit_bytes);
double cross_entropy_backward_bytes(CrossEntropyFusion fusion, double logit_bytes);
// Final norm, output projection and cross-entropy loss of the last pipeline stage, and with
// multi-token prediction each module's embedding lookup, norms, eh_proj and its own pass through
// the shared head and loss (its transformer layer is a layer of its own).
Block output_block(const TransformerConfig& model, std::int64_t micro_batch,
                   const LayerPartition& partition, Dtype dtype,
                   CrossEntropyFusion loss = CrossEntropyFusion::none);

// FLOPs of one training step (forward and backward, no recompute) per token, summed over the
// model's GEMM and attention kernels: the "model FLOPs" that MFU divides by. Causal attention
// counts the unmasked half of the scores (FlashAttention's convention; Megatron-LM's formula
// counts them all: `AttentionFlops::whole_matrix`). MoE layers count the router and the top_k
// experts each token uses under balanced routing (active parameters).
enum class AttentionFlops { causal_half, whole_matrix };
double training_flops_per_token(const TransformerConfig& model,
                                AttentionFlops convention = AttentionFlops::causal_half);

}  // namespace scaleplan
