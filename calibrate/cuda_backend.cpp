#include "calibrate/cuda_backend.hpp"

#include <fstream>
#include <stdexcept>
#include <vector>

#include "calibrate/cpu_backend.hpp"
#include "calibrate/cuda_kernels.hpp"
#include "calibrate/text_scan.hpp"

namespace scaleplan {

void check_cuda(cudaError_t status, const char* call) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(call) + ": " + cudaGetErrorString(status));
}

void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(call) + ": " + cublasGetStatusString(status));
}

#define SCALEPLAN_CUDA(call) check_cuda(call, #call)
#define SCALEPLAN_CUBLAS(call) check_cublas(call, #call)

std::string cuda_runtime_version() {
  int version = 0;
  SCALEPLAN_CUDA(cudaRuntimeGetVersion(&version));
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

std::string nvidia_driver_version() {
  std::ifstream in("/proc/driver/nvidia/version");
  std::string line;
  if (std::getline(in, line)) {
    if (auto version = nvidia_module_version_in(line))
      return *version;
  }
  int api = 0;
  SCALEPLAN_CUDA(cudaDriverGetVersion(&api));
  return "CUDA driver API " + std::to_string(api / 1000) + "." + std::to_string(api % 1000 / 10);
}

namespace {

// Device memory freed when it goes out of scope, so a throwing benchmark leaks nothing.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) {
    SCALEPLAN_CUDA(cudaMalloc(&data_, bytes > 0 ? bytes : 1));
  }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return data_; }
  float* floats() const { return static_cast<float*>(data_); }

 private:
  void* data_ = nullptr;
};

struct GemmTypes {
  cuda::Element operand;
  cuda::Element result;
  cudaDataType_t operand_type;
  cudaDataType_t result_type;
  cublasComputeType_t compute;
};

GemmTypes gemm_types(Dtype dtype) {
  switch (dtype) {
    case Dtype::fp32:
      return {cuda::Element::f32, cuda::Element::f32, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F};
    case Dtype::tf32:
      return {cuda::Element::f32, cuda::Element::f32, CUDA_R_32F, CUDA_R_32F,
              CUBLAS_COMPUTE_32F_FAST_TF32};
    case Dtype::bf16:
      return {cuda::Element::bf16, cuda::Element::bf16, CUDA_R_16BF, CUDA_R_16BF,
              CUBLAS_COMPUTE_32F};
    case Dtype::fp16:
      return {cuda::Element::f16, cuda::Element::f16, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F};
    case Dtype::fp8:
      // fp8 inputs with a bf16 result, as Transformer Engine runs its fp8 GEMMs.
      return {cuda::Element::e4m3, cuda::Element::bf16, CUDA_R_8F_E4M3, CUDA_R_16BF,
              CUBLAS_COMPUTE_32F};
  }
  throw std::invalid_argument("unknown dtype");
}

std::size_t gemm_bytes(Dtype dtype, const GemmDims& d) {
  const GemmTypes t = gemm_types(dtype);
  const auto m = static_cast<std::size_t>(d.m), n = static_cast<std::size_t>(d.n),
             k = static_cast<std::size_t>(d.k), batch = static_cast<std::size_t>(d.batch);
  return batch *
         ((m * k + k * n) * cuda::element_bytes(t.operand) + m * n * cuda::element_bytes(t.result));
}

}  // namespace

CudaBackend::CudaBackend(int device) : device_(device) {
  SCALEPLAN_CUDA(cudaSetDevice(device_));
  SCALEPLAN_CUDA(cudaGetDeviceProperties(&properties_, device_));
  SCALEPLAN_CUDA(cudaStreamCreate(&stream_));
  SCALEPLAN_CUDA(cudaEventCreate(&start_));
  SCALEPLAN_CUDA(cudaEventCreate(&stop_));
  SCALEPLAN_CUBLAS(cublasCreate(&blas_));
  SCALEPLAN_CUBLAS(cublasSetStream(blas_, stream_));
  SCALEPLAN_CUBLAS(cublasLtCreate(&blas_lt_));
  SCALEPLAN_CUDA(cudaMalloc(&workspace_, workspace_bytes_));
  SCALEPLAN_CUBLAS(cublasSetWorkspace(blas_, workspace_, workspace_bytes_));
}

CudaBackend::~CudaBackend() {
  cudaFree(workspace_);
  cublasLtDestroy(blas_lt_);
  cublasDestroy(blas_);
  cudaEventDestroy(stop_);
  cudaEventDestroy(start_);
  cudaStreamDestroy(stream_);
}

Environment CudaBackend::environment() const {
  Environment e;
  e.tool = "scaleplan-bench-gpu " SCALEPLAN_VERSION;
  e.backend = "cuda";
  e.device = properties_.name;
  e.driver = nvidia_driver_version();
  e.cuda = cuda_runtime_version();
  int blas_version = 0;
  cublasGetVersion(blas_, &blas_version);
  e.blas = "cuBLAS " + std::to_string(blas_version / 10000) + "." +
           std::to_string(blas_version / 100 % 100) + "." + std::to_string(blas_version % 100);
  e.hosts = {host_name()};
  return e;
}

std::optional<std::string> CudaBackend::unsupported(Dtype dtype) const {
  const int capability = properties_.major * 10 + properties_.minor;
  const std::string have = "this device is compute capability " +
                           std::to_string(properties_.major) + "." +
                           std::to_string(properties_.minor);
  if ((dtype == Dtype::tf32 || dtype == Dtype::bf16) && capability < 80)
    return std::string(to_string(dtype)) + " tensor-core GEMMs need compute capability 8.0; " +
           have;
  if (dtype == Dtype::fp8 && capability < 89)
    return "fp8 GEMMs (cublasLt) need compute capability 8.9 or newer; " + have;
  return std::nullopt;
}

std::optional<std::string> CudaBackend::cannot_run(Dtype dtype, const GemmDims& dims) const {
  std::size_t free_bytes = 0, total_bytes = 0;
  SCALEPLAN_CUDA(cudaMemGetInfo(&free_bytes, &total_bytes));
  const std::size_t needed = gemm_bytes(dtype, dims);
  // Headroom for cuBLAS's own allocations.
  if (needed + (256u << 20) > free_bytes) {
    return "needs " + std::to_string(needed >> 20) + " MiB, " + std::to_string(free_bytes >> 20) +
           " MiB free";
  }
  return std::nullopt;
}

template <class Body>
double CudaBackend::time_events_s(const TimingOptions& timing, Body&& body) {
  for (int i = 0; i < timing.warmup; ++i)
    body();
  std::vector<double> samples;
  for (int i = 0; i < timing.repeats; ++i) {
    SCALEPLAN_CUDA(cudaEventRecord(start_, stream_));
    body();
    SCALEPLAN_CUDA(cudaEventRecord(stop_, stream_));
    SCALEPLAN_CUDA(cudaEventSynchronize(stop_));
    float ms = 0;
    SCALEPLAN_CUDA(cudaEventElapsedTime(&ms, start_, stop_));
    samples.push_back(static_cast<double>(ms) * 1e-3);
  }
  SCALEPLAN_CUDA(cudaGetLastError());
  return median_of(samples);
}

void CudaBackend::gemm_fp8(const GemmDims& d, const void* a, const void* b, void* c) {
  // cublasLt's fp8 kernels want A transposed ("TN"): A is stored k × m, B k × n, C m × n.
  cublasLtMatmulDesc_t operation = nullptr;
  SCALEPLAN_CUBLAS(cublasLtMatmulDescCreate(&operation, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t transpose = CUBLAS_OP_T;
  SCALEPLAN_CUBLAS(cublasLtMatmulDescSetAttribute(operation, CUBLASLT_MATMUL_DESC_TRANSA,
                                                  &transpose, sizeof transpose));
  const auto m = static_cast<std::uint64_t>(d.m), n = static_cast<std::uint64_t>(d.n),
             k = static_cast<std::uint64_t>(d.k);
  cublasLtMatrixLayout_t layout_a = nullptr, layout_b = nullptr, layout_c = nullptr;
  SCALEPLAN_CUBLAS(
      cublasLtMatrixLayoutCreate(&layout_a, CUDA_R_8F_E4M3, k, m, static_cast<std::int64_t>(k)));
  SCALEPLAN_CUBLAS(
      cublasLtMatrixLayoutCreate(&layout_b, CUDA_R_8F_E4M3, k, n, static_cast<std::int64_t>(k)));
  SCALEPLAN_CUBLAS(
      cublasLtMatrixLayoutCreate(&layout_c, CUDA_R_16BF, m, n, static_cast<std::int64_t>(m)));
  if (d.batch > 1) {
    const auto batch = static_cast<std::int32_t>(d.batch);
    const std::int64_t strides[3] = {static_cast<std::int64_t>(m * k),
                                     static_cast<std::int64_t>(k * n),
                                     static_cast<std::int64_t>(m * n)};
    cublasLtMatrixLayout_t layouts[3] = {layout_a, layout_b, layout_c};
    for (int i = 0; i < 3; ++i) {
      SCALEPLAN_CUBLAS(cublasLtMatrixLayoutSetAttribute(
          layouts[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch));
      SCALEPLAN_CUBLAS(cublasLtMatrixLayoutSetAttribute(
          layouts[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &strides[i], sizeof strides[i]));
    }
  }
  cublasLtMatmulPreference_t preference = nullptr;
  SCALEPLAN_CUBLAS(cublasLtMatmulPreferenceCreate(&preference));
  SCALEPLAN_CUBLAS(
      cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                           &workspace_bytes_, sizeof workspace_bytes_));
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  SCALEPLAN_CUBLAS(cublasLtMatmulAlgoGetHeuristic(blas_lt_, operation, layout_a, layout_b, layout_c,
                                                  layout_c, preference, 1, &heuristic, &found));
  const float alpha = 1, beta = 0;
  cublasStatus_t status = CUBLAS_STATUS_NOT_SUPPORTED;
  if (found > 0) {
    status =
        cublasLtMatmul(blas_lt_, operation, &alpha, a, layout_a, b, layout_b, &beta, c, layout_c, c,
                       layout_c, &heuristic.algo, workspace_, workspace_bytes_, stream_);
  }
  cublasLtMatmulPreferenceDestroy(preference);
  cublasLtMatrixLayoutDestroy(layout_c);
  cublasLtMatrixLayoutDestroy(layout_b);
  cublasLtMatrixLayoutDestroy(layout_a);
  cublasLtMatmulDescDestroy(operation);
  check_cublas(status, "cublasLtMatmul (fp8)");
}

double CudaBackend::gemm_time_s(Dtype dtype, const GemmDims& d, const TimingOptions& timing) {
  if (auto why = unsupported(dtype))
    throw std::invalid_argument(*why);
  const GemmTypes t = gemm_types(dtype);
  const auto m = static_cast<std::size_t>(d.m), n = static_cast<std::size_t>(d.n),
             k = static_cast<std::size_t>(d.k), batch = static_cast<std::size_t>(d.batch);
  const std::size_t operand_bytes = cuda::element_bytes(t.operand);
  DeviceBuffer a(batch * m * k * operand_bytes), b(batch * k * n * operand_bytes),
      c(batch * m * n * cuda::element_bytes(t.result));
  cuda::fill_random(a.get(), batch * m * k, t.operand, 1, stream_);
  cuda::fill_random(b.get(), batch * k * n, t.operand, 2, stream_);
  SCALEPLAN_CUDA(cudaGetLastError());
  const float alpha = 1, beta = 0;
  const int mi = static_cast<int>(d.m), ni = static_cast<int>(d.n), ki = static_cast<int>(d.k);
  return time_events_s(timing, [&] {
    if (dtype == Dtype::fp8) {
      gemm_fp8(d, a.get(), b.get(), c.get());
    } else if (d.batch == 1) {
      SCALEPLAN_CUBLAS(cublasGemmEx(blas_, CUBLAS_OP_N, CUBLAS_OP_N, mi, ni, ki, &alpha, a.get(),
                                    t.operand_type, mi, b.get(), t.operand_type, ki, &beta, c.get(),
                                    t.result_type, mi, t.compute, CUBLAS_GEMM_DEFAULT));
    } else {
      SCALEPLAN_CUBLAS(cublasGemmStridedBatchedEx(
          blas_, CUBLAS_OP_N, CUBLAS_OP_N, mi, ni, ki, &alpha, a.get(), t.operand_type, mi,
          static_cast<long long>(m * k), b.get(), t.operand_type, ki, static_cast<long long>(k * n),
          &beta, c.get(), t.result_type, mi, static_cast<long long>(m * n),
          static_cast<int>(d.batch), t.compute, CUBLAS_GEMM_DEFAULT));
    }
  });
}

double CudaBackend::copy_time_s(std::int64_t elements, const TimingOptions& timing) {
  const auto n = static_cast<std::size_t>(elements);
  DeviceBuffer a(n * 4), b(n * 4);
  cuda::fill_random(b.get(), n, cuda::Element::f32, 3, stream_);
  return time_events_s(timing, [&] { cuda::copy(a.floats(), b.floats(), n, stream_); });
}

double CudaBackend::triad_time_s(std::int64_t elements, const TimingOptions& timing) {
  const auto n = static_cast<std::size_t>(elements);
  DeviceBuffer a(n * 4), b(n * 4), c(n * 4);
  cuda::fill_random(b.get(), n, cuda::Element::f32, 4, stream_);
  cuda::fill_random(c.get(), n, cuda::Element::f32, 5, stream_);
  return time_events_s(timing,
                       [&] { cuda::triad(a.floats(), b.floats(), c.floats(), 3.0f, n, stream_); });
}

double CudaBackend::launch_time_s(const TimingOptions& timing) {
  // One empty kernel is shorter than the events' resolution (about 0.5 us), so a sample is the
  // mean over many back-to-back launches: the per-kernel cost while the host keeps ahead.
  constexpr int launches_per_sample = 1000;
  return time_events_s(timing,
                       [&] {
                         for (int i = 0; i < launches_per_sample; ++i)
                           cuda::empty_kernel(stream_);
                       }) /
         launches_per_sample;
}

}  // namespace scaleplan
