// A measured run as values: every rank's measured steps gathered into one Timeline (the step of
// median time, the trace of which is written in the simulator's format, ops named alike) and a
// JSON summary of all of them.
#pragma once

#include <string>
#include <vector>

#include "calibrate/executor/executor.hpp"
#include "sim/timeline/timeline.hpp"

namespace scaleplan {

struct MeasuredRun {
  std::string backend;  // "cpu", "cuda"
  std::string source;   // what ran it: the program, its version, the host
  int warmup_steps = 0;
  std::vector<double> step_times_s;  // per measured step: the last op's end on any rank
  std::size_t trace_step = 0;        // the step `timeline` holds: the one of median time
  Timeline timeline;
};

// The run of `plan` (every rank listed, expand_replicas) from each rank's measurement, indexed
// as plan.ranks. Every rank must hold the same number of steps.
MeasuredRun assemble_run(const Plan& plan, const std::vector<RankMeasurement>& ranks);

// The timeline of what one rank finished before it stopped: its last whole step, or else the ops
// of the step it was cut short in.
Timeline partial_timeline(const Plan& plan, const RankProgram& program,
                          const RankMeasurement& measured);

// The summary (format scaleplan-measured/1): backend, source, ranks, steps and each step's time,
// their median, mean, min and max, and per stream of the traced step its busy time per rank.
std::string summary_json(const MeasuredRun& run);

}  // namespace scaleplan
