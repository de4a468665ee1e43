#include "sim/simulate/simulation_progress.hpp"

#include <algorithm>

namespace scaleplan {

namespace {

std::uint64_t op_count(const Plan& plan) {
  std::uint64_t ops = 0;
  for (std::size_t index = 0; index < plan.ranks.size(); ++index)
    ops += plan.ops_of(index).size();
  return ops;
}

}  // namespace

SimulationProgress::SimulationProgress(const Plan& plan, ProgressSink* sink)
    : counter_(sink, "simulating", "ops", sink ? op_count(plan) : 0),
      ops_per_report_(std::max<std::uint64_t>(1, (sink ? op_count(plan) : 0) / 1000)) {}

void SimulationProgress::on_op(int /*rank*/, std::uint32_t /*op*/, SimTime /*start*/,
                               SimTime /*end*/) {
  if (++unreported_ < ops_per_report_)
    return;
  counter_.advance({}, unreported_);
  unreported_ = 0;
}

void SimulationProgress::finish() {
  if (unreported_ > 0)
    counter_.advance({}, unreported_);
  unreported_ = 0;
  counter_.finish();
}

}  // namespace scaleplan
