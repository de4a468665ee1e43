#include "calibrate/executor/cuda_executor.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nccl.h>

namespace scaleplan {

namespace {

void check(cudaError_t status, const char* call) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(call) + ": " + cudaGetErrorString(status));
}
void check(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(call) + ": cuBLAS status " +
                             std::to_string(static_cast<int>(status)));
}
void check(ncclResult_t status, const char* call) {
  if (status != ncclSuccess)
    throw std::runtime_error(std::string(call) + ": " + ncclGetErrorString(status));
}
#define SCALEPLAN_CHECK(call) check(call, #call)

struct GemmTypes {
  cudaDataType_t data;
  cublasComputeType_t compute;
  std::size_t element_bytes;
};

// fp8 GEMMs need cuBLASLt's layouts; the executor runs them in bf16 (twice the operand bytes, the
// same FLOPs), which the summary's source names.
GemmTypes gemm_types(Dtype dtype) {
  switch (dtype) {
    case Dtype::fp32:
      return {CUDA_R_32F, CUBLAS_COMPUTE_32F, 4};
    case Dtype::tf32:
      return {CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, 4};
    case Dtype::fp16:
      return {CUDA_R_16F, CUBLAS_COMPUTE_32F, 2};
    case Dtype::bf16:
    case Dtype::fp8:
      return {CUDA_R_16BF, CUBLAS_COMPUTE_32F, 2};
  }
  return {CUDA_R_32F, CUBLAS_COMPUTE_32F, 4};
}

bool is_matrix(const Kernel& k) {
  return (k.kind == KernelKind::gemm || k.kind == KernelKind::attention) && k.gemm.m > 0 &&
         k.gemm.n > 0 && k.gemm.k > 0;
}

std::int64_t gemm_calls(const Kernel& k) {
  const double one = 2.0 * static_cast<double>(k.gemm.m) * static_cast<double>(k.gemm.n) *
                     static_cast<double>(k.gemm.k);
  return std::max<std::int64_t>(
      {1, std::llround(k.flops / one), k.kind == KernelKind::gemm ? k.gemm.batch : 1});
}

std::size_t local_rank() {
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int rank = 0;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_free(&node);
  return static_cast<std::size_t>(rank);
}

ncclComm_t nccl_comm(MPI_Comm comm) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  ncclUniqueId id;
  if (rank == 0)
    SCALEPLAN_CHECK(ncclGetUniqueId(&id));
  MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, comm);
  ncclComm_t out = nullptr;
  SCALEPLAN_CHECK(ncclCommInitRank(&out, size, id, rank));
  return out;
}

class CudaNcclBackend final : public ExecutionBackend {
 public:
  CudaNcclBackend(const Plan& plan, const RankProgram& program, MpiContext& context)
      : plan_(plan), program_(program), context_(context) {
    int devices = 0;
    SCALEPLAN_CHECK(cudaGetDeviceCount(&devices));
    if (devices == 0)
      throw std::runtime_error("the cuda backend found no GPU");
    SCALEPLAN_CHECK(
        cudaSetDevice(static_cast<int>(local_rank() % static_cast<std::size_t>(devices))));
    for (cudaStream_t& s : streams_)
      SCALEPLAN_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    SCALEPLAN_CHECK(cublasCreate(&cublas_));
    SCALEPLAN_CHECK(cublasSetStream(cublas_, streams_[static_cast<int>(Stream::compute)]));
    // Communicators: one per group this rank is in, in plan order (as MpiContext made them), and
    // two over the world for messages, one per direction of the pipeline, so that a stage's sends
    // to the next stage and its receives from it never share a communicator's order.
    comms_.assign(plan.groups.size(), nullptr);
    for (std::uint32_t g = 0; g < plan.groups.size(); ++g) {
      if (context.comm(g) != MPI_COMM_NULL)
        comms_[g] = nccl_comm(context.comm(g));
    }
    forward_ = nccl_comm(MPI_COMM_WORLD);
    backward_ = nccl_comm(MPI_COMM_WORLD);
    allocate();
    const std::size_t n = program.ops.size();
    begin_.resize(n);
    end_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      SCALEPLAN_CHECK(cudaEventCreate(&begin_[i]));
      SCALEPLAN_CHECK(cudaEventCreate(&end_[i]));
    }
    SCALEPLAN_CHECK(cudaEventCreate(&step_start_));
  }

  ~CudaNcclBackend() override {
    cudaDeviceSynchronize();
    for (ncclComm_t c : comms_) {
      if (c)
        ncclCommDestroy(c);
    }
    ncclCommDestroy(forward_);
    ncclCommDestroy(backward_);
    for (cudaEvent_t e : begin_)
      cudaEventDestroy(e);
    for (cudaEvent_t e : end_)
      cudaEventDestroy(e);
    cudaEventDestroy(step_start_);
    cublasDestroy(cublas_);
    for (void* p : {a_, b_, c_, send_, receive_})
      cudaFree(p);
    for (cudaStream_t s : streams_)
      cudaStreamDestroy(s);
  }

  CudaNcclBackend(const CudaNcclBackend&) = delete;
  CudaNcclBackend& operator=(const CudaNcclBackend&) = delete;

  bool orders_dependencies() const override { return true; }

  void begin_step() override {
    SCALEPLAN_CHECK(cudaDeviceSynchronize());
    MPI_Barrier(MPI_COMM_WORLD);
    host_start_ = std::chrono::steady_clock::now();
    const cudaStream_t compute = streams_[static_cast<int>(Stream::compute)];
    SCALEPLAN_CHECK(cudaEventRecord(step_start_, compute));
    for (cudaStream_t s : streams_) {
      if (s != compute)
        SCALEPLAN_CHECK(cudaStreamWaitEvent(s, step_start_, 0));
    }
  }

  double now_s() const override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - host_start_).count();
  }

  void start(std::uint32_t index, const Op& op) override {
    const cudaStream_t stream = streams_[static_cast<int>(op.stream)];
    for (const std::uint32_t d : op.deps) {
      if (program_.ops[d].stream != op.stream)
        SCALEPLAN_CHECK(cudaStreamWaitEvent(stream, end_[d], 0));
    }
    SCALEPLAN_CHECK(cudaEventRecord(begin_[index], stream));
    if (op.kind == OpKind::compute) {
      for (const Kernel& k : plan_.blocks[op.block].kernels)
        run(k, stream);
    } else {
      context_.note_issued(op);
      communicate(op, stream);
    }
    SCALEPLAN_CHECK(cudaEventRecord(end_[index], stream));
  }

  std::optional<OpTimes> poll(std::uint32_t index, const Op&) override {
    const cudaError_t status = cudaEventQuery(end_[index]);
    if (status == cudaErrorNotReady)
      return std::nullopt;
    SCALEPLAN_CHECK(status);
    float begin_ms = 0, end_ms = 0;
    SCALEPLAN_CHECK(cudaEventElapsedTime(&begin_ms, step_start_, begin_[index]));
    SCALEPLAN_CHECK(cudaEventElapsedTime(&end_ms, step_start_, end_[index]));
    return OpTimes{begin_ms / 1e3, end_ms / 1e3};
  }

  std::vector<int> missing_ranks(std::uint32_t, const Op& op) override {
    return context_.missing_ranks(op);
  }

  // A hung collective: NCCL's kernels would spin for ever; abort every communicator first.
  void abort() override {
    for (ncclComm_t c : comms_) {
      if (c)
        ncclCommAbort(c);
    }
    ncclCommAbort(forward_);
    ncclCommAbort(backward_);
    comms_.assign(comms_.size(), nullptr);
  }

 private:
  void allocate() {
    std::size_t a = 1, b = 1, c = 1, copy = 1, message = 1;
    for (const ComputeBlock& block : plan_.blocks) {
      for (const Kernel& k : block.kernels) {
        const std::size_t e = gemm_types(k.dtype).element_bytes;
        if (is_matrix(k)) {
          a = std::max(a, static_cast<std::size_t>(k.gemm.m * k.gemm.k) * e);
          b = std::max(b, static_cast<std::size_t>(k.gemm.k * k.gemm.n) * e);
          c = std::max(c, static_cast<std::size_t>(k.gemm.m * k.gemm.n) * e);
        } else {
          copy = std::max(copy, static_cast<std::size_t>(k.bytes / 2));
        }
      }
    }
    for (const Op& op : program_.ops) {
      if (op.kind != OpKind::compute)
        message = std::max(message, static_cast<std::size_t>(op.bytes) + 64 * 4);
    }
    SCALEPLAN_CHECK(cudaMalloc(&a_, std::max(a, copy)));
    SCALEPLAN_CHECK(cudaMalloc(&b_, b));
    SCALEPLAN_CHECK(cudaMalloc(&c_, std::max(c, copy)));
    SCALEPLAN_CHECK(cudaMalloc(&send_, message));
    SCALEPLAN_CHECK(cudaMalloc(&receive_, message));
    // Non-zero operands: a GPU saves power on zeros and would time them short.
    for (void* p : {a_, b_, send_})
      SCALEPLAN_CHECK(cudaMemset(p, 0x3c, p == a_ ? std::max(a, copy) : p == b_ ? b : message));
  }

  void run(const Kernel& k, cudaStream_t stream) {
    if (!is_matrix(k)) {
      const auto bytes = static_cast<std::size_t>(std::max(1.0, k.bytes / 2));
      SCALEPLAN_CHECK(cudaMemcpyAsync(c_, a_, bytes, cudaMemcpyDeviceToDevice, stream));
      return;
    }
    SCALEPLAN_CHECK(cublasSetStream(cublas_, stream));
    const GemmTypes t = gemm_types(k.dtype);
    const float alpha = 1, beta = 0;
    const auto m = static_cast<int>(k.gemm.m), n = static_cast<int>(k.gemm.n),
               kk = static_cast<int>(k.gemm.k);
    for (std::int64_t i = gemm_calls(k); i > 0; --i) {
      SCALEPLAN_CHECK(cublasGemmEx(cublas_, CUBLAS_OP_N, CUBLAS_OP_N, m, n, kk, &alpha, a_, t.data,
                                   m, b_, t.data, kk, &beta, c_, t.data, m, t.compute,
                                   CUBLAS_GEMM_DEFAULT));
    }
  }

  void communicate(const Op& op, cudaStream_t stream) {
    const auto count = static_cast<std::size_t>(std::max(1.0, std::round(op.bytes / 4)));
    auto* send = static_cast<float*>(send_);
    auto* receive = static_cast<float*>(receive_);
    if (op.kind == OpKind::send || op.kind == OpKind::recv) {
      // Forward: sends to the next stage and receives from the previous one.
      const bool forward = op.stream == Stream::pp_send_next || op.stream == Stream::pp_recv_prev;
      ncclComm_t comm = forward ? forward_ : backward_;
      if (op.kind == OpKind::send)
        SCALEPLAN_CHECK(ncclSend(send, count, ncclFloat, op.peer, comm, stream));
      else
        SCALEPLAN_CHECK(ncclRecv(receive, count, ncclFloat, op.peer, comm, stream));
      return;
    }
    ncclComm_t comm = comms_[op.group];
    const std::size_t members = plan_.groups[op.group].ranks.size();
    const std::size_t chunk = std::max<std::size_t>(1, count / members);
    switch (op.collective) {
      case CollectiveKind::all_reduce:
        SCALEPLAN_CHECK(ncclAllReduce(send, receive, count, ncclFloat, ncclSum, comm, stream));
        break;
      case CollectiveKind::reduce_scatter:
        SCALEPLAN_CHECK(ncclReduceScatter(send, receive, chunk, ncclFloat, ncclSum, comm, stream));
        break;
      case CollectiveKind::all_gather:
        SCALEPLAN_CHECK(ncclAllGather(send, receive, chunk, ncclFloat, comm, stream));
        break;
      case CollectiveKind::all_to_all:
        SCALEPLAN_CHECK(ncclGroupStart());
        for (std::size_t r = 0; r < members; ++r) {
          SCALEPLAN_CHECK(
              ncclSend(send + r * chunk, chunk, ncclFloat, static_cast<int>(r), comm, stream));
          SCALEPLAN_CHECK(
              ncclRecv(receive + r * chunk, chunk, ncclFloat, static_cast<int>(r), comm, stream));
        }
        SCALEPLAN_CHECK(ncclGroupEnd());
        break;
      case CollectiveKind::broadcast:
        SCALEPLAN_CHECK(ncclBroadcast(send, receive, count, ncclFloat, 0, comm, stream));
        break;
    }
  }

  const Plan& plan_;
  const RankProgram& program_;
  MpiContext& context_;
  std::array<cudaStream_t, stream_count> streams_{};
  cublasHandle_t cublas_ = nullptr;
  std::vector<ncclComm_t> comms_;
  ncclComm_t forward_ = nullptr;
  ncclComm_t backward_ = nullptr;
  void* a_ = nullptr;
  void* b_ = nullptr;
  void* c_ = nullptr;
  void* send_ = nullptr;
  void* receive_ = nullptr;
  std::vector<cudaEvent_t> begin_, end_;
  cudaEvent_t step_start_ = nullptr;
  std::chrono::steady_clock::time_point host_start_ = std::chrono::steady_clock::now();
};

}  // namespace

bool cuda_device_present() {
  int devices = 0;
  return cudaGetDeviceCount(&devices) == cudaSuccess && devices > 0;
}

std::unique_ptr<ExecutionBackend> make_cuda_backend(const Plan& plan, const RankProgram& program,
                                                    MpiContext& context) {
  return std::make_unique<CudaNcclBackend>(plan, program, context);
}

}  // namespace scaleplan
