// Every error the catalog reader (hardware/catalog.cpp) can give a user, with its message.
#include <gtest/gtest.h>

#include "hardware/io/catalog.hpp"
#include "tests/support/input_errors.hpp"

namespace scaleplan {
namespace {

const std::string valid = R"(network_defaults:
  switch_latency_s: {value: 1.0e-7, source: "s"}
  nic_latency_s: {value: 1.0e-6, source: "s"}
devices:
  - name: X
    kind: gpu
    peak_flops_per_s:
      bf16: {value: 1.0e12, source: "s"}
    memory_bytes: {value: 1.0e9, source: "s"}
    memory_bandwidth_bytes_per_s: {value: 1.0e9, source: "s"}
    intra_node_link_bandwidth_bytes_per_s: {value: 1.0e9, source: "s"}
    host_link_bandwidth_bytes_per_s: {value: 1.0e9, source: "s"}
    intra_node_link_latency_s: {value: 1.0e-6, source: "s"}
    power_w: {value: 300, source: "s"}
    compute_efficiency: {value: 0.5, source: "s"}
    memory_efficiency: {value: 0.9, source: "s"}
    kernel_launch_overhead_s: {value: 1.0e-6, source: "s"}
    collective_step_latency_s: {value: 1.0e-6, source: "s"}
)";

std::string errors_of(const std::string& text) {
  return test::input_error_of([&] { Catalog::parse(text, "c.yaml"); });
}

TEST(CatalogErrors, ValidCatalogParses) {
  EXPECT_EQ(errors_of(valid), "");
}

TEST(CatalogErrors, MissingSections) {
  EXPECT_EQ(errors_of("{}\n"),
            "c.yaml:1:1: network_defaults: required key is missing\n"
            "c.yaml: network_defaults.switch_latency_s: required key is missing\n"
            "c.yaml: network_defaults.nic_latency_s: required key is missing\n"
            "c.yaml:1:1: devices: required key is missing");
  EXPECT_NE(
      errors_of("network_defaults: 3\ndevices: {}\n").find("c.yaml:2:10: devices: expected a list"),
      std::string::npos);
}

TEST(CatalogErrors, AnAttentionCurvesLengthNeedsItsEfficiency) {
  // The length at half the efficiency means nothing without the efficiency it halves; each
  // library's pair is read apart, and the length is a sequence, not a fraction.
  const std::string e = errors_of(test::replace(
      valid, "    memory_efficiency: {value: 0.9, source: \"s\"}",
      "    memory_efficiency: {value: 0.9, source: \"s\"}\n"
      "    attention_efficiency: {value: 0.5, source: \"s\"}\n"
      "    attention_half_efficiency_keys_flash_attention_2: {value: 300, source: \"s\"}"));
  EXPECT_NE(e.find("devices[0].attention_half_efficiency_keys_flash_attention_2: the length at "
                   "half the efficiency needs attention_efficiency_flash_attention_2 beside it"),
            std::string::npos)
      << e;
  const std::string library_alone = errors_of(
      test::replace(valid, "    memory_efficiency: {value: 0.9, source: \"s\"}",
                    "    memory_efficiency: {value: 0.9, source: \"s\"}\n"
                    "    attention_efficiency_flash_attention_triton: {value: 0.3, source: \"s\"}\n"
                    "    attention_half_efficiency_keys_flash_attention_triton: {value: 400, "
                    "source: \"s\"}"));
  EXPECT_EQ(library_alone, "");
  const std::string zero =
      errors_of(test::replace(valid, "    memory_efficiency: {value: 0.9, source: \"s\"}",
                              "    memory_efficiency: {value: 0.9, source: \"s\"}\n"
                              "    attention_efficiency: {value: 0.5, source: \"s\"}\n"
                              "    attention_half_efficiency_keys: {value: 0, source: \"s\"}"));
  EXPECT_NE(zero.find("devices[0].attention_half_efficiency_keys.value: must be"),
            std::string::npos)
      << zero;
}

TEST(CatalogErrors, ZeroBandwidthIsRefused) {
  const std::string e =
      errors_of(test::replace(valid, "memory_bandwidth_bytes_per_s: {value: 1.0e9",
                              "memory_bandwidth_bytes_per_s: {value: 0"));
  EXPECT_EQ(e,
            "c.yaml:10:43: devices[0].memory_bandwidth_bytes_per_s.value: must be from 1000000 to "
            "1000000000000000, got 0");
  const std::string negative = errors_of(
      test::replace(valid, "memory_bytes: {value: 1.0e9", "memory_bytes: {value: -1.0e9"));
  EXPECT_EQ(
      negative,
      "c.yaml:9:27: devices[0].memory_bytes.value: must be from 1048576 to 1125899906842624, got "
      "-1000000000");
}

TEST(CatalogErrors, FiguresNeedASource) {
  EXPECT_EQ(errors_of(test::replace(valid, "power_w: {value: 300, source: \"s\"}", "power_w: 300")),
            "c.yaml:14:14: devices[0].power_w: expected {value: NUMBER, source: \"where the figure "
            "comes from\"}");
  EXPECT_EQ(errors_of(test::replace(valid, "power_w: {value: 300, source: \"s\"}",
                                    "power_w: {value: 300, source: \"\"}")),
            "c.yaml:14:35: devices[0].power_w.source: must name where the figure comes from");
  EXPECT_EQ(errors_of(test::replace(valid, "power_w: {value: 300, source: \"s\"}",
                                    "power_w: {source: \"s\"}")),
            "c.yaml:14:14: devices[0].power_w.value: required key is missing");
  EXPECT_EQ(errors_of(test::replace(valid, "      bf16: {value: 1.0e12, source: \"s\"}\n", "")),
            "c.yaml:7:5: devices[0].peak_flops_per_s: needs the peak of at least one dtype: fp32, "
            "tf32, bf16, fp16 or fp8");
  EXPECT_EQ(errors_of(test::replace(
                valid, "    peak_flops_per_s:\n      bf16: {value: 1.0e12, source: \"s\"}\n", "")),
            "c.yaml:5:5: devices[0].peak_flops_per_s: required key is missing");
}

TEST(CatalogErrors, EfficienciesAreFractions) {
  EXPECT_EQ(errors_of(test::replace(valid, "compute_efficiency: {value: 0.5",
                                    "compute_efficiency: {value: 1.5")),
            "c.yaml:15:33: devices[0].compute_efficiency.value: must be from 0.001 to 1, got 1.5");
}

TEST(CatalogErrors, EveryDeviceKindParses) {
  for (DeviceKind kind : {DeviceKind::gpu, DeviceKind::tpu, DeviceKind::fpga, DeviceKind::cpu}) {
    const std::string text =
        test::replace(valid, "kind: gpu", "kind: " + std::string(to_string(kind)));
    EXPECT_EQ(Catalog::parse(text, "c.yaml").devices().front().kind, kind) << to_string(kind);
  }
}

TEST(CatalogErrors, KindAndDtypeAreChecked) {
  const std::string e = errors_of(
      test::replace(test::replace(valid, "kind: gpu", "kind: gpuu"), "      bf16:", "      bf17:"));
  EXPECT_NE(e.find("c.yaml:6:11: devices[0].kind: 'gpuu' is not one of gpu, tpu, fpga or cpu; "
                   "did you mean 'gpu'?"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("c.yaml:8:7: devices[0].peak_flops_per_s.bf17: unknown key; did you mean "
                   "'bf16'?"),
            std::string::npos)
      << e;
}

TEST(CatalogErrors, DuplicateNamesAreRefused) {
  const std::string device = valid.substr(valid.find("  - name: X"));
  EXPECT_EQ(errors_of(valid + device),
            "c.yaml:19:11: devices[1].name: 'X' appears twice in the catalog");
}

// The GEMM figures by dtype and the tiling (issue 12 points 8 and 9): each bad value is named at
// its key with what would be valid.
const std::string tiling = R"(    gemm_tiling:
      sm_count: {value: 132, source: "s"}
      max_tile_m: {value: 128, source: "s"}
      max_tile_n: {value: 256, source: "s"}
      min_tile: {value: 64, source: "s"}
)";

TEST(CatalogErrors, GemmTilingAndDtypeEfficienciesParse) {
  const std::string text =
      valid + tiling +
      "    compute_efficiency_by_dtype:\n      bf16: {value: 0.4, source: \"s\"}\n";
  const Catalog catalog = Catalog::parse(text, "c.yaml");
  const DeviceSpec& d = *catalog.find("X");
  ASSERT_TRUE(d.gemm_tiling);
  EXPECT_EQ(d.gemm_tiling->sm_count.value, 132);
  EXPECT_EQ(d.gemm_tiling->max_tile_n.value, 256);
  EXPECT_EQ(d.compute_efficiency_of(Dtype::bf16).value, 0.4);
  EXPECT_EQ(d.compute_efficiency_of(Dtype::fp8).value, 0.5);  // compute_efficiency
}

TEST(CatalogErrors, ADtypeEfficiencyNeedsThePeakOfThatDtype) {
  EXPECT_EQ(errors_of(valid + "    compute_efficiency_by_dtype:\n"
                              "      fp8: {value: 0.4, source: \"s\"}\n"),
            "c.yaml:20:12: devices[0].compute_efficiency_by_dtype.fp8: the device has no fp8 peak; "
            "use one of its dtypes: bf16");
  EXPECT_EQ(errors_of(valid + "    compute_efficiency_by_dtype:\n"
                              "      bf16: {value: 1.2, source: \"s\"}\n"),
            "c.yaml:20:21: devices[0].compute_efficiency_by_dtype.bf16.value: must be from 0.001 "
            "to 1, got 1.2");
}

TEST(CatalogErrors, GemmTilingIsCheckedKeyByKey) {
  // Every key required.
  EXPECT_EQ(
      errors_of(valid + test::replace(tiling, "      min_tile: {value: 64, source: \"s\"}\n", "")),
      "c.yaml:20:7: devices[0].gemm_tiling.min_tile: required key is missing");
  // Tile sides are powers of two.
  EXPECT_EQ(
      errors_of(valid + test::replace(tiling, "max_tile_m: {value: 128", "max_tile_m: {value: 96")),
      "c.yaml:21:19: devices[0].gemm_tiling.max_tile_m: must be a power of two (64, 128, "
      "256, ...), got 96");
  // The smallest tile is no larger than the largest.
  EXPECT_EQ(
      errors_of(valid + test::replace(tiling, "min_tile: {value: 64", "min_tile: {value: 512")),
      "c.yaml:23:17: devices[0].gemm_tiling.min_tile: must be at most the largest tile's "
      "sides (128 x 256), got 512");
  // A whole, positive number of processors.
  EXPECT_EQ(
      errors_of(valid + test::replace(tiling, "sm_count: {value: 132", "sm_count: {value: 13.5")),
      "c.yaml:20:17: devices[0].gemm_tiling.sm_count: must be a whole number of "
      "processors, got 13.5");
  // The SMs a collective's kernel holds leave the GEMMs some, and are a whole number too.
  const std::string held = "      collective_kernel_sms: {value: 24, source: \"s\"}\n";
  EXPECT_EQ(Catalog::parse(valid + tiling + held, "c.yaml")
                .find("X")
                ->gemm_tiling->collective_kernel_sms->value,
            24);
  EXPECT_EQ(errors_of(valid + tiling + test::replace(held, "24", "132")),
            "c.yaml:24:30: devices[0].gemm_tiling.collective_kernel_sms: must be fewer than "
            "sm_count (132), got 132");
  EXPECT_EQ(errors_of(valid + tiling + test::replace(held, "24", "2.5")),
            "c.yaml:24:30: devices[0].gemm_tiling.collective_kernel_sms: must be a whole number "
            "of processors, got 2.5");
  EXPECT_EQ(
      errors_of(valid + test::replace(tiling, "sm_count: {value: 132", "sm_count: {value: 0")),
      "c.yaml:20:25: devices[0].gemm_tiling.sm_count.value: must be from 1 to 1000000, "
      "got 0");
  EXPECT_NE(errors_of(valid + test::replace(tiling, "min_tile:", "min_tiles:"))
                .find("devices[0].gemm_tiling.min_tiles: unknown key; did you mean 'min_tile'?"),
            std::string::npos);
}

TEST(CatalogErrors, LoadReportsTheFile) {
  try {
    Catalog::load("/nonexistent/catalog.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/catalog.yaml: no such file");
  }
}

}  // namespace
}  // namespace scaleplan
