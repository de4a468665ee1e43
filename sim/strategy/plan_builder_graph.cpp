// The plan of a layer-graph job: each pipeline stage runs its run of layers forward and
// backward per micro-batch in the schedule's order, embedding tables exchange their pooled
// vectors (and, backward, their gradients) by all-to-all over the data-parallel group, and the
// dense gradients are all-reduced in buckets as backward produces them (PyTorch DDP's and
// Horovod's tensor fusion: a bucket goes once it holds its threshold of bytes, overlapping the
// rest of backward).
#include <algorithm>
#include <string>
#include <utility>

#include "sim/strategy/plan_builder_detail.hpp"
#include "sim/strategy/schedule.hpp"

namespace scaleplan {

using namespace plan_detail;

double graph_stage_dense_parameters(const TrainingJob& job, int stage) {
  const std::vector<std::int64_t> layers = layers_of_chunks(job);
  std::int64_t first = 0;
  for (int s = 0; s < stage; ++s)
    first += layers[static_cast<std::size_t>(s)];
  double params = 0;
  for (std::int64_t l = first; l < first + layers[static_cast<std::size_t>(stage)]; ++l)
    params += graph_dense_parameters(job.graph->layers[static_cast<std::size_t>(l)]);
  return params;
}

namespace {

struct GraphParts {
  std::vector<GraphLayerWork> work;  // by layer, for one micro-batch
  std::vector<std::uint32_t> forward_block, backward_block;
  std::vector<std::uint32_t> optimizer_block;     // by stage
  std::vector<std::int64_t> first_layer, layers;  // by stage
  std::vector<GroupsOfRank> groups;
};

class GraphStageBuilder {
 public:
  GraphStageBuilder(Plan& plan, RankProgram& program, const TrainingJob& job,
                    const GraphParts& parts)
      : plan_(plan),
        program_(program),
        job_(job),
        parts_(parts),
        groups_(parts.groups[program.rank]),
        b_(plan, program),
        c_(coordinates_of(program.rank, job.parallelism)),
        grad_bucket_bytes_(gradient_bucket_bytes(job)),
        grad_bytes_(gradient_reduction_bytes(job)) {}

  void build() {
    const auto& p = job_.parallelism;
    const int microbatches = microbatches_per_replica(job_);
    for (const PipelineStep& step : pipeline_order(p.schedule, c_.pp, p.pp, microbatches, 1)) {
      if (step.pass == PipelinePass::forward)
        forward(step.microbatch);
      else
        backward(step.microbatch, step.microbatch == microbatches - 1);
    }
    reduce(0, b_.chain(), true);
    optimizer_step();
  }

 private:
  std::int64_t first() const { return parts_.first_layer[static_cast<std::size_t>(c_.pp)]; }
  std::int64_t end() const { return first() + parts_.layers[static_cast<std::size_t>(c_.pp)]; }
  const GraphLayerWork& work(std::int64_t l) const {
    return parts_.work[static_cast<std::size_t>(l)];
  }
  const std::string& name(std::int64_t l) const {
    return job_.graph->layers[static_cast<std::size_t>(l)].name;
  }
  int peer(int stage) const { return rank_of({0, 0, c_.dp, stage}, job_.parallelism); }
  // Bytes crossing the boundary before this stage's first layer and after its last.
  double bytes_in() const { return work(first() - 1).output_bytes; }
  double bytes_out() const { return work(end() - 1).output_bytes; }

  void forward(int mb) {
    const auto& p = job_.parallelism;
    if (c_.pp > 0)
      b_.recv(peer(c_.pp - 1), bytes_in(), Stream::pp_recv_prev, "recv activations", mb);
    for (std::int64_t l = first(); l < end(); ++l) {
      const auto i = static_cast<std::size_t>(l);
      b_.compute(parts_.forward_block[i], name(l) + " forward", mb, work(l).activation_bytes);
      if (work(l).all_to_all_bytes > 0) {
        b_.collective(groups_.dp, CollectiveKind::all_to_all, work(l).all_to_all_bytes,
                      Stream::ep_comm, name(l) + " all-to-all", mb, true);
      }
    }
    if (c_.pp < p.pp - 1)
      b_.send(peer(c_.pp + 1), bytes_out(), Stream::pp_send_next, "send activations", mb);
  }

  void backward(int mb, bool last_microbatch) {
    const auto& p = job_.parallelism;
    if (c_.pp < p.pp - 1)
      b_.recv(peer(c_.pp + 1), bytes_out(), Stream::pp_recv_next, "recv gradients", mb);
    for (std::int64_t l = end() - 1; l >= first(); --l) {
      const auto i = static_cast<std::size_t>(l);
      if (work(l).all_to_all_bytes > 0) {
        b_.collective(groups_.dp, CollectiveKind::all_to_all, work(l).all_to_all_bytes,
                      Stream::ep_comm, name(l) + " all-to-all backward", mb, true);
      }
      const auto op = b_.compute(parts_.backward_block[i], name(l) + " backward", mb,
                                 -work(l).activation_bytes);
      // Gradients accumulate over micro-batches; the last one's backward reduces them.
      if (last_microbatch && p.overlap_grad_reduce)
        reduce(work(l).dense_parameters, op, false);
      else if (last_microbatch)
        deferred_params_ += work(l).dense_parameters;
    }
    if (c_.pp > 0)
      b_.send(peer(c_.pp - 1), bytes_in(), Stream::pp_send_prev, "send gradients", mb);
    if (last_microbatch && !p.overlap_grad_reduce) {
      reduce(std::exchange(deferred_params_, 0.0), b_.chain(), true);
    }
  }

  void reduce(double params, std::optional<std::uint32_t> after, bool flush) {
    if (job_.parallelism.dp == 1)
      return;
    fill_ += params * grad_bytes_;
    if (fill_ >= grad_bucket_bytes_ || (flush && fill_ > 0)) {
      std::vector<std::uint32_t> deps;
      if (after)
        deps.push_back(*after);
      reductions_.push_back(b_.collective(groups_.dp, CollectiveKind::all_reduce, fill_,
                                          Stream::dp_comm, "dp gradient all-reduce", -1, false,
                                          deps));
      fill_ = 0;
    }
  }

  void optimizer_step() {
    Op op;
    op.kind = OpKind::compute;
    op.stream = Stream::compute;
    op.block = parts_.optimizer_block[static_cast<std::size_t>(c_.pp)];
    op.label = plan_.label("optimizer step");
    op.deps.assign(reductions_.begin(), reductions_.end());
    if (b_.chain())
      op.deps.push_back(*b_.chain());
    std::sort(op.deps.begin(), op.deps.end());
    op.deps.erase(std::unique(op.deps.begin(), op.deps.end()), op.deps.end());
    program_.ops.push_back(std::move(op));
  }

  Plan& plan_;
  RankProgram& program_;
  const TrainingJob& job_;
  const GraphParts& parts_;
  const GroupsOfRank groups_;
  RankBuilder b_;
  const RankCoordinates c_;
  const double grad_bucket_bytes_;
  const double grad_bytes_;
  double fill_ = 0;
  double deferred_params_ = 0;
  std::vector<std::uint32_t> reductions_;
};

}  // namespace

Plan build_graph_plan(const TrainingJob& job, RankScope scope) {
  const auto& p = job.parallelism;
  const LayerGraph& graph = *job.graph;
  GraphParts parts;
  parts.layers = layers_of_chunks(job);
  std::int64_t first = 0;
  for (std::int64_t n : parts.layers) {
    parts.first_layer.push_back(first);
    first += n;
  }
  Plan plan;
  bool all_to_all = false;
  for (const GraphLayer& layer : graph.layers) {
    GraphLayerWork w = graph_layer_work(layer, job.training.micro_batch, p.dp, job.training.dtype);
    all_to_all = all_to_all || w.all_to_all_bytes > 0;
    parts.forward_block.push_back(plan.add_block({layer.name + " forward", w.forward}));
    parts.backward_block.push_back(plan.add_block({layer.name + " backward", w.backward}));
    parts.work.push_back(std::move(w));
  }
  for (int stage = 0; stage < p.pp; ++stage) {
    parts.optimizer_block.push_back(
        plan.add_block({"optimizer step stage " + std::to_string(stage),
                        {optimizer_step_kernel(job, stage_parameters(job, stage))}}));
  }
  // Replicas are identical unless the tables' all-to-all joins them: then every rank is listed.
  if (scope == RankScope::one_replica && p.dp > 1 && !all_to_all)
    plan.replicas = {p.dp, p.tp * p.cp};
  parts.groups = make_groups(plan, job);
  add_rank_programs(plan, job, parts.groups, [&](RankProgram& program) {
    GraphStageBuilder(plan, program, job, parts).build();
  });
  return plan;
}

}  // namespace scaleplan
