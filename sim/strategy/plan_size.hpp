// How big a plan a job asks for, before it is built. A plan holds every op of every rank in
// memory (about 100 bytes each with its dependencies, plus the engine's per-op state) and the
// engine processes a few events per op, so the op count bounds both the memory and the time a
// run takes. Jobs past max_plan_ops are refused up front instead of exhausting memory or running
// for hours (docs/reliability.md).
#pragma once

#include <cstdint>

#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {

// About 5 GB of plan and a few minutes of simulation on one core; the largest validation
// scenario (1T parameters on 3072 GPUs) needs well under a tenth of it, and its one replica far
// less.
inline constexpr std::int64_t max_plan_ops = 50'000'000;

// An upper bound on the number of ops build_plan(job, scope) emits, over the ranks it lists,
// computed in O(1) without overflow (saturates at INT64_MAX). It counts every op the builder may
// emit per layer, micro-batch and rank, so it stays an upper bound as the builder adds
// collectives for context and expert parallelism and ZeRO; tests/sim/limits_test.cpp checks it
// against real plans. With RankScope::one_replica (what `run`, `validate` and the planner
// simulate) it counts the ranks of the one replica listed, not those it stands for.
std::int64_t estimated_plan_ops(const TrainingJob& job, RankScope scope = RankScope::one_replica);

// Ranks build_plan(job, scope) lists: all of them, or with one_replica those of the replica that
// stands for the others (dp / ep of them when dp > ep).
double listed_ranks(const ParallelismSpec& p, RankScope scope);

}  // namespace scaleplan
