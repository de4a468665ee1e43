#include "models/transformer.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace scaleplan {

namespace {

double d(std::int64_t x) {
  return static_cast<double>(x);
}

Kernel memory_kernel(std::string name, KernelKind kind, Dtype dtype, double bytes) {
  Kernel k;
  k.name = std::move(name);
  k.kind = kind;
  k.dtype = dtype;
  k.bytes = bytes;
  return k;
}

// Backward of a GEMM: the input gradient (dgrad) and the weight gradient (wgrad). The two
// products of attention (scores and values) have no weights: both are input gradients.
void add_gemm_backward(const Kernel& forward, Block& block) {
  const GemmShape& s = forward.gemm;
  Kernel dgrad = make_gemm(forward.name + "_dgrad", {s.m, s.k, s.n, s.batch}, forward.dtype);
  Kernel wgrad = make_gemm(forward.name + "_wgrad", {s.k, s.n, s.m, s.batch}, forward.dtype);
  if (forward.kind == KernelKind::attention) {
    dgrad.kind = wgrad.kind = KernelKind::attention;
    dgrad.attention_product = wgrad.attention_product = forward.attention_product;
    block.backward_input.push_back(std::move(dgrad));
    block.backward_input.push_back(std::move(wgrad));
    return;
  }
  block.backward_input.push_back(std::move(dgrad));
  block.backward_weight.push_back(std::move(wgrad));
}

// Backward of a memory-bound kernel reads the output gradient and the saved input and writes the
// input gradient: about twice the forward traffic.
void add_memory_backward(const Kernel& forward, Block& block) {
  block.backward_input.push_back(
      memory_kernel(forward.name + "_backward", forward.kind, forward.dtype, 2 * forward.bytes));
}

void add_backward(const std::vector<Kernel>& forward, Block& block) {
  for (auto it = forward.rbegin(); it != forward.rend(); ++it) {
    if (it->kind == KernelKind::gemm || it->kind == KernelKind::attention) {
      add_gemm_backward(*it, block);
    } else {
      add_memory_backward(*it, block);
    }
  }
}

// Elements of the outputs of the GEMMs among `kernels` (attention's products excluded): the
// output gradients their weight gradients read.
double gemm_output_elements(const std::vector<Kernel>& kernels) {
  double elements = 0;
  for (const Kernel& k : kernels) {
    if (k.kind == KernelKind::gemm)
      elements += d(k.gemm.m) * d(k.gemm.n) * d(k.gemm.batch);
  }
  return elements;
}

// FC1, activation and FC2 of `batch` FFNs of width `ffn`, split over `t` tensor-parallel ranks,
// each over `rows` tokens. `stored_bytes` gets what backward keeps beyond the FC1 input: the
// activation's input and output (FC2's input).
std::vector<Kernel> ffn_kernels(const TransformerConfig& m, const std::string& prefix,
                                std::int64_t rows, std::int64_t batch, std::int64_t ffn,
                                std::int64_t t, Dtype dtype, double& stored_bytes) {
  const std::int64_t fc1_out = (m.gated_mlp ? 2 : 1) * ffn / t;
  const double act_in = d(rows) * d(batch) * d(fc1_out);
  const double act_out = d(rows) * d(batch) * d(ffn / t);
  // The activation function keeps its input (FC1's output) for its backward; FC2 keeps its
  // input (the activation's output) as its GEMM read it.
  stored_bytes =
      act_in * activation_element_bytes(dtype) + act_out * gemm_input_element_bytes(dtype);
  return {make_gemm(prefix + "fc1", {rows, fc1_out, m.hidden, batch}, dtype),
          memory_kernel(prefix + "mlp_activation", KernelKind::elementwise, non_gemm_dtype(dtype),
                        (act_in + act_out) * bytes_per_element(non_gemm_dtype(dtype))),
          make_gemm(prefix + "fc2", {rows, m.hidden, ffn / t, batch}, dtype)};
}

}  // namespace

std::int64_t TransformerConfig::moe_layers_in(std::int64_t first, std::int64_t count) const {
  if (!is_moe())
    return 0;
  return std::max<std::int64_t>(0, first + count - std::max(first, moe.dense_layers));
}

namespace {

// Attention weights of one tensor-parallel rank. Column-parallel weights (QKV, latent
// up-projections) and their biases split across ranks; row-parallel weights (projection) split
// too, but their biases are replicated. The latent down-projections and their norms are
// replicated: every rank computes them whole (Megatron-LM's MLA).
double attention_parameters_per_rank(const TransformerConfig& m, double t) {
  const double h = d(m.hidden);
  if (!m.latent_attention()) {
    const double q = d(m.q_dim()), kv = d(m.kv_dim());
    double params = (h * (q + 2 * kv) + q * h) / t;
    if (m.biases)
      params += (q + 2 * kv) / t + h;
    // The query and key norms' gains, one per head dimension each, on every rank.
    if (m.qk_norm)
      params += 2 * d(m.head_dim()) * d(m.norm_parameters_per_hidden);
    return params;
  }
  const LatentAttentionConfig& a = m.mla;
  const double heads = d(m.heads), q_rank = d(a.q_lora_rank), kv_rank = d(a.kv_lora_rank);
  const double rope = d(a.qk_rope_head_dim), qk = d(m.qk_head_dim()), v = d(m.v_head_dim());
  const double q_up = heads * qk, kv_up = heads * (d(a.qk_nope_head_dim) + v);
  double replicated = h * (kv_rank + rope) + kv_rank;
  if (a.q_lora_rank > 0)
    replicated += h * q_rank + q_rank;
  double split = ((a.q_lora_rank > 0 ? q_rank : h) * q_up + kv_rank * kv_up + heads * v * h) / t;
  if (m.biases) {
    replicated += (a.q_lora_rank > 0 ? q_rank : 0.0) + kv_rank + rope + h;
    split += (q_up + kv_up) / t;
  }
  return replicated + split;
}

// One FFN of width `ffn` (gated: three matrices), split like attention.
double ffn_parameters_per_rank(const TransformerConfig& m, std::int64_t ffn, double t) {
  const double h = d(m.hidden), f = d(ffn);
  const double in = m.gated_mlp ? 2 * f : f;
  double params = (h * in + f * h) / t;
  if (m.biases)
    params += in / t + h;
  return params;
}

// With `routed` of the routed experts counted: all of them held, or the top_k a token uses.
ParameterSplit layer_parameters_with(const TransformerConfig& m, bool moe_layer, double t,
                                     double routed) {
  ParameterSplit params;
  params.dense =
      attention_parameters_per_rank(m, t) + 2.0 * m.norm_parameters_per_hidden * d(m.hidden);
  if (!moe_layer) {
    params.dense += ffn_parameters_per_rank(m, m.ffn_hidden, t);
    return params;
  }
  // The router is replicated and has no bias (Mixtral, DeepSeek-V3).
  params.dense += d(m.moe.experts) * d(m.hidden);
  if (m.moe.shared_experts > 0)
    params.dense += ffn_parameters_per_rank(m, m.moe.shared_experts * m.moe.expert_ffn_hidden, t);
  params.expert = routed * ffn_parameters_per_rank(m, m.moe.expert_ffn_hidden, t);
  return params;
}

}  // namespace

double layer_parameters(const TransformerConfig& m, std::int64_t layer) {
  return layer_parameters_per_rank(m, layer, 1, 1).total();
}

ParameterSplit layer_parameters_per_rank(const TransformerConfig& m, std::int64_t layer, int tp,
                                         int ep) {
  return layer_parameters_with(m, m.is_moe_layer(layer), tp, d(m.moe.experts / ep));
}

double embedding_parameters(const TransformerConfig& m) {
  double params = d(m.vocab) * d(m.hidden);
  if (m.learned_positions)
    params += d(m.seq_len) * d(m.hidden);
  if (!m.tied_embeddings)
    params += d(m.vocab) * d(m.hidden);
  return params;
}

namespace {

// Sums layers by kind: dense layers come first, all alike, and so do the MoE layers after them,
// the multi-token prediction modules' last.
double model_parameters(const TransformerConfig& m, double routed) {
  const std::int64_t layers = m.layers + m.mtp_layers;
  const std::int64_t moe_layers = m.moe_layers_in(0, layers);
  const std::int64_t dense_layers = layers - moe_layers;
  double params = d(dense_layers) * layer_parameters_with(m, false, 1, 0).total();
  if (moe_layers > 0)
    params += d(moe_layers) * layer_parameters_with(m, true, 1, routed).total();
  return params + d(m.mtp_layers) * mtp_extra_parameters_per_rank(m, 1) + embedding_parameters(m) +
         m.norm_parameters_per_hidden * d(m.hidden);
}

}  // namespace

double total_parameters(const TransformerConfig& m) {
  return model_parameters(m, d(m.moe.experts));
}

double active_parameters(const TransformerConfig& m) {
  return model_parameters(m, d(m.moe.top_k));
}

double mtp_extra_parameters_per_rank(const TransformerConfig& m, int tp) {
  return 2 * d(m.hidden) * d(m.hidden) / tp + 3 * d(m.norm_parameters_per_hidden) * d(m.hidden);
}

std::vector<Kernel> Block::backward() const {
  std::vector<Kernel> both = backward_input;
  both.insert(both.end(), backward_weight.begin(), backward_weight.end());
  return both;
}

double activation_element_bytes(Dtype dtype) {
  return std::max(2.0, bytes_per_element(dtype));
}

double dropout_mask_element_bytes(const TransformerConfig& m) {
  return m.dropout ? 1.0 : 0.0;
}

double gemm_input_element_bytes(Dtype dtype) {
  return dtype == Dtype::fp8 ? bytes_per_element(Dtype::fp8) : activation_element_bytes(dtype);
}

Dtype non_gemm_dtype(Dtype dtype) {
  return dtype == Dtype::fp8 ? Dtype::bf16 : dtype;
}

double fp8_cast_bytes_per_element(Fp8Recipe recipe) {
  const double cast_transpose = 2 + 1 + 1;
  return recipe == Fp8Recipe::current ? cast_transpose + 2 : cast_transpose;
}

namespace {

// The norm whose output each norm-fed GEMM of transformer_layer reads (Megatron-Core's
// TELayerNormColumnParallelLinear: linear_qkv after the input norm, linear_fc1 after the
// pre-MLP norm, MLA's linear_q_up_proj and linear_kv_up_proj after q_layernorm and
// kv_layernorm, one latent_norm kernel here).
std::string_view norm_feeding(std::string_view gemm) {
  if (gemm == "qkv")
    return "attn_norm";
  if (gemm == "fc1")
    return "mlp_norm";
  if (gemm == "q_up" || gemm == "kv_up")
    return "latent_norm";
  return {};
}

Kernel* kernel_named(std::vector<Kernel>& kernels, std::string_view name) {
  for (Kernel& k : kernels) {
    if (k.name == name)
      return &k;
  }
  return nullptr;
}

}  // namespace

void use_attention_library(Block& block, AttentionLibrary library) {
  for (std::vector<Kernel>* kernels : {&block.forward, &block.backward_input,
                                       &block.backward_weight, &block.recompute_selective}) {
    for (Kernel& k : *kernels) {
      if (k.kind == KernelKind::attention &&
          (k.name == fused_attention_kernel_name || k.name == fused_attention_backward_kernel_name))
        k.attention_library = library;
    }
  }
}

void add_fp8_casts(Block& block, const Fp8CastSettings& settings) {
  const bool current = settings.recipe == Fp8Recipe::current;
  const double amax_read = current ? 2 : 0;
  const double rowwise_cast = 2 + 1;    // read 16 bits, write the fp8 copy the GEMM reads
  const double transpose_in_cast = 1;   // the cast-transpose's second write
  const double transpose_pass = 1 + 1;  // read the fp8 copy, write its transpose
  const double shards = d(settings.sequence_shards);
  std::vector<Kernel> forward, backward_input, backward_weight;
  // One operand of `elements` (whole, as the GEMM reads it): cast on the rank's shard where
  // sequence parallelism all-gathers it (`gathered`), its transpose then a pass over the whole.
  // A norm that writes it (`fused_norm`) replaces the cast under delayed scaling, and saves the
  // cast's amax read under current scaling.
  auto cast = [&](const std::string& name, double elements, bool gathered, Kernel* fused_norm,
                  std::vector<Kernel>& cast_into) {
    const double local = gathered ? elements / shards : elements;
    const bool norm_writes_fp8 = fused_norm != nullptr && !current;
    if (norm_writes_fp8) {
      fused_norm->bytes -= local * (bytes_per_element(Dtype::bf16) - bytes_per_element(Dtype::fp8));
      // The same norm run again before backward (recompute_modules layernorm) writes the same.
      if (Kernel* again = kernel_named(block.recompute_selective, fused_norm->name))
        again->bytes = fused_norm->bytes;
    } else {
      const double amax = fused_norm != nullptr ? 0 : amax_read;
      const double per = amax + rowwise_cast + (gathered ? 0 : transpose_in_cast);
      cast_into.push_back(
          memory_kernel(name + "_fp8_cast", KernelKind::elementwise, Dtype::bf16, local * per));
    }
    if (gathered) {
      backward_weight.push_back(memory_kernel(name + "_fp8_transpose", KernelKind::elementwise,
                                              Dtype::bf16, elements * transpose_pass));
    } else if (norm_writes_fp8) {
      cast_into.push_back(memory_kernel(name + "_fp8_transpose", KernelKind::elementwise,
                                        Dtype::bf16, elements * transpose_pass));
    }
  };
  for (const Kernel& k : block.forward) {
    if (k.kind != KernelKind::gemm || k.dtype != Dtype::fp8)
      continue;
    const GemmShape& g = k.gemm;
    const double rows = d(g.m) * d(g.batch);
    const bool sharded = settings.sequence_shards > 1;
    Kernel* norm = settings.fusion == Fp8CastFusion::norm
                       ? kernel_named(block.forward, norm_feeding(k.name))
                       : nullptr;
    cast(k.name + "_input", rows * d(g.k), sharded && g.k == settings.hidden, norm, forward);
    forward.push_back(
        memory_kernel(k.name + "_weight_fp8_cast", KernelKind::elementwise, Dtype::bf16,
                      d(g.n) * d(g.k) * d(g.batch) * fp8_cast_bytes_per_element(settings.recipe) *
                          settings.weight_casts_per_micro_batch));
    cast(k.name + "_grad", rows * d(g.n), sharded && g.n == settings.hidden, nullptr,
         backward_input);
  }
  block.forward.insert(block.forward.end(), forward.begin(), forward.end());
  block.backward_input.insert(block.backward_input.end(), backward_input.begin(),
                              backward_input.end());
  block.backward_weight.insert(block.backward_weight.end(), backward_weight.begin(),
                               backward_weight.end());
}

LayerWork transformer_layer(const TransformerConfig& m, std::int64_t micro_batch,
                            const LayerPartition& p, Dtype dtype,
                            const SelectiveRecompute& recompute) {
  const std::int64_t t = p.tp;
  const std::int64_t b = micro_batch;
  const std::int64_t s_local = m.seq_len / p.cp;  // queries on this rank
  const std::int64_t s_kv = m.seq_len;            // keys each query attends to
  const std::int64_t tokens = b * s_local;
  const double sp = p.sequence_parallel ? static_cast<double>(t) : 1.0;
  // The linear layers' GEMMs run in `dtype`; attention, the memory-bound kernels and the
  // tensor-parallel traffic in `other` (bf16 under fp8).
  const Dtype other = non_gemm_dtype(dtype);
  const double e = bytes_per_element(other);
  const double act = activation_element_bytes(dtype);
  const double gin = gemm_input_element_bytes(dtype);
  const double mask = dropout_mask_element_bytes(m);
  const double h = d(m.hidden);
  const double tok = d(tokens);
  const std::int64_t heads_local = m.heads / t;
  const double scores = d(b) * d(heads_local) * d(s_local) * d(s_kv);

  LayerWork w;
  Block& a = w.attention;
  a.name = "attention";
  a.forward.push_back(memory_kernel("attn_norm", KernelKind::norm, other, 2 * tok * h * e / sp));
  // Widths of the queries, keys, values and attention output of all heads, per token.
  double q_width = d(m.q_dim()), k_width = d(m.kv_dim()), v_width = d(m.kv_dim());
  double out_width = d(m.q_dim());
  std::int64_t proj_in = m.q_dim() / t;
  // Activations the projections keep besides their input: the normed latents of MLA.
  double latent_bytes = 0;
  // The query and key norm's input, which its backward reads.
  double qk_norm_input_bytes = 0;
  // MLA's up-projections from the latents, which mla_up_proj recompute runs again.
  std::vector<Kernel> up_projections;
  if (!m.latent_attention()) {
    a.forward.push_back(
        make_gemm("qkv", {tokens, (m.q_dim() + 2 * m.kv_dim()) / t, m.hidden}, dtype));
    if (m.qk_norm) {
      // Reads this rank's queries and keys and writes them normalised; keeps its input.
      const double qk_elements = tok * d(m.q_dim() + m.kv_dim()) / d(t);
      a.forward.push_back(memory_kernel("qk_norm", KernelKind::norm, other, 2 * qk_elements * e));
      qk_norm_input_bytes = qk_elements * act;
    }
  } else {
    // Down-projections to the latents (replicated over tensor-parallel ranks), their norms, and
    // per-head up-projections (split by heads).
    const LatentAttentionConfig& mla = m.mla;
    const std::int64_t q_local = heads_local * m.qk_head_dim();
    if (mla.q_lora_rank > 0) {
      a.forward.push_back(make_gemm("q_down", {tokens, mla.q_lora_rank, m.hidden}, dtype));
      a.forward.push_back(make_gemm("q_up", {tokens, q_local, mla.q_lora_rank}, dtype));
      up_projections.push_back(a.forward.back());
    } else {
      a.forward.push_back(make_gemm("q", {tokens, q_local, m.hidden}, dtype));
    }
    a.forward.push_back(
        make_gemm("kv_down", {tokens, mla.kv_lora_rank + mla.qk_rope_head_dim, m.hidden}, dtype));
    const double latents = d(mla.q_lora_rank + mla.kv_lora_rank);
    a.forward.push_back(
        memory_kernel("latent_norm", KernelKind::norm, other, 2 * tok * latents * e));
    a.forward.push_back(make_gemm(
        "kv_up", {tokens, heads_local * (mla.qk_nope_head_dim + mla.v_head_dim), mla.kv_lora_rank},
        dtype));
    up_projections.push_back(a.forward.back());
    q_width = k_width = d(m.heads) * d(m.qk_head_dim());
    v_width = out_width = d(m.heads) * d(m.v_head_dim());
    proj_in = heads_local * m.v_head_dim();
    latent_bytes = tok * latents * act;
  }
  const std::vector<Kernel> projections(a.forward.begin(), a.forward.end());
  const Kernel proj = make_gemm("attn_proj", {tokens, m.hidden, proj_in}, dtype);
  const Kernel residual =
      memory_kernel("attn_residual", KernelKind::elementwise, other, tok * h * (3 * e + mask) / sp);
  if (m.flash_attention) {
    // One fused kernel: QK^T and PV (2·s·s·d FLOPs each per head), only the unmasked part under
    // causal masking; reads Q, K, V and writes the output. Its backward recomputes the scores
    // and runs five products to the forward's two: 2.5 times the work.
    Kernel fused;
    fused.name = fused_attention_kernel_name;
    fused.kind = KernelKind::attention;
    fused.dtype = other;
    fused.flops = (m.causal ? 0.5 : 1.0) * 2 * scores * d(m.qk_head_dim() + m.v_head_dim());
    fused.bytes = tok * (q_width + k_width + v_width + out_width) / d(t) * e;
    // Context parallelism runs it as cp calls, one per chunk of keys passed round the ring
    // (Transformer Engine's AttnFuncWithCPAndKVP2P): each call attends over s / cp keys, the
    // length its efficiency is read at.
    fused.gemm = {s_local, s_kv / p.cp, m.qk_head_dim(), b * heads_local * p.cp};
    Kernel fused_backward = fused;
    fused_backward.name = fused_attention_backward_kernel_name;
    fused_backward.flops = 2.5 * fused.flops;
    fused_backward.bytes = 2 * fused.bytes;
    a.forward.push_back(fused);
    a.forward.push_back(proj);
    a.forward.push_back(residual);
    add_backward({proj, residual}, a);
    a.backward_input.push_back(fused_backward);
    add_backward(projections, a);
  } else {
    Kernel qk = make_gemm("attn_scores", {s_local, s_kv, m.qk_head_dim(), b * heads_local}, other);
    qk.kind = KernelKind::attention;
    qk.attention_product = true;
    // Megatron-LM's fused scale-mask-softmax reads the scores and writes the probabilities; the
    // attention dropout after it is a kernel of its own (torch.nn.Dropout in CoreAttention, not
    // fused into the softmax), which reads the probabilities and writes its output and a one-byte
    // mask: 2e + (2e + 1) bytes per score element, 9 in 16 bits.
    Kernel softmax = memory_kernel("attn_softmax", KernelKind::elementwise, other, scores * 2 * e);
    Kernel dropout =
        memory_kernel("attn_dropout", KernelKind::elementwise, other, scores * (2 * e + 1));
    Kernel av = make_gemm("attn_values", {s_local, m.v_head_dim(), s_kv, b * heads_local}, other);
    av.kind = KernelKind::attention;
    av.attention_product = true;
    std::vector<Kernel> core = {qk, softmax};
    if (m.dropout)
      core.push_back(dropout);
    core.push_back(av);
    a.forward.insert(a.forward.end(), core.begin(), core.end());
    if (recompute.core_attention)
      a.recompute_selective = core;
    a.forward.push_back(proj);
    a.forward.push_back(residual);
    add_backward(a.forward, a);
    // Their backward kernels move what they read and write, not twice the forward: the softmax's
    // reads the probabilities and their gradient and writes the scores' gradient (3e per
    // element), the dropout's reads the gradient and the mask and writes the gradient (2e + 1).
    for (Kernel& k : a.backward_input) {
      if (k.name == "attn_softmax_backward")
        k.bytes = scores * 3 * e;
      else if (k.name == "attn_dropout_backward")
        k.bytes = scores * (2 * e + 1);
    }
  }
  a.tp_collective_bytes = t > 1 ? tok * h * e : 0;
  a.input_bytes = tok * h * act / sp;
  // Korthikanti et al. 2022, section 4.1: norm input and QKV input (replicated without sequence
  // parallelism), Q, K, V and projection input (split), softmax output, dropout mask and dropout
  // output (split), and the output dropout mask (replicated); the masks and the dropout output
  // only with dropout. MLA keeps its latents (replicated)
  // and its Q, K, V and projection input of their own widths. The GEMMs' inputs are kept as they
  // read them (fp8 copies under fp8); fused attention keeps its output, the projection's input,
  // in 16 bits for its own backward, so under fp8 the projection's copy is kept beside it.
  const double replicated = tok * h * (act + gin + mask) / sp + latent_bytes;
  const double projection_input_element_bytes = m.flash_attention && gin != act ? act + gin : gin;
  const double split = m.latent_attention() ? tok * act * (q_width + k_width + v_width) / d(t)
                                            : tok * act * (q_width + 2 * k_width) / d(t);
  const double projection_input = tok * out_width / d(t) * projection_input_element_bytes;
  // Materialised attention keeps the softmax output (and with dropout its mask and output);
  // fused attention only the softmax statistics (fp32, one per query and head).
  const double core = m.flash_attention ? d(b) * d(heads_local) * d(s_local) * 4
                                        : scores * (act + (m.dropout ? mask + act : 0.0));
  a.activation_bytes = replicated + split + projection_input + core + qk_norm_input_bytes;
  a.selective_recompute_saved_bytes = recompute.core_attention && !m.flash_attention ? core : 0.0;
  if (recompute.layernorm) {
    // The norm's output, the QKV projection's input as stored, is made again from the layer's
    // input, which is kept anyway.
    a.recompute_selective.insert(a.recompute_selective.begin(), a.forward.front());
    a.selective_recompute_saved_bytes += tok * h * gin / sp;
  }
  if (recompute.mla_up_projection && m.latent_attention()) {
    // The up-projections' outputs are not kept: the keys and values, and the queries where they
    // come up from a latent (without one they are projected from the kept input, not recomputed).
    const double remade_width = (m.mla.q_lora_rank > 0 ? q_width : 0.0) + k_width + v_width;
    a.selective_recompute_saved_bytes += tok * act * remade_width / d(t);
    a.recompute_selective.insert(a.recompute_selective.begin(), up_projections.begin(),
                                 up_projections.end());
  }
  // The weight gradients of the projections read their inputs as stored (the normed input, MLA's
  // latents, the output projection's input) and their output gradients; with sequence
  // parallelism the normed input is all-gathered again for them.
  const double regathered_input = p.sequence_parallel && t > 1 ? tok * h * gin : 0.0;
  a.weight_gradient_inputs_bytes = tok * h * gin / sp + latent_bytes + tok * d(proj_in) * gin;
  a.weight_gradient_operands_bytes = gemm_output_elements(a.forward) * act + regathered_input;

  Block& f = w.mlp;
  f.name = "mlp";
  f.forward.push_back(memory_kernel("mlp_norm", KernelKind::norm, other, 2 * tok * h * e / sp));
  double ffn_stored_bytes = 0;
  for (Kernel& k : ffn_kernels(m, "", tokens, 1, m.ffn_hidden, t, dtype, ffn_stored_bytes))
    f.forward.push_back(std::move(k));
  f.forward.push_back(
      memory_kernel("mlp_residual", KernelKind::elementwise, other, tok * h * (3 * e + mask) / sp));
  add_backward(f.forward, f);
  f.tp_collective_bytes = t > 1 ? tok * h * e : 0;
  f.input_bytes = tok * h * act / sp;
  // Norm input, FC1 input and dropout mask if any (replicated); activation input and FC2 input
  // (split).
  f.activation_bytes = tok * h * (act + gin + mask) / sp + ffn_stored_bytes;
  if (recompute.mlp) {
    // Its forward but the residual add, which is outside the module; everything but its input.
    f.recompute_selective.assign(f.forward.begin(), f.forward.end() - 1);
    f.selective_recompute_saved_bytes = f.activation_bytes - f.input_bytes;
  } else if (recompute.layernorm) {
    // The norm alone: FC1's input as stored is made again from the module's input.
    f.recompute_selective = {f.forward.front()};
    f.selective_recompute_saved_bytes = tok * h * gin / sp;
  }
  // FC1's weight gradient reads its input as stored, FC2's its input; both their output
  // gradients; sequence parallelism all-gathers FC1's input again.
  const Kernel& fc2 = f.forward[3];  // after the norm, FC1 and the activation
  f.weight_gradient_inputs_bytes =
      (tok * h / sp + d(fc2.gemm.m) * d(fc2.gemm.k) * d(fc2.gemm.batch)) * gin;
  f.weight_gradient_operands_bytes = gemm_output_elements(f.forward) * act + regathered_input;
  return w;
}

MoeWork moe_mlp(const TransformerConfig& m, std::int64_t micro_batch, const LayerPartition& p,
                Dtype dtype, const SelectiveRecompute& recompute) {
  const MoeConfig& moe = m.moe;
  if (!m.is_moe() || moe.experts % p.ep != 0 || (p.tp > 1 && !p.sequence_parallel)) {
    throw std::invalid_argument(
        "an MoE MLP needs experts divisible by ep, and sequence parallelism with tp > 1");
  }
  const std::int64_t t = p.tp;
  const std::int64_t sp = p.sequence_parallel ? t : 1;
  const std::int64_t tokens = micro_batch * m.seq_len / p.cp;
  const std::int64_t routed_tokens = (tokens + sp - 1) / sp;  // this rank's sequence shard
  // Expert GEMMs run in `dtype`; the router (a plain linear layer in Megatron-Core, outside
  // Transformer Engine), the memory-bound kernels and the token exchange in `other`.
  const Dtype other = non_gemm_dtype(dtype);
  const double e = bytes_per_element(other);
  const double act = activation_element_bytes(dtype);
  const double gin = gemm_input_element_bytes(dtype);
  const double mask = dropout_mask_element_bytes(m);
  const double h = d(m.hidden);
  const double tok = d(tokens);
  const double local_tok = tok / d(sp);
  const double experts = d(moe.experts);
  // Token copies the rank sends, and those its experts compute: with balanced routing each rank
  // of the expert-parallel group receives as many as it sends, and the tensor-parallel
  // all-gather collects the sp shards.
  const double copies = local_tok * d(moe.top_k) * moe.capacity_factor;
  MoeWork w;
  w.local_experts = moe.experts / p.ep;
  w.tokens_per_expert = static_cast<std::int64_t>(std::ceil(copies * d(sp) / d(w.local_experts)));
  const double slots = d(w.tokens_per_expert) * d(w.local_experts);
  w.dispatch_bytes = copies * h * e;
  w.expert_tp_bytes = t > 1 ? slots * h * e : 0;

  Block& r = w.router;
  r.name = "moe router";
  r.forward.push_back(memory_kernel("mlp_norm", KernelKind::norm, other, 2 * local_tok * h * e));
  r.forward.push_back(make_gemm("router", {routed_tokens, moe.experts, m.hidden}, other));
  // Scores to fp32 probabilities and the top-k choice; then the copies laid out by expert.
  r.forward.push_back(
      memory_kernel("router_top_k", KernelKind::elementwise, other, local_tok * experts * (e + 4)));
  r.forward.push_back(
      memory_kernel("moe_permute", KernelKind::elementwise, other, (local_tok + copies) * h * e));
  add_backward(r.forward, r);
  r.input_bytes = local_tok * h * act;
  // Norm input, router (and shared expert) input and dropout mask, as the dense MLP's, and the
  // fp32 routing probabilities.
  r.activation_bytes = local_tok * h * (2 * act + mask) + local_tok * experts * 4;
  if (recompute.layernorm) {
    // The norm's output, the router's and shared experts' input as stored, made again.
    r.recompute_selective = {r.forward.front()};
    r.selective_recompute_saved_bytes = local_tok * h * act;
  }
  // The router's weight gradient reads its input (the normed input, which the shared experts'
  // FC1 reads too and which is counted here once) and its output gradient.
  r.weight_gradient_inputs_bytes = local_tok * h * act;
  r.weight_gradient_operands_bytes = gemm_output_elements(r.forward) * act;

  Block& x = w.experts;
  x.name = "moe experts";
  double expert_stored_bytes = 0;
  x.forward = ffn_kernels(m, "expert_", w.tokens_per_expert, w.local_experts, moe.expert_ffn_hidden,
                          t, dtype, expert_stored_bytes);
  add_backward(x.forward, x);
  // FC1 input (the gathered copies, as FC1 read them), activation input and FC2 input.
  x.activation_bytes = slots * h * gin + expert_stored_bytes;
  if (recompute.moe_activation) {
    // FC2's input, as FC2 read it, is made again from FC1's output.
    x.recompute_selective = {x.forward[1]};
    x.selective_recompute_saved_bytes = slots * d(moe.expert_ffn_hidden / t) * gin;
  }
  // FC1's weight gradient reads the gathered copies as stored (no all-gather again: the
  // dispatcher gathered them), FC2's its input; both their output gradients.
  const Kernel& expert_fc2 = x.forward[2];  // after FC1 and the activation
  x.weight_gradient_inputs_bytes =
      (slots * h + d(expert_fc2.gemm.m) * d(expert_fc2.gemm.k) * d(expert_fc2.gemm.batch)) * gin;
  x.weight_gradient_operands_bytes = gemm_output_elements(x.forward) * act;

  Block& s = w.shared;
  s.name = "moe shared experts";
  if (moe.shared_experts > 0) {
    double shared_stored_bytes = 0;
    s.forward = ffn_kernels(m, "shared_", tokens, 1, moe.shared_experts * moe.expert_ffn_hidden, t,
                            dtype, shared_stored_bytes);
    add_backward(s.forward, s);
    s.tp_collective_bytes = t > 1 ? tok * h * e : 0;
    // Its input is the router's, which the router keeps in 16 bits; under fp8 FC1 keeps its own
    // copy of this rank's shard beside it.
    const double fc1_copy = gin != act ? local_tok * h * gin : 0.0;
    s.activation_bytes = shared_stored_bytes + fc1_copy;
    // FC2's weight gradient reads its input, FC1's its fp8 copy or else the router's input
    // (counted by the router); both their output gradients; sequence parallelism all-gathers
    // FC1's input again, as for the dense FFN.
    const Kernel& shared_fc2 = s.forward[2];
    s.weight_gradient_inputs_bytes =
        d(shared_fc2.gemm.m) * d(shared_fc2.gemm.k) * d(shared_fc2.gemm.batch) * gin + fc1_copy;
    s.weight_gradient_operands_bytes = gemm_output_elements(s.forward) * act +
                                       (p.sequence_parallel && t > 1 ? tok * h * gin : 0.0);
  }

  Block& c = w.combine;
  c.name = "moe combine";
  c.forward.push_back(
      memory_kernel("moe_unpermute", KernelKind::elementwise, other, (copies + local_tok) * h * e));
  c.forward.push_back(memory_kernel("mlp_residual", KernelKind::elementwise, other,
                                    local_tok * h * (3 * e + mask)));
  add_backward(c.forward, c);
  // The expert outputs, which the gradient of the routing probabilities needs.
  c.activation_bytes = copies * h * act;
  return w;
}

Block embedding_block(const TransformerConfig& m, std::int64_t micro_batch, const LayerPartition& p,
                      Dtype dtype) {
  const double tok = d(micro_batch * m.seq_len / p.cp);
  const Dtype other = non_gemm_dtype(dtype);
  const double e = bytes_per_element(other);
  const double h = d(m.hidden);
  Block block;
  block.name = "embedding";
  // Gather rows of the vocabulary-parallel table (and add positions): read and write tokens × h.
  block.forward.push_back(memory_kernel("embedding_lookup", KernelKind::embedding, other,
                                        tok * h * e * (m.learned_positions ? 3 : 2)));
  block.backward_weight.push_back(
      memory_kernel("embedding_grad", KernelKind::embedding, other, 2 * tok * h * e));
  block.tp_collective_bytes = p.tp > 1 ? tok * h * e : 0;
  return block;
}

double cross_entropy_forward_bytes(CrossEntropyFusion fusion, double logit_bytes) {
  switch (fusion) {
    case CrossEntropyFusion::native:
      return (logit_bytes + 4) + 8 + 8;
    case CrossEntropyFusion::te:
      return logit_bytes + 2 * logit_bytes;
    case CrossEntropyFusion::none:
      break;
  }
  return (logit_bytes + 4) + 4 + 8 + 8 + 4 + 8;
}

double cross_entropy_backward_bytes(CrossEntropyFusion fusion, double logit_bytes) {
  switch (fusion) {
    case CrossEntropyFusion::native:
      return 4 + logit_bytes;
    case CrossEntropyFusion::te:
      return 2 * logit_bytes;
    case CrossEntropyFusion::none:
      break;
  }
  return 8 + (4 + logit_bytes);
}

Block output_block(const TransformerConfig& m, std::int64_t micro_batch, const LayerPartition& p,
                   Dtype dtype, CrossEntropyFusion loss) {
  const std::int64_t tokens = micro_batch * m.seq_len / p.cp;
  const double tok = d(tokens);
  // The output layer is outside the transformer block that fp8 autocasts: all of it in `other`.
  const Dtype other = non_gemm_dtype(dtype);
  const double e = bytes_per_element(other);
  const double act = activation_element_bytes(dtype);
  const double h = d(m.hidden);
  const double sp = p.sequence_parallel ? p.tp : 1.0;
  const std::int64_t vocab_local = m.vocab / p.tp;
  const double logits = tok * d(vocab_local);
  // Final norm, output projection and loss, for the main output and each prediction module's.
  auto head = [&](const std::string& prefix) {
    // Cross-entropy over the local vocabulary shard, by default in fp32 pass by pass as
    // Megatron-LM's vocab-parallel cross-entropy runs it (megatron/core/tensor_parallel/
    // cross_entropy.py, and megatron/mpu/cross_entropy.py of 2021, on logits.float()): the copy
    // to fp32 (e + 4 bytes per logit), the max (4), the subtraction in place (8), exp in place
    // (8), the sum (4) and the division in place (8). Backward multiplies the saved softmax by the
    // loss gradient in place (8) and casts it back to the logits' dtype (4 + e). PyTorch's
    // cross_entropy under autocast (fp32 copy, log_softmax, nll_loss and their backward) moves
    // about as much. The fused kernels move less (cross_entropy_forward_bytes).
    return std::vector<Kernel>{
        memory_kernel(prefix + "final_norm", KernelKind::norm, other, 2 * tok * h * e / sp),
        make_gemm(prefix + "lm_head", {tokens, vocab_local, m.hidden}, other),
        memory_kernel(prefix + "cross_entropy", KernelKind::elementwise, other,
                      logits * cross_entropy_forward_bytes(loss, e))};
  };
  Block block;
  block.name = "output";
  block.forward = head("");
  block.activation_bytes = tok * h * act / sp + tok * h * act + logits * 4;
  block.tp_collective_bytes = p.tp > 1 ? tok * h * e : 0;
  std::vector<Kernel> lookups;
  for (std::int64_t depth = 1; depth <= m.mtp_layers; ++depth) {
    // The module's work besides its transformer layer, which runs as a layer of its own before
    // this block (eh_proj runs before that layer in Megatron-Core; on one rank's stream the order
    // changes no time). Both norms read and write the rank's sequence shard; the concatenation
    // copies both halves into eh_proj's input; eh_proj runs under the fp8 recipe as the layers'
    // linear layers do.
    const std::string prefix = "mtp" + std::to_string(depth) + "_";
    lookups.push_back(
        memory_kernel(prefix + "embedding_lookup", KernelKind::embedding, other, 2 * tok * h * e));
    block.forward.push_back(
        memory_kernel(prefix + "norms", KernelKind::norm, other, 2 * 2 * tok * h * e / sp));
    block.forward.push_back(
        memory_kernel(prefix + "concat", KernelKind::elementwise, other, 2 * 2 * tok * h * e / sp));
    block.forward.push_back(
        make_gemm(prefix + "eh_proj", {tokens, m.hidden / p.tp, 2 * m.hidden}, dtype));
    for (Kernel& k : head(prefix))
      block.forward.push_back(std::move(k));
    // The norms' inputs, eh_proj's input as its GEMM reads it, and the head's as the main one's.
    block.activation_bytes += 2 * tok * h * act / sp +
                              2 * tok * h * gemm_input_element_bytes(dtype) + tok * h * act / sp +
                              tok * h * act + logits * 4;
    // eh_proj's input all-gathered under sequence parallelism, its output gathered from the
    // tensor-parallel region, and the head's input as the main head's.
    block.tp_collective_bytes += p.tp > 1 ? (p.sequence_parallel ? 4 : 2) * tok * h * e : 0;
  }
  add_backward(block.forward, block);
  for (Kernel& k : block.backward_input) {
    if (k.name.ends_with("cross_entropy_backward"))
      k.bytes = logits * cross_entropy_backward_bytes(loss, e);
  }
  for (Kernel& k : lookups) {
    block.backward_weight.push_back(memory_kernel(k.name.substr(0, k.name.size() - 6) + "grad",
                                                  KernelKind::embedding, other, k.bytes));
    block.forward.push_back(std::move(k));
  }
  block.input_bytes = tok * h * act / sp;
  return block;
}

double training_flops_per_token(const TransformerConfig& model, AttentionFlops convention) {
  // Model FLOPs count attention as two products forward and four backward, whatever the kernels
  // do (no recompute, no flash backward's recomputed scores), over the unmasked half of the score
  // matrix under causal masking: the convention of FlashAttention's benchmarks
  // (benchmarks/benchmark_flash_attention.py, flops divided by 2 when causal) and of
  // Megatron-Bridge's flops calculator with causal_tflops, which keeps MFU below 100 % at long
  // sequences. Megatron-LM's num_floating_point_operations (2021-2024) counts the whole matrix.
  // MoE layers count balanced routing with no padding. A micro-batch of `experts` sequences gives
  // every expert a whole number of tokens.
  TransformerConfig m = model;
  m.flash_attention = false;
  m.moe.capacity_factor = 1.0;
  const std::int64_t sequences = m.is_moe() ? m.moe.experts : 1;
  const LayerPartition whole;
  const LayerWork layer = transformer_layer(m, sequences, whole, Dtype::bf16);
  const Block head = output_block(m, sequences, whole, Dtype::bf16);
  const double attention_share = m.causal && convention == AttentionFlops::causal_half ? 0.5 : 1.0;
  auto flops = [&](const Block& b) {
    double sum = 0;
    for (const auto* list : {&b.forward, &b.backward_input, &b.backward_weight}) {
      for (const auto& k : *list) {
        if (k.kind == KernelKind::gemm)
          sum += k.flops;
        else if (k.kind == KernelKind::attention)
          sum += attention_share * k.flops;
      }
    }
    return sum;
  };
  const std::int64_t layers = m.layers + m.mtp_layers;
  const std::int64_t moe_layers = m.moe_layers_in(0, layers);
  double per_step = d(layers - moe_layers) * (flops(layer.attention) + flops(layer.mlp));
  if (moe_layers > 0) {
    const MoeWork moe = moe_mlp(m, sequences, whole, Dtype::bf16);
    per_step += d(moe_layers) * (flops(layer.attention) + flops(moe.router) + flops(moe.experts) +
                                 flops(moe.shared) + flops(moe.combine));
  }
  per_step += flops(head);
  return per_step / (d(sequences) * d(m.seq_len));
}

}  // namespace scaleplan
