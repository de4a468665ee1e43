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

// What a command shows beyond the status line's count and time left.
struct ProgressStyle {
  // A bar and the rate in items a second (once a task has run for a second); a count of failures
  // is shown whenever the library reports some.
  bool bar_and_rate = false;
  // When the mode is auto and the stream is not a terminal (a batch job's log): a plain line, the
  // same text, at most once every `plain_every_s` seconds and once at the end of each task.
  // 0: nothing is written, as for commands whose output is read by programs.
  double plain_every_s = 0;
};

// The library's progress (hardware/input/progress.hpp) as a status line on a terminal:
// "validate: 3/8 files, 12 s left (korthikanti2022-1t-full-recompute.yaml)", the current item by
// its file name when it is a path. Each task's time left is estimated from its own rate so far,
// once it has run for a second. Redraws at most ten times a second (a task's last update always
// draws) and not before the first task has run for half a second unless the mode is `always`, so
// that quick commands stay silent. The destructor clears the line.
class TerminalProgress final : public ProgressSink {
 public:
  explicit TerminalProgress(ProgressMode mode, std::FILE* stream = stderr,
                            ProgressStyle style = {});
  ~TerminalProgress() override;
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;

  // The sink to hand to the library: null when nothing would be drawn or written.
  ProgressSink* sink();
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

  // A plain line a few seconds apart, for a log.
  void write_plain(const std::string& line, Clock::time_point now);

  bool enabled_ = false;
  bool always_ = false;
  bool plain_ = false;
  ProgressStyle style_;
  bool drawn_ = false;
  std::FILE* stream_;
  Clock::time_point start_;  // of the command
  std::string task_;         // the task of the last update
  Clock::time_point task_start_;
  Clock::time_point last_draw_;
};

}  // namespace scaleplan
