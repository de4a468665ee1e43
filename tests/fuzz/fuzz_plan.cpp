// libFuzzer target: the plan reader. Any input must either parse or throw InputError. A plan
// that parses must write back and read again to the same text (the format round-trips), and a
// small one is simulated (with its replicas' copies, when it lists one replica): the reader's
// validation promises the engine a well-formed plan, so the simulation must end (finished, or a
// deadlock/overflow reported as an exception), never crash or hang.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string_view>

#include "hardware/input/diagnostics.hpp"
#include "sim/plan/plan_io.hpp"
#include "tests/fuzz/small_plan_simulation.hpp"

namespace {

std::string written(const scaleplan::Plan& plan) {
  std::ostringstream out;
  scaleplan::write_plan(plan, out);
  return out.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Plan plan;
  try {
    plan = parse_plan(text, "fuzz-plan.yaml");
  } catch (const InputError&) {
    return 0;
  }
  const std::string once = written(plan);
  const Plan again = parse_plan(once, "fuzz-plan-rewritten.yaml");
  const std::string twice = written(again);
  if (twice != once) {
    // The writer and the reader disagree: show the first line that differs.
    std::istringstream a(once), b(twice);
    std::string line_a, line_b;
    for (int line = 1; std::getline(a, line_a) && std::getline(b, line_b); ++line) {
      if (line_a != line_b) {
        std::fprintf(stderr, "plan round trip differs at line %d:\n  %s\n  %s\n", line,
                     line_a.c_str(), line_b.c_str());
        break;
      }
    }
    std::abort();
  }

  fuzz::simulate_if_small(plan);
  return 0;
}
