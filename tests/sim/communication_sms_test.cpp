// The SMs communication kernels hold slow the compute beside them (RankScheduler::hold_sms).
#include <gtest/gtest.h>

#include "hardware/io/catalog.hpp"
#include "sim/simulate/compute_model.hpp"
#include "sim/simulate/simulator.hpp"
#include "tests/support/plans.hpp"

namespace scaleplan {
namespace {

// Two ranks on one 1 GB/s link, each running one compute op of `flops` beside `streams`
// collectives of 1 GB each, one per stream, all started at time zero.
Plan compute_beside_collectives(double flops, const std::vector<Stream>& streams) {
  Plan plan;
  test::add_gemm_block(plan, flops);
  plan.add_group({"dp", {0, 1}, {}});
  const std::uint32_t label = plan.label("op");
  for (int r = 0; r < 2; ++r) {
    RankProgram program;
    program.rank = r;
    program.device = r;
    Op compute;
    compute.label = label;
    program.ops.push_back(compute);
    for (Stream stream : streams) {
      Op op;
      op.kind = OpKind::collective;
      op.collective = CollectiveKind::all_reduce;
      op.stream = stream;
      op.group = 0;
      op.label = label;
      op.bytes = 1e9;
      program.ops.push_back(op);
    }
    plan.ranks.push_back(program);
  }
  return plan;
}

SimulationOptions a100_options() {
  SimulationOptions options;
  options.sm_count_by_device = {108, 108};
  options.collective_kernel_sms_by_device = {24, 24};
  return options;
}

TEST(CommunicationSms, ACollectiveSlowsTheComputeBesideItByTheShareOfSmsItHolds) {
  // A compute op longer than the all-reduce beside it: while the all-reduce's kernel holds 24 of
  // A100's 108 SMs the op goes at 84/108 of its rate, so it ends later by 24/108 of the
  // all-reduce's time.
  const RooflineModel compute(*Catalog::builtin().find("A100-SXM4-80GB"));
  const Topology topology = Topology::custom(2, 0, {{0, 1, 1e9, 1e-6}});
  const Plan alone = compute_beside_collectives(1e15, {});
  const Plan beside = compute_beside_collectives(1e15, {Stream::dp_comm});
  const double free_s = simulate(alone, topology, compute, a100_options()).ranks[0].compute_s;
  const double slowed_s = simulate(beside, topology, compute, a100_options()).ranks[0].compute_s;
  // The all-reduce's own time: beside a compute op of one FLOP.
  const double collective_s =
      simulate(compute_beside_collectives(1, {Stream::dp_comm}), topology, compute, {}).step_time_s;
  ASSERT_GT(collective_s, 0.5);  // 2 (n - 1) / n of 1 GB over 1 GB/s
  ASSERT_LT(collective_s, free_s);
  EXPECT_NEAR(slowed_s - free_s, 24.0 / 108 * collective_s, 1e-6 * free_s);
  // Without the catalog's figure nothing is held.
  SimulationOptions none = a100_options();
  none.collective_kernel_sms_by_device.clear();
  EXPECT_DOUBLE_EQ(simulate(beside, topology, compute, none).ranks[0].compute_s, free_s);
}

TEST(CommunicationSms, CollectivesAskingForEverySmLeaveTheComputeOne) {
  // Five collectives at once ask for 120 of 108 SMs: the compute keeps one SM's pace while they
  // run instead of stopping (or dividing by zero), and the step ends.
  const RooflineModel compute(*Catalog::builtin().find("A100-SXM4-80GB"));
  const Topology topology = Topology::custom(2, 0, {{0, 1, 1e9, 1e-6}});
  const Plan plan = compute_beside_collectives(
      1e14,
      {Stream::dp_comm, Stream::param_gather, Stream::cp_comm, Stream::ep_comm, Stream::tp_comm});
  const SimulationResult result = simulate(plan, topology, compute, a100_options());
  const double free_s =
      simulate(compute_beside_collectives(1e14, {}), topology, compute, a100_options())
          .ranks[0]
          .compute_s;
  EXPECT_GT(result.ranks[0].compute_s, free_s);
  EXPECT_LT(result.step_time_s, 1e3);
}

}  // namespace
}  // namespace scaleplan
