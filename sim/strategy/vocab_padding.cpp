// The vocabulary padded to a multiple that tensor parallelism divides, as the frameworks pad it.
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

std::int64_t vocab_padding_multiple(const TrainingJob& job) {
  const std::int64_t tp = job.parallelism.tp;
  // Megatron-LM's make_vocab_size_divisible_by (default 128) times tp.
  constexpr std::int64_t megatron_divisible_by = 128;
  if (job.framework.framework == Framework::jax_gspmd)
    return tp;
  return megatron_divisible_by * tp;
}

void pad_vocabulary(TrainingJob& job) {
  // Only a token embedding reads the vocabulary (a job without a graph trains a decoder).
  if ((job.graph && !has_layer_kind(*job.graph, LayerKind::token_embedding)) ||
      job.parallelism.tp < 1)
    return;
  const std::int64_t written = job.unpadded_vocab.value_or(job.model.vocab);
  if (written % job.parallelism.tp == 0) {
    job.model.vocab = written;
    job.unpadded_vocab.reset();
    return;
  }
  const std::int64_t multiple = vocab_padding_multiple(job);
  job.model.vocab = (written + multiple - 1) / multiple * multiple;
  job.unpadded_vocab = written;
}

}  // namespace scaleplan
