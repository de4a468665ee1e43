// End-to-end: `scaleplan sweep`, including a sweep killed with SIGKILL and resumed.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/command.hpp"

namespace {

using Output = scaleplan::test::CommandOutput;

std::filesystem::path test_dir() {
  return scaleplan::test::scratch_dir("scaleplan-sweep-cli-test");
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Output sweep(const std::string& arguments) {
  return scaleplan::test::run_command(std::string(SCALEPLAN_BINARY) + " sweep " + arguments);
}

// GPT-3 1.3B on one DGX A100 node, 48 scenarios of milliseconds each; those with tp 3 (which
// does not divide the 16 heads) or with tp 4 and pp 4 (16 devices of 8) fail.
std::string write_sweep(const std::string& name) {
  const auto path = test_dir() / name;
  std::ofstream(path) << R"(name: kill-me
base:
  cluster: {device: A100-SXM4-80GB, nodes: 1, devices_per_node: 8, node_fabric: nvswitch}
  model: {preset: gpt3-1.3b}
  training: {global_batch: 512, micro_batch: 1, dtype: bf16}
  parallelism: {tp: 1, pp: 2, schedule: 1f1b}
axes:
  training.micro_batch: [1, 2, 4, 8]
  parallelism.pp: [1, 2, 4]
  parallelism.tp: [1, 2, 3, 4]
)";
  return path.string();
}

constexpr std::size_t scenarios = 48;

void remove_results(const std::filesystem::path& path) {
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(path.string() + suffix);
}

// Rows in a results file now (complete lines, or committed SQLite rows).
std::size_t rows_in(const std::filesystem::path& path) {
  if (path.extension() == ".sqlite") {
    sqlite3* db = nullptr;
    std::size_t rows = 0;
    if (sqlite3_open_v2(path.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* q = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT count(*) FROM results", -1, &q, nullptr) == SQLITE_OK &&
          sqlite3_step(q) == SQLITE_ROW)
        rows = static_cast<std::size_t>(sqlite3_column_int64(q, 0));
      sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return rows;
  }
  const std::string text = read(path);
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  return path.extension() == ".csv" && lines > 0 ? lines - 1 : lines;
}

// The rows of a results file as text, in order, to compare two files.
std::vector<std::string> rows_of(const std::filesystem::path& path) {
  std::vector<std::string> rows;
  if (path.extension() == ".sqlite") {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT * FROM results ORDER BY \"index\"", -1, &q, nullptr),
              SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(q); ++c) {
        const unsigned char* text = sqlite3_column_text(q, c);
        row += (text != nullptr ? reinterpret_cast<const char*>(text) : "NULL") + std::string("|");
      }
      rows.push_back(row);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    return rows;
  }
  std::istringstream in(read(path));
  for (std::string line; std::getline(in, line);)
    rows.push_back(line);
  return rows;
}

class SweepKill : public testing::TestWithParam<std::string> {};

TEST_P(SweepKill, AKilledSweepResumedLosesNoRowAndRepeatsNone) {
  const std::string file = write_sweep("kill-" + GetParam() + ".yaml");
  const auto killed = test_dir() / ("killed." + GetParam());
  const auto whole = test_dir() / ("whole." + GetParam());
  remove_results(killed);
  remove_results(whole);

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    execl(SCALEPLAN_BINARY, SCALEPLAN_BINARY, "sweep", file.c_str(), "-o", killed.c_str(), "-j",
          "1", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Killed for real, mid-sweep, once a few rows are in the file.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool exited = false;
  while (rows_in(killed) < 5 && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_FALSE(exited) << "the sweep finished before it could be killed";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  const std::size_t before = rows_in(killed);
  ASSERT_LT(before, scenarios) << "killed too late to test anything";

  const Output resumed = sweep(file + " -o " + killed.string() + " --resume -j 2");
  ASSERT_EQ(resumed.status, 0) << resumed.text;
  EXPECT_NE(resumed.text.find(std::to_string(scenarios - before) + " run now"), std::string::npos)
      << resumed.text << " (" << before << " rows before)";
  const Output clean = sweep(file + " -o " + whole.string() + " -j 2");
  ASSERT_EQ(clean.status, 0) << clean.text;
  // Every scenario once, in order, and what a sweep that was never killed writes.
  const std::vector<std::string> rows = rows_of(killed);
  EXPECT_EQ(rows, rows_of(whole));
  EXPECT_EQ(rows_in(killed), scenarios);
}

INSTANTIATE_TEST_SUITE_P(Formats, SweepKill, testing::Values("csv", "jsonl", "sqlite"));

TEST(SweepCli, ARunWritesEveryScenarioFailuresIncludedAndReportsProgressInALog) {
  const std::string file = write_sweep("plain.yaml");
  const auto out = test_dir() / "plain.csv";
  remove_results(out);
  const Output o = sweep(file + " -o " + out.string() + " -j 2");
  ASSERT_EQ(o.status, 0) << o.text;
  EXPECT_NE(o.text.find("sweep kill-me: 48 scenarios, 48 run now (16 failed), 0 done before"),
            std::string::npos)
      << o.text;
  // stderr is not a terminal: the last progress line is written plain.
  EXPECT_NE(o.text.find("sweep: 48/48 scenarios"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("16 failed"), std::string::npos) << o.text;
  const std::string text = read(out);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 49);
  EXPECT_NE(text.find(",failed,\"parallelism.tp: "), std::string::npos) << text;

  // An existing file is not overwritten without --resume; resuming a complete one runs nothing.
  const Output again = sweep(file + " -o " + out.string());
  EXPECT_EQ(again.status, 2) << again.text;
  EXPECT_NE(again.text.find("pass --resume"), std::string::npos) << again.text;
  const Output resumed = sweep(file + " -o " + out.string() + " --resume");
  EXPECT_EQ(resumed.status, 0) << resumed.text;

  // --progress always draws the terminal's line: a bar, done/total, the failures.
  const auto drawn = test_dir() / "drawn.csv";
  remove_results(drawn);
  const Output bar = sweep(file + " -o " + drawn.string() + " -j 2 --progress always");
  EXPECT_NE(bar.text.find("\rsweep [####################] 48/48 scenarios"), std::string::npos)
      << bar.text;
  EXPECT_NE(bar.text.find("16 failed\x1b[K"), std::string::npos) << bar.text;
  EXPECT_NE(resumed.text.find("0 run now (0 failed), 48 done before"), std::string::npos)
      << resumed.text;
}

TEST(SweepCli, ReportSummarisesTheResults) {
  const std::string file = write_sweep("report.yaml");
  const auto out = test_dir() / "report.sqlite";
  remove_results(out);
  ASSERT_EQ(sweep(file + " -o " + out.string()).status, 0);
  const auto dir = test_dir() / "report";
  const Output o = scaleplan::test::run_command(std::string(SCALEPLAN_BINARY) + " report " +
                                                out.string() + " -o " + dir.string());
  ASSERT_EQ(o.status, 0) << o.text;
  EXPECT_NE(o.text.find("48 scenarios, 32 ok"), std::string::npos) << o.text;
  // The 16 failures grouped by their error, four of each: tp 3 with pp 1, 2 and 4 (tp·pp 3, 6
  // and 12 devices, and 3 divides neither the heads nor the FFN), tp 4 with pp 4 (16 devices).
  const auto reasons = o.text.find("why they failed, most frequent first\n");
  ASSERT_NE(reasons, std::string::npos) << o.text;
  EXPECT_NE(o.text.find("         4 x  parallelism.tp: tp·pp·cp = 16 does not divide the 8 "
                        "devices, so no data-parallel degree fits\n",
                        reasons),
            std::string::npos)
      << o.text;
  EXPECT_EQ(o.text.find("other reasons"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("sensitivity of step time to each axis"), std::string::npos) << o.text;
  const std::string summary = read(dir / "summary.txt");
  EXPECT_EQ(o.text.substr(0, summary.size()), summary);
  // The plots, each as SVG and PNG, where scaleplan is built with Qt; a note that says why not
  // where it is not.
  const std::string axis = "training.micro_batch";
#ifdef SCALEPLAN_WITH_PLOTS
  EXPECT_NE(o.text.find("plots in " + dir.string() + ", each as .svg and .png:\n"),
            std::string::npos)
      << o.text;
  for (const std::string& name : {"step-time-vs-" + axis, "mfu-vs-" + axis,
                                  std::string("cost-vs-step-time"), std::string("heat-map")}) {
    EXPECT_NE(o.text.find("  " + name + " "), std::string::npos) << name << o.text;
    EXPECT_GT(std::filesystem::file_size(dir / (name + ".png")), 1000u) << name;
    EXPECT_NE(read(dir / (name + ".svg")).find("<svg"), std::string::npos) << name;
  }
#else
  EXPECT_NE(o.text.find("note: no plots: scaleplan-report-plots, which draws them with Qt 6"),
            std::string::npos)
      << o.text;
  EXPECT_FALSE(std::filesystem::exists(dir / ("step-time-vs-" + axis + ".png")));
#endif
  // --no-plots: the summary only.
  const auto quiet = test_dir() / "report-no-plots";
  std::filesystem::remove_all(quiet);
  const Output summary_only =
      scaleplan::test::run_command(std::string(SCALEPLAN_BINARY) + " report " + out.string() +
                                   " -o " + quiet.string() + " --no-plots");
  ASSERT_EQ(summary_only.status, 0) << summary_only.text;
  EXPECT_EQ(summary_only.text, summary);
  EXPECT_FALSE(std::filesystem::exists(quiet / ("step-time-vs-" + axis + ".png")));
}

TEST(SweepCli, ABadSweepFileExitsTwoAtFileLineKey) {
  const auto path = test_dir() / "bad.yaml";
  std::ofstream(path) << "base: ../nowhere.yaml\naxes:\n  parallelism.tp: [1, 2]\n"
                         "  training.micro_bach: [1]\n";
  const Output o = sweep(path.string() + " -o " + (test_dir() / "bad.csv").string());
  EXPECT_EQ(o.status, 2) << o.text;
  EXPECT_NE(o.text.find(path.string() + ":1:7: base: cannot read the base scenario"),
            std::string::npos)
      << o.text;
  const std::string file = write_sweep("typo.yaml");
  std::string text = read(file);
  text.replace(text.find("training.micro_batch"), 20, "training.micro_bach");
  std::ofstream(file, std::ios::trunc) << text;
  const Output typo = sweep(file + " -o " + (test_dir() / "typo.csv").string());
  EXPECT_EQ(typo.status, 2) << typo.text;
  EXPECT_NE(typo.text.find(file + ":8:3: axes.training.micro_bach:"), std::string::npos)
      << typo.text;
  EXPECT_NE(typo.text.find("micro_batch"), std::string::npos) << typo.text;
}

TEST(SweepCli, ASweepWhoseEveryScenarioFailsExitsTwoAndSaysWhereTheReasonsAre) {
  const std::string file = write_sweep("all-fail.yaml");
  std::string text = read(file);
  text.replace(text.find("[1, 2, 3, 4]"), 12, "[3, five]");
  std::ofstream(file, std::ios::trunc) << text;
  const auto out = test_dir() / "all-fail.csv";
  remove_results(out);
  const Output o = sweep(file + " -o " + out.string());
  EXPECT_EQ(o.status, 2) << o.text;
  EXPECT_NE(o.text.find("24 run now (24 failed)"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("`scaleplan report " + out.string() + "` lists why they failed"),
            std::string::npos)
      << o.text;
  EXPECT_NE(o.text.find("error: every scenario of the sweep failed"), std::string::npos) << o.text;
  const Output report =
      scaleplan::test::run_command(std::string(SCALEPLAN_BINARY) + " report " + out.string());
  EXPECT_EQ(report.status, 0) << report.text;
  EXPECT_NE(report.text.find("        12 x  parallelism.tp: expected an integer, got 'five'"),
            std::string::npos)
      << report.text;
}

TEST(SweepCli, TheShippedSweepsRead) {
  for (const char* name : {"gpu-count-x-device", "tp-x-pp", "micro-batch-x-recompute"}) {
    const auto out = test_dir() / (std::string(name) + ".jsonl");
    remove_results(out);
    // Read and checked only: a results file in a folder that does not exist stops the command
    // after the sweep is read.
    const Output o = sweep(std::string(SCALEPLAN_SOURCE_DIR) + "/scenarios/sweeps/" + name +
                           ".yaml -o /nonexistent/x.jsonl");
    EXPECT_NE(o.text.find("/nonexistent/x.jsonl"), std::string::npos) << name << o.text;
    EXPECT_EQ(o.text.find(".yaml:"), std::string::npos) << name << o.text;
  }
}

}  // namespace
