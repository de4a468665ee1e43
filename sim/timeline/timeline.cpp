#include "sim/timeline/timeline.hpp"

#include <algorithm>

namespace scaleplan {

std::int64_t Timeline::end_ps() const {
  std::int64_t end = 0;
  for (const TimelineOp& op : ops)
    end = std::max(end, op.end_ps);
  return end;
}

std::vector<std::uint32_t> Timeline::ops_on(int rank, Stream stream) const {
  std::vector<std::uint32_t> on;
  for (std::uint32_t i = 0; i < ops.size(); ++i) {
    if (ops[i].rank == rank && ops[i].stream == stream)
      on.push_back(i);
  }
  return on;
}

}  // namespace scaleplan
