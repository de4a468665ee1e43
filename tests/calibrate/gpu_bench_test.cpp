// scaleplan-bench-gpu on a real GPU (built only with CUDA; skipped on a machine without one).
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/command.hpp"

#include "calibrate/measurements.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

Output run(const std::string& command) {
  return scaleplan::test::run_command(command);
}

std::filesystem::path work_dir() {
  return scaleplan::test::scratch_dir("scaleplan-gpu-bench");
}

TEST(GpuBench, MeasuresGemmsMemoryAndLaunches) {
  if (!std::filesystem::exists("/proc/driver/nvidia/version"))
    GTEST_SKIP() << "no NVIDIA driver on this machine (/proc/driver/nvidia/version)";
  const auto dir = work_dir();
  const std::string file = (dir / "gpu.yaml").string();
  const Output out = run(std::string(SCALEPLAN_BENCH_GPU) + " -o " + file +
                         " --no-transformer --grid-min 256 --grid-max 1024 --dtypes fp32,bf16"
                         " --memory-min-bytes 16M --memory-max-bytes 64M");
  ASSERT_EQ(out.status, 0) << out.text;
  const scaleplan::Measurements m = scaleplan::load_measurements(file);
  EXPECT_EQ(m.runs[0].gemm.size(), 2u * 8);
  EXPECT_FALSE(m.runs[0].environment.cuda.empty());
  std::filesystem::remove_all(dir);
}

}  // namespace
