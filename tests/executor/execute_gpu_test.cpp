// `scaleplan execute --backend cuda` end to end on one GPU: the 1-rank tensor-parallel-free plan
// of a small scenario runs, writes its trace, and compares with its prediction op for op. Skips
// where there is no GPU; bench/gpu_closed_loop is the fuller check, with a calibration.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/command.hpp"

namespace {

TEST(ExecuteGpu, OneGpuPlanRunsAndComparesOpForOp) {
  if (!std::filesystem::exists("/proc/driver/nvidia/version"))
    GTEST_SKIP() << "no NVIDIA driver on this machine (/proc/driver/nvidia/version)";
  const auto dir = scaleplan::test::scratch_dir("scaleplan-execute-gpu");
  const std::string source = SCALEPLAN_SOURCE_DIR, binary = SCALEPLAN_BINARY;
  const std::string scenario = source + "/scenarios/gpu/llama-1b-1gpu.yaml";
  const std::string predicted = (dir / "predicted.json").string(),
                    measured = (dir / "measured.json").string();
  auto out = scaleplan::test::run_command(binary + " run " + scenario + " --all-ranks --trace " +
                                          predicted);
  ASSERT_EQ(out.status, 0) << out.text;
  out = scaleplan::test::run_command(std::string(SCALEPLAN_MPIRUN) + " --allow-run-as-root -np 1 " +
                                     binary + " execute " + scenario +
                                     " --backend cuda --warmup 1 --steps 2 -o " + measured);
  ASSERT_EQ(out.status, 0) << out.text;
  out = scaleplan::test::run_command(binary + " compare --json " + predicted + " " + measured);
  ASSERT_EQ(out.status, 0) << out.text;
  const nlohmann::json j = nlohmann::json::parse(out.text);
  EXPECT_EQ(j["unmatched_ops"].get<int>(), 0);
  EXPECT_TRUE(j["order_differences"].empty()) << out.text;
  EXPECT_GT(j["step"]["measured_s"].get<double>(), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
