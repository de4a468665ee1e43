// The per-micro-batch costs of a job's layers, embedding and output head under one layer
// partition, as the planner's estimate adds them up stage by stage. Part of sim/planner.
#pragma once

#include <array>
#include <optional>

#include "models/transformer.hpp"
#include "sim/planner/collective_prices.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

// Time of one pass over a block or layer: the compute stream busy, and the communication the
// compute waits for (on the chain, or beside it and longer than the compute it runs beside).
struct PassCost {
  double compute_s = 0;
  double comm_s = 0;
  double total_s() const { return compute_s + comm_s; }
  PassCost& operator+=(const PassCost& other) {
    compute_s += other.compute_s;
    comm_s += other.comm_s;
    return *this;
  }
};

// One layer (dense or MoE) or block for one micro-batch, with the memory it keeps.
struct LayerCost {
  PassCost forward;
  PassCost backward;         // whole, with what recompute runs again
  PassCost input_gradient;   // zero bubble: the backward's input gradient, with the recompute
  PassCost weight_gradient;  // zero bubble: the deferred weight gradient
  double stored_bytes = 0;   // activations kept from forward to backward
  double kept_bytes = 0;     // zero bubble: what an input gradient leaves for its weight gradient
  // Allocated during the backward on top of what is stored: the recomputed activations.
  double transient_bytes = 0;
  // The expert-parallel all-to-alls among forward's and backward's communication (MoE layers),
  // which Megatron-Core's combined 1F1B runs beside the paired step's compute
  // (moe_a2a_overlap_on).
  double all_to_all_s = 0;
};

// The costs of everything that depends on the layer partition (tp, cp, ep, sequence
// parallelism, micro-batch) and on the stage's ranks (their collectives' layout), for every
// recompute choice (indexed by Recompute).
struct LayerCosts {
  std::array<LayerCost, 3> dense;
  std::array<LayerCost, 3> moe;  // all zero for a dense model
  LayerCost embedding;
  LayerCost output;
  double message_s = 0;  // a stage boundary message (activations or their gradients)
  // ZeRO-3 (dense models): a layer's weight all-gather and gradient reduce-scatter.
  double layer_gather_s = 0;
  double layer_scatter_s = 0;
};

// Works out `job`'s layer costs; its parallelism's recompute, schedule, virtual stages and ZeRO
// stage are not read, so one result serves every choice of them. Its framework is (tp_comm_overlap,
// the gradient and pipeline message bytes).
LayerCosts layer_costs(const TrainingJob& job, const ComputeModel& compute,
                       CollectivePrices& prices);

}  // namespace scaleplan
