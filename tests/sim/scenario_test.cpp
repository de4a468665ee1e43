#include "sim/scenario/scenario.hpp"
#include "sim/scenario/scenario_writer.hpp"
#include "tests/support/scenario_text.hpp"

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

const std::string good = R"(name: t
cluster:
  device: A100-SXM4-80GB
  nodes: 8
  devices_per_node: 8
  network:
    link_bandwidth_gbps: 200
model:
  preset: gpt3-175b
training:
  global_batch: 64
parallelism:
  tp: 8
  pp: 8
)";

TEST(Scenario, GoodScenarioParses) {
  const Scenario s = parse_scenario(good, "s.yaml", Catalog::builtin());
  EXPECT_EQ(s.job.parallelism.dp, 1);  // inferred from 64 / (8·8)
  EXPECT_EQ(s.job.model.layers, 96);
  EXPECT_EQ(s.cluster.device_count(), 64);
  EXPECT_DOUBLE_EQ(s.cluster.network.link_bandwidth_bytes_per_s, 25e9);
}

TEST(Scenario, ScheduleNamesEachSchedule) {
  for (const std::string& name : pipeline_schedule_names.names()) {
    const Scenario s =
        parse_scenario(test::replace(good, "  pp: 8", "  pp: 8\n  schedule: " + name), "s.yaml",
                       Catalog::builtin());
    EXPECT_EQ(to_string(s.job.parallelism.schedule), name);
  }
  const Scenario zb = parse_scenario(test::replace(good, "  pp: 8", "  pp: 8\n  schedule: zb-h1"),
                                     "s.yaml", Catalog::builtin());
  EXPECT_EQ(zb.job.parallelism.schedule, PipelineSchedule::zero_bubble_h1);
}

TEST(Scenario, DropoutFollowsTheFamilyAndItsKey) {
  auto model_of = [](const std::string& model_lines) {
    return parse_scenario(test::replace(good, "  preset: gpt3-175b", model_lines), "s.yaml",
                          Catalog::builtin())
        .job.model;
  };
  EXPECT_TRUE(model_of("  preset: gpt3-175b").dropout);
  EXPECT_FALSE(model_of("  preset: llama2-70b").dropout);
  EXPECT_FALSE(model_of("  preset: gpt3-175b\n  family: llama").dropout);
  EXPECT_FALSE(model_of("  preset: gpt3-175b\n  dropout: false").dropout);
  EXPECT_TRUE(model_of("  preset: llama2-70b\n  dropout: true").dropout);
  EXPECT_SCENARIO_ERROR(
      test::replace(good, "  preset: gpt3-175b", "  preset: gpt3-175b\n  dropout: 0.1"),
      "model.dropout");
}

TEST(Scenario, MalformedYamlNamesTheLine) {
  const std::string e = test::scenario_errors_of("name: t\ncluster: [unclosed\n  nodes: 3\n");
  EXPECT_NE(e.find("s.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("malformed YAML"), std::string::npos) << e;
}

TEST(Scenario, UnknownKeySuggestsTheRightOne) {
  const std::string e =
      test::scenario_errors_of(test::replace(good, "  tp: 8", "  tpp: 8\n  tp: 8"));
  EXPECT_NE(e.find("s.yaml:13:3: parallelism.tpp: unknown key; did you mean 'tp'?"),
            std::string::npos)
      << e;
}

TEST(Scenario, TpMustDivideHeads) {
  const std::string e = test::scenario_errors_of(
      test::replace(good, "  tp: 8\n  pp: 8", "  tp: 5\n  pp: 8\n  dp: 1"));
  EXPECT_NE(
      e.find(
          "s.yaml:13:7: parallelism.tp: 5 does not divide heads (96); use one of 1, 2, 3, 4, 6, 8"),
      std::string::npos)
      << e;
}

TEST(Scenario, DegreesMustMatchTheDeviceCount) {
  const std::string e =
      test::scenario_errors_of(test::replace(good, "  pp: 8", "  pp: 8\n  dp: 2"));
  EXPECT_NE(e.find("s.yaml:15:7: parallelism.dp: tp·pp·cp·dp = 8·8·1·2 = 128, but the cluster has "
                   "64 devices (8 nodes × 8); use dp: 1"),
            std::string::npos)
      << e;
}

TEST(Scenario, UnknownDeviceSuggestsACatalogName) {
  const std::string e =
      test::scenario_errors_of(test::replace(good, "A100-SXM4-80GB", "A100-SXM4-80G"));
  EXPECT_NE(e.find("s.yaml:3:11: cluster.device: 'A100-SXM4-80G' is not in the device catalog; "
                   "did you mean 'A100-SXM4-80GB'?"),
            std::string::npos)
      << e;
}

TEST(Scenario, AllErrorsAreReportedTogether) {
  std::string text = test::replace(good, "  nodes: 8", "  nodes: -3");
  text = test::replace(text, "  global_batch: 64", "  global_batch: lots");
  const std::string e = test::scenario_errors_of(text);
  EXPECT_NE(e.find("cluster.nodes: -3 is out of range"), std::string::npos) << e;
  EXPECT_NE(e.find("training.global_batch: expected an integer, got 'lots'"), std::string::npos)
      << e;
}

TEST(Scenario, AbsurdSizesAreRefused) {
  const std::string e =
      test::scenario_errors_of(test::replace(good, "  nodes: 8", "  nodes: 1000000000"));
  EXPECT_NE(e.find("cluster.nodes: 1000000000 is out of range"), std::string::npos) << e;
  const std::string bw = test::scenario_errors_of(
      test::replace(good, "link_bandwidth_gbps: 200", "link_bandwidth_gbps: 0"));
  EXPECT_NE(bw.find("cluster.network.link_bandwidth_gbps: must be from 0.001 to 1000000, got 0"),
            std::string::npos)
      << bw;
}

TEST(Scenario, DtypeMustBeOnTheDevice) {
  const std::string e = test::scenario_errors_of(
      test::replace(good, "  global_batch: 64", "  global_batch: 64\n  dtype: fp8"));
  EXPECT_NE(e.find("training.dtype: A100-SXM4-80GB has no fp8 peak"), std::string::npos) << e;
}

TEST(Scenario, NoNicsMeansDisconnected) {
  const std::string e = test::scenario_errors_of(test::replace(
      good, "    link_bandwidth_gbps: 200", "    link_bandwidth_gbps: 200\n    nics_per_node: 0"));
  EXPECT_NE(e.find("cluster.network.nics_per_node: 0 NICs leave the 8 nodes disconnected"),
            std::string::npos)
      << e;
}

TEST(Scenario, RecomputeModulesAreReadAndWrittenBackWithThePlan) {
  // DeepSeek-V3's layers, four of them (three dense, one MoE), with MLA's up-projections
  // recomputed.
  const std::string text = R"(name: mla
cluster:
  device: H100-SXM5-80GB
  nodes: 1
  devices_per_node: 8
model:
  preset: deepseek-v3
  layers: 4
training:
  global_batch: 8
  dtype: bf16
parallelism:
  tp: 2
  ep: 4
  sequence_parallel: true
  recompute: selective
  recompute_modules: [mla_up_proj]
)";
  const Scenario s = parse_scenario(text, "mla.yaml", Catalog::builtin());
  EXPECT_EQ(s.job.parallelism.recompute_modules, (SelectiveRecompute{false, true}));
  // Written back with a plan that recomputes selectively, the modules stay; with another
  // recompute they go (they apply to selective only).
  TrainingJob plan = s.job;
  const std::string kept = scenario_with_plan(text, "mla.yaml", plan, "kept", std::nullopt);
  EXPECT_NE(kept.find("recompute_modules: [mla_up_proj]"), std::string::npos) << kept;
  EXPECT_EQ(parse_scenario(kept, "kept.yaml", Catalog::builtin()).job.parallelism.recompute_modules,
            s.job.parallelism.recompute_modules);
  plan.parallelism.recompute = Recompute::full;
  const std::string full = scenario_with_plan(text, "mla.yaml", plan, "full", std::nullopt);
  EXPECT_EQ(full.find("recompute_modules"), std::string::npos) << full;
  EXPECT_NO_THROW(parse_scenario(full, "full.yaml", Catalog::builtin()));
}

}  // namespace
}  // namespace scaleplan
