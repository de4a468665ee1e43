#include "sim/collective/collective.hpp"

#include <gtest/gtest.h>

#include "sim/simulate/simulator.hpp"
#include "tests/hardware/topology_fixtures.hpp"
#include "tests/support/plans.hpp"

namespace scaleplan {
namespace {

using test::one_collective;

Topology ring(int n, double bandwidth, double latency) {
  std::vector<Topology::DuplexLink> links;
  for (int i = 0; i < n; ++i) {
    links.push_back(
        {static_cast<VertexId>(i), static_cast<VertexId>((i + 1) % n), bandwidth, latency});
  }
  return Topology::custom(n, 0, links);
}

TEST(Collective, RingAllReduceMatchesClosedForm) {
  const int n = 8;
  const double bandwidth = 50e9, latency = 2e-6, step = 5e-6, bytes = 1e9;
  const Topology topology = ring(n, bandwidth, latency);
  const RooflineModel compute(test::test_device());
  const SimulationResult r =
      simulate(one_collective(n, CollectiveKind::all_reduce, bytes), topology, compute, {step});
  // 2(n-1)/n · S/B for the data, 2(n-1) steps of software and wire latency.
  const double expected = 2.0 * (n - 1) / n * bytes / bandwidth + 2 * (n - 1) * (step + latency);
  EXPECT_NEAR(r.step_time_s, expected, 1e-9);
  for (const auto& rank : r.ranks)
    EXPECT_NEAR(rank.exposed_comm_s, expected, 1e-9);
}

TEST(Collective, RingReduceScatterAndAllGatherAreHalfAnAllReduce) {
  const int n = 4;
  const double bandwidth = 10e9, bytes = 4e8;
  const Topology topology = ring(n, bandwidth, 0);
  const RooflineModel compute(test::test_device());
  for (auto kind : {CollectiveKind::reduce_scatter, CollectiveKind::all_gather}) {
    const auto r = simulate(one_collective(n, kind, bytes), topology, compute, {0});
    EXPECT_NEAR(r.step_time_s, (n - 1.0) / n * bytes / bandwidth, 1e-9) << to_string(kind);
  }
}

TEST(Collective, TwoCollectivesShareALinkMaxMinFairly) {
  // Devices 0,1 and 2,3 each all-reduce as a pair, but both pairs' traffic crosses the single
  // switch-to-switch link (vertex 4 <-> 5). Alone, a pair moves 2·(1/2)·S = S per direction over
  // the 10 GB/s trunk; together they get half each and take twice as long.
  const double bytes = 1e9;
  const Topology topology = Topology::custom(
      4, 2,
      {{0, 4, 100e9, 0}, {2, 4, 100e9, 0}, {1, 5, 100e9, 0}, {3, 5, 100e9, 0}, {4, 5, 10e9, 0}});
  Plan plan;
  plan.add_group({"a", {0, 1}, {}});
  plan.add_group({"b", {2, 3}, {}});
  plan.ranks.resize(4);
  for (int r = 0; r < 4; ++r) {
    plan.ranks[r].rank = r;
    plan.ranks[r].device = r;
    Op op;
    op.kind = OpKind::collective;
    op.group = (r == 0 || r == 1) ? 0 : 1;
    op.bytes = bytes;
    op.label = plan.label("ar");
    plan.ranks[r].ops.push_back(op);
  }
  const RooflineModel compute(test::test_device());
  const auto shared = simulate(plan, topology, compute, {0});
  EXPECT_NEAR(shared.step_time_s, 2 * bytes / 10e9, 1e-9);
}

TEST(Collective, ExpansionMovesTheRightVolume) {
  const std::vector<int> devices{0, 1, 2, 3};
  const Topology topology = ring(4, 1e9, 0);
  auto volume = [&](CollectiveKind kind) {
    double total = 0;
    for (const auto& phase :
         expand_collective(kind,
                           kind == CollectiveKind::all_to_all ? CollectiveAlgorithm::direct
                                                              : CollectiveAlgorithm::ring,
                           devices, 1000, topology)) {
      for (const auto& t : phase.transfers)
        total += t.bytes;
    }
    return total;
  };
  EXPECT_DOUBLE_EQ(volume(CollectiveKind::all_reduce), 4 * 2 * 3 / 4.0 * 1000);
  EXPECT_DOUBLE_EQ(volume(CollectiveKind::all_gather), 4 * 3 / 4.0 * 1000);
  EXPECT_DOUBLE_EQ(volume(CollectiveKind::all_to_all), 4 * 3 * 250.0);
  EXPECT_TRUE(
      expand_collective(CollectiveKind::all_reduce, CollectiveAlgorithm::ring, {3}, 1e9, topology)
          .empty());
}

}  // namespace
}  // namespace scaleplan
