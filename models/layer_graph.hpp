// A model as a chain of layers (a layer graph): what every family is made of (decoder-only
// language models, ResNet, ViT, DLRM, or a list a user writes). Each layer has a kind that says
// how it runs (a GEMM, a convolution run as an implicit GEMM, attention, a norm, an elementwise
// or pooling kernel, embedding tables, a whole transformer layer, a language model's token
// embedding and output head), and shapes per sample, from which its kernels, parameters and
// activations follow for any micro-batch and dtype. One plan builder runs every graph
// (sim/strategy/plan_builder.cpp): a decoder graph (a token embedding, transformer layers, an
// output head: decoder_graph, decoder_config) with the transformer's blocks and tensor, sequence,
// context and expert parallelism; any other graph's layers whole.
//
// Units: FLOPs count a multiply-add as two; elements and bytes are per sample (one image, one
// recommendation query) unless a function takes a batch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/device_spec.hpp"
#include "hardware/input/enum_names.hpp"
#include "models/kernel.hpp"
#include "models/transformer.hpp"

namespace scaleplan {

enum class LayerKind {
  gemm,
  conv,
  attention,
  norm,
  elementwise,
  pool,
  embedding,
  transformer,
  token_embedding,
  output
};

inline constexpr EnumNames<LayerKind, 10> layer_kind_names{{{
    {LayerKind::gemm, "gemm"},
    {LayerKind::conv, "conv"},
    {LayerKind::attention, "attention"},
    {LayerKind::norm, "norm"},
    {LayerKind::elementwise, "elementwise"},
    {LayerKind::pool, "pool"},
    {LayerKind::embedding, "embedding"},
    {LayerKind::transformer, "transformer"},
    {LayerKind::token_embedding, "token-embedding"},
    {LayerKind::output, "output"},
}}};

inline std::string_view to_string(LayerKind kind) {
  return layer_kind_names.name(kind);
}

// A 2D convolution over an input of in_channels × in_height × in_width. Run as an implicit GEMM
// (cuDNN's IMPLICIT_PRECOMP_GEMM, the im2col shape): M = out_height·out_width per sample,
// N = out_channels, K = in_channels·kernel²; no bias (batch norm follows).
struct ConvShape {
  std::int64_t in_channels = 0;
  std::int64_t out_channels = 0;
  std::int64_t kernel = 1;
  std::int64_t stride = 1;
  std::int64_t padding = 0;
  std::int64_t in_height = 0;
  std::int64_t in_width = 0;

  std::int64_t out_height() const { return (in_height + 2 * padding - kernel) / stride + 1; }
  std::int64_t out_width() const { return (in_width + 2 * padding - kernel) / stride + 1; }
  // The implicit GEMM for one sample.
  GemmShape gemm() const {
    return {out_height() * out_width(), out_channels, in_channels * kernel * kernel, 1};
  }
};

// One embedding table: `rows` vectors of `dim` elements, `pooling` of them looked up and summed
// per sample (multi-hot; 1 for one-hot).
struct EmbeddingTable {
  std::int64_t rows = 0;
  std::int64_t dim = 0;
  double pooling = 1;
};

// How the embedding tables' optimizer keeps state: TorchRec's and MLPerf DLRM-DCNv2's row-wise
// Adagrad (one fp32 accumulator per row), or Adam (two fp32 moments per element; NVIDIA's
// DeepLearningExamples DCNv2). Either runs fused into the tables' backward (FBGEMM's TBE).
enum class EmbeddingOptimizer { rowwise_adagrad, adam };
inline constexpr EnumNames<EmbeddingOptimizer, 2> embedding_optimizer_names{{{
    {EmbeddingOptimizer::rowwise_adagrad, "rowwise-adagrad"},
    {EmbeddingOptimizer::adam, "adam"},
}}};

struct GraphLayer {
  std::string name;
  LayerKind kind = LayerKind::elementwise;
  // gemm: rows per sample (m), output (n) and input (k) features; gemm and conv: a bias of n
  // when `bias`.
  GemmShape gemm;
  bool bias = true;
  ConvShape conv;  // conv
  // attention (fused, non-causal): tokens per sample, heads and head width.
  std::int64_t seq = 0;
  std::int64_t heads = 0;
  std::int64_t head_dim = 0;
  // norm, elementwise, pool: elements per sample the kernel writes; it reads `input_elements`
  // (as many as it writes when 0; two inputs for a residual add).
  double elements = 0;
  double input_elements = 0;  // 0: as many as it writes
  std::int64_t channels = 0;  // norm: parameters are 2·channels
  // Learned parameters beyond the shapes' (a ViT's class token and position embeddings).
  double parameters = 0;
  // Whether backward computes the gradient of the layer's input: not for the first layer with
  // weights, whose input is the data.
  bool input_gradient = true;
  // embedding: the tables, sharded over the data-parallel ranks (model parallel) and exchanged
  // by all-to-all; their optimizer.
  std::vector<EmbeddingTable> tables;
  EmbeddingOptimizer embedding_optimizer = EmbeddingOptimizer::rowwise_adagrad;
  // transformer: one layer of this configuration (seq_len: tokens per sample; `layers` 1; an
  // MoE layer has experts, a dense one none; moe.dense_layers 0). token_embedding (the
  // vocabulary's word embedding, and learned positions when learned_positions) and output (the
  // final norm, the projection to the vocabulary unless tied_embeddings, the vocabulary-parallel
  // cross-entropy): the language model's configuration, of which they read vocab, hidden,
  // seq_len, learned_positions, tied_embeddings and norm_parameters_per_hidden.
  std::optional<TransformerConfig> encoder;
};

struct LayerGraph {
  std::string name;
  std::string sample = "sample";  // what one sample is, for reports: "image", "query"
  std::vector<GraphLayer> layers;
};

// A layer's kernels, parameters and activations for one micro-batch as one data-parallel rank
// runs it.
struct GraphLayerWork {
  std::vector<Kernel> forward;
  std::vector<Kernel> backward;  // input and weight gradients (and the tables' fused update)
  // Parameters replicated on every data-parallel rank, whose gradients are all-reduced.
  double dense_parameters = 0;
  // Bytes kept from forward to backward; bytes of the layer's output (what a pipeline stage
  // boundary after it sends).
  double activation_bytes = 0;
  double output_bytes = 0;
  // Embedding layers: the all-to-all send buffer per rank each way (pooled vectors forward,
  // their gradients backward): this rank's samples × tables × dim.
  double all_to_all_bytes = 0;
};

// `batch`: samples in the micro-batch on this rank; `ranks`: the data-parallel ranks the
// embedding tables are sharded over (each looks up 1/ranks of the global micro-batch's
// lookups, evenly balanced as TorchRec's planner balances row- and column-wise shards).
GraphLayerWork graph_layer_work(const GraphLayer& layer, std::int64_t batch, int ranks,
                                Dtype dtype);

// Parameters of a layer: dense (replicated) and embedding (sharded) ones.
double graph_dense_parameters(const GraphLayer& layer);
double graph_embedding_parameters(const GraphLayer& layer);
double graph_total_parameters(const LayerGraph& graph);
// Forward FLOPs of one sample in the GEMM, convolution and attention kernels (the "model FLOPs"
// a training step counts three times).
double graph_forward_flops_per_sample(const LayerGraph& graph);
// Bytes per embedding parameter on its rank: the table (fp32) and its optimizer state.
double embedding_bytes_per_parameter(const GraphLayer& layer);

// ---- Families ----

// ResNet (He et al. 2016) v1.5 (the stride on the 3×3 convolution of a downsampling block, as
// torchvision and MLPerf run it): 18, 34, 50, 101 or 152 layers, on square images.
LayerGraph resnet_graph(int depth, std::int64_t image_size = 224, std::int64_t classes = 1000);

// Vision Transformer (Dosovitskiy et al. 2021): a patch embedding (a convolution of patch size
// and stride), a class token, `layers` pre-norm encoder layers (the transformer's, non-causal,
// with biases and LayerNorm), a final norm and a linear head.
struct VitConfig {
  std::string name;
  std::int64_t layers = 0;
  std::int64_t hidden = 0;
  std::int64_t heads = 0;
  std::int64_t ffn_hidden = 0;
  std::int64_t patch = 16;
  std::int64_t image_size = 224;
  std::int64_t classes = 1000;
};
LayerGraph vit_graph(const VitConfig& config);

// DLRM (Naumov et al. 2019) with the DCNv2 interaction (Wang et al. 2021) as MLPerf Training's
// DLRM-DCNv2 runs it: a bottom MLP over the dense features, embedding tables, low-rank cross
// layers over the concatenation, a top MLP.
struct DlrmConfig {
  std::string name;
  std::int64_t dense_features = 13;
  std::vector<std::int64_t> bottom_mlp;  // widths; the last is the embedding dim
  std::vector<std::int64_t> top_mlp;
  std::vector<EmbeddingTable> tables;
  std::int64_t cross_layers = 3;
  std::int64_t cross_rank = 512;
  EmbeddingOptimizer embedding_optimizer = EmbeddingOptimizer::rowwise_adagrad;
};
LayerGraph dlrm_graph(const DlrmConfig& config);

// A decoder-only language model as a layer graph: "embedding" (token_embedding), its layers
// "layer.0", ... (transformer, each with its own configuration: the first moe.dense_layers dense,
// the rest with experts), "output" (the final norm, the output projection, the cross-entropy).
// Every layer's configuration is `model`'s (`layers` 1, moe.dense_layers 0, experts only on MoE
// layers), so decoder_config gives `model` back.
LayerGraph decoder_graph(const TransformerConfig& model);

// Whether the graph has a layer of this kind.
bool has_layer_kind(const LayerGraph& graph, LayerKind kind);

// Whether the graph has a decoder's shape: a token_embedding first, an output last, and only
// transformer layers (at least one) between.
bool is_decoder_graph(const LayerGraph& graph);

// The transformer a decoder-shaped graph is: layers, vocabulary and positions, tied embeddings
// and the MoE layers' configuration gathered from its layers, named after the graph. Without a
// config, `problem` says why the graph is not one (the layers disagree on a dimension, a dense
// layer follows an MoE one, ...), and `layer` is the index of the layer it is about.
struct DecoderReading {
  std::optional<TransformerConfig> config;
  std::string problem;
  std::size_t layer = 0;
};
DecoderReading decoder_config(const LayerGraph& graph);

// Shipped graphs: "resnet-50", "vit-b/16", "vit-l/16", "vit-h/14", "dlrm-dcnv2".
const std::vector<std::string>& graph_preset_names();
std::optional<LayerGraph> graph_preset(std::string_view name);
// Every shipped model as a layer graph: graph_preset's, and the transformer presets
// (transformer_preset_names) as decoder_graph of theirs.
std::optional<LayerGraph> model_preset_graph(std::string_view name);
std::optional<VitConfig> vit_preset(std::string_view name);
DlrmConfig dlrm_dcnv2_config();  // MLPerf Training DLRM-DCNv2

// Splits `costs` (one per layer, in order) into `stages` contiguous runs of at least one layer
// each, minimising the largest run's sum (the pipeline's slowest stage). O(layers² · stages).
std::vector<std::int64_t> balance_layers(const std::vector<double>& costs, int stages);

// The same for stages that run at different speeds (devices of different kinds, slowed
// devices): `costs[s]` lists the layer costs on each device of stage s that may be its slowest,
// one vector per such device (each with one cost per layer), and a stage costs the most any of
// its devices takes for the layers it holds. Returns layers per stage (costs.size() of them)
// minimising the largest stage; ties keep the earliest cut. O(stages · layers² · devices).
std::vector<std::int64_t> balance_layers_by_stage(
    const std::vector<std::vector<std::vector<double>>>& costs);

}  // namespace scaleplan
