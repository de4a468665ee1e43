#include "calibrate/executor/mpi_executor.hpp"

#include <sched.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "calibrate/executor/core_share.hpp"
#include "calibrate/executor/cpu_kernels.hpp"

namespace scaleplan {

MpiContext::MpiContext(const Plan& plan, int world_rank, int world_size)
    : plan_(plan), rank_(world_rank), size_(world_size) {
  MPI_Group world_group;
  MPI_Comm_group(MPI_COMM_WORLD, &world_group);
  // Groups in plan order: each member calls MPI_Comm_create_group for the groups it is in, in
  // the same order as every other member, so that the lowest group anyone waits in has all of
  // its members there.
  for (std::uint32_t g = 0; g < plan.groups.size(); ++g) {
    const std::vector<int>& ranks = plan.groups[g].ranks;
    MPI_Comm comm = MPI_COMM_NULL;
    if (std::find(ranks.begin(), ranks.end(), rank_) != ranks.end()) {
      MPI_Group group;
      MPI_Group_incl(world_group, static_cast<int>(ranks.size()), ranks.data(), &group);
      MPI_Comm_create_group(MPI_COMM_WORLD, group, static_cast<int>(g % 32768), &comm);
      MPI_Group_free(&group);
    }
    comms_.push_back(comm);
  }
  MPI_Group_free(&world_group);
  const auto count =
      static_cast<MPI_Aint>(plan.groups.size() + 2 * static_cast<std::size_t>(size_));
  MPI_Win_allocate(count * static_cast<MPI_Aint>(sizeof(std::int64_t)), sizeof(std::int64_t),
                   MPI_INFO_NULL, MPI_COMM_WORLD, &counters_, &window_);
  std::fill(counters_, counters_ + count, 0);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Win_lock_all(0, window_);
}

MpiContext::~MpiContext() {
  MPI_Win_unlock_all(window_);
  MPI_Win_free(&window_);
  for (MPI_Comm& c : comms_) {
    if (c != MPI_COMM_NULL)
      MPI_Comm_free(&c);
  }
}

// Counters: [0, groups) collectives issued per group; then sends to each rank; then receives
// from each rank. `own`: this rank's counter for the op; otherwise the peer's matching one.
std::int64_t MpiContext::counter_index(const Op& op, bool own) const {
  const auto groups = static_cast<std::int64_t>(plan_.groups.size());
  if (op.kind == OpKind::collective)
    return op.group;
  const bool sends = (op.kind == OpKind::send) == own;
  const int other = own ? op.peer : rank_;
  return groups + (sends ? 0 : size_) + other;
}

void MpiContext::note_issued(const Op& op) {
  const std::int64_t index = counter_index(op, true);
  const std::int64_t value = counters_[index] + 1;
  MPI_Accumulate(&value, 1, MPI_INT64_T, rank_, index, 1, MPI_INT64_T, MPI_REPLACE, window_);
  MPI_Win_flush(rank_, window_);
  counters_[index] = value;
}

std::int64_t MpiContext::read(int rank, std::int64_t index) {
  std::int64_t value = 0;
  MPI_Get_accumulate(nullptr, 0, MPI_INT64_T, &value, 1, MPI_INT64_T, rank, index, 1, MPI_INT64_T,
                     MPI_NO_OP, window_);
  MPI_Win_flush(rank, window_);
  return value;
}

std::vector<int> MpiContext::missing_ranks(const Op& op) {
  const std::int64_t mine = read(rank_, counter_index(op, true));
  std::vector<int> missing;
  if (op.kind == OpKind::collective) {
    for (const int member : plan_.groups[op.group].ranks) {
      if (member != rank_ && read(member, op.group) < mine)
        missing.push_back(member);
    }
  } else if (read(op.peer, counter_index(op, false)) < mine) {
    missing.push_back(op.peer);
  }
  return missing;
}

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t elements_of(double bytes) {
  return std::max<std::int64_t>(1, std::llround(bytes / sizeof(float)));
}

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The share of a core each rank of this host may compute on: the cores the host's ranks may run
// on (the union of their affinity masks), over the ranks; 1 where there are as many cores as
// ranks. Collective over MPI_COMM_WORLD.
double core_share_of_host() {
  MPI_Comm host = MPI_COMM_NULL;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &host);
  int ranks = 1;
  MPI_Comm_size(host, &ranks);
  cpu_set_t mine;
  CPU_ZERO(&mine);
  constexpr int words = sizeof(cpu_set_t) / sizeof(unsigned long);
  std::array<unsigned long, words> local{}, all{};
  if (sched_getaffinity(0, sizeof mine, &mine) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &mine))
        local[static_cast<std::size_t>(cpu) / (8 * sizeof(unsigned long))] |=
            1ul << (static_cast<unsigned>(cpu) % (8 * sizeof(unsigned long)));
    }
  }
  MPI_Allreduce(local.data(), all.data(), words, MPI_UNSIGNED_LONG, MPI_BOR, host);
  MPI_Comm_free(&host);
  int cores = 0;
  for (const unsigned long w : all)
    cores += __builtin_popcountl(w);
  return cores > 0 && cores < ranks ? static_cast<double>(cores) / ranks : 1.0;
}

class CpuMpiBackend final : public ExecutionBackend {
 public:
  CpuMpiBackend(const Plan& plan, const RankProgram& program, MpiContext& context)
      : plan_(plan),
        context_(context),
        kernels_(plan.blocks),
        share_(core_share_of_host()),
        requests_(program.ops.size(), MPI_REQUEST_NULL),
        times_(program.ops.size()) {
    // One buffer pair per stream, as large as its largest op: a stream has one op in flight.
    std::array<std::int64_t, stream_count> largest{};
    for (const Op& op : program.ops) {
      if (op.kind == OpKind::compute)
        continue;
      const int members =
          op.kind == OpKind::collective ? static_cast<int>(plan.groups[op.group].ranks.size()) : 1;
      largest[static_cast<int>(op.stream)] =
          std::max(largest[static_cast<int>(op.stream)], elements_of(op.bytes) + members);
    }
    for (int s = 0; s < stream_count; ++s) {
      send_[s].assign(static_cast<std::size_t>(largest[s]), 1.0f);
      recv_[s].assign(static_cast<std::size_t>(largest[s]), 0.0f);
    }
    std::map<std::pair<int, int>, int> count;
    for (const Op& op : program.ops) {
      tags_.push_back(op.kind == OpKind::send || op.kind == OpKind::recv
                          ? count[{op.peer, op.kind == OpKind::send ? 0 : 1}]++ % 32768
                          : 0);
    }
  }

  bool orders_dependencies() const override { return false; }

  void begin_step() override {
    MPI_Barrier(MPI_COMM_WORLD);
    step_start_ = Clock::now();
    share_.restart(now_s());
  }

  double now_s() const override {
    return std::chrono::duration<double>(Clock::now() - step_start_).count();
  }

  void start(std::uint32_t index, const Op& op) override {
    times_[index].start_s = now_s();
    if (op.kind == OpKind::compute) {
      // Between kernels, MPI moves the messages in flight (it progresses only inside its calls),
      // as a GPU's communication kernels run beside its compute.
      for (const Kernel& kernel : plan_.blocks[op.block].kernels) {
        for (double wait_s = share_.wait_s(now_s()); wait_s > 0; wait_s = share_.wait_s(now_s())) {
          progress();
          if (wait_s > 50e-6)
            sched_yield();
        }
        const double cpu_s = thread_cpu_s();
        kernels_.run(kernel);
        share_.spent(thread_cpu_s() - cpu_s);
        progress();
      }
      times_[index].end_s = now_s();
      return;
    }
    context_.note_issued(op);
    float* send = send_[static_cast<int>(op.stream)].data();
    float* recv = recv_[static_cast<int>(op.stream)].data();
    MPI_Request* request = &requests_[index];
    in_flight_.push_back(index);
    const std::int64_t elements = elements_of(op.bytes);
    if (op.kind == OpKind::send) {
      MPI_Isend(send, static_cast<int>(elements), MPI_FLOAT, op.peer, tags_[index], MPI_COMM_WORLD,
                request);
      return;
    }
    if (op.kind == OpKind::recv) {
      MPI_Irecv(recv, static_cast<int>(elements), MPI_FLOAT, op.peer, tags_[index], MPI_COMM_WORLD,
                request);
      return;
    }
    MPI_Comm comm = context_.comm(op.group);
    const auto members = static_cast<std::int64_t>(plan_.groups[op.group].ranks.size());
    const int chunk = static_cast<int>(std::max<std::int64_t>(1, elements / members));
    switch (op.collective) {
      case CollectiveKind::all_reduce:
        MPI_Iallreduce(send, recv, static_cast<int>(elements), MPI_FLOAT, MPI_SUM, comm, request);
        break;
      case CollectiveKind::reduce_scatter:
        MPI_Ireduce_scatter_block(send, recv, chunk, MPI_FLOAT, MPI_SUM, comm, request);
        break;
      case CollectiveKind::all_gather:
        MPI_Iallgather(send, chunk, MPI_FLOAT, recv, chunk, MPI_FLOAT, comm, request);
        break;
      case CollectiveKind::all_to_all:
        MPI_Ialltoall(send, chunk, MPI_FLOAT, recv, chunk, MPI_FLOAT, comm, request);
        break;
      case CollectiveKind::broadcast:
        MPI_Ibcast(recv, static_cast<int>(elements), MPI_FLOAT, 0, comm, request);
        break;
    }
  }

  std::optional<OpTimes> poll(std::uint32_t index, const Op& op) override {
    if (op.kind == OpKind::compute)
      return times_[index];
    if (requests_[index] != MPI_REQUEST_NULL) {
      int done = 0;
      MPI_Test(&requests_[index], &done, MPI_STATUS_IGNORE);
      if (!done)
        return std::nullopt;
      times_[index].end_s = now_s();
      in_flight_.erase(std::find(in_flight_.begin(), in_flight_.end(), index));
    }
    return times_[index];
  }

  std::vector<int> missing_ranks(std::uint32_t, const Op& op) override {
    return context_.missing_ranks(op);
  }

  // Tests every request in flight, recording when each finished.
  void progress() {
    for (std::size_t k = 0; k < in_flight_.size();) {
      const std::uint32_t i = in_flight_[k];
      int done = 0;
      MPI_Test(&requests_[i], &done, MPI_STATUS_IGNORE);  // sets a finished request to NULL
      if (done) {
        times_[i].end_s = now_s();
        in_flight_[k] = in_flight_.back();
        in_flight_.pop_back();
      } else {
        ++k;
      }
    }
  }

  // A rank waiting on a message gives its core to the ranks still computing (more ranks than
  // cores, under --oversubscribe), as Open MPI's own waits do there (mpi_yield_when_idle): a rank
  // that kept polling would hold a core that the rank it waits for needs, and a collective
  // between ranks sharing cores would last a scheduler slice per message (90 ms instead of 15 us
  // for a 4-rank all-reduce on 2 loaded cores). What it gives up does not make the others compute
  // faster than their share: see CoreShare.
  void idle() override { sched_yield(); }

 private:
  const Plan& plan_;
  MpiContext& context_;
  CpuKernels kernels_;
  CoreShare share_;
  std::array<std::vector<float>, stream_count> send_, recv_;
  std::vector<MPI_Request> requests_;
  std::vector<std::uint32_t> in_flight_;  // posted, not yet seen finished
  std::vector<OpTimes> times_;
  std::vector<int> tags_;
  Clock::time_point step_start_ = Clock::now();
};

// A backend that never issues one op: what a rank stuck before a collective looks like to the
// others (a test aid).
class StallingBackend final : public ExecutionBackend {
 public:
  StallingBackend(std::unique_ptr<ExecutionBackend> inner, std::uint32_t op)
      : inner_(std::move(inner)), op_(op) {}
  bool orders_dependencies() const override { return inner_->orders_dependencies(); }
  void begin_step() override { inner_->begin_step(); }
  void start(std::uint32_t index, const Op& op) override {
    if (index != op_)
      inner_->start(index, op);
  }
  std::optional<OpTimes> poll(std::uint32_t index, const Op& op) override {
    if (index == op_) {
      int flag = 0;  // keep MPI progressing, so that the other ranks can read this one's counters
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
      return std::nullopt;
    }
    return inner_->poll(index, op);
  }
  double now_s() const override { return inner_->now_s(); }
  void abort() override { inner_->abort(); }
  std::vector<int> missing_ranks(std::uint32_t index, const Op& op) override {
    return inner_->missing_ranks(index, op);
  }

 private:
  std::unique_ptr<ExecutionBackend> inner_;
  std::uint32_t op_;
};

std::vector<double> pack(const RankMeasurement& m) {
  std::vector<double> out;
  for (const auto& step : m.steps) {
    for (const OpTimes& t : step) {
      out.push_back(t.start_s);
      out.push_back(t.end_s);
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<ExecutionBackend> make_cpu_backend(const Plan& plan, const RankProgram& program,
                                                   MpiContext& context) {
  return std::make_unique<CpuMpiBackend>(plan, program, context);
}

std::optional<MeasuredRun> execute_on_mpi(const Plan& plan, const MpiExecuteRequest& request) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  ExecutionLimits limits = request.limits;
  limits.ranks = size;
  limits.backend = request.backend;
  const std::vector<std::string> problems = execution_problems(plan, limits);
  if (!problems.empty())
    throw ExecutionRefused(fmt::format("{}", fmt::join(problems, "\n")));
  for (std::size_t i = 0; i < plan.ranks.size(); ++i) {
    if (plan.ranks[i].rank != static_cast<int>(i))
      throw std::invalid_argument("execute_on_mpi: the plan must list every rank in order");
  }
  const RankProgram& program = plan.ranks[static_cast<std::size_t>(rank)];
  MpiContext context(plan, rank, size);
  std::unique_ptr<ExecutionBackend> backend = request.make_backend(plan, program, context);
  ExecuteOptions options = request.options;
  if (request.stall && request.stall->first == rank) {
    backend = std::make_unique<StallingBackend>(std::move(backend), request.stall->second);
    options.timeout_s *= 4;  // the others notice first and name this rank
  }
  RankMeasurement measured;
  try {
    measured = execute_program(plan, program, *backend, options);
  } catch (const ExecutionStopped& stopped) {
    backend->abort();
    if (request.write_partial)
      request.write_partial(partial_timeline(plan, program, stopped.measured()));
    std::cerr << "scaleplan execute: " << stopped.what();
    std::cerr.flush();
    MPI_Abort(MPI_COMM_WORLD, request.abort_status);
    throw;  // MPI_Abort does not return
  }

  // Rank 0 gathers every rank's times.
  const std::vector<double> mine = pack(measured);
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), offsets(counts.size());
  MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<double> all;
  if (rank == 0) {
    int total = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      offsets[r] = total;
      total += counts[r];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE,
              0, MPI_COMM_WORLD);
  if (rank != 0)
    return std::nullopt;
  std::vector<RankMeasurement> ranks(static_cast<std::size_t>(size));
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    ranks[r].rank = static_cast<int>(r);
    const std::size_t ops = plan.ranks[r].ops.size();
    std::size_t at = static_cast<std::size_t>(offsets[r]);
    for (int s = 0; s < request.options.measured_steps; ++s) {
      std::vector<OpTimes> step(ops);
      for (OpTimes& t : step) {
        t.start_s = all[at++];
        t.end_s = all[at++];
      }
      ranks[r].steps.push_back(std::move(step));
    }
  }
  MeasuredRun run = assemble_run(plan, ranks);
  run.backend = request.backend;
  run.source = request.source;
  run.warmup_steps = request.options.warmup_steps;
  return run;
}

}  // namespace scaleplan
