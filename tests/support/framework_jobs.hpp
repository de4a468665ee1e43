// A small training job for the framework tests: GPT-3 1.3B cut to four layers, micro-batch 1.
#pragma once

#include "models/transformer.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan::test {

inline TrainingJob small_job(int tp, int pp, int dp, int microbatches) {
  TrainingJob job;
  job.model = *transformer_preset("gpt3-1.3b");
  job.model.layers = 4;
  job.training.micro_batch = 1;
  job.training.global_batch = microbatches * dp;
  job.parallelism.tp = tp;
  job.parallelism.pp = pp;
  job.parallelism.dp = dp;
  return job;
}

}  // namespace scaleplan::test
