#include "sim/simulate/timeline_recorder.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scaleplan {

namespace {

// Per plan index: whether `selection` records that rank. Throws for a rank the plan lacks.
std::vector<bool> selected_ranks(const Plan& plan, const TimelineSelection& selection) {
  std::vector<bool> selected(plan.ranks.size(), selection.ranks.empty());
  for (int rank : selection.ranks) {
    // Listed ranks are in ascending order (validate_plan).
    const auto found =
        std::lower_bound(plan.ranks.begin(), plan.ranks.end(), rank,
                         [](const RankProgram& program, int r) { return program.rank < r; });
    if (found == plan.ranks.end() || found->rank != rank) {
      std::vector<int> listed;
      for (const RankProgram& program : plan.ranks)
        listed.push_back(program.rank);
      const std::string simulated =
          listed.size() <= 16
              ? fmt::format("{}", fmt::join(listed, ", "))
              : fmt::format("{} ranks from {} to {}", listed.size(), listed.front(), listed.back());
      throw TimelineSelectionError(
          fmt::format("rank {} is not simulated; the ranks simulated are {}{}", rank, simulated,
                      plan.replicas.count > 1
                          ? " (one data-parallel replica stands for the others; --all-ranks "
                            "simulates every rank)"
                          : ""));
    }
    selected[static_cast<std::size_t>(found - plan.ranks.begin())] = true;
  }
  return selected;
}

}  // namespace

std::uint64_t timeline_event_bound(const Plan& plan, const TimelineSelection& selection) {
  const std::vector<bool> selected = selected_ranks(plan, selection);
  std::uint64_t events = 0;
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    if (!selected[r])
      continue;
    // A process name, its sort index and a name per stream, as the trace writes them.
    events += 2 + stream_count;
    for (const Op& op : plan.ops_of(r)) {
      // The op, and the memory sample of its allocation or its free.
      events += op.activation_bytes != 0 ? 2 : 1;
    }
  }
  return events;
}

TimelineRecorder::TimelineRecorder(const Plan& plan, bool record_link_rates,
                                   TimelineSelection selection)
    : plan_(&plan), record_link_rates_(record_link_rates), selection_(std::move(selection)) {
  if (selection_.window) {
    from_ = selection_.window->first;
    to_ = selection_.window->second;
  }
  window_open_ = from_ == 0;
  const std::vector<bool> selected = selected_ranks(plan, selection_);
  traced_.assign(plan.ranks.size(), -1);
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    if (!selected[r])
      continue;
    traced_[r] = static_cast<int>(timeline_.ranks.size());
    timeline_.ranks.push_back(plan.ranks[r].rank);
  }
  memory_before_window_.resize(timeline_.ranks.size());
  timeline_.labels = plan.labels;
}

void TimelineRecorder::count_event() {
  if (++events_ > selection_.max_events) {
    throw TimelineSelectionError(
        fmt::format("the timeline holds more than {} events", selection_.max_events));
  }
}

void TimelineRecorder::open_window(SimTime now) {
  if (window_open_ || now < from_)
    return;
  window_open_ = true;
  for (std::size_t r = 0; r < memory_before_window_.size(); ++r) {
    if (memory_before_window_[r]) {
      count_event();
      timeline_.memory.push_back({static_cast<int>(r), from_, *memory_before_window_[r]});
    }
  }
}

void TimelineRecorder::on_op(int rank, std::uint32_t index, SimTime start, SimTime end) {
  open_window(end);
  const int traced = traced_[static_cast<std::size_t>(rank)];
  if (traced < 0 || end < from_ || start > to_)
    return;
  count_event();
  const Op& op = plan_->ops_of(static_cast<std::size_t>(rank))[index];
  const double bytes = op.kind == OpKind::compute ? 0.0 : op.bytes;
  timeline_.ops.push_back(
      {traced, index, op.label, op.microbatch, op.kind, op.stream, bytes, start, end});
}

void TimelineRecorder::on_memory(int rank, SimTime time, double bytes) {
  open_window(time);
  const int traced = traced_[static_cast<std::size_t>(rank)];
  if (traced < 0 || time > to_)
    return;
  if (time < from_) {
    memory_before_window_[static_cast<std::size_t>(traced)] = bytes;
    return;
  }
  count_event();
  timeline_.memory.push_back({traced, time, bytes});
}

void TimelineRecorder::on_link_rate(LinkId link, SimTime time, double bytes_per_s) {
  if (time > to_)
    return;
  // The rate before the window stands at its start: later changes before it replace it.
  time = std::max(time, from_);
  auto& all = timeline_.link_rates;
  if (link >= all.size()) {
    all.resize(link + 1);
    last_rate_.resize(link + 1, no_sample);
  }
  // The last sample is read from the dense copy: a step reshares links millions of times, and
  // each link's own list is elsewhere in memory.
  LinkRateSample& last = last_rate_[link];
  if (last.time_ps == time) {
    std::vector<LinkRateSample>& rates = all[link];
    rates.pop_back();
    last = rates.empty() ? no_sample : rates.back();
  }
  if (last.time_ps == no_sample.time_ps || last.bytes_per_s != bytes_per_s) {
    all[link].push_back({time, bytes_per_s});
    last = {time, bytes_per_s};
  }
}

}  // namespace scaleplan
