#include "sim/simulate/rank_scheduler.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace scaleplan {

namespace {
constexpr int rank_shift = 32;
}  // namespace

RankScheduler::RankScheduler(const Plan& plan, const ComputeModel& compute, Engine& engine,
                             const ObserverList& observers, CommunicationHandler& communication,
                             const CommunicationTags& communication_tags)
    : plan_(plan), engine_(engine), observers_(observers), communication_(communication) {
  block_time_.reserve(plan.blocks.size());
  for (const auto& block : plan.blocks) {
    const double seconds = block_time_s(compute, block);
    try {
      block_time_.push_back(to_sim_time(seconds, TimeOverflow::Cause::compute));
    } catch (const TimeOverflow& e) {
      double flops = 0, bytes = 0;
      for (const Kernel& k : block.kernels) {
        flops += k.flops;
        bytes += k.bytes;
      }
      throw TimeOverflow(TimeOverflow::Cause::compute,
                         fmt::format("compute block '{}' ({:.3g} FLOP, {:.3g} bytes) takes {}: {}",
                                     block.name, flops, bytes, seconds_text(seconds), e.what()));
    }
  }
  ranks_.resize(plan.ranks.size());
  for (std::size_t r = 0; r < plan.ranks.size(); ++r)
    prepare(static_cast<int>(r), communication_tags(static_cast<int>(r)));
}

// Each op's dependency count, its dependents as compressed rows, and each stream's ops in
// program order.
void RankScheduler::prepare(int r, const std::vector<std::uint32_t>& communication_tags) {
  const RankProgram& program = plan_.ranks[r];
  RankState& state = ranks_[r];
  const std::size_t n = program.ops.size();
  state.ops.assign(n, OpState{});
  std::vector<std::uint32_t> count(n + 1, 0);
  for (std::uint32_t i = 0; i < n; ++i) {
    const Op& op = program.ops[i];
    state.ops[i].remaining_deps = static_cast<std::uint32_t>(op.deps.size());
    state.ops[i].communication_tag = communication_tags[i];
    for (std::uint32_t d : op.deps)
      ++count[d + 1];
    state.streams[static_cast<int>(op.stream)].ops.push_back(i);
  }
  for (std::size_t i = 1; i <= n; ++i)
    count[i] += count[i - 1];
  state.dependents_begin = count;
  state.dependents.assign(count[n], 0);
  std::vector<std::uint32_t> fill(count.begin(), count.end() - 1);
  for (std::uint32_t i = 0; i < n; ++i) {
    for (std::uint32_t d : program.ops[i].deps)
      state.dependents[fill[d]++] = i;
  }
}

void RankScheduler::start() {
  for (int r = 0; r < static_cast<int>(ranks_.size()); ++r) {
    for (int s = 0; s < stream_count; ++s)
      try_start(r, static_cast<Stream>(s));
  }
}

void RankScheduler::try_start(int rank, Stream stream) {
  RankState& state = ranks_[rank];
  StreamQueue& q = state.streams[static_cast<int>(stream)];
  if (q.busy || q.head >= q.ops.size())
    return;
  const std::uint32_t index = q.ops[q.head];
  if (state.ops[index].remaining_deps != 0)
    return;
  q.busy = true;
  const Op& op = plan_.ranks[rank].ops[index];
  if (op.kind != OpKind::compute) {
    communication_.on_communication_ready(rank, index, state.ops[index].communication_tag);
    return;
  }
  state.ops[index].start = engine_.now();
  if (op.activation_bytes > 0)
    change_memory(rank, index, op.activation_bytes);
  engine_.schedule_after(block_time_[op.block], this,
                         (static_cast<std::uint64_t>(rank) << rank_shift) | index);
}

void RankScheduler::on_event(std::uint64_t payload) {
  finish(static_cast<int>(payload >> rank_shift), static_cast<std::uint32_t>(payload & 0xffffffff));
}

void RankScheduler::communication_started(int rank, std::uint32_t op) {
  ranks_[rank].ops[op].start = engine_.now();
}

void RankScheduler::change_memory(int rank, std::uint32_t op, double delta) {
  RankState& state = ranks_[rank];
  const double held = state.activation_bytes;
  state.activation_bytes += delta;
  // Frees that undo allocations of other sizes leave rounding dust below zero; more is a plan
  // that frees what it never allocated, whose peak memory would be wrong.
  if (state.activation_bytes < 0) {
    if (state.activation_bytes < -std::max(1.0, 1e-9 * -delta)) {
      throw PlanError(fmt::format("plan: rank {} op {} frees {} bytes of activations, but the rank "
                                  "holds {} then (a memory balance below zero)",
                                  plan_.ranks[rank].rank, op, -delta, held),
                      {PlanPlace::Kind::op, static_cast<std::size_t>(rank), op});
    }
    state.activation_bytes = 0;
  }
  observers_.memory(rank, engine_.now(), state.activation_bytes);
}

void RankScheduler::finish(int rank, std::uint32_t index) {
  RankState& state = ranks_[rank];
  const Op& op = plan_.ranks[rank].ops[index];
  ++state.completed;
  if (op.kind == OpKind::compute && op.activation_bytes < 0)
    change_memory(rank, index, op.activation_bytes);
  observers_.op(rank, index, state.ops[index].start, engine_.now());
  StreamQueue& q = state.streams[static_cast<int>(op.stream)];
  q.busy = false;
  ++q.head;
  for (std::uint32_t k = state.dependents_begin[index]; k < state.dependents_begin[index + 1];
       ++k) {
    const std::uint32_t dependent = state.dependents[k];
    if (--state.ops[dependent].remaining_deps == 0)
      try_start(rank, plan_.ranks[rank].ops[dependent].stream);
  }
  try_start(rank, op.stream);
}

void RankScheduler::check_finished() const {
  std::string stuck;
  int reported = 0;
  for (std::size_t r = 0; r < ranks_.size() && reported < 8; ++r) {
    const RankState& state = ranks_[r];
    if (state.completed == plan_.ranks[r].ops.size())
      continue;
    for (int s = 0; s < stream_count; ++s) {
      const StreamQueue& q = state.streams[s];
      if (q.head >= q.ops.size())
        continue;
      const std::uint32_t index = q.ops[q.head];
      const Op& op = plan_.ranks[r].ops[index];
      stuck += "\n  rank " + std::to_string(plan_.ranks[r].rank) + " op " + std::to_string(index) +
               " (" + plan_.labels[op.label] + ", " + std::string(to_string(op.kind)) + " on " +
               std::string(to_string(op.stream)) + ")" +
               (state.ops[index].remaining_deps ? " waits for its dependencies"
                                                : " waits for its partners");
      ++reported;
      break;
    }
  }
  if (!stuck.empty())
    throw std::runtime_error("the plan deadlocks; stuck ops:" + stuck);
}

}  // namespace scaleplan
