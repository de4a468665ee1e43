#include "sim/simulate/rank_scheduler.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace scaleplan {

namespace {
constexpr int rank_shift = 32;
}  // namespace

RankScheduler::RankScheduler(const Plan& plan, const ComputeModel& compute, Engine& engine,
                             const ObserverList& observers, CommunicationHandler& communication,
                             const CommunicationTags& communication_tags,
                             const std::vector<double>& compute_factor_by_device)
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
  // Ranks that share a program share its shape (the plan's `shares`), made once.
  std::vector<std::size_t> shape_of_rank(plan.ranks.size(), 0);
  std::vector<std::size_t> shape_of_holder(plan.ranks.size(), SIZE_MAX);
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    const std::int32_t shares = plan.ranks[r].shares;
    const std::size_t holder = shares < 0 ? r : static_cast<std::size_t>(shares);
    if (shape_of_holder[holder] == SIZE_MAX) {
      shape_of_holder[holder] = shapes_.size();
      shapes_.push_back(
          make_shape(static_cast<int>(holder), communication_tags(static_cast<int>(holder))));
    }
    shape_of_rank[r] = shape_of_holder[holder];
  }
  ranks_.resize(plan.ranks.size());
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    RankState& state = ranks_[r];
    state.shape = &shapes_[shape_of_rank[r]];
    state.remaining_deps = state.shape->dependency_counts;
    const auto device = static_cast<std::size_t>(plan.ranks[r].device);
    if (device < compute_factor_by_device.size())
      state.compute_factor = compute_factor_by_device[device];
  }
}

// Each op's dependency count, what is read of it as it runs, its dependents as compressed rows,
// and each stream's ops in program order.
RankScheduler::ProgramShape RankScheduler::make_shape(
    int r, const std::vector<std::uint32_t>& communication_tags) const {
  ProgramShape shape;
  const std::vector<Op>& ops = plan_.ops_of(static_cast<std::size_t>(r));
  shape.ops = &ops;
  const std::size_t n = ops.size();
  shape.op_shapes.resize(n);
  shape.dependency_counts.resize(n);
  std::vector<std::uint32_t> count(n + 1, 0);
  for (std::uint32_t i = 0; i < n; ++i) {
    const Op& op = ops[i];
    shape.dependency_counts[i] = static_cast<std::uint32_t>(op.deps.size());
    const bool compute = op.kind == OpKind::compute;
    shape.op_shapes[i] = {compute ? op.block : communication_tags[i], op.kind, op.stream,
                          compute && op.activation_bytes != 0};
    for (std::uint32_t d : op.deps)
      ++count[d + 1];
    shape.stream_ops[static_cast<int>(op.stream)].push_back(i);
  }
  for (std::size_t i = 1; i <= n; ++i)
    count[i] += count[i - 1];
  shape.dependents_begin = count;
  shape.dependents.assign(count[n], 0);
  std::vector<std::uint32_t> fill(count.begin(), count.end() - 1);
  for (std::uint32_t i = 0; i < n; ++i) {
    for (std::uint32_t d : ops[i].deps)
      shape.dependents[fill[d]++] = i;
  }
  return shape;
}

void RankScheduler::start() {
  for (int r = 0; r < static_cast<int>(ranks_.size()); ++r) {
    for (int s = 0; s < stream_count; ++s)
      try_start(r, static_cast<Stream>(s));
  }
}

void RankScheduler::try_start(int rank, Stream stream) {
  RankState& state = ranks_[rank];
  StreamState& q = state.streams[static_cast<int>(stream)];
  const std::vector<std::uint32_t>& stream_ops = state.shape->stream_ops[static_cast<int>(stream)];
  if (q.busy || q.head >= stream_ops.size())
    return;
  const std::uint32_t index = stream_ops[q.head];
  if (state.remaining_deps[index] != 0)
    return;
  q.busy = true;
  const OpShape& op = state.shape->op_shapes[index];
  if (op.kind != OpKind::compute) {
    communication_.on_communication_ready(rank, index, op.communication_tag);
    return;
  }
  q.start = engine_.now();
  if (op.changes_memory) {
    const double bytes = (*state.shape->ops)[index].activation_bytes;
    if (bytes > 0)
      change_memory(rank, index, bytes);
  }
  const SimTime duration = block_time_[op.communication_tag];
  engine_.schedule_after(
      state.compute_factor == 1
          ? duration
          : static_cast<SimTime>(static_cast<double>(duration) * state.compute_factor),
      this, (static_cast<std::uint64_t>(rank) << rank_shift) | index);
}

void RankScheduler::on_event(std::uint64_t payload) {
  finish(static_cast<int>(payload >> rank_shift), static_cast<std::uint32_t>(payload & 0xffffffff));
}

void RankScheduler::communication_started(int rank, std::uint32_t op) {
  RankState& state = ranks_[rank];
  state.streams[static_cast<int>(state.shape->op_shapes[op].stream)].start = engine_.now();
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
  const ProgramShape& shape = *state.shape;
  const OpShape& op = shape.op_shapes[index];
  ++state.completed;
  if (op.changes_memory) {
    const double bytes = (*shape.ops)[index].activation_bytes;
    if (bytes < 0)
      change_memory(rank, index, bytes);
  }
  StreamState& q = state.streams[static_cast<int>(op.stream)];
  observers_.op(rank, index, q.start, engine_.now());
  q.busy = false;
  ++q.head;
  for (std::uint32_t k = shape.dependents_begin[index]; k < shape.dependents_begin[index + 1];
       ++k) {
    const std::uint32_t dependent = shape.dependents[k];
    if (--state.remaining_deps[dependent] == 0)
      try_start(rank, shape.op_shapes[dependent].stream);
  }
  try_start(rank, op.stream);
}

void RankScheduler::check_finished() const {
  std::string stuck;
  int reported = 0;
  for (std::size_t r = 0; r < ranks_.size() && reported < 8; ++r) {
    const RankState& state = ranks_[r];
    const std::vector<Op>& ops = *state.shape->ops;
    if (state.completed == ops.size())
      continue;
    for (int s = 0; s < stream_count; ++s) {
      const StreamState& q = state.streams[s];
      const std::vector<std::uint32_t>& stream_ops = state.shape->stream_ops[s];
      if (q.head >= stream_ops.size())
        continue;
      const std::uint32_t index = stream_ops[q.head];
      const Op& op = ops[index];
      stuck +=
          "\n  rank " + std::to_string(plan_.ranks[r].rank) + " op " + std::to_string(index) +
          " (" + plan_.labels[op.label] + ", " + std::string(to_string(op.kind)) + " on " +
          std::string(to_string(op.stream)) + ")" +
          (state.remaining_deps[index] ? " waits for its dependencies" : " waits for its partners");
      ++reported;
      break;
    }
  }
  if (!stuck.empty())
    throw std::runtime_error("the plan deadlocks; stuck ops:" + stuck);
}

}  // namespace scaleplan
