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
#include "sim/simulate/simulation_options.hpp"

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
  // Gives, for each op of a program, a number the scheduler keeps beside the op and hands back
  // with a communication op (the TransactionMatcher's order); called once per program the plan
  // holds (ranks that share a program share its numbers, Plan::ranks' `shares`), with the index
  // of the rank that holds it, just before the scheduler reads it.
  using CommunicationTags = std::function<std::vector<std::uint32_t>(int rank)>;

  // `rank` arguments are indices into plan.ranks. All references must outlive the scheduler.
  // Of `options`, the scheduler reads what changes compute times by device: the factors, the
  // jitter and the compute models by device.
  RankScheduler(const Plan& plan, const ComputeModel& compute, Engine& engine,
                const ObserverList& observers, CommunicationHandler& communication,
                const CommunicationTags& communication_tags, const SimulationOptions& options = {});

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
  // Which kernels a communication op runs, by the SMs they hold: none (compute, sends and
  // receives), DeepEP's (ExpertDispatch::deepep_sms), an NCCL collective's (the device's
  // collective_kernel_sms), and Transformer Engine's userbuffers overlapping a tensor-parallel
  // reduce-scatter or all-gather with its GEMM (SimulationOptions).
  enum class SmHolder : std::uint8_t {
    none,
    deepep,
    nccl,
    userbuffers_reduce_scatter,
    userbuffers_all_gather
  };
  // What the scheduler reads of one op as it starts and finishes it, packed (a step of a
  // thousand ranks runs tens of millions of ops).
  struct OpShape {
    std::uint32_t communication_tag = 0;  // communication ops: the tag; compute: the block
    OpKind kind = OpKind::compute;
    Stream stream = Stream::compute;
    bool changes_memory = false;          // a compute op with activation bytes
    SmHolder sm_holder = SmHolder::none;  // the SMs its kernel holds while it runs
  };
  // What every rank running one program shares, read-only during the run: its ops, their
  // dependents as compressed rows, and each stream's ops in program order.
  struct ProgramShape {
    const std::vector<Op>* ops = nullptr;
    std::vector<OpShape> op_shapes;
    std::vector<std::uint32_t> dependency_counts;
    std::vector<std::uint32_t> dependents_begin;  // CSR offsets, size ops + 1
    std::vector<std::uint32_t> dependents;
    std::vector<std::uint32_t> stream_ops[stream_count];
  };
  // A stream runs one op at a time: where it is in its list, whether its op is running, and
  // since when.
  struct StreamState {
    std::uint32_t head = 0;
    bool busy = false;
    SimTime start = 0;
  };
  // Each rank's own state: its ops' dependencies still to finish and its streams.
  struct RankState {
    const ProgramShape* shape = nullptr;
    std::vector<std::uint32_t> remaining_deps;
    StreamState streams[stream_count];
    std::size_t completed = 0;
    double activation_bytes = 0;
    double compute_factor = 1;  // its device's slowdown
    // Its device's block times (block_times_ of its compute model).
    const std::vector<SimTime>* block_time = nullptr;
    const OpJitter* jitter = nullptr;  // its device's, if any
    int device = 0;
    std::uint64_t compute_ops_started = 0;  // the jitter's op index
    double sm_count = 0;                    // its device's; 0: no slowdown by communication
    double collective_kernel_sms = 0;       // its device's NCCL kernels'
    double communication_sms = 0;           // held by its running communication kernels
    // The running compute op, re-timed whenever its rate changes: its work left (picoseconds at
    // the full rate), since when at which rate, and when it ends; stale end events are ignored.
    std::uint32_t compute_op = no_compute_op;
    double compute_left_ps = 0;
    double compute_rate = 1;
    SimTime compute_since = 0;
    SimTime compute_end = 0;
  };
  static constexpr std::uint32_t no_compute_op = 0xffffffff;

  ProgramShape make_shape(int rank, const std::vector<std::uint32_t>& communication_tags) const;
  SmHolder sm_holder(const Op& op) const;
  void try_start(int rank, Stream stream);
  // Throws PlanError at `op` when the rank's activation memory would fall below zero.
  void change_memory(int rank, std::uint32_t op, double delta);
  // The rank's communication kernels now hold `delta` more SMs: its running compute op goes on at
  // the new rate.
  void hold_sms(int rank, double delta);
  double compute_rate(const RankState& state) const;
  // The SMs a communication op's kernel holds on the rank's device.
  double held_sms(const RankState& state, SmHolder holder) const;
  void schedule_compute_end(int rank);

  const Plan& plan_;
  Engine& engine_;
  const ObserverList& observers_;
  CommunicationHandler& communication_;
  // Each block's time on each compute model the ranks use: [0] the one given, then the others
  // of SimulationOptions::compute_by_device in order of first use.
  std::vector<std::vector<SimTime>> block_times_;
  std::vector<std::optional<OpJitter>> jitter_by_device_;
  bool tensor_parallel_userbuffers_ = false;
  std::vector<ProgramShape> shapes_;
  std::vector<RankState> ranks_;
};

}  // namespace scaleplan
