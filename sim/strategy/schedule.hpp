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

}  // namespace scaleplan
