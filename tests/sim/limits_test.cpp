// Absurd and hostile inputs get a clear error, never an overflow, a hang or an exhausted memory
// (docs/reliability.md).
#include <limits>

#include <gtest/gtest.h>

#include "hardware/io/catalog.hpp"
#include "sim/engine/engine.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulator.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/strategy/plan_size.hpp"
#include "sim/strategy/strategy_check.hpp"
#include "tests/support/plans.hpp"

namespace scaleplan {
namespace {

std::string scenario_errors(const std::string& text) {
  try {
    parse_scenario(text, "s.yaml", Catalog::builtin());
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TrainingJob job(int tp, int pp, int dp, std::int64_t layers, std::int64_t microbatches) {
  TrainingJob j;
  j.model = *transformer_preset("gpt3-1.3b");
  j.model.layers = layers;
  j.training.micro_batch = 1;
  j.training.global_batch = microbatches * dp;
  j.parallelism.tp = tp;
  j.parallelism.pp = pp;
  j.parallelism.dp = dp;
  return j;
}

std::int64_t ops_of(const Plan& plan) {
  std::int64_t n = 0;
  for (std::size_t r = 0; r < plan.ranks.size(); ++r)
    n += static_cast<std::int64_t>(plan.ops_of(r).size());
  return n;
}

TEST(PlanSize, EstimateBoundsTheBuiltPlanClosely) {
  struct Case {
    int tp, pp, dp;
    std::int64_t layers, microbatches;
    PipelineSchedule schedule;
    int virtual_stages;
    Recompute recompute;
    bool sequence_parallel;
    int zero = 0;
    int cp = 1;
  };
  const Case cases[] = {
      {1, 1, 1, 2, 1, PipelineSchedule::one_f_one_b, 1, Recompute::none, false},
      {2, 2, 1, 4, 3, PipelineSchedule::one_f_one_b, 1, Recompute::none, false},
      {2, 2, 2, 4, 4, PipelineSchedule::gpipe, 1, Recompute::full, true},
      {4, 2, 1, 8, 4, PipelineSchedule::interleaved_1f1b, 2, Recompute::selective, true},
      {1, 4, 2, 8, 8, PipelineSchedule::one_f_one_b, 1, Recompute::selective, false},
      {8, 1, 4, 6, 2, PipelineSchedule::one_f_one_b, 1, Recompute::full, false},
      // ZeRO gathers parameters and scatters gradients per layer.
      {1, 1, 4, 4, 2, PipelineSchedule::one_f_one_b, 1, Recompute::none, false, 1},
      {2, 2, 2, 4, 4, PipelineSchedule::one_f_one_b, 1, Recompute::full, false, 3},
      {1, 1, 8, 4, 1, PipelineSchedule::one_f_one_b, 1, Recompute::selective, false, 3},
      // Context parallelism exchanges keys and values beside each attention.
      {2, 2, 1, 4, 4, PipelineSchedule::one_f_one_b, 1, Recompute::none, true, 0, 2},
      {1, 1, 2, 2, 2, PipelineSchedule::gpipe, 1, Recompute::full, false, 1, 4},
      {2, 2, 2, 4, 4, PipelineSchedule::interleaved_1f1b, 2, Recompute::selective, true, 3, 2},
      // Zero bubble runs the weight gradients as passes of their own.
      {2, 4, 2, 8, 8, PipelineSchedule::zero_bubble_h1, 1, Recompute::none, true},
      {1, 2, 2, 4, 2, PipelineSchedule::zero_bubble_h1, 1, Recompute::full, false, 3},
  };
  for (const Case& c : cases) {
    TrainingJob j = job(c.tp, c.pp, c.dp, c.layers, c.microbatches);
    j.parallelism.schedule = c.schedule;
    j.parallelism.virtual_stages = c.virtual_stages;
    j.parallelism.recompute = c.recompute;
    j.parallelism.sequence_parallel = c.sequence_parallel;
    j.parallelism.zero = c.zero;
    j.parallelism.cp = c.cp;
    for (RankScope scope : {RankScope::all_ranks, RankScope::one_replica}) {
      const std::int64_t actual = ops_of(build_plan(j, scope));
      const std::int64_t estimate = estimated_plan_ops(j, scope);
      // An upper bound, so that the guard never lets through a plan larger than the limit, and
      // within a small factor of the truth, so that it does not refuse plans that would fit.
      EXPECT_GE(estimate, actual) << "tp " << c.tp << " pp " << c.pp << " dp " << c.dp;
      // (The constant covers the per-step ops that dominate only tiny plans.)
      EXPECT_LE(estimate, 4 * actual + 64) << "tp " << c.tp << " pp " << c.pp << " dp " << c.dp;
    }
  }
}

TEST(PlanSize, EstimateBoundsMoePlans) {
  struct Case {
    int tp, pp, dp, ep;
    std::int64_t layers, microbatches;
    Recompute recompute;
    std::int64_t shared_experts, dense_layers;
    int zero;
  };
  const Case cases[] = {
      {1, 1, 4, 4, 2, 2, Recompute::none, 0, 0, 0},
      {2, 2, 4, 2, 4, 4, Recompute::full, 1, 1, 1},
      {2, 1, 2, 2, 3, 3, Recompute::selective, 2, 2, 2},
      {1, 2, 8, 8, 4, 2, Recompute::none, 1, 0, 1},
  };
  for (const Case& c : cases) {
    TrainingJob j = job(c.tp, c.pp, c.dp, c.layers, c.microbatches);
    j.model.moe = {8, 2, c.shared_experts, 2048, 1.0, c.dense_layers};
    j.parallelism.ep = c.ep;
    j.parallelism.sequence_parallel = c.tp > 1;
    j.parallelism.recompute = c.recompute;
    j.parallelism.zero = c.zero;
    for (RankScope scope : {RankScope::all_ranks, RankScope::one_replica}) {
      const std::int64_t actual = ops_of(build_plan(j, scope));
      const std::int64_t estimate = estimated_plan_ops(j, scope);
      EXPECT_GE(estimate, actual) << "tp " << c.tp << " pp " << c.pp << " ep " << c.ep;
      EXPECT_LE(estimate, 4 * actual + 64) << "tp " << c.tp << " pp " << c.pp << " ep " << c.ep;
    }
  }
}

TEST(PlanSize, EstimateSaturatesInsteadOfOverflowing) {
  TrainingJob j = job(1 << 20, 1 << 20, 1 << 20, 10'000, 1 << 16);
  EXPECT_EQ(estimated_plan_ops(j, RankScope::all_ranks), std::numeric_limits<std::int64_t>::max());
}

TEST(PlanSize, TheGuardCountsTheRanksThatAreSimulated) {
  // 3072 GPUs as tp 8, pp 8, dp 48 (1T-parameter runs are laid out so), 128 layers and 128
  // micro-batches. One data-parallel replica lists 64 of the 3072 ranks and stands for the other
  // 47: its plan is 48 times smaller than every rank's, within the limit where every rank's is
  // beyond it. check_strategy counts what run simulates; --all-ranks checks the whole world.
  const TrainingJob j = job(8, 8, 48, 128, 128);
  const std::int64_t one = estimated_plan_ops(j);
  const std::int64_t all = estimated_plan_ops(j, RankScope::all_ranks);
  EXPECT_NEAR(static_cast<double>(all) / static_cast<double>(one), 48.0, 1e-6);
  EXPECT_LT(one, max_plan_ops);
  EXPECT_GT(all, max_plan_ops);
  EXPECT_TRUE(check_strategy(j).empty());
  const auto problem = plan_size_problem(j, RankScope::all_ranks);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->message.find("(3072 simulated ranks × 128 micro-batches"), std::string::npos)
      << problem->message;
  EXPECT_THROW((void)build_plan(j, RankScope::all_ranks), std::invalid_argument);
  EXPECT_FALSE(build_plan(j, RankScope::one_replica).ranks.empty());
}

TEST(PlanSize, ScenarioBeyondTheLimitIsRefusedNamingTheKeys) {
  // 16384 devices, 100 layers, 16384 micro-batches per replica: billions of ops, which would
  // take hundreds of gigabytes to build, and still 177 million for the one replica of 32 ranks
  // (of 512) that is simulated. Refused while parsing, in microseconds.
  const std::string e = scenario_errors(R"(name: huge
cluster: {device: H100-SXM5-80GB, nodes: 2048, devices_per_node: 8,
          network: {link_bandwidth_gbps: 400}}
model: {family: gpt, layers: 100, hidden: 1024, heads: 16, vocab: 32000, seq_len: 2048}
training: {global_batch: 8388608, micro_batch: 1}
parallelism: {tp: 8, pp: 4, dp: 512}
)");
  EXPECT_NE(e.find("s.yaml:6:33: parallelism.dp: this job's plan would hold about "),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("ops (32 simulated ranks × 16384 micro-batches × 25 layers per stage), "
                   "beyond the "
                   "limit of 50000000; raise training.micro_batch, lower training.global_batch, "
                   "or use fewer cluster.nodes or model.layers"),
            std::string::npos)
      << e;
}

TEST(Limits, BillionGpusAreRefused) {
  const std::string e = scenario_errors(R"(cluster: {device: H100-SXM5-80GB, nodes: 32768,
          devices_per_node: 1000, network: {link_bandwidth_gbps: 400}}
model: {preset: gpt3-1.3b}
training: {global_batch: 1}
)");
  EXPECT_NE(e.find("s.yaml:1:42: cluster.nodes: 32768 nodes of 1000 devices is 32768000 "
                   "devices; scaleplan simulates at most 131072"),
            std::string::npos)
      << e;
  const std::string per_node = scenario_errors(R"(cluster: {device: H100-SXM5-80GB, nodes: 1000,
          devices_per_node: 1000000, network: {link_bandwidth_gbps: 400}}
model: {preset: gpt3-1.3b}
training: {global_batch: 1}
)");
  EXPECT_NE(per_node.find("s.yaml:2:29: cluster.devices_per_node: 1000000 is out of range; use a "
                          "value from 1 to 1024"),
            std::string::npos)
      << per_node;
}

TEST(Limits, HugeParallelDegreesDoNotOverflow) {
  // tp·pp·dp is 2^45 here; with cp 2^60, within int64, and check_strategy saturates the product
  // anyway. Every degree is also checked against the model.
  const std::string e =
      scenario_errors(R"(cluster: {device: H100-SXM5-80GB, nodes: 1, devices_per_node: 8}
model: {family: gpt, layers: 2, hidden: 64, heads: 2, vocab: 128, seq_len: 16}
training: {global_batch: 8}
parallelism: {tp: 32768, pp: 32768, dp: 32768}
)");
  // tp·pp·cp alone does not divide the devices: no dp fixes that, so the problem is at tp.
  EXPECT_NE(e.find("s.yaml:4:19: parallelism.tp: tp·pp·cp = 1073741824 does not divide the 8 "
                   "devices, so no data-parallel degree fits"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("s.yaml:4:19: parallelism.tp: 32768 does not divide heads (2); use one of 1, 2"),
            std::string::npos)
      << e;
}

TEST(Limits, ZeroBandwidthIsRefused) {
  const std::string e =
      scenario_errors(R"(cluster: {device: H100-SXM5-80GB, nodes: 2, devices_per_node: 8,
          network: {link_bandwidth_gbps: 0}}
model: {preset: gpt3-1.3b}
training: {global_batch: 16}
)");
  EXPECT_NE(e.find("s.yaml:2:42: cluster.network.link_bandwidth_gbps: must be from 0.001 to "
                   "1000000, got 0"),
            std::string::npos)
      << e;
  EXPECT_THROW(Topology::custom(2, 0, {{0, 1, 0.0, 1e-6}}), TopologyError);
  try {
    Topology::custom(2, 0, {{0, 1, 0.0, 1e-6}});
  } catch (const TopologyError& t) {
    EXPECT_NE(
        std::string(t.what()).find("has no bandwidth; every link needs a bandwidth above zero"),
        std::string::npos)
        << t.what();
  }
}

struct Noop final : EventHandler {
  void on_event(std::uint64_t) override {}
};

TEST(Limits, SimulatedTimeNeverWrapsAround) {
  Engine engine;
  Noop noop;
  engine.schedule_at(sim_time_max, &noop, 0);
  engine.run();
  // Once at the end of representable time, any further delay is refused rather than wrapped
  // into a negative time (signed overflow).
  try {
    engine.schedule_after(std::numeric_limits<SimTime>::max(), &noop, 0);
    FAIL() << "expected std::overflow_error";
  } catch (const std::overflow_error& e) {
    EXPECT_NE(std::string(e.what()).find("beyond what the simulator represents"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(engine.schedule_at(sim_time_max + 1, &noop, 0), std::overflow_error);
  EXPECT_THROW(to_sim_time(1e300), std::overflow_error);
  EXPECT_THROW(to_sim_time(-1), std::domain_error);
}

Plan one_rank_plan(double flops, int device) {
  Plan plan;
  test::add_gemm_block(plan, flops);
  RankProgram r;
  r.device = device;
  Op op;
  op.label = plan.label("op");
  for (int i = 0; i < 4; ++i)
    r.ops.push_back(op);
  plan.ranks.push_back(r);
  return plan;
}

TEST(Limits, StepLongerThanTheSimulatedRangeIsAnError) {
  // Each op alone fits (1e20 FLOP at ~1e15 FLOP/s is ~1.2 days); four in a row are still under
  // 26 days, forty are not. The engine stops with an error instead of overflowing time.
  const RooflineModel compute(*Catalog::builtin().find("H100-SXM5-80GB"));
  const Topology topology = Topology::custom(1, 0, {});
  Plan plan = one_rank_plan(1e20, 0);
  EXPECT_NO_THROW(simulate(plan, topology, compute, {}));
  for (int i = 0; i < 36; ++i)
    plan.ranks[0].ops.push_back(plan.ranks[0].ops[0]);
  EXPECT_THROW(simulate(plan, topology, compute, {}), std::overflow_error);
}

TEST(Limits, AnOpTooLongForTheSimulatorNamesItsBlock) {
  // 1e21 FLOP, the most a plan file may give a kernel, at the A100's 312 TFLOP/s bf16 peak (times
  // its catalog efficiency, below 1) is over 3.2e6 s alone: more than the 26 days (2.3e6 s)
  // simulated.
  const RooflineModel compute(*Catalog::builtin().find("A100-SXM4-80GB"));
  const Topology topology = Topology::custom(1, 0, {});
  try {
    simulate(one_rank_plan(1e21, 0), topology, compute, {});
    FAIL() << "expected TimeOverflow";
  } catch (const TimeOverflow& e) {
    EXPECT_EQ(e.cause(), TimeOverflow::Cause::compute);
    const std::string what = e.what();
    EXPECT_NE(what.find("compute block 'b' (1e+21 FLOP, 0 bytes) takes "), std::string::npos)
        << what;
    // Three significant digits, not the 300 of std::to_string(1e300).
    EXPECT_LT(what.size(), 200u) << what;
  }
}

TEST(Limits, AScenarioStepTooLongIsAnInputErrorAtItsKey) {
  // gpt3-175b on one micro-batch of 2^24 sequences of 2048 tokens: 6 · 175e9 · 2^35 = 3.6e22
  // FLOP over 8 A100s at 312 TFLOP/s is over 1.4e7 s, past the 2.3e6 s simulated; no single
  // op is (the largest GEMM of a tp rank, 2 · 2^35 · 12288 · 4608 = 3.9e18 FLOP, takes hours).
  const Scenario s =
      parse_scenario(R"(cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 8}
model: {preset: gpt3-175b}
training: {global_batch: 16777216, micro_batch: 16777216}
parallelism: {tp: 8}
)",
                     "s.yaml", Catalog::builtin());
  const PreparedRun run = prepare_run(s, Catalog::builtin());
  try {
    predict(s, run);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what,
              "s.yaml:3:26: training.global_batch: the step cannot be simulated: the simulated "
              "step runs past 2.31e+06 s (about 26 days), beyond what the simulator represents; "
              "lower training.global_batch (fewer micro-batches a step) or the model's sizes");
  }
}

TEST(Limits, APlanThatFreesMemoryItNeverAllocatedIsRefused) {
  // Op 0 allocates 100 bytes and op 1 frees them; op 2 frees a megabyte the rank never held, which
  // would make its activation memory negative and its peak wrong.
  const RooflineModel compute(*Catalog::builtin().find("H100-SXM5-80GB"));
  const Topology topology = Topology::custom(1, 0, {});
  Plan plan = one_rank_plan(1e9, 0);
  plan.ranks[0].ops[0].activation_bytes = 100;
  plan.ranks[0].ops[1].activation_bytes = -100;
  EXPECT_NO_THROW(simulate(plan, topology, compute, {}));
  plan.ranks[0].ops[2].activation_bytes = -1e6;
  try {
    simulate(plan, topology, compute, {});
    FAIL() << "expected PlanError";
  } catch (const PlanError& e) {
    EXPECT_EQ(std::string(e.what()),
              "plan: rank 0 op 2 frees 1000000 bytes of activations, but the rank holds 0 then (a "
              "memory balance below zero)");
    EXPECT_EQ(e.place().kind, PlanPlace::Kind::op);
    EXPECT_EQ(e.place().op, 2u);
  }
}

TEST(Limits, CrossedCollectivesAreADeadlockErrorNotAHang) {
  // Valid by validate_plan's rules (every member issues one collective on each group), but rank 0
  // waits in group 0 while rank 1 waits in group 1: the engine runs out of events and says which
  // ops are stuck.
  const RooflineModel compute(*Catalog::builtin().find("H100-SXM5-80GB"));
  const Topology topology = Topology::custom(2, 0, {{0, 1, 1e9, 1e-6}});
  Plan plan;
  plan.label("first");
  plan.label("second");
  plan.add_group({"a", {0, 1}, {}});
  plan.add_group({"b", {0, 1}, {}});
  for (int r = 0; r < 2; ++r) {
    RankProgram program;
    program.rank = r;
    program.device = r;
    for (std::uint32_t k = 0; k < 2; ++k) {
      Op op;
      op.kind = OpKind::collective;
      op.stream = Stream::dp_comm;
      op.group = r == 0 ? k : 1 - k;
      op.label = k;
      op.bytes = 1e6;
      program.ops.push_back(op);
    }
    plan.ranks.push_back(program);
  }
  try {
    simulate(plan, topology, compute, {});
    FAIL() << "expected a deadlock";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "the plan deadlocks; stuck ops:\n"
              "  rank 0 op 0 (first, collective on dp-comm) waits for its partners\n"
              "  rank 1 op 0 (first, collective on dp-comm) waits for its partners");
  }
}

TEST(Limits, RankOnADeviceOutsideTheClusterIsRefused) {
  const RooflineModel compute(*Catalog::builtin().find("H100-SXM5-80GB"));
  const Topology topology = Topology::custom(2, 0, {{0, 1, 1e9, 1e-6}});
  try {
    simulate(one_rank_plan(1e9, 7), topology, compute, {});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "rank 0 runs on device 7, but the cluster has 2 devices");
  }
  // A negative device is no device of any cluster: the plan itself is refused, as the plan
  // format refuses it (found by fuzz_plan_replicas).
  try {
    simulate(one_rank_plan(1e9, -2147483610), topology, compute, {});
    FAIL() << "expected PlanError";
  } catch (const PlanError& e) {
    EXPECT_EQ(std::string(e.what()),
              "plan: rank 0 runs on device -2147483610, which is not a device index");
  }
}

}  // namespace
}  // namespace scaleplan
