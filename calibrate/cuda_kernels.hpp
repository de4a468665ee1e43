// The few device kernels the GPU benchmarks need beyond cuBLAS: filling operands with values that
// keep the tensor cores busy (zeros would let the GPU save power and skew timings), the STREAM
// copy and triad, and an empty kernel for the launch overhead. Compiled by nvcc; called from
// host C++.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_runtime.h>

namespace scaleplan::cuda {

enum class Element { f32, f16, bf16, e4m3 };

std::size_t element_bytes(Element element);
// Deterministic pseudo-random values in [-1, 1) from `seed`.
void fill_random(void* data, std::size_t elements, Element element, std::uint32_t seed,
                 cudaStream_t stream);
// a[i] = b[i]
void copy(float* a, const float* b, std::size_t elements, cudaStream_t stream);
// a[i] = b[i] + scalar · c[i]
void triad(float* a, const float* b, const float* c, float scalar, std::size_t elements,
           cudaStream_t stream);
void empty_kernel(cudaStream_t stream);

}  // namespace scaleplan::cuda
