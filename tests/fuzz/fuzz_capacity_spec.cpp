// libFuzzer target: the capacity spec reader with the built-in catalog. Any input must either
// parse or throw InputError. A spec that parses is evaluated with a plan made up for each
// cluster (a one-second step; searching plans is the planner's and too slow for a fuzz
// iteration) and reported as text, CSV and JSON, so that every figure the reader lets through
// (sizes, prices, failure rates, bandwidths) goes through goodput, economics and the reports
// without any other exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hardware/input/diagnostics.hpp"
#include "sim/capacity/capacity.hpp"
#include "sim/capacity/capacity_report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scaleplan;
  using namespace scaleplan::capacity;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CapacitySpec spec;
  try {
    spec = parse_capacity_spec(text, "fuzz.yaml", Catalog::builtin());
  } catch (const InputError&) {
    return 0;
  }
  const auto one_second_steps = [&spec](const ClusterOption& option, const TrainingJob& base, int) {
    ChosenPlan plan;
    plan.job = base;
    plan.job.parallelism.dp = option.cluster.device_count();
    plan.prediction.step_time_s = 1;
    plan.prediction.tokens_per_s = static_cast<double>(spec.job.training.global_batch) *
                                   static_cast<double>(base.model.seq_len);
    PlanOutcome outcome;
    outcome.plan = plan;
    return outcome;
  };
  const CapacityReport report = evaluate_capacity(spec, one_second_steps);
  (void)format_text(report);
  (void)format_csv(report);
  (void)format_json(report);
  return 0;
}
