// A plan search as people read it (`scaleplan plan`): the ranked table with the fast estimate
// beside the simulated step, why the first plan beats the second, the counts and the search's
// time; as JSON (each plan's parallelism in scenario keys); as CSV.
#pragma once

#include <string>

#include "sim/planner/planner.hpp"

namespace scaleplan {

// What the search was for, for the report's header.
struct PlanReportContext {
  std::string scenario;
  std::string cluster;  // its devices as the report's cluster line shows them
  std::string device;   // the device the candidates were estimated on
  int devices = 0;
  double device_memory_bytes = 0;  // of the device with the least, which the estimates fit in
  TrainingJob base;
  PlanObjective objective = PlanObjective::time;
};

std::string format_plan_text(const PlanSearch& search, const PlanReportContext& context);
// Indented JSON with a final newline: "ranked" (each entry: "rank", "parallelism" in scenario
// keys, "micro_batch", "step_time_s", "estimated_step_time_s", "tokens_per_s", "mfu", "memory",
// "breakdown", "cost_usd", "energy_j"), "estimated_only" (the same without the simulated
// figures), "counts", "timings", "why_first"; "why_none" when no plan fits.
std::string format_plan_json(const PlanSearch& search, const PlanReportContext& context);
// One header line and a line per ranked plan.
std::string format_plan_csv(const PlanSearch& search);

}  // namespace scaleplan
