#include "sim/strategy/plan_size.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace scaleplan {

double listed_ranks(const ParallelismSpec& p, RankScope scope) {
  // Doubles throughout: every factor is at most about 2^24, and a product of five of them would
  // overflow int64; a double holds it with room to spare and the result is only compared.
  const double world = std::max(1.0, static_cast<double>(p.tp)) * std::max(1, p.pp) *
                       std::max(1, p.dp) * std::max(1, p.cp);
  // build_plan lists one block of ep data-parallel replicas when there are more than ep of them
  // (plan.replicas = {dp / ep, ...}).
  const int ep = std::max(1, p.ep);
  const bool one = scope == RankScope::one_replica && p.dp > ep;
  return one ? world / std::floor(static_cast<double>(p.dp) / ep) : world;
}

std::int64_t estimated_plan_ops(const TrainingJob& job, RankScope scope) {
  const auto& p = job.parallelism;
  const auto& t = job.training;
  const double world = listed_ranks(p, scope);
  const double replicas = std::max(1.0, static_cast<double>(p.dp));
  const double microbatches = std::max(
      1.0, std::ceil(static_cast<double>(t.global_batch) /
                     (std::max<double>(1.0, static_cast<double>(t.micro_batch)) * replicas)));
  const double chunks =
      p.schedule == PipelineSchedule::interleaved_1f1b ? std::max(1, p.virtual_stages) : 1;
  const double layers_per_rank = std::ceil(
      static_cast<double>(std::max<std::int64_t>(1, job.model.layers)) / std::max(1, p.pp));

  // Per layer and micro-batch, each of the two half-layers (attention, MLP) runs a forward, a
  // backward (or input and weight gradients) and possibly a recompute, each with up to two
  // collectives around it (tensor parallel all-gather and reduce-scatter), one more with sequence
  // parallelism (backward all-gathers the input again), and up to two more for context
  // parallelism or ZeRO-3 parameter gathering; selective recompute adds one op per layer. An MoE
  // MLP pass runs up to ten ops where a dense one runs three: router, experts, shared experts and
  // combine, two all-to-alls and four tensor-parallel collectives.
  const double collectives_per_pass =
      2.0 + (p.sequence_parallel ? 1 : 0) + (p.cp > 1 ? 2 : 0) + (p.zero >= 3 ? 2 : 0);
  // Zero bubble runs the weight gradients as passes of their own.
  const double passes = (p.recompute == Recompute::full ? 3 : 2) +
                        (p.schedule == PipelineSchedule::zero_bubble_h1 ? 1 : 0);
  const double moe_extra_per_pass = job.model.is_moe() ? 7 : 0;
  const double per_layer =
      2 * passes * (1 + collectives_per_pass) + passes * moe_extra_per_pass + 1;
  // Per micro-batch and chunk: pipeline sends and receives both ways, embedding and output
  // blocks with their collectives.
  const double per_chunk = 4 + 2 * (2 + collectives_per_pass);
  // Per rank and step: a gradient reduction per layer at most (two with routed experts),
  // embedding and optimizer ops.
  const double per_step = (job.model.is_moe() ? 4 : 2) * layers_per_rank + 16;
  const double ops =
      world * (microbatches * (layers_per_rank * per_layer + chunks * per_chunk) + per_step);
  constexpr double limit = static_cast<double>(std::numeric_limits<std::int64_t>::max());
  return ops >= limit ? std::numeric_limits<std::int64_t>::max() : static_cast<std::int64_t>(ops);
}

}  // namespace scaleplan
