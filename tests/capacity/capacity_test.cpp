#include "sim/capacity/capacity.hpp"

#include <gtest/gtest.h>

#include "sim/capacity/capacity_report.hpp"

namespace scaleplan::capacity {
namespace {

constexpr const char* spec_text = R"(format: scaleplan-capacity/1
name: two-sizes
model: {preset: llama2-7b, seq_len: 4096}
training: {steps: 1000, global_batch: 256, dtype: bf16}
deadline_days: 10
failures: {device_mtbf_hours: 50000, node_mtbf_hours: 20000}
checkpoint: {write_gb_per_s: 100, read_gb_per_s: 100, restart_minutes: 5}
power: {pue: 1.25, usd_per_kwh: 0.1}
options:
  - name: small
    cluster: {device: H100-SXM5-80GB, nodes: [1, 2], devices_per_node: 8,
              network: {topology: fat-tree, link_bandwidth_gbps: 400}}
    node_overhead_w: 4000
    rent: {usd_per_device_hour: 2}
    buy: {usd_per_device: 20000, usd_per_node: 100000, usd_per_port: 2000, life_years: 4}
)";

// A finder that plans by hand: the step takes 1,000 s on one node, 600 s on two (not twice as
// fast), and nothing fits on a third size.
PlanOutcome hand_plans(const ClusterOption& option, const TrainingJob& base, int) {
  PlanOutcome outcome;
  const int nodes = option.cluster.nodes;
  if (nodes > 2) {
    outcome.why_none = "every plan needs more memory than the device has";
    return outcome;
  }
  ChosenPlan plan;
  plan.job = base;
  plan.job.parallelism.dp = option.cluster.device_count();
  plan.prediction.step_time_s = nodes == 1 ? 1000 : 600;
  plan.prediction.tokens_per_s = 256.0 * 4096 / plan.prediction.step_time_s;
  outcome.plan = plan;
  return outcome;
}

TEST(Capacity, CheckpointHoldsEveryParameterOnce) {
  // Llama 2 7B in bf16 with Adam: 2 bytes of weight and 12 of fp32 master and moments per
  // parameter, whatever the parallelism.
  const CapacitySpec spec = parse_capacity_spec(spec_text, "two.yaml", Catalog::builtin());
  TrainingJob job = spec.job;
  job.parallelism.tp = 8;
  job.parallelism.zero = 1;
  EXPECT_NEAR(checkpoint_bytes(job), 14 * total_parameters(job.model), 1);
}

TEST(Capacity, EachSizeRentedAndBought) {
  const CapacitySpec spec = parse_capacity_spec(spec_text, "two.yaml", Catalog::builtin());
  const CapacityReport report = evaluate_capacity(spec, hand_plans);
  ASSERT_EQ(report.rows.size(), 4u);
  const OptionResult& rent1 = report.rows[0];
  const OptionResult& buy1 = report.rows[1];
  const OptionResult& rent2 = report.rows[2];
  EXPECT_EQ(rent1.pricing, Pricing::rent);
  EXPECT_EQ(buy1.pricing, Pricing::buy);
  // 1,000 steps of 1,000 s: 1e6 s ideal, about 11.6 days; the failures of 8 devices and a node
  // (8 / 50,000 + 1 / 20,000 per hour: MTBF 4,761.9 h) and checkpoints of 14 bytes per
  // parameter at 100 GB/s stretch it by well under a percent.
  EXPECT_DOUBLE_EQ(rent1.ideal_s, 1e6);
  EXPECT_NEAR(rent1.goodput.job_mtbf_s / 3600, 1 / (8 / 50000.0 + 1 / 20000.0), 1e-9);
  EXPECT_GT(rent1.goodput.wall_s, rent1.ideal_s);
  EXPECT_LT(rent1.goodput.wall_s, 1.01 * rent1.ideal_s);
  // Rent: 8 devices · 2 $/h over the effective hours.
  EXPECT_DOUBLE_EQ(rent1.cost.usd, 8 * 2 * rent1.goodput.wall_s / 3600);
  // Power: (8 · 700 W + 4,000 W) · 1.25 = 12 kW.
  EXPECT_DOUBLE_EQ(rent1.facility_power_w, 12000);
  // Buy: 8 · 20,000 + 100,000 = 260,000 $ (one node has no network ports) over 4 years, plus
  // the energy; two nodes add a node and 16 ports: 2 · 260,000 + 16 · 2,000 = 552,000 $.
  EXPECT_DOUBLE_EQ(buy1.cost.capital_usd, 260000);
  EXPECT_DOUBLE_EQ(report.rows[3].cost.capital_usd, 552000);
  EXPECT_NEAR(buy1.cost.usd,
              260000 * buy1.goodput.wall_s / (4 * seconds_per_year) + buy1.energy_mwh * 1000 * 0.1,
              1e-6);
  // One node misses the 10-day deadline; two (600,000 s ideal, 6.9 days) meet it.
  EXPECT_FALSE(rent1.meets_deadline);
  EXPECT_TRUE(rent2.meets_deadline);
  ASSERT_EQ(rent1.misses.size(), 1u);
  EXPECT_NE(rent1.misses[0].find("past the deadline of 10.0 days"), std::string::npos);
  // Rented, one node costs 8 · 2 · 278 h ≈ 4.4 k$, two 16 · 2 · 167 h ≈ 5.3 k$; bought, the
  // amortised share is about the same. The cheapest row meeting the deadline is the best.
  ASSERT_TRUE(report.best);
  EXPECT_EQ(report.rows[*report.best].size.nodes, 2);
  for (std::size_t i : report.front)
    EXPECT_TRUE(report.rows[i].on_front);
}

TEST(Capacity, NoClusterSatisfiesSaysWhy) {
  std::string text = spec_text;
  text.replace(text.find("nodes: [1, 2]"), 13, "nodes: [1, 3]");
  const CapacitySpec spec = parse_capacity_spec(text, "two.yaml", Catalog::builtin());
  const CapacityReport report = evaluate_capacity(spec, hand_plans);
  EXPECT_FALSE(report.best);
  const std::string out = format_text(report);
  EXPECT_NE(out.find("no cluster meets the deadline and the budget:"), std::string::npos) << out;
  EXPECT_NE(out.find("small x8 rent: takes 11.6 days, past the deadline of 10.0 days"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("small x24 buy: no plan fits: every plan needs more memory"),
            std::string::npos)
      << out;
  // The rows without a plan are in the CSV with their reason, and not on the front.
  const std::string csv = format_csv(report);
  EXPECT_NE(csv.find("small,rent,H100-SXM5-80GB,24,3,24,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\"no plan fits: every plan needs more memory than the device has\""),
            std::string::npos)
      << csv;
  for (std::size_t i : report.front)
    EXPECT_TRUE(report.rows[i].has_plan());
}

}  // namespace
}  // namespace scaleplan::capacity
