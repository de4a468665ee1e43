// The whole loop on this machine: the CPU benchmark programs measure, `scaleplan calibrate fit`
// fits and reports the fit quality, `scaleplan calibrate compare` predicts every measured point.
#include <filesystem>
#include <regex>

#include <gtest/gtest.h>

#include "tests/support/command.hpp"

#include "calibrate/measurements.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

Output run(const std::string& command) {
  return scaleplan::test::run_command(command);
}

std::filesystem::path work_dir() {
  return scaleplan::test::scratch_dir("scaleplan-calibrate-loop");
}

// Every "R² x, worst error y %" of the fit report.
std::vector<std::pair<double, double>> qualities(const std::string& report) {
  static const std::regex pattern(R"(R² (-?[0-9.]+), worst error ([0-9.]+) %)");
  std::vector<std::pair<double, double>> found;
  for (auto it = std::sregex_iterator(report.begin(), report.end(), pattern);
       it != std::sregex_iterator(); ++it) {
    found.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]) / 100);
  }
  return found;
}

TEST(CalibrateLoop, CpuMeasureFitCompare) {
  const auto dir = work_dir();
  const std::string gemm = (dir / "cpu.yaml").string(), mpi = (dir / "mpi.yaml").string(),
                    profile = (dir / "profile.yaml").string();
  Output out = run(std::string(SCALEPLAN_BENCH_CPU) + " -o " + gemm +
                   " --no-transformer --grid-min 8 --grid-max 512 --grid-factor 4"
                   " --grid-batches 1,4 --memory-min-bytes 4M --memory-max-bytes 32M"
                   " --memory-factor 2 --warmup 1 --repeats 5");
  ASSERT_EQ(out.status, 0) << out.text;
  // OpenMPI keeps some of its allocations to process exit; under the sanitizer build that is
  // reported as leaks that are not ours, so the MPI ranks run without leak detection.
  out = run(std::string(SCALEPLAN_MPIRUN) + " --allow-run-as-root --oversubscribe -np 2" +
            " -x ASAN_OPTIONS=detect_leaks=0 " + SCALEPLAN_BENCH_MPI + " -o " + mpi +
            " -b 8 -e 256K -f 4 --warmup 2 --iterations 10 --repeats 5");
  ASSERT_EQ(out.status, 0) << out.text;
  const scaleplan::Measurements measured = scaleplan::load_measurements(mpi);
  ASSERT_EQ(measured.runs.size(), 1u);
  EXPECT_EQ(measured.runs[0].collectives.size(), 6u * 8);  // 6 collectives, 8 B to 128 KiB by 4
  EXPECT_FALSE(measured.runs[0].environment.mpi.empty());

  out =
      run(std::string(SCALEPLAN_BINARY) + " calibrate fit " + gemm + " " + mpi + " -o " + profile);
  ASSERT_EQ(out.status, 0) << out.text;
  std::cout << out.text;
  for (const char* line : {"gemm fp32", "memory", "launch", "all-reduce mpi 2 ranks / 1 node",
                           "send-recv mpi 2 ranks / 1 node"}) {
    EXPECT_NE(out.text.find(line), std::string::npos) << line;
  }
  const auto q = qualities(out.text);
  ASSERT_EQ(q.size(), 8u) << out.text;  // gemm, memory and six collectives
  // GEMM times span four orders of magnitude over these shapes; the model must follow them.
  EXPECT_GT(q[0].first, 0.9) << out.text;
  for (const auto& [r_squared, worst] : q) {
    EXPECT_LE(r_squared, 1.0);
    EXPECT_TRUE(std::isfinite(worst) && worst >= 0);
  }

  out = run(std::string(SCALEPLAN_BINARY) + " calibrate compare " + profile + " " + gemm);
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("gemm: 128 points"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("memory: 8 points"), std::string::npos) << out.text;
  out = run(std::string(SCALEPLAN_BINARY) + " calibrate compare " + profile + " " + mpi);
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("collective: 48 points"), std::string::npos) << out.text;
  std::filesystem::remove_all(dir);
}

}  // namespace
