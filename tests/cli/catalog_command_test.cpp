// End-to-end: `scaleplan catalog [NAME]` and `--catalog FILE` as a user adding a device meets them.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/command.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

Output run(const std::string& arguments) {
  return scaleplan::test::run_command(std::string(SCALEPLAN_BINARY) + " " + arguments);
}

std::filesystem::path test_dir() {
  return scaleplan::test::scratch_dir("scaleplan-catalog-command-test");
}

// One device, no network_defaults: a file that extends the built-in catalog.
const char* const my_device = R"(devices:
  - name: my-gpu
    kind: gpu
    vendor: "me"
    peak_flops_per_s:
      bf16: {value: 1.0e+15, source: "my datasheet"}
    memory_bytes: {value: 1.0e+11, source: "my datasheet"}
    memory_bandwidth_bytes_per_s: {value: 4.0e+12, source: "my datasheet"}
    intra_node_link_bandwidth_bytes_per_s: {value: 4.5e+11, source: "my datasheet"}
    host_link_bandwidth_bytes_per_s: {value: 6.3e+10, source: "my datasheet"}
    intra_node_link_latency_s: {value: 1.0e-6, source: "my guess"}
    power_w: {value: 700, source: "my datasheet"}
    compute_efficiency: {value: 0.8, source: "my guess"}
    memory_efficiency: {value: 0.9, source: "my guess"}
    kernel_launch_overhead_s: {value: 1.0e-6, source: "my guess"}
    collective_step_latency_s: {value: 1.0e-6, source: "my guess"}
)";

TEST(CatalogCommand, ADeviceShowsEveryFigureWithItsSource) {
  const Output out = run("catalog H100-SXM5-80GB");
  ASSERT_EQ(out.status, 0) << out.text;
  // One line per figure: what, value, [source]. NVLink, NICs, efficiencies, power and price.
  for (const char* line :
       {"  bf16                                    989.4 TFLOP/s  [NVIDIA H100 Tensor Core GPU "
        "Architecture whitepaper",
        "  bandwidth                                  450.0 GB/s  [NVIDIA H100 Tensor Core GPU "
        "datasheet (2023), H100 SXM: NVLink 900 GB/s",
        "  collective efficiency (nccl-tests)              0.822  [NVIDIA/nccl-tests issue #212",
        "  GEMM efficiency (large GEMMs)                   0.845  [XLA's measured H100 GEMM table",
        "  GEMM efficiency, fp8                             0.74  [derived: the bf16 "
        "compute_efficiency",
        "  share of those sustained in steps               0.702  [fitted: the share of the "
        "single-kernel tensor-core figures",
        "  GEMM tiles spread over                        132 SMs  [NVIDIA H100 Tensor Core GPU "
        "Architecture whitepaper (2022): H100 SXM5 has 132 SMs",
        "  power                                           700 W  [NVIDIA H100",
        "  price per device-hour                       12.29 USD  [AWS EC2 on-demand price of "
        "p5.48xlarge",
        "  NIC collective efficiency                        0.94  [NVIDIA/nccl-tests issues "
        "#290"}) {
    EXPECT_NE(out.text.find(line), std::string::npos) << line << "\n" << out.text;
  }
  const Output list = run("catalog");
  ASSERT_EQ(list.status, 0) << list.text;
  EXPECT_NE(list.text.find("H100-SXM5-80GB       gpu   NVIDIA     989.4 TFLOP/s bf16      80 GiB  "
                           "3350.0 GB/s    12.29\n"),
            std::string::npos)
      << list.text;
  const Output unknown = run("catalog H100");
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.text.find("'H100' is not in the device catalog; did you mean H100-SXM5-80GB "
                              "or H100-PCIe-80GB?"),
            std::string::npos)
      << unknown.text;
}

TEST(CatalogCommand, AFileExtendsTheBuiltInCatalogUnlessItReplacesIt) {
  const auto dir = test_dir();
  const std::string mine = (dir / "mine.yaml").string();
  std::ofstream(mine) << my_device;
  const Output extended = run("catalog --catalog " + mine);
  ASSERT_EQ(extended.status, 0) << extended.text;
  EXPECT_NE(extended.text.find("\nmy-gpu "), std::string::npos) << extended.text;
  EXPECT_NE(extended.text.find("\nH100-SXM5-80GB "), std::string::npos) << extended.text;
  const Output figure = run("catalog my-gpu --catalog " + mine);
  EXPECT_NE(figure.text.find("power                                           700 W  [my "
                             "datasheet]"),
            std::string::npos)
      << figure.text;

  // A scenario on the new device runs with the file beside the built-in catalog.
  const auto scenario = dir / "s.yaml";
  std::ofstream(scenario) << "name: mine\ncluster:\n  device: my-gpu\n  nodes: 1\n"
                             "  devices_per_node: 2\nmodel: {preset: gpt3-1.3b}\n"
                             "training: {global_batch: 8}\nparallelism: {tp: 2}\n";
  const Output ran = run("run " + scenario.string() + " --catalog " + mine);
  EXPECT_EQ(ran.status, 0) << ran.text;
  EXPECT_NE(ran.text.find("cluster    2 x my-gpu"), std::string::npos) << ran.text;

  // A device of a built-in name replaces the built-in one, with a note.
  std::string renamed = my_device;
  renamed.replace(renamed.find("my-gpu"), 6, "A100-SXM4-80GB");
  std::ofstream(mine) << renamed;
  const Output replaced = run("catalog --catalog " + mine);
  EXPECT_EQ(replaced.status, 0) << replaced.text;
  EXPECT_NE(
      replaced.text.find("note: " + mine + ": device 'A100-SXM4-80GB' replaces the built-in one"),
      std::string::npos)
      << replaced.text;

  // --replace-catalog: the file alone, which then needs its network_defaults.
  const Output alone = run("catalog --replace-catalog --catalog " + mine);
  EXPECT_EQ(alone.status, 2);
  EXPECT_NE(alone.text.find("network_defaults: required key is missing"), std::string::npos)
      << alone.text;
  std::ofstream(mine) << "network_defaults:\n"
                         "  switch_latency_s: {value: 1.3e-7, source: \"s\"}\n"
                         "  nic_latency_s: {value: 6.0e-7, source: \"s\"}\n"
                      << my_device;
  const Output only_mine = run("catalog --replace-catalog --catalog " + mine);
  ASSERT_EQ(only_mine.status, 0) << only_mine.text;
  EXPECT_NE(only_mine.text.find("\nmy-gpu "), std::string::npos) << only_mine.text;
  EXPECT_EQ(only_mine.text.find("H100"), std::string::npos) << only_mine.text;
  EXPECT_EQ(run("catalog --replace-catalog").status, 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
