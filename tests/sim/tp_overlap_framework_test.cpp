// Transformer Engine's userbuffers overlap of sequence parallelism's tensor-parallel traffic with
// the GEMMs (framework.tp_comm_overlap): the ops it adds and the time it hides.
#include <gtest/gtest.h>

#include "hardware/io/catalog.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/strategy/framework.hpp"
#include "sim/strategy/plan_builder.hpp"
#include "tests/support/framework_jobs.hpp"

namespace scaleplan {
namespace {

using test::in_group;
using test::labelled;
using test::small_job;

TEST(Framework, TpCommOverlapRunsTheTensorParallelTrafficBesideTheGemms) {
  // tp 4 with sequence parallelism, one micro-batch: every block is fed by an all-gather and
  // followed by a reduce-scatter of 2048 tokens × 2048 × 2 bytes.
  TrainingJob job = small_job(4, 1, 1, 1);
  job.parallelism.sequence_parallel = true;
  const double whole = 2048.0 * 2048 * 2;
  struct Traffic {
    double gathered = 0;
    double scattered = 0;
    int on_chain = 0;  // tp collectives the next compute op waits for directly
  };
  auto traffic = [&](const Plan& plan) {
    Traffic t;
    const auto& ops = plan.ranks[0].ops;
    for (std::uint32_t i = 0; i < ops.size(); ++i) {
      if (!in_group(plan, ops[i], "tp"))
        continue;
      (ops[i].collective == CollectiveKind::all_gather ? t.gathered : t.scattered) += ops[i].bytes;
      for (std::uint32_t n = i + 1; n < ops.size(); ++n) {
        if (ops[n].kind != OpKind::compute)
          continue;
        const auto& d = ops[n].deps;
        t.on_chain += std::find(d.begin(), d.end(), i) != d.end();
        break;
      }
    }
    return t;
  };
  const Plan serial = build_plan(job);
  const Traffic before = traffic(serial);
  EXPECT_GT(before.on_chain, 0);
  job.framework.tp_comm_overlap = true;
  const Plan overlapped = build_plan(job);
  const Traffic after = traffic(overlapped);
  // The same bytes move either way.
  EXPECT_DOUBLE_EQ(after.gathered, before.gathered);
  EXPECT_DOUBLE_EQ(after.scattered, before.scattered);
  // Each reduce-scatter splits into 3/4 of its bytes beside the block that produces it, free to
  // start when the block may start, and the last quarter after the block, on the chain.
  const auto& ops = overlapped.ranks[0].ops;
  int split = 0;
  for (std::uint32_t i = 0; i < ops.size(); ++i) {
    if (!in_group(overlapped, ops[i], "tp"))
      continue;
    if (labelled(overlapped, ops[i], "reduce-scatter (overlapped)")) {
      ++split;
      EXPECT_DOUBLE_EQ(ops[i].bytes, whole * 3 / 4);
      const Op& block = ops[i - 1];
      ASSERT_EQ(block.kind, OpKind::compute);
      EXPECT_TRUE(
          std::equal(ops[i].deps.begin(), ops[i].deps.end(), block.deps.begin(), block.deps.end()));
      const Op& last = ops[i + 1];
      EXPECT_TRUE(labelled(overlapped, last, "reduce-scatter (last chunk)"));
      EXPECT_DOUBLE_EQ(last.bytes, whole / 4);
      EXPECT_NE(std::find(last.deps.begin(), last.deps.end(), i), last.deps.end());
      EXPECT_NE(std::find(last.deps.begin(), last.deps.end(), i - 1), last.deps.end());
    }
    if (labelled(overlapped, ops[i], "all-gather (overlapped)")) {
      // The block after the gather does not wait for it; the op after the block does.
      std::uint32_t n = i + 1;
      while (ops[n].kind != OpKind::compute)
        ++n;
      EXPECT_EQ(std::find(ops[n].deps.begin(), ops[n].deps.end(), i), ops[n].deps.end());
      bool awaited = false;
      for (std::uint32_t m = n + 1; m < ops.size() && !awaited; ++m) {
        awaited = std::find(ops[m].deps.begin(), ops[m].deps.end(), i) != ops[m].deps.end();
      }
      EXPECT_TRUE(awaited);
    }
  }
  // Four layers, a reduce-scatter after each block's forward and backward (attention and MLP),
  // and the output's backward one.
  EXPECT_EQ(split, 4 * 2 * 2 + 1);
  // Without sequence parallelism (all-reduces) the setting changes nothing.
  job.parallelism.sequence_parallel = false;
  const Plan plain = build_plan(job);
  job.framework.tp_comm_overlap = false;
  EXPECT_EQ(plain.ranks[0].ops.size(), build_plan(job).ranks[0].ops.size());
}

TEST(Framework, TpCommOverlapSavesTheTensorParallelTimeItHides) {
  // GPT-3 175B's width on 8 H100 with tp 8 and sequence parallelism, one stage: the step
  // shortens by the exposed tensor-parallel time the overlap removes less what the compute loses
  // to the SMs Transformer Engine's overlapping kernels hold (16 of 132 beside a reduce-scatter,
  // 1 beside an all-gather's ring exchange), at most 16/132 of the time they ran beside it, which
  // the time they no longer expose bounds; what stays exposed is less than the last chunks'
  // share of it and their latency.
  const std::string text = R"(name: tpo
cluster: {device: H100-SXM5-80GB, nodes: 1, devices_per_node: 8}
model: {preset: gpt3-175b, layers: 4}
training: {global_batch: 2, micro_batch: 1, dtype: bf16}
parallelism: {tp: 8, pp: 1, dp: 1, sequence_parallel: true}
)";
  const Catalog& catalog = Catalog::builtin();
  auto run = [&](const std::string& framework) {
    const Scenario s = parse_scenario(text + framework, "s.yaml", catalog);
    return predict(s, prepare_run(s, catalog));
  };
  const Prediction serial = run("framework: {name: megatron-core, tp_comm_overlap: false}\n");
  const Prediction overlapped = run("framework: megatron-core\n");
  const auto tp = static_cast<std::size_t>(Stream::tp_comm);
  const double exposed_before = serial.breakdown.exposed_by_stream_s[tp];
  const double exposed_after = overlapped.breakdown.exposed_by_stream_s[tp];
  EXPECT_GT(exposed_before, 0);
  const double longer_s = overlapped.breakdown.compute_s - serial.breakdown.compute_s;
  EXPECT_GT(longer_s, 0);
  EXPECT_LT(longer_s, 16.0 / 132 * (exposed_before - exposed_after));
  EXPECT_NEAR(serial.step_time_s - overlapped.step_time_s,
              exposed_before - exposed_after - longer_s, 1e-6 * serial.step_time_s);
  EXPECT_LT(exposed_after, exposed_before / 4);
}

}  // namespace
}  // namespace scaleplan
