#include "calibrate/executor/executor.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scaleplan {

namespace {

enum class OpState : std::uint8_t { waiting, started, finished };

// The order in which a rank's issue constraints hold: per op, its position among the rank's
// collectives on its group, or among its sends to (receives from) its peer.
struct IssueOrder {
  std::vector<std::uint32_t> position;  // per op
  // key: group index, or (1 << 31) | peer << 1 | is_recv for messages
  std::vector<std::uint64_t> key;
};

std::uint64_t order_key(const Op& op) {
  if (op.kind == OpKind::collective)
    return op.group;
  return (std::uint64_t{1} << 40) | (static_cast<std::uint64_t>(op.peer) << 1) |
         (op.kind == OpKind::recv ? 1u : 0u);
}

IssueOrder issue_order(const RankProgram& program) {
  IssueOrder order;
  std::map<std::uint64_t, std::uint32_t> count;
  for (const Op& op : program.ops) {
    if (op.kind == OpKind::compute) {
      order.position.push_back(0);
      order.key.push_back(0);
      continue;
    }
    const std::uint64_t key = order_key(op);
    order.key.push_back(key);
    order.position.push_back(count[key]++);
  }
  return order;
}

// Comm streams first: a CPU backend runs compute synchronously, so what can be posted is posted
// before it.
constexpr std::array<Stream, stream_count> stream_visit_order{
    Stream::pp_recv_prev, Stream::pp_recv_next, Stream::pp_send_next, Stream::pp_send_prev,
    Stream::tp_comm,      Stream::cp_comm,      Stream::ep_comm,      Stream::dp_comm,
    Stream::param_gather, Stream::compute};

std::string describe_op(const Plan& plan, const RankProgram& program, std::uint32_t index) {
  const Op& op = program.ops[index];
  const std::string label = op.label < plan.labels.size() ? plan.labels[op.label] : "?";
  std::string text =
      fmt::format("op {} \"{}\" of rank {} ({}", index, label, program.rank, to_string(op.kind));
  if (op.kind == OpKind::collective) {
    const Group& g = plan.groups[op.group];
    text += fmt::format(" {} on group {} [{}]", to_string(op.collective), g.name,
                        fmt::join(g.ranks, ", "));
  } else if (op.kind != OpKind::compute) {
    text += fmt::format(" {} rank {}", op.kind == OpKind::send ? "to" : "from", op.peer);
  }
  return text + fmt::format(", stream {})", to_string(op.stream));
}

class StepRunner {
 public:
  StepRunner(const Plan& plan, const RankProgram& program, ExecutionBackend& backend,
             const ExecuteOptions& options, const IssueOrder& order)
      : plan_(plan), program_(program), backend_(backend), options_(options), order_(order) {
    for (std::uint32_t i = 0; i < program.ops.size(); ++i)
      by_stream_[static_cast<int>(program.ops[i].stream)].push_back(i);
  }

  // Runs one step; throws ExecutionStopped (with `measured`) on a hang or an interrupt.
  std::vector<OpTimes> run(const RankMeasurement& measured) {
    const std::size_t n = program_.ops.size();
    std::vector<OpState> state(n, OpState::waiting);
    std::vector<OpTimes> times(n);
    std::array<std::size_t, stream_count> head{};
    std::map<std::uint64_t, std::uint32_t> issued;  // next position per order key
    std::vector<std::uint32_t> in_flight;
    std::size_t finished = 0;
    backend_.begin_step();
    double last_progress_s = backend_.now_s();
    const bool device_orders = backend_.orders_dependencies();
    auto ready = [&](std::uint32_t i) {
      const Op& op = program_.ops[i];
      for (const std::uint32_t d : op.deps) {
        if (state[d] == OpState::waiting || (!device_orders && state[d] != OpState::finished))
          return false;
      }
      if (op.kind == OpKind::compute)
        return true;
      const auto it = issued.find(order_.key[i]);
      return order_.position[i] == (it == issued.end() ? 0 : it->second);
    };
    while (finished < n) {
      bool progressed = false;
      for (const Stream s : stream_visit_order) {
        const auto& ops = by_stream_[static_cast<int>(s)];
        std::size_t& h = head[static_cast<int>(s)];
        // One op of a stream in flight at a time, unless the device orders them.
        if (h >= ops.size() || (h > 0 && !device_orders && state[ops[h - 1]] != OpState::finished))
          continue;
        const std::uint32_t i = ops[h];
        if (!ready(i))
          continue;
        backend_.start(i, program_.ops[i]);
        state[i] = OpState::started;
        if (program_.ops[i].kind != OpKind::compute)
          ++issued[order_.key[i]];
        in_flight.push_back(i);
        ++h;
        progressed = true;
      }
      for (std::size_t k = 0; k < in_flight.size();) {
        const std::uint32_t i = in_flight[k];
        if (auto t = backend_.poll(i, program_.ops[i])) {
          times[i] = *t;
          state[i] = OpState::finished;
          ++finished;
          progressed = true;
          in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(k));
        } else {
          ++k;
        }
      }
      const double now = backend_.now_s();
      // Checked after every pass, busy or not: a rank that always has an op to start (a long
      // stretch of compute) still stops within one op of a Ctrl-C.
      const bool interrupted = options_.interrupt && options_.interrupt->load();
      if (progressed)
        last_progress_s = now;
      if (interrupted || now - last_progress_s > options_.timeout_s)
        stop(interrupted, state, times, in_flight, measured, now - last_progress_s);
      if (!progressed)
        backend_.idle();
    }
    return times;
  }

 private:
  [[noreturn]] void stop(bool interrupted, const std::vector<OpState>& state,
                         const std::vector<OpTimes>& times,
                         const std::vector<std::uint32_t>& in_flight,
                         const RankMeasurement& measured, double waited_s) {
    RankMeasurement so_far = measured;
    for (std::uint32_t i = 0; i < state.size(); ++i) {
      if (state[i] == OpState::finished)
        so_far.partial_step.emplace_back(i, times[i]);
    }
    if (interrupted) {
      throw ExecutionStopped(fmt::format("rank {}: interrupted; {} steps measured\n", program_.rank,
                                         measured.steps.size()),
                             std::move(so_far));
    }
    std::string message;
    for (const std::uint32_t i : in_flight) {
      const Op& op = program_.ops[i];
      message += fmt::format("rank {}: {} did not finish within {:.3g} s", program_.rank,
                             describe_op(plan_, program_, i), waited_s);
      const std::vector<int> missing = backend_.missing_ranks(i, op);
      if (!missing.empty())
        message += fmt::format("; ranks that had not arrived: {}", fmt::join(missing, ", "));
      message += "\n";
    }
    if (in_flight.empty())
      message =
          fmt::format("rank {}: no op could start within {:.3g} s\n", program_.rank, waited_s);
    throw ExecutionStopped(message, std::move(so_far));
  }

  const Plan& plan_;
  const RankProgram& program_;
  ExecutionBackend& backend_;
  const ExecuteOptions& options_;
  const IssueOrder& order_;
  std::array<std::vector<std::uint32_t>, stream_count> by_stream_;
};

}  // namespace

RankMeasurement execute_program(const Plan& plan, const RankProgram& program,
                                ExecutionBackend& backend, const ExecuteOptions& options) {
  const IssueOrder order = issue_order(program);
  StepRunner runner(plan, program, backend, options, order);
  RankMeasurement measured;
  measured.rank = program.rank;
  for (int step = 0; step < options.warmup_steps + options.measured_steps; ++step) {
    std::vector<OpTimes> times = runner.run(measured);
    if (step >= options.warmup_steps)
      measured.steps.push_back(std::move(times));
  }
  return measured;
}

namespace {

// The replicas (0-based) whose ranks a group names.
std::set<int> replicas_of(const Group& g, const Replicas& r) {
  std::set<int> replicas;
  for (const int rank : g.ranks)
    replicas.insert(r.replica_of(rank));
  return replicas;
}

}  // namespace

Plan expand_replicas(const Plan& shared) {
  // Each rank runs its own program: the ranks of a pipeline stage that share one in the
  // simulator's plan (Plan::ops_of) get their own copies, with their own groups and peers.
  Plan plan = shared;
  plan.unshare();
  if (plan.replicas.count <= 1)
    return plan;
  const Replicas r = plan.replicas;
  Plan out;
  out.labels = plan.labels;
  out.blocks = plan.blocks;
  for (const std::string& l : plan.labels)
    out.label(l);
  // The copy of group g that holds replica k: its members shifted by the replicas below the
  // block of w replicas (w: how many the group spans) that holds k.
  std::map<std::vector<int>, std::uint32_t> group_index;
  auto group_copy = [&](std::uint32_t g, int replica) {
    const Group& group = plan.groups[g];
    const int span = static_cast<int>(replicas_of(group, r).size());
    const int shift = (replica / span) * span * r.rank_stride;
    Group copy = group;
    for (int& rank : copy.ranks)
      rank += shift;
    const auto [it, added] = group_index.emplace(copy.ranks, 0);
    if (added)
      it->second = out.add_group(std::move(copy));
    return it->second;
  };
  for (std::uint32_t g = 0; g < plan.groups.size(); ++g)
    group_copy(g, 0);
  std::vector<RankProgram> programs;
  for (int replica = 0; replica < r.count; ++replica) {
    for (const RankProgram& listed : plan.ranks) {
      RankProgram copy = listed;
      copy.rank += replica * r.rank_stride;
      copy.device += replica * r.rank_stride;
      for (Op& op : copy.ops) {
        if (op.kind == OpKind::collective)
          op.group = group_copy(op.group, replica);
        else if (op.kind != OpKind::compute)
          op.peer += replica * r.rank_stride;
      }
      programs.push_back(std::move(copy));
    }
  }
  std::sort(programs.begin(), programs.end(),
            [](const RankProgram& a, const RankProgram& b) { return a.rank < b.rank; });
  out.ranks = std::move(programs);
  return out;
}

std::vector<std::string> execution_problems(const Plan& plan, const ExecutionLimits& limits) {
  std::vector<std::string> problems;
  const int needed = plan.world_size();
  if (needed != limits.ranks) {
    problems.push_back(fmt::format(
        "the plan needs {} ranks, but {} {} present; start it with {} ranks (mpirun -np {}, srun "
        "--ntasks {})",
        needed, limits.ranks, limits.ranks == 1 ? "is" : "are", needed, needed, needed));
  }
  if (limits.device_memory_bytes) {
    for (const RankProgram& program : plan.ranks) {
      double activation = 0, peak = 0;
      for (const Op& op : program.ops) {
        activation += op.activation_bytes;
        peak = std::max(peak, activation);
      }
      const double total = program.static_memory.total() + peak;
      if (total > *limits.device_memory_bytes) {
        problems.push_back(fmt::format(
            "rank {} needs {:.4g} GB (static {:.4g} GB, activations at their peak {:.4g} GB), "
            "but a {} device holds {:.4g} GB",
            program.rank, total / 1e9, program.static_memory.total() / 1e9, peak / 1e9,
            limits.backend, *limits.device_memory_bytes / 1e9));
        break;
      }
    }
  }
  if (!limits.dtypes.empty()) {
    std::set<Dtype> lacking;
    std::string first;
    for (const ComputeBlock& block : plan.blocks) {
      for (const Kernel& k : block.kernels) {
        if (std::find(limits.dtypes.begin(), limits.dtypes.end(), k.dtype) == limits.dtypes.end() &&
            lacking.insert(k.dtype).second && first.empty())
          first = block.name + ": " + k.name;
      }
    }
    if (!lacking.empty()) {
      std::vector<std::string> names, have;
      for (const Dtype d : lacking)
        names.emplace_back(to_string(d));
      for (const Dtype d : limits.dtypes)
        have.emplace_back(to_string(d));
      problems.push_back(fmt::format(
          "the plan computes in {} (first in {}), which the {} backend lacks; it runs {}",
          fmt::join(names, ", "), first, limits.backend, fmt::join(have, ", ")));
    }
  }
  return problems;
}

}  // namespace scaleplan
