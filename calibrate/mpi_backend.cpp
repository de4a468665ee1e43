#include "calibrate/mpi_backend.hpp"

#include <climits>
#include <stdexcept>
#include <vector>

#include "calibrate/cpu_backend.hpp"

namespace scaleplan {

namespace {

class MpiGroup final : public CollectiveGroup {
 public:
  MpiGroup(MPI_Comm comm, std::size_t max_bytes)
      : comm_(comm), send_(max_bytes / 4 + 1, 1.0f), receive_(max_bytes / 4 + 1, 0.0f) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }

  void start(CollectiveOp op, std::size_t bytes) override {
    const std::size_t elements = bytes / 4;
    if (elements > static_cast<std::size_t>(INT_MAX))
      throw std::invalid_argument("MPI counts are int: lower --max-bytes below 8 GiB");
    const int count = static_cast<int>(elements);
    const int chunk = count / size_;
    float* send = send_.data();
    float* receive = receive_.data();
    switch (op) {
      case CollectiveOp::all_reduce:
        MPI_Allreduce(send, receive, count, MPI_FLOAT, MPI_SUM, comm_);
        break;
      case CollectiveOp::all_gather:
        MPI_Allgather(send, chunk, MPI_FLOAT, receive, chunk, MPI_FLOAT, comm_);
        break;
      case CollectiveOp::reduce_scatter:
        MPI_Reduce_scatter_block(send, receive, chunk, MPI_FLOAT, MPI_SUM, comm_);
        break;
      case CollectiveOp::all_to_all:
        MPI_Alltoall(send, chunk, MPI_FLOAT, receive, chunk, MPI_FLOAT, comm_);
        break;
      case CollectiveOp::broadcast:
        MPI_Bcast(send, count, MPI_FLOAT, 0, comm_);
        break;
      case CollectiveOp::send_recv:
        // A ring, as nccl-tests' sendrecv: every rank sends to the next and receives from the
        // previous at once.
        MPI_Sendrecv(send, count, MPI_FLOAT, (rank_ + 1) % size_, 0, receive, count, MPI_FLOAT,
                     (rank_ + size_ - 1) % size_, 0, comm_, MPI_STATUS_IGNORE);
        break;
    }
  }

  // MPI's collectives are blocking: a started one has finished.
  void synchronize() override {}

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
  std::vector<float> send_;
  std::vector<float> receive_;
};

}  // namespace

Environment MpiBackend::environment() const {
  Environment e;
  e.tool = "scaleplan-bench-mpi " SCALEPLAN_VERSION;
  e.backend = "mpi";
  e.device = cpu_model_name();
  return e;
}

std::unique_ptr<CollectiveGroup> MpiBackend::make_group(MPI_Comm group, std::size_t max_bytes) {
  return std::make_unique<MpiGroup>(group, max_bytes);
}

}  // namespace scaleplan
