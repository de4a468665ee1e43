#include "hardware/device_spec.hpp"

#include <stdexcept>

namespace scaleplan {

std::string_view to_string(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::gpu:
      return "gpu";
    case DeviceKind::tpu:
      return "tpu";
    case DeviceKind::fpga:
      return "fpga";
    case DeviceKind::cpu:
      return "cpu";
  }
  return "?";
}

std::string_view to_string(Dtype dtype) {
  switch (dtype) {
    case Dtype::fp32:
      return "fp32";
    case Dtype::tf32:
      return "tf32";
    case Dtype::bf16:
      return "bf16";
    case Dtype::fp16:
      return "fp16";
    case Dtype::fp8:
      return "fp8";
  }
  return "?";
}

const std::vector<std::string>& dtype_names() {
  static const std::vector<std::string> names{"fp32", "tf32", "bf16", "fp16", "fp8"};
  return names;
}

std::optional<Dtype> parse_dtype(std::string_view text) {
  for (Dtype d : {Dtype::fp32, Dtype::tf32, Dtype::bf16, Dtype::fp16, Dtype::fp8}) {
    if (to_string(d) == text)
      return d;
  }
  return std::nullopt;
}

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

}  // namespace scaleplan
