#include "sim/planner/plan_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

namespace scaleplan {

namespace {

constexpr double gib = 1024.0 * 1024 * 1024;

std::string schedule_text(const ParallelismSpec& p) {
  return p.schedule == PipelineSchedule::interleaved_1f1b
             ? fmt::format("{} x{}", to_string(p.schedule), p.virtual_stages)
             : std::string(to_string(p.schedule));
}

// What a table row shows of a plan: the simulation's figures where it was simulated.
struct Figures {
  double step_time_s = 0;
  double tokens_per_s = 0;
  double mfu = 0;
  double peak_bytes = 0;
  double capacity_bytes = 0;
  double compute_s = 0;
  double exposed_comm_s = 0;
  double bubble_s = 0;
};

Figures figures_of(const RankedPlan& plan) {
  Figures f;
  if (plan.simulated) {
    const Prediction& p = *plan.simulated;
    f = {p.step_time_s,
         p.tokens_per_s,
         p.mfu,
         p.memory.peak_bytes,
         p.memory.capacity_bytes,
         p.breakdown.compute_s,
         p.breakdown.exposed_comm_s,
         p.breakdown.bubble_s};
    return f;
  }
  const PlanEstimate& e = plan.estimate;
  const TrainingJob& job = plan.job;
  const double tokens = static_cast<double>(job.training.global_batch * job.model.seq_len);
  f.step_time_s = e.step_time_s;
  f.tokens_per_s = tokens / e.step_time_s;
  f.peak_bytes = e.memory.peak_bytes;
  f.capacity_bytes = e.memory.capacity_bytes;
  f.compute_s = e.compute_s;
  f.exposed_comm_s = e.exposed_comm_s;
  f.bubble_s = e.bubble_s;
  return f;
}

std::string counts_text(const PlanSearch& s) {
  const SearchCounts& c = s.counts;
  return fmt::format(
      "candidates {}: pruned by rule {}, by memory {}; estimated {} ({} as fast as another "
      "with less memory); simulated {} ({} over memory when simulated)\n",
      c.enumerated, c.pruned_by_rule, c.pruned_by_memory, c.estimated, c.same_time_more_memory,
      c.simulated, c.simulated_over_memory);
}

std::string timings_text(const PlanSearch& s) {
  const SearchTimings& t = s.timings;
  const double checked = static_cast<double>(s.counts.enumerated);
  const double estimated = static_cast<double>(s.counts.estimated + s.counts.pruned_by_memory);
  return fmt::format(
      "search {:.2f} s on {} threads: enumerate and estimate {:.2f} s ({:.0f} estimates per CPU "
      "second, {:.0f} candidates per wall second), simulate {:.2f} s{}\n",
      t.total_s, t.threads, t.estimate_s, t.estimate_cpu_s > 0 ? estimated / t.estimate_cpu_s : 0,
      t.estimate_s > 0 ? checked / t.estimate_s : 0, t.simulate_s,
      s.cancelled ? " (stopped before the end)" : "");
}

// Which ranked pipeline plans run the split balanced by layer time (the planner keeps it where
// it simulates faster than the even split).
std::string splits_text(const PlanSearch& s) {
  std::string balanced;
  int pipelines = 0;
  for (std::size_t i = 0; i < s.ranked.size(); ++i) {
    const ParallelismSpec& p = s.ranked[i].job.parallelism;
    if (p.pp < 2 || p.schedule == PipelineSchedule::interleaved_1f1b)
      continue;
    ++pipelines;
    if (!p.stage_layers.empty()) {
      balanced += fmt::format("{}#{} [{}]", balanced.empty() ? "" : ", ", i + 1,
                              fmt::join(p.stage_layers, " "));
    }
  }
  if (pipelines == 0)
    return "";
  return balanced.empty()
             ? "\npipeline splits: even in every plan (the split balanced by layer time, "
               "simulated too, was no faster)\n"
             : "\npipeline splits balanced by layer time (simulated faster than the even split; "
               "scaleplan balance): " +
                   balanced + "\n";
}

nlohmann::json parallelism_json(const TrainingJob& job) {
  const ParallelismSpec& p = job.parallelism;
  nlohmann::json out{{"tp", p.tp},
                     {"pp", p.pp},
                     {"dp", p.dp},
                     {"cp", p.cp},
                     {"ep", p.ep},
                     {"schedule", std::string(to_string(p.schedule))},
                     {"virtual_stages", p.virtual_stages},
                     {"zero", p.zero},
                     {"recompute", std::string(to_string(p.recompute))},
                     {"sequence_parallel", p.sequence_parallel}};
  // The split balanced by layer time, where the planner kept it; absent: the even split.
  if (!p.stage_layers.empty())
    out["stage_layers"] = p.stage_layers;
  return out;
}

nlohmann::json plan_json(const RankedPlan& plan, std::size_t rank) {
  const Figures f = figures_of(plan);
  nlohmann::json out{
      {"rank", rank},
      {"parallelism", parallelism_json(plan.job)},
      {"micro_batch", plan.job.training.micro_batch},
      {"step_time_s", f.step_time_s},
      {"estimated_step_time_s", plan.estimate.step_time_s},
      {"tokens_per_s", f.tokens_per_s},
      {"memory", {{"peak_bytes", f.peak_bytes}, {"capacity_bytes", f.capacity_bytes}}},
      {"estimated_peak_bytes", plan.estimate.memory.peak_bytes},
      {"breakdown",
       {{"compute_s", f.compute_s},
        {"exposed_comm_s", f.exposed_comm_s},
        {"bubble_s", f.bubble_s}}},
      {"cost_usd", plan.cost_usd},
      {"energy_j", plan.energy_j},
      {"simulated", plan.simulated.has_value()}};
  if (plan.simulated)
    out["mfu"] = f.mfu;
  return out;
}

}  // namespace

std::string format_plan_text(const PlanSearch& search, const PlanReportContext& context) {
  const TrainingJob& base = context.base;
  std::string out;
  out += "scenario   " + context.scenario + "\n";
  out += "cluster    " + context.cluster + "\n";
  out +=
      fmt::format("model      {}, {} sequences of {} tokens per step, {}\n", base.model.name,
                  base.training.global_batch, base.model.seq_len, to_string(base.training.dtype));
  out += fmt::format("objective  {}\n\n", to_string(context.objective));
  out += fmt::format(
      "{:>3} {:>3} {:>3} {:>4} {:>3} {:>3} {:>3}  {:<20} {:<9} {:>4} {:>3} {:>8} "
      "{:>8} {:>9} {:>6} {:>12} {:>8} {:>8}\n",
      "#", "tp", "pp", "dp", "cp", "ep", "mb", "schedule", "recompute", "zero", "sp", "step s",
      "est. s", "tokens/s", "MFU %", "memory GiB", "comm s", "bubble s");
  for (std::size_t i = 0; i < search.ranked.size(); ++i) {
    const RankedPlan& plan = search.ranked[i];
    const ParallelismSpec& p = plan.job.parallelism;
    const Figures f = figures_of(plan);
    out += fmt::format(
        "{:>3} {:>3} {:>3} {:>4} {:>3} {:>3} {:>3}  {:<20} {:<9} {:>4} {:>3} {:>8.3f} {:>8.3f} "
        "{:>9.0f} {:>6.1f} {:>5.1f} of {:<3.0f} {:>8.3f} {:>8.3f}\n",
        i + 1, p.tp, p.pp, p.dp, p.cp, p.ep, plan.job.training.micro_batch, schedule_text(p),
        to_string(p.recompute), p.zero, p.sequence_parallel ? "yes" : "no", f.step_time_s,
        plan.estimate.step_time_s, f.tokens_per_s, 100 * f.mfu, f.peak_bytes / gib,
        f.capacity_bytes / gib, f.exposed_comm_s, f.bubble_s);
  }
  if (search.ranked.empty())
    out += "no plan fits: " + why_no_plan(search.counts, context.device_memory_bytes) + "\n";
  out += splits_text(search);
  if (search.ranked.size() >= 2)
    out += "\nwhy 1 beats 2: " + explain_difference(search.ranked[0], search.ranked[1]) + "\n";
  if (context.objective != PlanObjective::time && !search.ranked.empty()) {
    const RankedPlan& best = search.ranked.front();
    out += fmt::format("best plan per step: {:.2f} USD, {:.3f} kWh\n", best.cost_usd,
                       best.energy_j / 3.6e6);
  }
  out += "\n" + counts_text(search) + timings_text(search);
  return out;
}

std::string format_plan_json(const PlanSearch& search, const PlanReportContext& context) {
  nlohmann::json ranked = nlohmann::json::array();
  for (std::size_t i = 0; i < search.ranked.size(); ++i)
    ranked.push_back(plan_json(search.ranked[i], i + 1));
  nlohmann::json estimated = nlohmann::json::array();
  for (std::size_t i = 0; i < search.estimated_only.size(); ++i)
    estimated.push_back(plan_json(search.estimated_only[i], search.ranked.size() + i + 1));
  const SearchCounts& c = search.counts;
  const SearchTimings& t = search.timings;
  nlohmann::json out{{"scenario", context.scenario},
                     {"cluster", context.cluster},
                     {"device", context.device},
                     {"devices", context.devices},
                     {"objective", std::string(to_string(context.objective))},
                     {"ranked", ranked},
                     {"estimated_only", estimated},
                     {"counts",
                      {{"enumerated", c.enumerated},
                       {"pruned_by_rule", c.pruned_by_rule},
                       {"pruned_by_memory", c.pruned_by_memory},
                       {"estimated", c.estimated},
                       {"same_time_more_memory", c.same_time_more_memory},
                       {"simulated", c.simulated},
                       {"simulated_over_memory", c.simulated_over_memory}}},
                     {"timings",
                      {{"estimate_s", t.estimate_s},
                       {"simulate_s", t.simulate_s},
                       {"total_s", t.total_s},
                       {"estimate_cpu_s", t.estimate_cpu_s},
                       {"threads", t.threads}}},
                     {"cancelled", search.cancelled}};
  if (search.ranked.size() >= 2)
    out["why_first"] = explain_difference(search.ranked[0], search.ranked[1]);
  if (search.ranked.empty())
    out["why_none"] = why_no_plan(search.counts, context.device_memory_bytes);
  return out.dump(2) + "\n";
}

std::string format_plan_csv(const PlanSearch& search) {
  std::string out =
      "rank,tp,pp,dp,cp,ep,micro_batch,schedule,virtual_stages,recompute,zero,sequence_parallel,"
      "step_time_s,estimated_step_time_s,tokens_per_s,mfu,peak_bytes,capacity_bytes,compute_s,"
      "exposed_comm_s,bubble_s,cost_usd,energy_j\n";
  for (std::size_t i = 0; i < search.ranked.size(); ++i) {
    const RankedPlan& plan = search.ranked[i];
    const ParallelismSpec& p = plan.job.parallelism;
    const Figures f = figures_of(plan);
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},"
        "{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g}\n",
        i + 1, p.tp, p.pp, p.dp, p.cp, p.ep, plan.job.training.micro_batch, to_string(p.schedule),
        p.virtual_stages, to_string(p.recompute), p.zero, p.sequence_parallel, f.step_time_s,
        plan.estimate.step_time_s, f.tokens_per_s, f.mfu, f.peak_bytes, f.capacity_bytes,
        f.compute_s, f.exposed_comm_s, f.bubble_s, plan.cost_usd, plan.energy_j);
  }
  return out;
}

}  // namespace scaleplan
