// Pipeline schedules: the order in which one stage runs the forward and backward passes of its
// micro-batches (and model chunks, when interleaved). Bubbles and activations in flight are not
// computed here: they emerge when the engine runs these orders against each other.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/strategy/strategy.hpp"

namespace scaleplan {

enum class PipelinePass : std::uint8_t {
  forward,
  backward,         // input and weight gradients back to back
  input_gradient,   // zero bubble: the input gradient alone (B), sent on at once
  weight_gradient,  // zero bubble: the weight gradient (W), deferred into the bubble
};

struct PipelineStep {
  PipelinePass pass = PipelinePass::forward;
  int microbatch = 0;
  int chunk = 0;  // model chunk on this stage (0 unless interleaved)
};

// Throws std::invalid_argument if the schedule cannot run this shape (interleaving needs the
// micro-batch count to be a multiple of the stage count, and zero bubble one chunk).
std::vector<PipelineStep> pipeline_order(PipelineSchedule schedule, int stage, int stages,
                                         int microbatches, int chunks);

// Megatron-Core's combined 1F1B (--overlap-moe-expert-parallel-comm;
// megatron/core/pipeline_parallel/combined_1f1b.py): a forward step and a backward step beside it
// in `order`, of another micro-batch or model chunk, run as one step, each's expert-parallel
// all-to-alls hidden behind the other's compute. Pairs are taken greedily from the start, each
// step in at most one; element i is true where steps i - 1 and i form a pair. On one stage's
// 1F1B order F0 B0 F1 B1 ... F(n-1) B(n-1) that gives (B0 F1) ... (B(n-2) F(n-1)), the phases
// of combined_1f1b_schedule_for_no_pipelining; on the interleaved order, the steady state's
// forward and backward. Split passes (zero bubble) never pair.
std::vector<bool> combined_1f1b_pair_ends(const std::vector<PipelineStep>& order);

}  // namespace scaleplan
