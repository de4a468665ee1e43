#include "calibrate/mpi_backend.hpp"

#include <array>
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

  // The non-blocking calls that `scaleplan execute --backend cpu` posts (MPI_Iallreduce, ...),
  // waited for at once: Open MPI runs them with other algorithms than its blocking ones (libnbc's
  // schedules rather than the tuned component's), 30 to 50 % slower on one host, so a profile of
  // the blocking calls predicts the executed collectives too fast.
  void start(CollectiveOp op, std::size_t bytes) override {
    const std::size_t elements = bytes / 4;
    if (elements > static_cast<std::size_t>(INT_MAX))
      throw std::invalid_argument("MPI counts are int: lower --max-bytes below 8 GiB");
    const int count = static_cast<int>(elements);
    const int chunk = count / size_;
    float* send = send_.data();
    float* receive = receive_.data();
    std::array<MPI_Request, 2> requests{MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    switch (op) {
      case CollectiveOp::all_reduce:
        MPI_Iallreduce(send, receive, count, MPI_FLOAT, MPI_SUM, comm_, &requests[0]);
        break;
      case CollectiveOp::all_gather:
        MPI_Iallgather(send, chunk, MPI_FLOAT, receive, chunk, MPI_FLOAT, comm_, &requests[0]);
        break;
      case CollectiveOp::reduce_scatter:
        MPI_Ireduce_scatter_block(send, receive, chunk, MPI_FLOAT, MPI_SUM, comm_, &requests[0]);
        break;
      case CollectiveOp::all_to_all:
        MPI_Ialltoall(send, chunk, MPI_FLOAT, receive, chunk, MPI_FLOAT, comm_, &requests[0]);
        break;
      case CollectiveOp::broadcast:
        MPI_Ibcast(send, count, MPI_FLOAT, 0, comm_, &requests[0]);
        break;
      case CollectiveOp::send_recv:
        // A ring, as nccl-tests' sendrecv: every rank sends to the next and receives from the
        // previous at once, with the executor's MPI_Isend and MPI_Irecv.
        MPI_Irecv(receive, count, MPI_FLOAT, (rank_ + size_ - 1) % size_, 0, comm_, &requests[0]);
        MPI_Isend(send, count, MPI_FLOAT, (rank_ + 1) % size_, 0, comm_, &requests[1]);
        break;
    }
    MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
  }

  // start() waits for what it posted: a started collective has finished.
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
