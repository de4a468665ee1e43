// End-to-end: `scaleplan capacity` on spec files, the planner searching each cluster.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/command.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

Output capacity(const std::string& arguments) {
  return scaleplan::test::run_command(std::string(SCALEPLAN_BINARY) + " capacity " + arguments);
}

std::filesystem::path test_dir() {
  return scaleplan::test::scratch_dir("scaleplan-capacity-cli-test");
}

std::string write_spec(const std::string& name, const std::string& text) {
  const auto path = test_dir() / name;
  std::ofstream(path) << text;
  return path.string();
}

// Llama 2 7B for 200,000 steps of 64 x 4,096 tokens on one or two nodes of 8 H100: small enough
// for the planner to search in a moment, long enough to take days (a step of 1 to 2 s).
constexpr const char* small_spec = R"(format: scaleplan-capacity/1
name: small
model: {preset: llama2-7b, seq_len: 4096}
training: {steps: 200000, global_batch: 64, dtype: bf16}
deadline_days: DEADLINE
search: {top_k: 2}
options:
  - name: h100
    cluster: {device: H100-SXM5-80GB, nodes: [1, 2], devices_per_node: 8,
              network: {topology: fat-tree, link_bandwidth_gbps: 400}}
    rent: {usd_per_device_hour: 2}
    buy: {usd_per_node: 100000, usd_per_port: 3000, life_years: 4}
)";

std::string small_with_deadline(const std::string& days) {
  std::string text = small_spec;
  text.replace(text.find("DEADLINE"), 8, days);
  return text;
}

TEST(CapacityCli, ABadSpecExitsTwoAtFileLineKey) {
  std::string text = small_with_deadline("30");
  text.replace(text.find("life_years"), 10, "life_yeras");
  const std::string path = write_spec("typo.yaml", text);
  const Output out = capacity(path);
  EXPECT_EQ(out.status, 2) << out.text;
  // The buy line is the spec's line 12; the reader suggests the key meant.
  EXPECT_NE(out.text.find(path + ":12:"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("life_yeras"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("life_years"), std::string::npos) << out.text;
}

TEST(CapacityCli, NoClusterInTimeSaysWhyAndExitsZero) {
  // A deadline of a day: 200,000 steps take longer on either size.
  const Output out = capacity(write_spec("day.yaml", small_with_deadline("1")));
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("no cluster meets the deadline and the budget:"), std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("h100 x8 rent: takes "), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("past the deadline of 24.0 h"), std::string::npos) << out.text;
}

TEST(CapacityCli, JsonAndCsvCarryEveryRow) {
  const std::string spec = write_spec("month.yaml", small_with_deadline("30"));
  const std::string csv = (test_dir() / "rows.csv").string();
  const Output out = capacity("--json --csv " + csv + " " + spec);
  ASSERT_EQ(out.status, 0) << out.text;
  const auto j = nlohmann::json::parse(out.text);
  // Two sizes, each rented and bought.
  ASSERT_EQ(j["rows"].size(), 4u);
  for (const auto& row : j["rows"]) {
    ASSERT_FALSE(row["plan"].is_null()) << row.dump(2);
    // The planner keeps only plans whose simulated peak fits.
    EXPECT_LE(row["plan"]["peak_memory_bytes"].get<double>(),
              row["plan"]["capacity_bytes"].get<double>());
    EXPECT_GT(row["effective_s"].get<double>(), row["ideal_s"].get<double>());
    EXPECT_TRUE(row["meets_deadline"].get<bool>());
  }
  ASSERT_FALSE(j["best"].is_null());
  EXPECT_FALSE(j["pareto_front"].empty());
  std::ifstream in(csv);
  std::string line;
  int lines = 0;
  while (std::getline(in, line))
    ++lines;
  EXPECT_EQ(lines, 5);  // the header and four rows
}

TEST(CapacityCli, TheNetworkIsAChoice) {
  // The same 64 H100 behind three networks of 100 Gb/s NICs and 16-port switches: a
  // non-blocking fat-tree, one whose leaves have a quarter of the uplinks they need (4:1), and
  // rails. Traffic between leaves shares the thinner uplinks, so the oversubscribed network's
  // best plan is slower (the planner may pick another plan to route around it); rails carry
  // the data-parallel traffic of same-rank GPUs within one switch and are no slower.
  const Output out =
      capacity("--json " + write_spec("networks.yaml", R"(format: scaleplan-capacity/1
model: {preset: llama2-7b, seq_len: 4096}
training: {steps: 10000, global_batch: 256, dtype: bf16}
search: {top_k: 2}
options:
  - name: non-blocking
    cluster: {device: H100-SXM5-80GB, nodes: 8, devices_per_node: 8,
              network: {topology: fat-tree, link_bandwidth_gbps: 100, switch_radix: 16}}
    rent: {}
  - name: oversubscribed
    cluster: {device: H100-SXM5-80GB, nodes: 8, devices_per_node: 8,
              network: {topology: fat-tree, link_bandwidth_gbps: 100, switch_radix: 16,
                        oversubscription: 4}}
    rent: {}
  - name: rails
    cluster: {device: H100-SXM5-80GB, nodes: 8, devices_per_node: 8,
              network: {topology: rail-optimized, link_bandwidth_gbps: 100, switch_radix: 16}}
    rent: {}
)"));
  ASSERT_EQ(out.status, 0) << out.text;
  const auto rows = nlohmann::json::parse(out.text)["rows"];
  ASSERT_EQ(rows.size(), 3u);
  const auto step = [&](int i) { return rows[i]["plan"]["step_time_s"].get<double>(); };
  EXPECT_GT(step(1), step(0)) << out.text;
  EXPECT_LE(step(2), step(0)) << out.text;
  // Rented at the same rate, the slower network costs more.
  EXPECT_GT(rows[1]["cost"]["usd"].get<double>(), rows[0]["cost"]["usd"].get<double>());
}

TEST(CapacityCli, AClusterWithoutAPlanThatFitsSaysWhy) {
  // Llama 3 70B with Adam needs about 1 TB of weights and optimizer state: one node of 8 A100
  // of 40 GiB cannot hold it whatever the plan (ZeRO 3 spreads 988 GB over 320 GiB), two
  // nodes of 8 H200 can.
  const Output out = capacity(write_spec("big.yaml", R"(format: scaleplan-capacity/1
model: {preset: llama3-70b, seq_len: 4096}
training: {steps: 1000, global_batch: 64, dtype: bf16}
options:
  - cluster: {device: A100-SXM4-40GB, nodes: 1, devices_per_node: 8}
    rent: {}
  - cluster: {device: H200-SXM-141GB, nodes: 2, devices_per_node: 8,
              network: {topology: fat-tree, link_bandwidth_gbps: 400}}
    rent: {}
)"));
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("A100-SXM4-40GB x8 rent: no plan fits: of "), std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("need more than 40 GiB by the estimate"), std::string::npos) << out.text;
  EXPECT_NE(out.text.find("best: H200-SXM-141GB x16 rent"), std::string::npos) << out.text;
}

}  // namespace
