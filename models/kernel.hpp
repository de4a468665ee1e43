// One device kernel of a training step: its arithmetic, the bytes it moves through memory, and,
// for matrix multiplies, its shape (which decides how close to peak it runs).
#pragma once

#include <cstdint>
#include <string>

#include "hardware/device_spec.hpp"
#include "hardware/input/enum_names.hpp"

namespace scaleplan {

enum class KernelKind { gemm, attention, elementwise, norm, embedding, optimizer };

inline constexpr EnumNames<KernelKind, 6> kernel_kind_names{{{
    {KernelKind::gemm, "gemm"},
    {KernelKind::attention, "attention"},
    {KernelKind::elementwise, "elementwise"},
    {KernelKind::norm, "norm"},
    {KernelKind::embedding, "embedding"},
    {KernelKind::optimizer, "optimizer"},
}}};

inline std::string_view to_string(KernelKind kind) {
  return kernel_kind_names.name(kind);
}

// C[batch][m][n] = A[batch][m][k] · B[batch][k][n]
struct GemmShape {
  std::int64_t m = 0;
  std::int64_t n = 0;
  std::int64_t k = 0;
  std::int64_t batch = 1;
};

struct Kernel {
  std::string name;
  KernelKind kind = KernelKind::elementwise;
  Dtype dtype = Dtype::bf16;
  double flops = 0;
  double bytes = 0;  // read plus written in device memory
  GemmShape gemm;    // meaningful for gemm and attention kernels
  // The library of a fused attention kernel (FrameworkSpec::attention_library), whose figure
  // the device gives (DeviceSpec::attention_of); read for no other kernel.
  AttentionLibrary attention_library = AttentionLibrary::cudnn;
  // An attention kernel that is one of materialised attention's products (QK^T, PV and their
  // gradients): a batched GEMM of its shape, not a fused kernel, so no library's attention figure
  // times it. Attention FLOPs all the same (model FLOPs count them as attention).
  bool attention_product = false;
};

// A GEMM kernel with its FLOPs (2·m·n·k per batch) and the bytes of its operands and result.
Kernel make_gemm(std::string name, GemmShape shape, Dtype dtype);

}  // namespace scaleplan
