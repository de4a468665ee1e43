#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include "calibrate/cuda_kernels.hpp"

namespace scaleplan::cuda {

namespace {

constexpr int threads_per_block = 256;

unsigned blocks_for(std::size_t elements) {
  // A grid-stride loop covers any size; more blocks than this only add scheduling work.
  const std::size_t blocks = (elements + threads_per_block - 1) / threads_per_block;
  return static_cast<unsigned>(blocks < 65535 * 4 ? (blocks > 0 ? blocks : 1) : 65535 * 4);
}

__device__ float hash_to_unit(std::size_t i, std::uint32_t seed) {
  std::uint32_t x = static_cast<std::uint32_t>(i) * 2654435761u ^ seed;
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  return static_cast<float>(x) * (2.0f / 4294967296.0f) - 1.0f;
}

template <class T>
__global__ void fill_kernel(T* data, std::size_t elements, std::uint32_t seed) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       i < elements; i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    data[i] = T(hash_to_unit(i, seed));
  }
}

__global__ void copy_kernel(float* a, const float* b, std::size_t elements) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       i < elements; i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    a[i] = b[i];
  }
}

__global__ void triad_kernel(float* a, const float* b, const float* c, float scalar,
                             std::size_t elements) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       i < elements; i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    a[i] = b[i] + scalar * c[i];
  }
}

__global__ void nothing() {}

}  // namespace

std::size_t element_bytes(Element element) {
  switch (element) {
    case Element::f32:
      return 4;
    case Element::f16:
    case Element::bf16:
      return 2;
    case Element::e4m3:
      return 1;
  }
  return 4;
}

void fill_random(void* data, std::size_t elements, Element element, std::uint32_t seed,
                 cudaStream_t stream) {
  const unsigned blocks = blocks_for(elements);
  switch (element) {
    case Element::f32:
      fill_kernel<<<blocks, threads_per_block, 0, stream>>>(static_cast<float*>(data), elements,
                                                            seed);
      break;
    case Element::f16:
      fill_kernel<<<blocks, threads_per_block, 0, stream>>>(static_cast<__half*>(data), elements,
                                                            seed);
      break;
    case Element::bf16:
      fill_kernel<<<blocks, threads_per_block, 0, stream>>>(static_cast<__nv_bfloat16*>(data),
                                                            elements, seed);
      break;
    case Element::e4m3:
      fill_kernel<<<blocks, threads_per_block, 0, stream>>>(static_cast<__nv_fp8_e4m3*>(data),
                                                            elements, seed);
      break;
  }
}

void copy(float* a, const float* b, std::size_t elements, cudaStream_t stream) {
  copy_kernel<<<blocks_for(elements), threads_per_block, 0, stream>>>(a, b, elements);
}

void triad(float* a, const float* b, const float* c, float scalar, std::size_t elements,
           cudaStream_t stream) {
  triad_kernel<<<blocks_for(elements), threads_per_block, 0, stream>>>(a, b, c, scalar, elements);
}

void empty_kernel(cudaStream_t stream) {
  nothing<<<1, 1, 0, stream>>>();
}

}  // namespace scaleplan::cuda
