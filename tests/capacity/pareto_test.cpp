#include "sim/capacity/pareto.hpp"

#include <algorithm>
#include <cstdint>

#include <gtest/gtest.h>

namespace scaleplan::capacity {
namespace {

bool dominates(const TimeCost& a, const TimeCost& b) {
  return a.time_s <= b.time_s && a.cost_usd <= b.cost_usd &&
         (a.time_s < b.time_s || a.cost_usd < b.cost_usd);
}

TEST(Pareto, HandMadeFront) {
  // (10, 5) and (4, 9) and (2, 20) trade time for money; (10, 9) is beaten by both (10, 5) and
  // (4, 9); (12, 5) by (10, 5); the second (4, 9) repeats the first.
  const std::vector<TimeCost> points{{10, 5}, {10, 9}, {4, 9}, {2, 20}, {12, 5}, {4, 9}};
  EXPECT_EQ(pareto_front(points), (std::vector<std::size_t>{3, 2, 0}));
  EXPECT_TRUE(pareto_front({}).empty());
}

// Random clouds: no point on the front is beaten by any point, every point off it is beaten by
// (or equal to) one on it, and the fastest and the cheapest points are on it.
TEST(Pareto, NoDominatedPointAndBothExtremes) {
  std::uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<double>((state >> 33) % 50);  // few values: ties happen
  };
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<TimeCost> points(1 + trial % 40);
    for (auto& p : points)
      p = {next(), next()};
    const auto front = pareto_front(points);
    ASSERT_FALSE(front.empty());
    std::vector<bool> on(points.size(), false);
    for (std::size_t i : front) {
      on[i] = true;
      for (const TimeCost& other : points)
        EXPECT_FALSE(dominates(other, points[i])) << trial;
    }
    for (std::size_t i = 0; i < points.size(); ++i) {
      if (on[i])
        continue;
      EXPECT_TRUE(std::any_of(front.begin(), front.end(), [&](std::size_t f) {
        return dominates(points[f], points[i]) ||
               (points[f].time_s == points[i].time_s && points[f].cost_usd == points[i].cost_usd);
      })) << trial;
    }
    const auto by_time = [](const TimeCost& a, const TimeCost& b) {
      return a.time_s != b.time_s ? a.time_s < b.time_s : a.cost_usd < b.cost_usd;
    };
    const auto by_cost = [](const TimeCost& a, const TimeCost& b) {
      return a.cost_usd != b.cost_usd ? a.cost_usd < b.cost_usd : a.time_s < b.time_s;
    };
    const TimeCost fastest = *std::min_element(points.begin(), points.end(), by_time);
    const TimeCost cheapest = *std::min_element(points.begin(), points.end(), by_cost);
    EXPECT_EQ(points[front.front()].time_s, fastest.time_s);
    EXPECT_EQ(points[front.front()].cost_usd, fastest.cost_usd);
    EXPECT_EQ(points[front.back()].time_s, cheapest.time_s);
    EXPECT_EQ(points[front.back()].cost_usd, cheapest.cost_usd);
    // Fastest first: time rises and cost falls along the front.
    for (std::size_t k = 1; k < front.size(); ++k) {
      EXPECT_GT(points[front[k]].time_s, points[front[k - 1]].time_s);
      EXPECT_LT(points[front[k]].cost_usd, points[front[k - 1]].cost_usd);
    }
  }
}

}  // namespace
}  // namespace scaleplan::capacity
