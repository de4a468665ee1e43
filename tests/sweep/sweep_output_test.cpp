// Result files: the same columns in CSV, JSON lines and SQLite, rows there as soon as written,
// resumed without losing or repeating a row, and refused when they are another sweep's.
#include <sqlite3.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "sim/sweep/sweep_output.hpp"
#include "tests/support/command.hpp"
#include "tests/sweep/sweep_test_support.hpp"

namespace scaleplan::sweep {
namespace {

std::filesystem::path scratch(const std::string& name) {
  const auto dir = test::scratch_dir("scaleplan-sweep-output-test");
  const auto path = dir / name;
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
  return path;
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

SweepRow row_of(const Sweep& s, std::size_t index, bool ok = true) {
  SweepRow row;
  row.index = index;
  row.values = s.values_of(index);
  if (!ok) {
    row.error = "parallelism.tp: 3 does not divide heads (16), \"quoted\"";
    return row;
  }
  row.device = "A100-SXM4-80GB";
  row.devices = 8;
  row.dp = 4;
  row.step_time_s = 0.5 + static_cast<double>(index);
  row.fits = true;
  row.power_w = 3200;
  return row;
}

const Sweep& sweep_of_four() {
  static const Sweep s = test::parse_test_sweep(
      "axes:\n  training.micro_batch: [1, 2]\n  cluster.device: [A100-SXM4-80GB, "
      "H100-SXM5-80GB]\n");
  return s;
}

TEST(SweepOutput, ColumnsHoldEveryAxisAndEveryMetric) {
  const auto columns = result_columns(sweep_of_four());
  std::vector<std::string> names;
  for (const Column& c : columns)
    names.push_back(c.name);
  for (const char* name :
       {"index", "status", "error", "training.micro_batch", "cluster.device", "step_time_s",
        "tokens_per_s", "mfu", "peak_memory_bytes", "fits", "compute_s", "exposed_comm_s",
        "bubble_s", "energy_per_step_j", "usd_per_step"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  EXPECT_EQ(result_cells(row_of(sweep_of_four(), 0)).size(), columns.size());
  EXPECT_EQ(result_cells(row_of(sweep_of_four(), 0, false)).size(), columns.size());
}

TEST(SweepOutput, TheFormatComesFromTheExtension) {
  EXPECT_EQ(result_format_of("a.csv"), ResultFormat::csv);
  EXPECT_EQ(result_format_of("a.JSONL"), ResultFormat::json_lines);
  EXPECT_EQ(result_format_of("a.sqlite"), ResultFormat::sqlite);
  EXPECT_EQ(result_format_of("a.txt"), std::nullopt);
  EXPECT_THROW(open_results(scratch("a.txt"), sweep_of_four(), false), InputError);
}

class EveryFormat : public testing::TestWithParam<std::string> {};

TEST_P(EveryFormat, RowsAreResumedAndTheFileEndsInScenarioOrder) {
  const Sweep& s = sweep_of_four();
  const auto path = scratch("results." + GetParam());
  {
    const auto store = open_results(path, s, false);
    store->write(row_of(s, 2));
    store->write(row_of(s, 0, false));
  }
  // Without --resume an existing file is refused.
  EXPECT_THROW(open_results(path, s, false), InputError);
  {
    const auto store = open_results(path, s, true);
    EXPECT_EQ(store->done(), (std::vector<bool>{true, false, true, false}));
    EXPECT_EQ(store->rows(), 2u);
    store->write(row_of(s, 3));
    store->write(row_of(s, 1));
    store->complete();
  }
  const auto store = open_results(path, s, true);
  EXPECT_EQ(store->done(), (std::vector<bool>{true, true, true, true}));
  EXPECT_EQ(store->rows(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Formats, EveryFormat, testing::Values("csv", "jsonl", "sqlite"));

TEST(SweepOutput, ACsvFileHasOneLinePerScenarioInOrderAndQuotesText) {
  const Sweep& s = sweep_of_four();
  const auto path = scratch("ordered.csv");
  {
    const auto store = open_results(path, s, false);
    for (std::size_t i : {3u, 1u, 0u, 2u})
      store->write(row_of(s, i, i != 1));
    store->complete();
  }
  const std::string text = read(path);
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "index,status,error,training.micro_batch,cluster.device,device,devices,dp,"
            "microbatches,step_time_s,tokens_per_s,model_tflops_per_device,mfu,peak_memory_bytes,"
            "memory_capacity_bytes,fits,compute_s,exposed_comm_s,bubble_s,power_w,"
            "energy_per_step_j,usd_per_hour,usd_per_step");
  EXPECT_NE(text.find("\n0,ok,,1,A100-SXM4-80GB,A100-SXM4-80GB,8,4,0,0.5,"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\n1,failed,\"parallelism.tp: 3 does not divide heads (16), "
                      "\"\"quoted\"\"\",1,H100-SXM5-80GB,,"),
            std::string::npos)
      << text;
  EXPECT_LT(text.find("\n1,"), text.find("\n2,"));
  EXPECT_LT(text.find("\n2,"), text.find("\n3,"));
}

TEST(SweepOutput, ALastLineCutShortByAKillIsDroppedAndRunsAgain) {
  const Sweep& s = sweep_of_four();
  for (const std::string format : {"csv", "jsonl"}) {
    const auto path = scratch("cut." + format);
    {
      const auto store = open_results(path, s, false);
      store->write(row_of(s, 0));
      store->write(row_of(s, 1));
    }
    std::string text = read(path);
    text.resize(text.size() - 7);  // the last row loses its end and its line break
    std::ofstream(path, std::ios::trunc) << text;
    const auto store = open_results(path, s, true);
    EXPECT_EQ(store->done(), (std::vector<bool>{true, false, false, false})) << format;
    store->write(row_of(s, 1));
    store->complete();
    const std::string after = read(path);
    EXPECT_EQ(std::count(after.begin(), after.end(), '\n'), format == "csv" ? 3 : 2) << after;
  }
}

TEST(SweepOutput, AnotherSweepsResultsAreRefusedAtTheirRow) {
  const Sweep& s = sweep_of_four();
  const Sweep other = test::parse_test_sweep(
      "axes:\n  training.micro_batch: [4, 2]\n  cluster.device: [A100-SXM4-80GB, "
      "H100-SXM5-80GB]\n");
  for (const std::string format : {"csv", "jsonl", "sqlite"}) {
    const auto path = scratch("other." + format);
    {
      const auto store = open_results(path, other, false);
      store->write(row_of(other, 0));
    }
    try {
      open_results(path, s, true);
      ADD_FAILURE() << format;
    } catch (const InputError& e) {
      const std::string line = format == "csv" ? ":2:" : ":1:";
      EXPECT_NE(std::string(e.what()).find(path.string() + line), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("training.micro_batch 4 in the file but 1"),
                std::string::npos)
          << e.what();
    }
  }
  const Sweep fewer = test::parse_test_sweep("axes:\n  training.micro_batch: [1, 2]\n");
  const auto path = scratch("columns.csv");
  open_results(path, s, false)->write(row_of(s, 0));
  EXPECT_THROW(open_results(path, fewer, true), InputError);
}

TEST(SweepOutput, SqliteHoldsTypedColumns) {
  const Sweep& s = sweep_of_four();
  const auto path = scratch("typed.sqlite");
  {
    const auto store = open_results(path, s, false);
    store->write(row_of(s, 1));
    store->write(row_of(s, 2, false));
    store->complete();
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.string().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT \"index\", status, \"training.micro_batch\", "
                               "\"cluster.device\", step_time_s, fits, error FROM results ORDER "
                               "BY \"index\"",
                               -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(q, 0), 1);
  EXPECT_EQ(sqlite3_column_type(q, 2), SQLITE_INTEGER);
  EXPECT_EQ(sqlite3_column_int(q, 2), 1);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 3)), "H100-SXM5-80GB");
  EXPECT_DOUBLE_EQ(sqlite3_column_double(q, 4), 1.5);
  EXPECT_EQ(sqlite3_column_int(q, 5), 1);
  EXPECT_EQ(sqlite3_column_type(q, 6), SQLITE_NULL);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 1)), "failed");
  EXPECT_EQ(sqlite3_column_type(q, 4), SQLITE_NULL);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

}  // namespace
}  // namespace scaleplan::sweep
