// The ranks' side of a run: each rank's ops wait for their dependencies and their stream, start
// in program order one at a time per stream, and finish; compute ops take their block's time,
// communication ops are handed to whoever matches and carries them. Activation memory is
// accounted as ops allocate and free it.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "sim/engine/engine.hpp"
#include "sim/plan/plan.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulation_observer.hpp"

namespace scaleplan {

// Receives the communication ops (collectives, sends, receives) whose turn has come, with the tag
// the scheduler was given for each.
class CommunicationHandler {
 public:
  virtual void on_communication_ready(int rank, std::uint32_t op, std::uint32_t tag) = 0;

 protected:
  ~CommunicationHandler() = default;
};

class RankScheduler final : public EventHandler {
 public:
  // Gives, for each op of a rank, a number the scheduler keeps beside the op's state and hands
  // back with a communication op (the TransactionMatcher's order); called once per rank, just
  // before the scheduler reads that rank's program.
  using CommunicationTags = std::function<std::vector<std::uint32_t>(int rank)>;

  // `rank` arguments are indices into plan.ranks. All references must outlive the scheduler.
  RankScheduler(const Plan& plan, const ComputeModel& compute, Engine& engine,
                const ObserverList& observers, CommunicationHandler& communication,
                const CommunicationTags& communication_tags);

  // Starts what can start at time zero: the first op of every stream without dependencies.
  void start();
  // A communication op handed to the CommunicationHandler starts now (every participant has
  // reached it) ...
  void communication_started(int rank, std::uint32_t op);
  // ... and has finished now: its dependents and its stream's next op may start.
  void finish(int rank, std::uint32_t op);

  // Throws std::runtime_error naming up to 8 ops still waiting, if any rank has not finished:
  // the plan deadlocks.
  void check_finished() const;

  // A compute op's end.
  void on_event(std::uint64_t payload) override;

 private:
  struct StreamQueue {
    std::vector<std::uint32_t> ops;
    std::size_t head = 0;
    bool busy = false;
  };
  // What the scheduler tracks of one op, together so that starting and finishing it touches one
  // cache line.
  struct OpState {
    std::uint32_t remaining_deps = 0;
    std::uint32_t communication_tag = 0;
    SimTime start = 0;
  };
  struct RankState {
    std::vector<OpState> ops;
    std::vector<std::uint32_t> dependents_begin;  // CSR offsets, size ops + 1
    std::vector<std::uint32_t> dependents;
    StreamQueue streams[stream_count];
    std::size_t completed = 0;
    double activation_bytes = 0;
  };

  void prepare(int rank, const std::vector<std::uint32_t>& communication_tags);
  void try_start(int rank, Stream stream);
  // Throws PlanError at `op` when the rank's activation memory would fall below zero.
  void change_memory(int rank, std::uint32_t op, double delta);

  const Plan& plan_;
  Engine& engine_;
  const ObserverList& observers_;
  CommunicationHandler& communication_;
  std::vector<SimTime> block_time_;
  std::vector<RankState> ranks_;
};

}  // namespace scaleplan
