// Megatron-Core's EP all-to-all overlap (framework.overlap_moe_expert_parallel_comm): which
// pipeline steps the combined 1F1B schedule pairs, and what the pairing hides.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hardware/io/catalog.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/strategy/framework.hpp"
#include "sim/strategy/plan_quantities.hpp"
#include "sim/strategy/schedule.hpp"

namespace scaleplan {
namespace {

// Mixtral's shape on one DGX H100: 4 layers, ep 8 inside the node, one stage, 4 micro-batches.
const char* const mixtral_ep8 = R"(name: epo
cluster: {device: H100-SXM5-80GB, nodes: 1, devices_per_node: 8}
model: {preset: mixtral-8x7b, layers: 4, seq_len: 2048}
training: {global_batch: 32, micro_batch: 1, dtype: bf16}
parallelism: {tp: 1, pp: 1, dp: 8, ep: 8}
)";

TEST(MoeOverlap, Combined1F1BPairsTheStepsMegatronCorePairs) {
  // One stage, 4 micro-batches: F0 | B0+F1 | B1+F2 | B2+F3 | B3 (the phases of Megatron-Core's
  // combined_1f1b_schedule_for_no_pipelining): pairs end at the 3rd, 5th and 7th steps.
  const auto one = pipeline_order(PipelineSchedule::one_f_one_b, 0, 1, 4, 1);
  ASSERT_EQ(one.size(), 8U);
  EXPECT_EQ(combined_1f1b_pair_ends(one),
            (std::vector<bool>{false, false, true, false, true, false, true, false}));
  // The interleaved schedule: every step of the steady state is a forward beside a backward of
  // another micro-batch or chunk; warm-up forwards and cool-down backwards stay alone. Count the
  // paired steps by hand from the order itself: a forward followed by a backward (or a backward
  // by a forward) of another micro-batch or chunk, greedily from the start.
  for (int stage = 0; stage < 2; ++stage) {
    const auto order = pipeline_order(PipelineSchedule::interleaved_1f1b, stage, 2, 4, 2);
    const auto ends = combined_1f1b_pair_ends(order);
    std::size_t pairs = 0;
    for (std::size_t i = 1; i < order.size(); ++i) {
      if (!ends[i])
        continue;
      ++pairs;
      EXPECT_NE(order[i - 1].pass, order[i].pass);
      EXPECT_TRUE(order[i - 1].microbatch != order[i].microbatch ||
                  order[i - 1].chunk != order[i].chunk);
      EXPECT_FALSE(ends[i - 1]);  // a step is in one pair at most
    }
    EXPECT_GT(pairs, 0U);
  }
  // Zero bubble's split passes never pair.
  const auto zb = pipeline_order(PipelineSchedule::zero_bubble_h1, 0, 2, 4, 1);
  for (bool end : combined_1f1b_pair_ends(zb))
    EXPECT_FALSE(end);
}

TEST(MoeOverlap, MoeExpertParallelOverlapHidesTheAllToAllsOfPairedSteps) {
  // A Mixtral-shaped model on one DGX H100 with ep 8, one stage, 4 micro-batches. Without the
  // overlap every expert-parallel all-to-all holds up the compute: each step (forward or
  // backward) exposes the same all-to-all time c (a dispatch and a combine per layer, the same
  // bytes each way), 8c in all. With it the steps pair as F0 | B0+F1 | B1+F2 | B2+F3 | B3, and a
  // pair's all-to-alls (about 1 ms of NVLink traffic beside some 50 ms of compute here) hide
  // behind its compute: only F0's and B3's stay exposed, 2c, a quarter. NCCL's all-to-all kernels
  // hold the catalog's collective_kernel_sms of H100's 132 SMs while they run, so the compute
  // beside them lasts longer by that share of the time they hide, and the step shortens by what
  // is hidden less that.
  const std::string text = mixtral_ep8;
  const Catalog& catalog = Catalog::builtin();
  auto run = [&](const std::string& framework) {
    const Scenario s = parse_scenario(text + framework, "s.yaml", catalog);
    return predict(s, prepare_run(s, catalog));
  };
  const Prediction serial = run("framework: megatron-core\n");
  const Prediction overlapped =
      run("framework: {name: megatron-core, overlap_moe_expert_parallel_comm: true}\n");
  const auto ep = static_cast<std::size_t>(Stream::ep_comm);
  const double before = serial.breakdown.exposed_by_stream_s[ep];
  const double after = overlapped.breakdown.exposed_by_stream_s[ep];
  EXPECT_GT(before, 0);
  EXPECT_NEAR(after, before / 4, 0.02 * before);
  const GemmTiling& h100 = *catalog.find("H100-SXM5-80GB")->gemm_tiling;
  const double slowed_s =
      h100.collective_kernel_sms->value / h100.sm_count.value * (before - after);
  const double longer_s = overlapped.breakdown.compute_s - serial.breakdown.compute_s;
  EXPECT_NEAR(longer_s, slowed_s, 0.05 * slowed_s);
  EXPECT_NEAR(serial.step_time_s - overlapped.step_time_s, before - after - longer_s,
              1e-3 * serial.step_time_s);
  // Where Megatron-Core refuses it (full recompute) the setting changes nothing.
  const std::string full = text +
                           "framework: {name: megatron-core, "
                           "overlap_moe_expert_parallel_comm: true}\n";
  Scenario s = parse_scenario(full, "s.yaml", catalog);
  s.job.parallelism.recompute = Recompute::full;
  EXPECT_FALSE(moe_a2a_overlap_on(s.job));
  s.job.parallelism.recompute = Recompute::none;
  EXPECT_TRUE(moe_a2a_overlap_on(s.job));
  s.job.parallelism.ep = 1;
  EXPECT_FALSE(moe_a2a_overlap_on(s.job));
}

TEST(MoeOverlap, DeepEpKernelsTakeTheirSmsFromTheComputeBesideThem) {
  // The same model with DeepEP's dispatcher. Megatron-Core gives DeepEP's kernels 20 SMs
  // (token_dispatcher.py), of H100's 132: while a hidden all-to-all runs beside the pair's
  // compute, the compute goes at 112/132 of its rate, so it lasts longer by 20/132 of the time
  // the all-to-alls ran beside it, which is the all-to-all time the overlap hides. Without the
  // overlap nothing runs beside the compute and it is not slowed. NCCL's all-to-all kernels hold
  // the catalog's collective_kernel_sms (24) instead.
  const Catalog& catalog = Catalog::builtin();
  auto run = [&](bool overlap) {
    const Scenario s = parse_scenario(
        std::string(mixtral_ep8) + "framework: {name: megatron-core, moe_dispatcher: deepep, " +
            "overlap_moe_expert_parallel_comm: " + (overlap ? "true" : "false") + "}\n",
        "s.yaml", catalog);
    return predict(s, prepare_run(s, catalog));
  };
  const Prediction serial = run(false);
  const Prediction overlapped = run(true);
  const auto ep = static_cast<std::size_t>(Stream::ep_comm);
  const double hidden_s =
      serial.breakdown.exposed_by_stream_s[ep] - overlapped.breakdown.exposed_by_stream_s[ep];
  EXPECT_GT(hidden_s, 0);
  EXPECT_NEAR(overlapped.breakdown.compute_s - serial.breakdown.compute_s, 20.0 / 132 * hidden_s,
              0.05 * 20.0 / 132 * hidden_s);
  const Scenario plain = parse_scenario(
      std::string(mixtral_ep8) +
          "framework: {name: megatron-core, overlap_moe_expert_parallel_comm: true}\n",
      "s.yaml", catalog);
  const Scenario plain_serial =
      parse_scenario(std::string(mixtral_ep8) + "framework: megatron-core\n", "s.yaml", catalog);
  const Prediction nccl = predict(plain, prepare_run(plain, catalog));
  const Prediction nccl_serial = predict(plain_serial, prepare_run(plain_serial, catalog));
  const double nccl_hidden_s =
      nccl_serial.breakdown.exposed_by_stream_s[ep] - nccl.breakdown.exposed_by_stream_s[ep];
  EXPECT_NEAR(nccl.breakdown.compute_s - nccl_serial.breakdown.compute_s,
              24.0 / 132 * nccl_hidden_s, 0.05 * 24.0 / 132 * nccl_hidden_s);
}

TEST(MoeOverlap, MoeExpertParallelOverlapIsOffByDefaultAndOverridable) {
  for (Framework f :
       {Framework::megatron_core, Framework::nemo, Framework::megatron_lm_2021,
        Framework::deepspeed, Framework::fsdp, Framework::composer, Framework::jax_gspmd}) {
    const FrameworkDefaults d = framework_defaults(f, Dtype::bf16, 1);
    EXPECT_FALSE(d.spec.overlap_moe_expert_parallel_comm);
    EXPECT_NE(d.sources.find("overlap_moe_expert_parallel_comm: false"), std::string::npos);
  }
  const Catalog& catalog = Catalog::builtin();
  const Scenario s = parse_scenario(
      std::string(mixtral_ep8) +
          "framework: {name: megatron-core, overlap_moe_expert_parallel_comm: true}\n",
      "s.yaml", catalog);
  EXPECT_TRUE(s.job.framework.overlap_moe_expert_parallel_comm);
}

}  // namespace
}  // namespace scaleplan
