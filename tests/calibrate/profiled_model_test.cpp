// The profile in the simulator: ProfiledComputeModel, and `calibration:` in scenarios.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "hardware/io/profile_io.hpp"
#include "sim/report/prediction.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/simulate/compute_model.hpp"
#include "tests/support/collective_fits.hpp"

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
  EXPECT_NE(model.description(Dtype::bf16).find("calibration profile h100.yaml"),
            std::string::npos);

  Profile with_memory = profile;
  with_memory.memory = BandwidthProfile{{2e12, "t"}, {3e-6, "t"}, std::nullopt, {}};
  const ProfiledComputeModel measured(device, with_memory, "m");
  EXPECT_NEAR(measured.kernel_time_s(norm), 3e-6 + 1e9 / 2e12, 1e-15);

  // A step that sustains 0.8 of the measured GEMM throughput takes 1/0.8 as long per GEMM, and
  // streams as before.
  Profile sustained = with_memory;
  sustained.sustained_gemm_fraction = Figure{0.8, "t"};
  const ProfiledComputeModel slower(device, sustained, "s");
  EXPECT_NEAR(slower.kernel_time_s(gemm), gemm.flops / (0.8 * 783.3e12), 1e-12);
  EXPECT_EQ(slower.kernel_time_s(norm), measured.kernel_time_s(norm));
  EXPECT_NE(slower.description(Dtype::bf16).find("at 0.8 of the measured throughput"),
            std::string::npos)
      << slower.description(Dtype::bf16);
}

TEST(ProfiledComputeModel, FusedAttentionRunsAllItsFlopsAtItsShapesEfficiency) {
  const Profile profile = load_profile(source_dir() + "/scenarios/profiles/h100.yaml");
  const DeviceSpec& device = *Catalog::builtin().find("H100-SXM5-80GB");
  const ProfiledComputeModel model(device, profile, "h100.yaml");
  TransformerConfig config = *transformer_preset("gpt3-175b");
  config.flash_attention = true;
  config.causal = false;
  const LayerWork layer = transformer_layer(config, 1, {8, 1, false}, Dtype::bf16);
  auto find = [](const std::vector<Kernel>& kernels, const std::string& name) {
    return *std::find_if(kernels.begin(), kernels.end(),
                         [&](const Kernel& k) { return k.name == name; });
  };
  const Kernel forward = find(layer.attention.forward, "flash_attention");
  const Kernel backward = find(layer.attention.backward(), "flash_attention_backward");
  // Both kernels carry the shape of QK^T (2048 × 2048 × 128, 12 heads); without a causal mask
  // the forward also runs PV, twice that product's FLOPs, and the backward 2.5 times the forward.
  const GemmProfile& bf16 = profile.gemm.at(Dtype::bf16);
  const GemmDims qk{2048, 2048, 128, 12};
  const double qk_s = bf16.time_s(qk);
  EXPECT_DOUBLE_EQ(forward.flops, 2 * gemm_flops(qk));
  EXPECT_NEAR(model.kernel_time_s(forward) / qk_s, 2, 1e-12);
  EXPECT_NEAR(model.kernel_time_s(backward) / qk_s, 5, 1e-12);
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

// Pure data parallelism over 4 nodes of one A100 and one NIC each, gradients reduced after the
// backward pass (nothing to hide them behind), timed with the built-in A100 profile plus a
// 4-rank / 4-node all-reduce fit of `bus_bandwidth_bytes_per_s`.
Prediction predict_data_parallel(const std::filesystem::path& dir,
                                 double bus_bandwidth_bytes_per_s) {
  Profile profile = load_profile(source_dir() + "/scenarios/profiles/a100.yaml");
  std::erase_if(profile.collectives, [](const CollectiveProfile& c) { return c.nodes > 1; });
  profile.collectives.push_back(
      test::collective_fit(CollectiveOp::all_reduce, 4, 4, 1e-4, bus_bandwidth_bytes_per_s));
  std::ofstream(dir / "profiles" / "inter.yaml") << write_profile(profile);
  const auto path = dir / "dp.yaml";
  std::ofstream(path) << R"(name: dp
calibration: profiles/inter.yaml
cluster:
  device: A100-SXM4-80GB
  nodes: 4
  devices_per_node: 1
  network:
    link_bandwidth_gbps: 200
    nics_per_node: 1
model:
  preset: gpt3-1.3b
  layers: 2
training:
  global_batch: 4
parallelism:
  dp: 4
  overlap_grad_reduce: false
)";
  const Scenario s = load_scenario(path, Catalog::builtin());
  return predict(s, prepare_run(s, Catalog::builtin()));
}

TEST_F(ScenarioCalibration, InterNodeBusBandwidthSetsTheNicLinks) {
  const Prediction slow = predict_data_parallel(dir_, 10e9);
  const Prediction fast = predict_data_parallel(dir_, 20e9);
  // One rank per node: each ring crossing uses one NIC, which carries the bus bandwidth.
  EXPECT_NE(
      slow.link_bandwidths.find("NIC links 10.0 GB/s (all-reduce 4 ranks / 4 nodes bus "
                                "bandwidth 10.0 GB/s over 1 NIC per node, calibration profile"),
      std::string::npos)
      << slow.link_bandwidths;
  EXPECT_NE(format_text(fast).find("links:         intra-node links 204.0 GB/s"),
            std::string::npos);
  // Every gradient crosses the network in a 4-rank ring: each rank sends 2·3/4 of the fp32
  // gradients of every parameter through its NIC link, at 10 GB/s or at 20 GB/s. Compute and the
  // latencies are the same in both runs, so the step times differ by those bytes over 20 GB/s.
  ASSERT_EQ(slow.collectives_by_algorithm.size(), 1u);
  EXPECT_EQ(slow.collectives_by_algorithm.begin()->first, "ring");
  TransformerConfig model = *transformer_preset("gpt3-1.3b");
  model.layers = 2;
  const double nic_bytes = 1.5 * 4 * total_parameters(model);
  EXPECT_NEAR(slow.step_time_s - fast.step_time_s, nic_bytes / 10e9 - nic_bytes / 20e9, 1e-9);
  // A 1.3B model's 2-layer slice has 0.25 G parameters: 1.5 GB at 10 GB/s is most of the step.
  EXPECT_GT((slow.step_time_s - fast.step_time_s) / fast.step_time_s, 0.5);
}

TEST_F(ScenarioCalibration, ErrorsNameTheKeyAndSayWhy) {
  std::string e = error_of(scenario("profiles/missing.yaml", "A100-SXM4-80GB"));
  EXPECT_NE(e.find("missing.yaml: no such file"), std::string::npos) << e;
  EXPECT_NE(e.find("s.yaml:2:14: calibration: cannot use the profile"), std::string::npos) << e;
  e = error_of(scenario("profiles/a100.yaml", "H100-SXM5-80GB"));
  EXPECT_NE(e.find("refines A100-SXM4-80GB, but the cluster's device is H100-SXM5-80GB"),
            std::string::npos)
      << e;
}

// A profile without a GEMM fit for the job's dtype (one fitted from nccl-tests alone has none)
// times those GEMMs as the catalog does, and the report says so.
TEST_F(ScenarioCalibration, GemmsWithoutAFitComeFromTheCatalog) {
  const std::string path = scenario("profiles/a100.yaml", "A100-SXM4-80GB", "tf32");
  const Scenario s = load_scenario(path, Catalog::builtin());
  const Prediction p = predict(s, prepare_run(s, Catalog::builtin()));
  EXPECT_NE(p.compute_model.find("calibration profile " + *s.calibration +
                                 " of A100-SXM4-80GB: GEMM bf16 (2 shapes) fp16 (1 shape), "
                                 "memory from the catalog, launch overhead from the catalog; no "
                                 "tf32 GEMM fit, so tf32 GEMMs from "
                                 "the catalog's roofline of A100-SXM4-80GB: tf32 GEMMs up to 0.785 "
                                 "of peak, half of that at 10.3 GFLOP, tiles in waves over 108 "
                                 "SMs"),
            std::string::npos)
      << p.compute_model;
}

TEST(ProfiledComputeModel, GemmsOfADtypeWithoutAFitRunAsTheCatalogSays) {
  const DeviceSpec& device = *Catalog::builtin().find("H100-SXM5-80GB");
  Profile collectives_only;
  collectives_only.device = device.name;
  const ProfiledComputeModel model(device, collectives_only, "nccl.yaml");
  const RooflineModel catalog(device);
  // Without a memory fit or a launch overhead in the profile, every kernel is timed exactly as
  // the catalog's roofline times it.
  for (const Kernel& k : {make_gemm("qkv", {4096, 4096, 4096, 1}, Dtype::bf16),
                          make_gemm("small", {64, 64, 64, 1}, Dtype::fp8)}) {
    EXPECT_EQ(model.kernel_time_s(k), catalog.kernel_time_s(k)) << k.name;
  }
  // Every part of the model says where it comes from.
  EXPECT_EQ(
      model.description(Dtype::bf16),
      "calibration profile nccl.yaml of H100-SXM5-80GB: memory from the catalog, launch "
      "overhead from the catalog; no bf16 GEMM fit, so bf16 GEMMs from the catalog's "
      "roofline of H100-SXM5-80GB: bf16 GEMMs up to 0.593 of peak, half of that at 4.8 GFLOP, "
      "tiles in waves over 132 SMs, 24 of them held by each NCCL collective running beside");
  // So is fused attention: without a GEMM fit for its dtype, at the catalog's curve of its
  // library; with one, at the fit.
  EXPECT_EQ(model.attention_description(AttentionLibrary::cudnn, Dtype::bf16),
            catalog.attention_description(AttentionLibrary::cudnn, Dtype::bf16));
  Profile fitted = collectives_only;
  fitted.gemm.emplace(Dtype::bf16, GemmProfile{});
  const ProfiledComputeModel fitted_model(device, fitted, "h100.yaml");
  EXPECT_EQ(fitted_model.attention_description(AttentionLibrary::cudnn, Dtype::bf16),
            "fused attention in bf16 at the profile's GEMM fit for the shape of QK^T");
  EXPECT_EQ(fitted_model.attention_description(AttentionLibrary::cudnn, Dtype::fp16),
            catalog.attention_description(AttentionLibrary::cudnn, Dtype::fp16));
}

}  // namespace
}  // namespace scaleplan
