// scaleplan-bench-gpu on a real GPU (built only with CUDA; skipped on a machine without one).
#include <array>
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "calibrate/measurements.hpp"

namespace {

struct Output {
  int status = 0;
  std::string text;
};

Output run(const std::string& command) {
  Output out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::array<char, 4096> buffer{};
  std::size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    out.text.append(buffer.data(), n);
  const int status = pclose(pipe);
  out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::filesystem::path work_dir() {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("scaleplan-gpu-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
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
