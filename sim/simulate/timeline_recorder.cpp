#include "sim/simulate/timeline_recorder.hpp"

namespace scaleplan {

TimelineRecorder::TimelineRecorder(const Plan& plan, bool record_link_rates)
    : plan_(&plan), record_link_rates_(record_link_rates) {
  timeline_.ranks.reserve(plan.ranks.size());
  for (const RankProgram& program : plan.ranks)
    timeline_.ranks.push_back(program.rank);
  timeline_.labels = plan.labels;
}

void TimelineRecorder::on_op(int rank, std::uint32_t index, SimTime start, SimTime end) {
  const Op& op = plan_->ranks[rank].ops[index];
  const double bytes = op.kind == OpKind::compute ? 0.0 : op.bytes;
  timeline_.ops.push_back(
      {rank, index, op.label, op.microbatch, op.kind, op.stream, bytes, start, end});
}

void TimelineRecorder::on_memory(int rank, SimTime time, double bytes) {
  timeline_.memory.push_back({rank, time, bytes});
}

void TimelineRecorder::on_link_rate(LinkId link, SimTime time, double bytes_per_s) {
  auto& all = timeline_.link_rates;
  if (link >= all.size())
    all.resize(link + 1);
  std::vector<LinkRateSample>& rates = all[link];
  if (!rates.empty() && rates.back().time_ps == time)
    rates.pop_back();
  if (rates.empty() || rates.back().bytes_per_s != bytes_per_s)
    rates.push_back({time, bytes_per_s});
}

}  // namespace scaleplan
