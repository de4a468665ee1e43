#include "sim/capacity/capacity.hpp"

#include <gtest/gtest.h>

#include "sim/capacity/capacity_report.hpp"
#include "sim/report/prediction.hpp"
#include "sim/strategy/framework.hpp"

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

TEST(Capacity, ABudgetMarksTheDearRows) {
  // Rented, one node costs 8 x 2 $/h x 278 h = 4.4 k$ and two nodes 16 x 2 $/h x 167 h = 5.3 k$;
  // a budget of 5,000 $ leaves out the second. Bought, both cost far less (the run's share of
  // the capital, plus the energy). The best is then the cheapest row in time and budget.
  std::string text = spec_text;
  text.replace(text.find("deadline_days: 10"), 17, "deadline_days: 10\nbudget_usd: 5000");
  const CapacitySpec spec = parse_capacity_spec(text, "two.yaml", Catalog::builtin());
  ASSERT_EQ(spec.budget_usd, 5000);
  const CapacityReport report = evaluate_capacity(spec, hand_plans);
  ASSERT_EQ(report.rows.size(), 4u);
  const OptionResult& rent2 = report.rows[2];
  EXPECT_NEAR(rent2.cost.usd, 16 * 2 * rent2.goodput.wall_s / 3600, 1e-6);
  EXPECT_GT(rent2.cost.usd, 5000);
  EXPECT_FALSE(rent2.meets_budget);
  EXPECT_TRUE(rent2.meets_deadline);
  ASSERT_EQ(rent2.misses.size(), 1u);
  EXPECT_EQ(rent2.misses[0], "costs $5.3k, over the budget of $5.0k");
  for (const OptionResult& r : report.rows)
    EXPECT_EQ(r.meets_budget, r.cost.usd <= 5000) << r.option << " " << to_string(r.pricing);
  ASSERT_TRUE(report.best);
  const OptionResult& best = report.rows[*report.best];
  EXPECT_EQ(best.size.nodes, 2);
  EXPECT_EQ(best.pricing, Pricing::buy);
  const std::string out = format_text(report);
  EXPECT_NE(out.find("marked x:\n"), std::string::npos) << out;
  EXPECT_NE(out.find("small x16 rent: costs $5.3k, over the budget of $5.0k"), std::string::npos)
      << out;
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
  EXPECT_NE(csv.find(",false,false,false,no plan fits: every plan needs more memory than the "
                     "device has\n"),
            std::string::npos)
      << csv;
  // A reason with a comma is quoted (RFC 4180).
  EXPECT_NE(csv.find(",\"takes 11.6 days, past the deadline of 10.0 days\"\n"), std::string::npos)
      << csv;
  for (std::size_t i : report.front)
    EXPECT_TRUE(report.rows[i].has_plan());
}

TEST(Capacity, APlanOverMemoryIsNoPlan) {
  // A finder keeps only plans that fit; should one hand back a plan whose simulated peak is over
  // the device's memory, the row has no plan and says why, and it stays off the front.
  const CapacitySpec spec = parse_capacity_spec(spec_text, "two.yaml", Catalog::builtin());
  const auto over_memory = [](const ClusterOption& option, const TrainingJob& base, int) {
    PlanOutcome outcome = hand_plans(option, base, 0);
    if (outcome.plan && option.cluster.nodes == 1) {
      outcome.plan->prediction.memory.peak_bytes = 90.0 * (1u << 30);
      outcome.plan->prediction.memory.capacity_bytes = 80.0 * (1u << 30);
      outcome.plan->prediction.memory.fits = false;
    }
    return outcome;
  };
  const CapacityReport report = evaluate_capacity(spec, over_memory);
  ASSERT_EQ(report.rows.size(), 4u);
  for (const OptionResult& r : {report.rows[0], report.rows[1]}) {
    EXPECT_FALSE(r.has_plan());
    EXPECT_FALSE(r.on_front);
    ASSERT_EQ(r.misses.size(), 1u);
    EXPECT_EQ(r.misses[0],
              "no plan fits: the plan found peaks at 90.0 GiB, over the 80.0 GiB a device has");
  }
  EXPECT_TRUE(report.rows[2].has_plan());
  for (std::size_t i : report.front)
    EXPECT_TRUE(report.rows[i].outcome.plan->prediction.memory.fits);
}

TEST(Capacity, TheShippedSpecOnASimulatedPlan) {
  // The shipped example's first cluster, 256 nodes of 8 H100, with a Megatron-LM plan simulated
  // in full (the plan the planner would pick is its own business; this checks what capacity
  // makes of a real simulated step).
  const Catalog& catalog = Catalog::builtin();
  const CapacitySpec spec = load_capacity_spec(
      SCALEPLAN_SOURCE_DIR "/scenarios/capacity/llama3-70b-15t-tokens.yaml", catalog);
  const ClusterOption& h100 = spec.options[0];
  ASSERT_EQ(h100.cluster.device_count(), 2048);
  ChosenPlan plan;
  plan.job = spec.job;
  plan.job.training.micro_batch = 1;
  ParallelismSpec& p = plan.job.parallelism;
  p.tp = 8;
  p.pp = 4;
  p.dp = 64;
  p.schedule = PipelineSchedule::interleaved_1f1b;
  p.virtual_stages = 5;
  p.zero = 1;
  p.sequence_parallel = true;
  p.overlap_grad_reduce = true;
  // Megatron-Core's habits, as its README's runs of this size: the tensor-parallel traffic
  // overlapped with the GEMMs, the weight gather with the forward.
  plan.job.framework = framework_defaults(Framework::megatron_core, Dtype::bf16, 1).spec;
  const ClusterNetwork network = prepare_network(h100.cluster, catalog);
  const auto compute = make_compute_model(h100.cluster.device);
  plan.prediction = predict({h100.cluster, plan.job, *compute, network});
  ASSERT_TRUE(plan.prediction.memory.fits);
  PlanOutcome outcome;
  outcome.plan = plan;

  const OptionResult rent = evaluate_option(spec, h100, Pricing::rent, outcome);
  const OptionResult buy = evaluate_option(spec, h100, Pricing::buy, outcome);
  // 15e12 tokens in steps of 512 x 8,192: 3,576,279 steps (rounded up).
  EXPECT_EQ(spec.steps, 3576279);
  const double step_s = plan.prediction.step_time_s;
  EXPECT_DOUBLE_EQ(rent.ideal_s, 3576279 * step_s);
  // Between 35 % and 65 % MFU, as Megatron-LM runs of this size do (Llama 3 reports 38-43 % on
  // 16k H100): 6 x 70.6e9 x 15e12 FLOP / (2,048 x 989.4e12 FLOP/s) is 36 days at peak, so 56 to
  // 104 days to train.
  EXPECT_GT(plan.prediction.mfu, 0.35);
  EXPECT_LT(plan.prediction.mfu, 0.65);
  // A 2 TB/s file system keeps up with 4 bytes per token (Llama 3's 128k vocabulary): compute
  // binds, the data-limited time is the ideal one.
  EXPECT_EQ(rent.data.bottleneck, DataBottleneck::none);
  EXPECT_DOUBLE_EQ(rent.data_limited_s, rent.ideal_s);
  // Failures: 1 / (2,048 / 82,944 + 256 / 16,283) = 24.74 h between interruptions. A checkpoint
  // of 14 bytes per parameter is written in under a second at 2 TB/s, so checkpoints are cheap
  // and the 10-minute restarts dominate: about (τ/2 + R) / M ≈ (150 + 600) / 89,000 ≈ 0.9 % lost.
  EXPECT_NEAR(rent.goodput.job_mtbf_s / 3600, 1 / (2048 / 82944.0 + 256 / (2048 * 1296 / 163.0)),
              1e-9);
  EXPECT_NEAR(rent.checkpoint_bytes, 14 * total_parameters(spec.job.model), 1);
  EXPECT_LT(rent.goodput.checkpoint_write_s, 1.0);
  EXPECT_GT(rent.goodput.goodput, 0.985);
  EXPECT_LT(rent.goodput.goodput, 0.995);
  EXPECT_NEAR(rent.goodput.expected_failures, rent.goodput.wall_s / rent.goodput.job_mtbf_s,
              0.1 * rent.goodput.expected_failures);
  // Rented at AWS's capacity-block rate, 4.916 $ per GPU-hour, for the effective hours.
  EXPECT_DOUBLE_EQ(rent.cost.usd, 2048 * 4.916 * rent.goodput.wall_s / 3600);
  // Bought: 2,048 x 25,000 $ (the catalog's estimate) + 256 nodes x 100,000 $ + 2,048 ports x
  // 5,000 $ = 87.04 M$, of which the run uses wall / 5 years, plus the electricity at 8 c/kWh.
  EXPECT_DOUBLE_EQ(buy.cost.capital_usd, 2048 * 25000.0 + 256 * 100000.0 + 2048 * 5000.0);
  // Power: (2,048 x 700 W + 256 x 4,600 W) x 1.2 PUE = 3.133 MW.
  EXPECT_DOUBLE_EQ(rent.facility_power_w, (2048 * 700.0 + 256 * 4600.0) * 1.2);
  EXPECT_NEAR(rent.energy_mwh, 3.13344 * rent.goodput.wall_s / 3600, 1e-6 * rent.energy_mwh);
  EXPECT_EQ(rent.meets_deadline, rent.goodput.wall_s <= 90 * 86400.0);
}

}  // namespace
}  // namespace scaleplan::capacity
