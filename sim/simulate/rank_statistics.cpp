#include "sim/simulate/rank_statistics.hpp"

#include <algorithm>

namespace scaleplan {

namespace {

using Intervals = std::vector<std::pair<SimTime, SimTime>>;

// Time covered by sorted intervals.
double measure(const Intervals& intervals) {
  SimTime total = 0, cursor = 0;
  for (auto [a, b] : intervals) {
    a = std::max(a, cursor);
    if (b > a) {
      total += b - a;
      cursor = b;
    }
  }
  return to_seconds(total);
}

// Sorted intervals with the overlapping and touching ones joined, empty ones dropped.
Intervals merged(const Intervals& v) {
  Intervals out;
  for (const auto& iv : v) {
    if (!out.empty() && iv.first <= out.back().second) {
      out.back().second = std::max(out.back().second, iv.second);
    } else if (iv.second > iv.first) {
      out.push_back(iv);
    }
  }
  return out;
}

// Time covered by `a` but not by `b`, both sorted.
double measure_difference(const Intervals& unmerged_a, const Intervals& unmerged_b) {
  const Intervals a = merged(unmerged_a);
  const Intervals b = merged(unmerged_b);
  SimTime total = 0;
  std::size_t j = 0;
  for (const auto& [start, end] : a) {
    SimTime cursor = start;
    while (j < b.size() && b[j].second <= cursor)
      ++j;
    for (std::size_t k = j; k < b.size() && b[k].first < end; ++k) {
      if (b[k].first > cursor)
        total += b[k].first - cursor;
      cursor = std::max(cursor, b[k].second);
      if (cursor >= end)
        break;
    }
    if (cursor < end)
      total += end - cursor;
  }
  return to_seconds(total);
}

}  // namespace

RankStatistics::RankStatistics(const Plan& plan) : plan_(&plan), ranks_(plan.ranks.size()) {}

void RankStatistics::on_op(int rank, std::uint32_t op, SimTime start, SimTime end) {
  PerRank& r = ranks_[rank];
  r.finish = std::max(r.finish, end);
  const Op& o = plan_->ranks[rank].ops[op];
  if (o.kind == OpKind::compute) {
    r.compute_busy.emplace_back(start, end);
  } else {
    r.comm_busy_by_stream[static_cast<std::size_t>(o.stream)].emplace_back(start, end);
  }
}

void RankStatistics::on_memory(int rank, SimTime, double bytes) {
  ranks_[rank].peak_activation_bytes = std::max(ranks_[rank].peak_activation_bytes, bytes);
}

SimTime RankStatistics::step_end() const {
  SimTime step = 0;
  for (const PerRank& r : ranks_)
    step = std::max(step, r.finish);
  return step;
}

std::vector<RankResult> RankStatistics::results() const {
  const double step_time_s = to_seconds(step_end());
  std::vector<RankResult> results;
  results.reserve(ranks_.size());
  for (std::size_t i = 0; i < ranks_.size(); ++i) {
    const PerRank& state = ranks_[i];
    RankResult r;
    r.rank = plan_->ranks[i].rank;
    r.finish_s = to_seconds(state.finish);
    Intervals compute = state.compute_busy;
    std::sort(compute.begin(), compute.end());
    r.compute_s = measure(compute);
    Intervals comm;
    for (std::size_t s = 0; s < state.comm_busy_by_stream.size(); ++s) {
      Intervals busy = state.comm_busy_by_stream[s];
      if (busy.empty())
        continue;
      comm.insert(comm.end(), busy.begin(), busy.end());
      std::sort(busy.begin(), busy.end());
      r.exposed_by_stream_s[s] = measure_difference(busy, compute);
    }
    std::sort(comm.begin(), comm.end());
    r.exposed_comm_s = measure_difference(comm, compute);
    r.idle_s = std::max(0.0, step_time_s - r.compute_s - r.exposed_comm_s);
    r.peak_activation_bytes = state.peak_activation_bytes;
    results.push_back(r);
  }
  return results;
}

}  // namespace scaleplan
