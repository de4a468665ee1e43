#include "sim/engine/maxmin.hpp"

#include <algorithm>
#include <random>

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

TEST(MaxMin, ThreeFlowsTwoLinks) {
  // Link 0 (capacity 10) carries flows 0 and 1; link 1 (capacity 6) carries flows 1 and 2.
  // Fair shares: link 0 offers 10/2 = 5, link 1 offers 6/2 = 3. Link 1 is the bottleneck, so
  // flows 1 and 2 get 3 each; link 0 then has 10 - 3 = 7 left for flow 0 alone.
  const auto rates = max_min_rates({10, 6}, {{0}, {0, 1}, {1}});
  EXPECT_DOUBLE_EQ(rates[0], 7);
  EXPECT_DOUBLE_EQ(rates[1], 3);
  EXPECT_DOUBLE_EQ(rates[2], 3);
}

TEST(MaxMin, EqualSharesOnOneLink) {
  const auto rates = max_min_rates({12}, {{0}, {0}, {0}});
  for (double r : rates)
    EXPECT_DOUBLE_EQ(r, 4);
}

TEST(MaxMin, NoLinkIsOverCapacity) {
  // A parking-lot chain: flow 0 crosses all three links, flows 1..3 one each.
  const std::vector<double> capacity{4, 8, 2};
  const std::vector<std::vector<std::uint32_t>> flows{{0, 1, 2}, {0}, {1}, {2}};
  const auto rates = max_min_rates(capacity, flows);
  // Link 2 (capacity 2) is first: flows 0 and 3 get 1. Link 0 then has 3 for flow 1; link 1 has
  // 7 for flow 2.
  EXPECT_DOUBLE_EQ(rates[0], 1);
  EXPECT_DOUBLE_EQ(rates[1], 3);
  EXPECT_DOUBLE_EQ(rates[2], 7);
  EXPECT_DOUBLE_EQ(rates[3], 1);
}

TEST(WeightedMaxMin, SharesInProportionToTheWeights) {
  // One resource of capacity 1: flow 0 takes 1 of it per unit of rate, flow 1 takes 0.5. Both
  // rise together until 1·r + 0.5·r = 1, r = 2/3; neither reaches its cap of 1.
  WeightedMaxMinSolver solver;
  const auto& rates = solver.solve({1.0}, {1.0, 1.0}, {0, 1, 2}, {0, 0}, {1.0, 0.5});
  EXPECT_DOUBLE_EQ(rates[0], 2.0 / 3);
  EXPECT_DOUBLE_EQ(rates[1], 2.0 / 3);
}

TEST(WeightedMaxMin, CapsFreezeFlowsAndLeaveTheRestToOthers) {
  // Resource 0 (capacity 1) carries flow 0 (weight 0.25) and flow 1 (weight 1); resource 1
  // (capacity 1) carries flow 1 (weight 1) and flow 2 (weight 1). Levels: resource 0 saturates
  // at 1 / 1.25 = 0.8, resource 1 at 1 / 2 = 0.5, so resource 1 is first: flows 1 and 2 get 0.5.
  // Resource 0 then has 1 − 0.5 = 0.5 left for flow 0, a level of 0.5 / 0.25 = 2, above its cap
  // of 1: flow 0 runs at 1.
  WeightedMaxMinSolver solver;
  const auto& rates =
      solver.solve({1.0, 1.0}, {1.0, 1.0, 1.0}, {0, 1, 3, 4}, {0, 0, 1, 1}, {0.25, 1, 1, 1});
  EXPECT_DOUBLE_EQ(rates[0], 1.0);
  EXPECT_DOUBLE_EQ(rates[1], 0.5);
  EXPECT_DOUBLE_EQ(rates[2], 0.5);
}

TEST(WeightedMaxMin, WithUnitWeightsItIsTheUnweightedSharing) {
  // The parking lot of NoLinkIsOverCapacity, with caps far above any share.
  WeightedMaxMinSolver solver;
  const auto& rates = solver.solve({4, 8, 2}, {100, 100, 100, 100}, {0, 3, 4, 5, 6},
                                   {0, 1, 2, 0, 1, 2}, {1, 1, 1, 1, 1, 1});
  EXPECT_DOUBLE_EQ(rates[0], 1);
  EXPECT_DOUBLE_EQ(rates[1], 3);
  EXPECT_DOUBLE_EQ(rates[2], 7);
  EXPECT_DOUBLE_EQ(rates[3], 1);
}

TEST(WeightedMaxMin, ManyRandomProblemsMatchTheScanningSolverAndAreMaxMinFair) {
  // The heap that picks each round's bottleneck must pick what a scan of every resource picks
  // (the lowest share, ties to the lowest index): with unit weights and caps above every share
  // the rates are MaxMinSolver's, bit for bit. With weights and caps, every flow is at its cap
  // or crosses a saturated resource on which no flow runs faster (the max-min condition).
  std::mt19937 random(7);
  WeightedMaxMinSolver weighted;
  MaxMinSolver scanning;
  for (int trial = 0; trial < 300; ++trial) {
    const int resources = 1 + static_cast<int>(random() % 40);
    const int flows = 1 + static_cast<int>(random() % 80);
    std::vector<double> capacity;
    for (int r = 0; r < resources; ++r)
      capacity.push_back(1 + static_cast<double>(random() % 8));
    std::vector<std::uint32_t> begin{0};
    std::vector<std::uint32_t> uses;
    std::vector<double> unit, weights, caps, high_caps;
    for (int f = 0; f < flows; ++f) {
      const int count = 1 + static_cast<int>(random() % 4);
      for (int k = 0; k < count; ++k) {
        const auto r = static_cast<std::uint32_t>(random() % static_cast<unsigned>(resources));
        if (std::find(uses.begin() + begin.back(), uses.end(), r) != uses.end())
          continue;
        uses.push_back(r);
        unit.push_back(1);
        weights.push_back(0.25 * static_cast<double>(1 + random() % 8));
      }
      begin.push_back(static_cast<std::uint32_t>(uses.size()));
      caps.push_back(0.5 * static_cast<double>(1 + random() % 6));
      high_caps.push_back(1e9);
    }
    const std::vector<double> expected = scanning.solve(capacity, begin, uses);
    const std::vector<double> got = weighted.solve(capacity, high_caps, begin, uses, unit);
    ASSERT_EQ(got, expected) << "trial " << trial;

    const std::vector<double> rates = weighted.solve(capacity, caps, begin, uses, weights);
    std::vector<double> load(capacity.size(), 0.0);
    for (int f = 0; f < flows; ++f) {
      for (std::uint32_t k = begin[f]; k < begin[f + 1]; ++k)
        load[uses[k]] += weights[k] * rates[f];
    }
    for (int r = 0; r < resources; ++r)
      EXPECT_LE(load[r], capacity[r] * (1 + 1e-9)) << "trial " << trial << " resource " << r;
    for (int f = 0; f < flows; ++f) {
      bool bound = rates[f] >= caps[f] * (1 - 1e-9);
      for (std::uint32_t k = begin[f]; !bound && k < begin[f + 1]; ++k) {
        const std::uint32_t r = uses[k];
        if (load[r] < capacity[r] * (1 - 1e-9))
          continue;
        bool fastest = true;
        for (int g = 0; g < flows; ++g) {
          for (std::uint32_t j = begin[g]; j < begin[g + 1]; ++j) {
            if (uses[j] == r && rates[g] > rates[f] * (1 + 1e-9))
              fastest = false;
          }
        }
        bound = fastest;
      }
      EXPECT_TRUE(bound) << "trial " << trial << " flow " << f << " at " << rates[f];
    }
  }
}

}  // namespace
}  // namespace scaleplan
