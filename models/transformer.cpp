#include "models/transformer.hpp"

#include <algorithm>

namespace scaleplan {

namespace {

TransformerConfig gpt(std::string name, std::int64_t layers, std::int64_t hidden,
                      std::int64_t heads, std::int64_t vocab, std::int64_t seq_len) {
  TransformerConfig c;
  c.name = std::move(name);
  c.layers = layers;
  c.hidden = hidden;
  c.ffn_hidden = 4 * hidden;
  c.heads = heads;
  c.kv_heads = heads;
  c.vocab = vocab;
  c.seq_len = seq_len;
  return c;
}

TransformerConfig llama(std::string name, std::int64_t layers, std::int64_t hidden,
                        std::int64_t ffn_hidden, std::int64_t heads, std::int64_t kv_heads,
                        std::int64_t vocab, std::int64_t seq_len) {
  TransformerConfig c;
  c.name = std::move(name);
  c.layers = layers;
  c.hidden = hidden;
  c.ffn_hidden = ffn_hidden;
  c.heads = heads;
  c.kv_heads = kv_heads;
  c.vocab = vocab;
  c.seq_len = seq_len;
  c.gated_mlp = true;
  c.biases = false;
  c.learned_positions = false;
  c.tied_embeddings = false;
  c.norm_parameters_per_hidden = 1;
  return c;
}

// Dimensions from: Brown et al. 2020 (GPT-3, Table 2.1) with Megatron's vocabulary padded to
// 51200; Korthikanti et al. 2022 (Table 3) for the 22B, 530B and 1T models; Touvron et al. 2023
// (Llama 2, Table 1 and the released configs); Llama Team 2024 (The Llama 3 Herd of Models,
// Table 3).
const std::vector<TransformerConfig>& presets() {
  static const std::vector<TransformerConfig> all{
      gpt("gpt3-1.3b", 24, 2048, 16, 51200, 2048),
      gpt("gpt3-13b", 40, 5120, 40, 51200, 2048),
      gpt("gpt3-175b", 96, 12288, 96, 51200, 2048),
      gpt("megatron-22b", 48, 6144, 64, 51200, 2048),
      gpt("megatron-530b", 105, 20480, 128, 51200, 2048),
      gpt("megatron-1t", 128, 25600, 160, 51200, 2048),
      llama("llama2-7b", 32, 4096, 11008, 32, 32, 32000, 4096),
      llama("llama2-13b", 40, 5120, 13824, 40, 40, 32000, 4096),
      llama("llama2-70b", 80, 8192, 28672, 64, 8, 32000, 4096),
      llama("llama3-8b", 32, 4096, 14336, 32, 8, 128256, 8192),
      llama("llama3-70b", 80, 8192, 28672, 64, 8, 128256, 8192),
      llama("llama3-405b", 126, 16384, 53248, 128, 8, 128256, 8192),
  };
  return all;
}

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

// Backward of a GEMM: the input gradient (dgrad) and the weight gradient (wgrad).
void add_gemm_backward(const Kernel& forward, std::vector<Kernel>& backward) {
  const GemmShape& s = forward.gemm;
  backward.push_back(make_gemm(forward.name + "_dgrad", {s.m, s.k, s.n, s.batch}, forward.dtype));
  backward.push_back(make_gemm(forward.name + "_wgrad", {s.k, s.n, s.m, s.batch}, forward.dtype));
}

// Backward of a memory-bound kernel reads the output gradient and the saved input and writes the
// input gradient: about twice the forward traffic.
void add_memory_backward(const Kernel& forward, std::vector<Kernel>& backward) {
  backward.push_back(
      memory_kernel(forward.name + "_backward", forward.kind, forward.dtype, 2 * forward.bytes));
}

void add_backward(const std::vector<Kernel>& forward, std::vector<Kernel>& backward) {
  for (auto it = forward.rbegin(); it != forward.rend(); ++it) {
    if (it->kind == KernelKind::gemm || it->kind == KernelKind::attention) {
      add_gemm_backward(*it, backward);
      if (it->kind == KernelKind::attention) {
        for (auto k = backward.end() - 2; k != backward.end(); ++k)
          k->kind = KernelKind::attention;
      }
    } else {
      add_memory_backward(*it, backward);
    }
  }
}

}  // namespace

const std::vector<std::string>& transformer_preset_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& p : presets())
      n.push_back(p.name);
    return n;
  }();
  return names;
}

std::optional<TransformerConfig> transformer_preset(std::string_view name) {
  for (const auto& p : presets()) {
    if (p.name == name)
      return p;
  }
  return std::nullopt;
}

double layer_parameters(const TransformerConfig& m) {
  return layer_parameters_per_rank(m, 1);
}

double layer_parameters_per_rank(const TransformerConfig& m, int tp) {
  const double h = d(m.hidden), f = d(m.ffn_hidden), kv = d(m.kv_dim()), t = tp;
  const double mlp_in = m.gated_mlp ? 2 * f : f;
  // Column-parallel weights (QKV, FC1) and their biases split across ranks; row-parallel weights
  // (projection, FC2) split too, but their biases and the norms are replicated.
  double params = (h * (h + 2 * kv) + h * h + h * mlp_in + f * h) / t;
  if (m.biases)
    params += (h + 2 * kv + mlp_in) / t + 2 * h;
  params += 2.0 * m.norm_parameters_per_hidden * h;
  return params;
}

double embedding_parameters(const TransformerConfig& m) {
  double params = d(m.vocab) * d(m.hidden);
  if (m.learned_positions)
    params += d(m.seq_len) * d(m.hidden);
  if (!m.tied_embeddings)
    params += d(m.vocab) * d(m.hidden);
  return params;
}

double total_parameters(const TransformerConfig& m) {
  return d(m.layers) * layer_parameters(m) + embedding_parameters(m) +
         m.norm_parameters_per_hidden * d(m.hidden);
}

double activation_element_bytes(Dtype dtype) {
  return std::max(2.0, bytes_per_element(dtype));
}

LayerWork transformer_layer(const TransformerConfig& m, std::int64_t micro_batch,
                            const LayerPartition& p, Dtype dtype) {
  const std::int64_t t = p.tp;
  const std::int64_t b = micro_batch;
  const std::int64_t s_local = m.seq_len / p.cp;  // queries on this rank
  const std::int64_t s_kv = m.seq_len;            // keys each query attends to
  const std::int64_t tokens = b * s_local;
  const double sp = p.sequence_parallel ? static_cast<double>(t) : 1.0;
  const double e = bytes_per_element(dtype);
  const double act = activation_element_bytes(dtype);
  const double h = d(m.hidden);
  const double tok = d(tokens);
  const std::int64_t heads_local = m.heads / t;
  const double scores = d(b) * d(heads_local) * d(s_local) * d(s_kv);

  LayerWork w;
  Block& a = w.attention;
  a.name = "attention";
  a.forward.push_back(memory_kernel("attn_norm", KernelKind::norm, dtype, 2 * tok * h * e / sp));
  a.forward.push_back(make_gemm("qkv", {tokens, (m.hidden + 2 * m.kv_dim()) / t, m.hidden}, dtype));
  const Kernel qkv = a.forward.back();
  const Kernel proj = make_gemm("attn_proj", {tokens, m.hidden, m.hidden / t}, dtype);
  const Kernel residual =
      memory_kernel("attn_residual", KernelKind::elementwise, dtype, tok * h * (3 * e + 1) / sp);
  if (m.flash_attention) {
    // One fused kernel: QK^T and PV (2·s·s·d FLOPs each per head), only the unmasked part under
    // causal masking; reads Q, K, V and writes the output. Its backward recomputes the scores
    // and runs five products to the forward's two: 2.5 times the work.
    Kernel fused;
    fused.name = "flash_attention";
    fused.kind = KernelKind::attention;
    fused.dtype = dtype;
    fused.flops = (m.causal ? 0.5 : 1.0) * 4 * scores * d(m.head_dim());
    fused.bytes = tok * (2 * h + 2 * d(m.kv_dim())) / d(t) * e;
    fused.gemm = {s_local, s_kv, m.head_dim(), b * heads_local};
    Kernel fused_backward = fused;
    fused_backward.name = "flash_attention_backward";
    fused_backward.flops = 2.5 * fused.flops;
    fused_backward.bytes = 2 * fused.bytes;
    a.forward.push_back(fused);
    a.forward.push_back(proj);
    a.forward.push_back(residual);
    add_backward({proj, residual}, a.backward);
    a.backward.push_back(fused_backward);
    add_backward({a.forward[0], qkv}, a.backward);
  } else {
    Kernel qk = make_gemm("attn_scores", {s_local, s_kv, m.head_dim(), b * heads_local}, dtype);
    qk.kind = KernelKind::attention;
    // Scale, mask, softmax and dropout: read and write the score matrix, write a one-byte mask.
    Kernel softmax =
        memory_kernel("attn_softmax", KernelKind::elementwise, dtype, scores * (2 * e + 1));
    Kernel av = make_gemm("attn_values", {s_local, m.head_dim(), s_kv, b * heads_local}, dtype);
    av.kind = KernelKind::attention;
    a.forward.push_back(qk);
    a.forward.push_back(softmax);
    a.forward.push_back(av);
    a.recompute_selective = {qk, softmax, av};
    a.forward.push_back(proj);
    a.forward.push_back(residual);
    add_backward(a.forward, a.backward);
  }
  a.tp_collective_bytes = t > 1 ? tok * h * e : 0;
  a.input_bytes = tok * h * act / sp;
  // Korthikanti et al. 2022, section 4.1: norm input and QKV input (replicated without sequence
  // parallelism), Q, K, V and projection input (split), softmax output, dropout mask and dropout
  // output (split), and the output dropout mask (replicated).
  const double kv_share = d(m.kv_dim()) / h;
  const double replicated = tok * h * (2 * act + 1) / sp;
  const double split = tok * h * act * (2 + 2 * kv_share) / d(t);
  // Materialised attention keeps the softmax output, its dropout mask and the dropout output;
  // fused attention only the softmax statistics (fp32, one per query and head).
  const double core =
      m.flash_attention ? d(b) * d(heads_local) * d(s_local) * 4 : scores * (2 * act + 1);
  a.activation_bytes = replicated + split + core;
  a.selective_recompute_saved_bytes = m.flash_attention ? 0.0 : core;

  Block& f = w.mlp;
  f.name = "mlp";
  const std::int64_t fc1_out = (m.gated_mlp ? 2 : 1) * m.ffn_hidden / t;
  f.forward.push_back(memory_kernel("mlp_norm", KernelKind::norm, dtype, 2 * tok * h * e / sp));
  f.forward.push_back(make_gemm("fc1", {tokens, fc1_out, m.hidden}, dtype));
  const double act_in = tok * d(fc1_out);
  const double act_out = tok * d(m.ffn_hidden / t);
  f.forward.push_back(
      memory_kernel("mlp_activation", KernelKind::elementwise, dtype, (act_in + act_out) * e));
  f.forward.push_back(make_gemm("fc2", {tokens, m.hidden, m.ffn_hidden / t}, dtype));
  f.forward.push_back(
      memory_kernel("mlp_residual", KernelKind::elementwise, dtype, tok * h * (3 * e + 1) / sp));
  add_backward(f.forward, f.backward);
  f.tp_collective_bytes = t > 1 ? tok * h * e : 0;
  f.input_bytes = tok * h * act / sp;
  // Norm input, FC1 input and dropout mask (replicated); activation input and FC2 input (split).
  f.activation_bytes = tok * h * (2 * act + 1) / sp + (act_in + act_out) * act;
  return w;
}

Block embedding_block(const TransformerConfig& m, std::int64_t micro_batch, const LayerPartition& p,
                      Dtype dtype) {
  const double tok = d(micro_batch * m.seq_len / p.cp);
  const double e = bytes_per_element(dtype);
  const double h = d(m.hidden);
  Block block;
  block.name = "embedding";
  // Gather rows of the vocabulary-parallel table (and add positions): read and write tokens × h.
  block.forward.push_back(memory_kernel("embedding_lookup", KernelKind::embedding, dtype,
                                        tok * h * e * (m.learned_positions ? 3 : 2)));
  block.backward.push_back(
      memory_kernel("embedding_grad", KernelKind::embedding, dtype, 2 * tok * h * e));
  block.tp_collective_bytes = p.tp > 1 ? tok * h * e : 0;
  return block;
}

Block output_block(const TransformerConfig& m, std::int64_t micro_batch, const LayerPartition& p,
                   Dtype dtype) {
  const std::int64_t tokens = micro_batch * m.seq_len / p.cp;
  const double tok = d(tokens);
  const double e = bytes_per_element(dtype);
  const double act = activation_element_bytes(dtype);
  const double h = d(m.hidden);
  const double sp = p.sequence_parallel ? p.tp : 1.0;
  const std::int64_t vocab_local = m.vocab / p.tp;
  Block block;
  block.name = "output";
  block.forward.push_back(
      memory_kernel("final_norm", KernelKind::norm, dtype, 2 * tok * h * e / sp));
  block.forward.push_back(make_gemm("lm_head", {tokens, vocab_local, m.hidden}, dtype));
  // Cross-entropy in fp32 over the local vocabulary shard: read logits, write fp32 softmax.
  block.forward.push_back(memory_kernel("cross_entropy", KernelKind::elementwise, dtype,
                                        tok * d(vocab_local) * (e + 4)));
  add_backward(block.forward, block.backward);
  block.tp_collective_bytes = p.tp > 1 ? tok * h * e : 0;
  block.input_bytes = tok * h * act / sp;
  block.activation_bytes = tok * h * act / sp + tok * h * act + tok * d(vocab_local) * 4;
  return block;
}

double training_flops_per_token(const TransformerConfig& model) {
  // Model FLOPs count attention over the whole score matrix, forward and backward as two and
  // four products, whatever the kernels do (the convention MFU is reported in).
  TransformerConfig m = model;
  m.flash_attention = false;
  const LayerPartition whole;
  const LayerWork layer = transformer_layer(m, 1, whole, Dtype::bf16);
  const Block head = output_block(m, 1, whole, Dtype::bf16);
  auto flops = [](const Block& b) {
    double sum = 0;
    for (const auto* list : {&b.forward, &b.backward}) {
      for (const auto& k : *list) {
        if (k.kind == KernelKind::gemm || k.kind == KernelKind::attention)
          sum += k.flops;
      }
    }
    return sum;
  };
  const double per_sequence =
      d(m.layers) * (flops(layer.attention) + flops(layer.mlp)) + flops(head);
  return per_sequence / d(m.seq_len);
}

}  // namespace scaleplan
