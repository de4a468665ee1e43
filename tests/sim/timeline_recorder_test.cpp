// Recording a simulated step's Timeline, beside other observers of the same run.
#include "sim/simulate/timeline_recorder.hpp"

#include <algorithm>
#include <map>

#include <gtest/gtest.h>

#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"

namespace scaleplan {
namespace {

// Counts what it is told, to check that several observers hear the same run.
struct Counter final : SimulationObserver {
  std::uint64_t ops = 0;
  std::uint64_t memory = 0;
  SimTime last_end = 0;
  void on_op(int, std::uint32_t, SimTime, SimTime end) override {
    ++ops;
    last_end = std::max(last_end, end);
  }
  void on_memory(int, SimTime, double) override { ++memory; }
};

TEST(TimelineRecorder, RecordsEveryOpOfEveryStreamInProgramOrder) {
  // Two pipeline stages of two data-parallel replicas on 2 nodes x 2 GPUs: compute, sends,
  // receives and all-reduces on several streams of each rank.
  const Scenario s = parse_scenario(R"(name: t
cluster:
  device: A100-SXM4-80GB
  nodes: 2
  devices_per_node: 2
  network: {link_bandwidth_gbps: 100, nics_per_node: 1}
model: {family: llama, layers: 4, hidden: 512, heads: 8, kv_heads: 4, vocab: 4096, seq_len: 256}
training: {global_batch: 8, micro_batch: 1}
parallelism: {pp: 2, dp: 2}
)",
                                    "t.yaml", Catalog::builtin());
  const PreparedRun run = prepare_run(s, Catalog::builtin(), {RankScope::all_ranks});
  TimelineRecorder recorder(run.plan);
  Counter counter;
  const Prediction p = predict(s, run, {&recorder, nullptr, &counter});
  const Timeline& timeline = recorder.timeline();

  // Both observers heard every op and every memory change; without being asked, no link rates.
  std::size_t ops = 0;
  for (std::size_t r = 0; r < run.plan.ranks.size(); ++r)
    ops += run.plan.ops_of(r).size();
  EXPECT_EQ(timeline.ops.size(), ops);
  EXPECT_EQ(counter.ops, ops);
  EXPECT_EQ(timeline.memory.size(), counter.memory);
  EXPECT_GT(counter.memory, 0u);
  EXPECT_TRUE(timeline.link_rates.empty());
  EXPECT_EQ(timeline.end_ps(), counter.last_end);
  EXPECT_DOUBLE_EQ(to_seconds(timeline.end_ps()), p.step_time_s);
  EXPECT_EQ(timeline.labels, run.plan.labels);
  ASSERT_EQ(timeline.ranks.size(), run.plan.ranks.size());

  // Each stream's ops ran one at a time in program order, each described as the plan has it.
  for (std::size_t r = 0; r < run.plan.ranks.size(); ++r) {
    const RankProgram& program = run.plan.ranks[r];
    const std::vector<Op>& planned_ops = run.plan.ops_of(r);
    EXPECT_EQ(timeline.ranks[r], program.rank);
    for (int stream = 0; stream < stream_count; ++stream) {
      std::vector<std::uint32_t> expected;
      for (std::uint32_t i = 0; i < planned_ops.size(); ++i) {
        if (planned_ops[i].stream == static_cast<Stream>(stream))
          expected.push_back(i);
      }
      const std::vector<std::uint32_t> on =
          timeline.ops_on(static_cast<int>(r), static_cast<Stream>(stream));
      ASSERT_EQ(on.size(), expected.size());
      std::int64_t free_from = 0;
      for (std::size_t k = 0; k < on.size(); ++k) {
        const TimelineOp& op = timeline.ops[on[k]];
        const Op& planned = planned_ops[expected[k]];
        EXPECT_EQ(op.op, expected[k]);
        EXPECT_EQ(op.kind, planned.kind);
        EXPECT_EQ(op.label, planned.label);
        EXPECT_EQ(op.microbatch, planned.microbatch);
        EXPECT_EQ(op.bytes, planned.kind == OpKind::compute ? 0.0 : planned.bytes);
        EXPECT_GE(op.start_ps, free_from);
        EXPECT_GE(op.end_ps, op.start_ps);
        free_from = op.end_ps;
      }
    }
  }
  // The memory samples of the rank with the highest memory reach its reported activation peak
  // (every rank is listed, so program index and rank agree).
  std::map<int, double> peak;
  for (const MemorySample& m : timeline.memory)
    peak[m.rank] = std::max(peak[m.rank], m.activation_bytes);
  EXPECT_GT(p.memory.activations_bytes, 0);
  EXPECT_EQ(peak[p.memory.rank], p.memory.activations_bytes);
}

TEST(TimelineRecorder, RatesAtOneInstantLeaveTheLast) {
  const Plan plan;
  TimelineRecorder recorder(plan, true);
  EXPECT_TRUE(recorder.observes_link_rates());
  recorder.on_link_rate(0, 0, 1e9);
  recorder.on_link_rate(0, 5, 3e9);
  recorder.on_link_rate(0, 5, 1e9);  // back where it was: no change at 5 at all
  recorder.on_link_rate(0, 9, 0);
  const auto& rates = recorder.timeline().link_rates;
  ASSERT_EQ(rates.size(), 1u);
  ASSERT_EQ(rates[0].size(), 2u);
  EXPECT_EQ(rates[0][0].time_ps, 0);
  EXPECT_EQ(rates[0][0].bytes_per_s, 1e9);
  EXPECT_EQ(rates[0][1].time_ps, 9);
  EXPECT_EQ(rates[0][1].bytes_per_s, 0);
}

// Two ranks of one compute op each on the compute stream, the first allocating 100 bytes.
Plan two_rank_plan() {
  Plan plan;
  plan.add_block({"b", {}});
  for (int r = 0; r < 2; ++r) {
    RankProgram program;
    program.rank = r;
    program.device = r;
    Op op;
    op.label = plan.label("op");
    op.activation_bytes = r == 0 ? 100 : 0;
    program.ops.push_back(op);
    plan.ranks.push_back(program);
  }
  return plan;
}

TEST(TimelineRecorder, KeepsTheRanksAndTheWindowSelected) {
  const Plan plan = two_rank_plan();
  // Every rank: per rank a process name, its sort index and ten stream names, then its op, and
  // rank 0's allocation: 2·12 + 2 + 1 = 27 events at most.
  EXPECT_EQ(timeline_event_bound(plan, {}), 27u);
  EXPECT_EQ(timeline_event_bound(plan, {{1}, std::nullopt}), 13u);
  EXPECT_THROW(timeline_event_bound(plan, {{2}, std::nullopt}), TimelineSelectionError);

  // Rank 1 only, from 10 to 20 ps: its op from 5 to 15 overlaps; rank 0's is left out.
  TimelineRecorder ranks(plan, false, {{1}, std::pair<SimTime, SimTime>{10, 20}});
  ranks.on_memory(0, 5, 100);
  ranks.on_op(0, 0, 5, 15);
  ranks.on_op(1, 0, 5, 15);
  EXPECT_EQ(ranks.timeline().ranks, std::vector<int>{1});
  ASSERT_EQ(ranks.timeline().ops.size(), 1u);
  EXPECT_EQ(ranks.timeline().ops[0].rank, 0);  // the index of rank 1 in the timeline's ranks
  EXPECT_TRUE(ranks.timeline().memory.empty());

  // Rank 0 from 10 to 20 ps: memory held before the window shows at its start; an op that ended
  // before it, a sample and an op after it are left out.
  TimelineRecorder window(plan, true, {{0}, std::pair<SimTime, SimTime>{10, 20}});
  window.on_memory(0, 2, 100);
  window.on_link_rate(0, 3, 5e9);
  window.on_op(0, 0, 2, 8);
  window.on_memory(0, 12, 40);
  window.on_memory(0, 25, 0);
  window.on_op(0, 0, 21, 30);
  const Timeline& t = window.timeline();
  EXPECT_TRUE(t.ops.empty());
  ASSERT_EQ(t.memory.size(), 2u);
  EXPECT_EQ(t.memory[0].time_ps, 10);
  EXPECT_EQ(t.memory[0].activation_bytes, 100);
  EXPECT_EQ(t.memory[1].time_ps, 12);
  ASSERT_EQ(t.link_rates.size(), 1u);
  ASSERT_EQ(t.link_rates[0].size(), 1u);
  EXPECT_EQ(t.link_rates[0][0].time_ps, 10);
}

TEST(TimelineRecorder, StopsAtItsLimitRatherThanGrowing) {
  const Plan plan = two_rank_plan();
  TimelineSelection selection;
  selection.max_events = 2;
  TimelineRecorder recorder(plan, false, selection);
  recorder.on_memory(0, 1, 100);
  recorder.on_op(0, 0, 0, 5);
  EXPECT_THROW(recorder.on_op(1, 0, 0, 6), TimelineSelectionError);
}

}  // namespace
}  // namespace scaleplan
