// The Chrome trace reader (sim/timeline/chrome_trace_reader.hpp): any bytes either read into a
// Timeline or are refused with an InputError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hardware/input/diagnostics.hpp"
#include "sim/timeline/chrome_trace_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    scaleplan::read_chrome_trace(std::string_view(reinterpret_cast<const char*>(data), size),
                                 "fuzz.json");
  } catch (const scaleplan::InputError&) {
  }
  return 0;
}
