#include "sim/simulate/device_memory.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/strategy/plan_builder.hpp"

namespace scaleplan {
namespace {

// One NCCL connection: Simple 4 MiB, LL 8·512·8·16 B, LL128 120·640·8·8 B.
constexpr double connection_bytes = 4194304.0 + 524288.0 + 4915200.0;

TEST(DeviceMemory, NcclFiguresAreNcclsDefaults) {
  const NcclBufferFigures& f = nccl_buffer_figures();
  EXPECT_EQ(f.connection_bytes(), 9633792.0);
  EXPECT_EQ(f.connection_bytes(), connection_bytes);
  EXPECT_EQ(f.collective_channels.value, 24);
  EXPECT_EQ(f.p2p_channels_per_peer.value, 2);
  for (const Figure* figure : {&f.simple_bytes, &f.ll_bytes, &f.ll128_bytes, &f.collective_channels,
                               &f.p2p_channels_per_peer}) {
    EXPECT_FALSE(figure->source.empty());
  }
}

TEST(DeviceMemory, NcclBuffersPerCommunicatorAndPipelinePeer) {
  // GPT (tied embeddings) on tp 2, pp 3, dp 2: every rank is in a tensor- and a data-parallel
  // communicator; the first and last stages share the embedding's; the middle stage receives
  // from two pipeline peers, the ends from one.
  TrainingJob job;
  job.model = *transformer_preset("gpt3-1.3b");
  job.model.layers = 6;
  job.training.global_batch = 8;
  job.parallelism.tp = 2;
  job.parallelism.pp = 3;
  job.parallelism.dp = 2;
  const Plan plan = build_plan(job);
  const std::vector<double> bytes = nccl_buffer_bytes(plan);
  ASSERT_EQ(bytes.size(), 12u);
  const double communicator = 24 * connection_bytes;  // 231,211,008 bytes
  const double peer = 2 * connection_bytes;
  for (int r = 0; r < 12; ++r) {
    const int stage = coordinates_of(r, job.parallelism).pp;
    const double expected = stage == 1 ? 2 * communicator + 2 * peer : 3 * communicator + 1 * peer;
    EXPECT_DOUBLE_EQ(bytes[r], expected) << "rank " << r;
  }
  EXPECT_DOUBLE_EQ(bytes[0], 712900608.0);

  // Simulating one data-parallel replica lists its ranks only; they hold the same.
  const Plan replica = build_plan(job, RankScope::one_replica);
  const std::vector<double> listed = nccl_buffer_bytes(replica);
  ASSERT_EQ(listed.size(), 6u);
  for (std::size_t i = 0; i < replica.ranks.size(); ++i)
    EXPECT_DOUBLE_EQ(listed[i], bytes[replica.ranks[i].rank]) << "rank " << replica.ranks[i].rank;

  // One rank alone holds none.
  TrainingJob single = job;
  single.parallelism = {};
  EXPECT_EQ(nccl_buffer_bytes(build_plan(single)), std::vector<double>{0.0});
}

TEST(DeviceMemory, AllocatorHeadroomIsItsShareOfTheReservedMemory) {
  // 11.5 % of reserved unallocated: 885 bytes allocated are 88.5 % of 1000 reserved.
  EXPECT_NEAR(allocator_headroom_bytes(885, 0.115), 115, 1e-9);
  EXPECT_EQ(allocator_headroom_bytes(885, 0), 0);
  EXPECT_DOUBLE_EQ(allocator_headroom_bytes(1, 0.5), 1);
  EXPECT_THROW(allocator_headroom_bytes(1, 1), std::invalid_argument);
  EXPECT_THROW(allocator_headroom_bytes(1, -0.1), std::invalid_argument);
  EXPECT_EQ(default_allocator_headroom_fraction().value, 0.115);
  EXPECT_FALSE(default_allocator_headroom_fraction().source.empty());
}

// GPT-3 13B on two A100 80 GB with tensor parallelism 2: about 117 GB of weights, gradients and
// optimizer state per GPU.
const char* const too_big = R"(name: too-big
cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 2}
model: {preset: gpt3-13b}
training: {global_batch: 1}
parallelism: {tp: 2}
memory: {allocator_headroom_fraction: 0.2}
)";

TEST(DeviceMemory, APlanThatDoesNotFitShowsItsBreakdownAndTheCapacity) {
  const Scenario scenario = parse_scenario(too_big, "too-big.yaml", Catalog::builtin());
  EXPECT_EQ(scenario.allocator_headroom_fraction, 0.2);
  const Prediction p = predict(scenario, prepare_run(scenario, Catalog::builtin()));
  const MemoryBreakdown& m = p.memory;
  EXPECT_FALSE(m.fits);
  EXPECT_DOUBLE_EQ(m.nccl_buffer_bytes, 24 * connection_bytes);
  const double allocated = m.weights_bytes + m.gradients_bytes + m.optimizer_bytes +
                           m.activations_bytes + m.communication_buffer_bytes;
  EXPECT_DOUBLE_EQ(m.allocator_headroom_bytes, allocated * 0.2 / 0.8);
  EXPECT_DOUBLE_EQ(m.peak_bytes, allocated + m.nccl_buffer_bytes + m.allocator_headroom_bytes);
  EXPECT_EQ(m.capacity_bytes, 80.0 * 1024 * 1024 * 1024);

  const std::string text = format_text(p);
  for (const char* line :
       {"  weights ", "  gradients ", "  optimizer state ", "  activations (peak) ",
        "  communication buffers ", "  NCCL buffers             0.22 GiB", "  allocator headroom ",
        "(20.0 % of reserved)", " of 80.00 GiB  DOES NOT FIT"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  const auto json = nlohmann::json::parse(format_json(p));
  EXPECT_FALSE(json["memory"]["fits"].get<bool>());
  EXPECT_EQ(json["memory"]["nccl_buffer_bytes"].get<double>(), m.nccl_buffer_bytes);
  EXPECT_EQ(json["memory"]["allocator_headroom_bytes"].get<double>(), m.allocator_headroom_bytes);
  EXPECT_EQ(json["memory"]["capacity_bytes"].get<double>(), m.capacity_bytes);
  EXPECT_EQ(json["allocator_headroom_fraction"].get<double>(), 0.2);
}

TEST(DeviceMemory, TpusHoldNoNcclBuffersAndNoAllocatorHeadroom) {
  std::string text = too_big;
  text.replace(
      text.find("cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 2}"),
      std::string("cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 2}").size(),
      "cluster: {device: TPU-v5p, nodes: 1, devices_per_node: 2, node_fabric: ici,\n"
      "          network: {topology: torus, dims: [2, 1]}}");
  const Scenario scenario = parse_scenario(text, "tpu.yaml", Catalog::builtin());
  const Prediction p = predict(scenario, prepare_run(scenario, Catalog::builtin()));
  EXPECT_EQ(p.memory.nccl_buffer_bytes, 0);
  // The headroom is PyTorch's caching allocator's; XLA assigns a compiled step's buffers ahead
  // of time: none, whatever the scenario's fraction, and the report says why.
  EXPECT_EQ(p.memory.allocator_headroom_bytes, 0);
  EXPECT_EQ(p.allocator_headroom_fraction, 0);
  EXPECT_NE(format_text(p).find("(no caching allocator on this device)"), std::string::npos);
  // The same job on GPUs keeps it.
  const Scenario gpus = parse_scenario(too_big, "gpu.yaml", Catalog::builtin());
  EXPECT_GT(predict(gpus, prepare_run(gpus, Catalog::builtin())).memory.allocator_headroom_bytes,
            0);
}

}  // namespace
}  // namespace scaleplan
