#include "sim/strategy/schedule.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace scaleplan {

namespace {

// Megatron-LM's interleaved order: micro-batches advance in groups of `stages`, cycling through
// the chunks; backward visits the chunks in reverse.
PipelineStep interleaved_step(int k, bool forward, int stages, int chunks) {
  const int group = k / (stages * chunks);
  const int chunk_in_order = (k / stages) % chunks;
  PipelineStep step;
  step.pass = forward ? PipelinePass::forward : PipelinePass::backward;
  step.microbatch = group * stages + k % stages;
  step.chunk = forward ? chunk_in_order : chunks - 1 - chunk_in_order;
  return step;
}

}  // namespace

std::vector<PipelineStep> pipeline_order(PipelineSchedule schedule, int stage, int stages,
                                         int microbatches, int chunks) {
  if (stages < 1 || stage < 0 || stage >= stages || microbatches < 1 || chunks < 1) {
    throw std::invalid_argument("pipeline_order: bad shape");
  }
  using enum PipelinePass;
  std::vector<PipelineStep> order;
  switch (schedule) {
    case PipelineSchedule::gpipe:
      for (int mb = 0; mb < microbatches; ++mb)
        order.push_back({forward, mb, 0});
      for (int mb = 0; mb < microbatches; ++mb)
        order.push_back({backward, mb, 0});
      break;
    case PipelineSchedule::one_f_one_b: {
      const int warmup = std::min(stages - stage - 1, microbatches);
      int next_forward = 0;
      int next_backward = 0;
      for (; next_forward < warmup; ++next_forward)
        order.push_back({forward, next_forward, 0});
      while (next_forward < microbatches) {
        order.push_back({forward, next_forward++, 0});
        order.push_back({backward, next_backward++, 0});
      }
      while (next_backward < microbatches)
        order.push_back({backward, next_backward++, 0});
      break;
    }
    case PipelineSchedule::zero_bubble_h1: {
      if (chunks != 1)
        throw std::invalid_argument("zb-h1 runs one model chunk per stage");
      // Qi et al. 2024, section 3.1: in round x stage i runs F(x), B(x - (p-1-i)) and
      // W(x - (p-1)), each when it exists. The forwards and input gradients keep 1F1B's order
      // (and so its p - i micro-batches in flight); each weight gradient waits i rounds after
      // its input gradient, which fills the cooldown that 1F1B leaves idle.
      for (int x = 0; x < microbatches + stages - 1; ++x) {
        const int input = x - (stages - 1 - stage);
        const int weight = x - (stages - 1);
        if (x < microbatches)
          order.push_back({forward, x, 0});
        if (input >= 0 && input < microbatches)
          order.push_back({input_gradient, input, 0});
        if (weight >= 0)
          order.push_back({weight_gradient, weight, 0});
      }
      break;
    }
    case PipelineSchedule::interleaved_1f1b: {
      if (microbatches % stages != 0) {
        throw std::invalid_argument(
            "interleaved 1F1B needs the micro-batch count (" + std::to_string(microbatches) +
            ") to be a multiple of the pipeline stages (" + std::to_string(stages) + ")");
      }
      const int total = microbatches * chunks;
      const int warmup = std::min(total, (stages - stage - 1) * 2 + (chunks - 1) * stages);
      int f = 0;
      int b = 0;
      for (; f < warmup; ++f)
        order.push_back(interleaved_step(f, true, stages, chunks));
      while (f < total) {
        order.push_back(interleaved_step(f++, true, stages, chunks));
        order.push_back(interleaved_step(b++, false, stages, chunks));
      }
      while (b < total)
        order.push_back(interleaved_step(b++, false, stages, chunks));
      break;
    }
  }
  return order;
}

std::vector<bool> combined_1f1b_pair_ends(const std::vector<PipelineStep>& order) {
  std::vector<bool> ends(order.size(), false);
  auto whole = [](const PipelineStep& s) {
    return s.pass == PipelinePass::forward || s.pass == PipelinePass::backward;
  };
  for (std::size_t i = 1; i < order.size(); ++i) {
    const PipelineStep& a = order[i - 1];
    const PipelineStep& b = order[i];
    if (ends[i - 1] || !whole(a) || !whole(b) || a.pass == b.pass)
      continue;
    if (a.microbatch != b.microbatch || a.chunk != b.chunk)
      ends[i] = true;
  }
  return ends;
}

}  // namespace scaleplan
