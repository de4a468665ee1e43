// Collectives and messages timed from a calibration profile's fits of their own kind, size regime
// and group shape (sim/collective/collective_calibration.hpp), alone and in a simulation.
#include "sim/collective/collective_calibration.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/simulate/simulator.hpp"
#include "tests/hardware/topology_fixtures.hpp"
#include "tests/support/collective_fits.hpp"

namespace scaleplan {
namespace {

CollectiveProfile line_fit(CollectiveOp op, int ranks, int nodes, double latency_s,
                           double bus_bytes_per_s) {
  return test::collective_fit(op, ranks, nodes, latency_s, bus_bytes_per_s, "mpi");
}

// All-reduce on 2 ranks / 1 node in two regimes: below 64 KiB 10 us + 1 ns per byte, from 64 KiB
// 30 us + 0.5 ns per byte (of nccl-tests' size; the bus-bandwidth factor of 2 ranks is
// 2·1/2 = 1, so these are also the seconds per byte of bus traffic). On 4 ranks / 1 node one line:
// 30 us and a bus bandwidth of 1 GB/s, so 1 ns per bus byte and 1.5 ns per byte of size (factor
// 2·3/4 = 1.5).
CollectiveCalibration two_and_four_rank_all_reduce() {
  CollectiveProfile two = line_fit(CollectiveOp::all_reduce, 2, 1, 10e-6, 2e9);
  two.segments = {{0, 10e-6, 1e-9}, {65536, 30e-6, 0.5e-9}};
  return CollectiveCalibration({two, line_fit(CollectiveOp::all_reduce, 4, 1, 30e-6, 1e9)});
}

TEST(CollectiveCalibration, AMeasuredGroupTakesTheLineOfItsOwnSizeRegime) {
  const CollectiveCalibration calibration = two_and_four_rank_all_reduce();
  // 1 KiB on 2 ranks, the first regime: 10 us, and 1024 · 1 ns = 1.024 us of bandwidth.
  CollectiveFitOutcome small = calibration.time(CollectiveOp::all_reduce, {2, 1, true}, 1024);
  ASSERT_TRUE(small.time);
  EXPECT_DOUBLE_EQ(small.time->latency_s, 10e-6);
  EXPECT_DOUBLE_EQ(small.time->bandwidth_s, 1.024e-6);
  EXPECT_EQ(small.basis, "fit mpi 2 ranks / 1 node");
  // 1 MiB on 2 ranks, the second regime: 30 us, and 1048576 · 0.5 ns = 524.288 us (not the first
  // regime's latency with the last regime's bandwidth, 10 + 524.288 us).
  CollectiveFitOutcome large = calibration.time(CollectiveOp::all_reduce, {2, 1, true}, 1048576);
  ASSERT_TRUE(large.time);
  EXPECT_DOUBLE_EQ(large.time->latency_s, 30e-6);
  EXPECT_DOUBLE_EQ(large.time->bandwidth_s, 524.288e-6);
  // 1 MiB on 4 ranks: 30 us, and 1048576 · 1.5 ns = 1572.864 us.
  CollectiveFitOutcome four = calibration.time(CollectiveOp::all_reduce, {4, 1, true}, 1048576);
  ASSERT_TRUE(four.time);
  EXPECT_DOUBLE_EQ(four.time->latency_s, 30e-6);
  EXPECT_NEAR(four.time->bandwidth_s, 1572.864e-6, 1e-15);
  EXPECT_EQ(four.basis, "fit mpi 4 ranks / 1 node");
}

TEST(CollectiveCalibration, AGroupBetweenMeasuredSizesInterpolatesEachTermInTheRankCount) {
  const CollectiveCalibration calibration = two_and_four_rank_all_reduce();
  // 3 ranks lie halfway between 2 and 4 (weight (3 − 2) / (4 − 2) = 0.5).
  // 1 MiB: latency 0.5 · 30 + 0.5 · 30 = 30 us; per bus byte 0.5 · 0.5 + 0.5 · 1 = 0.75 ns; the
  // bus-bandwidth factor of 3 ranks is 2·2/3 = 4/3, so 1048576 · 4/3 · 0.75 ns = 1048.576 us.
  CollectiveFitOutcome large = calibration.time(CollectiveOp::all_reduce, {3, 1, true}, 1048576);
  ASSERT_TRUE(large.time);
  EXPECT_DOUBLE_EQ(large.time->latency_s, 30e-6);
  EXPECT_NEAR(large.time->bandwidth_s, 1048.576e-6, 1e-15);
  EXPECT_EQ(large.basis, "between the fit mpi 2 ranks / 1 node and the fit mpi 4 ranks / 1 node");
  // 1 KiB: the 2-rank fit's first regime, 10 us and 1 ns per bus byte, against 30 us and 1 ns:
  // latency 20 us, and 1024 · 4/3 · 1 ns = 1.365333 us.
  CollectiveFitOutcome small = calibration.time(CollectiveOp::all_reduce, {3, 1, true}, 1024);
  ASSERT_TRUE(small.time);
  EXPECT_DOUBLE_EQ(small.time->latency_s, 20e-6);
  EXPECT_NEAR(small.time->bandwidth_s, 1024 * 4.0 / 3 * 1e-9, 1e-18);
}

TEST(CollectiveCalibration, InterpolatingBetweenTwoRingsGivesTheRingBetweenThem) {
  // A ring of n ranks over one switch: 2(n − 1) steps of 2 us and a bus bandwidth of 5 GB/s
  // whatever n. Measured at 2 ranks (latency 4 us) and 8 ranks (28 us); at 5 ranks the weight is
  // (5 − 2) / (8 − 2) = 0.5: latency 16 us = 2 · 4 · 2 us, and 1 MB · 2·4/5 / 5 GB/s = 320 us, the
  // ring of 5 ranks itself.
  const CollectiveCalibration calibration({line_fit(CollectiveOp::all_reduce, 2, 1, 4e-6, 5e9),
                                           line_fit(CollectiveOp::all_reduce, 8, 1, 28e-6, 5e9)});
  CollectiveFitOutcome five = calibration.time(CollectiveOp::all_reduce, {5, 1, true}, 1e6);
  ASSERT_TRUE(five.time);
  EXPECT_NEAR(five.time->latency_s, 16e-6, 1e-18);
  EXPECT_NEAR(five.time->bandwidth_s, 320e-6, 1e-15);
}

TEST(CollectiveCalibration, OverSeveralNodesInterpolatesAtTheSameRanksPerNode) {
  // Fits over 2 and 8 nodes of 8 ranks each (16 and 64 ranks); 4 nodes of 8 (32 ranks) is at
  // weight (32 − 16) / (64 − 16) = 1/3: latency 100 + (400 − 100) / 3 = 200 us; 1/50 GB/s and
  // 1/20 GB/s per bus byte, 0.02 + (0.05 − 0.02) / 3 = 0.03 ns; factor 2·31/32, so 64 MiB takes
  // 67108864 · 62/32 · 0.03 ns = 3900.7 us.
  const CollectiveCalibration calibration(
      {line_fit(CollectiveOp::all_reduce, 16, 2, 100e-6, 50e9),
       line_fit(CollectiveOp::all_reduce, 64, 8, 400e-6, 20e9)});
  CollectiveFitOutcome four_nodes =
      calibration.time(CollectiveOp::all_reduce, {32, 4, true}, 67108864);
  ASSERT_TRUE(four_nodes.time);
  EXPECT_NEAR(four_nodes.time->latency_s, 200e-6, 1e-15);
  EXPECT_NEAR(four_nodes.time->bandwidth_s, 67108864 * 62.0 / 32 * 0.03e-9, 1e-12);
  // 4 nodes of 4 (16 ranks / 4 nodes) is on no measured line; nor are unevenly spread ranks.
  EXPECT_FALSE(calibration.time(CollectiveOp::all_reduce, {16, 4, true}, 1e6).time);
  CollectiveFitOutcome uneven = calibration.time(CollectiveOp::all_reduce, {32, 4, false}, 1e6);
  EXPECT_FALSE(uneven.time);
  EXPECT_EQ(uneven.basis,
            "its ranks are spread unevenly over its nodes, unlike the all-reduce fits measured");
}

TEST(CollectiveCalibration, NeverExtrapolatesAndSaysWhy) {
  const CollectiveCalibration calibration = two_and_four_rank_all_reduce();
  CollectiveFitOutcome eight = calibration.time(CollectiveOp::all_reduce, {8, 1, true}, 1e6);
  EXPECT_FALSE(eight.time);
  EXPECT_EQ(eight.basis,
            "beyond the all-reduce fits, measured on 2 ranks / 1 node, 4 ranks / 1 node");
  // Inside one node is not over two: the single-node fits do not time a group across nodes.
  EXPECT_FALSE(calibration.time(CollectiveOp::all_reduce, {4, 2, true}, 1e6).time);
  CollectiveFitOutcome gather = calibration.time(CollectiveOp::all_gather, {2, 1, true}, 1e6);
  EXPECT_FALSE(gather.time);
  EXPECT_EQ(gather.basis, "no all-gather fit in the profile");
}

// Two ranks on devices 0 and 1 of a node of 4 test devices (NVSwitch, 300 GB/s links).
Plan two_rank_plan() {
  Plan plan;
  plan.ranks.resize(2);
  for (int r = 0; r < 2; ++r) {
    plan.ranks[static_cast<std::size_t>(r)].rank = r;
    plan.ranks[static_cast<std::size_t>(r)].device = r;
  }
  return plan;
}

Op collective_op(Plan& plan, std::uint32_t group, Stream stream, double bytes) {
  Op op;
  op.kind = OpKind::collective;
  op.stream = stream;
  op.collective = CollectiveKind::all_reduce;
  op.group = group;
  op.bytes = bytes;
  op.label = plan.label("all-reduce");
  return op;
}

TEST(CollectiveCalibration, TheSimulatorTimesAFittedCollectiveByItsFitUnderEveryNetworkModel) {
  // One 1 MiB all-reduce on 2 ranks, nothing else: it takes its fit's 30 us + 524.288 us =
  // 554.288 us (the network model would take 1 MiB over 300 GB/s links, about 3.5 us plus
  // latencies), as flows, on the fast path or either as the budget decides.
  const Topology topology(test::cluster(1, 4, 1));
  Plan plan = two_rank_plan();
  const std::uint32_t group = plan.add_group({"tp", {0, 1}, std::nullopt});
  for (int r = 0; r < 2; ++r)
    plan.ranks[static_cast<std::size_t>(r)].ops.push_back(
        collective_op(plan, group, Stream::tp_comm, 1048576));
  const CollectiveCalibration calibration = two_and_four_rank_all_reduce();
  const RooflineModel compute(test::test_device());
  SimulationOptions options;
  options.collective_step_latency_s = 1e-6;
  options.collective_calibration = &calibration;
  for (const NetworkModel model :
       {NetworkModel::automatic, NetworkModel::flows, NetworkModel::alpha_beta}) {
    options.network_model = model;
    const SimulationResult result = simulate(plan, topology, compute, options);
    EXPECT_NEAR(result.step_time_s, 554.288e-6, 1e-9) << to_string(model);
    EXPECT_EQ(result.flows, 0u);
    EXPECT_EQ(result.communication_by_fit,
              (std::map<std::string, std::uint64_t>{
                  {"all-reduce on 2 ranks / 1 node: fit mpi 2 ranks / 1 node", 1}}));
  }
  // Without the calibration the network model times it, far sooner.
  options.collective_calibration = nullptr;
  const SimulationResult modelled = simulate(plan, topology, compute, options);
  EXPECT_LT(modelled.step_time_s, 100e-6);
  EXPECT_TRUE(modelled.communication_by_fit.empty());
}

TEST(CollectiveCalibration, FittedCollectivesStillShareTheirPorts) {
  // Two 1 MiB all-reduces on the same two devices at once (tp and dp streams, two groups): a ring
  // of two keeps both devices' ports busy for its whole bandwidth part (a share of 1), so by
  // processor sharing each runs at half speed: both bandwidth parts end at 2 · 524.288 us, then
  // their 30 us latencies: 1078.576 us.
  const Topology topology(test::cluster(1, 4, 1));
  Plan plan = two_rank_plan();
  const std::uint32_t tp = plan.add_group({"tp", {0, 1}, std::nullopt});
  const std::uint32_t dp = plan.add_group({"dp", {0, 1}, std::nullopt});
  for (int r = 0; r < 2; ++r) {
    auto& ops = plan.ranks[static_cast<std::size_t>(r)].ops;
    ops.push_back(collective_op(plan, tp, Stream::tp_comm, 1048576));
    ops.push_back(collective_op(plan, dp, Stream::dp_comm, 1048576));
  }
  const CollectiveCalibration calibration = two_and_four_rank_all_reduce();
  const RooflineModel compute(test::test_device());
  SimulationOptions options;
  options.collective_calibration = &calibration;
  const SimulationResult result = simulate(plan, topology, compute, options);
  EXPECT_NEAR(result.step_time_s, 1078.576e-6, 1e-9);
}

TEST(CollectiveCalibration, MessagesTakeTheTwoRankSendRecvFitAndOtherKindsTheNetworkModel) {
  // Rank 0 sends 1 MiB to rank 1: the send/recv fit of 2 ranks / 1 node, 5 us and 2 GB/s (factor
  // 1), takes 5 + 1048576 / 2e9 s = 529.288 us. Then both all-gather 4 KiB: the profile has no
  // all-gather fit, so the network model times it and the report says why.
  const Topology topology(test::cluster(1, 4, 1));
  Plan plan = two_rank_plan();
  Op send;
  send.kind = OpKind::send;
  send.stream = Stream::pp_send_next;
  send.peer = 1;
  send.bytes = 1048576;
  send.label = plan.label("send");
  plan.ranks[0].ops.push_back(send);
  Op recv = send;
  recv.kind = OpKind::recv;
  recv.stream = Stream::pp_recv_prev;
  recv.peer = 0;
  plan.ranks[1].ops.push_back(recv);
  const CollectiveCalibration calibration({line_fit(CollectiveOp::send_recv, 2, 1, 5e-6, 2e9),
                                           line_fit(CollectiveOp::all_reduce, 2, 1, 10e-6, 2e9)});
  const RooflineModel compute(test::test_device());
  SimulationOptions options;
  options.collective_calibration = &calibration;
  const SimulationResult message = simulate(plan, topology, compute, options);
  EXPECT_NEAR(message.step_time_s, 529.288e-6, 1e-9);

  const std::uint32_t group = plan.add_group({"dp", {0, 1}, std::nullopt});
  for (int r = 0; r < 2; ++r) {
    Op gather = collective_op(plan, group, Stream::dp_comm, 4096);
    gather.collective = CollectiveKind::all_gather;
    gather.deps = {0};
    plan.ranks[static_cast<std::size_t>(r)].ops.push_back(gather);
  }
  const SimulationResult both = simulate(plan, topology, compute, options);
  EXPECT_EQ(
      both.communication_by_fit,
      (std::map<std::string, std::uint64_t>{
          {"all-gather on 2 ranks / 1 node: network model, no all-gather fit in the profile", 1},
          {"send-recv on 2 ranks / 1 node: fit mpi 2 ranks / 1 node", 1}}));
  EXPECT_GT(both.step_time_s, 529.288e-6);
  EXPECT_LT(both.step_time_s, 529.288e-6 + 100e-6);
}

}  // namespace
}  // namespace scaleplan
