// End-to-end: `scaleplan plan` on the shipped planner examples.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/command.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

Output run(const std::string& arguments) {
  return scaleplan::test::run_command(std::string(SCALEPLAN_BINARY) + " " + arguments);
}

std::filesystem::path test_dir() {
  return scaleplan::test::scratch_dir("scaleplan-plan-test");
}

const std::string example =
    std::string(SCALEPLAN_SOURCE_DIR) + "/scenarios/planner/gpt3-1.3b-16xa100-search.yaml";

TEST(PlanCommand, PrintsTheRankedTableTheReasonAndTheCounts) {
  const Output out = run("plan --top 4 " + example);
  ASSERT_EQ(out.status, 0) << out.text;
  for (const char* part : {"step s", "est. s", "tokens/s", "MFU %", "memory GiB", "comm s",
                           "bubble s", "why 1 beats 2: plan", "candidates", "pruned by rule",
                           "by memory", "estimated", "simulated 4", "search "}) {
    EXPECT_NE(out.text.find(part), std::string::npos) << part << "\n" << out.text;
  }
  // Four ranked rows: lines starting with their rank.
  for (const char* row : {"\n  1 ", "\n  2 ", "\n  3 ", "\n  4 "})
    EXPECT_NE(out.text.find(row), std::string::npos) << row << "\n" << out.text;
  EXPECT_EQ(out.text.find("\n  5 "), std::string::npos) << out.text;
}

TEST(PlanCommand, JsonRanksPlansInScenarioKeysAndKeepsFixedAxes) {
  const Output out = run("plan --json --top 5 --fix tp=2,recompute=selective " + example);
  ASSERT_EQ(out.status, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  ASSERT_EQ(j["ranked"].size(), 5u);
  double previous = 0;
  for (const auto& plan : j["ranked"]) {
    const auto& p = plan["parallelism"];
    for (const char* key : {"tp", "pp", "dp", "cp", "ep", "schedule", "virtual_stages", "zero",
                            "recompute", "sequence_parallel"})
      EXPECT_TRUE(p.contains(key)) << key;
    // Fixed by --fix, and by the scenario's search section (cp 1, micro-batches 1, 2 or 4).
    EXPECT_EQ(p["tp"], 2);
    EXPECT_EQ(p["recompute"], "selective");
    EXPECT_EQ(p["cp"], 1);
    const int mb = plan["micro_batch"];
    EXPECT_TRUE(mb == 1 || mb == 2 || mb == 4) << mb;
    // 16 devices: tp · pp · dp.
    EXPECT_EQ(p["tp"].get<int>() * p["pp"].get<int>() * p["dp"].get<int>(), 16);
    const double step = plan["step_time_s"];
    EXPECT_GE(step, previous);
    previous = step;
    EXPECT_TRUE(plan["simulated"].get<bool>());
    EXPECT_LE(plan["memory"]["peak_bytes"].get<double>(),
              plan["memory"]["capacity_bytes"].get<double>());
  }
  const auto& c = j["counts"];
  EXPECT_EQ(
      c["pruned_by_rule"].get<int>() + c["pruned_by_memory"].get<int>() + c["estimated"].get<int>(),
      c["enumerated"].get<int>());
  EXPECT_EQ(c["simulated"], 5);
  EXPECT_TRUE(j.contains("why_first"));
}

TEST(PlanCommand, EmittedPlanRunsToTheStepTimeItWasRankedBy) {
  const auto dir = test_dir();
  const auto emitted = dir / "plan2.yaml";
  const auto csv = dir / "ranked.csv";
  const Output out = run("plan --json --top 3 -o " + csv.string() + " --emit-scenario 2 " +
                         emitted.string() + " " + example);
  ASSERT_EQ(out.status, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  const auto& second = j["ranked"][1];

  const Output ran = run("run --json " + emitted.string());
  ASSERT_EQ(ran.status, 0) << ran.text;
  const auto prediction = nlohmann::json::parse(ran.text);
  EXPECT_DOUBLE_EQ(prediction["step_time_s"].get<double>(), second["step_time_s"].get<double>());
  EXPECT_EQ(prediction["parallelism"]["pp"], second["parallelism"]["pp"]);
  EXPECT_EQ(prediction["scenario"], "gpt3-1.3b-16xa100-search-plan2");

  // The CSV: a header and one line per ranked plan.
  std::ifstream in(csv);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line))
    lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].rfind("rank,tp,pp,dp,cp,ep,micro_batch,schedule", 0), 0u) << lines[0];
  EXPECT_EQ(lines[2].rfind("2,", 0), 0u) << lines[2];
}

TEST(PlanCommand, BadFixAndBadSearchSectionExitWithTwoAndNameTheKey) {
  const Output fix = run("plan --fix tq=2,zero=5 " + example);
  EXPECT_EQ(fix.status, 2);
  EXPECT_NE(fix.text.find("--fix: tq: not an axis of the search; did you mean 'tp'?"),
            std::string::npos)
      << fix.text;
  EXPECT_NE(fix.text.find("--fix: zero: '5' is not a whole number from 0 to 3"), std::string::npos)
      << fix.text;

  // A fixed degree no plan of the cluster and model can take is refused as the search section's
  // would be: tp 3 divides neither the 16 devices nor the 16 heads.
  const Output three = run("plan --fix tp=3,pp=32 " + example);
  EXPECT_EQ(three.status, 2) << three.text;
  for (const char* error :
       {"--fix: tp: 3 does not divide the 16 devices; use one of 1, 2, 4, 8, 16",
        "--fix: pp: 32 does not divide the 16 devices"}) {
    EXPECT_NE(three.text.find(error), std::string::npos) << error << "\n" << three.text;
  }

  const auto bad = test_dir() / "bad-search.yaml";
  std::ofstream(bad) << "name: x\ncluster:\n  device: A100-SXM4-80GB\n  nodes: 2\n"
                        "  devices_per_node: 8\n  network: {link_bandwidth_gbps: 200}\n"
                        "model: {preset: gpt3-1.3b}\ntraining: {global_batch: 64}\nsearch:\n"
                        "  tp: [2, 3]\n  schedule: [1f1b, 2f2b]\n  micro_batch: 5\n"
                        "  pipeline: 2\n";
  const Output out = run("plan " + bad.string());
  EXPECT_EQ(out.status, 2);
  for (const char* error :
       {"bad-search.yaml:10:7: search.tp: 3 does not divide the 16 devices",
        "bad-search.yaml:11:20: search.schedule: expected one of gpipe, 1f1b",
        "bad-search.yaml:12:16: search.micro_batch: 5 does not divide global_batch (64)",
        "bad-search.yaml:13:3: search.pipeline: unknown key"}) {
    EXPECT_NE(out.text.find(error), std::string::npos) << error << "\n" << out.text;
  }
}

TEST(PlanCommand, WhenNoPlanFitsItSaysWhy) {
  // GPT-3 175B on the 16 A100 of the example, whole batch of 64: every plan needs more memory.
  const auto big = test_dir() / "too-big.yaml";
  std::ofstream(big) << "name: too-big\ncluster:\n  device: A100-SXM4-80GB\n  nodes: 2\n"
                        "  devices_per_node: 8\n  network: {link_bandwidth_gbps: 200}\n"
                        "model: {preset: gpt3-175b}\ntraining: {global_batch: 64}\n"
                        "search: {zero: 0, recompute: none}\n";
  const Output out = run("plan " + big.string());
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("no plan fits: of "), std::string::npos) << out.text;
  EXPECT_NE(out.text.find(" need more than 80 GiB by the estimate"), std::string::npos) << out.text;
  const Output json = run("plan --json " + big.string());
  ASSERT_EQ(json.status, 0) << json.text;
  const auto why = nlohmann::json::parse(json.text).at("why_none").get<std::string>();
  EXPECT_NE(why.find("need more than 80 GiB"), std::string::npos) << why;
}

TEST(PlanCommand, ProgressShowsTheEstimatesAndTheSimulations) {
  // stderr is not a terminal here: --progress always draws the line anyway, never draws nothing.
  const Output drawn = run("plan --top 2 --progress always " + example);
  ASSERT_EQ(drawn.status, 0) << drawn.text;
  EXPECT_NE(drawn.text.find("estimating plans: "), std::string::npos) << drawn.text;
  EXPECT_NE(drawn.text.find("simulating plans: 2/2 plans"), std::string::npos) << drawn.text;
  const Output quiet = run("plan --top 2 --progress never " + example);
  ASSERT_EQ(quiet.status, 0) << quiet.text;
  EXPECT_EQ(quiet.text.find("estimating plans"), std::string::npos) << quiet.text;
}

TEST(PlanCommand, CostNeedsACatalogPrice) {
  // The catalog prices the A100 per hour: cost ranks as time does on one cluster.
  const Output cost = run("plan --top 2 --objective cost " + example);
  ASSERT_EQ(cost.status, 0) << cost.text;
  EXPECT_NE(cost.text.find("objective  cost"), std::string::npos) << cost.text;
  EXPECT_NE(cost.text.find("best plan per step:"), std::string::npos) << cost.text;
}

}  // namespace
