// What the plan builder derives before it lays out ops, checked against the plan it builds.
#include "sim/strategy/plan_quantities.hpp"

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

TEST(PlanQuantities, GroupLeaderIsTheFirstMemberOfTheGroup) {
  for (const auto& [tp, cp, dp, pp, ep] :
       std::vector<std::array<int, 5>>{{2, 2, 4, 2, 2}, {1, 4, 8, 1, 4}, {4, 1, 6, 3, 3}}) {
    ParallelismSpec p;
    p.tp = tp;
    p.cp = cp;
    p.dp = dp;
    p.pp = pp;
    p.ep = ep;
    for (const GroupKind kind :
         {GroupKind::tp, GroupKind::dp, GroupKind::cp, GroupKind::ep, GroupKind::edp}) {
      for (int r = 0; r < p.world_size(); ++r)
        EXPECT_EQ(group_leader(kind, r, p), group_ranks(kind, r, p).front())
            << "kind " << static_cast<int>(kind) << " rank " << r;
    }
  }
}

TEST(PlanQuantities, GroupsMatchThePlansGroups) {
  // build_plan's groups are group_ranks' groups: every tp and dp group of a 2x2x2 plan.
  TrainingJob job;
  job.model = *transformer_preset("gpt3-1.3b");
  job.training.global_batch = 8;
  job.parallelism.tp = 2;
  job.parallelism.pp = 2;
  job.parallelism.dp = 2;
  const Plan plan = build_plan(job, RankScope::all_ranks);
  int checked = 0;
  for (const Group& group : plan.groups) {
    if (group.name != "tp" && group.name != "dp")
      continue;
    const GroupKind kind = group.name == "tp" ? GroupKind::tp : GroupKind::dp;
    EXPECT_EQ(group.ranks, group_ranks(kind, group.ranks.front(), job.parallelism));
    ++checked;
  }
  // 4 tensor-parallel pairs and 4 data-parallel pairs among 8 ranks.
  EXPECT_EQ(checked, 8);
}

}  // namespace
}  // namespace scaleplan
