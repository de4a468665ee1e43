// The pipeline split whose simulated step is shortest (`scaleplan balance`): the layers of each
// stage chosen by simulating splits, not only by estimating them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/report/prediction.hpp"

namespace scaleplan {

// One split of the layers over the pipeline stages, simulated.
struct StageSplitTrial {
  std::vector<std::int64_t> stage_layers;  // layers per stage, first to last
  double step_time_s = 0;
  // Each stage's time: the busy time (compute and exposed communication) of its busiest rank.
  std::vector<double> stage_busy_s;
  // The slowest stage's busy time over the mean of the stages', less 1: 0 for a perfect balance.
  double imbalance = 0;
  bool fits = true;  // the simulated peak memory fits every rank's device
};

// What `scaleplan balance` reports.
struct StageSplitProposal {
  StageSplitTrial uniform;    // the even split (parallelism.balance: layers)
  StageSplitTrial estimated;  // balanced_stage_layers: the split balanced by layer time
  // The split proposed: of the splits simulated, the one with the shortest step among those that
  // fit (among all when none does).
  StageSplitTrial proposed;
  Prediction proposed_prediction;  // its full prediction
  int simulations = 0;             // splits simulated (each once)
};

// Searches the splits of inputs.job's layers over its pp stages (its stage_layers and balance
// are ignored) for the shortest simulated step: it simulates the even split and the split
// balanced by layer time (balanced_stage_layers on the cluster's devices, slowed devices and
// node groups included), then moves one layer across one stage boundary at a time from the best
// of them while that shortens the simulated step, at most `max_simulations` splits in all.
// Deterministic. Throws std::invalid_argument for a job with one stage or an interleaved
// schedule (stage_layers does not apply), like predict for a job the rules refuse.
StageSplitProposal propose_stage_split(const PredictionInputs& inputs, int max_simulations = 40);

// `stage_layers: [a, b, c]`, the scenario line that sets a split.
std::string stage_layers_yaml(const std::vector<std::int64_t>& stage_layers);

// The text and JSON reports of a proposal for `scenario` (its name).
std::string format_stage_split_text(const StageSplitProposal& proposal, const std::string& scenario,
                                    const ClusterSpec& cluster, const ParallelismSpec& parallelism);
std::string format_stage_split_json(const StageSplitProposal& proposal,
                                    const std::string& scenario);

}  // namespace scaleplan
