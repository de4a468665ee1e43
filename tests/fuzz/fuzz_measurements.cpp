// libFuzzer target: the measurements reader. Any input must either parse or throw InputError;
// measurements that parse must write back to text that reads to the same measurements.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "calibrate/measurements.hpp"
#include "hardware/input/diagnostics.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Measurements measurements;
  try {
    measurements = parse_measurements(text, "fuzz-measurements.yaml");
  } catch (const InputError&) {
    return 0;
  }
  const std::string once = write_measurements(measurements);
  const std::string twice =
      write_measurements(parse_measurements(once, "fuzz-measurements-rewritten.yaml"));
  if (once != twice)
    std::abort();  // the writer and the reader disagree
  return 0;
}
