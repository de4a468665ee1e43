// End-to-end: the scaleplan binary on real scenario files.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/transformer.hpp"
#include "tests/support/command.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

// `environment` prefixes the command ("cd /tmp && VAR=value").
Output run(const std::string& arguments, const std::string& environment = "") {
  return scaleplan::test::run_command(environment + " " + std::string(SCALEPLAN_BINARY) + " " +
                                      arguments);
}

// A folder of this test process's own, so that concurrent runs never share output files.
std::filesystem::path test_dir() {
  return scaleplan::test::scratch_dir("scaleplan-cli-test");
}

std::string scenario(const char* name) {
  return std::string(SCALEPLAN_SOURCE_DIR) + "/scenarios/" + name;
}

TEST(Cli, RunPrintsThePrediction) {
  const Output out = run("run " + scenario("gpt3-175b-64xa100.yaml"));
  ASSERT_EQ(out.status, 0) << out.text;
  for (const char* part :
       {"step time", "tokens/s", "MFU", "weights", "optimizer state", "activations", "NCCL buffers",
        "allocator headroom", "exposed communication", "pipeline bubble"}) {
    EXPECT_NE(out.text.find(part), std::string::npos) << part << "\n" << out.text;
  }
}

TEST(Cli, JsonHasTheContractKeys) {
  const Output out = run("run --json " + scenario("gpt3-175b-64xa100.yaml"));
  ASSERT_EQ(out.status, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  for (const char* key : {"step_time_s", "tokens_per_s", "model_tflops_per_device", "mfu"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* key :
       {"peak_bytes", "capacity_bytes", "fits", "nccl_buffer_bytes", "allocator_headroom_bytes"})
    EXPECT_TRUE(j["memory"].contains(key)) << key;
  for (const char* key : {"compute_s", "exposed_comm_s", "bubble_s"}) {
    EXPECT_TRUE(j["breakdown"].contains(key));
  }
  const double step = j["step_time_s"];
  const double parts = j["breakdown"]["compute_s"].get<double>() +
                       j["breakdown"]["exposed_comm_s"].get<double>() +
                       j["breakdown"]["bubble_s"].get<double>();
  EXPECT_NEAR(parts, step, 1e-6 * step);
  // GPT-3 175B on 64 A100 (Megatron-LM 1F1B, no recompute) runs at well under peak.
  EXPECT_GT(j["mfu"].get<double>(), 0.2);
  EXPECT_LT(j["mfu"].get<double>(), 0.8);
}

TEST(Cli, MixtralRunsWithExpertParallelismAndActiveParameterFlops) {
  const std::string file = scenario("mixtral-8x7b-64xh100.yaml");
  const Output text = run("run " + file);
  ASSERT_EQ(text.status, 0) << text.text;
  EXPECT_NE(text.text.find("strategy   tp 1, pp 4, dp 16, ep 8, 1f1b"), std::string::npos)
      << text.text;
  const Output out = run("run --json " + file);
  ASSERT_EQ(out.status, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  EXPECT_EQ(j["parallelism"]["ep"], 8);
  // Model FLOPs (and MFU) count the two experts each token uses: about 6 × 12.9B active
  // parameters plus attention per token, a third of what all 46.7B would give.
  auto model = *scaleplan::transformer_preset("mixtral-8x7b");
  model.seq_len = 4096;
  const double tokens = 256.0 * 4096;
  EXPECT_DOUBLE_EQ(j["model_flops_per_step"].get<double>(),
                   scaleplan::training_flops_per_token(model) * tokens);
  EXPECT_LT(j["model_flops_per_step"].get<double>() / tokens,
            0.4 * 6 * scaleplan::total_parameters(model));
  EXPECT_GT(j["mfu"].get<double>(), 0.2);
  EXPECT_LT(j["mfu"].get<double>(), 0.8);
  EXPECT_TRUE(j["memory"]["fits"].get<bool>());
}

TEST(Cli, TraceAndPlanAreWrittenAndDeterministic) {
  const auto dir = test_dir();
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  // GPT-3 175B's 64 ranks with 8 micro-batches, one per pipeline stage, rather than 64: every
  // rank and op kind is in the trace at an eighth of its size (the sanitizer build parses it).
  const auto scenario_file = dir / "gpt3-175b-64xa100-8-micro-batches.yaml";
  {
    std::string text = slurp(scenario("gpt3-175b-64xa100.yaml"));
    const std::string batch = "global_batch: 64";
    ASSERT_NE(text.find(batch), std::string::npos);
    text.replace(text.find(batch), batch.size(), "global_batch: 8");
    std::ofstream(scenario_file) << text;
  }
  std::string first_trace, first_plan, first_json;
  for (int i = 0; i < 2; ++i) {
    // The second run differs in everything that must not matter: the working directory, the
    // thread-count variables, and glibc filling fresh and freed memory with 0xA5 (so that a read
    // of uninitialised memory changes the output instead of happening to read zeros).
    const std::string environment =
        i == 0 ? "" : "cd / && MALLOC_PERTURB_=165 OMP_NUM_THREADS=7 EIGEN_NUM_THREADS=3";
    const Output out =
        run("run --json " + scenario_file.string() + " --trace " + (dir / "t.json").string() +
                " --dump-plan " + (dir / "p.yaml").string(),
            environment);
    ASSERT_EQ(out.status, 0) << out.text;
    if (i == 0) {
      first_trace = slurp(dir / "t.json");
      first_plan = slurp(dir / "p.yaml");
      first_json = out.text;
    } else {
      EXPECT_TRUE(first_trace == slurp(dir / "t.json"));
      EXPECT_TRUE(first_plan == slurp(dir / "p.yaml"));
      EXPECT_EQ(first_json, out.text);
    }
  }
  const auto trace = nlohmann::json::parse(first_trace);
  std::set<int> pids;
  bool has_counter = false;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "X")
      pids.insert(e["pid"].get<int>());
    has_counter = has_counter || e["ph"] == "C";
  }
  EXPECT_EQ(pids.size(), 64u);
  EXPECT_TRUE(has_counter);
  EXPECT_NE(first_plan.find("format: scaleplan-plan"), std::string::npos);
}

TEST(Cli, BadInputExitsWithTwoAndNamesTheKey) {
  const auto dir = test_dir();
  const auto bad = dir / "bad.yaml";
  std::ofstream(bad) << "name: x\ncluster:\n  device: A100-SXM4-80GB\n  nodes: 2\n"
                        "  devices_per_node: 8\n  netwrk: {}\nmodel: {preset: gpt3-1.3b}\n"
                        "training: {global_batch: 8}\n";
  const Output out = run("run " + bad.string());
  EXPECT_EQ(out.status, 2);
  EXPECT_NE(out.text.find("bad.yaml:6:3: cluster.netwrk: unknown key; did you mean 'network'?"),
            std::string::npos)
      << out.text;
  const Output missing = run("run /nonexistent.yaml");
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(missing.text.find("/nonexistent.yaml: no such file"), std::string::npos)
      << missing.text;
}

}  // namespace

namespace {

// Issue 3's bar for the eight published Megatron-LM runs of Korthikanti et al. 2022 (Calculon,
// SC'23, reports 3.65 % mean and 8.87 % worst on the same runs): MAPE at most 5 %, no case worse
// than 10 %. The figures come from the device catalog alone; nothing is tuned per case.
TEST(Cli, ValidationCasesMeetTheAccuracyBar) {
  const Output out =
      run("validate --json " + std::string(SCALEPLAN_SOURCE_DIR) + "/scenarios/validation");
  ASSERT_EQ(out.status, 0) << out.text;
  const auto report = nlohmann::json::parse(out.text);
  ASSERT_EQ(report["cases"].size(), 8u);
  EXPECT_LE(report["mape_percent"].get<double>(), 5.0) << out.text;
  EXPECT_LE(report["worst_percent"].get<double>(), 10.0) << out.text;
  for (const auto& c : report["cases"])
    EXPECT_TRUE(c["fits"].get<bool>()) << c["case"];
}

// llm-foundry's MPT tables (216 rows: 125M to 70B, sequences of 512 to 65,536 tokens, 8 to 512
// A100 and H100): the Triton attention figures were fitted to the rows of 16k tokens and more, so
// those rows, where attention is most of the step, must each stay within 10 % (they reached +72 %
// at the figures the catalog had before), and the whole table within its MAPE.
TEST(Cli, LlmFoundryTablesStayWithinTheirBar) {
  const Output out = run("validate --json " + std::string(SCALEPLAN_SOURCE_DIR) +
                         "/scenarios/validation/llm-foundry");
  ASSERT_EQ(out.status, 0) << out.text;
  const auto report = nlohmann::json::parse(out.text);
  ASSERT_EQ(report["cases"].size(), 216u);
  EXPECT_LE(report["mape_percent"].get<double>(), 6.0) << out.text;
  int long_sequences = 0;
  for (const auto& c : report["cases"]) {
    const std::string name = c["case"].get<std::string>();
    // Every row ran, so each must fit: a check of the memory model on 216 configurations.
    EXPECT_TRUE(c["fits"].get<bool>())
        << name << ": " << c["predicted_peak_bytes"] << " of " << c["capacity_bytes"];
    const std::size_t at = name.find("-s") + 2;
    if (std::stoll(name.substr(at, name.find('-', at) - at)) < 16384)
      continue;
    ++long_sequences;
    EXPECT_LE(std::abs(c["relative_error"].get<double>()), 0.10) << name;
  }
  EXPECT_EQ(long_sequences, 45);
}

// MaxText's TPU tables, nothing fitted to them: v5e (16B to 128B on 1 to 32 v5e-256 slices) and
// v5p's cells with full remat (512B and 1T on 1 and 2 slices); the fully sharded v5e models on
// one slice within 10 %, each table within its MAPE, every cell fits (docs/validation.md).
TEST(Cli, MaxTextTablesStayWithinTheirBars) {
  const auto validate = [](const std::string& folder) {
    const Output out = run("validate --json " + std::string(SCALEPLAN_SOURCE_DIR) +
                           "/scenarios/validation/" + folder);
    EXPECT_EQ(out.status, 0) << out.text;
    return nlohmann::json::parse(out.text);
  };
  const auto v5e = validate("maxtext-v5e");
  ASSERT_EQ(v5e["cases"].size(), 24u);
  EXPECT_LE(v5e["mape_percent"].get<double>(), 9.0);
  const auto v5p = validate("maxtext-v5p");
  ASSERT_EQ(v5p["cases"].size(), 6u);
  EXPECT_LE(v5p["mape_percent"].get<double>(), 8.0);
  int one_slice = 0;
  for (const auto* report : {&v5e, &v5p}) {
    for (const auto& c : (*report)["cases"]) {
      const std::string name = c["case"].get<std::string>();
      EXPECT_TRUE(c["fits"].get<bool>())
          << name << ": " << c["predicted_peak_bytes"] << " of " << c["capacity_bytes"];
      if (name.find("-1xv5e") == std::string::npos || name.find("128b") != std::string::npos)
        continue;
      ++one_slice;
      EXPECT_LE(std::abs(c["relative_error"].get<double>()), 0.10) << name;
    }
  }
  EXPECT_EQ(one_slice, 3);
}

TEST(Cli, ValidateTimesEveryCaseWithTheProfileGiven) {
  const std::string profile = scenario("profiles/a100.yaml");
  const std::string case_file = scenario("validation/korthikanti2022-22b-full-recompute.yaml");
  const Output calibrated = run("validate --json --calibration " + profile + " " + case_file);
  ASSERT_EQ(calibrated.status, 0) << calibrated.text;
  const auto report = nlohmann::json::parse(calibrated.text);
  EXPECT_EQ(report["calibration"], profile);
  const double predicted = report["cases"][0]["predicted_step_time_s"];
  // The same case naming the profile itself predicts the same step, and the catalog another.
  const auto dir = test_dir();
  std::ifstream in(case_file);
  std::ofstream out(dir / "case.yaml");
  out << "calibration: " << profile << "\n" << in.rdbuf();
  out.close();
  const Output named = run("run --json " + (dir / "case.yaml").string());
  ASSERT_EQ(named.status, 0) << named.text;
  EXPECT_EQ(nlohmann::json::parse(named.text)["step_time_s"].get<double>(), predicted);
  const Output catalog = run("validate --json " + case_file);
  EXPECT_NE(nlohmann::json::parse(catalog.text)["cases"][0]["predicted_step_time_s"], predicted);
  std::filesystem::remove_all(dir);

  // A profile of another device, at the case's file (a missing GEMM fit would come from the
  // catalog).
  const Output wrong =
      run("validate --calibration " + scenario("profiles/h100.yaml") + " " + case_file);
  EXPECT_EQ(wrong.status, 2);
  EXPECT_NE(
      wrong.text.find(case_file + ": --calibration: the profile " + scenario("profiles/h100.yaml") +
                      " refines H100-SXM5-80GB, but the cluster's device is A100-SXM4-80GB"),
      std::string::npos)
      << wrong.text;
}

TEST(Cli, FitStepsFitsTheSustainedGemmFractionToMeasuredSteps) {
  // The A100 profile's microbenchmark GEMMs predict the 22B full-recompute step about 8 % fast;
  // the fraction of their throughput that makes the step come out as measured is below 1, and
  // the profile written with it predicts the step.
  const auto dir = test_dir();
  const std::string fitted = (dir / "fitted.yaml").string();
  const std::string case_file = scenario("validation/korthikanti2022-22b-full-recompute.yaml");
  const Output fit = run("calibrate fit-steps " + scenario("profiles/a100.yaml") + " " + case_file +
                         " -o " + fitted);
  ASSERT_EQ(fit.status, 0) << fit.text;
  EXPECT_NE(fit.text.find("sustained GEMM fraction 0."), std::string::npos) << fit.text;
  const Output validated = run("validate --json --calibration " + fitted + " " + case_file);
  ASSERT_EQ(validated.status, 0) << validated.text;
  const auto report = nlohmann::json::parse(validated.text);
  EXPECT_LT(report["mape_percent"].get<double>(), 0.5) << validated.text;
  std::ifstream in(fitted);
  const std::string profile((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(profile.find("sustained_gemm_fraction: {value: 0."), std::string::npos);
  EXPECT_NE(profile.find("fitted by scaleplan calibrate fit-steps to 1 measured steps ("),
            std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(Cli, FitCatalogFitsTheSustainedShareOfTheCatalogsDevices) {
  // One H100 run: a share exists that predicts it to within the search's tolerance (0.001 of the
  // share, about 0.15 % of the step), and the report names the share the catalog had.
  const std::string case_file = scenario("validation/published/nemo2407-llama2-7b-8xh100.yaml");
  const Output fit = run("calibrate fit-catalog " + case_file);
  ASSERT_EQ(fit.status, 0) << fit.text;
  EXPECT_NE(fit.text.find("with the catalog's sustained share:"), std::string::npos) << fit.text;
  const auto share_at = fit.text.find("\nsustained share 0.");
  ASSERT_NE(share_at, std::string::npos) << fit.text;
  const auto mape_at = fit.text.find("MAPE", share_at);
  ASSERT_NE(mape_at, std::string::npos) << fit.text;
  EXPECT_LT(std::stod(fit.text.substr(fit.text.find_first_of("0123456789", mape_at))), 0.3)
      << fit.text;
  EXPECT_NE(fit.text.find("for the catalog: sustained_share: {value: 0."), std::string::npos);
  // An A100 run: its catalog figures were fitted to steps directly and carry no share.
  const std::string a100 = scenario("validation/korthikanti2022-22b-full-recompute.yaml");
  const Output refused = run("calibrate fit-catalog " + a100);
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.text.find(a100 + ": cluster.device: the catalog gives A100-SXM4-80GB no "
                                     "sustained_share"),
            std::string::npos)
      << refused.text;
}

TEST(Cli, ValidateRefusesCasesWithoutMeasurements) {
  const Output out = run("validate " + scenario("gpt3-175b-64xa100.yaml"));
  EXPECT_EQ(out.status, 2);
  EXPECT_NE(out.text.find("measured: a validation case needs a measured: block"), std::string::npos)
      << out.text;
}

TEST(Cli, ValidateGivesTheSameReportOnAnyNumberOfThreads) {
  // Cases predicted side by side come back in the order given, with the same figures to the bit.
  const std::string cases = scenario("validation/korthikanti2022-22b-full-recompute.yaml") + " " +
                            scenario("validation/korthikanti2022-22b-selective-recompute-sp.yaml") +
                            " " + scenario("validation/korthikanti2022-175b-full-recompute.yaml");
  const Output one = run("validate --json --threads 1 " + cases);
  const Output three = run("validate --json --threads 3 " + cases);
  ASSERT_EQ(one.status, 0) << one.text;
  EXPECT_EQ(one.text, three.text);
  const auto report = nlohmann::json::parse(three.text);
  ASSERT_EQ(report["cases"].size(), 3u);
  EXPECT_EQ(report["cases"][2]["case"], "korthikanti2022-175b-full-recompute");

  // Of two files that are not cases, the error names the first given, whichever thread reads it.
  const Output refused = run("validate --threads 2 " + scenario("gpt3-175b-64xa100.yaml") + " " +
                             scenario("gpt3-1.3b-8xa100.yaml"));
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.text.find("gpt3-175b-64xa100.yaml"), std::string::npos) << refused.text;
  EXPECT_EQ(refused.text.find("gpt3-1.3b-8xa100.yaml"), std::string::npos) << refused.text;
}

TEST(Cli, ValidateGroupsTheErrorByDeviceFrameworkOrDtype) {
  // Two A100 runs of Megatron-LM (2021) in fp16 and one H100 run of NeMo in fp8: each group's
  // MAPE is the mean of its cases' absolute errors, its worst their largest.
  const std::string cases = scenario("validation/korthikanti2022-22b-full-recompute.yaml") + " " +
                            scenario("validation/published/nemo2407-llama2-7b-8xh100.yaml") + " " +
                            scenario("validation/published/narayanan2021-1.7b-32xa100.yaml");
  const Output out = run("validate --json --by device " + cases);
  ASSERT_EQ(out.status, 0) << out.text;
  const auto report = nlohmann::json::parse(out.text);
  const auto& c = report["cases"];
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0]["device"], "A100-SXM4-80GB");
  EXPECT_EQ(c[1]["framework"], "nemo");
  EXPECT_EQ(c[2]["dtype"], "fp16");
  const auto percent = [&](int i) { return 100 * std::abs(c[i]["relative_error"].get<double>()); };
  const auto& groups = report["groups"];
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0]["device"], "A100-SXM4-80GB");  // most cases first
  EXPECT_EQ(groups[0]["cases"], 2);
  EXPECT_NEAR(groups[0]["mape_percent"].get<double>(), (percent(0) + percent(2)) / 2, 1e-9);
  EXPECT_NEAR(groups[0]["worst_percent"].get<double>(), std::max(percent(0), percent(2)), 1e-9);
  EXPECT_EQ(groups[1]["device"], "H100-SXM5-80GB");
  EXPECT_NEAR(groups[1]["mape_percent"].get<double>(), percent(1), 1e-9);
  EXPECT_EQ(groups[1]["worst_case"], "nemo2407-llama2-7b-8xh100");

  const Output text = run("validate --by dtype " + cases);
  ASSERT_EQ(text.status, 0) << text.text;
  EXPECT_NE(text.text.find("\ndtype  cases     MAPE    worst  worst case\nfp16       2  "),
            std::string::npos)
      << text.text;
  EXPECT_NE(text.text.find("\nfp8        1  "), std::string::npos) << text.text;
  EXPECT_EQ(run("validate --by source " + cases).status, 2);
}

TEST(Cli, ValidateSkipsScenariosWithoutMeasurementsInADirectory) {
  // A directory of one validation case and one plain scenario: the case is validated, the
  // scenario skipped with a note in the report.
  const auto dir = test_dir() / "runs";
  std::filesystem::create_directories(dir);
  std::filesystem::copy(scenario("validation/korthikanti2022-22b-full-recompute.yaml"), dir);
  std::filesystem::copy(scenario("gpt3-175b-64xa100.yaml"), dir);
  const Output text = run("validate " + dir.string());
  ASSERT_EQ(text.status, 0) << text.text;
  EXPECT_NE(text.text.find("skipped " + (dir / "gpt3-175b-64xa100.yaml").string() +
                           ": no measured: block\n"),
            std::string::npos)
      << text.text;
  EXPECT_NE(text.text.find("\n1 case: MAPE"), std::string::npos) << text.text;
  const auto json = nlohmann::json::parse(run("validate --json " + dir.string()).text);
  EXPECT_EQ(json["cases"].size(), 1u);
  EXPECT_EQ(json["skipped"][0]["reason"], "no measured: block");

  // A directory with no case at all has nothing to report.
  std::filesystem::remove(dir / "korthikanti2022-22b-full-recompute.yaml");
  const Output none = run("validate " + dir.string());
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.text.find("none of the 1 file given is a validation case"), std::string::npos)
      << none.text;
  std::filesystem::remove_all(dir.parent_path());
}

}  // namespace

namespace {

TEST(Cli, LinksReportTheBusiestLinks) {
  const Output text = run("run --links " + scenario("gpt3-175b-64xa100.yaml"));
  ASSERT_EQ(text.status, 0) << text.text;
  EXPECT_NE(text.text.find("busiest links"), std::string::npos) << text.text;
  const Output json = run("run --json " + scenario("gpt3-175b-64xa100.yaml"));
  const auto j = nlohmann::json::parse(json.text);
  ASSERT_FALSE(j["busiest_links"].empty());
  double previous = 2;
  for (const auto& link : j["busiest_links"]) {
    const double u = link["utilization"];
    // A link never carries more than its bandwidth allows over the step.
    EXPECT_GT(u, 0);
    EXPECT_LE(u, 1.0 + 1e-9);
    EXPECT_LE(u, previous);
    previous = u;
  }
  // Tensor-parallel all-reduces dominate: the busiest links are NVSwitch links.
  EXPECT_NE(j["busiest_links"][0]["link"].get<std::string>().find("switch"), std::string::npos);
  // By tier: 8 DGX nodes on a two-tier fat-tree have NVLink, device-NIC, NIC and leaf-spine
  // links, in that order, with the default 3 busiest of each.
  std::vector<std::string> tiers;
  for (const auto& tier : j["links_by_tier"]) {
    tiers.push_back(tier["tier"]);
    EXPECT_LE(tier["busiest"].size(), 3u);
    EXPECT_LE(tier["links_used"].get<std::size_t>(), tier["links"].get<std::size_t>());
  }
  EXPECT_EQ(tiers, (std::vector<std::string>{"NVLink", "device-NIC", "NIC", "leaf-spine"}));
  // --links=N shows N of each tier.
  const Output one = run("run --links=1 " + scenario("gpt3-175b-64xa100.yaml"));
  ASSERT_EQ(one.status, 0) << one.text;
  EXPECT_NE(one.text.find("  leaf-spine: "), std::string::npos) << one.text;
  EXPECT_NE(run("run --links=0 " + scenario("gpt3-175b-64xa100.yaml")).status, 0);
}

}  // namespace

namespace {

TEST(Cli, UnwritableOutputIsABadInput) {
  const Output out =
      run("run " + scenario("gpt3-175b-64xa100.yaml") + " --trace /nonexistent-dir/step.json");
  EXPECT_EQ(out.status, 2);
  EXPECT_NE(out.text.find("/nonexistent-dir/step.json: cannot open for writing"), std::string::npos)
      << out.text;
}

TEST(Cli, TopologyThatCannotBeBuiltNamesTheNetworkKey) {
  // 64 nodes × 8 NICs = 512 NICs; radix-8 switches hold at most 128 in the tiers allowed.
  const auto file = test_dir() / "tiers.yaml";
  std::ofstream(file) << "name: t\ncluster:\n  device: A100-SXM4-80GB\n  nodes: 64\n"
                         "  devices_per_node: 8\n  network:\n    topology: fat-tree\n"
                         "    link_bandwidth_gbps: 200\n    switch_radix: 8\n"
                         "model: {preset: gpt3-1.3b}\ntraining: {global_batch: 512}\n";
  const Output out = run("run " + file.string());
  EXPECT_EQ(out.status, 2);
  EXPECT_NE(out.text.find("tiers.yaml:7:5: cluster.network: 512 NICs do not fit"),
            std::string::npos)
      << out.text;
}

}  // namespace
