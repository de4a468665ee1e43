// Running a plan on the ranks of MPI_COMM_WORLD: one MPI rank per plan rank, a communicator per
// plan group (its ranks in the group's ring order), the plan's collectives and messages as MPI's
// non-blocking ones (the CPU backend) or as a GPU backend's, and every rank's measurement
// gathered on rank 0. Under mpirun or srun (docs/execute.md).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <mpi.h>

#include "calibrate/executor/executor.hpp"
#include "calibrate/executor/measured_run.hpp"
#include "sim/mpi/mpi_session.hpp"

namespace scaleplan {

// What a backend needs of MPI: the world, each group's communicator, and the record of what
// this rank has issued, which other ranks read to say who has not arrived at a hung op.
class MpiContext {
 public:
  MpiContext(const Plan& plan, int world_rank, int world_size);
  ~MpiContext();
  MpiContext(const MpiContext&) = delete;
  MpiContext& operator=(const MpiContext&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // The communicator of group `g`, ranks in the group's order; MPI_COMM_NULL where this rank is
  // not a member.
  MPI_Comm comm(std::uint32_t g) const { return comms_[g]; }
  // Records that this rank issued `op` (a collective, send or receive).
  void note_issued(const Op& op);
  // The ranks that have issued fewer of `op`'s kind (on its group, or toward this rank) than
  // this rank has.
  std::vector<int> missing_ranks(const Op& op);

 private:
  std::int64_t counter_index(const Op& op, bool own) const;
  std::int64_t read(int rank, std::int64_t index);

  const Plan& plan_;
  int rank_ = 0;
  int size_ = 1;
  std::vector<MPI_Comm> comms_;
  MPI_Win window_ = MPI_WIN_NULL;
  std::int64_t* counters_ = nullptr;  // groups, then sends to each rank, then receives from each
};

// The CPU backend: Eigen kernels (cpu_kernels.hpp) and MPI's non-blocking collectives and
// messages on fp32 buffers of the plan's byte counts.
std::unique_ptr<ExecutionBackend> make_cpu_backend(const Plan& plan, const RankProgram& program,
                                                   MpiContext& context);

using BackendFactory =
    std::function<std::unique_ptr<ExecutionBackend>(const Plan&, const RankProgram&, MpiContext&)>;

struct MpiExecuteRequest {
  std::string backend = "cpu";  // named in messages and the summary
  std::string source;           // the program and its version
  BackendFactory make_backend = make_cpu_backend;
  ExecuteOptions options;
  ExecutionLimits limits;  // `ranks` is set from the world
  // Called on a rank that stops (an op hung past the timeout, or an interrupt) with what it
  // measured so far, before MPI_Abort ends every rank.
  std::function<void(const Timeline&)> write_partial;
  // The error code of MPI_Abort when a rank stops (mpirun exits with it).
  int abort_status = 4;
  // A test aid: this rank never issues this op index (a hang to detect).
  std::optional<std::pair<int, std::uint32_t>> stall;
};

// Why no rank ran the plan: every rank throws it, with the same text.
class ExecutionRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs `plan` (expand_replicas'd: every rank listed, rank i at index i) with one MPI rank per
// plan rank. Returns the gathered run on rank 0, nothing on the others. Throws ExecutionRefused
// on every rank when the plan cannot run here (execution_problems); a rank that stops calls
// request.write_partial, prints why on standard error, and calls MPI_Abort.
std::optional<MeasuredRun> execute_on_mpi(const Plan& plan, const MpiExecuteRequest& request);

}  // namespace scaleplan
