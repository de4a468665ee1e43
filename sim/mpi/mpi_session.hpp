// MPI for the life of a command: the sweep across ranks (sim/sweep) and the executor
// (calibrate/executor) both start MPI through this one object.
#pragma once

namespace scaleplan {

// Whether this process was started by an MPI launcher with more than one rank (mpirun, srun).
bool launched_by_mpi();

// MPI_Init_thread (funneled: only the thread that made the session calls MPI) unless MPI is
// initialised already, and MPI_Finalize when this session initialised it.
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  // Whether every rank passes `ok` (a collective call: every rank must make it).
  bool all(bool ok) const;
  // Ends every rank of the job with `code` (MPI_Abort): for an error on one rank while the others
  // wait for it.
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0;
  int size_ = 1;
  bool finalize_ = false;
};

}  // namespace scaleplan
