#include "sim/strategy/schedule.hpp"

#include <gtest/gtest.h>

#include "sim/simulate/simulator.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {
namespace {

std::string render(const std::vector<PipelineStep>& order) {
  std::string text;
  for (const auto& s : order) {
    text += (s.pass == PipelinePass::forward           ? "F"
             : s.pass == PipelinePass::weight_gradient ? "W"
                                                       : "B") +
            std::to_string(s.microbatch);
    if (s.chunk)
      text += "." + std::to_string(s.chunk);
    text += " ";
  }
  return text;
}

TEST(Schedule, OneFOneBOrder) {
  EXPECT_EQ(render(pipeline_order(PipelineSchedule::one_f_one_b, 0, 4, 6, 1)),
            "F0 F1 F2 F3 B0 F4 B1 F5 B2 B3 B4 B5 ");
  EXPECT_EQ(render(pipeline_order(PipelineSchedule::one_f_one_b, 3, 4, 6, 1)),
            "F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5 ");
  EXPECT_EQ(render(pipeline_order(PipelineSchedule::gpipe, 1, 2, 3, 1)), "F0 F1 F2 B0 B1 B2 ");
}

TEST(Schedule, ZeroBubbleH1Order) {
  // Qi et al. 2024 (ZB-H1): stage i runs F(x), B(x-(p-1-i)), W(x-(p-1)) in round x. Four stages,
  // six micro-batches: stage 0 runs each W right after its B, as 1F1B does; stage 1 lets one W
  // wait; the last stage three, which it runs after its last B.
  EXPECT_EQ(render(pipeline_order(PipelineSchedule::zero_bubble_h1, 0, 4, 6, 1)),
            "F0 F1 F2 F3 B0 W0 F4 B1 W1 F5 B2 W2 B3 W3 B4 W4 B5 W5 ");
  EXPECT_EQ(render(pipeline_order(PipelineSchedule::zero_bubble_h1, 1, 4, 6, 1)),
            "F0 F1 F2 B0 F3 B1 W0 F4 B2 W1 F5 B3 W2 B4 W3 B5 W4 W5 ");
  EXPECT_EQ(render(pipeline_order(PipelineSchedule::zero_bubble_h1, 3, 4, 6, 1)),
            "F0 B0 F1 B1 F2 B2 F3 B3 W0 F4 B4 W1 F5 B5 W2 W3 W4 W5 ");
  // Fewer micro-batches than stages still runs every pass once, in dependency order.
  EXPECT_EQ(render(pipeline_order(PipelineSchedule::zero_bubble_h1, 1, 4, 2, 1)),
            "F0 F1 B0 B1 W0 W1 ");
  EXPECT_THROW(pipeline_order(PipelineSchedule::zero_bubble_h1, 0, 4, 8, 2), std::invalid_argument);
}

TEST(Schedule, InterleavedOrderVisitsChunksInGroups) {
  // Two stages, two chunks, four micro-batches: stage 0 warms up with (2-0-1)·2 + (2-1)·2 = 4
  // forwards: micro-batches 0,1 on chunk 0, then 0,1 on chunk 1.
  EXPECT_EQ(render(pipeline_order(PipelineSchedule::interleaved_1f1b, 0, 2, 4, 2)),
            "F0 F1 F0.1 F1.1 F2 B0.1 F3 B1.1 F2.1 B0 F3.1 B1 B2.1 B3.1 B2 B3 ");
  EXPECT_THROW(pipeline_order(PipelineSchedule::interleaved_1f1b, 0, 4, 6, 2),
               std::invalid_argument);
}

// Costs only the transformer layers' matrix work, so that every stage does the same work and
// communication is free: the textbook setting of the bubble formula.
struct LayersOnly final : ComputeModel {
  double kernel_time_s(const Kernel& k) const override {
    return k.name.rfind("lm_head", 0) == 0 ? 0.0 : k.flops / 1e14;
  }
  std::string description(Dtype) const override { return "layers only"; }
};

struct PipelineRun {
  SimulationResult result;
  Plan plan;
};

TrainingJob pipeline_job(PipelineSchedule schedule, int stages, int microbatches, int chunks = 1) {
  TrainingJob job;
  job.model = *transformer_preset("gpt3-1.3b");
  job.model.layers = 8 * chunks;
  job.training.global_batch = microbatches;
  job.training.micro_batch = 1;
  job.parallelism.pp = stages;
  job.parallelism.schedule = schedule;
  job.parallelism.virtual_stages = chunks;
  return job;
}

PipelineRun run_job(const TrainingJob& job) {
  ClusterSpec cluster;
  cluster.device.intra_node_link_bandwidth_bytes_per_s = {1e18, "test"};
  cluster.device.host_link_bandwidth_bytes_per_s = {1e18, "test"};
  cluster.nodes = job.parallelism.pp;
  cluster.devices_per_node = 1;
  cluster.network.link_bandwidth_bytes_per_s = 1e18;
  cluster.network.nics_per_node = 1;
  const Topology topology(cluster);
  PipelineRun run{SimulationResult{}, build_plan(job)};
  run.result = simulate(run.plan, topology, LayersOnly{}, {0});
  return run;
}

PipelineRun run_pipeline(PipelineSchedule schedule, int stages, int microbatches, int chunks = 1) {
  return run_job(pipeline_job(schedule, stages, microbatches, chunks));
}

TEST(Schedule, OneFOneBBubbleEmergesFromTheSimulation) {
  for (auto [p, m] : {std::pair{4, 8}, {2, 5}, {8, 16}}) {
    const auto run = run_pipeline(PipelineSchedule::one_f_one_b, p, m);
    const double expected = (p - 1.0) / (m + p - 1.0);
    for (const auto& rank : run.result.ranks) {
      EXPECT_NEAR(rank.idle_s / run.result.step_time_s, expected, 1e-6) << "p=" << p << " m=" << m;
    }
  }
}

TEST(Schedule, GpipeHasTheSameBubbleButMoreActivations) {
  const auto gpipe = run_pipeline(PipelineSchedule::gpipe, 4, 8);
  const auto one_f = run_pipeline(PipelineSchedule::one_f_one_b, 4, 8);
  EXPECT_NEAR(gpipe.result.ranks[0].idle_s / gpipe.result.step_time_s, 3.0 / 11, 1e-6);
  // In flight on stage s under 1F1B: p - s micro-batches (stage 2 of 4 holds two); on stage 0
  // GPipe holds all 8, 1F1B p = 4.
  const double per_microbatch = one_f.result.ranks[2].peak_activation_bytes / 2;
  EXPECT_GT(per_microbatch, 0);
  EXPECT_NEAR(one_f.result.ranks[0].peak_activation_bytes / per_microbatch, 4, 0.05);
  EXPECT_NEAR(gpipe.result.ranks[0].peak_activation_bytes / per_microbatch, 8, 0.05);
}

TEST(Schedule, InterleavingShrinksTheBubble) {
  // Megatron-LM (Narayanan et al. 2021, section 2.2.2): with v chunks the bubble is
  // (p-1)/v chunks-worth of work against m: fraction (p-1)/(v·m + p - 1).
  const int p = 4, m = 8, v = 2;
  const auto run = run_pipeline(PipelineSchedule::interleaved_1f1b, p, m, v);
  const double expected = (p - 1.0) / (v * m + p - 1.0);
  EXPECT_NEAR(run.result.ranks[0].idle_s / run.result.step_time_s, expected, 0.01);
}

// Seconds of one stage's forward, input-gradient and weight-gradient passes under LayersOnly:
// the stage's layers' GEMM and attention work at 1e14 FLOP/s.
struct PassTimes {
  double forward_s = 0, input_gradient_s = 0, weight_gradient_s = 0;
};
PassTimes stage_pass_times(const TrainingJob& job) {
  const LayerWork layer = transformer_layer(job.model, 1, {}, job.training.dtype);
  const double layers = static_cast<double>(job.model.layers / job.parallelism.pp);
  auto seconds = [&](const std::vector<Kernel>& a, const std::vector<Kernel>& b) {
    double flops = 0;
    for (const auto* list : {&a, &b}) {
      for (const Kernel& k : *list)
        flops += k.flops;
    }
    return layers * flops / 1e14;
  };
  return {seconds(layer.attention.forward, layer.mlp.forward),
          seconds(layer.attention.backward_input, layer.mlp.backward_input),
          seconds(layer.attention.backward_weight, layer.mlp.backward_weight)};
}

TEST(Schedule, ZeroBubbleH1BubbleEmergesSmallerThan1F1B) {
  // Qi et al. 2024, section 3.1: 1F1B idles (p-1)(T_F + T_B + T_W) per stage, ZB-H1
  // (p-1)(T_F + T_B - T_W): the input gradient alone crosses the pipeline, and the weight
  // gradients fill the cooldown.
  for (auto [p, m] : {std::pair{4, 8}, {2, 5}, {4, 4}}) {
    const auto zb = run_pipeline(PipelineSchedule::zero_bubble_h1, p, m);
    const auto one_f = run_pipeline(PipelineSchedule::one_f_one_b, p, m);
    const PassTimes t = stage_pass_times(pipeline_job(PipelineSchedule::one_f_one_b, p, m));
    const double busy = m * (t.forward_s + t.input_gradient_s + t.weight_gradient_s);
    const double zb_bubble = (p - 1) * (t.forward_s + t.input_gradient_s - t.weight_gradient_s);
    const double one_f_bubble = (p - 1) * (t.forward_s + t.input_gradient_s + t.weight_gradient_s);
    EXPECT_NEAR(zb.result.step_time_s, busy + zb_bubble, 1e-6 * busy) << "p=" << p << " m=" << m;
    EXPECT_NEAR(one_f.result.step_time_s, busy + one_f_bubble, 1e-6 * busy);
    for (std::size_t r = 0; r < zb.result.ranks.size(); ++r) {
      EXPECT_NEAR(zb.result.ranks[r].idle_s, zb_bubble, 1e-6 * busy) << "p=" << p << " r=" << r;
      EXPECT_NEAR(zb.result.ranks[r].compute_s, busy, 1e-6 * busy);
      EXPECT_LT(zb.result.ranks[r].idle_s, one_f.result.ranks[r].idle_s);
    }
  }
}

TEST(Schedule, ZeroBubbleH1KeepsThePeakActivationsOf1F1B) {
  // In steady state stage i holds p - i micro-batches between forward and input gradient, as
  // 1F1B does, and i more whose weight gradient waits, each keeping only what that reads
  // (the GEMM inputs) and what the input gradient made for it (the output gradients). Stage 0
  // waits for none, so the peak over stages is 1F1B's. A small vocabulary keeps the last
  // stage's output block out of the comparison.
  const int p = 4, m = 8;
  TrainingJob job = pipeline_job(PipelineSchedule::zero_bubble_h1, p, m);
  job.model.vocab = 512;
  const auto zb = run_job(job);
  job.parallelism.schedule = PipelineSchedule::one_f_one_b;
  const auto one_f = run_job(job);
  const LayerWork layer = transformer_layer(job.model, 1, {}, job.training.dtype);
  const Block output = output_block(job.model, 1, {}, job.training.dtype);
  const double layers = 8.0 / p;
  const double in_flight = layers * (layer.attention.activation_bytes + layer.mlp.activation_bytes);
  const double waiting =
      layers * (layer.attention.weight_gradient_inputs_bytes +
                layer.attention.weight_gradient_operands_bytes +
                layer.mlp.weight_gradient_inputs_bytes + layer.mlp.weight_gradient_operands_bytes);
  EXPECT_LT(waiting, in_flight);
  double zb_peak = 0, one_f_peak = 0;
  for (int i = 0; i < p; ++i) {
    const double head = i == p - 1 ? output.activation_bytes : 0.0;
    EXPECT_NEAR(one_f.result.ranks[i].peak_activation_bytes, (p - i) * in_flight + head, 1.0);
    EXPECT_NEAR(zb.result.ranks[i].peak_activation_bytes, (p - i) * in_flight + i * waiting + head,
                1.0)
        << "stage " << i;
    zb_peak = std::max(zb_peak, zb.result.ranks[i].peak_activation_bytes);
    one_f_peak = std::max(one_f_peak, one_f.result.ranks[i].peak_activation_bytes);
  }
  EXPECT_DOUBLE_EQ(zb_peak, one_f_peak);
  EXPECT_DOUBLE_EQ(zb_peak, zb.result.ranks[0].peak_activation_bytes);
}

TEST(Schedule, ZeroBubbleH1ReducesGradientsAfterTheWeightGradients) {
  // Data parallel 2, buckets of one byte: every block's gradient is reduced on its own, and each
  // reduction waits for the pass that computed that gradient in the last micro-batch: a weight
  // gradient (or the output block's backward, which runs whole).
  const int p = 2, m = 4;
  TrainingJob job = pipeline_job(PipelineSchedule::zero_bubble_h1, p, m);
  job.parallelism.dp = 2;
  job.training.global_batch = 2 * m;
  job.parallelism.grad_bucket_bytes = 1;
  Plan plan = build_plan(job);
  validate_plan(plan);
  plan.unshare();
  for (const RankProgram& rank : plan.ranks) {
    int reductions = 0;
    for (const Op& op : rank.ops) {
      if (op.kind != OpKind::collective || plan.groups[op.group].name != "dp")
        continue;
      ++reductions;
      ASSERT_EQ(op.deps.size(), 1u);
      const Op& after = rank.ops[op.deps[0]];
      const std::string& label = plan.labels[after.label];
      EXPECT_TRUE(label.ends_with("weight gradient") || label == "output backward" ||
                  label == "embedding backward")
          << label;
      EXPECT_EQ(after.microbatch, m - 1) << label;
    }
    // Four layers per stage, and the embedding on stage 0 or the output block on stage 1; the
    // flush finds nothing left.
    EXPECT_EQ(reductions, 5) << "rank " << rank.rank;
  }
}

}  // namespace
}  // namespace scaleplan
