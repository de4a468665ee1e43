#include "calibrate/executor/measured_run.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace scaleplan {

namespace {

std::int64_t to_ps(double s) {
  return std::llround(s * 1e12);
}

// The ops of `program` (at index `rank_index` of the timeline) with their times, in the order
// they ended, and the rank's activation memory over the step.
void add_ops(Timeline& t, int rank_index, const RankProgram& program,
             const std::vector<std::pair<std::uint32_t, OpTimes>>& times) {
  std::vector<std::pair<std::uint32_t, OpTimes>> ordered = times;
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto& a, const auto& b) { return a.second.end_s < b.second.end_s; });
  struct Change {
    std::int64_t time_ps;
    double bytes;
  };
  std::vector<Change> changes;
  for (const auto& [index, when] : ordered) {
    const Op& op = program.ops[index];
    TimelineOp o;
    o.rank = rank_index;
    o.op = index;
    o.label = op.label;
    o.microbatch = op.microbatch;
    o.kind = op.kind;
    o.stream = op.stream;
    o.bytes = op.bytes;
    o.start_ps = to_ps(when.start_s);
    o.end_ps = std::max(o.start_ps, to_ps(when.end_s));
    t.ops.push_back(o);
    if (op.activation_bytes > 0)
      changes.push_back({o.start_ps, op.activation_bytes});
    else if (op.activation_bytes < 0)
      changes.push_back({o.end_ps, op.activation_bytes});
  }
  std::stable_sort(changes.begin(), changes.end(),
                   [](const Change& a, const Change& b) { return a.time_ps < b.time_ps; });
  double held = 0;
  for (const Change& c : changes) {
    held += c.bytes;
    t.memory.push_back({rank_index, c.time_ps, held});
  }
}

std::vector<std::pair<std::uint32_t, OpTimes>> indexed(const std::vector<OpTimes>& times) {
  std::vector<std::pair<std::uint32_t, OpTimes>> out;
  for (std::uint32_t i = 0; i < times.size(); ++i)
    out.emplace_back(i, times[i]);
  return out;
}

double step_end_s(const std::vector<RankMeasurement>& ranks, std::size_t step) {
  double end = 0;
  for (const RankMeasurement& r : ranks) {
    for (const OpTimes& t : r.steps[step])
      end = std::max(end, t.end_s);
  }
  return end;
}

}  // namespace

MeasuredRun assemble_run(const Plan& plan, const std::vector<RankMeasurement>& ranks) {
  if (ranks.size() != plan.ranks.size() || ranks.empty())
    throw std::invalid_argument("assemble_run: one measurement per listed rank is needed");
  const std::size_t steps = ranks[0].steps.size();
  for (const RankMeasurement& r : ranks) {
    if (r.steps.size() != steps)
      throw std::invalid_argument("assemble_run: the ranks measured different step counts");
  }
  MeasuredRun run;
  for (std::size_t s = 0; s < steps; ++s)
    run.step_times_s.push_back(step_end_s(ranks, s));
  if (steps > 0) {
    std::vector<std::size_t> order(steps);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return run.step_times_s[a] < run.step_times_s[b];
    });
    run.trace_step = order[(steps - 1) / 2];
  }
  run.timeline.labels = plan.labels;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    run.timeline.ranks.push_back(plan.ranks[r].rank);
    if (steps > 0)
      add_ops(run.timeline, static_cast<int>(r), plan.ranks[r],
              indexed(ranks[r].steps[run.trace_step]));
  }
  std::stable_sort(run.timeline.ops.begin(), run.timeline.ops.end(),
                   [](const TimelineOp& a, const TimelineOp& b) { return a.end_ps < b.end_ps; });
  std::stable_sort(
      run.timeline.memory.begin(), run.timeline.memory.end(),
      [](const MemorySample& a, const MemorySample& b) { return a.time_ps < b.time_ps; });
  return run;
}

Timeline partial_timeline(const Plan& plan, const RankProgram& program,
                          const RankMeasurement& measured) {
  Timeline t;
  t.labels = plan.labels;
  t.ranks = {program.rank};
  if (!measured.steps.empty())
    add_ops(t, 0, program, indexed(measured.steps.back()));
  else
    add_ops(t, 0, program, measured.partial_step);
  return t;
}

std::string summary_json(const MeasuredRun& run) {
  nlohmann::ordered_json j;
  j["format"] = "scaleplan-measured/1";
  j["backend"] = run.backend;
  j["source"] = run.source;
  j["ranks"] = run.timeline.ranks.size();
  j["warmup_steps"] = run.warmup_steps;
  j["measured_steps"] = run.step_times_s.size();
  j["step_times_s"] = run.step_times_s;
  std::vector<double> sorted = run.step_times_s;
  std::sort(sorted.begin(), sorted.end());
  if (!sorted.empty()) {
    j["step_time_s"] = {{"median", run.step_times_s[run.trace_step]},
                        {"mean", std::accumulate(sorted.begin(), sorted.end(), 0.0) /
                                     static_cast<double>(sorted.size())},
                        {"min", sorted.front()},
                        {"max", sorted.back()}};
  }
  j["trace_step"] = run.trace_step;
  // Per rank and stream of the traced step: the time its ops ran.
  nlohmann::ordered_json busy = nlohmann::ordered_json::array();
  for (std::size_t r = 0; r < run.timeline.ranks.size(); ++r) {
    nlohmann::ordered_json streams = nlohmann::ordered_json::object();
    for (int s = 0; s < stream_count; ++s) {
      double total = 0;
      for (const std::uint32_t i : run.timeline.ops_on(static_cast<int>(r), static_cast<Stream>(s)))
        total +=
            static_cast<double>(run.timeline.ops[i].end_ps - run.timeline.ops[i].start_ps) / 1e12;
      if (total > 0)
        streams[std::string(to_string(static_cast<Stream>(s)))] = total;
    }
    busy.push_back({{"rank", run.timeline.ranks[r]}, {"busy_s", streams}});
  }
  j["streams"] = busy;
  return j.dump(2) + "\n";
}

}  // namespace scaleplan
