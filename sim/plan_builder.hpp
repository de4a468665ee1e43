// Builds the plan of one training step of a dense transformer under tensor (Megatron style, with
// optional sequence parallelism), pipeline (GPipe, 1F1B, interleaved 1F1B) and data parallelism
// (gradient all-reduce in buckets, overlapped with the last backward pass).
#pragma once

#include "models/transformer.hpp"
#include "sim/plan.hpp"
#include "sim/strategy.hpp"

namespace scaleplan {

struct TrainingJob {
  TransformerConfig model;
  TrainingSpec training;
  ParallelismSpec parallelism;
};

// Rank layout (Megatron-LM's default order, tensor parallel fastest):
// rank = tp_rank + tp · (cp_rank + cp · (dp_rank + dp · pp_rank)); rank r runs on device r.
struct RankCoordinates {
  int tp = 0;
  int cp = 0;
  int dp = 0;
  int pp = 0;
};
RankCoordinates coordinates_of(int rank, const ParallelismSpec& p);
int rank_of(const RankCoordinates& c, const ParallelismSpec& p);

int microbatches_per_replica(const TrainingJob& job);

// The job must be valid (the scenario loader checks divisibility and sizes); throws
// std::invalid_argument otherwise.
Plan build_plan(const TrainingJob& job);

// Bytes of one data-parallel gradient bucket: the scenario's, or Megatron-LM's default of
// max(40M, 1M·dp) parameters.
double gradient_bucket_bytes(const TrainingJob& job);

// Static memory of a pipeline stage's rank: weights, gradients, optimizer state.
StaticMemory static_memory_of_stage(const TrainingJob& job, int stage);

}  // namespace scaleplan
