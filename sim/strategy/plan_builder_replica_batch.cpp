// Replicas of different micro-batches (training.micro_batch_by_group): the plan of each distinct
// micro-batch built as for a uniform job, every rank listed, and each rank given the compute,
// activations and messages of its replica's micro-batch. The programs' shapes (ops, streams,
// collectives, messages) depend on the schedule and the count of micro-batches, which every
// replica shares, not on the micro-batch's size.
#include <map>
#include <stdexcept>

#include "sim/strategy/plan_builder_detail.hpp"

namespace scaleplan {

namespace {

// Whether the group a rank's collective runs on spans data-parallel replicas.
bool spans_replicas(const Group& group, const ParallelismSpec& p) {
  for (const int r : group.ranks) {
    if (coordinates_of(r, p).dp != coordinates_of(group.ranks.front(), p).dp)
      return true;
  }
  return false;
}

}  // namespace

Plan build_replica_batch_plan(const TrainingJob& job) {
  const ParallelismSpec& p = job.parallelism;
  const std::vector<std::int64_t>& batches = job.training.replica_micro_batch;
  const int microbatches = microbatches_per_replica(job);
  std::map<std::int64_t, Plan> plans;
  for (const std::int64_t mb : batches) {
    if (plans.count(mb) != 0)
      continue;
    TrainingJob uniform = job;
    uniform.training.replica_micro_batch.clear();
    uniform.training.micro_batch = mb;
    uniform.training.global_batch = static_cast<std::int64_t>(microbatches) * mb * p.dp;
    plans.emplace(mb, build_plan(uniform, RankScope::all_ranks));
  }
  Plan out = plans.at(batches.front());
  out.unshare();
  for (auto& [mb, other] : plans) {
    if (mb == batches.front())
      continue;
    std::vector<std::uint32_t> block_of(other.blocks.size());
    for (std::size_t b = 0; b < other.blocks.size(); ++b)
      block_of[b] = out.add_block(other.blocks[b]);
    for (std::size_t r = 0; r < out.ranks.size(); ++r) {
      const int rank = out.ranks[r].rank;
      if (batches[static_cast<std::size_t>(coordinates_of(rank, p).dp)] != mb)
        continue;
      std::vector<Op>& ops = out.ranks[r].ops;
      const std::vector<Op>& theirs = other.ops_of(r);
      if (ops.size() != theirs.size())
        throw std::logic_error("build_plan: replicas of different micro-batches differ in ops");
      for (std::size_t i = 0; i < ops.size(); ++i) {
        Op& op = ops[i];
        const Op& their = theirs[i];
        if (op.kind != their.kind || op.stream != their.stream)
          throw std::logic_error("build_plan: replicas of different micro-batches differ in ops");
        if (op.kind == OpKind::compute)
          op.block = block_of[their.block];
        if (op.kind == OpKind::collective && op.bytes != their.bytes &&
            spans_replicas(out.groups[op.group], p)) {
          throw std::invalid_argument(
              "build_plan: a collective across data-parallel replicas (an embedding table's "
              "all-to-all) moves bytes that depend on the micro-batch; replicas of different "
              "micro-batches are not modelled for it");
        }
        op.label = out.label(other.labels[their.label]);
        op.bytes = their.bytes;
        op.activation_bytes = their.activation_bytes;
      }
      out.ranks[r].static_memory = other.ranks[r].static_memory;
    }
  }
  return out;
}

}  // namespace scaleplan
