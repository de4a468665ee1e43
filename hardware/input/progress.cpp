#include "hardware/input/progress.hpp"

#include <algorithm>
#include <utility>

namespace scaleplan {

ProgressCounter::ProgressCounter(ProgressSink* sink, std::string task, std::string units,
                                 std::uint64_t total)
    : sink_(sink), task_(std::move(task)), units_(std::move(units)), total_(total) {}

void ProgressCounter::advance(std::string_view current, std::uint64_t items, std::uint64_t failed) {
  done_ += items;
  failed_ += failed;
  if (!sink_)
    return;
  // An estimated total that proves short grows with the count, so that done <= total holds.
  total_ = std::max(total_, done_);
  finished_ = done_ == total_;
  sink_->report({task_, done_, total_, units_, current, failed_});
}

void ProgressCounter::finish() {
  if (!sink_ || finished_)
    return;
  finished_ = true;
  total_ = done_;
  sink_->report({task_, done_, total_, units_, {}, failed_});
}

}  // namespace scaleplan
