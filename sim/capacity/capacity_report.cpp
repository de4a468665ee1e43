#include "sim/capacity/capacity_report.hpp"

#include <algorithm>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace scaleplan::capacity {

namespace {

constexpr double day_s = 86400;

// A text field as RFC 4180 writes it: quoted, with quotes doubled, when it holds a comma, a quote
// or a line break (names and reasons may).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos)
    return text;
  std::string quoted = "\"";
  for (char c : text)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// The unit of a table column: days or hours, millions or thousands of dollars, whichever the
// largest value of the column reads best in.
struct ColumnUnit {
  std::string_view name;
  double size = 1;
};

ColumnUnit time_unit(double largest_s) {
  return largest_s < 2 * day_s ? ColumnUnit{"h", 3600} : ColumnUnit{"days", day_s};
}

ColumnUnit money_unit(double largest_usd) {
  return largest_usd < 1e5 ? ColumnUnit{"$k", 1e3} : ColumnUnit{"$M", 1e6};
}

// Few failures keep a decimal: 0.4 is not none.
std::string count_of_failures(double n) {
  return n < 10 ? fmt::format("{:.2g}", n) : fmt::format("{:.0f}", n);
}

// Decimal units, as storage bandwidths are quoted: "94.3 GB", "0.99 TB".
std::string bytes_text(double bytes) {
  return bytes < 1e12 ? fmt::format("{:.1f} GB", bytes / 1e9)
                      : fmt::format("{:.2f} TB", bytes / 1e12);
}

// Whole MWh, but three digits for a small job.
std::string energy_text(double mwh) {
  return mwh < 100 ? fmt::format("{:.3g}", mwh) : fmt::format("{:.0f}", mwh);
}

// 15.0T, 52.4B, 4.19M, 512: tokens as papers count them
std::string count_text(double n) {
  if (n >= 1e12)
    return fmt::format("{:.1f}T", n / 1e12);
  if (n >= 1e9)
    return fmt::format("{:.1f}B", n / 1e9);
  if (n >= 1e6)
    return fmt::format("{:.2f}M", n / 1e6);
  return fmt::format("{:.0f}", n);
}

std::string plan_text(const ParallelismSpec& p, std::int64_t micro_batch) {
  std::string text = fmt::format("tp {} pp {} dp {}", p.tp, p.pp, p.dp);
  if (p.cp > 1)
    text += fmt::format(" cp {}", p.cp);
  if (p.ep > 1)
    text += fmt::format(" ep {}", p.ep);
  text += fmt::format(" mb {}", micro_batch);
  if (p.pp > 1) {
    text += fmt::format(" {}", to_string(p.schedule));
    if (p.virtual_stages > 1)
      text += fmt::format(" x{}", p.virtual_stages);
  }
  if (p.zero > 0)
    text += fmt::format(" zero {}", p.zero);
  if (p.recompute != Recompute::none)
    text += fmt::format(" rc {}", to_string(p.recompute));
  if (p.sequence_parallel)
    text += " sp";
  return text;
}

std::string label(const OptionResult& r) {
  return fmt::format("{} x{} {}", r.option, r.size.devices, to_string(r.pricing));
}

std::string cluster_label(const OptionResult& r) {
  return fmt::format("{} x{}", r.option, r.size.devices);
}

std::string marks(const OptionResult& r) {
  std::string m;
  m += r.on_front ? "*" : " ";
  m += r.satisfies() ? " " : "x";
  return m;
}

std::string header_text(const CapacityReport& report) {
  std::string out;
  out += fmt::format("capacity   {}\n", report.spec);
  out +=
      fmt::format("job        {}: {} tokens, {} steps of {} x {}-token sequences\n", report.model,
                  count_text(report.tokens), report.steps, report.global_batch, report.seq_len);
  out += fmt::format("limits     deadline {}, budget {}\n",
                     report.deadline_s ? duration_text(*report.deadline_s) : "none",
                     report.budget_usd ? money_text(*report.budget_usd) : "none");
  return out;
}

std::string details_text(const OptionResult& r) {
  const Goodput& g = r.goodput;
  std::string out = fmt::format(
      "  {}: job MTBF {}, checkpoint {} written in {} every {}, restart {}, {} failures "
      "expected; goodput {:.1f} %",
      cluster_label(r), duration_text(g.job_mtbf_s), bytes_text(r.checkpoint_bytes),
      duration_text(g.checkpoint_write_s), duration_text(g.checkpoint_interval_s),
      duration_text(g.restart_s), count_of_failures(g.expected_failures), 100 * g.goodput);
  if (r.data.bottleneck != DataBottleneck::none) {
    out += fmt::format("; data: {} binds at {:.3g} tokens/s (compute {:.3g})",
                       to_string(r.data.bottleneck), r.data.pipeline_tokens_per_s,
                       r.outcome.plan->prediction.tokens_per_s);
  }
  return out + "\n";
}

std::string search_text(const OptionResult& r) {
  const PlanOutcome& o = r.outcome;
  std::string out =
      fmt::format("  {}: {} plans fit by the estimate", cluster_label(r), o.candidates);
  if (o.plan) {
    out += fmt::format("; the best simulated {:.3f} s per step, estimated {:.3f} s",
                       o.plan->prediction.step_time_s, o.plan->estimate_step_time_s);
  }
  return out + fmt::format("; searched in {}\n", duration_text(o.search_s));
}

// One line per row: the plan column as wide as its longest plan, so that the figures line up.
std::string table_text(const CapacityReport& report) {
  std::vector<std::string> names;
  std::vector<std::string> plans;
  std::size_t name_width = std::string_view("cluster").size();
  std::size_t plan_width = std::string_view("best plan").size();
  double longest_s = 0;
  double dearest_usd = 0;
  double dearest_capital_usd = 0;
  for (const OptionResult& r : report.rows) {
    longest_s = std::max(longest_s, r.goodput.wall_s);
    dearest_usd = std::max(dearest_usd, r.cost.usd);
    dearest_capital_usd = std::max(dearest_capital_usd, r.cost.capital_usd);
    names.push_back(cluster_label(r));
    plans.push_back(r.has_plan() ? plan_text(r.outcome.plan->job.parallelism,
                                             r.outcome.plan->job.training.micro_batch)
                                 : "");
    name_width = std::max(name_width, names.back().size());
    plan_width = std::max(plan_width, plans.back().size());
  }
  const ColumnUnit time = time_unit(longest_s);
  const ColumnUnit money = money_unit(dearest_usd);
  const ColumnUnit capital_money = money_unit(dearest_capital_usd);
  std::string out = fmt::format(
      "{:<2} {:<{}} {:<5} {:<{}} {:>7} {:>6} {:>10} {:>7} {:>6} {:>8} {:>10} {:>7}\n", "",
      "cluster", name_width, "price", "best plan", plan_width, "step s", "MFU",
      fmt::format("ideal {}", time.name), "goodput", time.name, fmt::format("cost {}", money.name),
      fmt::format("capital {}", capital_money.name), "MWh");
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const OptionResult& r = report.rows[i];
    if (!r.has_plan()) {
      out += fmt::format("{:<2} {:<{}} {:<5} no plan fits: {}\n", marks(r), names[i], name_width,
                         to_string(r.pricing), r.outcome.why_none);
      continue;
    }
    const Prediction& step = r.outcome.plan->prediction;
    const std::string capital = r.pricing == Pricing::buy
                                    ? fmt::format("{:.2f}", r.cost.capital_usd / capital_money.size)
                                    : "-";
    out += fmt::format(
        "{:<2} {:<{}} {:<5} {:<{}} {:>7.3f} {:>5.1f}% {:>10.1f} {:>6.1f}% {:>6.1f} {:>8.2f} "
        "{:>10} {:>7}\n",
        marks(r), names[i], name_width, to_string(r.pricing), plans[i], plan_width,
        step.step_time_s, 100 * step.mfu, r.ideal_s / time.size, 100 * r.goodput.goodput,
        r.goodput.wall_s / time.size, r.cost.usd / money.size, capital, energy_text(r.energy_mwh));
  }
  return out;
}

}  // namespace

std::string duration_text(double s) {
  if (s < 1)
    return fmt::format("{:.2g} s", s);
  if (s < 100)
    return fmt::format("{:.1f} s", s);
  if (s < 2 * 3600)
    return fmt::format("{:.0f} min", s / 60);
  if (s < 2 * day_s)
    return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / day_s);
}

std::string money_text(double usd) {
  if (usd >= 1e6)
    return fmt::format("${:.2f}M", usd / 1e6);
  if (usd >= 1e3)
    return fmt::format("${:.1f}k", usd / 1e3);
  return fmt::format("${:.0f}", usd);
}

std::string format_text(const CapacityReport& report) {
  std::string out = header_text(report) + "\n" + table_text(report);
  out +=
      "\n*: on the time/cost Pareto front; x: misses the deadline or the budget, or no plan "
      "fits\n"
      "time to train: ideal, steps x simulated step time; then held to the data pipeline's rate "
      "and stretched by failures, checkpoints and restarts (goodput = ideal / effective)\n"
      "cost: rented, devices x price per device-hour x effective hours; bought, the capital "
      "spread over the cluster's life for the effective time, plus the electricity\n";

  out += "\nPareto front (fastest first):\n";
  for (std::size_t i : report.front) {
    const OptionResult& r = report.rows[i];
    out += fmt::format("  {:<32} {:>10}  {:>8}\n", label(r), duration_text(r.goodput.wall_s),
                       money_text(r.cost.usd));
  }
  if (report.front.empty())
    out += "  (empty: no cluster has a plan that fits)\n";

  if (report.best) {
    const OptionResult& r = report.rows[*report.best];
    out += fmt::format(
        "\nbest: {}: {}, {}{}, {} MWh (the cheapest that meets the deadline and the "
        "budget)\n",
        label(r), duration_text(r.goodput.wall_s), money_text(r.cost.usd),
        r.pricing == Pricing::buy
            ? fmt::format(" (its share of a {} cluster)", money_text(r.cost.capital_usd))
            : "",
        energy_text(r.energy_mwh));
  }
  const bool any_miss = std::any_of(report.rows.begin(), report.rows.end(),
                                    [](const OptionResult& r) { return !r.misses.empty(); });
  if (any_miss) {
    out += report.best ? "\nmarked x:\n" : "\nno cluster meets the deadline and the budget:\n";
    for (const OptionResult& r : report.rows) {
      for (const std::string& why : r.misses)
        out += fmt::format("  {}: {}\n", label(r), why);
    }
  }

  out +=
      "\ngoodput (Daly 2006: failures from the devices' and nodes' MTBF, checkpoints every "
      "optimum interval):\n";
  // Once per cluster: its rows rented and bought share the plan and the time.
  std::string searches;
  for (std::size_t i = 0; i < report.rows.size(); ++i) {
    const OptionResult& r = report.rows[i];
    if (i > 0 && report.rows[i - 1].cluster == r.cluster)
      continue;
    searches += search_text(r);
    if (r.has_plan())
      out += details_text(r);
  }
  out +=
      "\nplan search (each cluster's plans ranked by the fast estimate, the best simulated in "
      "full):\n" +
      searches;
  return out;
}

std::string format_csv(const CapacityReport& report) {
  std::string out =
      "option,pricing,device,devices,nodes,ports,tp,pp,dp,cp,ep,micro_batch,schedule,"
      "virtual_stages,zero,recompute,sequence_parallel,step_time_s,estimate_step_time_s,"
      "tokens_per_s,mfu,peak_memory_bytes,capacity_bytes,ideal_s,data_bottleneck,data_limited_s,"
      "job_mtbf_s,checkpoint_bytes,checkpoint_write_s,checkpoint_interval_s,restart_s,"
      "expected_failures,goodput,effective_s,facility_power_w,energy_mwh,cost_usd,capital_usd,"
      "energy_usd,meets_deadline,meets_budget,on_pareto_front,why\n";
  for (const OptionResult& r : report.rows) {
    std::string why;
    for (const std::string& w : r.misses)
      why += (why.empty() ? "" : "; ") + w;
    out += fmt::format("{},{},{},{},{},{},", csv_field(r.option), to_string(r.pricing),
                       csv_field(r.device), r.size.devices, r.size.nodes, r.size.ports);
    if (r.has_plan()) {
      const ChosenPlan& plan = *r.outcome.plan;
      const ParallelismSpec& p = plan.job.parallelism;
      const Prediction& s = plan.prediction;
      out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},", p.tp, p.pp, p.dp, p.cp, p.ep,
                         plan.job.training.micro_batch, to_string(p.schedule), p.virtual_stages,
                         p.zero, to_string(p.recompute), p.sequence_parallel);
      out += fmt::format("{},{},{},{},{},{},{},{},{},", s.step_time_s, plan.estimate_step_time_s,
                         s.tokens_per_s, s.mfu, s.memory.peak_bytes, s.memory.capacity_bytes,
                         r.ideal_s, to_string(r.data.bottleneck), r.data_limited_s);
      const Goodput& g = r.goodput;
      out += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},", g.job_mtbf_s,
                         r.checkpoint_bytes, g.checkpoint_write_s, g.checkpoint_interval_s,
                         g.restart_s, g.expected_failures, g.goodput, g.wall_s, r.facility_power_w,
                         r.energy_mwh, r.cost.usd, r.cost.capital_usd, r.cost.energy_usd);
    } else {
      out += std::string(11 + 9 + 13, ',');
    }
    out +=
        fmt::format("{},{},{},{}\n", r.meets_deadline, r.meets_budget, r.on_front, csv_field(why));
  }
  return out;
}

namespace {

nlohmann::json plan_json(const ChosenPlan& plan) {
  const ParallelismSpec& p = plan.job.parallelism;
  const Prediction& s = plan.prediction;
  return {{"parallelism",
           {{"tp", p.tp},
            {"pp", p.pp},
            {"dp", p.dp},
            {"cp", p.cp},
            {"ep", p.ep},
            {"schedule", to_string(p.schedule)},
            {"virtual_stages", p.virtual_stages},
            {"zero", p.zero},
            {"recompute", to_string(p.recompute)},
            {"sequence_parallel", p.sequence_parallel}}},
          {"micro_batch", plan.job.training.micro_batch},
          {"step_time_s", s.step_time_s},
          {"estimate_step_time_s", plan.estimate_step_time_s},
          {"tokens_per_s", s.tokens_per_s},
          {"mfu", s.mfu},
          {"peak_memory_bytes", s.memory.peak_bytes},
          {"capacity_bytes", s.memory.capacity_bytes}};
}

nlohmann::json row_json(const OptionResult& r) {
  nlohmann::json row = {{"option", r.option},
                        {"pricing", to_string(r.pricing)},
                        {"device", r.device},
                        {"devices", r.size.devices},
                        {"nodes", r.size.nodes},
                        {"ports", r.size.ports},
                        {"meets_deadline", r.meets_deadline},
                        {"meets_budget", r.meets_budget},
                        {"on_pareto_front", r.on_front},
                        {"misses", r.misses}};
  if (!r.has_plan()) {
    row["plan"] = nullptr;
    return row;
  }
  const Goodput& g = r.goodput;
  row["plan"] = plan_json(*r.outcome.plan);
  row["ideal_s"] = r.ideal_s;
  row["data"] = {{"bottleneck", to_string(r.data.bottleneck)},
                 {"pipeline_tokens_per_s", r.data.bottleneck == DataBottleneck::none
                                               ? nlohmann::json(nullptr)
                                               : nlohmann::json(r.data.pipeline_tokens_per_s)},
                 {"data_limited_s", r.data_limited_s}};
  row["goodput"] = {{"job_mtbf_s", g.job_mtbf_s},
                    {"checkpoint_bytes", r.checkpoint_bytes},
                    {"checkpoint_write_s", g.checkpoint_write_s},
                    {"checkpoint_interval_s", g.checkpoint_interval_s},
                    {"restart_s", g.restart_s},
                    {"expected_failures", g.expected_failures},
                    {"goodput", g.goodput}};
  row["effective_s"] = g.wall_s;
  row["facility_power_w"] = r.facility_power_w;
  row["energy_mwh"] = r.energy_mwh;
  row["cost"] = {{"usd", r.cost.usd},
                 {"capital_usd", r.cost.capital_usd},
                 {"energy_usd", r.cost.energy_usd},
                 {"price_source", r.price_source}};
  return row;
}

}  // namespace

std::string format_json(const CapacityReport& report) {
  nlohmann::json out = {
      {"spec", report.spec},
      {"model", report.model},
      {"tokens", report.tokens},
      {"steps", report.steps},
      {"global_batch", report.global_batch},
      {"seq_len", report.seq_len},
      {"deadline_s",
       report.deadline_s ? nlohmann::json(*report.deadline_s) : nlohmann::json(nullptr)},
      {"budget_usd",
       report.budget_usd ? nlohmann::json(*report.budget_usd) : nlohmann::json(nullptr)},
      {"pareto_front", report.front},
      {"best", report.best ? nlohmann::json(*report.best) : nlohmann::json(nullptr)}};
  out["rows"] = nlohmann::json::array();
  for (const OptionResult& r : report.rows)
    out["rows"].push_back(row_json(r));
  return out.dump(2) + "\n";
}

}  // namespace scaleplan::capacity
