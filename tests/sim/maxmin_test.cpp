#include "sim/engine/maxmin.hpp"

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

}  // namespace
}  // namespace scaleplan
