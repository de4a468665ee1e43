// The named models a scenario can train (`model.preset`), each with the sources of its
// dimensions.
#include "models/transformer.hpp"

#include <utility>

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
  c.dropout = false;
  return c;
}

// Jiang et al. 2024, "Mixtral of Experts" (arXiv:2401.04088), section 2 and Table 1: Mistral 7B's
// layers with 8 experts of the FFN's width, top-2 routing, 32k context; 46.7B parameters, 12.9B
// active per token (Mistral AI's announcement).
TransformerConfig mixtral_8x7b() {
  TransformerConfig c = llama("mixtral-8x7b", 32, 4096, 14336, 32, 8, 32000, 32768);
  c.moe.experts = 8;
  c.moe.top_k = 2;
  c.moe.expert_ffn_hidden = 14336;
  return c;
}

// DeepSeek-AI 2024, "DeepSeek-V3 Technical Report" (arXiv:2412.19437), section 4.2: 61 layers,
// hidden 7168, MLA with 128 heads of 128 (+64 rotary) dimensions, query latent 1536, key/value
// latent 512; every layer but the first three is MoE with 1 shared and 256 routed experts of
// width 2048, 8 routed per token; pre-training sequences of 4K. The dense FFN width (18432) and
// the vocabulary (129280) are from the released config.json. The multi-token-prediction module
// is left out: 671B parameters, 37B active, as the report counts the main model.
TransformerConfig deepseek_v3() {
  TransformerConfig c = llama("deepseek-v3", 61, 7168, 18432, 128, 128, 129280, 4096);
  c.mla = {1536, 512, 128, 64, 128};
  c.moe.experts = 256;
  c.moe.top_k = 8;
  c.moe.shared_experts = 1;
  c.moe.expert_ffn_hidden = 2048;
  c.moe.dense_layers = 3;
  // Node-limited routing (section 2.1.2): the released config.json's n_group 8 and topk_group 4,
  // which Megatron-Bridge's DeepSeekV3Provider copies (moe_router_num_groups 8,
  // moe_router_group_topk 4).
  c.moe.routing = ExpertRoutingKind::group_limited;
  c.moe.router_groups = 8;
  c.moe.router_group_topk = 4;
  return c;
}

// Qwen Team 2025, "Qwen3 Technical Report" (arXiv:2505.09388), Table 2: the MoE models, 128
// experts of which 8 are routed per token, no shared expert, grouped-query attention (32 query and
// 4 key/value heads for 30B-A3B over 48 layers, 64 and 4 for 235B-A22B over 94), QK-norm, untied
// embeddings; pre-training's first stage at 4,096 tokens (section 3.2). Widths from the released
// config.json (hidden 2048 and 4096, head_dim 128, so each head is wider than hidden / heads;
// moe_intermediate_size 768 and 1536; vocabulary 151,936), as Megatron-Bridge's Qwen3 MoE bridge
// reads them (qk_layernorm set). The model cards count 30.5B (3.3B active) and 235B (22B active).
TransformerConfig qwen3_moe(std::string name, std::int64_t layers, std::int64_t hidden,
                            std::int64_t heads, std::int64_t expert_ffn_hidden) {
  TransformerConfig c = llama(std::move(name), layers, hidden, 3 * hidden, heads, 4, 151936, 4096);
  c.attention_head_dim = 128;
  c.qk_norm = true;
  c.moe.experts = 128;
  c.moe.top_k = 8;
  c.moe.expert_ffn_hidden = expert_ffn_hidden;
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
      mixtral_8x7b(),
      deepseek_v3(),
      qwen3_moe("qwen3-30b-a3b", 48, 2048, 32, 768),
      qwen3_moe("qwen3-235b-a22b", 94, 4096, 64, 1536),
  };
  return all;
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

}  // namespace scaleplan
