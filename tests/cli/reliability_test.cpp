// End-to-end: hostile and oversized inputs to the scaleplan binary end with a clear message and
// exit code 2, never a crash, an exhausted memory or a success with nothing written
// (docs/reliability.md).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/command.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

Output run(const std::string& arguments, const std::string& prefix = "") {
  return scaleplan::test::run_command(prefix + " " + std::string(SCALEPLAN_BINARY) + " " +
                                      arguments);
}

std::filesystem::path test_dir() {
  return scaleplan::test::scratch_dir("scaleplan-reliability-test");
}

std::string source(const std::string& path) {
  return std::string(SCALEPLAN_SOURCE_DIR) + "/" + path;
}

std::string write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

const std::string small_trace = source("tests/golden/scenarios/trace-2x2-a100.yaml");

// 32,768 A100s running GPT-3 175B (tp 8, pp 8, dp 512), 512 micro-batches of 8 per replica:
// valid, and simulated with every rank in 8.4 s and 0.9 GB.
const std::string large_scenario = R"(name: large
cluster:
  device: A100-SXM4-80GB
  nodes: 4096
  devices_per_node: 8
  network: {topology: fat-tree, link_bandwidth_gbps: 200, nics_per_node: 8, oversubscription: 1}
model: {preset: gpt3-175b}
training: {global_batch: 4096, micro_batch: 8}
parallelism: {tp: 8, pp: 8, dp: 512, sequence_parallel: true}
)";

TEST(Reliability, TracesAreLimitedToRanksAndAWindowAndCanBeCompressed) {
  const auto dir = test_dir();
  const std::string gz = (dir / "trace.json.gz").string();
  // Rank 2 (stage 1 of replica 0, which stands for replica 1) from 1 ms to 2 ms.
  const Output out = run("run " + small_trace + " --trace " + gz +
                         " --trace-ranks 2 --trace-window 0.001 0.002 --network-model flows");
  ASSERT_EQ(out.status, 0) << out.text;
  const Output unzipped = scaleplan::test::run_command("gzip -dc " + gz);
  ASSERT_EQ(unzipped.status, 0) << unzipped.text;
  const auto trace = nlohmann::json::parse(unzipped.text);
  std::set<int> processes;
  int slices = 0;
  for (const auto& event : trace["traceEvents"]) {
    if (event["ph"] == "M" && event["name"] == "process_name" && event["pid"] == 0) {
      EXPECT_EQ(event["args"]["name"], "rank 2 (pp 1, dp 0, tp 0)");
    }
    if (event["ph"] != "X")
      continue;
    ++slices;
    processes.insert(event["pid"].get<int>());
    // Every slice overlaps the window, in microseconds.
    EXPECT_LE(event["ts"].get<double>(), 2000.0);
    EXPECT_GE(event["ts"].get<double>() + event["dur"].get<double>(), 1000.0);
  }
  EXPECT_GT(slices, 0);
  EXPECT_EQ(processes, std::set<int>{0});
  std::filesystem::remove_all(dir);
}

TEST(Reliability, ATraceTooLargeIsRefusedBeforeTheRunNamingTheOption) {
  const auto dir = test_dir();
  const std::string file = write(dir / "large.yaml", large_scenario);
  const std::string trace = (dir / "t.json").string();
  Output out = run("run --all-ranks " + file + " --trace " + trace);
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find("<command line>: --trace: the trace would hold 7798784 events (about "
                          "1.21 GB of JSON), more than the 2097152 written; trace fewer ranks "
                          "(--trace-ranks) or a part of the step (--trace-window)"),
            std::string::npos)
      << out.text;
  EXPECT_FALSE(std::filesystem::exists(trace));
  out = run("run " + file + " --trace " + trace + " --trace-ranks 200000");
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find("--trace-ranks: '200000' is not a rank or a range of ranks"),
            std::string::npos)
      << out.text;
  out = run("run " + small_trace + " --trace " + trace + " --trace-window nan 1");
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find("expected a finite number, got 'nan'"), std::string::npos) << out.text;
  std::filesystem::remove_all(dir);
}

TEST(Reliability, FlowsForcedBeyondTheirLimitsAreRefused) {
  // With a table per source device, every rank of 32,768 devices as flows asked for 11 GB of
  // route tables (the run had reached 5.6 GB after five minutes); route classes share tables
  // (hardware/route_search.cpp), so it is no longer refused. Where nodes carry transit (NICs on
  // PCIe switches), a class's search also crosses the nodes: one replica of 131,072 devices in
  // PCIe nodes as flows would search 2,048 classes of 1.3 million vertices and links, 2.7e9,
  // beyond the limit of 1e9.
  const auto dir = test_dir();
  std::string text = large_scenario;
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"nodes: 4096\n  devices_per_node: 8\n",
            "nodes: 16384\n  devices_per_node: 8\n  node_fabric: pcie\n  "
            "pcie_switches_per_node: 4\n  sockets_per_node: 2\n"},
           {"oversubscription: 1}", "switch_radix: 128}"},
           {"global_batch: 4096", "global_batch: 16384"},
           {"dp: 512", "dp: 2048"}}) {
    ASSERT_NE(text.find(from), std::string::npos) << from;
    text.replace(text.find(from), from.size(), to);
  }
  const std::string file = write(dir / "pcie.yaml", text);
  const Output out = run("run --network-model flows " + file);
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find("<command line>: --network-model: as flows the step would start "),
            std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("from 131072 devices, whose routes read the hop tables of 2048 route "
                          "classes, each a search of 1318976 vertices and links of the network "
                          "(2.7e+09 of route search"),
            std::string::npos)
      << out.text;
  EXPECT_NE(out.text.find("; use --network-model auto"), std::string::npos) << out.text;
  std::filesystem::remove_all(dir);
}

TEST(Reliability, OutputsThatCannotBeWrittenAreErrors) {
  // /dev/full takes no byte: every writer reports it and exits non-zero.
  if (!std::filesystem::exists("/dev/full"))
    GTEST_SKIP() << "no /dev/full";
  for (const std::string option : {"--trace /dev/full", "--dump-plan /dev/full"}) {
    const Output out = run("run " + small_trace + " " + option);
    EXPECT_EQ(out.status, 2) << option << ": " << out.text;
    EXPECT_NE(out.text.find("/dev/full: cannot write the file: No space left on device"),
              std::string::npos)
        << out.text;
  }
  // Standard output to /dev/full, standard error to the test.
  Output out = run("run " + small_trace + " > /dev/full; }", "{");
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find("<standard output>: cannot write"), std::string::npos) << out.text;
  out = run("calibrate import " +
            source("tests/fuzz/corpus/nccl_tests/"
                   "h100-2node-16gpu-allreduce-gcp-a3mega.txt") +
            " -o /dev/full");
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find("/dev/full: cannot write the file"), std::string::npos) << out.text;
}

TEST(Reliability, TerminalEscapesInNamesArePrintedEscaped) {
  const auto dir = test_dir();
  std::ifstream in(small_trace);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // An OSC sequence that would set the terminal's title, and a colour.
  text.replace(text.find("name: trace-2x2-a100"), 20,
               "name: \"x\\e]0;owned\\a\\e[31mred\\u202Etxt.exe\"");
  const Output out = run("run " + write(dir / "s.yaml", text));
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_EQ(out.text.find('\x1b'), std::string::npos);
  EXPECT_EQ(out.text.find('\a'), std::string::npos);
  EXPECT_NE(out.text.find("x\\x1B]0;owned\\x07\\x1B[31mred\\u202Etxt.exe"), std::string::npos)
      << out.text;
  std::filesystem::remove_all(dir);
}

TEST(Reliability, ValidateReportsAnUnreadableDirectory) {
  const auto dir = test_dir() / "locked";
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::none);
  // Root reads any directory: the command then runs as nobody, where setpriv can make it so.
  std::string as_user;
  if (::geteuid() == 0) {
    if (scaleplan::test::run_command("setpriv --version").status != 0) {
      std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
      GTEST_SKIP() << "running as root without setpriv to drop the right to read any directory";
    }
    as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups";
  }
  const Output out = run("validate " + dir.string(), as_user);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find(dir.string() + ": cannot read the directory: Permission denied"),
            std::string::npos)
      << out.text;
  std::filesystem::remove_all(dir.parent_path());
}

TEST(Reliability, CalibrateRefusesWhatALaterCommandWouldRefuse) {
  const auto dir = test_dir();
  const std::string output = (dir / "m.yaml").string();
  // nccl-tests output without '# Using devices' lines takes the ranks and nodes from the command
  // line: more nodes than ranks is what the measurements reader (and so calibrate fit) refuses.
  const std::string partial =
      source("tests/fuzz/corpus/nccl_tests/h100-pcie-2gpu-nvlink-allreduce-PARTIAL.txt");
  Output out = run("calibrate import " + partial + " --ranks 4 --nodes 8 -o " + output);
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find("--nodes 8 is not from 1 to the ranks (4)"), std::string::npos)
      << out.text;
  EXPECT_FALSE(std::filesystem::exists(output));
  // NaN passes CLI11's range check (every comparison with it is false); it is refused first.
  out = run("calibrate fit " + source("scenarios/profiles/measurements/a100-gemm-published.yaml") +
            " --radius nan -o " + output);
  EXPECT_EQ(out.status, 2) << out.text;
  EXPECT_NE(out.text.find("--radius: expected a finite number, got 'nan'"), std::string::npos)
      << out.text;
  std::filesystem::remove_all(dir);
}

}  // namespace
