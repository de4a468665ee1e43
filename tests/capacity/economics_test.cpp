#include "sim/capacity/economics.hpp"

#include <gtest/gtest.h>

namespace scaleplan::capacity {
namespace {

// Two nodes of 8 devices with 8 NICs each.
constexpr ClusterSize two_nodes{16, 2, 16};

TEST(Economics, PowerAndEnergy) {
  // (16 · 700 W + 2 · 4,600 W) · 1.2 = 24,480 W; over an hour 24.48 kWh.
  const PowerSettings power{4600, 1.2, 0.1};
  const double watts = facility_power_w(two_nodes, 700, power);
  EXPECT_DOUBLE_EQ(watts, 24480);
  EXPECT_NEAR(energy_mwh(watts, 3600), 0.02448, 1e-15);
}

TEST(Economics, RentIsPerDeviceHour) {
  // 16 devices at 2 $/h for 10 h.
  EXPECT_DOUBLE_EQ(rent_cost(two_nodes, RentPrice{{2, "test"}}, 36000).usd, 320);
}

TEST(Economics, BoughtClustersAmortiseOverTheirLife) {
  // 16 · 25,000 + 2 · 100,000 + 16 · 2,000 = 632,000 $; half a year of a 4-year life is 1/8 of
  // it, 79,000 $, plus 10 MWh at 0.1 $/kWh, 1,000 $.
  const BuyPrice price{{25000, "test"}, 100000, 2000, 4};
  EXPECT_DOUBLE_EQ(capital_usd(two_nodes, price), 632000);
  const Cost cost = buy_cost(two_nodes, price, seconds_per_year / 2, 10, {4600, 1.2, 0.1});
  EXPECT_DOUBLE_EQ(cost.capital_usd, 632000);
  EXPECT_DOUBLE_EQ(cost.energy_usd, 1000);
  EXPECT_DOUBLE_EQ(cost.usd, 80000);
}

}  // namespace
}  // namespace scaleplan::capacity
