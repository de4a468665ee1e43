#include "hardware/io/catalog.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace scaleplan {
namespace {

TEST(Catalog, BuiltinHasTheRequiredDevices) {
  const Catalog& catalog = Catalog::builtin();
  for (const char* name :
       {"A100-SXM4-40GB", "A100-SXM4-80GB", "H100-SXM5-80GB", "H100-PCIe-80GB", "H200-SXM-141GB",
        "B200-SXM-180GB", "GB200-NVL72-186GB", "MI300X-192GB", "MI325X-256GB", "Gaudi3-HL325L",
        "TPU-v4", "TPU-v5e", "TPU-v5p", "TPU-v6e"}) {
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

// What a buyer compares: every accelerator that can be rented has a price per hour, each price
// says where it comes from, and a purchase price no vendor published says it is an estimate.
TEST(Catalog, PricesHaveSources) {
  for (const char* name : {"H100-SXM5-80GB", "H100-PCIe-80GB", "H200-SXM-141GB", "B200-SXM-180GB",
                           "MI300X-192GB", "TPU-v5e", "TPU-v5p", "TPU-v6e"}) {
    const DeviceSpec& d = *Catalog::builtin().find(name);
    ASSERT_TRUE(d.price_usd_per_hour) << name;
    EXPECT_GT(d.price_usd_per_hour->value, 0) << name;
  }
  int estimates = 0;
  for (const auto& d : Catalog::builtin().devices()) {
    if (!d.purchase_price_usd)
      continue;
    EXPECT_GT(d.purchase_price_usd->value, 1000) << d.name;
    // Only Intel lists a price (Gaudi 3's eight-card kit); the others are estimates.
    const bool estimate = d.purchase_price_usd->source.rfind("estimate:", 0) == 0;
    EXPECT_EQ(estimate, d.vendor != "Intel") << d.name;
    estimates += estimate ? 1 : 0;
  }
  EXPECT_GE(estimates, 5);
}

TEST(Catalog, NewAcceleratorsMatchTheirDatasheets) {
  const Catalog& catalog = Catalog::builtin();
  // B200: 4.5 PFLOPS bf16 with sparsity per GPU, halved; 1.8 TB/s NVLink both ways, halved.
  const DeviceSpec& b200 = *catalog.find("B200-SXM-180GB");
  EXPECT_DOUBLE_EQ(b200.peak_flops(Dtype::bf16), 2250e12);
  EXPECT_DOUBLE_EQ(b200.intra_node_link_bandwidth_bytes_per_s.value, 900e9);
  // MI300X: 7 Infinity Fabric links of 64 GB/s per direction.
  const DeviceSpec& mi300x = *catalog.find("MI300X-192GB");
  EXPECT_DOUBLE_EQ(mi300x.intra_node_link_bandwidth_bytes_per_s.value, 7 * 64e9);
  EXPECT_DOUBLE_EQ(mi300x.memory_bytes.value, 192.0 * (1ull << 30));
  // Gaudi 3: 21 scale-up ports and 3 scale-out ports of 200 Gb/s, the latter on the chip.
  const DeviceSpec& gaudi = *catalog.find("Gaudi3-HL325L");
  EXPECT_DOUBLE_EQ(gaudi.intra_node_link_bandwidth_bytes_per_s.value, 21 * 200e9 / 8);
  ASSERT_TRUE(gaudi.on_chip_nic_bandwidth_bytes_per_s);
  EXPECT_DOUBLE_EQ(gaudi.on_chip_nic_bandwidth_bytes_per_s->value, 3 * 200e9 / 8);
  // TPU v6e: 800 GB/s of ICI both ways over 4 ports.
  const DeviceSpec& v6e = *catalog.find("TPU-v6e");
  EXPECT_DOUBLE_EQ(
      v6e.intra_node_link_bandwidth_bytes_per_s.value / v6e.intra_node_link_count->value,
      800e9 / 2 / 4);
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

// One device, every required figure given: what a user adds to the built-in catalog.
std::string device_yaml(const std::string& name, double memory_bytes) {
  return "  - name: " + name + R"(
    kind: gpu
    vendor: "test"
    peak_flops_per_s:
      bf16: {value: 1.0e+15, source: "s"}
    memory_bytes: {value: )" +
         std::to_string(memory_bytes) + R"(, source: "my measurement"}
    memory_bandwidth_bytes_per_s: {value: 4.0e+12, source: "s"}
    intra_node_link_bandwidth_bytes_per_s: {value: 4.5e+11, source: "s"}
    host_link_bandwidth_bytes_per_s: {value: 6.3e+10, source: "s"}
    intra_node_link_latency_s: {value: 1.0e-6, source: "s"}
    power_w: {value: 700, source: "s"}
    compute_efficiency: {value: 0.8, source: "s"}
    memory_efficiency: {value: 0.9, source: "s"}
    kernel_launch_overhead_s: {value: 1.0e-6, source: "s"}
    collective_step_latency_s: {value: 1.0e-6, source: "s"}
)";
}

TEST(Catalog, AFileExtendsTheBuiltInCatalog) {
  const Catalog& builtin = Catalog::builtin();
  // No network_defaults: extending, the built-in ones stay.
  const ExtendedCatalog extended =
      builtin.extended_by("devices:\n" + device_yaml("my-gpu", 1e11), "mine.yaml");
  EXPECT_TRUE(extended.replaced.empty());
  ASSERT_EQ(extended.catalog.devices().size(), builtin.devices().size() + 1);
  EXPECT_EQ(extended.catalog.devices().back().name, "my-gpu");
  EXPECT_EQ(extended.catalog.find("my-gpu")->memory_bytes.source, "my measurement");
  EXPECT_NE(extended.catalog.find("H100-SXM5-80GB"), nullptr);
  EXPECT_EQ(extended.catalog.network_defaults().nic_latency_s.value,
            builtin.network_defaults().nic_latency_s.value);
  // The file alone is not a catalog: it lacks network_defaults.
  EXPECT_THROW(Catalog::parse("devices:\n" + device_yaml("my-gpu", 1e11), "mine.yaml"), InputError);
}

TEST(Catalog, ADeviceOfABuiltInNameReplacesItInItsPlace) {
  const Catalog& builtin = Catalog::builtin();
  const ExtendedCatalog extended = builtin.extended_by(
      "network_defaults:\n  nic_latency_s: {value: 2.0e-6, source: \"my NIC\"}\ndevices:\n" +
          device_yaml("A100-SXM4-80GB", 1e11),
      "mine.yaml");
  EXPECT_EQ(extended.replaced, std::vector<std::string>{"A100-SXM4-80GB"});
  ASSERT_EQ(extended.catalog.devices().size(), builtin.devices().size());
  EXPECT_EQ(extended.catalog.names(), builtin.names());
  EXPECT_EQ(extended.catalog.find("A100-SXM4-80GB")->memory_bytes.value, 1e11);
  // A network figure given replaces the built-in one; those not given stay.
  EXPECT_EQ(extended.catalog.network_defaults().nic_latency_s.source, "my NIC");
  EXPECT_EQ(extended.catalog.network_defaults().switch_latency_s.value,
            builtin.network_defaults().switch_latency_s.value);
  // The built-in catalog itself is unchanged.
  EXPECT_EQ(builtin.find("A100-SXM4-80GB")->memory_bytes.value, 80.0 * (1u << 30));
}

TEST(Catalog, AnExtendingFileIsCheckedAsACatalogIs) {
  try {
    Catalog::builtin().extended_by(
        "devices:\n" + device_yaml("my-gpu", 1e11) + device_yaml("my-gpu", 2e11), "mine.yaml");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "mine.yaml:17:11: devices[1].name: 'my-gpu' appears twice in the catalog"),
              std::string::npos)
        << e.what();
  }
}

TEST(Catalog, AnUnknownDeviceGetsTheNamesItMightMean) {
  const Catalog& catalog = Catalog::builtin();
  EXPECT_EQ(unknown_device_message(catalog, "H100-SMX5-80GB"),
            "'H100-SMX5-80GB' is not in the device catalog; did you mean 'H100-SXM5-80GB'?");
  EXPECT_EQ(unknown_device_message(catalog, "h100"),
            "'h100' is not in the device catalog; did you mean H100-SXM5-80GB or "
            "H100-PCIe-80GB?");
  EXPECT_EQ(unknown_device_message(catalog, "Z9000").find("known devices: A100-SXM4-40GB, "),
            std::string("'Z9000' is not in the device catalog; ").size());
}

}  // namespace
}  // namespace scaleplan
