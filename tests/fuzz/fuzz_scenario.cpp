// libFuzzer target: the scenario reader with the built-in catalog. Any input must either parse
// or throw InputError; anything else (a crash, another exception, a sanitizer report, a hang)
// is a bug. Scenarios that parse and are small also go through plan building and simulation, so
// that the validator and the plan builder stay in agreement: whatever the reader accepts must
// simulate or be refused with InputError.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hardware/input/diagnostics.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/strategy/plan_size.hpp"

namespace {

// Small enough to simulate within a fuzz iteration (milliseconds).
constexpr std::int64_t max_fuzz_devices = 64;
constexpr std::int64_t max_fuzz_ops = 20'000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Scenario scenario;
  try {
    scenario = parse_scenario(text, "fuzz.yaml", Catalog::builtin());
  } catch (const InputError&) {
    return 0;
  }
  if (scenario.cluster.device_count() > max_fuzz_devices ||
      estimated_plan_ops(scenario.job) > max_fuzz_ops) {
    return 0;
  }
  try {
    const PreparedRun run = prepare_run(scenario, Catalog::builtin());
    const Prediction prediction = predict(scenario, run);
    (void)format_json(prediction);
  } catch (const InputError&) {
    return 0;
  }
  return 0;
}
