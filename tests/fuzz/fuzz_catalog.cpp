// libFuzzer target: the device catalog reader. Any input must either parse or throw InputError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hardware/input/diagnostics.hpp"
#include "hardware/io/catalog.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const Catalog catalog = Catalog::parse(text, "fuzz-catalog.yaml");
    // Every device the reader accepts answers the questions the simulator asks of it.
    for (const auto& device : catalog.devices()) {
      for (const auto& [dtype, figure] : device.peak_flops_per_s)
        (void)device.peak_flops(dtype);
      (void)catalog.find(device.name);
    }
  } catch (const InputError&) {
  }
  return 0;
}
