// `model:` as a layer graph (docs/scenario-format.md, "Layer-graph models"): a shipped graph
// (`preset: resnet-50`), a family by its dimensions (`resnet:`, `vit:`, `dlrm:`), or a list of
// layers (`layers:`). Every problem is reported at its key.
#include "sim/scenario/scenario_graph.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/scenario_sections.hpp"
#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {

namespace {

// Layers a `repeat:` may make, and sizes beyond any real model (typos, not models).
constexpr std::int64_t max_repeat = max_layers;
constexpr std::int64_t max_rows = std::int64_t{1} << 40;
constexpr double max_elements = 1e12;

void read_resnet(MapReader& r, LayerGraph& graph) {
  const auto depth = r.integer("depth", 18, 152, 50);
  const auto size = r.integer("image_size", 32, 8192, 224);
  const auto classes = r.integer("classes", 1, max_dimension, 1000);
  if (depth && *depth != 18 && *depth != 34 && *depth != 50 && *depth != 101 && *depth != 152)
    r.error("depth", fmt::format("{} is not a ResNet depth; use 18, 34, 50, 101 or 152", *depth));
  else if (depth && size && classes)
    graph = resnet_graph(static_cast<int>(*depth), *size, *classes);
  r.finish();
}

void read_vit(MapReader& v, LayerGraph& graph, const std::optional<std::string>& name) {
  VitConfig c;
  c.name = name.value_or("vit");
  bool ok = true;
  const auto get = [&](std::string_view key, std::int64_t& field, std::int64_t high,
                       std::optional<std::int64_t> fallback) {
    const auto value =
        fallback ? v.integer(key, 1, high, *fallback) : v.integer(key, 1, high, required_key);
    if (value)
      field = *value;
    else
      ok = false;
  };
  get("layers", c.layers, max_layers, std::nullopt);
  get("hidden", c.hidden, max_dimension, std::nullopt);
  get("heads", c.heads, max_dimension, std::nullopt);
  get("ffn_hidden", c.ffn_hidden, 16 * max_dimension,
      ok ? std::optional<std::int64_t>(4 * c.hidden) : std::optional<std::int64_t>(1));
  get("patch", c.patch, 1024, 16);
  get("image_size", c.image_size, 8192, 224);
  get("classes", c.classes, max_dimension, 1000);
  if (ok && c.hidden % c.heads != 0) {
    v.error("heads", fmt::format("{} heads do not divide hidden ({}); use one of {}", c.heads,
                                 c.hidden, divisor_hint(c.hidden)));
    ok = false;
  }
  if (ok && c.image_size % c.patch != 0) {
    v.error("patch", fmt::format("{} does not divide image_size ({}); use one of {}", c.patch,
                                 c.image_size, divisor_hint(c.image_size)));
    ok = false;
  }
  if (ok)
    graph = vit_graph(c);
  v.finish();
}

void read_dlrm(MapReader& r, LayerGraph& graph, const std::optional<std::string>& name) {
  DlrmConfig c = dlrm_dcnv2_config();
  c.name = name.value_or("dlrm");
  bool ok = true;
  if (auto v = r.integer("dense_features", 1, max_dimension, c.dense_features))
    c.dense_features = *v;
  if (auto v = r.integers("bottom_mlp", 1, max_dimension, 1, 64))
    c.bottom_mlp = *v;
  if (auto v = r.integers("top_mlp", 1, max_dimension, 1, 64))
    c.top_mlp = *v;
  if (auto v = r.integer("cross_layers", 0, 64, c.cross_layers))
    c.cross_layers = *v;
  if (auto v = r.integer("cross_rank", 1, max_dimension, c.cross_rank))
    c.cross_rank = *v;
  if (auto v = r.enumeration("embedding_optimizer", embedding_optimizer_names))
    c.embedding_optimizer = *v;
  // Tables: their rows and poolings as lists of one entry per table; the dim is the bottom
  // MLP's last width (the interaction concatenates vectors of one width).
  const std::int64_t dim = c.bottom_mlp.back();
  std::vector<std::int64_t> rows;
  std::vector<double> pooling;
  for (const EmbeddingTable& t : c.tables) {
    rows.push_back(t.rows);
    pooling.push_back(t.pooling);
  }
  if (auto v = r.integers("table_rows", 1, max_rows, 1, 4096))
    rows = *v;
  else if (r.has("table_rows"))
    ok = false;
  const bool one_pooling = r.has("pooling") && r.node()["pooling"].IsScalar();
  if (auto one = one_pooling ? r.number("pooling", NumberRange::closed(1, 1e6)) : std::nullopt) {
    pooling.assign(rows.size(), *one);
  } else if (auto v = one_pooling ? std::nullopt
                                  : r.numbers("pooling", NumberRange::closed(1, 1e6), 1, 4096)) {
    pooling = *v;
  } else if (r.has("pooling")) {
    ok = false;
  } else if (r.has("table_rows")) {
    pooling.assign(rows.size(), 1.0);  // one-hot unless told
  }
  if (ok && pooling.size() == 1)
    pooling.assign(rows.size(), pooling.front());
  if (ok && pooling.size() != rows.size()) {
    r.error("pooling", fmt::format("{} poolings for {} tables; give one per table of table_rows, "
                                   "or one for all",
                                   pooling.size(), rows.size()));
    ok = false;
  }
  if (ok) {
    c.tables.clear();
    for (std::size_t t = 0; t < rows.size(); ++t)
      c.tables.push_back({rows[t], dim, pooling[t]});
    graph = dlrm_graph(c);
  }
  r.finish();
}

// `family: gpt | llama` of a transformer, token-embedding or output layer (set_family), gpt by
// default.
void read_family(MapReader& l, TransformerConfig& m) {
  set_family(m, l.choice("family", {"gpt", "llama"}).value_or("gpt") == "llama");
}

// One item of `layers:`; appends it `repeat` times.
void read_layer(MapReader& l, std::size_t index, LayerGraph& graph) {
  GraphLayer layer;
  layer.name = l.string("name").value_or(fmt::format("layer{}", index));
  const auto kind = l.enumeration("kind", layer_kind_names);
  if (!l.has("kind"))
    l.require("kind");
  const auto repeat = l.integer("repeat", 1, max_repeat, 1);
  const auto dim = [&](std::string_view key, std::int64_t& field, std::int64_t low,
                       std::optional<std::int64_t> fallback) {
    const auto v = fallback ? l.integer(key, low, max_dimension * 16, *fallback)
                            : l.integer(key, low, max_dimension * 16, required_key);
    if (v)
      field = *v;
    return v.has_value();
  };
  bool ok = kind.has_value() && repeat.has_value();
  if (kind) {
    layer.kind = *kind;
    switch (*kind) {
      case LayerKind::gemm:
        ok &= dim("m", layer.gemm.m, 1, 1);
        ok &= dim("n", layer.gemm.n, 1, std::nullopt);
        ok &= dim("k", layer.gemm.k, 1, std::nullopt);
        layer.bias = l.boolean("bias").value_or(true);
        break;
      case LayerKind::conv: {
        ConvShape& c = layer.conv;
        ok &= dim("in_channels", c.in_channels, 1, std::nullopt);
        ok &= dim("out_channels", c.out_channels, 1, std::nullopt);
        ok &= dim("kernel", c.kernel, 1, 1);
        ok &= dim("stride", c.stride, 1, 1);
        ok &= dim("padding", c.padding, 0, 0);
        ok &= dim("height", c.in_height, 1, std::nullopt);
        ok &= dim("width", c.in_width, 1, c.in_height > 0 ? c.in_height : 1);
        layer.bias = l.boolean("bias").value_or(false);
        if (ok && (c.out_height() < 1 || c.out_width() < 1)) {
          l.error("kernel", fmt::format("a {0}×{0} kernel leaves no output of a {1}×{2} input "
                                        "padded by {3}; use a kernel of at most {4}",
                                        c.kernel, c.in_height, c.in_width, c.padding,
                                        std::min(c.in_height, c.in_width) + 2 * c.padding));
          ok = false;
        }
        break;
      }
      case LayerKind::attention:
        ok &= dim("seq", layer.seq, 1, std::nullopt);
        ok &= dim("heads", layer.heads, 1, std::nullopt);
        ok &= dim("head_dim", layer.head_dim, 1, std::nullopt);
        break;
      case LayerKind::norm:
      case LayerKind::elementwise:
      case LayerKind::pool:
        if (auto v = l.number("elements", NumberRange::closed(1, max_elements), required_key))
          layer.elements = *v;
        else
          ok = false;
        if (auto v = l.number("input_elements", NumberRange::closed(1, max_elements)))
          layer.input_elements = *v;
        if (*kind == LayerKind::norm)
          ok &= dim("channels", layer.channels, 1, 1);
        break;
      case LayerKind::embedding: {
        const auto tables = l.sequence("tables");
        if (tables.empty() && !l.has("tables"))
          l.require("tables");
        for (std::size_t t = 0; t < tables.size(); ++t) {
          MapReader tr(tables[t], l.path_of("tables") + "[" + std::to_string(t) + "]",
                       l.diagnostics());
          EmbeddingTable table;
          if (auto v = tr.integer("rows", 1, max_rows, required_key))
            table.rows = *v;
          else
            ok = false;
          if (auto v = tr.integer("dim", 1, max_dimension, required_key))
            table.dim = *v;
          else
            ok = false;
          if (auto v = tr.number("pooling", NumberRange::closed(1, 1e6), 1.0))
            table.pooling = *v;
          tr.finish();
          layer.tables.push_back(table);
        }
        ok &= !tables.empty();
        if (auto v = l.enumeration("optimizer", embedding_optimizer_names))
          layer.embedding_optimizer = *v;
        break;
      }
      case LayerKind::transformer: {
        TransformerConfig m;
        m.name = layer.name;
        m.layers = 1;
        ok &= dim("hidden", m.hidden, 1, std::nullopt);
        ok &= dim("heads", m.heads, 1, std::nullopt);
        ok &= dim("ffn_hidden", m.ffn_hidden, 1, m.hidden > 0 ? 4 * m.hidden : 1);
        ok &= dim("kv_heads", m.kv_heads, 1, m.heads > 0 ? m.heads : 1);
        ok &= dim("seq_len", m.seq_len, 1, std::nullopt);
        m.learned_positions = false;
        m.tied_embeddings = false;
        m.causal = l.boolean("causal").value_or(false);
        read_family(l, m);
        if (auto attention = l.choice("attention", {"flash", "materialized"}))
          m.flash_attention = *attention == "flash";
        if (ok && m.heads % m.kv_heads != 0) {
          l.error("kv_heads", fmt::format("{} does not divide heads ({}); use one of {}",
                                          m.kv_heads, m.heads, divisor_hint(m.heads)));
          ok = false;
        }
        if (ok) {
          const std::size_t before = l.diagnostics().size();
          read_moe(l, m);
          read_latent_attention(l, m);
          read_head_width(l, m);
          ok = l.diagnostics().size() == before;
        } else {
          for (const char* key : {"moe", "mla", "head_dim", "qk_norm"})
            l.accept(key);
        }
        layer.encoder = m;
        break;
      }
      case LayerKind::token_embedding:
      case LayerKind::output: {
        // The language model's vocabulary side: its configuration holds what these layers read.
        TransformerConfig m;
        m.name = layer.name;
        m.layers = 1;
        ok &= dim("vocab", m.vocab, 1, std::nullopt);
        ok &= dim("hidden", m.hidden, 1, std::nullopt);
        ok &= dim("seq_len", m.seq_len, 1, std::nullopt);
        read_family(l, m);
        if (*kind == LayerKind::output) {
          if (auto tied = l.boolean("tied_embeddings"))
            m.tied_embeddings = *tied;
        }
        m.heads = m.kv_heads = 1;
        m.ffn_hidden = m.hidden;
        layer.encoder = m;
        break;
      }
    }
  }
  if (!kind) {
    // The kind decides the keys; without one, the rest is not reported as unknown.
    for (const char* key : {"m",           "n",
                            "k",           "bias",
                            "in_channels", "out_channels",
                            "kernel",      "stride",
                            "padding",     "height",
                            "width",       "seq",
                            "heads",       "head_dim",
                            "elements",    "input_elements",
                            "channels",    "tables",
                            "optimizer",   "hidden",
                            "ffn_hidden",  "seq_len",
                            "causal",      "kv_heads",
                            "family",      "attention",
                            "moe",         "mla",
                            "vocab",       "tied_embeddings",
                            "qk_norm"})
      l.accept(key);
  }
  if (auto v = l.number("parameters", NumberRange::closed(0, 1e15)))
    layer.parameters = *v;
  if (auto v = l.boolean("input_gradient"))
    layer.input_gradient = *v;
  else
    layer.input_gradient = !graph.layers.empty();
  l.finish();
  if (!ok)
    return;
  for (std::int64_t r = 0; r < *repeat; ++r) {
    GraphLayer copy = layer;
    if (*repeat > 1)
      copy.name += "." + std::to_string(r);
    if (r > 0 && !l.has("input_gradient"))
      copy.input_gradient = true;
    graph.layers.push_back(std::move(copy));
  }
}

// A list with a token-embedding or an output layer is a language model: it must be one whole
// (decoder_config), which then runs as the transformer of its dimensions does.
void check_decoder(MapReader& m, LayerGraph& graph) {
  const auto language = [](const GraphLayer& l) {
    return l.kind == LayerKind::token_embedding || l.kind == LayerKind::output;
  };
  if (graph.layers.empty() || std::none_of(graph.layers.begin(), graph.layers.end(), language))
    return;
  const DecoderReading decoder = decoder_config(graph);
  if (decoder.config)
    return;
  m.error("layers", fmt::format("layer {} ({}): {}; a language model is one token-embedding layer, "
                                "transformer layers and one output layer, with one hidden, "
                                "seq_len, vocab and family",
                                decoder.layer, graph.layers[decoder.layer].name, decoder.problem));
  graph.layers.clear();
}

}  // namespace

bool is_graph_model(const MapReader& m) {
  if (m.has("resnet") || m.has("vit") || m.has("dlrm"))
    return true;
  if (m.has("layers") && m.node()["layers"].IsSequence())
    return true;
  if (m.has("preset") && m.node()["preset"].IsScalar()) {
    const auto& names = graph_preset_names();
    return std::find(names.begin(), names.end(), m.node()["preset"].Scalar()) != names.end();
  }
  return false;
}

void read_graph_model(MapReader& m, TrainingJob& job) {
  LayerGraph graph;
  const auto name = m.string("name");
  const int forms = (m.has("preset") ? 1 : 0) + (m.has("resnet") ? 1 : 0) + (m.has("vit") ? 1 : 0) +
                    (m.has("dlrm") ? 1 : 0) + (m.has("layers") ? 1 : 0);
  if (forms > 1) {
    m.error(m.has("layers") ? "layers" : "preset",
            "a layer-graph model is one of preset, resnet, vit, dlrm or layers; write only one");
  }
  if (m.has("preset")) {
    if (auto preset = m.choice("preset", graph_preset_names()))
      graph = *graph_preset(*preset);
  } else if (m.has("resnet")) {
    MapReader r = m.child("resnet");
    read_resnet(r, graph);
  } else if (m.has("vit")) {
    MapReader v = m.child("vit");
    read_vit(v, graph, name);
  } else if (m.has("dlrm")) {
    MapReader d = m.child("dlrm");
    read_dlrm(d, graph, name);
  } else {
    const auto items = m.sequence("layers");
    if (items.empty())
      m.error("layers", "expected a list of at least one layer");
    if (items.size() > static_cast<std::size_t>(max_layers)) {
      m.error("layers",
              fmt::format("{} layers is beyond the limit of {}", items.size(), max_layers));
    } else {
      for (std::size_t i = 0; i < items.size(); ++i) {
        MapReader l(items[i], m.path_of("layers") + "[" + std::to_string(i) + "]", m.diagnostics());
        read_layer(l, i, graph);
      }
    }
    if (graph.layers.size() > static_cast<std::size_t>(max_layers)) {
      m.error("layers", fmt::format("the layers repeat to {}, beyond the limit of {}",
                                    graph.layers.size(), max_layers));
      graph.layers.clear();
    }
    check_decoder(m, graph);
  }
  if (name)
    graph.name = *name;
  if (auto sample = m.string("sample"))
    graph.sample = *sample;
  for (const char* key : {"preset", "resnet", "vit", "dlrm", "layers"})
    m.accept(key);
  m.finish();
  if (graph.layers.empty())
    return;  // reported above
  set_graph(job, std::move(graph));
}

}  // namespace scaleplan
