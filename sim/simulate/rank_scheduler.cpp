#include "sim/simulate/rank_scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "sim/simulate/op_jitter.hpp"

namespace scaleplan {

namespace {
constexpr int rank_shift = 32;
}  // namespace

namespace {

std::vector<SimTime> block_times(const Plan& plan, const ComputeModel& compute) {
  std::vector<SimTime> times;
  times.reserve(plan.blocks.size());
  for (const auto& block : plan.blocks) {
    const double seconds = block_time_s(compute, block);
    try {
      times.push_back(to_sim_time(seconds, TimeOverflow::Cause::compute));
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
  return times;
}

}  // namespace

RankScheduler::RankScheduler(const Plan& plan, const ComputeModel& compute, Engine& engine,
                             const ObserverList& observers, CommunicationHandler& communication,
                             const CommunicationTags& communication_tags,
                             const SimulationOptions& options)
    : plan_(plan),
      engine_(engine),
      observers_(observers),
      communication_(communication),
      jitter_by_device_(options.jitter_by_device),
      tensor_parallel_userbuffers_(options.tensor_parallel_userbuffers) {
  block_times_.push_back(block_times(plan, compute));
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
  std::vector<const ComputeModel*> models{&compute};
  const auto& factors = options.compute_factor_by_device;
  const auto& by_device = options.compute_by_device;
  ranks_.resize(plan.ranks.size());
  std::vector<std::size_t> model_of_rank(plan.ranks.size(), 0);
  for (std::size_t r = 0; r < plan.ranks.size(); ++r) {
    RankState& state = ranks_[r];
    state.shape = &shapes_[shape_of_rank[r]];
    state.remaining_deps = state.shape->dependency_counts;
    state.device = plan.ranks[r].device;
    const auto device = static_cast<std::size_t>(plan.ranks[r].device);
    if (device < factors.size())
      state.compute_factor = factors[device];
    if (device < options.sm_count_by_device.size())
      state.sm_count = options.sm_count_by_device[device];
    if (device < options.collective_kernel_sms_by_device.size())
      state.collective_kernel_sms = options.collective_kernel_sms_by_device[device];
    if (device < jitter_by_device_.size() && jitter_by_device_[device])
      state.jitter = &*jitter_by_device_[device];
    if (device < by_device.size() && by_device[device] != nullptr) {
      const auto known = std::find(models.begin(), models.end(), by_device[device]);
      model_of_rank[r] = static_cast<std::size_t>(known - models.begin());
      if (known == models.end()) {
        models.push_back(by_device[device]);
        block_times_.push_back(block_times(plan, *by_device[device]));
      }
    }
  }
  // Pointers into block_times_ once it no longer grows.
  for (std::size_t r = 0; r < plan.ranks.size(); ++r)
    ranks_[r].block_time = &block_times_[model_of_rank[r]];
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
                          compute && op.activation_bytes != 0, sm_holder(op)};
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
  const SimTime duration = (*state.block_time)[op.communication_tag];
  double factor = state.compute_factor;
  if (state.jitter)
    factor *= op_jitter_factor(*state.jitter, state.device, state.compute_ops_started++);
  SimTime slowed = duration;
  if (factor != 1) {
    const double ps = static_cast<double>(duration) * factor;
    // A slowed, jittered op past what the simulator represents (sim_time_max, sim/engine).
    if (!(ps < static_cast<double>(sim_time_max))) {
      throw TimeOverflow(
          TimeOverflow::Cause::compute,
          fmt::format("a compute op of rank {} slowed {:.3g} times takes {}",
                      plan_.ranks[rank].rank, factor, seconds_text(to_seconds(duration) * factor)));
    }
    slowed = static_cast<SimTime>(ps);
  }
  state.compute_op = index;
  state.compute_left_ps = static_cast<double>(slowed);
  state.compute_rate = compute_rate(state);
  state.compute_since = engine_.now();
  if (state.compute_rate == 1) {
    // At the full rate the end is exact in integer time (past sim_time_max as the engine puts it).
    const SimTime now = engine_.now();
    state.compute_end = slowed > sim_time_max - now ? sim_time_max + 1 : now + slowed;
    engine_.schedule_at(state.compute_end, this,
                        (static_cast<std::uint64_t>(rank) << rank_shift) | index);
  } else {
    schedule_compute_end(rank);
  }
}

RankScheduler::SmHolder RankScheduler::sm_holder(const Op& op) const {
  if (op.kind != OpKind::collective)
    return SmHolder::none;
  if (plan_.groups[op.group].dispatches_by_deepep())
    return SmHolder::deepep;
  if (op.stream == Stream::tp_comm && tensor_parallel_userbuffers_) {
    return op.collective == CollectiveKind::all_gather ? SmHolder::userbuffers_all_gather
                                                       : SmHolder::userbuffers_reduce_scatter;
  }
  return SmHolder::nccl;
}

double RankScheduler::held_sms(const RankState& state, SmHolder holder) const {
  switch (holder) {
    case SmHolder::none:
      return 0;
    case SmHolder::deepep:
      return ExpertDispatch::deepep_sms;
    case SmHolder::nccl:
      return state.collective_kernel_sms;
    case SmHolder::userbuffers_reduce_scatter:
      return SimulationOptions::userbuffers_reduce_scatter_sms;
    case SmHolder::userbuffers_all_gather:
      return SimulationOptions::userbuffers_all_gather_sms;
  }
  return 0;
}

double RankScheduler::compute_rate(const RankState& state) const {
  if (state.sm_count <= 0 || state.communication_sms <= 0)
    return 1;
  // Kernels asking for more SMs than are left wait for them: communication never holds the
  // last one, so the compute goes on, at worst one SM's pace, until a collective ends.
  const double held = std::min(state.communication_sms, state.sm_count - 1);
  return std::max(1.0, state.sm_count - held) / state.sm_count;
}

void RankScheduler::schedule_compute_end(int rank) {
  RankState& state = ranks_[rank];
  const double ps = state.compute_left_ps / state.compute_rate;
  if (!(ps < static_cast<double>(sim_time_max - engine_.now()))) {
    throw TimeOverflow(TimeOverflow::Cause::compute,
                       fmt::format("a compute op of rank {} slowed by the SMs its communication "
                                   "holds takes {}",
                                   plan_.ranks[rank].rank, seconds_text(ps * 1e-12)));
  }
  state.compute_end = engine_.now() + static_cast<SimTime>(std::llround(ps));
  engine_.schedule_at(state.compute_end, this,
                      (static_cast<std::uint64_t>(rank) << rank_shift) | state.compute_op);
}

void RankScheduler::hold_sms(int rank, double delta) {
  RankState& state = ranks_[rank];
  state.communication_sms += delta;
  if (state.compute_op == no_compute_op || state.sm_count <= 0)
    return;
  const double rate = compute_rate(state);
  if (rate == state.compute_rate)
    return;
  const SimTime now = engine_.now();
  state.compute_left_ps =
      std::max(0.0, state.compute_left_ps -
                        static_cast<double>(now - state.compute_since) * state.compute_rate);
  state.compute_since = now;
  state.compute_rate = rate;
  schedule_compute_end(rank);
}

void RankScheduler::on_event(std::uint64_t payload) {
  const int rank = static_cast<int>(payload >> rank_shift);
  const auto index = static_cast<std::uint32_t>(payload & 0xffffffff);
  RankState& state = ranks_[rank];
  // An end scheduled before the op's rate changed.
  if (state.compute_op != index || state.compute_end != engine_.now())
    return;
  state.compute_op = no_compute_op;
  finish(rank, index);
}

void RankScheduler::communication_started(int rank, std::uint32_t op) {
  RankState& state = ranks_[rank];
  state.streams[static_cast<int>(state.shape->op_shapes[op].stream)].start = engine_.now();
  if (const SmHolder holder = state.shape->op_shapes[op].sm_holder; holder != SmHolder::none)
    hold_sms(rank, held_sms(state, holder));
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
  if (op.sm_holder != SmHolder::none)
    hold_sms(rank, -held_sms(state, op.sm_holder));
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
