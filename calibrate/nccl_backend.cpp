#include "calibrate/nccl_backend.hpp"

#include <cstdlib>
#include <stdexcept>

#include "calibrate/cpu_backend.hpp"
#include "calibrate/cuda_backend.hpp"

namespace scaleplan {

namespace {

void check_nccl(ncclResult_t status, const char* call) {
  if (status != ncclSuccess)
    throw std::runtime_error(std::string(call) + ": " + ncclGetErrorString(status));
}

#define SCALEPLAN_NCCL(call) check_nccl(call, #call)
#define SCALEPLAN_CUDA(call) check_cuda(call, #call)

class NcclGroup final : public CollectiveGroup {
 public:
  NcclGroup(MPI_Comm group, std::size_t max_bytes) {
    MPI_Comm_rank(group, &rank_);
    MPI_Comm_size(group, &size_);
    ncclUniqueId id;
    if (rank_ == 0)
      SCALEPLAN_NCCL(ncclGetUniqueId(&id));
    MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, group);
    SCALEPLAN_CUDA(cudaStreamCreate(&stream_));
    SCALEPLAN_NCCL(ncclCommInitRank(&comm_, size_, id, rank_));
    SCALEPLAN_CUDA(cudaMalloc(&send_, max_bytes));
    SCALEPLAN_CUDA(cudaMalloc(&receive_, max_bytes));
    // Non-zero data: some reductions are cheaper on zeros.
    SCALEPLAN_CUDA(cudaMemset(send_, 0x3c, max_bytes));
  }

  ~NcclGroup() override {
    ncclCommDestroy(comm_);
    cudaFree(receive_);
    cudaFree(send_);
    cudaStreamDestroy(stream_);
  }

  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;

  void start(CollectiveOp op, std::size_t bytes) override {
    const std::size_t count = bytes / 4;
    const std::size_t chunk = count / static_cast<std::size_t>(size_);
    auto* send = static_cast<float*>(send_);
    auto* receive = static_cast<float*>(receive_);
    switch (op) {
      case CollectiveOp::all_reduce:
        SCALEPLAN_NCCL(ncclAllReduce(send, receive, count, ncclFloat, ncclSum, comm_, stream_));
        break;
      case CollectiveOp::all_gather:
        SCALEPLAN_NCCL(ncclAllGather(send, receive, chunk, ncclFloat, comm_, stream_));
        break;
      case CollectiveOp::reduce_scatter:
        SCALEPLAN_NCCL(ncclReduceScatter(send, receive, chunk, ncclFloat, ncclSum, comm_, stream_));
        break;
      case CollectiveOp::all_to_all:
        // As nccl-tests' alltoall: one send and one receive per peer in a group call.
        SCALEPLAN_NCCL(ncclGroupStart());
        for (int peer = 0; peer < size_; ++peer) {
          const std::size_t offset = static_cast<std::size_t>(peer) * chunk;
          SCALEPLAN_NCCL(ncclSend(send + offset, chunk, ncclFloat, peer, comm_, stream_));
          SCALEPLAN_NCCL(ncclRecv(receive + offset, chunk, ncclFloat, peer, comm_, stream_));
        }
        SCALEPLAN_NCCL(ncclGroupEnd());
        break;
      case CollectiveOp::broadcast:
        SCALEPLAN_NCCL(ncclBroadcast(send, receive, count, ncclFloat, 0, comm_, stream_));
        break;
      case CollectiveOp::send_recv:
        SCALEPLAN_NCCL(ncclGroupStart());
        SCALEPLAN_NCCL(ncclSend(send, count, ncclFloat, (rank_ + 1) % size_, comm_, stream_));
        SCALEPLAN_NCCL(
            ncclRecv(receive, count, ncclFloat, (rank_ + size_ - 1) % size_, comm_, stream_));
        SCALEPLAN_NCCL(ncclGroupEnd());
        break;
    }
  }

  void synchronize() override { SCALEPLAN_CUDA(cudaStreamSynchronize(stream_)); }

 private:
  int rank_ = 0;
  int size_ = 1;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* send_ = nullptr;
  void* receive_ = nullptr;
};

}  // namespace

NcclBackend::NcclBackend(MPI_Comm world) {
  int world_rank = 0;
  MPI_Comm_rank(world, &world_rank);
  MPI_Comm node;
  MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL, &node);
  int local_rank = 0;
  MPI_Comm_rank(node, &local_rank);
  MPI_Comm_free(&node);
  int devices = 0;
  SCALEPLAN_CUDA(cudaGetDeviceCount(&devices));
  if (devices == 0)
    throw std::runtime_error("no CUDA device on this node");
  device_ = local_rank % devices;
  SCALEPLAN_CUDA(cudaSetDevice(device_));
}

Environment NcclBackend::environment() const {
  cudaDeviceProp properties{};
  SCALEPLAN_CUDA(cudaGetDeviceProperties(&properties, device_));
  int version = 0;
  SCALEPLAN_NCCL(ncclGetVersion(&version));
  Environment e;
  e.tool = "scaleplan-bench-nccl " SCALEPLAN_VERSION;
  e.backend = "nccl";
  e.device = properties.name;
  e.driver = nvidia_driver_version();
  e.cuda = cuda_runtime_version();
  // NCCL_VERSION_CODE is major·10000 + minor·100 + patch since 2.9.
  e.nccl = std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
           std::to_string(version % 100);
  return e;
}

std::string NcclBackend::algorithm() const {
  // NCCL picks its algorithm per call unless NCCL_ALGO forces one; the measurements say which.
  const char* forced = std::getenv("NCCL_ALGO");
  return forced && *forced ? std::string("nccl-") + forced : "nccl";
}

std::unique_ptr<CollectiveGroup> NcclBackend::make_group(MPI_Comm group, std::size_t max_bytes) {
  return std::make_unique<NcclGroup>(group, max_bytes);
}

}  // namespace scaleplan
