// A measured step beside its prediction: the step time, and per class of op, per stream, the
// exposed communication and the pipeline bubble, predicted against measured. Both sides are
// Timelines of the same plan (the simulator's trace and the executor's), matched op by op by
// rank and op index; only ranks present in both count.
#pragma once

#include <string>
#include <vector>

#include "sim/timeline/timeline.hpp"

namespace scaleplan {

// Predicted against measured seconds; error = (predicted - measured) / measured.
struct Pair {
  double predicted_s = 0;
  double measured_s = 0;
  double error() const;
};

struct ClassComparison {
  std::string name;  // "compute: attention forward", "collective: tp all-reduce ≤ 1 MiB", ...
  std::size_t ops = 0;
  Pair time;  // summed over the matched ops of the common ranks
};

struct StreamComparison {
  std::string stream;
  Pair busy;  // per rank, mean over the common ranks
};

struct StepComparison {
  std::vector<int> ranks;  // common to both
  Pair step;
  Pair exposed_communication;  // per rank, mean: communication not hidden under compute
  Pair bubble;                 // per rank, mean: the step less the compute stream's busy time
  std::vector<ClassComparison> classes;
  std::vector<StreamComparison> streams;
  std::size_t matched_ops = 0;
  std::size_t unmatched_ops = 0;  // in one timeline and not the other, on common ranks
  // Streams of common ranks whose ops ran in another order (by start) in the two timelines.
  std::vector<std::string> order_differences;
};

StepComparison compare_timelines(const Timeline& predicted, const Timeline& measured);

// A table for a terminal, and the same as JSON.
std::string format_text(const StepComparison& c);
std::string format_json(const StepComparison& c);

}  // namespace scaleplan
