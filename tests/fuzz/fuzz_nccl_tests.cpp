// libFuzzer target: the nccl-tests output importer. Any text must either import or throw
// InputError; what it imports must write as measurements that read back.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "calibrate/measurements.hpp"
#include "calibrate/nccl_tests_import.hpp"
#include "hardware/input/diagnostics.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  NcclTestsImport imported;
  try {
    imported = import_nccl_tests(text, "fuzz-nccl-tests.txt", NcclTestsImportOptions{});
  } catch (const InputError&) {
    return 0;
  }
  Measurements measurements;
  measurements.runs.push_back(imported.run);
  // The importer's checks must leave only what the measurements format accepts.
  (void)parse_measurements(write_measurements(measurements), "fuzz-nccl-tests-imported.yaml");
  return 0;
}
