#include "sim/schedule.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace scaleplan {

std::string_view to_string(PipelineSchedule schedule) {
  switch (schedule) {
    case PipelineSchedule::gpipe:
      return "gpipe";
    case PipelineSchedule::one_f_one_b:
      return "1f1b";
    case PipelineSchedule::interleaved_1f1b:
      return "interleaved-1f1b";
  }
  return "?";
}

std::string_view to_string(Recompute recompute) {
  switch (recompute) {
    case Recompute::none:
      return "none";
    case Recompute::selective:
      return "selective";
    case Recompute::full:
      return "full";
  }
  return "?";
}

const std::vector<std::string>& pipeline_schedule_names() {
  static const std::vector<std::string> names{"gpipe", "1f1b", "interleaved-1f1b"};
  return names;
}

const std::vector<std::string>& recompute_names() {
  static const std::vector<std::string> names{"none", "selective", "full"};
  return names;
}

namespace {

// Megatron-LM's interleaved order: micro-batches advance in groups of `stages`, cycling through
// the chunks; backward visits the chunks in reverse.
PipelineStep interleaved_step(int k, bool forward, int stages, int chunks) {
  const int group = k / (stages * chunks);
  const int chunk_in_order = (k / stages) % chunks;
  PipelineStep step;
  step.forward = forward;
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
  std::vector<PipelineStep> order;
  switch (schedule) {
    case PipelineSchedule::gpipe:
      for (int mb = 0; mb < microbatches; ++mb)
        order.push_back({true, mb, 0});
      for (int mb = 0; mb < microbatches; ++mb)
        order.push_back({false, mb, 0});
      break;
    case PipelineSchedule::one_f_one_b: {
      const int warmup = std::min(stages - stage - 1, microbatches);
      int next_forward = 0;
      int next_backward = 0;
      for (; next_forward < warmup; ++next_forward)
        order.push_back({true, next_forward, 0});
      while (next_forward < microbatches) {
        order.push_back({true, next_forward++, 0});
        order.push_back({false, next_backward++, 0});
      }
      while (next_backward < microbatches)
        order.push_back({false, next_backward++, 0});
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

}  // namespace scaleplan
