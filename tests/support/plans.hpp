// Small plans for the engine tests.
#pragma once

#include <numeric>
#include <vector>

#include "sim/plan/plan.hpp"

namespace scaleplan::test {

// A block of one bf16 GEMM kernel of `flops`, added to the plan; returns its index.
inline std::uint32_t add_gemm_block(Plan& plan, double flops) {
  Kernel k;
  k.name = "k";
  k.kind = KernelKind::gemm;
  k.dtype = Dtype::bf16;
  k.flops = flops;
  return plan.add_block({"b", {k}});
}

// One collective of `bytes` over a group of ranks on `devices`, as every member's only op.
inline Plan one_collective(const std::vector<int>& devices, CollectiveKind kind, double bytes) {
  Plan plan;
  Group group{"all", {}, {}};
  for (std::size_t r = 0; r < devices.size(); ++r)
    group.ranks.push_back(static_cast<int>(r));
  plan.add_group(group);
  plan.ranks.resize(devices.size());
  for (std::size_t r = 0; r < devices.size(); ++r) {
    plan.ranks[r].rank = static_cast<int>(r);
    plan.ranks[r].device = devices[r];
    Op op;
    op.kind = OpKind::collective;
    op.stream = Stream::dp_comm;
    op.collective = kind;
    op.bytes = bytes;
    op.label = plan.label("collective");
    plan.ranks[r].ops.push_back(op);
  }
  return plan;
}

// A plan whose every program holds its own ops (Plan::unshare), for tests that read a built plan's
// ops rank by rank.
inline Plan unshared(Plan plan) {
  plan.unshare();
  return plan;
}

// The same on devices 0..ranks-1.
inline Plan one_collective(int ranks, CollectiveKind kind, double bytes) {
  std::vector<int> devices(ranks);
  std::iota(devices.begin(), devices.end(), 0);
  return one_collective(devices, kind, bytes);
}

}  // namespace scaleplan::test
