#include "gui/models/timeline_rows.hpp"

#include <algorithm>
#include <map>

namespace scaleplan::gui {

std::vector<TimelineRow> timeline_rows(const Timeline& timeline) {
  std::map<std::pair<int, int>, std::vector<std::uint32_t>> by_row;
  for (std::uint32_t i = 0; i < timeline.ops.size(); ++i) {
    const TimelineOp& op = timeline.ops[i];
    by_row[{op.rank, int(op.stream)}].push_back(i);
  }
  std::vector<TimelineRow> rows;
  rows.reserve(by_row.size());
  for (auto& [key, ops] : by_row) {
    std::stable_sort(ops.begin(), ops.end(), [&](std::uint32_t a, std::uint32_t b) {
      return timeline.ops[a].start_ps < timeline.ops[b].start_ps;
    });
    TimelineRow row{key.first, Stream(key.second), std::move(ops), {}};
    row.starts.reserve(row.ops.size());
    for (std::uint32_t op : row.ops)
      row.starts.push_back(timeline.ops[op].start_ps);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<RowSegment> row_segments(const Timeline& timeline, const TimelineRow& row,
                                     std::int64_t t0_ps, std::int64_t t1_ps, int width_px) {
  std::vector<RowSegment> segments;
  if (t1_ps <= t0_ps || width_px <= 0 || row.ops.empty())
    return segments;
  const double px_per_ps = double(width_px) / double(t1_ps - t0_ps);
  const auto x_of = [&](std::int64_t t) {
    return int(std::clamp((double(t - t0_ps)) * px_per_ps, -1.0, double(width_px) + 1));
  };
  const auto time_of = [&](int x) { return t0_ps + std::int64_t(double(x) / px_per_ps); };
  // Ops of one stream run one at a time, so ends are ordered as starts are: the first op that
  // may show is the last one starting before the window.
  std::size_t i = std::size_t(std::upper_bound(row.starts.begin(), row.starts.end(), t0_ps) -
                              row.starts.begin());
  if (i > 0)
    --i;
  while (i < row.ops.size() && row.starts[i] < t1_ps) {
    const TimelineOp& op = timeline.ops[row.ops[i]];
    if (op.end_ps <= t0_ps) {
      ++i;
      continue;
    }
    const int x0 = std::max(0, x_of(op.start_ps));
    const int x1 = std::min(width_px, x_of(op.end_ps));
    if (x1 - x0 >= 2) {
      segments.push_back({x0, x1, row.ops[i], 1});
      ++i;
      continue;
    }
    // Narrower than two pixels: every op that starts within this pixel column joins it.
    const std::int64_t column_end = time_of(x0 + 1);
    const std::size_t j =
        std::max(i + 1, std::size_t(std::lower_bound(row.starts.begin() + std::ptrdiff_t(i),
                                                     row.starts.end(), column_end) -
                                    row.starts.begin()));
    segments.push_back({x0, std::max(x0 + 1, x1), row.ops[i], std::uint32_t(j - i)});
    i = j;
  }
  return segments;
}

std::optional<std::uint32_t> op_at(const Timeline& timeline, const TimelineRow& row,
                                   std::int64_t time_ps) {
  auto it = std::upper_bound(row.starts.begin(), row.starts.end(), time_ps);
  if (it == row.starts.begin())
    return std::nullopt;
  const std::uint32_t op = row.ops[std::size_t(it - row.starts.begin() - 1)];
  if (timeline.ops[op].end_ps < time_ps)
    return std::nullopt;
  return op;
}

const char* stream_group(Stream stream) {
  switch (stream) {
    case Stream::compute:
      return "compute";
    case Stream::tp_comm:
      return "tp";
    case Stream::cp_comm:
      return "cp";
    case Stream::ep_comm:
      return "ep";
    case Stream::dp_comm:
    case Stream::param_gather:
      return "dp";
    case Stream::pp_send_next:
    case Stream::pp_recv_prev:
    case Stream::pp_send_prev:
    case Stream::pp_recv_next:
      return "pp";
  }
  return "";
}

}  // namespace scaleplan::gui
