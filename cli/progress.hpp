// Progress of a long command on a terminal: one status line on stderr, redrawn in place, saying
// what runs, how much of it is done and how long the rest should take. Nothing is written when
// stderr is not a terminal (piped, redirected, under a test), so output that is read by programs
// never carries it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "hardware/input/progress.hpp"

namespace scaleplan {

// --progress: auto (a terminal only), always, never.
enum class ProgressMode { automatic, always, never };

// Registers the --progress option on `command`, one of the commands that can take long.
void add_progress_option(CLI::App& command, ProgressMode& mode);

// The library's progress (hardware/input/progress.hpp) as a status line on a terminal:
// "validate: 3/8 files, 12 s left (korthikanti2022-1t-full-recompute.yaml)", the current item by
// its file name when it is a path. Each task's time left is estimated from its own rate so far,
// once it has run for a second. Redraws at most ten times a second (a task's last update always
// draws) and not before the first task has run for half a second unless the mode is `always`, so
// that quick commands stay silent. The destructor clears the line.
class TerminalProgress final : public ProgressSink {
 public:
  explicit TerminalProgress(ProgressMode mode, std::FILE* stream = stderr);
  ~TerminalProgress() override;
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;

  // The sink to hand to the library: null when nothing would be drawn.
  ProgressSink* sink() { return enabled_ ? this : nullptr; }
  void report(const ProgressUpdate& update) override;
  // Draws `what` at once, for a step that reports nothing until it ends (reading a big file):
  // the next report or clear() replaces it.
  void announce(std::string_view what);
  // Clears the line, so that the command's own output starts on a clean line.
  void clear();

 private:
  using Clock = std::chrono::steady_clock;
  // Draws `line` in place of the last, cut to the terminal's width.
  void draw(std::string line, Clock::time_point now);

  bool enabled_ = false;
  bool always_ = false;
  bool drawn_ = false;
  std::FILE* stream_;
  Clock::time_point start_;  // of the command
  std::string task_;         // the task of the last update
  Clock::time_point task_start_;
  Clock::time_point last_draw_;
};

}  // namespace scaleplan
