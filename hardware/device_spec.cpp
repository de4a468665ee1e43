#include "hardware/device_spec.hpp"

#include <stdexcept>

namespace scaleplan {

double bytes_per_element(Dtype dtype) {
  switch (dtype) {
    case Dtype::fp32:
    case Dtype::tf32:
      return 4;
    case Dtype::bf16:
    case Dtype::fp16:
      return 2;
    case Dtype::fp8:
      return 1;
  }
  return 4;
}

double DeviceSpec::peak_flops(Dtype dtype) const {
  auto it = peak_flops_per_s.find(dtype);
  if (it != peak_flops_per_s.end())
    return it->second.value;
  std::string have;
  for (const auto& [d, figure] : peak_flops_per_s) {
    if (!have.empty())
      have += ", ";
    have += to_string(d);
  }
  throw std::invalid_argument(name + " has no " + std::string(to_string(dtype)) +
                              " peak in the catalog; it has " + have);
}

double AttentionFigures::efficiency_at(double keys) const {
  if (!half_efficiency_keys || keys <= 0)
    return efficiency.value;
  return efficiency.value * keys / (keys + half_efficiency_keys->value);
}

const AttentionFigures* DeviceSpec::attention_of(AttentionLibrary library) const {
  auto own = attention.find(library);
  if (own != attention.end())
    return &own->second;
  auto cudnn = attention.find(AttentionLibrary::cudnn);
  return cudnn != attention.end() ? &cudnn->second : nullptr;
}

const Figure& DeviceSpec::compute_efficiency_of(Dtype dtype) const {
  auto it = compute_efficiency_by_dtype.find(dtype);
  return it != compute_efficiency_by_dtype.end() ? it->second : compute_efficiency;
}

std::optional<double> DeviceSpec::gemm_half_efficiency_flops_of(Dtype dtype) const {
  if (!gemm_half_efficiency_flops)
    return std::nullopt;
  const double f0 = gemm_half_efficiency_flops->value;
  auto own = peak_flops_per_s.find(dtype);
  auto reference = peak_flops_per_s.find(Dtype::bf16);
  if (reference == peak_flops_per_s.end())
    reference = peak_flops_per_s.find(Dtype::fp16);
  if (own == peak_flops_per_s.end() || reference == peak_flops_per_s.end())
    return f0;
  return f0 * own->second.value / reference->second.value;
}

}  // namespace scaleplan
