// End-to-end: `scaleplan run` and `scaleplan simulate` as a new user meets them: the build in
// every report, a dumped plan simulated again, a plan that does not fit, progress on stderr.
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/command.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

Output run(const std::string& arguments) {
  return scaleplan::test::run_command(std::string(SCALEPLAN_BINARY) + " " + arguments);
}

std::filesystem::path test_dir() {
  return scaleplan::test::scratch_dir("scaleplan-run-command-test");
}

std::string source(const std::string& path) {
  return std::string(SCALEPLAN_SOURCE_DIR) + "/" + path;
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Two nodes of two A100, pipeline and data parallel: one replica stands for both.
const std::string small = source("tests/golden/scenarios/trace-2x2-a100.yaml");

TEST(RunCommand, VersionNamesTheBuildAndEveryReportCarriesIt) {
  const Output version = run("--version");
  ASSERT_EQ(version.status, 0) << version.text;
  // "scaleplan 0.1.0 (git 1a2b3c4d5e6f)", "-dirty" after the commit with uncommitted changes;
  // without the commit outside a git checkout.
  const std::regex form(R"(scaleplan (\d+\.\d+\.\d+( \(git [0-9a-f]{12}(-dirty)?\))?)\n)");
  std::smatch match;
  ASSERT_TRUE(std::regex_match(version.text, match, form)) << version.text;
  const std::string build = match[1];

  const auto dir = test_dir();
  const Output json = run("run --json " + small + " --trace " + (dir / "t.json").string());
  ASSERT_EQ(json.status, 0) << json.text;
  EXPECT_EQ(nlohmann::json::parse(json.text)["scaleplan_version"], build);
  const auto trace = nlohmann::json::parse(slurp(dir / "t.json"));
  EXPECT_EQ(trace["otherData"]["scaleplan_version"], build);
  EXPECT_EQ(trace["otherData"]["scenario"], small);
  std::filesystem::remove_all(dir);
}

TEST(RunCommand, ADumpedPlanSimulatesAsTheRunDid) {
  // The small scenario's plan lists one replica standing for 2: simulated from the file on the
  // scenario's cluster, it gives the run's report, byte for byte.
  const auto dir = test_dir();
  const std::string plan = (dir / "plan.yaml").string();
  const Output ran = run("run --json " + small + " --dump-plan " + plan);
  ASSERT_EQ(ran.status, 0) << ran.text;
  const Output simulated = run("simulate --json " + plan + " --cluster " + small);
  ASSERT_EQ(simulated.status, 0) << simulated.text;
  EXPECT_EQ(simulated.text, ran.text);
  EXPECT_EQ(nlohmann::json::parse(ran.text)["simulation"]["replicas_simulated_as_one"], 2);

  // The same in the compact format (a .splan name), and every rank's plan, whose pipeline stages
  // share their programs in the file: the run's report again.
  for (const std::string ranks : {"", " --all-ranks"}) {
    const std::string compact = (dir / "plan.splan").string();
    const Output dumped = run("run --json " + small + ranks + " --dump-plan " + compact);
    ASSERT_EQ(dumped.status, 0) << dumped.text;
    const Output read_back = run("simulate --json " + compact + " --cluster " + small);
    ASSERT_EQ(read_back.status, 0) << read_back.text;
    EXPECT_EQ(read_back.text, dumped.text) << ranks;
    EXPECT_EQ(slurp(compact).substr(0, 8), std::string("\x89SPLAN\r\n", 8));
  }
  // A damaged one is refused with the byte.
  {
    std::string bytes = slurp(dir / "plan.splan");
    bytes.resize(bytes.size() / 2);
    const auto damaged = dir / "damaged.splan";
    std::ofstream(damaged, std::ios::binary) << bytes;
    const Output refused = run("simulate " + damaged.string() + " --cluster " + small);
    EXPECT_EQ(refused.status, 2) << refused.text;
    EXPECT_NE(refused.text.find(damaged.string() + ": "), std::string::npos) << refused.text;
    EXPECT_NE(refused.text.find(": at byte "), std::string::npos) << refused.text;
  }

  // The plan on the cluster of a scenario of another size: refused, with the sizes.
  const std::string gpt3 = source("scenarios/gpt3-175b-64xa100.yaml");
  const Output other = run("simulate " + plan + " --cluster " + gpt3);
  EXPECT_EQ(other.status, 2);
  EXPECT_NE(other.text.find(plan + ": ranks: the plan has 4 ranks, but the scenario " + gpt3 +
                            " runs 64 (tp·pp·cp·dp)"),
            std::string::npos)
      << other.text;

  // The plan with a scenario of as many ranks but another job (twice the layers): simulated,
  // with a note that the model, tokens/s and MFU are the scenario's job's.
  std::string text = slurp(small);
  text.replace(text.find("layers: 4"), 9, "layers: 8");
  const auto deeper = dir / "deeper.yaml";
  std::ofstream(deeper) << text;
  const Output another_job = run("simulate " + plan + " --cluster " + deeper.string());
  EXPECT_EQ(another_job.status, 0) << another_job.text;
  EXPECT_NE(another_job.text.find("note: " + plan + " is not the plan of " + deeper.string() +
                                  "'s job; it is simulated as written"),
            std::string::npos)
      << another_job.text;
  std::filesystem::remove_all(dir);
}

TEST(RunCommand, APlanThatDoesNotFitGetsTheChangesThatWouldMakeItFit) {
  // GPT-3 175B on 64 A100 without sequence parallelism needs 87 GiB on its first stage
  // (scenarios/gpt3-175b-64xa100.yaml says so): sequence parallelism (64.73 GiB, what the
  // shipped scenario runs) and full recompute fit; micro_batch is already 1, tp is already the
  // node's 8, pp 16 needs more devices than 64 and ZeRO has no data parallelism to shard over.
  const auto dir = test_dir();
  std::ifstream in(source("scenarios/gpt3-175b-64xa100.yaml"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("sequence_parallel: true"), 23, "sequence_parallel: false");
  const auto file = dir / "no-sp.yaml";
  std::ofstream(file) << text;

  const Output report = run("run " + file.string());
  EXPECT_EQ(report.status, 0) << report.text;
  EXPECT_NE(report.text.find("peak                     86.98 GiB of 80.00 GiB  DOES NOT FIT"),
            std::string::npos)
      << report.text;
  EXPECT_NE(report.text.find("changes that fit, fastest first (each simulated)\n"
                             "  parallelism.sequence_parallel: true                  peak 64.73 "
                             "GiB, step 13.569 s\n"
                             "  parallelism.recompute: full"),
            std::string::npos)
      << report.text;

  const Output json = run("run --json --require-fit " + file.string());
  EXPECT_EQ(json.status, 3) << json.text;
  const auto j = nlohmann::json::parse(json.text);
  EXPECT_FALSE(j["memory"]["fits"].get<bool>());
  ASSERT_EQ(j["changes_that_fit"].size(), 2u) << json.text;
  EXPECT_EQ(j["changes_that_fit"][0]["change"], "parallelism.sequence_parallel: true");
  EXPECT_LE(j["changes_that_fit"][0]["peak_bytes"].get<double>(), 80.0 * (1u << 30));

  // A plan that fits exits 0 with --require-fit.
  EXPECT_EQ(run("run --require-fit " + source("scenarios/gpt3-175b-64xa100.yaml")).status, 0);
  std::filesystem::remove_all(dir);
}

TEST(RunCommand, ProgressGoesToStderrOnlyWhenAsked) {
  const auto dir = test_dir();
  const auto err = dir / "stderr.txt";
  // stderr is a pipe or a file here, not a terminal: the default draws nothing.
  Output out = scaleplan::test::run_command("{ " + std::string(SCALEPLAN_BINARY) + " run " + small +
                                            " 2>" + err.string() + "; }");
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_EQ(slurp(err), "");
  out = scaleplan::test::run_command("{ " + std::string(SCALEPLAN_BINARY) + " run " + small +
                                     " --progress always 2>" + err.string() + "; }");
  ASSERT_EQ(out.status, 0) << out.text;
  const std::string progress = slurp(err);
  // The last update of the 104 ops of the two listed ranks, then the line cleared, so that the
  // report never carries it.
  EXPECT_NE(progress.find("\rsimulating: 104/104 ops\x1b[K"), std::string::npos) << progress;
  EXPECT_EQ(progress.substr(progress.size() - 4), "\r\x1b[K");
  EXPECT_EQ(out.text.find("simulating"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
