// Builds the plan of one training step of any model, given as a layer graph, with one builder:
// a decoder's transformer layers under tensor (Megatron style, with optional sequence
// parallelism), context and expert parallelism, any graph under pipeline (GPipe, 1F1B; a decoder
// also interleaved 1F1B and zero bubble ZB-H1) and data parallelism (gradient all-reduce in
// buckets, overlapped with the last backward pass).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "models/layer_graph.hpp"
#include "models/transformer.hpp"
#include "sim/plan/plan.hpp"
#include "sim/strategy/framework.hpp"
#include "sim/strategy/strategy.hpp"

namespace scaleplan {

struct TrainingJob {
  // The decoder-only transformer the job trains: its configuration, which the transformer's
  // kernels and the strategy rules read. Where `graph` is a decoder graph (is_decoder_graph),
  // decoder_config of it; where it is another graph, placeholders that keep the transformer's
  // rules quiet: layers is the graph's layer count, seq_len 1 (a sample counts as a token), the
  // other dimensions 1 (graph_job_model).
  TransformerConfig model;
  // The model as a layer graph (models/layer_graph.hpp), as every scenario gives it: a language
  // model (a preset or one by its dimensions) as decoder_graph of `model`, ResNet, ViT, DLRM or a
  // user's list. Shared, never changed after set_graph: copies of a job (the planner's
  // candidates) share it. Jobs made in code may leave it out; they train `model`.
  std::shared_ptr<const LayerGraph> graph;
  TrainingSpec training;
  ParallelismSpec parallelism;
  FrameworkSpec framework;
  // The vocabulary as written, where pad_vocabulary padded model.vocab to a multiple that tp
  // divides; none: model.vocab is as written.
  std::optional<std::int64_t> unpadded_vocab;
};

// The multiple the vocabulary is padded to when tp does not divide it, as the job's framework
// pads it: Megatron-LM (and NeMo, DeepSpeed-Megatron, and no framework named) rounds up to a
// multiple of make_vocab_size_divisible_by × tp, 128 × tp by default
// (megatron/training/tokenizer/tokenizer.py, _vocab_size_with_padding; the --make-vocab-size-
// divisible-by argument, default 128, in megatron/training/arguments.py); JAX under GSPMD pads an
// unevenly sharded dimension to a multiple of its shard count (Xu et al. 2021, "GSPMD", arXiv:
// 2105.04663, the handling of uneven partitions by padding), so tp.
std::int64_t vocab_padding_multiple(const TrainingJob& job);

// Where tp does not divide the written vocabulary (unpadded_vocab, else model.vocab), sets
// model.vocab to it rounded up to vocab_padding_multiple and records the written size in
// unpadded_vocab; where tp divides it, restores the written size (no padding: scenarios whose
// vocabulary tp divides keep their prediction). Idempotent; a job whose graph has no token
// embedding is left alone (nothing else reads the vocabulary).
void pad_vocabulary(TrainingJob& job);

// Rank layout (Megatron-LM's default order, tensor parallel fastest):
// rank = tp_rank + tp · (cp_rank + cp · (dp_rank + dp · pp_rank)); rank r runs on device r.
struct RankCoordinates {
  int tp = 0;
  int cp = 0;
  int dp = 0;
  int pp = 0;
};
RankCoordinates coordinates_of(int rank, const ParallelismSpec& p);
int rank_of(const RankCoordinates& c, const ParallelismSpec& p);

int microbatches_per_replica(const TrainingJob& job);

// The placeholder transformer of a graph job (TrainingJob::model), and a job for `graph`: a
// decoder graph sets `model` to its decoder_config (std::invalid_argument with the problem when
// its layers disagree), any other graph to the placeholders.
TransformerConfig graph_job_model(const LayerGraph& graph);
void set_graph(TrainingJob& job, LayerGraph graph);

// Whether the graph's layers run partitioned: a decoder graph's token embedding, transformer
// layers and output head run as the transformer's blocks (shared by its identical layers), split
// over tp, cp and ep with their collectives, with sequence parallelism, recompute, ZeRO and zero
// bubble's split backward; its pipeline stages count transformer layers (stage_layers), the
// embedding riding with the first and the output head with the last. Every layer of any other
// graph runs whole, over dp and pp: its own forward and backward block (graph_layer_work), its
// stages counting graph layers. A ViT's transformer layers run whole too: split, they would make
// other ops than the one per layer and pass that its plans have had.
bool runs_partitioned(const LayerGraph& graph);
// A job's graph's; a job without a graph trains `model`, a decoder, partitioned.
bool runs_partitioned(const TrainingJob& job);

// Layers of each model chunk: parallelism.stage_layers when set, else chunk_layers.
std::vector<std::int64_t> layers_of_chunks(const TrainingJob& job);

// Layers of each model chunk (pipeline stages times virtual stages, in model order). When they
// do not divide evenly, every chunk gets the rounded-up share and the chunks holding the
// embedding and the output head give one back each, first and last, then the next ones inward:
// Llama 3 405B's 126 layers on 16 stages run 7 on the first and last stages and 8 elsewhere
// (Llama 3 herd paper, arXiv:2407.21783, section 3.3.2). With one or two chunks more than
// layers the first (and last) chunk holds the embedding (the output head and loss) alone, as
// Megatron-Core's --account-for-embedding-in-pipeline-split and --account-for-loss-in-pipeline-
// split count each as a layer, and as Llama 3 405B ran 126 layers in 16 x 8 chunks ("the first
// model chunk on the first stage has only the embedding", same section). Every other chunk
// needs a layer.
std::vector<std::int64_t> chunk_layers(std::int64_t layers, int chunks);

// Which ranks a plan lists: every rank, or one data-parallel replica standing for all of them
// (Replicas in sim/plan.hpp; the data-parallel replicas of this builder's plans are identical).
// With expert parallelism a replica is a block of ep data-parallel ranks, which exchange tokens
// with each other: the listed ranks are those of data-parallel index below ep.
enum class RankScope { all_ranks, one_replica };

// Throws std::invalid_argument naming every rule of check_strategy(job) the job breaks.
Plan build_plan(const TrainingJob& job, RankScope scope = RankScope::all_ranks);

// Bytes of one data-parallel gradient bucket: the scenario's, or Megatron-LM's default of
// max(40M, 1M·dp) parameters, in the dtype gradients are reduced in.
double gradient_bucket_bytes(const TrainingJob& job);

// Bytes per parameter of the job's data-parallel gradient reduction (framework.grad_reduce_dtype).
double gradient_reduction_bytes(const TrainingJob& job);

// Static memory of a pipeline stage's rank: weights, gradients, optimizer state.
StaticMemory static_memory_of_stage(const TrainingJob& job, int stage);

}  // namespace scaleplan
