#include "cli/trace_options.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "cli/option_checks.hpp"
#include "cli/output_file.hpp"
#include "hardware/cluster.hpp"
#include "hardware/input/diagnostics.hpp"
#include "hardware/input/yaml_reader.hpp"
#include "sim/engine/time.hpp"

namespace scaleplan {

namespace {

[[noreturn]] void fail(const std::string& option, const std::string& message) {
  throw InputError({{{"<command line>", 0, 0}, option, message}});
}

// "0-7,16": ranks and inclusive ranges, each a decimal integer from 0.
std::vector<int> parse_rank_list(const std::string& text) {
  std::vector<int> ranks;
  std::size_t from = 0;
  while (from <= text.size()) {
    const std::size_t comma = std::min(text.find(',', from), text.size());
    const std::string item = text.substr(from, comma - from);
    const std::size_t dash = item.find('-');
    const std::string first = item.substr(0, dash);
    const std::string last = dash == std::string::npos ? first : item.substr(dash + 1);
    std::string problem;
    const auto a = decimal_integer(first, problem);
    const auto b = a ? decimal_integer(last, problem) : std::nullopt;
    if (!a || !b || *a < 0 || *b < *a || *b >= max_devices) {
      fail("--trace-ranks",
           fmt::format("'{}' is not a rank or a range of ranks (such as 0-7,16), each from 0 to {}",
                       item, max_devices - 1));
    }
    for (std::int64_t r = *a; r <= *b; ++r)
      ranks.push_back(static_cast<int>(r));
    from = comma + 1;
  }
  std::sort(ranks.begin(), ranks.end());
  ranks.erase(std::unique(ranks.begin(), ranks.end()), ranks.end());
  return ranks;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void add_trace_options(CLI::App& command, TraceOptions& options) {
  command.add_option("--trace", options.path,
                     "Write a Chrome/Perfetto trace of the step to this file (gzip-compressed "
                     "when it ends in .gz)");
  command.add_option("--trace-ranks", options.ranks,
                     "Trace only these ranks, such as 0-7,16 (default: every rank simulated)");
  command
      .add_option("--trace-window", options.window_s,
                  "Trace only what happens from FROM to TO seconds into the step")
      ->type_name("FROM TO")
      ->check(finite_number);
}

TimelineSelection trace_selection(const TraceOptions& options, const Plan& plan) {
  TimelineSelection selection;
  if (!options.ranks.empty())
    selection.ranks = parse_rank_list(options.ranks);
  if (options.window_s) {
    const auto [from, to] = *options.window_s;
    const double step_limit_s = to_seconds(sim_time_max);
    if (!(from >= 0 && from < to && to <= step_limit_s)) {
      fail("--trace-window",
           fmt::format("from {} s to {} s is not a window of the step: 0 <= FROM < TO <= {:.3g}",
                       from, to, step_limit_s));
    }
    selection.window = {to_sim_time(from), to_sim_time(to)};
  }
  std::uint64_t events = 0;
  try {
    events = timeline_event_bound(plan, selection);
  } catch (const TimelineSelectionError& e) {
    fail("--trace-ranks", e.what());
  }
  // Without a window the bound is what the trace holds; with one, the recorder stops the run
  // if the window still holds too much.
  if (events > selection.max_events && !selection.window) {
    fail(options.ranks.empty() ? "--trace" : "--trace-ranks",
         fmt::format("the trace would hold {} events (about {:.3g} GB of JSON), more than the {} "
                     "written; trace fewer ranks (--trace-ranks) or a part of the step "
                     "(--trace-window)",
                     events, static_cast<double>(events) * 155 / 1e9, selection.max_events));
  }
  return selection;
}

Prediction predict_traced(const Scenario& scenario, const PredictionInputs& inputs,
                          const Plan& plan, const std::vector<SimulationObserver*>& observers) {
  try {
    Prediction prediction = predict(inputs, plan, observers);
    prediction.scenario = scenario.name;
    return prediction;
  } catch (const TimeOverflow& overflow) {
    throw time_overflow_error(scenario, overflow);
  } catch (const TimelineSelectionError& e) {
    fail("--trace-window",
         std::string(e.what()) + "; narrow the window or trace fewer ranks (--trace-ranks)");
  } catch (const NetworkModelError& e) {
    fail("--network-model", std::string(e.what()) + "; use --network-model auto");
  }
}

void write_trace(const TraceOptions& options, const Timeline& timeline,
                 const ChromeTraceOptions& chrome) {
  write_output_file(
      options.path, [&](std::ostream& out) { write_chrome_trace(out, timeline, chrome); },
      ends_with(options.path, ".gz"));
}

}  // namespace scaleplan
