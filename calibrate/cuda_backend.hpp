// The compute benchmarks on an NVIDIA GPU: cuBLAS GEMMs (cublasLt for fp8), the STREAM copy and
// triad, and empty-kernel launches, each timed with CUDA events after warm-up.
#pragma once

#include <string>

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "calibrate/compute_bench.hpp"

namespace scaleplan {

// Throws std::runtime_error naming the call and the CUDA error when `status` is not success.
void check_cuda(cudaError_t status, const char* call);
void check_cublas(cublasStatus_t status, const char* call);

// "13.0" from cudaRuntimeGetVersion; the kernel driver's version from /proc/driver/nvidia/version
// (the CUDA driver API version where that file is missing).
std::string cuda_runtime_version();
std::string nvidia_driver_version();

class CudaBackend final : public ComputeBackend {
 public:
  explicit CudaBackend(int device = 0);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  Environment environment() const override;
  std::optional<std::string> unsupported(Dtype dtype) const override;
  std::optional<std::string> cannot_run(Dtype dtype, const GemmDims& dims) const override;
  double gemm_time_s(Dtype dtype, const GemmDims& dims, const TimingOptions& timing) override;
  double copy_time_s(std::int64_t elements, const TimingOptions& timing) override;
  double triad_time_s(std::int64_t elements, const TimingOptions& timing) override;
  double launch_time_s(const TimingOptions& timing) override;

 private:
  // Median milliseconds of `repeats` timed calls of `body` between two events on the stream.
  template <class Body>
  double time_events_s(const TimingOptions& timing, Body&& body);
  void gemm_fp8(const GemmDims& dims, const void* a, const void* b, void* c);

  int device_ = 0;
  cudaDeviceProp properties_{};
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cublasLtHandle_t blas_lt_ = nullptr;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 32u << 20;
};

}  // namespace scaleplan
