#include "hardware/io/catalog.hpp"

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

TEST(Catalog, BuiltinHasTheRequiredDevices) {
  const Catalog& catalog = Catalog::builtin();
  for (const char* name : {"A100-SXM4-40GB", "A100-SXM4-80GB", "H100-SXM5-80GB", "H200-SXM-141GB",
                           "TPU-v4", "TPU-v5p"}) {
    EXPECT_NE(catalog.find(name), nullptr) << name;
  }
  bool has_fpga = false;
  for (const auto& d : catalog.devices())
    has_fpga = has_fpga || d.kind == DeviceKind::fpga;
  EXPECT_TRUE(has_fpga);
}

TEST(Catalog, EveryFigureHasASource) {
  for (const auto& d : Catalog::builtin().devices()) {
    EXPECT_FALSE(d.peak_flops_per_s.empty()) << d.name;
    for (const auto& [dtype, f] : d.peak_flops_per_s)
      EXPECT_FALSE(f.source.empty()) << d.name;
    for (const Figure* f : {&d.memory_bytes, &d.memory_bandwidth_bytes_per_s,
                            &d.intra_node_link_bandwidth_bytes_per_s, &d.power_w,
                            &d.compute_efficiency, &d.memory_efficiency}) {
      EXPECT_GT(f->value, 0) << d.name;
      EXPECT_GT(f->source.size(), 5u) << d.name;
    }
  }
}

TEST(Catalog, KnownFiguresMatchDatasheets) {
  const DeviceSpec& a100 = *Catalog::builtin().find("A100-SXM4-80GB");
  EXPECT_DOUBLE_EQ(a100.peak_flops(Dtype::bf16), 312e12);
  EXPECT_FALSE(a100.supports(Dtype::fp8));
  EXPECT_THROW(a100.peak_flops(Dtype::fp8), std::invalid_argument);
  const DeviceSpec& h100 = *Catalog::builtin().find("H100-SXM5-80GB");
  EXPECT_NEAR(h100.peak_flops(Dtype::bf16), 989e12, 1e12);
}

constexpr const char* minimal_device = R"(
network_defaults:
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
    power_w: 300
    compute_efficiency: {value: 1.5, source: "s"}
    memory_efficiency: {value: 0.9}
    kernel_launch_overhead_s: {value: 1.0e-6, source: "s"}
    collective_step_latency_s: {value: 1.0e-6, source: "s"}
)";

TEST(Catalog, FiguresWithoutSourcesAreRejected) {
  try {
    Catalog::parse(minimal_device, "cat.yaml");
    FAIL();
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cat.yaml:15:14: devices[0].power_w: expected {value: NUMBER, source:"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("devices[0].compute_efficiency.value: must be from 0.001 to 1"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("devices[0].memory_efficiency.source: required key is missing"),
              std::string::npos)
        << what;
  }
}

}  // namespace
}  // namespace scaleplan
