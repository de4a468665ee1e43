// The profile in the simulator: ProfiledComputeModel, and `calibration:` in scenarios.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "sim/compute_model.hpp"
#include "sim/scenario.hpp"

namespace scaleplan {
namespace {

std::string source_dir() {
  return SCALEPLAN_SOURCE_DIR;
}

TEST(ProfiledComputeModel, GemmsFromTheProfileStreamsFromItsBandwidth) {
  const Profile profile = load_profile(source_dir() + "/scenarios/profiles/h100.yaml");
  const DeviceSpec& device = *Catalog::builtin().find("H100-SXM5-80GB");
  const ProfiledComputeModel model(device, profile, "h100.yaml");
  const Kernel gemm = make_gemm("qkv", {4096, 4096, 4096, 1}, Dtype::bf16);
  // A table point of the XLA measurements: 783.3 TFLOP/s.
  EXPECT_NEAR(model.kernel_time_s(gemm), gemm.flops / 783.3e12, 1e-12);
  Kernel norm;
  norm.kind = KernelKind::norm;
  norm.dtype = Dtype::bf16;
  norm.bytes = 1e9;
  // No memory fit in the built-in profile: the catalog's roofline plus launch.
  EXPECT_NEAR(model.kernel_time_s(norm),
              1e9 / (device.memory_bandwidth_bytes_per_s.value * device.memory_efficiency.value) +
                  device.kernel_launch_overhead_s.value,
              1e-12);
  EXPECT_THROW(model.kernel_time_s(make_gemm("x", {64, 64, 64, 1}, Dtype::fp8)),
               std::invalid_argument);
  EXPECT_NE(model.description().find("calibration profile h100.yaml"), std::string::npos);

  Profile with_memory = profile;
  with_memory.memory = BandwidthProfile{{2e12, "t"}, {3e-6, "t"}, std::nullopt};
  const ProfiledComputeModel measured(device, with_memory, "m");
  EXPECT_NEAR(measured.kernel_time_s(norm), 3e-6 + 1e9 / 2e12, 1e-15);
}

TEST(ProfiledComputeModel, StepLatencyFromTheIntraNodeAllReduce) {
  const Profile profile = load_profile(source_dir() + "/scenarios/profiles/a100.yaml");
  // 56 us over the 2·(8-1) steps of an 8-rank ring all-reduce.
  EXPECT_NEAR(*profiled_collective_step_latency_s(profile), 56e-6 / 14, 1e-15);
  EXPECT_FALSE(profiled_collective_step_latency_s(Profile{}));
}

class ScenarioCalibration : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("scaleplan-calibration-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "profiles");
    std::filesystem::copy_file(source_dir() + "/scenarios/profiles/a100.yaml",
                               dir_ / "profiles" / "a100.yaml",
                               std::filesystem::copy_options::overwrite_existing);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string scenario(const std::string& calibration, const std::string& device,
                       const std::string& dtype = "bf16") {
    const auto path = dir_ / "s.yaml";
    std::ofstream(path) << "name: t\ncalibration: " << calibration
                        << "\ncluster:\n  device: " << device
                        << "\n  nodes: 1\n  devices_per_node: 8\nmodel:\n  preset: gpt3-1.3b\n"
                           "training:\n  global_batch: 8\n  dtype: "
                        << dtype << "\nparallelism:\n  tp: 8\n";
    return path.string();
  }

  std::string error_of(const std::string& path) {
    try {
      load_scenario(path, Catalog::builtin());
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }

  std::filesystem::path dir_;
};

TEST_F(ScenarioCalibration, PathIsRelativeToTheScenarioAndFeedsThePrediction) {
  const std::string path = scenario("profiles/a100.yaml", "A100-SXM4-80GB");
  const Scenario s = load_scenario(path, Catalog::builtin());
  ASSERT_TRUE(s.profile);
  EXPECT_EQ(*s.calibration, (dir_ / "profiles" / "a100.yaml").string());
  // The prediction says which profile timed it.
  FILE* pipe = popen((std::string(SCALEPLAN_BINARY) + " run " + path + " 2>&1").c_str(), "r");
  std::string text;
  std::array<char, 4096> buffer{};
  std::size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    text.append(buffer.data(), n);
  EXPECT_EQ(pclose(pipe), 0) << text;
  EXPECT_NE(text.find("compute model: calibration profile " + *s.calibration), std::string::npos)
      << text;
}

TEST_F(ScenarioCalibration, ErrorsNameTheKeyAndSayWhy) {
  std::string e = error_of(scenario("profiles/missing.yaml", "A100-SXM4-80GB"));
  EXPECT_NE(e.find("missing.yaml: no such file"), std::string::npos) << e;
  EXPECT_NE(e.find("s.yaml:2:14: calibration: cannot use the profile"), std::string::npos) << e;
  e = error_of(scenario("profiles/a100.yaml", "H100-SXM5-80GB"));
  EXPECT_NE(e.find("refines A100-SXM4-80GB, but the cluster's device is H100-SXM5-80GB"),
            std::string::npos)
      << e;
  e = error_of(scenario("profiles/a100.yaml", "A100-SXM4-80GB", "tf32"));
  EXPECT_NE(e.find("has no tf32 GEMM fit for training.dtype; it has bf16, fp16"), std::string::npos)
      << e;
}

}  // namespace
}  // namespace scaleplan
