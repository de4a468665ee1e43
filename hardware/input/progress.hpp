// Progress of long work, for whoever shows it: the library counts, a sink renders. The command
// line's sink draws a status line on a terminal (cli/progress.hpp); a GUI's would post a signal.
// Library code takes a ProgressSink* (null: nobody listens) and reports through a
// ProgressCounter, so that validation, calibration fits, a long simulation, the planner and
// sweeps report the same way. Nothing here reads a clock: the sink decides how often to draw and
// estimates the time left, so that the work itself stays deterministic.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace scaleplan {

// Where a task stands: `done` of `total` `units`, the last or current item `current` (a file
// name, say; may be empty). done <= total; done == total is the task's last report.
struct ProgressUpdate {
  std::string_view task;  // "validate", "simulating"
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  std::string_view units;    // "predictions", "ops"
  std::string_view current;  // may be empty
  std::uint64_t failed = 0;  // of the done items, those that failed (a sweep's scenarios)
};

// Receives the updates of tasks, on the thread that does the work.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void report(const ProgressUpdate& update) = 0;
};

// Counts one task's work for a sink. With a null sink it does nothing. The total may be an
// estimate: the count shown never passes it, and finish() reports the task done at the count
// reached.
class ProgressCounter {
 public:
  ProgressCounter(ProgressSink* sink, std::string task, std::string units, std::uint64_t total);

  // `items` more done, the last of them `current`, `failed` of them failed.
  void advance(std::string_view current = {}, std::uint64_t items = 1, std::uint64_t failed = 0);
  // The task is over: one last report with done == total, unless the last already said so.
  void finish();

  std::uint64_t done() const { return done_; }
  std::uint64_t failed() const { return failed_; }

 private:
  ProgressSink* sink_;
  std::string task_;
  std::string units_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  std::uint64_t failed_ = 0;
  bool finished_ = false;
};

}  // namespace scaleplan
