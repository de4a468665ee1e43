#include "sim/capacity/capacity.hpp"

#include <cmath>

#include <fmt/format.h>

#include "sim/capacity/capacity_report.hpp"
#include "sim/capacity/pareto.hpp"

namespace scaleplan::capacity {

double checkpoint_bytes(const TrainingJob& job) {
  // One rank holding the whole model, unsharded: every parameter's state exactly once, as a
  // distributed checkpoint stores it whatever the parallelism.
  TrainingJob whole = job;
  whole.parallelism = ParallelismSpec{};
  const StaticMemory memory = static_memory_of_stage(whole, 0);
  return memory.weights_bytes + memory.optimizer_bytes;
}

namespace {

ClusterSize size_of(const ClusterSpec& cluster) {
  return {cluster.device_count(), cluster.nodes,
          cluster.nodes > 1 ? cluster.nodes * cluster.network.nics_per_node : 0};
}

constexpr double gib = 1024.0 * 1024 * 1024;

}  // namespace

OptionResult evaluate_option(const CapacitySpec& spec, const ClusterOption& option, Pricing pricing,
                             const PlanOutcome& outcome) {
  OptionResult r;
  r.option = option.name;
  r.pricing = pricing;
  r.device = option.cluster.device.name;
  r.size = size_of(option.cluster);
  r.outcome = outcome;
  // A finder keeps only plans whose simulated peak fits; one that did not is no plan here, so
  // that no row rests on a plan the devices cannot hold.
  if (outcome.plan && !outcome.plan->prediction.memory.fits) {
    const MemoryBreakdown& memory = outcome.plan->prediction.memory;
    r.outcome.plan.reset();
    r.outcome.why_none = fmt::format(
        "the plan found peaks at {:.1f} GiB, over the {:.1f} GiB a "
        "device has",
        memory.peak_bytes / gib, memory.capacity_bytes / gib);
  }
  if (!r.outcome.plan) {
    r.meets_deadline = false;
    r.meets_budget = false;
    r.misses.push_back("no plan fits: " + r.outcome.why_none);
    return r;
  }
  const Prediction& step = outcome.plan->prediction;
  r.ideal_s = static_cast<double>(spec.steps) * step.step_time_s;
  r.data = data_rate(step.tokens_per_s, r.size.nodes, spec.data);
  r.data_limited_s = spec.tokens / r.data.tokens_per_s;
  r.checkpoint_bytes = checkpoint_bytes(outcome.plan->job);
  r.goodput = goodput({r.data_limited_s, r.size.devices, r.size.nodes, r.checkpoint_bytes,
                       spec.failures, spec.checkpoint});
  const PowerSettings power{option.node_overhead_w, spec.pue, spec.usd_per_kwh};
  r.facility_power_w = facility_power_w(r.size, option.cluster.device.power_w.value, power);
  r.energy_mwh = energy_mwh(r.facility_power_w, r.goodput.wall_s);
  if (pricing == Pricing::rent) {
    r.cost = rent_cost(r.size, *option.rent, r.goodput.wall_s);
    r.price_source = option.rent->usd_per_device_hour.source;
  } else {
    r.cost = buy_cost(r.size, *option.buy, r.goodput.wall_s, r.energy_mwh, power);
    r.price_source = option.buy->usd_per_device.source;
  }
  if (spec.deadline_s && r.goodput.wall_s > *spec.deadline_s) {
    r.meets_deadline = false;
    r.misses.push_back(fmt::format("takes {}, past the deadline of {}",
                                   duration_text(r.goodput.wall_s),
                                   duration_text(*spec.deadline_s)));
  }
  if (spec.budget_usd && r.cost.usd > *spec.budget_usd) {
    r.meets_budget = false;
    r.misses.push_back(fmt::format("costs {}, over the budget of {}", money_text(r.cost.usd),
                                   money_text(*spec.budget_usd)));
  }
  return r;
}

CapacityReport evaluate_capacity(const CapacitySpec& spec, const PlanFinder& find) {
  CapacityReport report;
  report.spec = spec.name;
  report.model = spec.job.model.name;
  report.tokens = spec.tokens;
  report.steps = spec.steps;
  report.global_batch = spec.job.training.global_batch;
  report.seq_len = spec.job.model.seq_len;
  report.deadline_s = spec.deadline_s;
  report.budget_usd = spec.budget_usd;
  for (std::size_t c = 0; c < spec.options.size(); ++c) {
    const ClusterOption& option = spec.options[c];
    const PlanOutcome outcome = find(option, spec.job, spec.top_k);
    for (Pricing pricing : {Pricing::rent, Pricing::buy}) {
      if (pricing == Pricing::rent ? !option.rent : !option.buy)
        continue;
      report.rows.push_back(evaluate_option(spec, option, pricing, outcome));
      report.rows.back().cluster = c;
    }
  }
  // The front over every row with a plan, deadline or budget met or not: it shows what money buys
  // in time, and the marks say which points the spec allows.
  std::vector<TimeCost> points;
  std::vector<std::size_t> rows;
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    if (!report.rows[i].has_plan())
      continue;
    points.push_back({report.rows[i].goodput.wall_s, report.rows[i].cost.usd});
    rows.push_back(i);
  }
  for (std::size_t p : pareto_front(points)) {
    report.front.push_back(rows[p]);
    report.rows[rows[p]].on_front = true;
  }
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const OptionResult& r = report.rows[i];
    if (!r.satisfies())
      continue;
    const OptionResult* best = report.best ? &report.rows[*report.best] : nullptr;
    if (!best || r.cost.usd < best->cost.usd ||
        (r.cost.usd == best->cost.usd && r.goodput.wall_s < best->goodput.wall_s))
      report.best = i;
  }
  return report;
}

}  // namespace scaleplan::capacity
