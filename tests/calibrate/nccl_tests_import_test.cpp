#include "calibrate/nccl_tests_import.hpp"

#include <gtest/gtest.h>

#include "hardware/input/yaml_reader.hpp"

namespace scaleplan {
namespace {

std::string data(const char* name) {
  return std::string(SCALEPLAN_SOURCE_DIR) + "/scenarios/profiles/measurements/nccl-tests/" + name;
}

TEST(NcclTestsImport, TwoNodeH100SampleImportsEveryRow) {
  const NcclTestsImport r =
      import_nccl_tests_file(data("h100-2node-16gpu-allreduce-gcp-a3mega.txt"), {});
  const auto& rows = r.run.collectives;
  ASSERT_EQ(rows.size(), 62u);  // 31 sizes, out-of-place and in-place
  EXPECT_TRUE(r.warnings.empty());
  const CollectiveMeasurement& first = rows.front();
  EXPECT_EQ(first.op, CollectiveOp::all_reduce);
  EXPECT_EQ(first.ranks, 16);
  EXPECT_EQ(first.nodes, 2);
  EXPECT_EQ(first.bytes, 8);
  EXPECT_EQ(first.count, 2);
  EXPECT_EQ(first.type, "float");
  EXPECT_EQ(first.redop, "sum");
  EXPECT_EQ(first.root, -1);
  EXPECT_FALSE(first.in_place);
  EXPECT_DOUBLE_EQ(first.time_s, 135.8e-6);
  EXPECT_TRUE(rows[1].in_place);
  EXPECT_DOUBLE_EQ(rows[1].time_s, 123.5e-6);
  const CollectiveMeasurement& last = rows[60];
  EXPECT_EQ(last.bytes, 8589934592.0);
  EXPECT_DOUBLE_EQ(last.time_s, 47535e-6);
  EXPECT_DOUBLE_EQ(last.algbw_bytes_per_s, 180.71e9);
  EXPECT_DOUBLE_EQ(last.busbw_bytes_per_s, 338.82e9);
  EXPECT_EQ(r.run.environment.device, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(r.run.environment.hosts, (std::vector<std::string>{"ztan-mig-235z", "ztan-mig-gq73"}));
}

TEST(NcclTestsImport, PartialSampleImportsItsCompleteRowsAndWarns) {
  const NcclTestsImport r =
      import_nccl_tests_file(data("h100-pcie-2gpu-nvlink-allreduce-PARTIAL.txt"), {});
  ASSERT_EQ(r.run.collectives.size(), 4u);
  EXPECT_EQ(r.run.collectives[0].ranks, 2);  // -g 2 of a single-process command line
  EXPECT_EQ(r.run.collectives[0].nodes, 1);
  EXPECT_DOUBLE_EQ(r.run.collectives[2].time_s, 18535e-6);
  std::string warnings;
  for (const auto& w : r.warnings)
    warnings += w + "\n";
  EXPECT_NE(warnings.find("may be truncated"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("asked to go to 8589934592"), std::string::npos) << warnings;
}

const std::string header =
    "# nThread 1 nGpus 1 minBytes 8 maxBytes 64 step: 2(factor) warmup iters: 5 iters: 20\n"
    "# Using devices\n"
    "#  Rank  0 Group  0 Pid  1 on hostA device  0 [0000:04:00] NVIDIA A100-SXM4-80GB\n"
    "#  Rank  1 Group  0 Pid  2 on hostA device  1 [0000:05:00] NVIDIA A100-SXM4-80GB\n"
    "#\n"
    "#       size         count      type   redop    root     time   algbw   busbw #wrong     "
    "time   algbw   busbw #wrong\n";

std::string error_of(const std::string& text, NcclTestsImportOptions options = {}) {
  try {
    import_nccl_tests(text, "t.txt", options);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(NcclTestsImport, GarbledRowsFailWithFileLineAndWhatWasExpected) {
  const std::string command = "./build/all_gather_perf -b 8 -e 64 -g 2\n";
  // Line 8: nine columns, the in-place half cut off.
  std::string e = error_of(command + header +
                           "  1048576  262144  float  none  -1  20.0  52.43  "
                           "26.21  0\n");
  EXPECT_NE(e.find("t.txt:8: expected a result row of 13 columns"), std::string::npos) << e;
  EXPECT_NE(e.find("in-place half is missing"), std::string::npos) << e;
  e = error_of(
      command + header +
      "  1048576  262144  float  none  -1  2x.0  52.43  26.21  0  20.0  52.43  26.21  0\n");
  EXPECT_NE(e.find("t.txt:8: column 6 (time): expected a non-negative number, got '2x.0'"),
            std::string::npos)
      << e;
  e = error_of(
      command + header +
      "  1048576  262144  float  none  -1  20.0  99.00  49.50  0  20.0  52.43  26.21  0\n");
  EXPECT_NE(e.find("algbw 99 GB/s is not size/time"), std::string::npos) << e;
}

TEST(NcclTestsImport, BusBandwidthRatioCatchesTheWrongCollectiveOrRankCount) {
  // An all-reduce table (busbw = algbw) read as an all-gather on 2 ranks (busbw = algbw / 2).
  const std::string row =
      "  1048576  262144  float  sum  -1  20.0  52.43  52.43  0  20.0  52.43  52.43  0\n";
  const std::string e = error_of("./all_gather_perf -g 2\n" + header + row);
  EXPECT_NE(e.find("bus-bandwidth factor of 0.5"), std::string::npos) << e;
  // The same table, told it is an all-reduce, imports.
  NcclTestsImportOptions options;
  options.collective = CollectiveOp::all_reduce;
  EXPECT_EQ(import_nccl_tests("./all_gather_perf -g 2\n" + header + row, "t.txt", options)
                .run.collectives.size(),
            2u);
}

TEST(NcclTestsImport, MissingCollectiveOrRanksAsksForThem) {
  const std::string row =
      "  1048576  262144  float  sum  -1  20.0  52.43  52.43  0  20.0  52.43  52.43  0\n";
  std::string e = error_of(header + row);
  EXPECT_NE(e.find("pass --collective"), std::string::npos) << e;
  const std::string no_devices =
      "mpirun -np 2 ./all_reduce_perf\n#  size count type redop root time algbw busbw #wrong "
      "time algbw busbw #wrong\n" +
      row;
  e = error_of(no_devices);
  EXPECT_NE(e.find("pass --ranks"), std::string::npos) << e;
  NcclTestsImportOptions options;
  options.ranks = 2;
  EXPECT_EQ(import_nccl_tests(no_devices, "t.txt", options).run.collectives[0].ranks, 2);
  e = error_of("./hypercube_perf -g 2\n" + header + row);
  EXPECT_NE(e.find("does not model"), std::string::npos) << e;
  e = error_of("./all_reduce_perf -g 2\n" + header);
  EXPECT_NE(e.find("no result rows"), std::string::npos) << e;
}

TEST(NcclTestsImport, OlderLayoutWithoutRootAndUncheckedResults) {
  const std::string text =
      "./all_reduce_perf -g 2\n"
      "#       size         count      type   redop     time   algbw   busbw  error     time   "
      "algbw   busbw  error\n"
      "  1048576  262144  float  sum  20.0  52.43  52.43  N/A  20.0  52.43  52.43  N/A\n"
      "# Avg bus bandwidth    : 52.43\n";
  const NcclTestsImport r = import_nccl_tests(text, "t.txt", {});
  ASSERT_EQ(r.run.collectives.size(), 2u);
  EXPECT_EQ(r.run.collectives[0].root, -1);
  EXPECT_TRUE(r.warnings.empty() || r.warnings[0].find("Using devices") != std::string::npos);
}

TEST(NcclTestsImport, TextThatIsNotUtf8IsRefusedWithItsLine) {
  // Found by fuzzing: a stray byte in a host name imported, then made the measurements file
  // written from it unreadable.
  std::string text = header;
  text.replace(text.find("hostA"), 1, "\xe7");
  EXPECT_EQ(error_of(text),
            "t.txt:3:31: byte 0xE7 is not valid UTF-8; save the file as UTF-8 text");
}

TEST(NcclTestsImport, RankCountsAreCheckedNeverWrapped) {
  const std::string row =
      "  1048576  262144  float  sum  -1  20.0  52.43  52.43  0  20.0  52.43  52.43  0\n";
  const std::string columns =
      "#  size count type redop root time algbw busbw #wrong time algbw busbw #wrong\n";
  // 4,294,967,304 = 2^32 + 8 threads: narrowed to an int, 8 ranks.
  std::string e =
      error_of("./all_reduce_perf\n# nThread 4294967304 nGpus 1 minBytes 8\n" + columns + row);
  EXPECT_EQ(e, "t.txt:2: nGpus × nThread = 1 × 4294967304 is not a rank count from 1 to 16777216");
  // 2^32 · 2^32 wraps to 0 in 64 bits.
  e = error_of("./all_reduce_perf -g 4294967296 -t 4294967296\n" + columns + row);
  EXPECT_EQ(e, "t.txt:1: -g × -t = 4294967296 × 4294967296 is not a rank count from 1 to 16777216");
  e = error_of("./all_reduce_perf -g 0\n" + columns + row);
  EXPECT_EQ(e, "t.txt:1: -g × -t = 0 × 1 is not a rank count from 1 to 16777216");
  // A root past the ranks' range.
  e = error_of("./all_reduce_perf -g 2\n" + header +
               "  1048576  262144  float  sum  4294967296  20.0  52.43  52.43  0  20.0  52.43  "
               "52.43  0\n");
  EXPECT_NE(e.find("t.txt:8: column 5 (root): 4294967296 is not a rank (-1 to 16777215)"),
            std::string::npos)
      << e;
  // Nodes the measurements reader would refuse are refused here, before anything is read.
  NcclTestsImportOptions options;
  options.ranks = 4;
  options.nodes = 8;
  EXPECT_EQ(error_of("./all_reduce_perf\n" + columns + row, options),
            "t.txt: --nodes 8 is not from 1 to the ranks (4): every node runs at least one rank");
}

TEST(NcclTestsImport, LongLinesAreScannedWithoutRecursion) {
  // A regular expression over a 30 KB line of letters overflowed the stack (std::regex recurses
  // per character). A megabyte-long word, a long word ending in _perf and a long version are
  // scanned in one pass.
  const std::string letters(1 << 20, 'a');
  std::string e = error_of(letters + "\n" + header);
  EXPECT_NE(e.find("pass --collective"), std::string::npos) << e.substr(0, 200);
  e = error_of(letters + "_perf -g 2\n" + header);
  EXPECT_NE(e.find("measures a collective scaleplan does not model"), std::string::npos)
      << e.substr(0, 200);
  const std::string row =
      "  1048576  262144  float  sum  -1  20.0  52.43  52.43  0  20.0  52.43  52.43  0\n";
  const NcclTestsImport r =
      import_nccl_tests("# NCCL version 2.18." + std::string(1 << 20, '1') +
                            "+cuda12.2\n./all_reduce_perf -g 2\n" + header + row,
                        "t.txt", {});
  EXPECT_EQ(r.run.environment.nccl.size(), 5u + (1u << 20) + 9u);
}

}  // namespace
}  // namespace scaleplan
