// The estimate, stage by stage: each stage's forward, backward (and, zero bubble, weight
// gradient) per micro-batch from the layer costs, the pipeline's length by its schedule, then
// each stage's gradient reductions after its last backward, its optimizer step and ZeRO's
// weight all-gather; the step ends when the last stage does. Memory per stage: static memory,
// activations in flight by schedule, NCCL's buffers and the allocator's headroom.
#include "sim/planner/plan_estimate.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>
#include <boost/container/small_vector.hpp>

#include "sim/planner/collective_prices.hpp"
#include "sim/planner/layer_costs.hpp"
#include "sim/strategy/plan_quantities.hpp"
#include "sim/strategy/schedule.hpp"
#include "sim/strategy/strategy_check.hpp"

namespace scaleplan {

namespace {

PassCost scaled(const PassCost& cost, double times) {
  return {cost.compute_s * times, cost.comm_s * times};
}

// One pipeline stage's work per micro-batch (over all its model chunks) and its memory.
struct Stage {
  std::int64_t dense_layers = 0;
  std::int64_t moe_layers = 0;
  PassCost forward;
  PassCost backward;         // whole, or zero bubble's input gradient
  PassCost weight_gradient;  // zero bubble only
  // Activations one micro-batch keeps per model chunk of the stage (in the stage's chunk order),
  // and under zero bubble what its input gradients leave for its weight gradients.
  boost::container::small_vector<double, 4> chunk_stored_bytes;
  double kept_bytes = 0;
  double transient_bytes = 0;
  ParameterSplit params;
  // When its last backward (zero bubble: weight gradient) ends, and when it is done.
  double backward_end_s = 0;
  double finish_s = 0;
  double tail_comm_s = 0;  // exposed after the last backward: reductions, ZeRO's gather
  double optimizer_s = 0;
  // A micro-batch's all-to-alls that a combined 1F1B pair runs beside its compute (0 without).
  double overlapped_all_to_all_s = 0;
};

// A gradient bucket's reduction: when it may start (relative to the end of the stage's last
// backward), its bytes and its group.
struct Bucket {
  double ready_s = 0;
  double bytes = 0;
  GroupKind group = GroupKind::dp;
};

// Where a stage holds the most activations, by the order its schedule runs (pipeline_order, as
// the plan builder lays it out): the micro-batches of each model chunk held when the backward
// that starts with the most held begins (its recompute then adds the transient); under zero
// bubble, the (forwards held, input gradients waiting for their weight gradient, whether a
// backward is starting) points that no other point exceeds in all three.
struct Holding {
  std::vector<int> chunk_microbatches;
  std::vector<std::array<int, 3>> split_points;
};

std::vector<Holding> holdings_of(PipelineSchedule schedule, int stages, int microbatches,
                                 int chunks) {
  std::vector<Holding> out(static_cast<std::size_t>(stages));
  for (int s = 0; s < stages; ++s) {
    Holding& h = out[static_cast<std::size_t>(s)];
    std::vector<int> held(static_cast<std::size_t>(chunks), 0);
    int most = -1;
    int forwards = 0;
    int waiting = 0;
    std::vector<std::array<int, 3>> points;
    for (const PipelineStep& step : pipeline_order(schedule, s, stages, microbatches, chunks)) {
      const auto c = static_cast<std::size_t>(step.chunk);
      switch (step.pass) {
        case PipelinePass::forward:
          ++held[c];
          ++forwards;
          break;
        case PipelinePass::backward:
        case PipelinePass::input_gradient: {
          const int total = std::accumulate(held.begin(), held.end(), 0);
          if (total > most) {
            most = total;
            h.chunk_microbatches = held;
          }
          points.push_back({forwards, waiting, 1});
          --held[c];
          --forwards;
          if (step.pass == PipelinePass::input_gradient)
            points.push_back({forwards, ++waiting, 0});
          break;
        }
        case PipelinePass::weight_gradient:
          --waiting;
          break;
      }
    }
    if (schedule != PipelineSchedule::zero_bubble_h1)
      continue;
    // A point another one dominates comes after it in descending lexicographic order: sweep in
    // that order, remembering the most waiting seen so far over all points and over those where
    // a backward starts (the third coordinate is 0 or 1).
    std::sort(points.begin(), points.end(), std::greater<>());
    points.erase(std::unique(points.begin(), points.end()), points.end());
    int most_waiting = -1;
    int most_waiting_starting = -1;
    for (const auto& p : points) {
      if ((p[2] == 1 ? most_waiting_starting : most_waiting) >= p[1])
        continue;
      h.split_points.push_back(p);
      most_waiting = std::max(most_waiting, p[1]);
      if (p[2] == 1)
        most_waiting_starting = std::max(most_waiting_starting, p[1]);
    }
  }
  return out;
}

}  // namespace

struct PlanEstimator::Impl {
  const ClusterSpec& cluster;
  const ClusterNetwork& network;
  const ComputeModel& compute;
  double headroom_fraction;
  CollectivePrices prices;
  // Layer costs by tp, pp, cp, dp, ep, sequence parallelism, micro-batch and whether the
  // tensor-parallel traffic overlaps the GEMMs (tp_comm_overlap_on).
  using CostKey = std::tuple<int, int, int, int, int, bool, std::int64_t, bool>;
  std::map<CostKey, LayerCosts> costs;
  // By schedule, stages, micro-batches and chunks per stage.
  std::map<std::tuple<PipelineSchedule, int, int, int>, std::vector<Holding>> holdings;

  // The share of the device's SMs an NCCL collective's kernel holds: the compute beside one runs
  // that much slower (RankScheduler).
  double collective_sms_share() const {
    const auto& tiling = cluster.device.gemm_tiling;
    return tiling && tiling->collective_kernel_sms
               ? tiling->collective_kernel_sms->value / tiling->sm_count.value
               : 0.0;
  }

  Impl(const ClusterSpec& c, const ClusterNetwork& n, const ComputeModel& m, double headroom)
      : cluster(c),
        network(n),
        compute(m),
        headroom_fraction(headroom),
        prices(n.topology, n.collective_step_latency_s, &n.collective_calibration) {}

  const LayerCosts& costs_of(const TrainingJob& job) {
    const ParallelismSpec& p = job.parallelism;
    const CostKey key{p.tp,
                      p.pp,
                      p.cp,
                      p.dp,
                      p.ep,
                      p.sequence_parallel && p.tp > 1,
                      job.training.micro_batch,
                      tp_comm_overlap_on(job)};
    auto found = costs.find(key);
    if (found == costs.end())
      found = costs.emplace(key, layer_costs(job, compute, prices)).first;
    return found->second;
  }

  PlanEstimate estimate(const TrainingJob& job);
  std::vector<Stage> stages_of(const TrainingJob& job, const LayerCosts& c);
  double pipeline_s(const TrainingJob& job, std::vector<Stage>& stages, double message_s) const;
  void finish_stages(const TrainingJob& job, std::vector<Stage>& stages);
  double reduction_end_s(const TrainingJob& job, int s, const Stage& stage);
  const std::vector<Holding>& holdings_for(const TrainingJob& job) {
    const ParallelismSpec& p = job.parallelism;
    const int chunks = p.schedule == PipelineSchedule::interleaved_1f1b ? p.virtual_stages : 1;
    const auto key = std::make_tuple(p.schedule, p.pp, microbatches_per_replica(job), chunks);
    auto found = holdings.find(key);
    if (found == holdings.end()) {
      found =
          holdings
              .emplace(key, holdings_of(p.schedule, p.pp, microbatches_per_replica(job), chunks))
              .first;
    }
    return found->second;
  }
  MemoryEstimate memory_of(const TrainingJob& job, int s, const Stage& stage,
                           const Holding& holding) const;
};

// Each stage's layers (model chunk c runs on stage c mod pp), their costs per micro-batch, and
// with ZeRO-3 the weight gathers and gradient scatters that outlast the layers they run beside.
std::vector<Stage> PlanEstimator::Impl::stages_of(const TrainingJob& job, const LayerCosts& c) {
  const ParallelismSpec& p = job.parallelism;
  const TransformerConfig& m = job.model;
  const auto r = static_cast<std::size_t>(p.recompute);
  const bool split = p.schedule == PipelineSchedule::zero_bubble_h1;
  std::vector<Stage> stages(static_cast<std::size_t>(p.pp));
  const LayerCost& dense = c.dense[r];
  const LayerCost& moe = c.moe[r];
  std::int64_t first = 0;
  const std::vector<std::int64_t> layers_of_chunk = layers_of_chunks(job);
  for (std::size_t k = 0; k < layers_of_chunk.size(); ++k) {
    Stage& stage = stages[k % stages.size()];
    // The multi-token prediction layers run with the last chunk.
    const std::int64_t count =
        layers_of_chunk[k] + (k + 1 == layers_of_chunk.size() ? m.mtp_layers : 0);
    const std::int64_t moe_layers = m.moe_layers_in(first, count);
    const std::int64_t dense_layers = count - moe_layers;
    stage.moe_layers += moe_layers;
    stage.dense_layers += dense_layers;
    first += count;
    double stored = static_cast<double>(dense_layers) * dense.stored_bytes +
                    static_cast<double>(moe_layers) * moe.stored_bytes;
    if (k + 1 == layers_of_chunk.size())
      stored += c.output.stored_bytes;
    stage.chunk_stored_bytes.push_back(stored);
  }
  const bool zero3 = p.zero >= 3 && c.layer_gather_s > 0;
  // FSDP's SHARD_GRAD_OP gathers each layer's weights before its forward only.
  const bool forward_gathers = zero_two_gathers_per_layer(job) && c.layer_gather_s > 0;
  const bool a2a_overlap = moe_a2a_overlap_on(job);
  for (std::size_t s = 0; s < stages.size(); ++s) {
    Stage& stage = stages[s];
    const auto nd = static_cast<double>(stage.dense_layers);
    const auto nm = static_cast<double>(stage.moe_layers);
    const auto add = [&](const LayerCost& cost, double n) {
      stage.forward += scaled(cost.forward, n);
      stage.backward += scaled(split ? cost.input_gradient : cost.backward, n);
      if (split)
        stage.weight_gradient += scaled(cost.weight_gradient, n);
      stage.kept_bytes += cost.kept_bytes * n;
      if (n > 0)
        stage.transient_bytes = std::max(stage.transient_bytes, cost.transient_bytes);
      if (a2a_overlap)
        stage.overlapped_all_to_all_s += cost.all_to_all_s * n;
    };
    add(dense, nd);
    add(moe, nm);
    if (s == 0)
      add(c.embedding, 1);
    if (s + 1 == stages.size()) {
      stage.forward += c.output.forward;
      stage.backward += c.output.backward;
    }
    // A layer's gathers and scatters run on the data-parallel links beside its compute: what
    // outlasts the compute is exposed, and the compute runs slower by the SMs their kernels hold.
    const double slowed = collective_sms_share();
    const auto beside = [&](double comm_s, const PassCost& pass, PassCost& into) {
      into.comm_s += nd * std::max(0.0, comm_s - pass.compute_s);
      into.compute_s += nd * slowed * std::min(comm_s, pass.compute_s);
    };
    const double g = c.layer_gather_s;
    if (forward_gathers)
      beside(g, dense.forward, stage.forward);
    if (zero3) {
      // Each layer's weights are gathered before its forward and its backward, two layers
      // ahead, and its gradients scattered after its backward.
      const double x = c.layer_scatter_s;
      const auto& pass_b = split ? dense.input_gradient : dense.backward;
      beside(g, dense.forward, stage.forward);
      if (split) {
        beside(g, pass_b, stage.backward);
        beside(x, dense.weight_gradient, stage.weight_gradient);
      } else {
        beside(g + x, pass_b, stage.backward);
      }
      // The embedding's and the output head's weights are gathered and their gradients
      // scattered as a layer's are, beside the stage's compute.
      double vocab_params = 0;
      if (s == 0)
        vocab_params += embedding_parameters_per_rank(m, p);
      if (s + 1 == stages.size())
        vocab_params += output_parameters_per_rank(m, p);
      if (vocab_params > 0) {
        const double vocab_comm_s =
            2 * prices.collective_s(GroupKind::dp, CollectiveKind::all_gather,
                                    vocab_params * bytes_per_parameter(job.training.dtype).weights,
                                    p, Concurrency::world) +
            prices.collective_s(GroupKind::dp, CollectiveKind::reduce_scatter,
                                vocab_params * gradient_reduction_bytes(job), p,
                                Concurrency::world);
        const double compute_s = stage.forward.compute_s + stage.backward.compute_s;
        stage.backward.compute_s += slowed * std::min(vocab_comm_s, compute_s);
      }
    }
  }
  return stages;
}

// The pipeline's length until the first stage's last backward, by schedule, with each stage's
// forward F, backward B (zero bubble: input gradient) and weight gradient W per micro-batch and
// m micro-batches: the first micro-batch crosses every stage forward and back (the fill and the
// drain, with a message at each boundary each way), and the slowest stage paces the other m-1.
// 1F1B and GPipe: sum(F+B) + (m-1) max(F+B); interleaved over v chunks: the same per chunk with
// m·v chunk passes, so the fill and drain shrink v times; ZB-H1: the weight gradients fill the
// drain, sum(F+B) + (m-1) max(F+B+W) + W of the first stage. Sets each stage's backward_end_s:
// the last backward travels from the last stage to the first.
//
// In the steady state of 1F1B a stage's forward of a micro-batch waits for the previous stage's
// (F_s(j) after F_{s-1}(j) and its message) and its backward for the next stage's, around a
// loop that holds as many micro-batches as the stage has in flight: each pass then waits for
// its message, 2 per model chunk per micro-batch (c each), and the slowest stage's period is
// F+B+2vc. Zero bubble's deferred weight gradients fill up to W of that wait; GPipe's forwards
// and backwards form no such loop. Under Megatron-Core's combined 1F1B (moe_a2a_overlap_on) the
// steady state's passes run as forward-backward pairs, each the longer of its compute and its
// all-to-alls plus its other communication.
double PlanEstimator::Impl::pipeline_s(const TrainingJob& job, std::vector<Stage>& stages,
                                       double message_s) const {
  const ParallelismSpec& p = job.parallelism;
  const double m = microbatches_per_replica(job);
  const double v = p.schedule == PipelineSchedule::interleaved_1f1b ? p.virtual_stages : 1;
  const bool split = p.schedule == PipelineSchedule::zero_bubble_h1;
  const double waits_s = p.pp > 1 ? 2.0 * v * message_s : 0.0;
  double sum_s = 0;
  double slowest_s = 0;
  double sum_forward_s = 0, slowest_forward_s = 0, sum_backward_s = 0, slowest_backward_s = 0;
  // DeepEP's kernels, or NCCL's, slow the compute beside them by the share of the SMs they hold.
  const std::optional<ExpertDispatch> dispatch = expert_dispatch_of(job);
  const auto& tiling = cluster.device.gemm_tiling;
  const double slowed_share = dispatch && dispatch->runs_deepep() && tiling
                                  ? ExpertDispatch::deepep_sms / tiling->sm_count.value
                                  : collective_sms_share();
  for (const Stage& stage : stages) {
    const double pass_s = stage.forward.total_s() + stage.backward.total_s();
    sum_s += pass_s;
    // A combined 1F1B pair takes the longer of its compute and its all-to-alls (the fill and
    // drain run unpaired), its compute slowed while DeepEP's kernels run beside it.
    const double hidden_s =
        std::min(stage.overlapped_all_to_all_s, stage.forward.compute_s + stage.backward.compute_s);
    const double paired_s = pass_s - hidden_s * (1 - slowed_share);
    slowest_s =
        std::max(slowest_s,
                 paired_s + (split ? std::max(stage.weight_gradient.total_s(), waits_s) : waits_s));
    sum_forward_s += stage.forward.total_s();
    sum_backward_s += stage.backward.total_s();
    slowest_forward_s = std::max(slowest_forward_s, stage.forward.total_s());
    slowest_backward_s = std::max(slowest_backward_s, stage.backward.total_s());
  }
  const double messages_s = 2.0 * (p.pp - 1) * message_s;
  double length_s = 0;
  switch (p.schedule) {
    case PipelineSchedule::gpipe:
      length_s = sum_forward_s + (m - 1) * slowest_forward_s + sum_backward_s +
                 (m - 1) * slowest_backward_s;
      break;
    case PipelineSchedule::one_f_one_b:
    case PipelineSchedule::interleaved_1f1b:
      length_s = sum_s / v + (m * v - 1) * slowest_s / v;
      break;
    case PipelineSchedule::zero_bubble_h1:
      length_s = sum_s + (m - 1) * slowest_s + stages.front().weight_gradient.total_s();
      break;
  }
  length_s += messages_s;
  double end_s = length_s;
  for (Stage& stage : stages) {
    stage.backward_end_s = end_s;
    end_s -= stage.backward.total_s() / v + message_s;
  }
  if (split) {
    // Stage s runs its last s weight gradients after its last input gradient.
    for (std::size_t s = 0; s < stages.size(); ++s) {
      Stage& stage = stages[s];
      stage.backward_end_s =
          std::min(length_s, stage.backward_end_s - stages.front().weight_gradient.total_s() +
                                 static_cast<double>(s) * stage.weight_gradient.total_s());
    }
  }
  return length_s;
}

// When a stage's gradient reductions end, relative to the end of its last backward. Gradients
// become whole as the last micro-batch's backward passes each layer (interleaved: each model
// chunk's last backward, the last chunk's first, pp chunk passes apart); they fill buckets that
// reduce one after the other on the data-parallel stream, the last when the backward ends
// (StageBuilder::reduce_bucket). ZeRO-3 scatters every micro-batch instead; its last scatter
// follows the last backward. ZeRO-2, as DeepSpeed and FSDP run it, reduces its buckets every
// micro-batch (zero_two_reduces_every_micro_batch): the earlier micro-batches' reductions run
// while the later ones compute, and what a micro-batch's reductions take beyond its forward and
// backward compute delays the last one's (all of it when they do not overlap the backward). The
// micro-batch's own collectives are not counted as room: they may share the reductions' links
// (it errs slow where they do not).
double PlanEstimator::Impl::reduction_end_s(const TrainingJob& job, int s, const Stage& stage) {
  const ParallelismSpec& p = job.parallelism;
  const TransformerConfig& m = job.model;
  const ReplicaCounts replicas = replica_counts(p);
  if (p.zero >= 3 && replicas.dense > 1) {
    const LayerCosts& c = costs_of(job);
    return c.layer_scatter_s;
  }
  const bool last_stage = s == p.pp - 1;
  const double grad_bytes = gradient_reduction_bytes(job);
  const double bucket_bytes = gradient_bucket_bytes(job);
  const int chunks = p.schedule == PipelineSchedule::interleaved_1f1b ? p.virtual_stages : 1;
  const bool split = p.schedule == PipelineSchedule::zero_bubble_h1;
  const double pass_s =
      (split ? stage.weight_gradient.total_s() : stage.backward.total_s()) / chunks;
  const ParameterSplit dense_layer = layer_parameters_per_rank(m, 0, p.tp, p.ep);
  const ParameterSplit moe_layer = layer_parameters_per_rank(m, m.layers - 1, p.tp, p.ep);

  std::vector<Bucket> buckets;
  double dense_fill = 0;
  double expert_fill = 0;
  // FSDP reduce-scatters each unit's gradients on their own.
  const bool per_layer = zero_two_gathers_per_layer(job);
  const auto add = [&](double ready_s, const ParameterSplit& params) {
    if (!p.overlap_grad_reduce)
      ready_s = 0;
    if (replicas.dense > 1) {
      dense_fill += params.dense * grad_bytes;
      if (dense_fill >= bucket_bytes || (per_layer && dense_fill > 0)) {
        buckets.push_back({ready_s, dense_fill, GroupKind::dp});
        dense_fill = 0;
      }
    }
    if (replicas.expert > 1) {
      expert_fill += params.expert * grad_bytes;
      if (expert_fill >= bucket_bytes) {
        buckets.push_back({ready_s, expert_fill, GroupKind::edp});
        expert_fill = 0;
      }
    }
  };
  if (last_stage)
    add(-pass_s, {output_parameters_per_rank(m, p), 0});
  // The layers per chunk, in the order of the last backward: the last chunk first, each from its
  // last layer down.
  const double layers = static_cast<double>(stage.dense_layers + stage.moe_layers);
  const double moe_share = layers > 0 ? static_cast<double>(stage.moe_layers) / layers : 0;
  const double per_chunk = layers / chunks;
  for (int k = chunks - 1; k >= 0; --k) {
    const double chunk_end_s = -static_cast<double>(k) * p.pp * pass_s;
    const auto n = static_cast<int>(per_chunk + 0.5);
    for (int i = 0; i < n; ++i) {
      // MoE layers come after the dense ones: the first to finish in backward.
      const bool is_moe = static_cast<double>(i) < moe_share * n;
      add(chunk_end_s - pass_s + pass_s * (i + 1) / std::max(n, 1),
          is_moe ? moe_layer : dense_layer);
    }
  }
  if (s == 0)
    add(0, {embedding_parameters_per_rank(m, p), 0});
  if (dense_fill > 0)
    buckets.push_back({0, dense_fill, GroupKind::dp});
  if (expert_fill > 0)
    buckets.push_back({0, expert_fill, GroupKind::edp});

  const CollectiveKind kind =
      p.zero >= 1 ? CollectiveKind::reduce_scatter : CollectiveKind::all_reduce;
  // Buckets filled during the backward may finish before it ends (negative times); the
  // optimizer step waits for the backward in any case.
  double end_s = -std::numeric_limits<double>::infinity();
  double last_bytes = -1;
  GroupKind last_group = GroupKind::tp;
  double last_s = 0;
  double micro_batch_reductions_s = 0;
  for (const Bucket& b : buckets) {
    if (b.bytes != last_bytes || b.group != last_group) {
      last_s = prices.collective_s(b.group, kind, b.bytes, p, Concurrency::stage);
      last_bytes = b.bytes;
      last_group = b.group;
    }
    end_s = std::max(end_s, b.ready_s) + last_s;
    micro_batch_reductions_s += last_s;
  }
  // What ran beside the last backward slowed it by the SMs the reductions' kernels hold.
  const double slowed = collective_sms_share();
  const double exposed_s = std::max(0.0, end_s);
  end_s = exposed_s +
          slowed * (micro_batch_reductions_s - std::min(micro_batch_reductions_s, exposed_s));
  if (zero_two_reduces_every_micro_batch(job)) {
    const double earlier = std::max(0, microbatches_per_replica(job) - 1);
    const double hidden_s =
        p.overlap_grad_reduce
            ? stage.forward.compute_s + stage.backward.compute_s + stage.weight_gradient.compute_s
            : 0.0;
    end_s += earlier * (std::max(0.0, micro_batch_reductions_s - hidden_s) +
                        slowed * std::min(micro_batch_reductions_s, hidden_s));
  }
  return end_s;
}

// After its last backward each stage finishes its gradient reductions (the first and last stages
// also the shared embedding's, together: the earlier of the two waits for the other), steps its
// optimizer, and under ZeRO 1 and 2 all-gathers the updated weights.
void PlanEstimator::Impl::finish_stages(const TrainingJob& job, std::vector<Stage>& stages) {
  const ParallelismSpec& p = job.parallelism;
  const ReplicaCounts replicas = replica_counts(p);
  const double weight_bytes = bytes_per_parameter(job.training.dtype).weights;
  // Stages in the middle hold the same parameters: their collectives are priced once.
  std::optional<std::pair<double, double>> last_gather;  // bytes, seconds
  const auto gather_s = [&](GroupKind group, double bytes) {
    if (bytes <= 0)
      return 0.0;
    return prices.collective_s(group, CollectiveKind::all_gather, bytes, p, Concurrency::stage);
  };
  std::vector<double> reductions_end_s(stages.size());
  for (std::size_t s = 0; s < stages.size(); ++s) {
    reductions_end_s[s] =
        stages[s].backward_end_s + reduction_end_s(job, static_cast<int>(s), stages[s]);
  }
  const bool shared_embedding = p.pp > 1 && job.model.embedding_on_last_stage();
  const double embedding_s =
      shared_embedding ? prices.embedding_all_reduce_s(
                             p, static_cast<double>(job.model.vocab / p.tp * job.model.hidden) *
                                    gradient_reduction_bytes(job))
                       : 0.0;
  // It starts when both stages have run their last backward, beside their other reductions.
  const double embedding_end_s =
      std::max(stages.front().backward_end_s, stages.back().backward_end_s) + embedding_s;
  for (std::size_t s = 0; s < stages.size(); ++s) {
    Stage& stage = stages[s];
    const bool pair = shared_embedding && (s == 0 || s + 1 == stages.size());
    const double reduced_s =
        pair ? std::max(reductions_end_s[s], embedding_end_s) : reductions_end_s[s];
    const double reductions_s = reduced_s - stage.backward_end_s;
    stage.optimizer_s = compute.kernel_time_s(optimizer_step_kernel(job, stage.params));
    double gathers_s = 0;
    // Overlapped with the next step's forward, the gathers are taken as hidden.
    if ((p.zero == 1 || p.zero == 2) && !job.framework.overlap_param_gather &&
        !zero_two_gathers_per_layer(job)) {
      const double dense_bytes = replicas.dense > 1 ? stage.params.dense * weight_bytes : 0;
      if (!last_gather || last_gather->first != dense_bytes)
        last_gather = {dense_bytes, gather_s(GroupKind::dp, dense_bytes)};
      gathers_s = last_gather->second;
      if (replicas.expert > 1)
        gathers_s += gather_s(GroupKind::edp, stage.params.expert * weight_bytes);
    }
    stage.tail_comm_s = reductions_s + gathers_s;
    stage.finish_s = reduced_s + stage.optimizer_s + gathers_s;
  }
}

// Activations at the stage's peak by its schedule's order (Holding). NCCL connects a rank to each
// group of two or more it belongs to, and to the pipeline peers it receives from: the previous
// stage where the stage runs a chunk after the first, the next where it runs one before the last
// (interleaving wraps round from the last stage to the first).
MemoryEstimate PlanEstimator::Impl::memory_of(const TrainingJob& job, int s, const Stage& stage,
                                              const Holding& holding) const {
  const ParallelismSpec& p = job.parallelism;
  const TransformerConfig& m = job.model;
  const ReplicaCounts replicas = replica_counts(p);
  const int chunks = p.schedule == PipelineSchedule::interleaved_1f1b ? p.virtual_stages : 1;
  double activations = 0;
  if (holding.split_points.empty()) {
    for (std::size_t c = 0; c < holding.chunk_microbatches.size(); ++c)
      activations += holding.chunk_microbatches[c] * stage.chunk_stored_bytes[c];
    activations += stage.transient_bytes;
  }
  for (const auto& [forwards, waiting, starting] : holding.split_points) {
    activations =
        std::max(activations, forwards * stage.chunk_stored_bytes.front() +
                                  waiting * stage.kept_bytes + starting * stage.transient_bytes);
  }
  MemoryEstimate memory;
  memory.stage = s;
  const StaticMemory fixed = static_memory_of_stage(job, stage.params);
  memory.weights_bytes = fixed.weights_bytes;
  memory.gradients_bytes = fixed.gradients_bytes;
  memory.optimizer_bytes = fixed.optimizer_bytes;
  memory.communication_buffer_bytes = fixed.communication_buffer_bytes;
  memory.activations_bytes = activations;
  if (cluster.device.kind == DeviceKind::gpu) {
    const bool embedding_pair =
        p.pp > 1 && m.embedding_on_last_stage() && (s == 0 || s == p.pp - 1);
    const int communicators = (p.tp > 1) + (replicas.dense > 1) + (p.cp > 1) + (p.ep > 1) +
                              (m.is_moe() && replicas.expert > 1) + embedding_pair;
    const bool from_previous = p.pp > 1 && (s > 0 || chunks > 1);
    const bool from_next = p.pp > 1 && (s < p.pp - 1 || chunks > 1);
    const int senders = p.pp == 2 ? (from_previous || from_next ? 1 : 0)
                                  : static_cast<int>(from_previous) + static_cast<int>(from_next);
    memory.nccl_buffer_bytes = nccl_buffer_bytes(communicators, senders);
  }
  const double allocated = fixed.total() + memory.activations_bytes;
  memory.allocator_headroom_bytes = allocator_headroom_bytes(
      allocated, allocator_headroom_fraction_on(cluster.device.kind, headroom_fraction));
  memory.peak_bytes = allocated + memory.nccl_buffer_bytes + memory.allocator_headroom_bytes;
  memory.capacity_bytes = cluster.smallest_memory_bytes();
  memory.fits = memory.peak_bytes <= memory.capacity_bytes;
  return memory;
}

PlanEstimate PlanEstimator::Impl::estimate(const TrainingJob& job) {
  const LayerCosts& c = costs_of(job);
  std::vector<Stage> stages = stages_of(job, c);
  // Stages alike in what they hold share their parameters' count (O(layers) each).
  std::map<std::tuple<std::int64_t, std::int64_t, bool, bool>, ParameterSplit> params;
  for (std::size_t s = 0; s < stages.size(); ++s) {
    const auto key = std::make_tuple(stages[s].dense_layers, stages[s].moe_layers, s == 0,
                                     s + 1 == stages.size());
    auto found = params.find(key);
    if (found == params.end())
      found = params.emplace(key, stage_parameters(job, static_cast<int>(s))).first;
    stages[s].params = found->second;
  }
  pipeline_s(job, stages, c.message_s);
  finish_stages(job, stages);

  PlanEstimate e;
  const std::vector<Holding>& holding = holdings_for(job);
  std::size_t last = 0;
  for (std::size_t s = 0; s < stages.size(); ++s) {
    if (stages[s].finish_s > stages[last].finish_s)
      last = s;
    const MemoryEstimate memory = memory_of(job, static_cast<int>(s), stages[s], holding[s]);
    if (s == 0 || memory.peak_bytes > e.memory.peak_bytes)
      e.memory = memory;
  }
  const Stage& stage = stages[last];
  const double m = microbatches_per_replica(job);
  e.step_time_s = stage.finish_s;
  e.compute_s =
      m * (stage.forward.compute_s + stage.backward.compute_s + stage.weight_gradient.compute_s) +
      stage.optimizer_s;
  e.exposed_comm_s =
      m * (stage.forward.comm_s + stage.backward.comm_s + stage.weight_gradient.comm_s) +
      stage.tail_comm_s;
  e.bubble_s = std::max(0.0, e.step_time_s - e.compute_s - e.exposed_comm_s);
  return e;
}

PlanEstimator::PlanEstimator(const ClusterSpec& cluster, const ClusterNetwork& network,
                             const ComputeModel& compute, double allocator_headroom_fraction)
    : impl_(std::make_unique<Impl>(cluster, network, compute, allocator_headroom_fraction)) {}
PlanEstimator::~PlanEstimator() = default;
PlanEstimator::PlanEstimator(PlanEstimator&&) noexcept = default;

PlanEstimate PlanEstimator::estimate(const TrainingJob& job) {
  if (const auto problems = check_strategy(impl_->cluster, job); !problems.empty()) {
    std::string text = "PlanEstimator::estimate: the job breaks the strategy rules:";
    for (const PlanProblem& problem : problems)
      text += fmt::format("\n{}: {}", problem.key, problem.message);
    throw std::invalid_argument(text);
  }
  return impl_->estimate(job);
}

}  // namespace scaleplan
