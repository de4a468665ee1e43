// The executor's core: runs one rank's program of a Plan on a backend that does the work (Eigen
// and MPI on a CPU, cuBLAS and NCCL on a GPU), step after step, and records when each op started
// and ended. It knows the plan's semantics (docs/plan-format.md) and nothing of MPI or CUDA: ops
// of a stream start in program order once their dependencies allow, the k-th collective a rank
// issues on a group is issued after its (k-1)-th (so every member issues a group's collectives in
// one order, as MPI and NCCL require), and the k-th send to a peer after the (k-1)-th.
//
// Times are seconds from the start of the step on the backend's clock; the backends start a step
// on every rank together (a barrier), so that the ranks' times compare.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/plan/plan.hpp"

namespace scaleplan {

// When an op of a step started and ended, in seconds from the step's start.
struct OpTimes {
  double start_s = 0;
  double end_s = 0;
};

// What runs the ops. start() begins op `index` of the rank's program (a synchronous backend
// finishes it there); poll() says whether it has finished, with its times once it has.
class ExecutionBackend {
 public:
  virtual ~ExecutionBackend() = default;
  // True when an op may be started as soon as its dependencies have been started (the device
  // orders them, as CUDA events do); false when they must have finished.
  virtual bool orders_dependencies() const = 0;
  // Called on every rank before each step; returns when every rank may begin it.
  virtual void begin_step() = 0;
  virtual void start(std::uint32_t index, const Op& op) = 0;
  virtual std::optional<OpTimes> poll(std::uint32_t index, const Op& op) = 0;
  // Called on a rank that gives up on a hung op, before every rank is stopped: a GPU backend
  // aborts its NCCL communicators (ncclCommAbort), whose kernels would otherwise spin for ever.
  virtual void abort() {}
  // Called when a pass over the streams started and finished nothing: a CPU backend yields its
  // core to the other ranks sharing it.
  virtual void idle() {}
  // Seconds since begin_step(), on the clock of start() and poll().
  virtual double now_s() const = 0;
  // The ranks of the op's group (or its peer) that have not yet issued their part of it, for the
  // message of a timeout; empty when the backend cannot tell.
  virtual std::vector<int> missing_ranks(std::uint32_t index, const Op& op) = 0;
};

struct ExecuteOptions {
  int warmup_steps = 1;
  int measured_steps = 3;
  // An op that has not finished this long after the rank last made progress is a hang.
  double timeout_s = 60;
  // Set (from a signal handler, say) to stop between polls.
  const std::atomic<bool>* interrupt = nullptr;
};

// What one rank measured: per measured step, each op's times (indexed as the program's ops).
struct RankMeasurement {
  int rank = 0;
  std::vector<std::vector<OpTimes>> steps;
  // Ops finished in the step that was cut short (by a hang or an interrupt), if any.
  std::vector<std::pair<std::uint32_t, OpTimes>> partial_step;
};

// Why a run stopped before its last step: the op that did not finish, and the text that names
// it, its group and the ranks that had not arrived.
class ExecutionStopped : public std::runtime_error {
 public:
  ExecutionStopped(const std::string& message, RankMeasurement so_far)
      : std::runtime_error(message), measured_(std::move(so_far)) {}
  const RankMeasurement& measured() const { return measured_; }

 private:
  RankMeasurement measured_;
};

// Runs options.warmup_steps then options.measured_steps steps of `program` (a rank of `plan`) on
// `backend`. Throws ExecutionStopped when an op hangs past the timeout or the interrupt is set,
// carrying the steps measured so far.
RankMeasurement execute_program(const Plan& plan, const RankProgram& program,
                                ExecutionBackend& backend, const ExecuteOptions& options);

// The plan with every rank listed: a plan written with data-parallel replicas (Plan::replicas)
// lists replica 0 only; this adds every other replica's copy of each listed rank, with its
// device, peers and groups shifted by whole replicas (docs/plan-format.md, "replicas"). A plan
// without replicas comes back as it is, each rank with a program of its own (Plan::unshare).
Plan expand_replicas(const Plan& plan);

// Why `plan` cannot run on `ranks` processes whose devices hold `device_memory_bytes` each and
// compute in `dtypes`: each problem as a sentence; empty when it can. Checks the world size, each
// rank's static memory plus its peak of activation memory, and every kernel's dtype.
struct ExecutionLimits {
  int ranks = 0;
  std::optional<double> device_memory_bytes;
  std::vector<Dtype> dtypes;  // empty: any
  std::string backend;        // named in the messages
};
std::vector<std::string> execution_problems(const Plan& plan, const ExecutionLimits& limits);

}  // namespace scaleplan
