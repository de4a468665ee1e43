// `scaleplan run --trace` and the options that bound a trace: which ranks, which time window,
// and gzip compression (a path ending in .gz). A trace that would exceed max_timeline_events is
// refused before the simulation starts, naming the option that limits it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "sim/report/prediction.hpp"
#include "sim/simulate/timeline_recorder.hpp"
#include "sim/timeline/chrome_trace.hpp"

namespace scaleplan {

struct TraceOptions {
  std::string path;   // empty: no trace
  std::string ranks;  // "0-7,16": the ranks traced; empty: every rank simulated
  std::optional<std::pair<double, double>> window_s;  // from, to, in seconds of the step
};

// Registers --trace, --trace-ranks and --trace-window on `command`.
void add_trace_options(CLI::App& command, TraceOptions& options);

// What to record of a run of `plan` for `options`. Throws InputError at the option to change for a
// malformed rank list or window, a rank the plan does not simulate, or a trace whose events
// (bounded before simulating, timeline_event_bound) would exceed max_timeline_events.
TimelineSelection trace_selection(const TraceOptions& options, const Plan& plan);

// predict `plan` of `scenario` on `inputs`, observed by `observers` (a TimelineRecorder, say), as
// `scaleplan run` and `simulate` do: a trace window that still holds more than the recorder's
// max_events is an InputError at --trace-window, a step too large for the network model chosen
// one at --network-model, a step too long to simulate one at the scenario's key
// (time_overflow_error). The prediction carries the scenario's name.
Prediction predict_traced(const Scenario& scenario, const PredictionInputs& inputs,
                          const Plan& plan, const std::vector<SimulationObserver*>& observers);

// Writes the trace of `timeline` to options.path, gzip-compressed when it ends in .gz; throws
// InputError when the file cannot be written.
void write_trace(const TraceOptions& options, const Timeline& timeline,
                 const ChromeTraceOptions& chrome);

}  // namespace scaleplan
