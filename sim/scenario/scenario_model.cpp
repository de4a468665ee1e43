// The `model` section of a scenario (and of a capacity spec): a preset and the dimensions that
// override it, its head width, MoE and latent attention, multi-token prediction.
#include <fmt/format.h>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/scenario_sections.hpp"
#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {

namespace {

// An integer key that `if_absent` stands for when absent (a preset's value or a default); without
// one the key is required.
std::optional<std::int64_t> integer_or(MapReader& map, std::string_view key, std::int64_t low,
                                       std::int64_t high, std::optional<std::int64_t> if_absent) {
  return if_absent ? map.integer(key, low, high, *if_absent)
                   : map.integer(key, low, high, required_key);
}

}  // namespace

// model.moe: the preset's values (if it has experts) or the defaults below stand for keys left out.
void read_moe(MapReader& m, TransformerConfig& model) {
  if (!m.has("moe")) {
    m.accept("moe");
    if (model.is_moe() && model.moe.dense_layers >= model.layers) {
      m.error("layers", fmt::format("the preset's first {} layers are dense, which leaves none of "
                                    "{} with experts; use more layers or set moe.dense_layers",
                                    model.moe.dense_layers, model.layers));
    }
    return;
  }
  MapReader e = m.child("moe");
  MoeConfig& moe = model.moe;
  const bool preset = moe.experts > 0;
  auto integer = [&](std::string_view key, std::int64_t& field, std::int64_t low, std::int64_t high,
                     std::optional<std::int64_t> fallback) {
    if (auto v = integer_or(e, key, low, high, preset ? field : fallback))
      field = *v;
  };
  integer("experts", moe.experts, 1, max_dimension, std::nullopt);
  integer("top_k", moe.top_k, 1, max_dimension, std::nullopt);
  integer("shared_experts", moe.shared_experts, 0, max_dimension, 0);
  integer("expert_ffn_hidden", moe.expert_ffn_hidden, 1, 16 * max_dimension, model.ffn_hidden);
  integer("dense_layers", moe.dense_layers, 0, max_layers, 0);
  // Token slots per expert over balanced routing: below 0.1 nine tokens of ten would be dropped,
  // which no training run does (1e-300 made the experts' work vanish).
  if (auto v = e.number("capacity_factor", NumberRange::closed(0.1, 64),
                        preset ? moe.capacity_factor : 1.0)) {
    moe.capacity_factor = *v;
  }
  // Where a token's experts fall (models/moe_routing.hpp): the preset's routing, or uniform. The
  // blocks of group-limited routing come from the preset where it routes so, else they must be
  // given; other routings have none.
  const bool preset_groups = preset && moe.routing == ExpertRoutingKind::group_limited;
  if (auto v = e.enumeration("routing", expert_routing_kind_names))
    moe.routing = *v;
  for (auto [key, field] :
       {std::pair<std::string_view, std::int64_t*>{"router_groups", &moe.router_groups},
        {"router_group_topk", &moe.router_group_topk}}) {
    if (moe.routing == ExpertRoutingKind::group_limited) {
      if (auto v = integer_or(e, key, 1, max_dimension,
                              preset_groups ? std::optional(*field) : std::nullopt))
        *field = *v;
    } else if (e.has(key)) {
      e.accept(key);
      e.error(key, fmt::format("applies to routing: group-limited only (routing is {})",
                               to_string(moe.routing)));
    }
  }
  // Checked only when every value above was read: one that was not still holds its default.
  const bool values_read = e.diagnostics().empty();
  if (values_read && moe.routing == ExpertRoutingKind::group_limited) {
    if (moe.experts % moe.router_groups != 0 || moe.router_groups > moe.experts) {
      e.error("router_groups", fmt::format("{} groups do not split {} experts evenly; use a "
                                           "divisor of {}",
                                           moe.router_groups, moe.experts, moe.experts));
    } else if (moe.router_group_topk > moe.router_groups ||
               moe.top_k % moe.router_group_topk != 0 ||
               moe.top_k / moe.router_group_topk > moe.experts / moe.router_groups) {
      e.error("router_group_topk",
              fmt::format("{} groups per token must divide top_k {} (each chosen group gives "
                          "top_k / router_group_topk experts, at most its {}) and be at most "
                          "router_groups {}",
                          moe.router_group_topk, moe.top_k, moe.experts / moe.router_groups,
                          moe.router_groups));
    }
  }
  if (values_read && moe.top_k > moe.experts) {
    e.error("top_k", fmt::format("{} experts per token, but the layer has {}; use at most {}",
                                 moe.top_k, moe.experts, moe.experts));
  }
  if (values_read && moe.dense_layers >= model.layers) {
    e.error("dense_layers", fmt::format("{} dense layers leave none of the {} layers with "
                                        "experts; use fewer than {}",
                                        moe.dense_layers, model.layers, model.layers));
  }
  e.finish();
}

// model.mla: multi-head latent attention; the preset's values stand for keys left out.
void read_latent_attention(MapReader& m, TransformerConfig& model) {
  if (!m.has("mla")) {
    m.accept("mla");
    return;
  }
  MapReader a = m.child("mla");
  LatentAttentionConfig& mla = model.mla;
  const bool preset = model.latent_attention();
  auto integer = [&](std::string_view key, std::int64_t& field, std::int64_t low,
                     std::optional<std::int64_t> fallback) {
    if (auto v = integer_or(a, key, low, max_dimension, preset ? field : fallback))
      field = *v;
  };
  integer("q_lora_rank", mla.q_lora_rank, 0, 0);
  integer("kv_lora_rank", mla.kv_lora_rank, 1, std::nullopt);
  integer("qk_nope_head_dim", mla.qk_nope_head_dim, 1, std::nullopt);
  integer("qk_rope_head_dim", mla.qk_rope_head_dim, 0, 0);
  integer("v_head_dim", mla.v_head_dim, 1, std::nullopt);
  a.finish();
}

void read_head_width(MapReader& m, TransformerConfig& model) {
  if (auto v = m.integer("head_dim", 1, max_dimension))
    model.attention_head_dim = *v;
  if (auto qk_norm = m.boolean("qk_norm"))
    model.qk_norm = *qk_norm;
  if (model.attention_head_dim == 0 && model.hidden % model.heads != 0) {
    m.error("heads", fmt::format("{} heads do not divide hidden ({}); use one of {}, or give "
                                 "head_dim (the width of one head) where it is not hidden / heads",
                                 model.heads, model.hidden, divisor_hint(model.hidden)));
  }
  if (model.attention_head_dim > 0 && model.latent_attention()) {
    m.error("head_dim",
            "latent attention sets its heads' widths in mla (qk_nope_head_dim, "
            "qk_rope_head_dim, v_head_dim); leave head_dim out");
  }
}

void set_family(TransformerConfig& model, bool llama) {
  model.gated_mlp = llama;
  model.biases = !llama;
  model.learned_positions = !llama;
  model.tied_embeddings = !llama;
  model.norm_parameters_per_hidden = llama ? 1 : 2;
  model.dropout = !llama;
}

void read_model_section(MapReader& m, TransformerConfig& model) {
  if (m.has("preset")) {
    if (auto preset_name = m.choice("preset", transformer_preset_names()))
      model = *transformer_preset(*preset_name);
  }
  const bool preset = m.has("preset");
  if (auto attention = m.choice("attention", {"flash", "materialized"}))
    model.flash_attention = *attention == "flash";
  if (auto causal = m.boolean("causal"))
    model.causal = *causal;
  if (auto family = m.choice("family", {"gpt", "llama"}))
    set_family(model, *family == "llama");
  if (auto dropout = m.boolean("dropout"))
    model.dropout = *dropout;
  auto dimension = [&](std::string_view key, std::int64_t& field, std::int64_t high,
                       std::optional<std::int64_t> fallback) {
    if (auto v =
            integer_or(m, key, 1, high, preset ? std::optional<std::int64_t>(field) : fallback))
      field = *v;
  };
  dimension("layers", model.layers, max_layers, std::nullopt);
  dimension("hidden", model.hidden, max_dimension, std::nullopt);
  dimension("heads", model.heads, max_dimension, std::nullopt);
  if (model.hidden <= 0 || model.heads <= 0) {
    for (const char* key : {"ffn_hidden", "kv_heads", "head_dim", "qk_norm", "vocab", "seq_len",
                            "moe", "mla", "mtp_layers"})
      m.accept(key);
    m.finish();
    return;
  }
  dimension("ffn_hidden", model.ffn_hidden, 16 * max_dimension,
            preset ? std::nullopt : std::optional<std::int64_t>(4 * model.hidden));
  dimension("kv_heads", model.kv_heads, max_dimension,
            preset ? std::nullopt : std::optional<std::int64_t>(model.heads));
  dimension("vocab", model.vocab, 16 * max_dimension, std::nullopt);
  dimension("seq_len", model.seq_len, max_sequence, std::nullopt);
  if (model.kv_heads > 0 && model.heads % model.kv_heads != 0) {
    m.error("kv_heads", fmt::format("{} does not divide heads ({}); use one of {}", model.kv_heads,
                                    model.heads, divisor_hint(model.heads)));
  }
  read_moe(m, model);
  read_latent_attention(m, model);
  read_head_width(m, model);
  // More prediction modules than layers is no model anyone trains (DeepSeek-V3 trained with 1).
  if (auto v = integer_or(m, "mtp_layers", 0, model.layers > 0 ? model.layers : max_layers,
                          model.mtp_layers))
    model.mtp_layers = *v;
  if (model.mtp_layers > 0 && !model.causal) {
    m.error("mtp_layers",
            "multi-token prediction predicts the next tokens of a causal decoder; "
            "leave mtp_layers out or at 0, or set causal: true");
  }
  m.finish();
}

}  // namespace scaleplan
