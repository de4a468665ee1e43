#include "sim/schedule.hpp"

#include <gtest/gtest.h>

#include "sim/plan_builder.hpp"
#include "sim/simulator.hpp"

namespace scaleplan {
namespace {

std::string render(const std::vector<PipelineStep>& order) {
  std::string text;
  for (const auto& s : order) {
    text += (s.forward ? "F" : "B") + std::to_string(s.microbatch);
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
  std::string description() const override { return "layers only"; }
};

struct PipelineRun {
  SimulationResult result;
  Plan plan;
};

PipelineRun run_pipeline(PipelineSchedule schedule, int stages, int microbatches, int chunks = 1) {
  TrainingJob job;
  job.model = *transformer_preset("gpt3-1.3b");
  job.model.layers = 8 * chunks;
  job.training.global_batch = microbatches;
  job.training.micro_batch = 1;
  job.parallelism.pp = stages;
  job.parallelism.schedule = schedule;
  job.parallelism.virtual_stages = chunks;
  ClusterSpec cluster;
  cluster.device.intra_node_link_bandwidth_bytes_per_s = {1e18, "test"};
  cluster.device.host_link_bandwidth_bytes_per_s = {1e18, "test"};
  cluster.nodes = stages;
  cluster.devices_per_node = 1;
  cluster.network.link_bandwidth_bytes_per_s = 1e18;
  cluster.network.nics_per_node = 1;
  const Topology topology(cluster);
  PipelineRun run{SimulationResult{}, build_plan(job)};
  run.result = simulate(run.plan, topology, LayersOnly{}, {0});
  return run;
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

}  // namespace
}  // namespace scaleplan
