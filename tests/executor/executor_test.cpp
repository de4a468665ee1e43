// The executor's core without MPI: the op loop's order (streams, dependencies, the per-group
// issue order), the expansion of data-parallel replicas, the refusals, the measured run, the
// trace read back and the comparison.
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "calibrate/executor/comparison.hpp"
#include "calibrate/executor/core_share.hpp"
#include "calibrate/executor/cpu_kernels.hpp"
#include "calibrate/executor/executor.hpp"
#include "calibrate/executor/measured_run.hpp"
#include "hardware/input/diagnostics.hpp"
#include "models/transformer.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "sim/timeline/chrome_trace.hpp"
#include "sim/timeline/chrome_trace_reader.hpp"

namespace scaleplan {
namespace {

// A backend whose ops take one tick each and finish when polled once, recording the order in
// which ops started.
class TickBackend final : public ExecutionBackend {
 public:
  bool orders_dependencies() const override { return false; }
  void begin_step() override { now_ = 0; }
  void start(std::uint32_t index, const Op&) override {
    started.push_back(index);
    begun_[index] = now_;
    now_ += 1;
  }
  std::optional<OpTimes> poll(std::uint32_t index, const Op&) override {
    if (index == never)
      return std::nullopt;
    return OpTimes{begun_[index], now_};
  }
  // Stalled, every look at the clock finds it a second later.
  double now_s() const override { return now_ + (stalled_ ? ++seconds_waited_ : 0.0); }
  std::vector<int> missing_ranks(std::uint32_t, const Op&) override { return {1}; }

  std::vector<std::uint32_t> started;
  std::uint32_t never = ~0u;
  bool stalled_ = false;

 private:
  double now_ = 0;
  mutable double seconds_waited_ = 0;
  std::map<std::uint32_t, double> begun_;
};

Plan two_rank_plan() {
  Plan plan;
  plan.label("compute");
  plan.label("all-reduce");
  plan.add_block({"block", {make_gemm("g", {8, 8, 8, 1}, Dtype::fp32)}});
  plan.add_group({"tp", {0, 1}, {}});
  for (int r = 0; r < 2; ++r) {
    RankProgram p;
    p.rank = r;
    p.device = r;
    Op c;
    c.label = 0;
    p.ops.push_back(c);  // 0: compute
    Op a;
    a.kind = OpKind::collective;
    a.stream = Stream::tp_comm;
    a.label = 1;
    a.bytes = 1024;
    a.deps = {0};
    p.ops.push_back(a);  // 1: all-reduce after 0
    Op c2 = c;
    c2.deps = {1};
    p.ops.push_back(c2);  // 2: compute after 1
    Op a2 = a;
    a2.deps = {};
    p.ops.push_back(a2);  // 3: all-reduce, no deps, but after 1 on the group
    plan.ranks.push_back(p);
  }
  return plan;
}

TEST(Executor, RunsOpsInStreamAndGroupOrder) {
  const Plan plan = two_rank_plan();
  TickBackend backend;
  ExecuteOptions options;
  options.warmup_steps = 1;
  options.measured_steps = 2;
  const RankMeasurement m = execute_program(plan, plan.ranks[0], backend, options);
  ASSERT_EQ(m.steps.size(), 2u);
  // Op 3 has no dependency but is the group's second collective: it waits for op 1, which waits
  // for op 0. Comm streams are visited first, so op 3 starts as soon as op 1 has finished.
  const std::vector<std::uint32_t> one_step{0, 1, 3, 2};
  ASSERT_EQ(backend.started.size(), 12u);
  EXPECT_EQ(std::vector<std::uint32_t>(backend.started.begin(), backend.started.begin() + 4),
            one_step);
  for (const OpTimes& t : m.steps[0])
    EXPECT_LE(t.start_s, t.end_s);
}

// A rank of 4 on 2 cores computes on half a core: a kernel of 2 ms of CPU time is paid for by
// 4 ms of the step; what a waiting rank banks is capped at 1 ms.
TEST(Executor, CoreShareHoldsARankToItsShareOfACore) {
  CoreShare half(0.5);
  half.restart(10.0);
  EXPECT_EQ(half.wait_s(10.0), 0);
  half.spent(2e-3);  // bank -2 ms: 4 ms of the step at half a core
  EXPECT_NEAR(half.wait_s(10.0), 4e-3, 1e-12);
  EXPECT_NEAR(half.wait_s(10.003), 1e-3, 1e-12);  // 1.5 ms earned, 0.5 ms still owed
  EXPECT_NEAR(half.wait_s(10.004), 0, 1e-12);
  // A second waited earns 0.5 s, of which 1 ms is kept: a 3 ms kernel then owes 2 ms, 4 ms.
  EXPECT_EQ(half.wait_s(11.004), 0);
  half.spent(3e-3);
  EXPECT_NEAR(half.wait_s(11.004), 4e-3, 1e-12);
  // A new step starts with nothing banked.
  half.restart(20.0);
  half.spent(1e-3);
  EXPECT_NEAR(half.wait_s(20.0), 2e-3, 1e-12);

  CoreShare whole(1.0);  // as many cores as ranks: nothing held back
  whole.restart(0);
  whole.spent(5.0);
  EXPECT_EQ(whole.wait_s(0), 0);
}

TEST(Executor, HangStopsNamingTheOpGroupAndMissingRanks) {
  const Plan plan = two_rank_plan();
  TickBackend backend;
  backend.never = 1;
  ExecuteOptions options;
  options.warmup_steps = 0;
  options.measured_steps = 1;
  options.timeout_s = 0.5;
  std::atomic<bool> stop{false};
  options.interrupt = &stop;
  // The tick clock does not advance while nothing starts: the interrupt ends the wait instead.
  stop = true;
  try {
    execute_program(plan, plan.ranks[0], backend, options);
    FAIL() << "no stop";
  } catch (const ExecutionStopped& e) {
    EXPECT_NE(std::string(e.what()).find("interrupted"), std::string::npos) << e.what();
    ASSERT_EQ(e.measured().partial_step.size(), 1u);  // op 0 finished
  }
  stop = false;
  backend.stalled_ = true;  // the clock runs past the timeout
  try {
    execute_program(plan, plan.ranks[0], backend, options);
    FAIL() << "no stop";
  } catch (const ExecutionStopped& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("op 1 \"all-reduce\" of rank 0 (collective all-reduce on group tp [0, 1]"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("ranks that had not arrived: 1"), std::string::npos) << text;
  }
}

// A rank that never waits (one chain of compute ops, each finished when polled) still stops
// between ops at a Ctrl-C: the interrupt is set while the third op starts; the pass that started
// it stops the rank, so no fourth op starts and the three finished ones are the partial step.
TEST(Executor, InterruptStopsARankThatNeverWaits) {
  Plan plan;
  plan.label("compute");
  plan.add_block({"block", {make_gemm("g", {8, 8, 8, 1}, Dtype::fp32)}});
  RankProgram p;
  for (std::uint32_t i = 0; i < 10; ++i) {
    Op c;
    if (i > 0)
      c.deps = {i - 1};
    p.ops.push_back(c);
  }
  plan.ranks.push_back(p);
  std::atomic<bool> stop{false};
  class InterruptingBackend final : public ExecutionBackend {
   public:
    explicit InterruptingBackend(std::atomic<bool>& stop) : stop_(stop) {}
    bool orders_dependencies() const override { return false; }
    void begin_step() override {}
    void start(std::uint32_t, const Op&) override {
      if (++started == 3)
        stop_ = true;
    }
    std::optional<OpTimes> poll(std::uint32_t, const Op&) override { return OpTimes{}; }
    double now_s() const override { return 0; }
    std::vector<int> missing_ranks(std::uint32_t, const Op&) override { return {}; }
    int started = 0;

   private:
    std::atomic<bool>& stop_;
  } backend(stop);
  ExecuteOptions options;
  options.warmup_steps = 0;
  options.measured_steps = 1;
  options.interrupt = &stop;
  try {
    execute_program(plan, plan.ranks[0], backend, options);
    FAIL() << "no stop";
  } catch (const ExecutionStopped& e) {
    EXPECT_NE(std::string(e.what()).find("interrupted"), std::string::npos) << e.what();
    EXPECT_EQ(backend.started, 3);
    EXPECT_EQ(e.measured().partial_step.size(), 3u);
  }
}

TEST(Executor, ExpandsReplicasWithTheirGroupsPeersAndDevices) {
  TrainingJob job;
  job.model = *transformer_preset("gpt3-1.3b");
  job.model.layers = 2;
  job.training.global_batch = 8;
  job.training.micro_batch = 1;
  job.training.dtype = Dtype::fp32;
  job.parallelism.tp = 2;
  job.parallelism.pp = 2;
  job.parallelism.dp = 2;
  const Plan one = build_plan(job, RankScope::one_replica);
  Plan all = build_plan(job, RankScope::all_ranks);
  all.unshare();  // the reference: every rank with its own program, as the executor runs it
  ASSERT_GT(one.replicas.count, 1);
  const Plan expanded = expand_replicas(one);
  ASSERT_EQ(expanded.ranks.size(), all.ranks.size());
  validate_plan(expanded);
  for (std::size_t r = 0; r < all.ranks.size(); ++r) {
    const RankProgram &a = all.ranks[r], &e = expanded.ranks[r];
    EXPECT_EQ(a.rank, e.rank);
    EXPECT_EQ(a.device, e.device);
    ASSERT_EQ(a.ops.size(), e.ops.size());
    for (std::size_t i = 0; i < a.ops.size(); ++i) {
      EXPECT_EQ(a.ops[i].peer, e.ops[i].peer);
      if (a.ops[i].kind == OpKind::collective) {
        EXPECT_EQ(all.groups[a.ops[i].group].ranks, expanded.groups[e.ops[i].group].ranks)
            << "rank " << r << " op " << i;
      }
    }
  }
}

TEST(Executor, RefusesTooFewRanksTooLittleMemoryAndMissingDtypes) {
  Plan plan = two_rank_plan();
  plan.ranks[1].static_memory.weights_bytes = 5e9;
  plan.blocks[0].kernels[0].dtype = Dtype::bf16;
  const std::vector<std::string> problems =
      execution_problems(plan, {1, 4e9, {Dtype::fp32}, "cpu"});
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0],
            "the plan needs 2 ranks, but 1 is present; start it with 2 ranks (mpirun -np 2, srun "
            "--ntasks 2)");
  EXPECT_NE(problems[1].find("rank 1 needs 5 GB"), std::string::npos) << problems[1];
  EXPECT_EQ(problems[2],
            "the plan computes in bf16 (first in block: g), which the cpu backend lacks; it runs "
            "fp32");
  EXPECT_TRUE(execution_problems(two_rank_plan(), {2, 4e9, {Dtype::fp32}, "cpu"}).empty());
}

TEST(Executor, MeasuredRunTraceReadsBackAndComparesToItself) {
  const Plan plan = two_rank_plan();
  std::vector<RankMeasurement> ranks(2);
  for (int r = 0; r < 2; ++r) {
    ranks[r].rank = r;
    for (double scale : {2.0, 1.0, 3.0}) {  // step 1 is the median
      ranks[r].steps.push_back({{0, 1e-3 * scale},
                                {1e-3 * scale, 2e-3 * scale},
                                {2e-3 * scale, 3e-3 * scale},
                                {2e-3 * scale, 2.5e-3 * scale}});
    }
  }
  const MeasuredRun run = assemble_run(plan, ranks);
  EXPECT_EQ(run.trace_step, 0u);  // step times 6, 3, 9 ms: the median is the first
  EXPECT_DOUBLE_EQ(run.step_times_s[1], 3e-3);
  ASSERT_EQ(run.timeline.ops.size(), 8u);
  EXPECT_EQ(run.timeline.end_ps(), 6'000'000'000);
  std::stringstream trace;
  write_chrome_trace(trace, run.timeline, {});
  const Timeline back = read_chrome_trace(trace.str(), "trace.json");
  EXPECT_EQ(back.ranks, run.timeline.ranks);
  ASSERT_EQ(back.ops.size(), run.timeline.ops.size());
  EXPECT_EQ(back.end_ps(), run.timeline.end_ps());
  const StepComparison c = compare_timelines(back, run.timeline);
  EXPECT_DOUBLE_EQ(c.step.error(), 0.0);
  EXPECT_EQ(c.matched_ops, 8u);
  EXPECT_EQ(c.unmatched_ops, 0u);
  EXPECT_TRUE(c.order_differences.empty());
  // Compute 0-2 ms and 4-6 ms, the all-reduces 2-4 ms and 4-5 ms: 2 ms of communication exposed.
  EXPECT_NEAR(c.exposed_communication.measured_s, 2e-3, 1e-12);
  EXPECT_NE(format_text(c).find("error +0.0 %"), std::string::npos) << format_text(c);
  EXPECT_NE(summary_json(run).find("\"format\": \"scaleplan-measured/1\""), std::string::npos);
}

TEST(Executor, TraceReaderRefusesWhatIsNotATrace) {
  for (const char* text :
       {"not json", "[1, 2]", "{\"traceEvents\": 3}",
        "{\"traceEvents\": [{\"ph\": \"X\", \"pid\": 0}]}",
        "{\"traceEvents\": [{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": \"x\", "
        "\"args\": {\"name\": \"rank 0\"}}]}",
        "{\"traceEvents\": [{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": 0, "
        "\"args\": {\"name\": \"rank 0\"}}, {\"ph\": \"X\", \"pid\": 0, \"tid\": 0, "
        "\"cat\": \"compute\", \"name\": \"a\", \"ts\": -1, \"dur\": 1, \"args\": "
        "{\"op\": 0}}]}",
        "[{\"ph\": 1}]"}) {
    EXPECT_THROW(read_chrome_trace(std::string_view(text), "t.json"), InputError) << text;
  }
}

TEST(Executor, CpuKernelsRunAttentionAsGemmsOfItsFlops) {
  Kernel attention = make_gemm("qk", {16, 16, 8, 4}, Dtype::fp32);
  attention.kind = KernelKind::attention;
  attention.flops *= 2.5;  // a backward's work at the forward's shape
  EXPECT_EQ(CpuKernels::gemm_calls(attention), 10);
  CpuKernels kernels({{"b", {attention, {"norm", KernelKind::norm, Dtype::fp32, 0, 4096, {}}}}});
  kernels.run(ComputeBlock{"b", {attention}});
}

}  // namespace
}  // namespace scaleplan
