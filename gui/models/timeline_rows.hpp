// The timeline view's rows and their level of detail, without widgets: one row per rank and
// stream that ran something, and for a time window drawn over some pixels, the segments to draw,
// ops narrower than a pixel merged into one segment per pixel column. A row of n ops costs
// O(pixels · log n) to lay out whatever n is, so a thousand ranks stay fluid.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sim/timeline/timeline.hpp"

namespace scaleplan::gui {

struct TimelineRow {
  int rank = 0;  // index into Timeline::ranks
  Stream stream = Stream::compute;
  std::vector<std::uint32_t> ops;    // indices into Timeline::ops, by start
  std::vector<std::int64_t> starts;  // their starts, for binary search
};

// Rows in rank order, streams in enum order within a rank; streams that ran nothing are left out.
std::vector<TimelineRow> timeline_rows(const Timeline& timeline);

struct RowSegment {
  int x0 = 0;  // pixels, [x0, x1)
  int x1 = 0;
  std::uint32_t op = 0;   // the first op in it (index into Timeline::ops)
  std::uint32_t ops = 1;  // how many ops it stands for
};

// The segments of `row` in the window [t0_ps, t1_ps) mapped onto `width_px` pixels.
std::vector<RowSegment> row_segments(const Timeline& timeline, const TimelineRow& row,
                                     std::int64_t t0_ps, std::int64_t t1_ps, int width_px);

// The op of `row` running at `time_ps`, if any.
std::optional<std::uint32_t> op_at(const Timeline& timeline, const TimelineRow& row,
                                   std::int64_t time_ps);

// Which group a stream's communication belongs to, for the row labels: "compute", "tp", "pp",
// "dp", "cp", "ep".
const char* stream_group(Stream stream);

}  // namespace scaleplan::gui
