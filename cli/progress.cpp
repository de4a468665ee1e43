#include "cli/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "hardware/input/diagnostics.hpp"

namespace scaleplan {

namespace {

// The terminal's width in columns; 80 where it does not say.
std::size_t terminal_columns(std::FILE* stream) {
  winsize size{};
  if (ioctl(fileno(stream), TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
    return size.ws_col;
  return 80;
}

// "2 min 05 s" for a duration in seconds (whole seconds, "0 s" for less than one).
std::string duration_text(double seconds) {
  const auto whole = static_cast<std::int64_t>(seconds + 0.5);
  if (whole < 60)
    return fmt::format("{} s", whole);
  if (whole < 3600)
    return fmt::format("{} min {:02} s", whole / 60, whole % 60);
  return fmt::format("{} h {:02} min", whole / 3600, whole % 3600 / 60);
}

}  // namespace

void add_progress_option(CLI::App& command, ProgressMode& mode) {
  static const std::vector<std::pair<std::string, ProgressMode>> modes{
      {"auto", ProgressMode::automatic},
      {"always", ProgressMode::always},
      {"never", ProgressMode::never}};
  std::vector<std::string> names;
  for (const auto& [name, value] : modes)
    names.push_back(name);
  command
      .add_option_function<std::string>(
          "--progress",
          [&mode](const std::string& name) {
            mode = std::find_if(modes.begin(), modes.end(), [&](const auto& m) {
                     return m.first == name;
                   })->second;
          },
          "Show progress of long commands on stderr: auto (when stderr is a terminal, the "
          "default), always or never")
      ->check(CLI::IsMember(names));
}

TerminalProgress::TerminalProgress(ProgressMode mode, std::FILE* stream, ProgressStyle style)
    : enabled_(mode == ProgressMode::always ||
               (mode == ProgressMode::automatic && isatty(fileno(stream)) == 1)),
      always_(mode == ProgressMode::always),
      plain_(!enabled_ && mode == ProgressMode::automatic && style.plain_every_s > 0),
      style_(style),
      stream_(stream),
      start_(Clock::now()),
      task_start_(start_),
      last_draw_(start_) {}

TerminalProgress::~TerminalProgress() {
  clear();
}

ProgressSink* TerminalProgress::sink() {
  return enabled_ || plain_ ? this : nullptr;
}

void TerminalProgress::announce(std::string_view what) {
  if (enabled_)
    draw(std::string(what), Clock::now());
  else if (plain_)
    write_plain(std::string(what), Clock::now());
}

void TerminalProgress::write_plain(const std::string& line, Clock::time_point now) {
  std::fputs((printable_text(line) + "\n").c_str(), stream_);
  std::fflush(stream_);
  last_draw_ = now;
}

void TerminalProgress::report(const ProgressUpdate& u) {
  if (!enabled_ && !plain_)
    return;
  const Clock::time_point now = Clock::now();
  if (u.task != task_) {
    task_ = u.task;
    task_start_ = now;
  }
  const bool last = u.done >= u.total;
  if (plain_) {
    if (!last && now - last_draw_ < std::chrono::duration<double>(style_.plain_every_s))
      return;
  } else {
    if (!always_ && now - start_ < std::chrono::milliseconds(500))
      return;
    if (drawn_ && !last && now - last_draw_ < std::chrono::milliseconds(100))
      return;
  }
  const double elapsed_s = std::chrono::duration<double>(now - task_start_).count();
  std::string line;
  if (style_.bar_and_rate && !plain_) {
    constexpr std::size_t width = 20;
    const auto filled = static_cast<std::size_t>(u.total > 0 ? static_cast<double>(width) *
                                                                   static_cast<double>(u.done) /
                                                                   static_cast<double>(u.total)
                                                             : 0.0);
    line = fmt::format("{} [{}{}] {}/{} {}", u.task, std::string(filled, '#'),
                       std::string(width - std::min(width, filled), '.'), u.done, u.total, u.units);
  } else {
    line = fmt::format("{}: {}/{} {}", u.task, u.done, u.total, u.units);
  }
  // A rate measured over less than a second says little about the rest.
  if (style_.bar_and_rate && u.done > 0 && elapsed_s >= 1)
    line += fmt::format(", {:.3g}/s", static_cast<double>(u.done) / elapsed_s);
  if (u.done > 0 && !last && elapsed_s >= 1) {
    const double left_s =
        elapsed_s * static_cast<double>(u.total - u.done) / static_cast<double>(u.done);
    line += ", " + duration_text(left_s) + " left";
  }
  if (u.failed > 0)
    line += fmt::format(", {} failed", u.failed);
  if (plain_) {
    write_plain(line, now);
    return;
  }
  // A file's name alone: the folders before it would push it past the terminal's width.
  if (!u.current.empty())
    line += fmt::format(" ({})", std::filesystem::path(u.current).filename().string());
  draw(std::move(line), now);
}

void TerminalProgress::draw(std::string line, Clock::time_point now) {
  // One line only: a line wider than the terminal would wrap, and \r would then redraw the
  // wrapped part alone.
  const std::size_t columns = terminal_columns(stream_);
  if (line.size() >= columns) {
    std::size_t cut = columns - 1;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80)
      --cut;  // not inside a UTF-8 sequence
    line.resize(cut);
  }
  std::fputs(("\r" + line + "\x1b[K").c_str(), stream_);
  std::fflush(stream_);
  drawn_ = true;
  last_draw_ = now;
}

void TerminalProgress::clear() {
  if (!drawn_)
    return;
  std::fputs("\r\x1b[K", stream_);
  std::fflush(stream_);
  drawn_ = false;
}

}  // namespace scaleplan
