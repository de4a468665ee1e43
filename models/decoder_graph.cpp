// Decoder-only language models as layer graphs: a transformer configuration written out as its
// layers (token embedding, transformer layers, output head), and read back from such a graph.
#include <algorithm>
#include <string>
#include <utility>

#include "models/layer_graph.hpp"

namespace scaleplan {

LayerGraph decoder_graph(const TransformerConfig& model) {
  LayerGraph g;
  g.name = model.name;
  g.sample = "sequence";
  TransformerConfig whole = model;
  whole.layers = 1;
  whole.moe.dense_layers = 0;
  whole.mtp_layers = 0;
  TransformerConfig dense = whole;
  dense.moe = MoeConfig{};
  GraphLayer embedding;
  embedding.name = "embedding";
  embedding.kind = LayerKind::token_embedding;
  embedding.input_gradient = false;
  embedding.encoder = dense;
  g.layers.push_back(std::move(embedding));
  for (std::int64_t l = 0; l < model.layers; ++l) {
    GraphLayer layer;
    layer.name = "layer." + std::to_string(l);
    layer.kind = LayerKind::transformer;
    layer.encoder = model.is_moe_layer(l) ? whole : dense;
    g.layers.push_back(std::move(layer));
  }
  // The multi-token prediction modules' layers follow the decoder's; the output layer, which
  // carries their count, runs the rest of each module.
  for (std::int64_t k = 0; k < model.mtp_layers; ++k) {
    GraphLayer layer;
    layer.name = "mtp." + std::to_string(k);
    layer.kind = LayerKind::transformer;
    layer.encoder = model.is_moe_layer(model.layers + k) ? whole : dense;
    g.layers.push_back(std::move(layer));
  }
  GraphLayer output;
  output.name = "output";
  output.kind = LayerKind::output;
  TransformerConfig head = dense;
  head.mtp_layers = model.mtp_layers;
  output.encoder = head;
  g.layers.push_back(std::move(output));
  return g;
}

bool is_decoder_graph(const LayerGraph& graph) {
  const auto& layers = graph.layers;
  if (layers.size() < 3 || layers.front().kind != LayerKind::token_embedding ||
      layers.back().kind != LayerKind::output) {
    return false;
  }
  return std::all_of(layers.begin() + 1, layers.end() - 1,
                     [](const GraphLayer& l) { return l.kind == LayerKind::transformer; });
}

namespace {

// The first field in which two transformer layers differ, other than the MoE MLP; empty when
// none does.
std::string layer_difference(const TransformerConfig& a, const TransformerConfig& b) {
  const std::pair<const char*, bool> fields[] = {
      {"hidden", a.hidden != b.hidden},
      {"ffn_hidden", a.ffn_hidden != b.ffn_hidden},
      {"heads", a.heads != b.heads},
      {"kv_heads", a.kv_heads != b.kv_heads},
      {"head_dim", a.head_dim() != b.head_dim()},
      {"qk_norm", a.qk_norm != b.qk_norm},
      {"seq_len", a.seq_len != b.seq_len},
      {"family (gated MLP)", a.gated_mlp != b.gated_mlp},
      {"family (biases)", a.biases != b.biases},
      {"family (norm)", a.norm_parameters_per_hidden != b.norm_parameters_per_hidden},
      {"family (dropout)", a.dropout != b.dropout},
      {"attention", a.flash_attention != b.flash_attention},
      {"causal", a.causal != b.causal},
      {"mla", a.mla.q_lora_rank != b.mla.q_lora_rank || a.mla.kv_lora_rank != b.mla.kv_lora_rank ||
                  a.mla.qk_nope_head_dim != b.mla.qk_nope_head_dim ||
                  a.mla.qk_rope_head_dim != b.mla.qk_rope_head_dim ||
                  a.mla.v_head_dim != b.mla.v_head_dim},
  };
  for (const auto& [name, differs] : fields) {
    if (differs)
      return name;
  }
  return {};
}

bool same_moe(const MoeConfig& a, const MoeConfig& b) {
  return a.experts == b.experts && a.top_k == b.top_k && a.shared_experts == b.shared_experts &&
         a.expert_ffn_hidden == b.expert_ffn_hidden && a.capacity_factor == b.capacity_factor &&
         a.dense_layers == b.dense_layers && a.expert_routing() == b.expert_routing();
}

}  // namespace

DecoderReading decoder_config(const LayerGraph& graph) {
  DecoderReading r;
  if (!is_decoder_graph(graph)) {
    r.problem =
        "a language model is a token-embedding layer, transformer layers and an output layer, "
        "in that order";
    return r;
  }
  const auto& layers = graph.layers;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i].encoder) {
      r.problem = "the layer has no configuration";
      r.layer = i;
      return r;
    }
  }
  // The MoE layers' configuration, or the first layer's when every layer is dense.
  std::size_t first_moe = layers.size() - 1;
  for (std::size_t i = 1; i + 1 < layers.size(); ++i) {
    if (layers[i].encoder->is_moe()) {
      first_moe = i;
      break;
    }
  }
  TransformerConfig m = *layers[first_moe < layers.size() - 1 ? first_moe : 1].encoder;
  for (std::size_t i = 1; i + 1 < layers.size(); ++i) {
    const TransformerConfig& c = *layers[i].encoder;
    if (const std::string field = layer_difference(c, m); !field.empty()) {
      r.problem = "its " + field + " differs from the other transformer layers'";
      r.layer = i;
      return r;
    }
    if (i > first_moe && !same_moe(c.moe, m.moe)) {
      r.problem = c.is_moe() ? "its moe differs from the first MoE layer's"
                             : "a dense layer after an MoE layer; the dense layers come first";
      r.layer = i;
      return r;
    }
  }
  const TransformerConfig& embedding = *layers.front().encoder;
  const TransformerConfig& output = *layers.back().encoder;
  for (std::size_t i : {std::size_t{0}, layers.size() - 1}) {
    const TransformerConfig& c = *layers[i].encoder;
    const char* field = c.hidden != m.hidden         ? "hidden"
                        : c.seq_len != m.seq_len     ? "seq_len"
                        : c.vocab != embedding.vocab ? "vocab"
                                                     : nullptr;
    if (field) {
      r.problem = std::string("its ") + field +
                  (i == 0 ? " differs from the transformer layers'"
                          : " differs from the transformer layers' and the embedding's");
      r.layer = i;
      return r;
    }
  }
  if (output.norm_parameters_per_hidden != m.norm_parameters_per_hidden) {
    r.problem = "its final norm differs from the transformer layers' (family)";
    r.layer = layers.size() - 1;
    return r;
  }
  if (output.mtp_layers < 0 || output.mtp_layers >= static_cast<std::int64_t>(layers.size()) - 2) {
    r.problem =
        "its multi-token prediction modules need as many transformer layers after the "
        "decoder's";
    r.layer = layers.size() - 1;
    return r;
  }
  m.name = graph.name;
  m.mtp_layers = output.mtp_layers;
  m.layers = static_cast<std::int64_t>(layers.size()) - 2 - m.mtp_layers;
  m.moe.dense_layers = first_moe < layers.size() - 1 ? static_cast<std::int64_t>(first_moe) - 1 : 0;
  m.vocab = embedding.vocab;
  m.learned_positions = embedding.learned_positions;
  m.tied_embeddings = output.tied_embeddings;
  r.config = m;
  return r;
}

}  // namespace scaleplan
