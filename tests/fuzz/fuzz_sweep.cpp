// libFuzzer target: the sweep file reader (its axes, zip groups and filter expression) with the
// built-in catalog and an inline base scenario. Any input must either parse or throw InputError.
// A sweep that parses has the values of its first and last scenarios read back and its result
// columns listed, so that the enumeration behind them (the product, the filter's choice) is
// exercised too; scenarios are not simulated (too slow for a fuzz iteration).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hardware/input/diagnostics.hpp"
#include "sim/sweep/sweep_output.hpp"
#include "sim/sweep/sweep_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const sweep::Sweep s = sweep::parse_sweep(text, "fuzz.yaml", Catalog::builtin());
    if (s.size() > 0) {
      (void)s.values_of(0);
      (void)s.values_of(s.size() - 1);
    }
    (void)sweep::result_columns(s);
  } catch (const InputError&) {
  }
  return 0;
}
