// For the framework tests: a small training job (GPT-3 1.3B cut to four layers, micro-batch 1)
// and what to ask of the ops of its plan.
#pragma once

#include <string>

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

// Whether `op` is a collective of the group named `group` ("tp", "dp", ...).
inline bool in_group(const Plan& plan, const Op& op, const std::string& group) {
  return op.kind == OpKind::collective && plan.groups[op.group].name == group;
}

// Whether `op`'s label holds `text`.
inline bool labelled(const Plan& plan, const Op& op, const std::string& text) {
  return plan.labels[op.label].find(text) != std::string::npos;
}

}  // namespace scaleplan::test
