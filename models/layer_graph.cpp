#include "models/layer_graph.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace scaleplan {

namespace {

double d(std::int64_t x) {
  return static_cast<double>(x);
}

Kernel memory_kernel(std::string name, KernelKind kind, Dtype dtype, double flops, double bytes) {
  Kernel k;
  k.name = std::move(name);
  k.kind = kind;
  k.dtype = dtype;
  k.flops = flops;
  k.bytes = bytes;
  return k;
}

// A GEMM of `rows` rows (the batch's) and its backward: the input gradient (unless the layer's
// input is the data) and the weight gradient, whose reduction dimension is the rows.
void gemm_work(GraphLayerWork& w, const std::string& name, GemmShape s, bool input_gradient,
               Dtype dtype) {
  w.forward.push_back(make_gemm(name, s, dtype));
  if (input_gradient)
    w.backward.push_back(make_gemm(name + "_dgrad", {s.m, s.k, s.n, s.batch}, dtype));
  w.backward.push_back(make_gemm(name + "_wgrad", {s.k, s.n, s.m, s.batch}, dtype));
}

}  // namespace

double graph_dense_parameters(const GraphLayer& layer) {
  switch (layer.kind) {
    case LayerKind::gemm:
      return d(layer.gemm.n) * d(layer.gemm.k) + (layer.bias ? d(layer.gemm.n) : 0.0) +
             layer.parameters;
    case LayerKind::conv: {
      const GemmShape g = layer.conv.gemm();
      return d(g.n) * d(g.k) + (layer.bias ? d(g.n) : 0.0) + layer.parameters;
    }
    case LayerKind::norm:
      return 2.0 * d(layer.channels) + layer.parameters;
    case LayerKind::transformer:
      return (layer.encoder ? layer_parameters(*layer.encoder, 0) : 0.0) + layer.parameters;
    case LayerKind::token_embedding: {
      if (!layer.encoder)
        return layer.parameters;
      const TransformerConfig& m = *layer.encoder;
      return d(m.vocab) * d(m.hidden) + (m.learned_positions ? d(m.seq_len) * d(m.hidden) : 0.0) +
             layer.parameters;
    }
    case LayerKind::output: {
      if (!layer.encoder)
        return layer.parameters;
      const TransformerConfig& m = *layer.encoder;
      return m.norm_parameters_per_hidden * d(m.hidden) +
             (m.tied_embeddings ? 0.0 : d(m.vocab) * d(m.hidden)) + layer.parameters;
    }
    case LayerKind::attention:
    case LayerKind::elementwise:
    case LayerKind::pool:
    case LayerKind::embedding:
      return layer.parameters;
  }
  return layer.parameters;
}

double graph_embedding_parameters(const GraphLayer& layer) {
  double params = 0;
  for (const EmbeddingTable& t : layer.tables)
    params += d(t.rows) * d(t.dim);
  return params;
}

double graph_total_parameters(const LayerGraph& graph) {
  double params = 0;
  for (const GraphLayer& layer : graph.layers)
    params += graph_dense_parameters(layer) + graph_embedding_parameters(layer);
  return params;
}

double embedding_bytes_per_parameter(const GraphLayer& layer) {
  // fp32 tables; Adam keeps two fp32 moments per element, row-wise Adagrad one fp32 per row.
  double optimizer = 0;
  if (layer.embedding_optimizer == EmbeddingOptimizer::adam) {
    optimizer = 8;
  } else if (!layer.tables.empty()) {
    optimizer = 4.0 / d(std::max<std::int64_t>(1, layer.tables.front().dim));
  }
  return 4.0 + optimizer;
}

GraphLayerWork graph_layer_work(const GraphLayer& layer, std::int64_t batch, int ranks,
                                Dtype dtype) {
  GraphLayerWork w;
  const Dtype other = non_gemm_dtype(dtype);
  const double e = bytes_per_element(other);
  const double act = activation_element_bytes(dtype);
  const double b = d(batch);
  const std::string& name = layer.name;
  w.dense_parameters = graph_dense_parameters(layer);
  switch (layer.kind) {
    case LayerKind::gemm: {
      const GemmShape& g = layer.gemm;
      gemm_work(w, name, {g.m * batch, g.n, g.k, g.batch}, layer.input_gradient, dtype);
      w.activation_bytes = b * d(g.m) * d(g.k) * d(g.batch) * act;
      w.output_bytes = b * d(g.m) * d(g.n) * d(g.batch) * act;
      break;
    }
    case LayerKind::conv: {
      const ConvShape& c = layer.conv;
      GemmShape g = c.gemm();
      g.m *= batch;
      gemm_work(w, name, g, layer.input_gradient, dtype);
      w.activation_bytes = b * d(c.in_channels) * d(c.in_height) * d(c.in_width) * act;
      w.output_bytes = b * d(c.out_channels) * d(c.out_height()) * d(c.out_width()) * act;
      break;
    }
    case LayerKind::attention: {
      // Fused attention (FlashAttention, non-causal): QK^T and PV, 2·s·s·d FLOPs each per head;
      // reads Q, K, V and writes the output; its backward recomputes the scores (2.5 times the
      // forward's FLOPs) and keeps the four tensors.
      const double qkvo = 4.0 * b * d(layer.seq) * d(layer.heads) * d(layer.head_dim);
      const double flops =
          4.0 * b * d(layer.heads) * d(layer.seq) * d(layer.seq) * d(layer.head_dim);
      Kernel f = memory_kernel(name, KernelKind::attention, other, flops, qkvo * e);
      // Named by the shape of QK^T, as the transformer's fused kernel: n is the keys a query
      // attends over, which the catalog's attention figures are read at.
      f.gemm = {layer.seq, layer.seq, layer.head_dim, batch * layer.heads};
      Kernel bw = f;
      bw.name = name + "_backward";
      bw.flops = 2.5 * flops;
      bw.bytes = 2.0 * qkvo * e;
      w.forward.push_back(std::move(f));
      w.backward.push_back(std::move(bw));
      w.activation_bytes = qkvo * act;
      w.output_bytes = qkvo / 4.0 * act;
      break;
    }
    case LayerKind::norm:
    case LayerKind::elementwise:
    case LayerKind::pool: {
      const double out = b * layer.elements;
      const double in = b * (layer.input_elements > 0 ? layer.input_elements : layer.elements);
      const KernelKind kind =
          layer.kind == LayerKind::norm ? KernelKind::norm : KernelKind::elementwise;
      const double flops_per_element = layer.kind == LayerKind::norm ? 5.0 : 1.0;
      w.forward.push_back(memory_kernel(name, kind, other, flops_per_element * in, (in + out) * e));
      // Backward reads the output's gradient and what the forward kept, writes the input's.
      w.backward.push_back(memory_kernel(name + "_backward", kind, other,
                                         2.0 * flops_per_element * in, (2.0 * in + out) * e));
      // A norm and a pool keep their input; a ReLU its output; a residual add nothing.
      const bool add = layer.kind == LayerKind::elementwise && in > out;
      w.activation_bytes = add ? 0.0 : (layer.kind == LayerKind::elementwise ? out : in) * act;
      w.output_bytes = out * act;
      break;
    }
    case LayerKind::embedding: {
      // This rank looks up its shard of every table for the whole micro-batch of every rank:
      // 1/ranks of ranks·batch samples' lookups, as many as its own samples' (balanced shards).
      double lookups = 0, pooled = 0;
      for (const EmbeddingTable& t : layer.tables) {
        lookups += b * t.pooling * d(t.dim);
        pooled += b * d(t.dim);
      }
      double indices = 0;
      for (const EmbeddingTable& t : layer.tables)
        indices += b * t.pooling * 8.0;
      // Forward: the fp32 rows read, the indices, the pooled vectors written.
      w.forward.push_back(memory_kernel(name + "_lookup", KernelKind::embedding, other, lookups,
                                        lookups * 4.0 + indices + pooled * e));
      // Backward with the optimizer fused (FBGEMM's TBE): the pooled gradients read, each row
      // looked up read and written in fp32, and its optimizer state.
      double state = 0;
      if (layer.embedding_optimizer == EmbeddingOptimizer::adam) {
        state = lookups * 16.0;
      } else {
        for (const EmbeddingTable& t : layer.tables)
          state += b * t.pooling * 8.0;
      }
      w.backward.push_back(memory_kernel(name + "_backward_update", KernelKind::embedding, other,
                                         2.0 * lookups,
                                         pooled * e + lookups * 8.0 + indices + state));
      w.activation_bytes = indices;
      w.output_bytes = pooled * act;
      w.all_to_all_bytes = ranks > 1 ? pooled * e : 0.0;
      break;
    }
    case LayerKind::transformer: {
      if (!layer.encoder)
        throw std::invalid_argument("graph layer " + name +
                                    ": a transformer layer needs its encoder");
      const TransformerConfig& m = *layer.encoder;
      const LayerWork lw = transformer_layer(m, batch, LayerPartition{}, dtype);
      for (const Block* block : {&lw.attention, &lw.mlp}) {
        w.forward.insert(w.forward.end(), block->forward.begin(), block->forward.end());
        w.activation_bytes += block->activation_bytes;
      }
      for (const Block* block : {&lw.mlp, &lw.attention}) {
        const std::vector<Kernel> back = block->backward();
        w.backward.insert(w.backward.end(), back.begin(), back.end());
      }
      w.output_bytes = b * d(m.seq_len) * d(m.hidden) * act;
      break;
    }
    case LayerKind::token_embedding:
    case LayerKind::output: {
      if (!layer.encoder) {
        throw std::invalid_argument("graph layer " + name + ": a " +
                                    std::string(to_string(layer.kind)) +
                                    " layer needs its model's configuration");
      }
      const TransformerConfig& m = *layer.encoder;
      const bool embedding = layer.kind == LayerKind::token_embedding;
      const Block block = embedding ? embedding_block(m, batch, LayerPartition{}, dtype)
                                    : output_block(m, batch, LayerPartition{}, dtype);
      w.forward = block.forward;
      w.backward = block.backward();
      w.activation_bytes = block.activation_bytes;
      w.output_bytes = embedding ? b * d(m.seq_len) * d(m.hidden) * act : 0.0;
      break;
    }
  }
  return w;
}

bool has_layer_kind(const LayerGraph& graph, LayerKind kind) {
  return std::any_of(graph.layers.begin(), graph.layers.end(),
                     [kind](const GraphLayer& l) { return l.kind == kind; });
}

double graph_forward_flops_per_sample(const LayerGraph& graph) {
  double flops = 0;
  for (const GraphLayer& layer : graph.layers) {
    for (const Kernel& k : graph_layer_work(layer, 1, 1, Dtype::bf16).forward) {
      if (k.kind == KernelKind::gemm || k.kind == KernelKind::attention)
        flops += k.flops;
    }
  }
  return flops;
}

// ---- ResNet ----

namespace {

// Appends layers to a graph, following the activation's shape (channels × height × width).
class ConvNetBuilder {
 public:
  ConvNetBuilder(LayerGraph& graph, std::int64_t channels, std::int64_t size)
      : g_(graph), c_(channels), h_(size), w_(size) {}

  void conv(const std::string& name, std::int64_t out, std::int64_t kernel, std::int64_t stride,
            std::int64_t padding) {
    GraphLayer l;
    l.name = name;
    l.kind = LayerKind::conv;
    l.bias = false;
    l.conv = {c_, out, kernel, stride, padding, h_, w_};
    l.input_gradient = !g_.layers.empty();
    c_ = out;
    h_ = l.conv.out_height();
    w_ = l.conv.out_width();
    g_.layers.push_back(std::move(l));
  }
  void norm(const std::string& name) {
    GraphLayer l;
    l.name = name;
    l.kind = LayerKind::norm;
    l.elements = elements();
    l.channels = c_;
    g_.layers.push_back(std::move(l));
  }
  void relu(const std::string& name) { pointwise(name, elements(), 0); }
  void add(const std::string& name) { pointwise(name, elements(), 2 * elements()); }
  void max_pool(const std::string& name, std::int64_t kernel, std::int64_t stride,
                std::int64_t padding) {
    const double in = elements();
    h_ = (h_ + 2 * padding - kernel) / stride + 1;
    w_ = (w_ + 2 * padding - kernel) / stride + 1;
    pool(name, in);
  }
  void global_pool(const std::string& name) {
    const double in = elements();
    h_ = w_ = 1;
    pool(name, in);
  }
  void linear(const std::string& name, std::int64_t out) {
    GraphLayer l;
    l.name = name;
    l.kind = LayerKind::gemm;
    l.gemm = {1, out, c_ * h_ * w_, 1};
    c_ = out;
    h_ = w_ = 1;
    g_.layers.push_back(std::move(l));
  }
  std::int64_t channels() const { return c_; }
  // Rewinds the shape (a block's shortcut starts from the block's input).
  void set_shape(std::int64_t c, std::int64_t h, std::int64_t w) {
    c_ = c;
    h_ = h;
    w_ = w;
  }
  std::int64_t height() const { return h_; }
  std::int64_t width() const { return w_; }

 private:
  double elements() const { return d(c_) * d(h_) * d(w_); }
  void pointwise(const std::string& name, double out, double in) {
    GraphLayer l;
    l.name = name;
    l.kind = LayerKind::elementwise;
    l.elements = out;
    l.input_elements = in;
    g_.layers.push_back(std::move(l));
  }
  void pool(const std::string& name, double in) {
    GraphLayer l;
    l.name = name;
    l.kind = LayerKind::pool;
    l.elements = elements();
    l.input_elements = in;
    g_.layers.push_back(std::move(l));
  }

  LayerGraph& g_;
  std::int64_t c_, h_, w_;
};

}  // namespace

LayerGraph resnet_graph(int depth, std::int64_t image_size, std::int64_t classes) {
  std::vector<int> blocks;
  bool bottleneck = true;
  switch (depth) {
    case 18:
      blocks = {2, 2, 2, 2};
      bottleneck = false;
      break;
    case 34:
      blocks = {3, 4, 6, 3};
      bottleneck = false;
      break;
    case 50:
      blocks = {3, 4, 6, 3};
      break;
    case 101:
      blocks = {3, 4, 23, 3};
      break;
    case 152:
      blocks = {3, 8, 36, 3};
      break;
    default:
      throw std::invalid_argument("resnet_graph: depth " + std::to_string(depth) +
                                  " is not one of 18, 34, 50, 101, 152");
  }
  LayerGraph g;
  g.name = "resnet-" + std::to_string(depth);
  g.sample = "image";
  ConvNetBuilder n(g, 3, image_size);
  n.conv("conv1", 64, 7, 2, 3);
  n.norm("bn1");
  n.relu("relu1");
  n.max_pool("maxpool", 3, 2, 1);
  const std::int64_t expansion = bottleneck ? 4 : 1;
  for (int stage = 0; stage < 4; ++stage) {
    const std::int64_t width = std::int64_t{64} << stage;
    for (int block = 0; block < blocks[stage]; ++block) {
      const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(block) + ".";
      const std::int64_t stride = stage > 0 && block == 0 ? 2 : 1;
      const std::int64_t in_c = n.channels(), in_h = n.height(), in_w = n.width();
      if (bottleneck) {
        n.conv(p + "conv1", width, 1, 1, 0);
        n.norm(p + "bn1");
        n.relu(p + "relu1");
        n.conv(p + "conv2", width, 3, stride, 1);  // v1.5: the stride on the 3×3
        n.norm(p + "bn2");
        n.relu(p + "relu2");
        n.conv(p + "conv3", width * expansion, 1, 1, 0);
        n.norm(p + "bn3");
      } else {
        n.conv(p + "conv1", width, 3, stride, 1);
        n.norm(p + "bn1");
        n.relu(p + "relu1");
        n.conv(p + "conv2", width, 3, 1, 1);
        n.norm(p + "bn2");
      }
      if (block == 0 && (stride != 1 || in_c != width * expansion)) {
        const std::int64_t out_c = n.channels(), out_h = n.height(), out_w = n.width();
        n.set_shape(in_c, in_h, in_w);
        n.conv(p + "downsample", width * expansion, 1, stride, 0);
        n.norm(p + "downsample_bn");
        n.set_shape(out_c, out_h, out_w);
      }
      n.add(p + "add");
      n.relu(p + "relu");
    }
  }
  n.global_pool("avgpool");
  n.linear("fc", classes);
  return g;
}

// ---- ViT ----

LayerGraph vit_graph(const VitConfig& c) {
  LayerGraph g;
  g.name = c.name.empty() ? "vit" : c.name;
  g.sample = "image";
  const std::int64_t side = c.image_size / c.patch;
  const std::int64_t tokens = side * side + 1;  // patches and the class token
  GraphLayer patch;
  patch.name = "patch_embedding";
  patch.kind = LayerKind::conv;
  patch.bias = true;
  patch.conv = {3, c.hidden, c.patch, c.patch, 0, c.image_size, c.image_size};
  patch.input_gradient = false;
  g.layers.push_back(patch);
  GraphLayer positions;
  positions.name = "class_token_positions";
  positions.kind = LayerKind::elementwise;
  positions.elements = d(tokens) * d(c.hidden);
  positions.input_elements = d(tokens) * d(c.hidden);
  positions.parameters = d(tokens) * d(c.hidden) + d(c.hidden);
  g.layers.push_back(positions);
  TransformerConfig encoder;
  encoder.name = g.name;
  encoder.layers = c.layers;
  encoder.hidden = c.hidden;
  encoder.ffn_hidden = c.ffn_hidden;
  encoder.heads = c.heads;
  encoder.kv_heads = c.heads;
  encoder.vocab = 0;
  encoder.seq_len = tokens;
  encoder.gated_mlp = false;
  encoder.biases = true;
  encoder.learned_positions = false;
  encoder.tied_embeddings = false;
  encoder.norm_parameters_per_hidden = 2;
  encoder.flash_attention = true;
  encoder.causal = false;
  for (std::int64_t l = 0; l < c.layers; ++l) {
    GraphLayer layer;
    layer.name = "encoder." + std::to_string(l);
    layer.kind = LayerKind::transformer;
    layer.encoder = encoder;
    g.layers.push_back(std::move(layer));
  }
  GraphLayer norm;
  norm.name = "final_norm";
  norm.kind = LayerKind::norm;
  norm.elements = d(tokens) * d(c.hidden);
  norm.channels = c.hidden;
  g.layers.push_back(norm);
  GraphLayer head;
  head.name = "head";
  head.kind = LayerKind::gemm;
  head.gemm = {1, c.classes, c.hidden, 1};  // the class token's features
  g.layers.push_back(head);
  return g;
}

// ---- DLRM ----

LayerGraph dlrm_graph(const DlrmConfig& c) {
  LayerGraph g;
  g.name = c.name.empty() ? "dlrm" : c.name;
  g.sample = "query";
  const auto linear = [&](const std::string& name, std::int64_t in, std::int64_t out, bool relu) {
    GraphLayer l;
    l.name = name;
    l.kind = LayerKind::gemm;
    l.gemm = {1, out, in, 1};
    l.input_gradient = !g.layers.empty();
    g.layers.push_back(std::move(l));
    if (relu) {
      GraphLayer r;
      r.name = name + "_relu";
      r.kind = LayerKind::elementwise;
      r.elements = d(out);
      g.layers.push_back(std::move(r));
    }
  };
  std::int64_t width = c.dense_features;
  for (std::size_t i = 0; i < c.bottom_mlp.size(); ++i) {
    linear("bottom_mlp." + std::to_string(i), width, c.bottom_mlp[i], true);
    width = c.bottom_mlp[i];
  }
  GraphLayer tables;
  tables.name = "embeddings";
  tables.kind = LayerKind::embedding;
  tables.tables = c.tables;
  tables.embedding_optimizer = c.embedding_optimizer;
  g.layers.push_back(tables);
  std::int64_t features = width;
  for (const EmbeddingTable& t : c.tables)
    features += t.dim;
  // DCNv2 low-rank cross layer: x_{l+1} = x_0 ⊙ (U (V^T x_l) + b) + x_l.
  for (std::int64_t l = 0; l < c.cross_layers; ++l) {
    const std::string p = "cross." + std::to_string(l);
    GraphLayer v;
    v.name = p + ".v";
    v.kind = LayerKind::gemm;
    v.gemm = {1, c.cross_rank, features, 1};
    v.bias = false;
    g.layers.push_back(v);
    GraphLayer u;
    u.name = p + ".u";
    u.kind = LayerKind::gemm;
    u.gemm = {1, features, c.cross_rank, 1};
    g.layers.push_back(u);
    GraphLayer mix;
    mix.name = p + ".mix";
    mix.kind = LayerKind::elementwise;
    mix.elements = d(features);
    mix.input_elements = 3.0 * d(features);
    g.layers.push_back(mix);
  }
  width = features;
  for (std::size_t i = 0; i < c.top_mlp.size(); ++i) {
    linear("top_mlp." + std::to_string(i), width, c.top_mlp[i], i + 1 < c.top_mlp.size());
    width = c.top_mlp[i];
  }
  return g;
}

DlrmConfig dlrm_dcnv2_config() {
  // MLPerf Training v3.0+ DLRM-DCNv2 (mlcommons/training recommendation_v2, TorchRec's
  // dlrm_main.py): Criteo 1TB with synthetic multi-hot, tables capped at 40M rows.
  DlrmConfig c;
  c.name = "dlrm-dcnv2";
  c.dense_features = 13;
  c.bottom_mlp = {512, 256, 128};
  c.top_mlp = {1024, 1024, 512, 256, 1};
  const std::int64_t rows[] = {40000000, 39060,  17295,    7424,    20265,  3,        7122,
                               1543,     63,     40000000, 3067956, 405282, 10,       2209,
                               11938,    155,    4,        976,     14,     40000000, 40000000,
                               40000000, 590152, 12973,    108,     36};
  const int pooling[] = {3, 2, 1, 2, 6, 1, 1,  1,   1,  7,  3, 8, 1,
                         6, 9, 5, 1, 1, 1, 12, 100, 27, 10, 3, 1, 1};
  for (std::size_t t = 0; t < 26; ++t)
    c.tables.push_back({rows[t], 128, static_cast<double>(pooling[t])});
  c.cross_layers = 3;
  c.cross_rank = 512;
  c.embedding_optimizer = EmbeddingOptimizer::rowwise_adagrad;
  return c;
}

std::optional<VitConfig> vit_preset(std::string_view name) {
  // Dosovitskiy et al. 2021, table 1.
  if (name == "vit-b/16")
    return VitConfig{"vit-b/16", 12, 768, 12, 3072, 16, 224, 1000};
  if (name == "vit-l/16")
    return VitConfig{"vit-l/16", 24, 1024, 16, 4096, 16, 224, 1000};
  if (name == "vit-h/14")
    return VitConfig{"vit-h/14", 32, 1280, 16, 5120, 14, 224, 1000};
  return std::nullopt;
}

const std::vector<std::string>& graph_preset_names() {
  static const std::vector<std::string> names = {"resnet-50", "vit-b/16", "vit-l/16", "vit-h/14",
                                                 "dlrm-dcnv2"};
  return names;
}

std::optional<LayerGraph> graph_preset(std::string_view name) {
  if (name == "resnet-50")
    return resnet_graph(50);
  if (auto vit = vit_preset(name))
    return vit_graph(*vit);
  if (name == "dlrm-dcnv2")
    return dlrm_graph(dlrm_dcnv2_config());
  return std::nullopt;
}

std::optional<LayerGraph> model_preset_graph(std::string_view name) {
  if (auto graph = graph_preset(name))
    return graph;
  if (auto model = transformer_preset(name))
    return decoder_graph(*model);
  return std::nullopt;
}

namespace {

// The split of `layers` layers over `stages` stages whose largest stage is least, where
// stage_cost(s, j, i) is the time of layers [j, i) on stage s. best[s][i]: the least largest
// stage of the first i layers on s + 1 stages; cut[s][i] where the last of them starts. Ties keep
// the earliest cut, so one input gives one split.
template <typename StageCost>
std::vector<std::int64_t> least_largest_stage_split(std::size_t layers, std::size_t stages,
                                                    const StageCost& stage_cost) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<std::vector<double>> best(stages, std::vector<double>(layers + 1, inf));
  std::vector<std::vector<std::size_t>> cut(stages, std::vector<std::size_t>(layers + 1, 0));
  for (std::size_t i = 1; i <= layers; ++i)
    best[0][i] = stage_cost(0, 0, i);
  for (std::size_t s = 1; s < stages; ++s) {
    for (std::size_t i = s + 1; i <= layers; ++i) {
      for (std::size_t j = s; j < i; ++j) {
        const double largest = std::max(best[s - 1][j], stage_cost(s, j, i));
        if (largest < best[s][i]) {
          best[s][i] = largest;
          cut[s][i] = j;
        }
      }
    }
  }
  std::vector<std::int64_t> split(stages);
  std::size_t end = layers;
  for (std::size_t s = stages; s-- > 1;) {
    const std::size_t start = cut[s][end];
    split[s] = static_cast<std::int64_t>(end - start);
    end = start;
  }
  split[0] = static_cast<std::int64_t>(end);
  return split;
}

std::vector<double> prefix_sums(const std::vector<double>& costs) {
  std::vector<double> prefix(costs.size() + 1, 0.0);
  for (std::size_t i = 0; i < costs.size(); ++i)
    prefix[i + 1] = prefix[i] + costs[i];
  return prefix;
}

}  // namespace

std::vector<std::int64_t> balance_layers(const std::vector<double>& costs, int stages) {
  const std::size_t n = costs.size();
  if (stages < 1 || n < static_cast<std::size_t>(stages))
    throw std::invalid_argument("balance_layers: every stage needs at least one layer");
  const std::vector<double> prefix = prefix_sums(costs);
  return least_largest_stage_split(
      n, static_cast<std::size_t>(stages),
      [&](std::size_t, std::size_t j, std::size_t i) { return prefix[i] - prefix[j]; });
}

std::vector<std::int64_t> balance_layers_by_stage(
    const std::vector<std::vector<std::vector<double>>>& costs) {
  const std::size_t s_count = costs.size();
  if (s_count == 0 || costs.front().empty())
    throw std::invalid_argument("balance_layers_by_stage: every stage needs a device's costs");
  const std::size_t n = costs.front().front().size();
  if (n < s_count)
    throw std::invalid_argument("balance_layers_by_stage: every stage needs at least one layer");
  // prefix[s][d][i]: the first i layers on device d of stage s.
  std::vector<std::vector<std::vector<double>>> prefix(s_count);
  for (std::size_t s = 0; s < s_count; ++s) {
    if (costs[s].empty())
      throw std::invalid_argument("balance_layers_by_stage: every stage needs a device's costs");
    for (const std::vector<double>& device : costs[s]) {
      if (device.size() != n)
        throw std::invalid_argument("balance_layers_by_stage: one cost per layer on every device");
      prefix[s].push_back(prefix_sums(device));
    }
  }
  // The time of layers [j, i) on stage s: its slowest device's.
  return least_largest_stage_split(n, s_count, [&](std::size_t s, std::size_t j, std::size_t i) {
    double most = 0;
    for (const std::vector<double>& p : prefix[s])
      most = std::max(most, p[i] - p[j]);
    return most;
  });
}

}  // namespace scaleplan
