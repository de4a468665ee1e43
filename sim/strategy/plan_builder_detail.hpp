// Pieces shared by the plan builder's files (plan_builder.cpp, plan_builder_layout.cpp,
// plan_builder_memory.cpp, plan_builder_blocks.cpp, plan_builder_moe.cpp, plan_builder_comm.cpp);
// not part of the library's interface.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/plan_quantities.hpp"

namespace scaleplan {

// The plan of a job whose data-parallel replicas run different micro-batches
// (TrainingSpec::replica_micro_batch), every rank listed (plan_builder_replica_batch.cpp).
Plan build_replica_batch_plan(const TrainingJob& job);

}  // namespace scaleplan

namespace scaleplan::plan_detail {

// Pipeline stages times virtual stages.
int model_chunks(const ParallelismSpec& p);

// Whether a plan with these replicas lists the rank's program (RankScope).
bool listed(int rank, const ParallelismSpec& p, const Replicas& replicas);

// The groups a rank belongs to, by what they span; 0 where it belongs to none of a kind.
struct GroupsOfRank {
  std::uint32_t tp = 0;
  std::uint32_t dp = 0;  // data and context parallel ranks: those holding the same weights
  std::uint32_t cp = 0;
  std::uint32_t ep = 0;
  std::uint32_t edp = 0;        // expert data parallel: the ranks holding the same experts
  std::uint32_t embedding = 0;  // first and last stage, with tied embeddings
  std::uint32_t dp_shard = 0;   // sharding 2d across slices: the ranks a shard is split over
  std::uint32_t dp_cross = 0;   // and the ranks holding the same shard in the other slices
};

// Adds the groups of the ranks the plan lists (plan.replicas must be set); indexed by rank.
std::vector<GroupsOfRank> make_groups(Plan& plan, const TrainingJob& job);

// The program of `rank`: the ops of plan.ranks[built_index], the program of a rank of the same
// stage, shared (RankProgram::shares) on rank's own groups and pipeline peers.
RankProgram share_program(const Plan& plan, const std::vector<GroupsOfRank>& groups,
                          std::size_t built_index, int rank);

// Adds the program of every rank the plan lists (plan.replicas and groups set): the first rank
// of each pipeline stage gets its static memory and the ops `build_stage` adds to it, the others
// share that program (share_program).
void add_rank_programs(Plan& plan, const TrainingJob& job, const std::vector<GroupsOfRank>& groups,
                       const std::function<void(RankProgram&)>& build_stage);

struct MoeBlocks {
  std::uint32_t router_forward, router_backward, experts_forward, experts_backward;
  std::uint32_t shared_forward, shared_backward, combine_forward, combine_backward;
  // Zero-bubble schedules only: the backward of the blocks with weights in its input- and
  // weight-gradient parts (the combine has no weights: its backward is all input gradient).
  std::uint32_t router_input_gradient = 0, router_weight_gradient = 0;
  std::uint32_t experts_input_gradient = 0, experts_weight_gradient = 0;
  std::uint32_t shared_input_gradient = 0, shared_weight_gradient = 0;
  // Only where recompute_modules has moe_act.
  std::uint32_t experts_recompute = 0;
  std::uint32_t router_recompute = 0;  // the pre-MLP norm (recompute_modules layernorm)
  MoeWork work;
};

// Indices into Plan::blocks of every compute block the job runs, with the work they stand for.
struct Blocks {
  std::uint32_t attention_forward, attention_backward, attention_core_recompute;
  // Only where recompute_modules has mlp or layernorm (else no such block is in the plan).
  std::uint32_t mlp_recompute = 0;
  std::uint32_t mlp_forward, mlp_backward;
  std::uint32_t embedding_forward, embedding_backward;
  std::uint32_t output_forward, output_backward;
  // Zero-bubble schedules only: the layer's backward in its input- and weight-gradient parts.
  std::uint32_t attention_input_gradient = 0, attention_weight_gradient = 0;
  std::uint32_t mlp_input_gradient = 0, mlp_weight_gradient = 0;
  LayerWork layer;
  Block embedding;
  Block output;
  std::optional<MoeBlocks> moe;
};

// The transformer's blocks (not the optimizer step's), shared by a decoder graph's layers.
Blocks make_blocks(Plan& plan, const TrainingJob& job);
MoeBlocks make_moe_blocks(Plan& plan, const TrainingJob& job, const LayerPartition& partition);

// Appends ops to one rank's program. Compute and tensor-parallel communication form one chain,
// as they do on a GPU where the TP collective sits on the critical path.
class RankBuilder {
 public:
  RankBuilder(Plan& plan, RankProgram& program) : plan_(plan), program_(program) {}

  std::uint32_t compute(std::uint32_t block, const std::string& label, int microbatch,
                        double activation_bytes, std::optional<std::uint32_t> also_after = {});
  std::uint32_t collective(std::uint32_t group, CollectiveKind kind, double bytes, Stream stream,
                           const std::string& label, int microbatch, bool on_chain,
                           std::vector<std::uint32_t> deps = {});
  // A receive the chain waits for.
  void recv(int peer, double bytes, Stream stream, const std::string& label, int microbatch);
  // A send of what the chain has produced so far; the chain does not wait for it.
  void send(int peer, double bytes, Stream stream, const std::string& label, int microbatch);

  // A send or receive (`kind`) on the chain: it starts after what the chain has issued, as
  // PyTorch's NCCL stream waits for the compute stream, and the chain waits for it to complete.
  void blocking_message(OpKind kind, int peer, double bytes, Stream stream,
                        const std::string& label, int microbatch);

  std::optional<std::uint32_t> chain() const { return chain_; }

  // Makes the next chained op wait for `op` as well.
  void wait_for(std::uint32_t op) { pending_.push_back(op); }

  // Communication that runs beside the chain (overlapping the compute issued next) and that the
  // chained op after that waits for.
  void beside_chain(std::uint32_t group, CollectiveKind kind, double bytes, Stream stream,
                    const std::string& label, int microbatch);

 private:
  static Op collective_op(std::uint32_t group, CollectiveKind kind, double bytes, Stream stream);
  static Op message_op(OpKind kind, int peer, double bytes, Stream stream);  // send or recv
  // Appends the op as the chain's next, waiting for the chain and what is pending.
  std::uint32_t chained(Op op, const std::string& label, int microbatch);
  // Appends the op after the chain, which does not wait for it.
  std::uint32_t after_chain(Op op, const std::string& label, int microbatch);
  std::uint32_t append(Op op, const std::string& label, int microbatch);

  Plan& plan_;
  RankProgram& program_;
  std::optional<std::uint32_t> chain_;
  std::vector<std::uint32_t> pending_;             // ops the next chained op must also wait for
  std::vector<std::uint32_t> pending_after_next_;  // ... and the one after it
};

// A layer that runs whole (runs_partitioned, plan_builder.hpp): its work for one micro-batch and
// its own forward and backward blocks.
struct WholeLayer {
  GraphLayerWork work;
  std::uint32_t forward_block = 0;
  std::uint32_t backward_block = 0;
};

// What build_plan makes once for the programs of every stage. Layers are the graph's, by index.
struct PlanParts {
  const LayerGraph* graph = nullptr;
  std::optional<Blocks> blocks;                  // where the graph runs partitioned
  std::vector<std::optional<WholeLayer>> whole;  // by layer, where it runs whole
  std::vector<std::uint32_t> optimizer_block;    // by stage
  std::vector<std::uint32_t> hp_grad_block;      // by stage, with bf16_optimizer_on
  std::vector<GroupsOfRank> groups;
  std::vector<std::int64_t> layers_of_chunk;  // graph layers of each model chunk, in model order
  std::vector<std::int64_t> first_layer_of_chunk;
  std::vector<ParameterSplit> layer_params;  // what a rank holds of each layer
  // A transformer layer's index among the graph's transformer layers (its label "L<index>").
  std::vector<std::int64_t> transformer_index;
  // Whether an embedding table's all-to-all joins the data-parallel replicas.
  bool all_to_all = false;
};

// Builds the program of one rank (program.rank, whose static memory and identity are set): its
// stage's pipeline schedule, then the gradient reductions and the optimizer step.
class StageBuilder {
 public:
  StageBuilder(Plan& plan, RankProgram& program, const TrainingJob& job, const PlanParts& parts);

  void build();

 private:
  // "L3 mlp forward"; the multi-token prediction modules' layers are "MTP1", "MTP2", ...
  std::string layer_label(std::int64_t layer, const std::string& what) const;
  // What every step of this rank's stage uses, worked out once.
  struct StageShape {
    int stage = 0;
    int next = 0;  // the rank of the next and the previous stage (pipeline peers)
    int prev = 0;
    int chunks = 1;  // model chunks per stage (virtual stages)
    int microbatches = 1;
    // Activation bytes a partitioned transformer layer's attention and MLP keep for backward, a
    // whole backward frees, and a split input gradient leaves for the weight gradient.
    LayerActivations activations;
  };
  // Where one step of the pipeline order falls in the model.
  struct StepPlace {
    int microbatch = 0;
    bool first_chunk = false;      // holds the first layer
    bool last_chunk = false;       // holds the last layer
    std::int64_t first_layer = 0;  // graph layers
    std::int64_t layers = 0;
    bool last_microbatch = false;
  };

  StageShape stage_shape() const;
  void forward_step(const StageShape& k, const StepPlace& at);
  void weight_gradient_step(const StageShape& k, const StepPlace& at);
  void accumulate_hp_gradients(const StageShape& k, int mb);
  void backward_step(const StageShape& k, const StepPlace& at, bool split);
  // One layer's ops in a pass, by its kind and how it runs (runs_partitioned).
  void layer_forward(const StageShape& k, std::int64_t i, int mb);
  void layer_backward(const StageShape& k, const StepPlace& at, std::int64_t i, bool split);
  void layer_weight_gradient(const StageShape& k, const StepPlace& at, std::int64_t i);
  void transformer_forward(const StageShape& k, std::int64_t i, int mb);
  void transformer_backward(const StageShape& k, const StepPlace& at, std::int64_t i, bool split);
  void transformer_weight_gradient(const StageShape& k, const StepPlace& at, std::int64_t i);
  // The embedding's backward: its weight gradient alone.
  void embedding_backward(const StepPlace& at, std::size_t index);
  void whole_forward(std::int64_t i, int mb);
  void whole_backward(const StepPlace& at, std::int64_t i);
  // Bytes of the activations a pipeline stage boundary after layer i carries.
  double boundary_bytes_after(std::int64_t i) const;
  void optimizer_step(const StageShape& k);
  // The distributed optimizer's weight all-gathers, issued at the start of the step in buckets
  // when they overlap the forward (framework.overlap_param_gather); each layer's first forward
  // waits for the buckets holding its weights (wait_for_weights).
  void gather_stepped_weights_ahead(const StageShape& k);
  void wait_for_weights(std::size_t group);
  // A pipeline message that arrived in tp pieces, all-gathered (Megatron's scatter-gather).
  void gather_pipeline_message(const std::string& label, int mb);
  // A pipeline message to or from a neighbour stage.
  struct BoundaryMessage {
    int peer = 0;
    Stream stream = Stream::pp_send_next;
    std::string label;
    int microbatch = 0;
    double bytes = 0;
  };
  // Beside the compute, or with blocking p2p (pipeline_blocking_p2p_on) on the chain, a receive
  // at once and a send in the step after the one that produced it (issue_deferred_send), as
  // DeepSpeed's TrainSchedule orders them.
  void receive_boundary(const BoundaryMessage& message);
  void send_boundary(BoundaryMessage message);
  void issue_deferred_send();

  // Tensor-parallel communication around a block: all-reduce of the output, or with sequence
  // parallelism an all-gather of the input and a reduce-scatter of the output.
  void tp_before(double bytes, const std::string& label, int mb);
  void tp_after(double bytes, const std::string& label, int mb);
  void regather_input(const std::string& label, int mb);
  void ring_attention(bool forward, std::int64_t l, int mb);
  void reduce_bucket(double& fill, double params, std::optional<std::uint32_t> after, bool flush,
                     int replicas, std::uint32_t group, const std::string& what);
  void reduce_gradients(double params, std::optional<std::uint32_t> after, bool flush,
                        double expert_params = 0);
  // Which pass a layer's weights are gathered for: ZeRO-3 gathers them for both, FSDP's
  // SHARD_GRAD_OP for the forward only.
  enum class WeightUse { forward, backward };
  std::optional<std::uint32_t> gather_weights(double params, const std::string& label, int mb,
                                              WeightUse use);
  void scatter_gradients(double params, std::uint32_t after, const std::string& label, int mb);
  // The group ZeRO-3 gathers and scatters over: the data axis of a slice with sharding 2d across
  // slices (dp_shard), else every data- and context-parallel rank (dp).
  std::uint32_t zero_group() const;
  bool across_slices() const;
  void reduce_across_slices(double params, const std::string& label);
  void gradients_ready(const ParameterSplit& params, std::uint32_t op, const std::string& label,
                       int mb, bool last_microbatch);

  void ep_all_to_all(const std::string& label, int mb);
  void expert_tp(CollectiveKind kind, const std::string& label, int mb);
  void moe_forward(std::int64_t l, int mb, bool recompute);
  // The whole backward, or (split, zero bubble) its input gradient.
  void moe_backward(std::int64_t l, int mb, bool split);
  void moe_weight_gradient(std::int64_t l, int mb);

  Plan& plan_;
  RankProgram& program_;
  const TrainingJob& job_;
  const PlanParts& parts_;
  const GroupsOfRank groups_;
  RankBuilder b_;
  const BytesPerParameter per_;
  const ReplicaCounts replicas_;
  const bool sharded_weights_;  // ZeRO-3 over more than one rank
  // ZeRO-2 as FSDP's SHARD_GRAD_OP: weights gathered before each layer's forward only.
  const bool gathered_for_forward_;
  const bool tp_on_;
  const bool blocking_p2p_;
  std::optional<BoundaryMessage> deferred_send_;  // blocking p2p: the send the next step issues
  // Hidden states of a micro-batch's tokens on this rank's context-parallel shard.
  const double tp_bytes_;
  const double grad_bucket_bytes_;
  const double grad_bytes_;  // per parameter, as the gradients are reduced
  // Weight all-gathers issued ahead (gather_stepped_weights_ahead) by parameter group of the
  // stage in forward order: the embedding (index 0), the layers (1 + layer), the output head
  // (1 + layers); each is waited for once, then cleared.
  std::vector<std::vector<std::uint32_t>> weight_gathers_ahead_;

  std::vector<std::uint32_t> grad_reductions_;
  // Gradients fill buckets, one for dense weights reduced over the data-parallel group and one
  // for routed experts reduced over the expert data-parallel group.
  double bucket_fill_ = 0;
  double expert_bucket_fill_ = 0;
  std::vector<ParameterSplit> deferred_gradient_params_;
  std::vector<std::uint32_t> recent_layer_computes_;
  // Megatron-Core's combined 1F1B (moe_a2a_overlap_on): while a step of a paired forward and
  // backward is built, its expert-parallel all-to-alls run beside the chain, and the chain after
  // the pair waits for them (overlapped_all_to_alls_).
  bool in_combined_pair_ = false;
  std::vector<std::uint32_t> overlapped_all_to_alls_;
};

}  // namespace scaleplan::plan_detail
