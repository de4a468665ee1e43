// Chrome / Perfetto trace of a step's Timeline: a process per rank, a thread per stream, a slice
// per op, a counter track of each rank's activation memory, and a process of counter tracks for
// the chosen links, each link's rate over the step. Opens in ui.perfetto.dev.
#pragma once

#include <cstddef>
#include <istream>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "sim/timeline/timeline.hpp"

namespace scaleplan {

// A link that gets a counter track, and the name the track shows.
struct TracedLink {
  LinkId link = 0;
  std::string name;
};

struct ChromeTraceOptions {
  // `rank_names[r]` titles the process of Timeline::ranks[r] (its place in the parallel layout,
  // say); "rank r" where absent.
  std::vector<std::string> rank_names;
  // The links whose rates the trace shows (those `run --links` lists, say), in track order.
  std::vector<TracedLink> links;
  // Key-value pairs the trace carries in its otherData object, in this order: the build that
  // wrote it and the scenario, say, so that a trace can be traced to both.
  std::vector<std::pair<std::string, std::string>> other_data;
};

// A link whose rate changes more often than this is drawn as its mean rate over this many equal
// intervals of the step instead, so that the trace of a big run stays small.
inline constexpr std::size_t chrome_trace_max_link_points = 1000;

// Writes the trace as JSON (the Trace Event Format's object form). The same timeline and options
// give the same bytes.
void write_chrome_trace(std::ostream& out, const Timeline& timeline,
                        const ChromeTraceOptions& options);

}  // namespace scaleplan
