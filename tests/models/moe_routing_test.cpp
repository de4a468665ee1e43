// Where a router sends a token's experts: the chance that they all miss a set of experts, worked
// out by hand for each routing.
#include "models/moe_routing.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "models/transformer.hpp"

namespace scaleplan {
namespace {

ExpertRouting routing(ExpertRoutingKind kind, std::int64_t experts, std::int64_t top_k,
                      std::int64_t groups = 1, std::int64_t group_topk = 1) {
  return {kind, experts, top_k, groups, group_topk};
}

TEST(ExpertRouting, UniformMissesASetAsDrawsWithoutReplacement) {
  // 4 distinct experts of 16 miss 2 given ones with C(14, 4) / C(16, 4) = 1001 / 1820 = 11/20;
  // they miss 8 (a node of 4 devices with 2 experts each) with C(8, 4) / C(16, 4) = 70 / 1820.
  const ExpertRouting r = routing(ExpertRoutingKind::uniform, 16, 4);
  EXPECT_DOUBLE_EQ(expert_set_missed_probability(r, {0, 1}), 11.0 / 20);
  EXPECT_DOUBLE_EQ(expert_set_missed_probability(r, {0, 1, 2, 3, 4, 5, 6, 7}), 1.0 / 26);
  EXPECT_DOUBLE_EQ(expert_set_missed_probability(r, {}), 1.0);
  // Holding more than 16 − 4 experts, a token always reaches one of them.
  EXPECT_DOUBLE_EQ(expert_set_missed_probability(r, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}),
                   0.0);
}

TEST(ExpertRouting, GroupLimitedChoosesBlocksThenExpertsInThem) {
  // 16 experts in 4 blocks of 4; a token picks 2 blocks (each pair 1/6) and 4 / 2 = 2 experts in
  // each (each pair of a block's 4 experts 1/6).
  const ExpertRouting r = routing(ExpertRoutingKind::group_limited, 16, 4, 4, 2);
  // {0, 1} in block 0: missed when block 0 is not picked (3 pairs of 6: 1/2), or it is and its
  // two experts are {2, 3} (1/6): 1/2 + 1/2 · 1/6 = 7/12.
  EXPECT_DOUBLE_EQ(expert_set_missed_probability(r, {0, 1}), 7.0 / 12);
  // Blocks 0 and 1 whole: missed only when the pair picked is {2, 3}: 1/6.
  EXPECT_DOUBLE_EQ(expert_set_missed_probability(r, {0, 1, 2, 3, 4, 5, 6, 7}), 1.0 / 6);
  // {3, 4}: one expert in block 0 and one in block 1, each block missed with C(3, 2) / C(4, 2) =
  // 1/2 when picked. Pairs {0,1}: 1/4; {0,2}, {0,3}, {1,2}, {1,3}: 1/2 each; {2,3}: 1; the mean
  // (1/4 + 2 + 1) / 6 = 13/24.
  EXPECT_DOUBLE_EQ(expert_set_missed_probability(r, {3, 4}), 13.0 / 24);
}

TEST(ExpertRouting, RoundRobinTakesConsecutiveExpertsTokenByToken) {
  // 16 experts, top 4: token i takes experts 4i .. 4i + 3 mod 16, a period of 4 tokens. {0, 1}
  // is hit by token 0 only: missed 3/4; {2, 3, 4, 5} by tokens 0 and 1: 1/2.
  const ExpertRouting r = routing(ExpertRoutingKind::round_robin, 16, 4);
  EXPECT_DOUBLE_EQ(expert_set_missed_probability(r, {0, 1}), 3.0 / 4);
  EXPECT_DOUBLE_EQ(expert_set_missed_probability(r, {2, 3, 4, 5}), 1.0 / 2);
  // 8 experts, top 3: a period of 8 tokens (gcd 1): 0-2, 3-5, 6-0, 1-3, 4-6, 7-1, 2-4, 5-7; {0,
  // 1} is hit by tokens 0, 2, 3 and 5: missed 4/8.
  EXPECT_DOUBLE_EQ(
      expert_set_missed_probability(routing(ExpertRoutingKind::round_robin, 8, 3), {0, 1}), 0.5);
}

TEST(ExpertRouting, DeepSeekV3RoutesToFourOfEightGroups) {
  // The released config.json: n_group 8, topk_group 4; Mixtral routes over all its experts.
  const MoeConfig v3 = transformer_preset("deepseek-v3")->moe;
  EXPECT_EQ(v3.routing, ExpertRoutingKind::group_limited);
  EXPECT_EQ(v3.router_groups, 8);
  EXPECT_EQ(v3.router_group_topk, 4);
  EXPECT_EQ(transformer_preset("mixtral-8x7b")->moe.routing, ExpertRoutingKind::uniform);
}

TEST(ExpertRouting, LargeRoutingsStayCheap) {
  // 2^20 experts in 2^19 groups of 2, a token picking 2^18 of them, one expert each (top 2^18):
  // a held expert's block is picked with 2^18 / 2^19 = 1/2, then its expert with 1/2: missed
  // 3/4. Only the held blocks are worked through, not all 2^19.
  const ExpertRouting r =
      routing(ExpertRoutingKind::group_limited, 1 << 20, 1 << 18, 1 << 19, 1 << 18);
  EXPECT_NEAR(expert_set_missed_probability(r, {5}), 0.75, 1e-9);
  // Round-robin over 2^20 experts, top 2^10: a held expert is in one token's range of 2^10
  // tokens per period: missed 1 − 1/1024.
  EXPECT_NEAR(
      expert_set_missed_probability(routing(ExpertRoutingKind::round_robin, 1 << 20, 1 << 10), {7}),
      1 - 1.0 / 1024, 1e-12);
}

TEST(ExpertRouting, RefusesRoutingsThatBreakTheRules) {
  // 16 experts do not split into 3 blocks; 3 blocks per token do not divide top 4; the held
  // experts must be distinct indices below 16.
  EXPECT_THROW(
      expert_set_missed_probability(routing(ExpertRoutingKind::group_limited, 16, 4, 3, 1), {0}),
      std::invalid_argument);
  EXPECT_THROW(
      expert_set_missed_probability(routing(ExpertRoutingKind::group_limited, 16, 4, 4, 3), {0}),
      std::invalid_argument);
  EXPECT_THROW(expert_set_missed_probability(routing(ExpertRoutingKind::uniform, 16, 4), {16}),
               std::invalid_argument);
  EXPECT_THROW(expert_set_missed_probability(routing(ExpertRoutingKind::uniform, 16, 4), {1, 1}),
               std::invalid_argument);
  EXPECT_THROW(expert_set_missed_probability(routing(ExpertRoutingKind::uniform, 4, 5), {}),
               std::invalid_argument);
}

}  // namespace
}  // namespace scaleplan
