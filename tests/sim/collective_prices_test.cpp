// The planner's collective prices against the simulator's alpha-beta path: the same algorithm
// choice and the same time, whether a size is priced from scratch or scaled from the loads per
// byte worked out for another size.
#include "sim/planner/collective_prices.hpp"

#include <gtest/gtest.h>

#include "sim/report/prediction.hpp"
#include "tests/support/collective_fits.hpp"
#include "tests/support/prediction_values.hpp"

namespace scaleplan {
namespace {

struct Network {
  ClusterSpec cluster;
  ClusterNetwork network;
  explicit Network(ClusterSpec c)
      : cluster(std::move(c)), network(prepare_network(cluster, Catalog::builtin())) {}
  const Topology& topology() const { return network.topology; }
  double step_latency_s() const { return network.collective_step_latency_s; }
};

ParallelismSpec degrees(int tp, int pp, int dp, int cp = 1) {
  ParallelismSpec p;
  p.tp = tp;
  p.pp = pp;
  p.dp = dp;
  p.cp = cp;
  return p;
}

// What the simulator's alpha-beta path takes for the collective on `devices` alone.
double alone_s(const Network& n, CollectiveKind kind, const std::vector<int>& devices,
               double bytes) {
  const CollectiveAlgorithm algorithm =
      choose_algorithm(kind, devices, bytes, n.topology(), n.step_latency_s());
  return estimate_collective_time_s(
      expand_collective(kind, algorithm, devices, bytes, n.topology()), n.topology(),
      n.step_latency_s());
}

TEST(CollectivePrices, AFittedGroupCostsWhatTheProfilesFitSays) {
  // A profile measured all-reduce on 2 and 4 ranks of one node: the planner prices a dp group of
  // 4 there as the simulator times it, 30 us + 1.5 ns per byte (the fit's bus bandwidth of 1 GB/s
  // over the factor 2·3/4), and a message between two ranks by no fit (the profile has no
  // send/recv). A group of 8 lies beyond the measured shapes: it keeps the network's price,
  // never extrapolated.
  const Network n(test::a100_cluster(1));
  const CollectiveCalibration calibration(
      {test::collective_fit(CollectiveOp::all_reduce, 4, 1, 30e-6, 1e9)});
  CollectivePrices fitted(n.topology(), n.step_latency_s(), &calibration);
  CollectivePrices plain(n.topology(), n.step_latency_s());
  const double bytes = 64e6;
  EXPECT_NEAR(fitted.collective_s(GroupKind::dp, CollectiveKind::all_reduce, bytes,
                                  degrees(1, 1, 4), Concurrency::stage),
              30e-6 + 1.5e-9 * bytes, 1e-12);
  EXPECT_EQ(fitted.collective_s(GroupKind::dp, CollectiveKind::all_reduce, bytes, degrees(1, 1, 8),
                                Concurrency::stage),
            plain.collective_s(GroupKind::dp, CollectiveKind::all_reduce, bytes, degrees(1, 1, 8),
                               Concurrency::stage));
  EXPECT_EQ(fitted.message_s(degrees(1, 2, 4), bytes), plain.message_s(degrees(1, 2, 4), bytes));
}

TEST(CollectivePrices, AGroupAloneCostsWhatTheAlphaBetaPathSays) {
  // 4 nodes of 8: dp 32 is one group over every device; a stage's groups are all of them.
  const Network n(test::a100_cluster(4));
  CollectivePrices prices(n.topology(), n.step_latency_s());
  const ParallelismSpec p = degrees(1, 1, 32);
  const std::vector<int> devices = group_ranks(GroupKind::dp, 0, p);
  // Small sizes, where trees win, and large ones, where rings or the hierarchy do; each priced
  // after the loads per byte were worked out at the first.
  for (const double bytes : {4e3, 1e6, 64e6, 3e9}) {
    for (const CollectiveKind kind :
         {CollectiveKind::all_reduce, CollectiveKind::all_gather, CollectiveKind::reduce_scatter}) {
      const double expected = alone_s(n, kind, devices, bytes);
      EXPECT_NEAR(prices.collective_s(GroupKind::dp, kind, bytes, p, Concurrency::stage), expected,
                  1e-12 * expected)
          << to_string(kind) << " of " << bytes << " bytes";
    }
  }
}

TEST(CollectivePrices, CopiesOfAGroupShareTheFabricAsTheirTransfersDo) {
  // tp 2 inside a node: the copies of one tensor-parallel group never leave their node's
  // NVSwitch, so the world's 16 groups cost what one does.
  const Network n(test::a100_cluster(4));
  CollectivePrices prices(n.topology(), n.step_latency_s());
  const ParallelismSpec inside = degrees(2, 1, 16);
  const double bytes = 32e6;
  const double one =
      alone_s(n, CollectiveKind::all_reduce, group_ranks(GroupKind::tp, 0, inside), bytes);
  EXPECT_NEAR(prices.collective_s(GroupKind::tp, CollectiveKind::all_reduce, bytes, inside,
                                  Concurrency::world),
              one, 1e-12 * one);
  // dp 4 over the nodes with tp 8: the 8 data-parallel groups of a stage cross the fabric at
  // once, each from its own NIC on a nonblocking fat-tree, so they cost no more than one
  // alone; and at least as much.
  const ParallelismSpec across = degrees(8, 1, 4);
  const double single =
      alone_s(n, CollectiveKind::all_reduce, group_ranks(GroupKind::dp, 0, across), bytes);
  const double together = prices.collective_s(GroupKind::dp, CollectiveKind::all_reduce, bytes,
                                              across, Concurrency::stage);
  EXPECT_NEAR(together, single, 1e-9 * single);
  // With 2 NICs a node, 4 of the 8 groups' rings share each NIC: the bandwidth term of the
  // stage's reductions is 4 times one group's (its latency term the same), so of 1 GB, whose
  // time is nearly all bandwidth, close to 4 times.
  ClusterSpec shared = test::a100_cluster(4);
  shared.network.nics_per_node = 2;
  const Network s(shared);
  CollectivePrices shared_prices(s.topology(), s.step_latency_s());
  const double large = 1e9;
  const double one_group =
      alone_s(s, CollectiveKind::all_reduce, group_ranks(GroupKind::dp, 0, across), large);
  const double eight_groups = shared_prices.collective_s(GroupKind::dp, CollectiveKind::all_reduce,
                                                         large, across, Concurrency::stage);
  EXPECT_GT(eight_groups, 3.5 * one_group);
  EXPECT_LT(eight_groups, 4.0 * one_group);
}

TEST(CollectivePrices, ScalingFromOneSizeGivesWhatPricingAnotherFromScratchGives) {
  // The same layout priced at two sizes by one CollectivePrices (the second scaled from the
  // loads per byte) and by a fresh one (the second first): the same seconds to rounding.
  const Network n(test::a100_cluster(2));
  const ParallelismSpec p = degrees(2, 2, 4);
  CollectivePrices warm(n.topology(), n.step_latency_s());
  warm.collective_s(GroupKind::dp, CollectiveKind::all_reduce, 1e5, p, Concurrency::world);
  const double scaled =
      warm.collective_s(GroupKind::dp, CollectiveKind::all_reduce, 7e8, p, Concurrency::world);
  CollectivePrices cold(n.topology(), n.step_latency_s());
  const double fresh =
      cold.collective_s(GroupKind::dp, CollectiveKind::all_reduce, 7e8, p, Concurrency::world);
  EXPECT_NEAR(scaled, fresh, 1e-12 * fresh);
  // A stage-boundary message grows with its bytes by the busiest port's bandwidth: twice the
  // bytes, twice the transfer time, the same latency.
  const double m1 = warm.message_s(p, 1e8);
  const double m2 = warm.message_s(p, 2e8);
  const double m0 = warm.message_s(p, 0);
  EXPECT_GT(m0, 0);
  EXPECT_NEAR(m2 - m0, 2 * (m1 - m0), 1e-12 * m2);
}

}  // namespace
}  // namespace scaleplan
